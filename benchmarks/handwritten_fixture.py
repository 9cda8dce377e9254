"""The least a hand-written docker-py fixture must do for a fresh container per test: run the image
with a published port, poll HTTP every 20 ms until it answers, hand over the URL, remove the container.
benchmarks/containers.py uses it as its reference (copied in as a conftest.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import docker
import pytest
import requests

IMAGE = "containerkit-bench/example_app:latest"


@pytest.fixture(scope="session")
def docker_client() -> Iterator[Any]:
    client = docker.from_env()
    yield client
    client.close()


def start(client: Any) -> tuple[Any, str]:
    container = client.containers.run(
        IMAGE,
        detach=True,
        ports={"8000/tcp": ("127.0.0.1", None)},
        labels={"pytest-containerkit.benchmark": "1"},
    )
    container.reload()
    url = f"http://127.0.0.1:{container.ports['8000/tcp'][0]['HostPort']}/"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return container, url
        except requests.ConnectionError:
            pass
        time.sleep(0.02)
    raise TimeoutError(url)


@pytest.fixture
def handwritten_app(docker_client: Any) -> Iterator[str]:
    container, url = start(docker_client)
    yield url
    container.remove(force=True)


@pytest.fixture(scope="session")
def handwritten_session_app(docker_client: Any) -> Iterator[str]:
    container, url = start(docker_client)
    yield url
    container.remove(force=True)
