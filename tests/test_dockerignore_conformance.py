"""The plugin's build context against the docker CLI's: for each tricky .dockerignore, the files
that reach the engine (``COPY . /ctx`` in an image built by the CLI) are the files the plugin lists."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest

from pytest_containerkit.context import BuildContext

from .conftest import BUSYBOX

TREE = [
    "README.md",
    "a.txt",
    "b.txt",
    "ab.txt",
    "a1.txt",
    "!.txt",
    "#notcomment.txt",
    "weird[1].txt",
    "star*.txt",
    "space name.txt",
    "secret.pem",
    ".env",
    "src/main.py",
    "src/util.py",
    "src/data/blob.bin",
    "src/data/deeper/keep.bin",
    "docs/x.md",
    "docs/deep/y.md",
    "node_modules/pkg/index.js",
    "node_modules/keep/index.js",
    "build/out.o",
    "logs/app.log",
    "logs/debug.log",
    "deep/a/b/c/target.txt",
]

CASES = {
    "comments, blank lines and surrounding whitespace": "# a.txt\n\n   b.txt   \n\t\n",
    "star": "*.txt\n",
    "question mark": "a?.txt\n",
    "character class": "[ab].txt\n",
    "negated class": "[^a]*.txt\n",
    "bang inside a class is a literal": "[!a].txt\n",
    "leading double star": "**/*.md\n",
    "double star in the middle": "src/**/*.bin\n",
    "trailing double star": "node_modules/**\n",
    "double star alone with an exception": "**\n!src/main.py\n",
    "escapes": "weird\\[1\\].txt\n\\#notcomment.txt\nstar\\*.txt\n",
    "exception after the rule": "*.txt\n!a.txt\n",
    "exception before the rule loses": "!a.txt\n*.txt\n",
    "leading slash and dot slash": "/a.txt\n./b.txt\n/src/../logs\n",
    "trailing slash": "docs/\n",
    "a directory excludes its contents": "src\n",
    "exception inside an excluded directory": "node_modules\n!node_modules/keep\n",
    "exception the walk never reaches": "docs\n!**/y.md\n",
    "nested exception and re-exclusion": "src\n!src/data\nsrc/data/deeper\n",
    "build files excluded too": "*\n!src\n",
    "bang with spaces": "*.txt\n!  a.txt\n",
    "deep path": "deep/*/b\n",
    "secrets": ".env\n*.pem\n",
}

BUILD_FILES = {"Dockerfile", ".dockerignore"}


def make_context(root: Path, dockerignore: str) -> None:
    for name in TREE:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(name)
    (root / "empty").mkdir()
    os.symlink("a.txt", root / "link-to-a")
    (root / "Dockerfile").write_text(f"FROM {BUSYBOX}\nCOPY . /ctx\n")
    (root / ".dockerignore").write_text(dockerignore)


def files_the_engine_received(docker_client: Any, context: Path) -> set[str]:
    built = subprocess.run(
        ["docker", "build", "-q", "--label", "pytest-containerkit.conformance=1", str(context)],
        env={**os.environ, "DOCKER_BUILDKIT": "0"},
        capture_output=True,
        text=True,
        check=True,
    )
    image_id = built.stdout.strip().splitlines()[-1]
    container = docker_client.containers.create(image_id)
    try:
        chunks, _ = container.get_archive("/ctx")
        with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as archive:
            return {m.name.removeprefix("ctx/") for m in archive.getmembers() if not m.isdir()}
    finally:
        container.remove()
        docker_client.images.remove(image_id, force=True)


@pytest.mark.parametrize("dockerignore", list(CASES.values()), ids=list(CASES))
def test_the_context_is_what_the_cli_sends(tmp_path: Path, docker_client: Any, dockerignore: str) -> None:
    make_context(tmp_path, dockerignore)
    listed = {entry.path for entry in BuildContext.scan(tmp_path).files}
    assert listed >= BUILD_FILES, "the Dockerfile and .dockerignore are always sent"
    assert listed - BUILD_FILES == files_the_engine_received(docker_client, tmp_path) - BUILD_FILES


def test_the_cli_is_there() -> None:
    assert shutil.which("docker"), "the conformance test compares with the docker CLI"
