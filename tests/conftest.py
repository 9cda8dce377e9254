"""Shared helpers for the plugin's own tests: tiny busybox images, and a check that nothing leaks."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from typing import Any

import docker
import pytest

pytest_plugins = ["pytester"]

BUSYBOX = "busybox:1.36"
HTTPD = '["httpd", "-f", "-v", "-p", "8080", "-h", "/www"]'


@pytest.fixture(scope="session")
def docker_client() -> Iterator[Any]:
    client = docker.from_env()
    yield client
    client.close()


def plugin_containers(client: Any) -> set[str]:
    return {c.id for c in client.containers.list(all=True, filters={"label": "pytest-containerkit"})}


@pytest.fixture
def engine_left_clean(docker_client: Any) -> Iterator[None]:
    """Fails the test if it leaves a container of the plugin's on the engine."""
    before = plugin_containers(docker_client)
    yield
    left = plugin_containers(docker_client) - before
    assert not left, f"containers left behind: {left}"


def web_context(
    pytester: pytest.Pytester, name: str = "web", *, page: str = "hello from web", cmd: str = HTTPD
) -> None:
    """Write a build context *name*/ with a busybox image serving *page* over HTTP on port 8080."""
    pytester.path.joinpath(name).mkdir()
    pytester.path.joinpath(name, "Dockerfile").write_text(
        textwrap.dedent(
            f"""\
            FROM {BUSYBOX}
            RUN mkdir -p /www && echo "{page}" > /www/index.html
            ENV GREETING=from-image
            EXPOSE 8080
            CMD {cmd}
            """
        )
    )


def register_images(pytester: pytest.Pytester, *names: str) -> None:
    lines = "\n".join(f"    {name} = {name}" for name in names)
    pytester.makeini(f"[pytest]\ncontainerkit_images =\n{lines}\n")
