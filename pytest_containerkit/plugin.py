"""pytest glue: options, the ``container`` marker and fixture, failure reports, session clean-up."""

from __future__ import annotations

import uuid
from collections.abc import Generator, Iterator
from typing import Any

import pytest

from .config import MARKER_SIGNATURE, marker_options, parse_images, positive_int, positive_seconds
from .factories import run_container
from .handle import ContainerHandle
from .kit import Kit

KIT = pytest.StashKey[Kit]()
SESSION_ID = "containerkit_session_id"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("containerkit", "containers from Dockerfiles (pytest-containerkit)")
    group.addoption(
        "--containerkit-ready-timeout",
        metavar="SECONDS",
        help="how long a container may take to become ready (default: ini containerkit_ready_timeout, 30)",
    )
    parser.addini(
        "containerkit_images",
        type="linelist",
        default=[],
        help="images tests can name: one 'NAME = CONTEXT_DIR[:DOCKERFILE]' a line, relative to the rootdir",
    )
    parser.addini(
        "containerkit_ready_timeout",
        default="30",
        help="seconds a container may take to become ready",
    )
    parser.addini(
        "containerkit_log_lines",
        default="50",
        help="container log lines shown when something fails",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER_SIGNATURE}: run the test's `container` fixture from IMAGE (a name from "
        "containerkit_images or an image on the engine), with these ports, env and readiness probe.",
    )
    workerinput: dict[str, Any] = getattr(config, "workerinput", {})
    timeout = config.getoption("containerkit_ready_timeout") or config.getini("containerkit_ready_timeout")
    config.stash[KIT] = Kit(
        images=parse_images(config.getini("containerkit_images")),
        session_id=workerinput.get(SESSION_ID) or uuid.uuid4().hex[:12],
        rootdir=config.rootpath,
        ready_timeout=positive_seconds(timeout, "containerkit_ready_timeout"),
        log_lines=positive_int(config.getini("containerkit_log_lines"), "containerkit_log_lines"),
        progress=_progress_writer(config),
    )


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """Give every xdist worker the controller's session id, so one label names the whole run."""
    node.workerinput[SESSION_ID] = node.config.stash[KIT].session_id


def pytest_unconfigure(config: pytest.Config) -> None:
    if KIT in config.stash:
        config.stash[KIT].close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Check every ``container`` marker's arguments before anything runs."""
    for item in items:
        for marker in item.iter_markers("container"):
            marker_options(marker, item.nodeid)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report: pytest.TestReport = yield
    if report.failed and call.when == "call":
        kit = item.config.stash[KIT]
        for handle in _handles_of(item):
            report.sections.append(
                (f"container {handle.name} ({handle.image[:19]}) log", handle.logs(kit.log_lines))
            )
    return report


@pytest.fixture(scope="session")
def containerkit(pytestconfig: pytest.Config) -> Kit:
    """The session's containers and images: the engine, the builder and every container started.

    Use it to start containers by hand: ``containerkit.start(container_options(...))``.
    """
    return pytestconfig.stash[KIT]


@pytest.fixture
def container(request: pytest.FixtureRequest, containerkit: Kit) -> Iterator[ContainerHandle]:
    """A fresh, ready container for the test, from its ``@pytest.mark.container(IMAGE, ...)`` marker.

    Yields a `ContainerHandle`: ``container.http.get("/")``, ``container.url()``, ``container.logs()``.
    """
    marker = request.node.get_closest_marker("container")
    if marker is None:
        pytest.fail(
            "the container fixture needs a marker naming its image: "
            "@pytest.mark.container(IMAGE, ports=[...])",
            pytrace=False,
        )
    yield from run_container(containerkit, marker_options(marker, request.node.nodeid), request)


def _handles_of(item: pytest.Item) -> list[ContainerHandle]:
    funcargs: dict[str, Any] = getattr(item, "funcargs", {})
    return [value for value in funcargs.values() if isinstance(value, ContainerHandle)]


def _progress_writer(config: pytest.Config) -> Any:
    def write(line: str) -> None:
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        capture = config.pluginmanager.get_plugin("capturemanager")
        if reporter is None or capture is None or config.get_verbosity() < 1:
            return
        with capture.global_and_fixture_disabled():
            reporter.write_line(f"containerkit: {line}")

    return write
