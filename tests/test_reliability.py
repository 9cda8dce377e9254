"""Readiness, failures and clean-up against the real engine, through inner pytest runs."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker.errors
import pytest

from pytest_containerkit.reaper import OWNER_LABEL, PROJECT_LABEL, Owner, project_id

from .conftest import BUSYBOX, plugin_containers, web_context

pytestmark = pytest.mark.usefixtures("engine_left_clean")

SLOW_HTTPD = '["sh", "-c", "sleep 1; exec httpd -f -p 8080 -h /www"]'


def test_default_readiness_waits_for_the_listener_not_the_port_proxy(pytester: pytest.Pytester) -> None:
    web_context(pytester, cmd=SLOW_HTTPD)
    pytester.makepyfile(
        """
from pytest_containerkit import build, container

web = container(build("web"), ports=[8080])

def test_first_request_is_served(web):
    assert web.http.get("/").status_code == 200
"""
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_an_image_with_a_healthcheck_is_awaited_until_healthy(pytester: pytest.Pytester) -> None:
    web_context(pytester, cmd='["sh", "-c", "sleep 1; touch /www/ready; exec sleep 600"]')
    with (pytester.path / "web" / "Dockerfile").open("a") as dockerfile:
        dockerfile.write("HEALTHCHECK --interval=100ms --start-period=10s CMD test -f /www/ready\n")
    pytester.makepyfile(
        """
from pytest_containerkit import build, container

web = container(build("web"))

def test_healthy(web):
    assert web.state()["Health"]["Status"] == "healthy"
    assert web.exec("test -f /www/ready").exit_code == 0
"""
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_log_and_command_probes(pytester: pytest.Pytester) -> None:
    web_context(
        pytester, cmd='["sh", "-c", "echo booting; sleep 1; echo ready; touch /www/up; exec sleep 600"]'
    )
    pytester.makepyfile(
        """
from pytest_containerkit import build, command_succeeds, container, log_line

image = build("web")
by_log = container(image, ready=log_line("^ready$"))
by_command = container(image, ready=command_succeeds(["test", "-f", "/www/up"]) & log_line("booting"))

def test_log(by_log):
    assert by_log.logs().splitlines() == ["booting", "ready"]

def test_command(by_command):
    assert "ready" in by_command.logs()
"""
    )
    pytester.runpytest().assert_outcomes(passed=2)


def test_a_readiness_timeout_names_the_probe_its_error_and_the_log(pytester: pytest.Pytester) -> None:
    web_context(pytester, cmd='["sh", "-c", "echo still warming up; exec sleep 600"]')
    pytester.makepyfile(
        """
from pytest_containerkit import build, container, http_ok

web = container(build("web"), ports=[8080], ready=http_ok("/health"), ready_timeout=0.5)

def test_never(web):
    pass
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*not ready after 0.* s: probe http_ok('/health', status=200) last said: *", "*still warming up*"]
    )


def test_failing_containers_are_kept_when_asked(pytester: pytest.Pytester, docker_client: Any) -> None:
    web_context(pytester)
    pytester.makepyfile(
        """
import contextlib
import json
from pytest_containerkit import build, container, http_ok

web = container(build("web"), ports=[8080], ready=http_ok("/"))

def test_passes(web):
    pass

def test_fails(web):
    with open("failed.json", "w") as out:
        json.dump(web.id, out)
    assert False
"""
    )
    result = pytester.runpytest("--containerkit-keep=failed")
    result.assert_outcomes(passed=1, failed=1)
    kept_id = json.loads((pytester.path / "failed.json").read_text())
    try:
        kept = docker_client.containers.get(kept_id)
        assert kept.status == "running"
        result.stdout.fnmatch_lines(
            [
                "*containerkit: kept running*",
                f"{kept.name} at http://127.0.0.1:*/: docker exec -it {kept.name} sh*",
            ]
        )
        assert len(plugin_containers(docker_client)) >= 1
    finally:
        docker_client.containers.get(kept_id).remove(force=True)


@pytest.fixture
def dead_pid() -> int:
    """The id of a process that has ended."""
    ended = subprocess.Popen(["true"])
    ended.wait()
    return ended.pid


def test_leftovers_of_runs_that_are_gone_are_removed_at_start(
    pytester: pytest.Pytester, docker_client: Any, dead_pid: int
) -> None:
    project = project_id(pytester.path)
    live = Owner.this_process()
    dead = Owner(live.host, dead_pid, "1")
    planted = {
        name: docker_client.containers.create(
            BUSYBOX,
            ["sleep", "600"],
            labels={"pytest-containerkit": "1", PROJECT_LABEL: proj, OWNER_LABEL: owner.label},
        )
        for name, proj, owner in [
            ("dead-run", project, dead),
            ("live-run", project, live),
            ("other-project", "0123456789ab", dead),
        ]
    }
    try:
        web_context(pytester)
        pytester.makepyfile(
            """
from pytest_containerkit import build, container

web = container(build("web"), command=["sleep", "600"])

def test_start(web):
    pass
"""
        )
        pytester.runpytest().assert_outcomes(passed=1)
        remaining = {c.id for c in docker_client.containers.list(all=True)}
        assert planted["dead-run"].id not in remaining
        assert planted["live-run"].id in remaining
        assert planted["other-project"].id in remaining
    finally:
        for container in planted.values():
            with contextlib.suppress(docker.errors.NotFound):
                container.remove(force=True)


def spawn_inner_pytest(pytester: pytest.Pytester) -> subprocess.Popen[bytes]:
    """An inner pytest in its own process, whose one test starts a container and then waits."""
    web_context(pytester)
    pytester.makepyfile(
        """
import time
from pytest_containerkit import build, container

web = container(build("web"), command=["sleep", "600"])

def test_waits(web, containerkit):
    with open("session.txt", "w") as out:
        out.write(containerkit.session_id)
    time.sleep(600)
"""
    )
    return subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"],
        cwd=pytester.path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def session_containers(docker_client: Any, session_id: str) -> list[Any]:
    filters = {"label": f"pytest-containerkit.session={session_id}"}
    return list(docker_client.containers.list(all=True, filters=filters))


def wait_for_session(pytester: pytest.Pytester, process: subprocess.Popen[bytes]) -> str:
    marker = pytester.path / "session.txt"
    for _ in range(600):
        if marker.exists() and marker.read_text():
            return marker.read_text()
        assert process.poll() is None, "the inner pytest ended early"
        time.sleep(0.1)
    raise AssertionError("the inner test never started")


def wait_until_gone(docker_client: Any, session_id: str, limit: float) -> float:
    started = time.monotonic()
    while session_containers(docker_client, session_id):
        assert time.monotonic() - started < limit, "the session's containers are still there"
        time.sleep(0.1)
    return time.monotonic() - started


@pytest.mark.parametrize("signal_number", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "sigkill"])
def test_an_interrupted_or_killed_run_leaves_nothing(
    pytester: pytest.Pytester, docker_client: Any, signal_number: int
) -> None:
    process = spawn_inner_pytest(pytester)
    try:
        session_id = wait_for_session(pytester, process)
        assert session_containers(docker_client, session_id)
        os.kill(process.pid, signal_number)
        process.wait(timeout=30)
        wait_until_gone(docker_client, session_id, limit=10)
    finally:
        if process.poll() is None:
            process.kill()


def test_no_engine_is_one_clear_error_or_a_skip(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:9")
    pytester.makepyfile(
        """
import pytest
from pytest_containerkit import container

web = container("busybox:1.36")

def test_one(web):
    pass

@pytest.mark.container("busybox:1.36")
def test_two(container):
    pass

def test_without_containers():
    pass
"""
    )
    failing = pytester.runpytest()
    failing.assert_outcomes(errors=2, passed=1)
    failing.stdout.fnmatch_lines(["*no Docker engine answers at tcp://127.0.0.1:9*Start a Docker engine*"])
    failing.stdout.no_fnmatch_line("*Traceback*")
    pytester.runpytest("--containerkit-missing=skip").assert_outcomes(skipped=2, passed=1)


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def test_a_host_port_in_use_is_named(pytester: pytest.Pytester, busy_port: int) -> None:
    pytester.makepyfile(
        f"""
from pytest_containerkit import container

web = container("busybox:1.36", ports={{8080: {busy_port}}}, command=["sleep", "60"])

def test_port(web):
    pass
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"*a host port asked for ({busy_port} for 8080) is already in use*"])


def test_an_explicit_free_host_port_is_used(pytester: pytest.Pytester) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    web_context(pytester)
    pytester.makepyfile(
        f"""
from pytest_containerkit import build, container

web = container(build("web"), ports={{8080: {free}}})

def test_port(web):
    assert web.port(8080) == {free}
    assert web.http.get("/").ok
"""
    )
    pytester.runpytest().assert_outcomes(passed=1)


@pytest.mark.parametrize(
    ("init", "complaint"),
    [
        (True, ["*exited with code 127*", "*exec /no/such/program failed*"]),
        (False, ["*container * of image sha256:* could not start: *no/such/program*"]),
    ],
    ids=["behind-init", "as-pid-1"],
)
def test_an_entrypoint_that_cannot_start_is_named(
    pytester: pytest.Pytester, init: bool, complaint: list[str]
) -> None:
    pytester.makepyfile(
        f"""
from pytest_containerkit import container

web = container("busybox:1.36", ports=[8080], command=["/no/such/program"], init={init})

def test_start(web):
    pass
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(complaint)


def test_ports_are_published_on_loopback_only(pytester: pytest.Pytester) -> None:
    web_context(pytester)
    pytester.makepyfile(
        """
import docker
from pytest_containerkit import build, container

web = container(build("web"), ports=[8080])

def test_bindings(web):
    bindings = docker.from_env().containers.get(web.id).attrs["HostConfig"]["PortBindings"]
    assert [b["HostIp"] for b in bindings["8080/tcp"]] == ["127.0.0.1"]
"""
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_secret_build_args_never_show(pytester: pytest.Pytester, docker_client: Any) -> None:
    value = "s3cr3t-value-xyz"
    web_context(pytester, cmd='["true"]')
    with (pytester.path / "web" / "Dockerfile").open("a") as dockerfile:
        dockerfile.write('ARG TOKEN\nRUN echo "using $TOKEN"\nRUN echo "failing with $TOKEN" && exit 4\n')
    pytester.makepyfile(
        f"""
from pytest_containerkit import build, container, secret

web = container(build("web", buildargs={{"TOKEN": secret("{value}"), "PLAIN": "shown"}}))

def test_web(web):
    pass
"""
    )
    result = pytester.runpytest("-v")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*using ****", "*failing with ****"])
    assert value not in result.stdout.str() + result.stderr.str()
    cache = "".join(
        path.read_text() for path in Path(pytester.path, ".pytest_cache").rglob("*") if path.is_file()
    )
    assert value not in cache
    for image in docker_client.images.list(filters={"label": "pytest-containerkit.image=web"}):
        assert value not in json.dumps(image.labels)
