"""What a test receives for a running container: its address, an HTTP session bound to it, helpers."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urljoin

import requests

from .container import ExecResult, LogStream, Port, RunningContainer, port_key
from .errors import ContainerKitError
from .ready import Probe, all_of, healthy, tcp_open, wait_until_ready


class BaseUrlSession(requests.Session):
    """A requests session whose relative URLs are resolved against the URL *base_url* returns.

    The base URL is asked for on every request, since a restarted container may get new host ports.
    """

    def __init__(self, base_url: Callable[[], str]) -> None:
        super().__init__()
        self.base_url = base_url

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        target = url.decode() if isinstance(url, bytes) else url
        return super().request(method, urljoin(self.base_url(), target), *args, **kwargs)


def default_probe(container: RunningContainer) -> Probe | None:
    """What "ready" means when a test does not say: healthy for an image with a HEALTHCHECK, else
    every published TCP port accepting and holding connections, else running."""
    if container.has_healthcheck:
        return healthy()
    tcp_ports = [port for port in container.spec.ports if port_key(port).endswith("/tcp")]
    return all_of(*(tcp_open(port) for port in tcp_ports)) if tcp_ports else None


class ContainerHandle:
    """A running container, as a test uses it.

    ``handle.http.get("/users")`` talks to the container's first published port;
    ``handle.url(path, port)``, ``handle.host`` and ``handle.port(port)`` give its address;
    ``logs()``, ``exec()``, ``restart()`` and ``stop()`` act on the container.
    """

    def __init__(
        self,
        container: RunningContainer,
        *,
        ready: Probe | None,
        ready_timeout: float,
        log_lines: int,
    ) -> None:
        self.container = container
        self.ready = ready if ready is not None else default_probe(container)
        self.ready_timeout = ready_timeout
        self.log_lines = log_lines
        self.http = BaseUrlSession(self.url)

    @property
    def id(self) -> str:
        return self.container.id

    @property
    def name(self) -> str:
        return self.container.name

    @property
    def image(self) -> str:
        return self.container.spec.image

    @property
    def host(self) -> str:
        return self.container.host

    def port(self, container_port: Port | None = None) -> int:
        """The host port published for *container_port* (default: the first published port)."""
        if container_port is None:
            if not self.container.spec.ports:
                raise ContainerKitError(f"container {self.name} publishes no ports; add ports=[...]")
            container_port = self.container.spec.ports[0]
        return self.container.host_port(container_port)

    def url(self, path: str = "/", port: Port | None = None) -> str:
        """``http://HOST:PORT/path`` for the published *port* (default: the first published port)."""
        return f"http://{self.host}:{self.port(port)}/{path.lstrip('/')}"

    def logs(self, tail: int | None = None) -> str:
        return self.container.logs(tail)

    def exec(self, command: str | Sequence[str]) -> ExecResult:
        return self.container.exec(command)

    def check_running(self) -> None:
        self.container.raise_if_stopped(self.log_lines)

    def state(self) -> Mapping[str, Any]:
        """The container's state as last read: ``Status``, ``ExitCode``, ``Health``..."""
        return self.container.state

    def follow_logs(self) -> LogStream:
        """The container's output since it (re)started, followed as it comes."""
        return self.container.follow_logs()

    def wait_ready(self) -> None:
        """Wait until the readiness probe passes; fail at once if the container stops."""
        if self.ready is None:
            self.check_running()
            return
        wait_until_ready(self.ready, self, timeout=self.ready_timeout, log_lines=self.log_lines)

    def restart(self) -> None:
        """Restart the container and wait until it is ready again (its host ports may change)."""
        self.container.restart()
        self.wait_ready()

    def stop(self) -> None:
        self.container.stop()

    def remove(self) -> None:
        self.http.close()
        self.container.remove()

    def __repr__(self) -> str:
        return f"<ContainerHandle {self.name} of {self.image}>"
