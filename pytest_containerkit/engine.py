"""The only door to docker-py: connecting, and turning its errors into ours."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import docker
import docker.errors
import requests

from .errors import ContainerKitError, EngineUnavailable

LOCAL_HOST = "127.0.0.1"


@contextmanager
def engine_errors(doing: str) -> Iterator[None]:
    """Re-raise what docker-py raises while *doing* something as a `ContainerKitError`."""
    try:
        yield
    except docker.errors.APIError as error:
        raise ContainerKitError(f"the Docker engine refused {doing}: {error.explanation or error}") from None
    except (docker.errors.DockerException, requests.RequestException) as error:
        raise EngineUnavailable(f"lost the Docker engine while {doing}: {error}") from None


class Engine:
    """A connected Docker engine: docker-py's client plus what the plugin needs to know about it."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.api = client.api

    @classmethod
    def connect(cls) -> Engine:
        """Connect to the engine that ``DOCKER_HOST`` (or the default socket) names and ping it."""
        where = os.environ.get("DOCKER_HOST", "the default socket (unix:///var/run/docker.sock)")
        try:
            client = docker.from_env()
            client.ping()
        except (docker.errors.DockerException, requests.RequestException) as error:
            raise EngineUnavailable(
                f"no Docker engine answers at {where}: {error}. Start a Docker engine "
                "(or run this project's scripts/engine.sh), or point DOCKER_HOST at one."
            ) from None
        return cls(client)

    @property
    def published_host(self) -> str:
        """The address at which this machine reaches the engine's published ports."""
        url = urlsplit(str(self.api.base_url))
        if url.scheme in ("http", "https") and url.hostname not in (None, "localhost"):
            return url.hostname
        return LOCAL_HOST

    @property
    def publish_address(self) -> str:
        """Where published ports should listen so that this machine reaches them: loopback for a
        local engine; for a remote one its own address, or every address when it is named by host name."""
        host = self.published_host
        if host == LOCAL_HOST:
            return LOCAL_HOST
        try:
            ipaddress.ip_address(host)
        except ValueError:
            return "0.0.0.0"
        return host

    def image_id(self, reference: str) -> str | None:
        """The ID of the local image *reference*, or None when the engine has no such image."""
        with engine_errors(f"inspecting image {reference!r}"):
            try:
                return str(self.api.inspect_image(reference)["Id"])
            except docker.errors.ImageNotFound:
                return None

    def close(self) -> None:
        self.client.close()
