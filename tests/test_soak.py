"""200 start/stop cycles across 4 fixtures: nothing left on the engine, no descriptor leaked."""

from __future__ import annotations

import os
import time
from typing import Any

import pytest

from .conftest import BUSYBOX

CYCLES = 200
FIXTURES = 4


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.soak
def test_many_cycles_leave_nothing_behind(pytester: pytest.Pytester, docker_client: Any) -> None:
    pytester.makepyfile(
        f"""
import pytest
from pytest_containerkit import container, http_ok, log_line

httpd = ["sh", "-c", "mkdir /www && echo ok > /www/index.html && exec httpd -f -p 8080 -h /www"]
served = container("{BUSYBOX}", ports=[8080], command=httpd, ready=http_ok("/"))
talking = container("{BUSYBOX}", command=["sh", "-c", "echo up; exec sleep 600"], ready=log_line("up"))
plain = container("{BUSYBOX}", command=["sleep", "600"])
quick = container("{BUSYBOX}", command=["sleep", "600"], init=False)

@pytest.mark.parametrize("cycle", range({CYCLES // FIXTURES}))
def test_cycle(served, talking, plain, quick, cycle):
    assert served.http.get("/").text == "ok\\n"
"""
    )
    volumes_before = {v.id for v in docker_client.volumes.list()}
    descriptors_before = open_descriptors()
    started = time.monotonic()
    pytester.runpytest().assert_outcomes(passed=CYCLES // FIXTURES)
    seconds = time.monotonic() - started
    descriptors_after = open_descriptors()
    print(
        f"soak: {CYCLES} cycles in {seconds:.1f} s; descriptors {descriptors_before} -> {descriptors_after}"
    )
    assert abs(descriptors_after - descriptors_before) <= 5
    assert not docker_client.containers.list(all=True, filters={"label": "pytest-containerkit"})
    assert not docker_client.networks.list(filters={"label": "pytest-containerkit"})
    assert {v.id for v in docker_client.volumes.list()} <= volumes_before
