"""The cache-aware build engine against the real engine, through inner pytest runs."""

from __future__ import annotations

import json
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_containerkit.build import IMAGE_LABEL

from .conftest import BUSYBOX

pytestmark = pytest.mark.usefixtures("engine_left_clean")

RECORD_REPORTS = """
import json, os

def record(containerkit):
    reports = [[r.name, r.status] for r in containerkit.build_reports]
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with open(f"reports-{worker}.json", "w") as out:
        json.dump(reports, out)
"""


@pytest.fixture
def image_name(docker_client: Any) -> Iterator[str]:
    """A name no other test uses; every image built under it is removed afterwards."""
    name = f"web-{uuid.uuid4().hex[:8]}"
    yield name
    for image in docker_client.images.list(filters={"label": f"{IMAGE_LABEL}={name}"}):
        docker_client.images.remove(image.id, force=True)


def write_context(root: Path, name: str, base: str = BUSYBOX, extra: str = "") -> None:
    context = root / name
    context.mkdir(exist_ok=True)
    (context / "page.txt").write_text(f"page of {name}\n")
    (context / "Dockerfile").write_text(
        textwrap.dedent(
            f"""\
            FROM {base}
            ARG V=none
            RUN mkdir /www && echo "$V" > /www/v.txt
            COPY page.txt /www/index.html
            {extra}
            CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]
            """
        )
    )


def project(pytester: pytest.Pytester, *names: str, ini: str = "") -> None:
    for name in names:
        write_context(pytester.path, name)
    images = "\n".join(f"    {name} = {name}" for name in names)
    pytester.makeini(f"[pytest]\ncontainerkit_images =\n{images}\n{ini}")
    tests = "\n".join(
        f"""
@pytest.mark.container("{name}", ports=[8080], ready=http_ok("/"))
def test_{name.replace("-", "_")}(container, containerkit):
    assert container.http.get("/").text.startswith("page of {name}")
    record(containerkit)
"""
        for name in names
    )
    pytester.makepyfile(RECORD_REPORTS + "import pytest\nfrom pytest_containerkit import http_ok\n" + tests)


def test_an_unchanged_image_is_not_built_again_and_a_changed_one_says_why(
    pytester: pytest.Pytester, image_name: str
) -> None:
    project(pytester, image_name)
    first = pytester.runpytest()
    first.assert_outcomes(passed=1)
    first.stdout.fnmatch_lines(
        [f"containerkit: image {image_name}: built in *", "*containerkit images*", f"{image_name}  built, *"]
    )

    second = pytester.runpytest()
    second.assert_outcomes(passed=1)
    second.stdout.fnmatch_lines([f"{image_name}  cached (inputs unchanged, digest *"])
    second.stdout.no_fnmatch_line("*built in*")

    (pytester.path / image_name / "page.txt").write_text(f"page of {image_name}, edited\n")
    (pytester.path / image_name / "new.txt").write_text("new")
    third = pytester.runpytest()
    third.assert_outcomes(passed=1)
    third.stdout.fnmatch_lines(
        [
            f"{image_name}  built, 3/5 steps from the engine's cache, *",
            "*why: files changed: page.txt",
            "*why: files added: new.txt",
            "*first step that missed the cache: step 4/5: COPY page.txt /www/index.html",
        ]
    )

    (pytester.path / image_name / "new.txt").unlink()
    fourth = pytester.runpytest()
    fourth.stdout.fnmatch_lines(
        [f"{image_name}  built, 5/5 steps from the engine's cache, *", "*why: files removed: new.txt"]
    )


def test_build_args_and_base_images_are_inputs(
    pytester: pytest.Pytester, image_name: str, docker_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = f"pytest-containerkit-test-base:{uuid.uuid4().hex[:8]}"
    base_context = pytester.mkdir("base")

    def build_base(content: str) -> None:
        (base_context / "Dockerfile").write_text(f"FROM {BUSYBOX}\nRUN echo {content} > /base.txt\n")
        docker_client.images.build(
            path=str(base_context), tag=base, labels={"pytest-containerkit.test-base": "1"}
        )

    build_base("one")
    write_context(pytester.path, image_name, base=base)
    pytester.makepyfile(
        f"""
import os
from pytest_containerkit import build, container

web = container(build("{image_name}", buildargs={{"V": os.environ["V"]}}), command=["sleep", "60"])

def test_v(web):
    assert web.exec("cat /www/v.txt").output == os.environ["V"] + "\\n"
"""
    )
    try:
        monkeypatch.setenv("V", "1")
        pytester.runpytest().assert_outcomes(passed=1)
        monkeypatch.setenv("V", "2")
        args_changed = pytester.runpytest()
        args_changed.assert_outcomes(passed=1)
        args_changed.stdout.fnmatch_lines(
            ["*why: build args changed: V", "*first step that missed the cache: step 3/*"]
        )
        build_base("two")
        base_changed = pytester.runpytest()
        base_changed.assert_outcomes(passed=1)
        base_changed.stdout.fnmatch_lines([f"*why: base image {base} changed"])
    finally:
        docker_client.images.remove(base, force=True)


def test_rebuild_and_no_cache_options(pytester: pytest.Pytester, image_name: str) -> None:
    project(pytester, image_name)
    pytester.runpytest().assert_outcomes(passed=1)
    rebuilt = pytester.runpytest("--containerkit-rebuild")
    rebuilt.assert_outcomes(passed=1)
    rebuilt.stdout.fnmatch_lines(
        [f"{image_name}  built, 5/5 steps from the engine's cache, *", "*why: --containerkit-rebuild"]
    )
    uncached = pytester.runpytest("--containerkit-no-cache")
    uncached.assert_outcomes(passed=1)
    uncached.stdout.fnmatch_lines([f"{image_name}  built, 1/5 steps from the engine's cache, *"])


def test_an_image_given_on_the_command_line_is_not_built(
    pytester: pytest.Pytester, image_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    project(pytester, image_name)
    given = pytester.runpytest()
    given.assert_outcomes(passed=1)
    (pytester.path / image_name / "Dockerfile").write_text("FROM busybox:1.36\nRUN exit 9\n")
    tag = f"pytest-containerkit/{image_name}:latest"
    used = pytester.runpytest(f"--containerkit-image={image_name}={tag}")
    used.assert_outcomes(passed=1)
    used.stdout.fnmatch_lines([f"{image_name}  given as {tag}, *"])
    monkeypatch.setenv("CONTAINERKIT_IMAGES", f"{image_name}={tag}")
    pytester.runpytest().assert_outcomes(passed=1)
    missing = pytester.runpytest(f"--containerkit-image={image_name}=no-such-image:1")
    missing.assert_outcomes(errors=1)
    missing.stdout.fnmatch_lines(
        [f"*image '{image_name}' was given as 'no-such-image:1'*the engine has no such image*"]
    )


def test_bad_image_overrides_are_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--containerkit-image=just-a-name")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--containerkit-image takes NAME=REF*not 'just-a-name'"])


def test_older_images_are_removed_keeping_the_newest(
    pytester: pytest.Pytester, image_name: str, docker_client: Any
) -> None:
    project(pytester, image_name, ini="containerkit_keep_images = 1\n")
    pytester.runpytest().assert_outcomes(passed=1)
    (first,) = docker_client.images.list(filters={"label": f"{IMAGE_LABEL}={image_name}"})
    (pytester.path / image_name / "other.txt").write_text("x")
    pytester.runpytest().assert_outcomes(passed=1)
    (kept,) = docker_client.images.list(filters={"label": f"{IMAGE_LABEL}={image_name}"})
    assert kept.id != first.id
    assert docker_client.images.get(BUSYBOX), "an image the plugin did not build stays"


@pytest.mark.parametrize("workers", [2, 4])
def test_parallel_workers_build_each_image_once(
    pytester: pytest.Pytester, docker_client: Any, workers: int
) -> None:
    names = [f"web-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    try:
        project(pytester, *names)
        more = "\n".join(
            f"""
@pytest.mark.parametrize("n", range(3))
@pytest.mark.container("{name}", ports=[8080])
def test_more_{name.replace("-", "_")}(container, containerkit, n):
    record(containerkit)
"""
            for name in names
        )
        (pytester.path / "test_more.py").write_text(RECORD_REPORTS + "import pytest\n" + more)
        for options in ([], ["--containerkit-rebuild"]):
            for reports in pytester.path.glob("reports-gw*.json"):
                reports.unlink()
            pytester.runpytest("-n", str(workers), *options).assert_outcomes(passed=8)
            statuses = [
                (name, status)
                for reports in pytester.path.glob("reports-gw*.json")
                for name, status in json.loads(reports.read_text())
            ]
            for name in names:
                assert statuses.count((name, "built")) == 1, (options, statuses)
    finally:
        for name in names:
            for image in docker_client.images.list(filters={"label": f"{IMAGE_LABEL}={name}"}):
                docker_client.images.remove(image.id, force=True)


def test_verbose_runs_stream_the_build_log(pytester: pytest.Pytester, image_name: str) -> None:
    project(pytester, image_name)
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            f"containerkit: {image_name}: Step 1/5 : FROM {BUSYBOX}",
            f"containerkit: {image_name}: Step 4/5 : COPY*",
        ]
    )
