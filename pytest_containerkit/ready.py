"""Readiness probes and the wait loop that polls them until a deadline (tenacity underneath).

A probe is any callable that takes the container's handle; the container is ready once the probe
returns without raising and its result is not ``False``. The probes here combine with ``&`` (all
of) and ``|`` (any of), like tenacity's strategies.
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, Protocol

import requests
import tenacity

from .errors import ContainerFailed, ContainerKitError, NotReady

Port = int | str


class LogFollower(Protocol):
    def lines(self) -> list[str]: ...


class Target(Protocol):
    """What probes and the wait loop see of a container."""

    @property
    def host(self) -> str: ...

    def url(self, path: str = "/", port: Port | None = None) -> str: ...

    def port(self, container_port: Port | None = None) -> int: ...

    def logs(self, tail: int | None = None) -> str: ...

    def check_running(self) -> None: ...

    def state(self) -> Mapping[str, Any]: ...

    def follow_logs(self) -> LogFollower: ...

    def exec(self, command: str | Sequence[str]) -> Any: ...


Probe = Callable[[Target], object]


class ProbeNotMet(ContainerKitError):
    """A probe ran and found the container not ready yet."""


class ReadinessProbe:
    """Base of the built-in probes: ``a & b`` waits for both, ``a | b`` for either."""

    def __call__(self, target: Target) -> None:
        raise NotImplementedError

    def __and__(self, other: Probe) -> ReadinessProbe:
        return all_of(self, other)

    def __or__(self, other: Probe) -> ReadinessProbe:
        return any_of(self, other)


class HttpProbe(ReadinessProbe):
    """Ready when an HTTP request answers with one of the expected statuses (and body, if asked)."""

    def __init__(
        self,
        path: str,
        statuses: Collection[int],
        *,
        method: str,
        port: Port | None,
        headers: Mapping[str, str] | None,
        body: Callable[[str], bool] | None,
        json: Callable[[Any], bool] | None,
        timeout: float,
    ) -> None:
        self.path = path
        self.statuses = statuses
        self.method = method
        self.port = port
        self.headers = dict(headers or {})
        self.body = body
        self.json = json
        self.timeout = timeout

    def __call__(self, target: Target) -> None:
        url = target.url(self.path, self.port)
        response = requests.request(self.method, url, headers=self.headers, timeout=self.timeout)
        if response.status_code not in self.statuses:
            expected = " or ".join(map(str, sorted(self.statuses)))
            raise ProbeNotMet(f"{self.method} {url} answered {response.status_code}, not {expected}")
        if self.body is not None and not self.body(response.text):
            raise ProbeNotMet(f"{self.method} {url} answered a body the body predicate refused")
        if self.json is not None and not self.json(response.json()):
            raise ProbeNotMet(f"{self.method} {url} answered JSON the json predicate refused")

    def __repr__(self) -> str:
        status = next(iter(self.statuses)) if len(self.statuses) == 1 else sorted(self.statuses)
        method = f", method={self.method!r}" if self.method != "GET" else ""
        return f"http_ok({self.path!r}, status={status!r}{method})"


class TcpProbe(ReadinessProbe):
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


class LogProbe(ReadinessProbe):
    """Ready when the container's output has printed a line matching *pattern* *times* times.

    It follows the log stream as it comes instead of reading the whole log again at every poll.
    """

    def __init__(self, pattern: str, times: int) -> None:
        self.pattern = re.compile(pattern)
        self.times = times

    def __call__(self, target: Target) -> None:
        seen = sum(1 for line in target.follow_logs().lines() if self.pattern.search(line))
        if seen < self.times:
            raise ProbeNotMet(f"the log matched {self.pattern.pattern!r} {seen} of {self.times} times")

    def __repr__(self) -> str:
        times = f", times={self.times}" if self.times != 1 else ""
        return f"log_line({self.pattern.pattern!r}{times})"


class HealthyProbe(ReadinessProbe):
    """Ready when the engine reports the image's HEALTHCHECK as healthy."""

    def __call__(self, target: Target) -> None:
        health = target.state().get("Health") or {}
        status = health.get("Status", "none (the image has no HEALTHCHECK)")
        if status != "healthy":
            raise ProbeNotMet(f"the engine reports the container's health as {status}")

    def __repr__(self) -> str:
        return "healthy()"


class CommandProbe(ReadinessProbe):
    """Ready when *command*, run inside the container, exits with 0."""

    def __init__(self, command: str | Sequence[str]) -> None:
        self.command = command

    def __call__(self, target: Target) -> None:
        result = target.exec(self.command)
        if result.exit_code != 0:
            raise ProbeNotMet(
                f"{self.command!r} exited with {result.exit_code}: {result.output.strip()[-200:]}"
            )

    def __repr__(self) -> str:
        return f"command_succeeds({self.command!r})"


class AllOf(ReadinessProbe):
    def __init__(self, probes: Sequence[Probe]) -> None:
        self.probes = probes

    def __call__(self, target: Target) -> None:
        for probe in self.probes:
            _run(probe, target)

    def __repr__(self) -> str:
        return " & ".join(map(repr, self.probes))


class AnyOf(ReadinessProbe):
    def __init__(self, probes: Sequence[Probe]) -> None:
        self.probes = probes

    def __call__(self, target: Target) -> None:
        errors = []
        for probe in self.probes:
            try:
                _run(probe, target)
                return
            except ContainerFailed:
                raise
            except Exception as error:
                errors.append(f"{probe!r}: {error}")
        raise ProbeNotMet("; ".join(errors))

    def __repr__(self) -> str:
        return "(" + " | ".join(map(repr, self.probes)) + ")"


def http_ok(
    path: str = "/",
    status: int | Collection[int] = 200,
    *,
    method: str = "GET",
    port: Port | None = None,
    headers: Mapping[str, str] | None = None,
    body: Callable[[str], bool] | None = None,
    json: Callable[[Any], bool] | None = None,
    timeout: float = 1.0,
) -> ReadinessProbe:
    """Probe: ready when *method* *path* on the first published port (or *port*) answers *status*
    (one or several), and, if given, its text passes *body* and its JSON passes *json*."""
    statuses = {status} if isinstance(status, int) else set(status)
    return HttpProbe(
        path, statuses, method=method, port=port, headers=headers, body=body, json=json, timeout=timeout
    )


def tcp_open(port: Port | None = None, *, timeout: float = 1.0, linger: float = 0.05) -> ReadinessProbe:
    """Probe: ready when the published *port* (default: the first) accepts and keeps a TCP connection."""
    return TcpProbe(port, timeout, linger)


def log_line(pattern: str, times: int = 1) -> ReadinessProbe:
    """Probe: ready when the container has printed *times* lines matching the regex *pattern*."""
    return LogProbe(pattern, times)


def healthy() -> ReadinessProbe:
    """Probe: ready when the image's HEALTHCHECK reports healthy (the default for such images)."""
    return HealthyProbe()


def command_succeeds(command: str | Sequence[str]) -> ReadinessProbe:
    """Probe: ready when *command* run inside the container exits with 0."""
    return CommandProbe(command)


def all_of(*probes: Probe) -> ReadinessProbe:
    """Probe: ready when every one of *probes* is."""
    return AllOf(probes)


def any_of(*probes: Probe) -> ReadinessProbe:
    """Probe: ready when at least one of *probes* is."""
    return AnyOf(probes)


def _run(probe: Probe, target: Target) -> None:
    if probe(target) is False:
        raise ProbeNotMet(f"{probe!r} returned False")


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

    Polls start 5 ms apart and back off to 250 ms, so a fast container is seen ready at once, a
    slow one is not flooded, and a container that stops is noticed within a quarter of a second.
    """
    started = clock()

    def attempt() -> None:
        try:
            _run(probe, target)
        except Exception:
            target.check_running()
            raise

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
