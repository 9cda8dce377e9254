"""Running an image: the container spec, launching it, and everything done to it afterwards."""

from __future__ import annotations

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


class RunningContainer:
    """A started container; every engine call made on it goes through here."""

    def __init__(self, engine: Engine, spec: ContainerSpec, container: Any) -> None:
        self.engine = engine
        self.spec = spec
        self._container = container
        self.host = engine.published_host

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
        if state["Running"]:
            return
        exit_code = int(state["ExitCode"])
        oom = " (killed: out of memory)" if state.get("OOMKilled") else ""
        raise ContainerFailed(
            f"container {self.name} of image {self.spec.image} exited with code {exit_code}{oom}",
            self.logs(tail=log_lines),
            exit_code=exit_code,
        )

    def restart(self, timeout: int = 1) -> None:
        with engine_errors(f"restarting container {self.name}"):
            self._container.restart(timeout=timeout)
        self.refresh()

    def stop(self, timeout: int = 1) -> None:
        with engine_errors(f"stopping container {self.name}"):
            self._container.stop(timeout=timeout)

    def remove(self) -> None:
        """Kill and remove the container with its anonymous volumes; gone already is fine."""
        with engine_errors(f"removing container {self.name}"), suppress(docker.errors.NotFound):
            self._container.remove(force=True, v=True)


def launch(engine: Engine, spec: ContainerSpec) -> RunningContainer:
    """Create and start a container from *spec*, publishing its ports on host ports the engine picks."""
    ports = {port_key(port): (spec.publish_address, None) for port in spec.ports}
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
        with engine_errors(f"starting container {running.name} of image {spec.image}"):
            created.start()
        running.refresh()
    except BaseException:
        running.remove()
        raise
    return running
