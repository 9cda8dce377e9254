"""Connecting to the engine and where its published ports are reached."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from pytest_containerkit import EngineUnavailable
from pytest_containerkit.engine import Engine
from pytest_containerkit.handle import BaseUrlSession


@pytest.mark.parametrize(
    ("base_url", "host"),
    [
        ("http+docker://localhost", "127.0.0.1"),
        ("http+docker://localnpipe", "127.0.0.1"),
        ("http://127.0.0.2:2375", "127.0.0.2"),
        ("https://docker.example:2376", "docker.example"),
    ],
)
def test_published_ports_are_reached_where_the_engine_is(base_url: str, host: str) -> None:
    engine = Engine(SimpleNamespace(api=SimpleNamespace(base_url=base_url)))
    assert engine.published_host == host


def test_an_engine_that_does_not_answer_is_named_with_a_way_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:9")
    with pytest.raises(
        EngineUnavailable,
        match=r"no Docker engine answers at tcp://127.0.0.1:9: .*Start a Docker engine",
    ):
        Engine.connect()


def test_the_session_resolves_relative_urls_against_the_current_base() -> None:
    bases = iter(["http://127.0.0.1:1000/", "http://127.0.0.1:2000/"])
    session = BaseUrlSession(lambda: next(bases))
    seen: list[str] = []
    session.send = lambda request, **kwargs: seen.append(request.url)  # type: ignore[method-assign,assignment]
    session.get("/users")
    session.get("images/a.png")
    assert seen == ["http://127.0.0.1:1000/users", "http://127.0.0.1:2000/images/a.png"]
