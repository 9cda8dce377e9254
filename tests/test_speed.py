"""What makes fresh containers cheap: the next test's container started ahead, removal in the background."""

from __future__ import annotations

import json

import pytest

from .conftest import web_context

pytestmark = pytest.mark.usefixtures("engine_left_clean")


def test_the_next_tests_container_is_started_ahead(pytester: pytest.Pytester) -> None:
    web_context(pytester)
    pytester.makepyfile(
        """
import json, time
import docker
import pytest
from pytest_containerkit import build, container, http_ok

web = container(build("web"), ports=[8080], ready=http_ok("/"))
other = container(build("web"), ports=[8080], ready=http_ok("/"))

def session_containers(containerkit):
    label = f"pytest-containerkit.session={containerkit.session_id}"
    return docker.from_env().containers.list(all=True, filters={"label": label})

@pytest.mark.parametrize("n", range(2))
def test_web(web, containerkit, n):
    deadline = time.monotonic() + 10
    while n == 0 and len(session_containers(containerkit)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    tests = sorted(c.labels["pytest-containerkit.test"] for c in session_containers(containerkit))
    with open(f"seen-{n}.json", "w") as out:
        json.dump(tests, out)

def test_other(other):
    pass
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=3)
    first = json.loads((pytester.path / "seen-0.json").read_text())
    assert first == [
        "test_the_next_tests_container_is_started_ahead.py::test_web[0]",
        "test_the_next_tests_container_is_started_ahead.py::test_web[1]",
    ]
    second = json.loads((pytester.path / "seen-1.json").read_text())
    assert "test_the_next_tests_container_is_started_ahead.py::test_other" not in second
    result.stdout.fnmatch_lines(["*containerkit start-up times, slowest first*", "3 containers, median * ms"])
