"""Running an image: the container spec, launching it, and everything done to it afterwards."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

import docker.errors

from .engine import Engine, engine_errors
from .errors import ContainerFailed, ContainerKitError

Port = int | str
Command = str | Sequence[str] | None


def port_key(port: Port) -> str:
    """Docker's name of a container port: ``8000`` -> ``"8000/tcp"``, ``"53/udp"`` unchanged."""
    return port if isinstance(port, str) and "/" in port else f"{port}/tcp"


@dataclass(frozen=True)
class ContainerSpec:
    """How to run an image: environment overrides, published ports, command, init, labels."""

    image: str
    ports: tuple[Port, ...] = ()
    host_ports: Mapping[Port, int] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)
    command: Command = None
    init: bool = True
    labels: Mapping[str, str] = field(default_factory=dict)
    publish_address: str = "127.0.0.1"


@dataclass(frozen=True)
class ExecResult:
    """What a command run inside a container returned."""

    exit_code: int
    output: str


class LogStream:
    """A container's output, read by a background thread as it comes (``docker logs --follow``)."""

    def __init__(self, container: Any, since: float | None) -> None:
        self._lines: list[str] = []
        self._stream = container.logs(stream=True, follow=True, since=since)
        self._thread = threading.Thread(target=self._read, name="containerkit-logs", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        pending = ""
        with suppress(Exception):
            for chunk in self._stream:
                pending += bytes(chunk).decode("utf-8", "replace")
                *complete, pending = pending.split("\n")
                self._lines.extend(complete)

    def lines(self) -> list[str]:
        return list(self._lines)

    def close(self) -> None:
        with suppress(Exception):
            self._stream.close()


class RunningContainer:
    """A started container; every engine call made on it goes through here."""

    def __init__(self, engine: Engine, spec: ContainerSpec, container: Any) -> None:
        self.engine = engine
        self.spec = spec
        self._container = container
        self.host = engine.published_host
        self._log_stream: LogStream | None = None
        self._started_at: float | None = None

    @property
    def state(self) -> Mapping[str, Any]:
        """The container's state as last read (status, exit code, health)."""
        return dict(self._container.attrs["State"])

    @property
    def has_healthcheck(self) -> bool:
        test = (self._container.attrs["Config"].get("Healthcheck") or {}).get("Test") or ["NONE"]
        return bool(test[0] != "NONE")

    def follow_logs(self) -> LogStream:
        """The output since the container (re)started, followed as it comes."""
        if self._log_stream is None:
            with engine_errors(f"following the logs of container {self.name}"):
                self._log_stream = LogStream(self._container, self._started_at)
        return self._log_stream

    def _stop_following(self) -> None:
        if self._log_stream is not None:
            self._log_stream.close()
            self._log_stream = None

    @property
    def id(self) -> str:
        return str(self._container.id)

    @property
    def name(self) -> str:
        return str(self._container.name)

    def host_port(self, container_port: Port) -> int:
        """The host port published for *container_port*."""
        bindings = self._container.attrs["NetworkSettings"]["Ports"].get(port_key(container_port))
        if not bindings:
            published = ", ".join(map(str, self.spec.ports)) or "none"
            raise ContainerKitError(
                f"container {self.name} does not publish port {container_port} "
                f"(published: {published}); add it to ports="
            )
        return int(bindings[0]["HostPort"])

    def logs(self, tail: int | None = None) -> str:
        """The container's output (stdout and stderr), the last *tail* lines if given."""
        with engine_errors(f"reading the logs of container {self.name}"):
            data = self._container.logs(tail=tail if tail is not None else "all")
        return bytes(data).decode("utf-8", errors="replace")

    def exec(self, command: str | Sequence[str]) -> ExecResult:
        """Run *command* inside the container and wait for it."""
        with engine_errors(f"running {command!r} in container {self.name}"):
            exit_code, output = self._container.exec_run(command)
        return ExecResult(exit_code=int(exit_code), output=bytes(output).decode("utf-8", "replace"))

    def refresh(self) -> None:
        """Read the container's state again (status, published ports)."""
        with engine_errors(f"inspecting container {self.name}"):
            self._container.reload()

    def raise_if_stopped(self, log_lines: int) -> None:
        """Raise `ContainerFailed`, with exit code and log tail, unless the container runs."""
        self.refresh()
        state = self._container.attrs["State"]
        restarts = int(self._container.attrs.get("RestartCount", 0))
        if state["Running"] and not state.get("Restarting") and not restarts:
            return
        if state["Running"]:
            raise ContainerFailed(
                f"container {self.name} of image {self.spec.image} restarted {restarts or 1} time(s) "
                f"while being waited on (last exit code {state['ExitCode']})",
                self.logs(tail=log_lines),
                exit_code=int(state["ExitCode"]),
            )
        exit_code = int(state["ExitCode"])
        oom = " (killed: out of memory)" if state.get("OOMKilled") else ""
        raise ContainerFailed(
            f"container {self.name} of image {self.spec.image} exited with code {exit_code}{oom}",
            self.logs(tail=log_lines),
            exit_code=exit_code,
        )

    def restart(self, timeout: int = 1) -> None:
        self._stop_following()
        self._started_at = time.time()
        with engine_errors(f"restarting container {self.name}"):
            self._container.restart(timeout=timeout)
        self.refresh()

    def stop(self, timeout: int = 1) -> None:
        with engine_errors(f"stopping container {self.name}"):
            self._container.stop(timeout=timeout)

    def remove(self) -> None:
        """Kill and remove the container with its anonymous volumes; gone already is fine."""
        self._stop_following()
        with engine_errors(f"removing container {self.name}"), suppress(docker.errors.NotFound):
            self._container.remove(force=True, v=True)


def launch(engine: Engine, spec: ContainerSpec) -> RunningContainer:
    """Create and start a container from *spec*, publishing its ports on *spec*'s host ports, or on
    host ports the engine picks."""
    ports = {port_key(port): (spec.publish_address, spec.host_ports.get(port)) for port in spec.ports}
    with engine_errors(f"creating a container of image {spec.image}"):
        created = engine.client.containers.create(
            spec.image,
            command=spec.command,
            environment=dict(spec.env),
            ports=ports,
            init=spec.init,
            labels=dict(spec.labels),
        )
    running = RunningContainer(engine, spec, created)
    try:
        _start(running, created)
    except BaseException:
        running.remove()
        raise
    return running


def _start(running: RunningContainer, created: Any) -> None:
    with engine_errors(f"starting container {running.name}"):
        try:
            created.start()
        except docker.errors.APIError as error:
            raise _start_error(running, str(error.explanation or error)) from None
        running.refresh()


def _start_error(running: RunningContainer, explanation: str) -> ContainerKitError:
    if "already allocated" in explanation or "address already in use" in explanation:
        asked = ", ".join(f"{host} for {port}" for port, host in running.spec.host_ports.items())
        return ContainerKitError(
            f"container {running.name}: a host port asked for ({asked}) is already in use: {explanation}. "
            "Choose a free one, or leave the host port to the engine (ports=[...])"
        )
    return ContainerKitError(
        f"container {running.name} of image {running.spec.image} could not start: {explanation}"
    )
