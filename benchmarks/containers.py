"""Fresh containers per test: the plugin against a hand-written docker-py fixture, in one run.

    .venv/bin/python benchmarks/containers.py [--tests N] [--repeat R]

On example_app's image (built once, up front) it times whole pytest runs of N tests:
(a) a fresh container per test: the hand-written fixture (benchmarks/handwritten_fixture.py), the
    plugin, the plugin under ``-n 2``, and pytest-docker-tools / testcontainers-python if installed;
(b) one session container shared by N tests: a plain ``requests.get`` against the plugin's
    ``handle.http.get``, as the per-test overhead in milliseconds;
(c) start-up latency per container (create to ready): min / median / max.
Medians of R runs, in turns; the figures are printed and appended to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import docker
from results import machine, publish

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "benchmarks"
IMAGE = "containerkit-bench/example_app:latest"
BENCH_LABEL = "pytest-containerkit.benchmark"


def module_of_tests(tests: int, fixture: str, request: str, declaration: str = "") -> str:
    """A test file of *tests* tests, each asking for *fixture* and checking that *request* is 200."""
    return f"""
import pytest
import requests
from pytest_containerkit import build, container, http_ok
{declaration}
@pytest.mark.parametrize("n", range({tests}))
def test_request({fixture}, n):
    assert {request}.status_code == 200
"""


def modules_of_tests(tests: int) -> dict[str, str]:
    plugin = f'app = container("{IMAGE}", ports=[8000], ready=http_ok("/"){{}})'
    return {
        "test_plugin_fresh.py": module_of_tests(tests, "app", 'app.http.get("/")', plugin.format("")),
        "test_handwritten_fresh.py": module_of_tests(
            tests, "handwritten_app", "requests.get(handwritten_app)"
        ),
        "test_plugin_shared.py": module_of_tests(
            tests, "app", 'app.http.get("/")', plugin.format(', scope="session"')
        ),
        "test_plain_shared.py": module_of_tests(
            tests, "handwritten_session_app", "requests.get(handwritten_session_app)"
        ),
    }


STARTUPS_HOOK = """
import json
import os

def pytest_sessionfinish(session):
    kit = session.config.stash[__import__("pytest_containerkit.plugin").plugin.KIT]
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with open(f"startups-{worker}.json", "w") as out:
        json.dump([startup.seconds for startup in kit.startups], out)
    with open(f"builds-{worker}.json", "w") as out:
        json.dump([report.status for report in kit.build_reports], out)
"""


def builds_under_xdist(directory: Path, tests: int) -> list[str]:
    """Run tests of a not yet built image with ``-n 2``: what each worker's builder did."""
    shutil.copytree(ROOT / "example_app", directory / "app", ignore=shutil.ignore_patterns("tests"))
    (directory / "app" / "unique.txt").write_text(uuid.uuid4().hex)
    declaration = 'app = container(build("app"), ports=[8000], ready=http_ok("/"))'
    (directory / "test_build.py").write_text(module_of_tests(tests, "app", 'app.http.get("/")', declaration))
    run_pytest(directory, "test_build.py", "-n", "2")
    return [
        status for builds in directory.glob("builds-gw*.json") for status in json.loads(builds.read_text())
    ]


def run_pytest(directory: Path, *command: str) -> float:
    """Wall time of one pytest run in *directory* with *command* as its arguments."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *command],
        cwd=directory,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def prepare(directory: Path, tests: int) -> None:
    shutil.copy(HERE / "handwritten_fixture.py", directory / "conftest.py")
    (directory / "conftest.py").write_text((directory / "conftest.py").read_text() + STARTUPS_HOOK)
    (directory / "pytest.ini").write_text("[pytest]\n")
    for name, text in modules_of_tests(tests).items():
        (directory / name).write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=20)
    parser.add_argument("--shared-tests", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    arguments = parser.parse_args()
    client = docker.from_env()
    client.images.build(path=str(ROOT / "example_app"), tag=IMAGE, rm=True, labels={BENCH_LABEL: "1"})
    times: dict[str, list[float]] = {}
    startups: list[float] = []
    with tempfile.TemporaryDirectory(prefix="containerkit-bench-") as scratch:
        directory = Path(scratch)
        prepare(directory, arguments.tests)
        (directory / "shared").mkdir()
        prepare(directory / "shared", arguments.shared_tests)
        runs: dict[str, tuple[Path, list[str]]] = {
            "hand-written fixture": (directory, ["test_handwritten_fresh.py"]),
            "plugin": (directory, ["test_plugin_fresh.py"]),
            "plugin, -n 2": (directory, ["test_plugin_fresh.py", "-n", "2"]),
            "plain requests, session container": (directory / "shared", ["test_plain_shared.py"]),
            "plugin, session container": (directory / "shared", ["test_plugin_shared.py"]),
        }
        for turn in range(arguments.repeat):
            order = list(runs.items()) if turn % 2 == 0 else list(reversed(runs.items()))
            for name, (where, command) in order:
                times.setdefault(name, []).append(run_pytest(where, *command))
                if name == "plugin":
                    startups += json.loads((where / "startups-main.json").read_text())
        builds = builds_under_xdist(directory, arguments.tests)
    client.images.remove(IMAGE, force=True)
    for image in client.images.list(filters={"label": "pytest-containerkit.image=app"}):
        client.images.remove(image.id, force=True)
    report(times, startups, builds, arguments)


def report(
    times: dict[str, list[float]], startups: list[float], builds: list[str], arguments: argparse.Namespace
) -> None:
    median = {name: statistics.median(values) for name, values in times.items()}
    reference = median["hand-written fixture"]
    overhead = median["plugin, session container"] - median["plain requests, session container"]
    others = [name for name in ("pytest_docker_tools", "testcontainers") if importlib.util.find_spec(name)]
    publish(
        [
            f"## fresh containers, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC",
            "",
            f"`.venv/bin/python benchmarks/containers.py --tests {arguments.tests} "
            f"--repeat {arguments.repeat}`; {machine()}. Medians of {arguments.repeat} whole pytest runs, "
            "in turns.",
            "",
            "| run | time | ratio to the hand-written fixture |",
            "| --- | --- | --- |",
            *(
                f"| {name}, {arguments.tests} tests | {median[name]:.2f} s | "
                f"{median[name] / reference:.2f}x |"
                for name in ("hand-written fixture", "plugin", "plugin, -n 2")
            ),
            "",
            f"- `-n 2` against `-n 0` (plugin): {median['plugin, -n 2'] / median['plugin']:.2f}x",
            f"- session container, {arguments.shared_tests} tests: plain requests "
            f"{median['plain requests, session container']:.2f} s, "
            f"plugin {median['plugin, session container']:.2f} s: "
            f"{overhead / arguments.shared_tests * 1000:.2f} ms per test over a plain requests call",
            f"- start-up (create to ready), {len(startups)} containers: min {min(startups) * 1000:.0f} ms, "
            f"median {statistics.median(startups) * 1000:.0f} ms, max {max(startups) * 1000:.0f} ms",
            f"- a new image under `-n 2`: built {builds.count('built')} time(s) in all "
            f"(what each worker's builder did: {', '.join(sorted(builds))})",
            f"- pytest-docker-tools, testcontainers-python: {', '.join(others) or 'not installed here'}",
        ]
    )


if __name__ == "__main__":
    main()
