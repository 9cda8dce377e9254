"""Readiness probes and the wait loop that polls them until a deadline (tenacity underneath).

A probe is any callable that takes the container's handle; the container is ready once the probe
returns without raising and its result is not ``False``.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Protocol

import requests
import tenacity

from .errors import ContainerFailed, ContainerKitError, NotReady

Port = int | str


class Target(Protocol):
    """What probes and the wait loop see of a container."""

    @property
    def host(self) -> str: ...

    def url(self, path: str = "/", port: Port | None = None) -> str: ...

    def port(self, container_port: Port | None = None) -> int: ...

    def logs(self, tail: int | None = None) -> str: ...

    def check_running(self) -> None: ...


Probe = Callable[[Target], object]


class ProbeNotMet(ContainerKitError):
    """A probe ran and found the container not ready yet."""


class HttpProbe:
    """Ready when a GET of *path* answers with *status*."""

    def __init__(self, path: str, status: int, port: Port | None, timeout: float) -> None:
        self.path = path
        self.status = status
        self.port = port
        self.timeout = timeout

    def __call__(self, target: Target) -> None:
        url = target.url(self.path, self.port)
        response = requests.get(url, timeout=self.timeout)
        if response.status_code != self.status:
            raise ProbeNotMet(f"GET {url} answered {response.status_code}, not {self.status}")

    def __repr__(self) -> str:
        return f"http_ok({self.path!r}, status={self.status})"


class TcpProbe:
    """Ready when a TCP connection to the port is accepted and held open.

    The engine's port proxy accepts a connection on a published port even before anything listens
    in the container, then closes it at once; a connection that stays open (or sends data) for
    *linger* seconds has reached a real listener.
    """

    def __init__(self, port: Port | None, timeout: float, linger: float) -> None:
        self.port = port
        self.timeout = timeout
        self.linger = linger

    def __call__(self, target: Target) -> None:
        address = (target.host, target.port(self.port))
        with socket.create_connection(address, timeout=self.timeout) as connection:
            connection.settimeout(self.linger)
            try:
                if connection.recv(1) == b"":
                    raise ProbeNotMet(f"{address[0]}:{address[1]} closed the connection at once")
            except TimeoutError:
                return

    def __repr__(self) -> str:
        return f"tcp_open({self.port!r})" if self.port is not None else "tcp_open()"


def http_ok(path: str = "/", status: int = 200, *, port: Port | None = None, timeout: float = 1.0) -> Probe:
    """Probe: ready when ``GET path`` on the container's first published port (or *port*) returns *status*."""
    return HttpProbe(path, status, port, timeout)


def tcp_open(port: Port | None = None, *, timeout: float = 1.0, linger: float = 0.05) -> Probe:
    """Probe: ready when the published *port* (default: the first) accepts and keeps a TCP connection."""
    return TcpProbe(port, timeout, linger)


def wait_until_ready(
    probe: Probe,
    target: Target,
    *,
    timeout: float,
    log_lines: int,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Poll *probe* until it passes, the container stops (`ContainerFailed`) or *timeout* passes (`NotReady`).

    Polls start 5 ms apart and back off to 250 ms, so a fast container is seen ready at once and a
    slow one is not flooded.
    """
    started = clock()

    def attempt() -> None:
        target.check_running()
        if probe(target) is False:
            raise ProbeNotMet(f"{probe!r} returned False")

    retrying = tenacity.Retrying(
        stop=lambda state: clock() - started >= timeout,
        wait=tenacity.wait_exponential(multiplier=0.005, exp_base=1.5, max=0.25),
        retry=tenacity.retry_if_not_exception_type(ContainerFailed),
        sleep=sleep,
    )
    try:
        retrying(attempt)
    except tenacity.RetryError as gave_up:
        last_error = gave_up.last_attempt.exception()
        raise NotReady(
            f"not ready after {clock() - started:.1f} s: probe {probe!r} last said: {last_error}",
            target.logs(tail=log_lines),
        ) from None
