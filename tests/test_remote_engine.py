"""An engine reached over TCP at another loopback address: ports are published where this machine
reaches them, and handles point there instead of 127.0.0.1."""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
from collections.abc import Iterator

import pytest

from .conftest import web_context

DOCKER_SOCKET = "/var/run/docker.sock"


class ToDockerSocket(socketserver.BaseRequestHandler):
    """Forwards one TCP connection to the engine's unix socket, both ways."""

    def handle(self) -> None:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as engine:
            engine.connect(DOCKER_SOCKET)
            back = threading.Thread(target=pipe, args=(engine, self.request), daemon=True)
            back.start()
            pipe(self.request, engine)
            back.join()


def pipe(source: socket.socket, target: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            target.sendall(data)
    for end in (source, target):
        with contextlib.suppress(OSError):
            end.shutdown(socket.SHUT_RDWR)


class Proxy(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@pytest.fixture
def engine_at_127_0_0_2() -> Iterator[str]:
    """``tcp://127.0.0.2:PORT``, a TCP proxy in front of the engine's socket (loopback only)."""
    with Proxy(("127.0.0.2", 0), ToDockerSocket) as proxy:
        thread = threading.Thread(target=proxy.serve_forever, daemon=True)
        thread.start()
        yield f"tcp://127.0.0.2:{proxy.server_address[1]}"
        proxy.shutdown()


@pytest.mark.usefixtures("engine_left_clean")
def test_handles_point_at_a_remote_engines_address(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, engine_at_127_0_0_2: str
) -> None:
    monkeypatch.setenv("DOCKER_HOST", engine_at_127_0_0_2)
    web_context(pytester)
    pytester.makepyfile(
        """
import docker
from pytest_containerkit import build, container, http_ok, log_line

web = container(build("web"), ports=[8080], ready=http_ok("/"))

def test_remote(web):
    assert web.host == "127.0.0.2"
    assert web.url() == f"http://127.0.0.2:{web.port(8080)}/"
    assert web.http.get("/").text == "hello from web\\n"
    bindings = docker.from_env().containers.get(web.id).attrs["HostConfig"]["PortBindings"]
    assert [b["HostIp"] for b in bindings["8080/tcp"]] == ["127.0.0.2"]
    assert web.exec(["echo", "through the proxy"]).output == "through the proxy\\n"
"""
    )
    pytester.runpytest().assert_outcomes(passed=1)
