"""Probes and the wait loop: a fake clock and sleep, real loopback sockets, no engine."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from pytest_containerkit import (
    ContainerFailed,
    ExecResult,
    NotReady,
    all_of,
    any_of,
    command_succeeds,
    healthy,
    http_ok,
    log_line,
    tcp_open,
)
from pytest_containerkit.ready import ProbeNotMet, wait_until_ready


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class FakeLogs:
    def __init__(self, lines: list[str]) -> None:
        self._lines = lines

    def lines(self) -> list[str]:
        return self._lines


class FakeTarget:
    host = "127.0.0.1"

    def __init__(self, port: int = 0, stops_after: int | None = None) -> None:
        self.listening_port = port
        self.checks = 0
        self.stops_after = stops_after
        self.log_lines: list[str] = []
        self.health: dict[str, str] = {}
        self.exit_code = 0

    def state(self) -> dict[str, object]:
        return {"Running": True, "Health": self.health} if self.health else {"Running": True}

    def follow_logs(self) -> FakeLogs:
        return FakeLogs(self.log_lines)

    def exec(self, command: str | Sequence[str]) -> ExecResult:
        return ExecResult(self.exit_code, f"ran {command}\n")

    def url(self, path: str = "/", port: int | str | None = None) -> str:
        return f"http://{self.host}:{self.port(port)}/{path.lstrip('/')}"

    def port(self, container_port: int | str | None = None) -> int:
        return self.listening_port

    def logs(self, tail: int | None = None) -> str:
        return "line one\nline two\n"

    def check_running(self) -> None:
        self.checks += 1
        if self.stops_after is not None and self.checks > self.stops_after:
            raise ContainerFailed("container x exited with code 3", self.logs(), exit_code=3)


def never_ready(target: object) -> None:
    raise ProbeNotMet("still starting")


def test_a_probe_that_passes_ends_the_wait_at_once() -> None:
    clock = FakeClock()
    wait_until_ready(
        lambda target: None, FakeTarget(), timeout=5, log_lines=10, clock=clock, sleep=clock.sleep
    )
    assert clock.sleeps == []


def test_a_probe_returning_false_is_not_ready() -> None:
    clock = FakeClock()
    with pytest.raises(NotReady, match=r"returned False"):
        wait_until_ready(
            lambda target: False,
            FakeTarget(),
            timeout=1,
            log_lines=10,
            clock=clock,
            sleep=clock.sleep,
        )


def test_polls_start_tight_and_back_off_to_a_quarter_second() -> None:
    clock = FakeClock()
    with pytest.raises(NotReady):
        wait_until_ready(never_ready, FakeTarget(), timeout=10, log_lines=10, clock=clock, sleep=clock.sleep)
    assert clock.sleeps[0] <= 0.01
    assert clock.sleeps == sorted(clock.sleeps)
    assert max(clock.sleeps) == 0.25


def test_a_timeout_names_the_probe_its_last_error_and_the_log_tail() -> None:
    clock = FakeClock()
    with pytest.raises(NotReady) as raised:
        wait_until_ready(never_ready, FakeTarget(), timeout=3, log_lines=10, clock=clock, sleep=clock.sleep)
    message = str(raised.value)
    assert "not ready after 3." in message
    assert "never_ready" in message
    assert "still starting" in message
    assert "line two" in raised.value.log_tail
    assert 3 <= clock.now < 3.3


def test_a_container_that_stops_fails_the_wait_at_once() -> None:
    clock = FakeClock()
    target = FakeTarget(stops_after=2)
    with pytest.raises(ContainerFailed) as raised:
        wait_until_ready(never_ready, target, timeout=60, log_lines=10, clock=clock, sleep=clock.sleep)
    assert raised.value.exit_code == 3
    assert not isinstance(raised.value, NotReady)
    assert clock.now < 0.1


class Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"path": self.path, "auth": self.headers.get("Authorization")}).encode()
        self.send_response(200 if self.path.startswith("/ok") else 503)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_HEAD(self) -> None:
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def http_server() -> Iterator[int]:
    server = HTTPServer(("127.0.0.1", 0), Hello)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_http_probe_wants_the_status_it_names(http_server: int) -> None:
    target = FakeTarget(http_server)
    http_ok("/ok")(target)
    http_ok("/down", status=503)(target)
    with pytest.raises(ProbeNotMet, match="answered 503, not 200"):
        http_ok("/down")(target)
    assert repr(http_ok("/down", status=503)) == "http_ok('/down', status=503)"


def test_tcp_probe_passes_on_a_listener_that_keeps_the_connection(http_server: int) -> None:
    tcp_open()(FakeTarget(http_server))


def test_tcp_probe_is_not_fooled_by_a_proxy_that_closes_at_once() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()

        def accept_and_close() -> None:
            connection, _ = listener.accept()
            connection.close()

        closer = threading.Thread(target=accept_and_close)
        closer.start()
        with pytest.raises(ProbeNotMet, match="closed the connection at once"):
            tcp_open(linger=2)(FakeTarget(listener.getsockname()[1]))
        closer.join()


def test_tcp_probe_fails_when_nothing_listens() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(ConnectionRefusedError):
        tcp_open()(FakeTarget(port))


def test_http_probe_takes_statuses_methods_headers_and_predicates(http_server: int) -> None:
    target = FakeTarget(http_server)
    http_ok("/down", status={200, 503})(target)
    http_ok("/", status=204, method="HEAD")(target)
    http_ok("/ok", headers={"Authorization": "Bearer t"}, json=lambda doc: doc["auth"] == "Bearer t")(target)
    http_ok("/ok/page", body=lambda text: "page" in text)(target)
    with pytest.raises(ProbeNotMet, match="body predicate refused"):
        http_ok("/ok", body=lambda text: "nothing" in text)(target)
    with pytest.raises(ProbeNotMet, match="json predicate refused"):
        http_ok("/ok", json=lambda doc: doc["auth"] is not None)(target)
    with pytest.raises(ProbeNotMet, match="answered 503, not 200 or 204"):
        http_ok("/down", status=[200, 204])(target)


def test_log_probe_counts_matching_lines() -> None:
    target = FakeTarget()
    probe = log_line("ready on port [0-9]+", times=2)
    target.log_lines.append("ready on port 1")
    with pytest.raises(ProbeNotMet, match=r"matched 'ready on port \[0-9\]\+' 1 of 2 times"):
        probe(target)
    target.log_lines.append("ready on port 2")
    probe(target)
    assert repr(probe) == "log_line('ready on port [0-9]+', times=2)"


def test_healthy_probe_reads_the_engines_health() -> None:
    target = FakeTarget()
    with pytest.raises(ProbeNotMet, match="health as none"):
        healthy()(target)
    target.health = {"Status": "starting"}
    with pytest.raises(ProbeNotMet, match="health as starting"):
        healthy()(target)
    target.health = {"Status": "healthy"}
    healthy()(target)


def test_command_probe_wants_exit_code_zero() -> None:
    target = FakeTarget()
    command_succeeds(["pg_isready"])(target)
    target.exit_code = 2
    with pytest.raises(ProbeNotMet, match=r"\['pg_isready'\] exited with 2: ran"):
        command_succeeds(["pg_isready"])(target)


def test_probes_combine_with_and_or() -> None:
    target = FakeTarget()
    target.log_lines.append("up")
    up, down = log_line("up"), log_line("down")
    (up & command_succeeds("true"))(target)
    (down | up)(target)
    any_of(down, lambda t: True)(target)
    with pytest.raises(ProbeNotMet, match="down"):
        (up & down)(target)
    with pytest.raises(ProbeNotMet, match="returned False"):
        all_of(up, lambda t: False)(target)
    with pytest.raises(ProbeNotMet, match=r"log_line\('down'\): .*; log_line\('gone'\): "):
        (down | log_line("gone"))(target)
    assert repr(up & (down | up)) == "log_line('up') & (log_line('down') | log_line('up'))"
