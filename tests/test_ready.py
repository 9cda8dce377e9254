"""Probes and the wait loop: a fake clock and sleep, real loopback sockets, no engine."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from pytest_containerkit import ContainerFailed, NotReady, http_ok, tcp_open
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


class FakeTarget:
    host = "127.0.0.1"

    def __init__(self, port: int = 0, stops_after: int | None = None) -> None:
        self.listening_port = port
        self.checks = 0
        self.stops_after = stops_after

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
        self.send_response(200 if self.path == "/ok" else 503)
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
