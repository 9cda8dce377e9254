"""pytest glue: options, the ``container`` marker and fixture, builds after collection, failure
reports, the end-of-run summary and session clean-up."""

from __future__ import annotations

import os
import uuid
from collections.abc import Generator, Iterator
from typing import Any

import pytest

from .build import ImageSpec, MemoryState
from .config import (
    INI_SETTINGS,
    MARKER_SIGNATURE,
    NEXT_ITEM,
    SETTINGS,
    TEST_FAILED,
    Settings,
    marker_options,
    parse_images,
)
from .errors import ContainerKitError
from .factories import image_of_fixture, run_container
from .handle import ContainerHandle
from .kit import Kit
from .reporting import TerminalProgress, kept_lines, startup_lines, summary_lines

KIT = pytest.StashKey[Kit]()
SESSION_ID = "containerkit_session_id"
IMAGES_VARIABLE = "CONTAINERKIT_IMAGES"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("containerkit", "containers from Dockerfiles (pytest-containerkit)")
    group.addoption(
        "--containerkit-ready-timeout",
        metavar="SECONDS",
        help="how long a container may take to become ready (default: ini containerkit_ready_timeout, 30)",
    )
    group.addoption(
        "--containerkit-rebuild",
        action="store_true",
        help="build every image even when an image with the same inputs exists",
    )
    group.addoption(
        "--containerkit-no-cache",
        action="store_true",
        help="build without the engine's layer cache (implies --containerkit-rebuild)",
    )
    group.addoption(
        "--containerkit-build-timeout",
        metavar="SECONDS",
        help="how long one image may take to build (default: ini containerkit_build_timeout, 1800)",
    )
    group.addoption(
        "--containerkit-keep",
        metavar="WHEN",
        help="keep containers running after their tests for debugging: never, failed or always "
        "(default: ini containerkit_keep, never)",
    )
    group.addoption(
        "--containerkit-missing",
        metavar="ACTION",
        help="when no Docker engine answers: error (one error, the same for every container test) "
        "or skip (default: ini containerkit_missing, error)",
    )
    group.addoption(
        "--containerkit-image",
        action="append",
        default=[],
        metavar="NAME=REF",
        help="use the existing image REF instead of building NAME "
        f"(repeatable; or {IMAGES_VARIABLE}='NAME=REF ...')",
    )
    parser.addini(
        "containerkit_images",
        type="linelist",
        default=[],
        help="images tests can name: one 'NAME = CONTEXT_DIR[:DOCKERFILE]' a line, relative to the rootdir",
    )
    for name, default, meaning in INI_SETTINGS:
        parser.addini(name, default=default, help=meaning)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER_SIGNATURE}: run the test's `container` fixture from IMAGE (a name from "
        "containerkit_images or an image on the engine), with these ports, env and readiness probe.",
    )
    settings = Settings.read(config, os.environ.get(IMAGES_VARIABLE, ""))
    workerinput: dict[str, Any] = getattr(config, "workerinput", {})
    config.stash[SETTINGS] = settings
    config.stash[KIT] = Kit(
        images=parse_images(config.getini("containerkit_images")),
        session_id=workerinput.get(SESSION_ID) or uuid.uuid4().hex[:12],
        rootdir=config.rootpath,
        ready_timeout=settings.ready_timeout,
        publish_address=settings.publish_address,
        log_lines=settings.log_lines,
        build_options=settings.build_options,
        state=getattr(config, "cache", None) or MemoryState(),
        build_progress=TerminalProgress(config),
    )


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """Give every xdist worker the controller's session id, so one label names the whole run."""
    node.workerinput[SESSION_ID] = node.config.stash[KIT].session_id


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Check every ``container`` marker's arguments before anything runs."""
    for item in items:
        for marker in item.iter_markers("container"):
            marker_options(marker, item.nodeid)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Build the images that the selected tests need, in parallel, before the first test runs."""
    kit = session.config.stash[KIT]
    specs = {spec for item in session.items for spec in _images_needed(item, kit)}
    if not specs:
        return
    try:
        kit.prepare(specs)
    except ContainerKitError:
        return


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Remove the older images of the names this process built or used (each xdist worker its own)."""
    session.config.stash[KIT].prune_images(session.config.stash[SETTINGS].keep_images)


def pytest_unconfigure(config: pytest.Config) -> None:
    if KIT in config.stash:
        config.stash[KIT].close()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """Remember which test runs next here, so its container can be started ahead."""
    item.stash[NEXT_ITEM] = nextitem


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report: pytest.TestReport = yield
    if report.failed:
        item.stash[TEST_FAILED] = True
    if report.failed and call.when == "call":
        kit = item.config.stash[KIT]
        for handle in _handles_of(item):
            title = f"container {handle.name} ({handle.image[:19]}) log"
            report.sections.append((title, handle.logs(kit.log_lines)))
    return report


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    kit = config.stash[KIT]
    sections = {
        "containerkit images": summary_lines(kit.build_reports),
        "containerkit start-up times, slowest first": startup_lines(kit.startups),
        "containerkit: kept running": kept_lines(kit.kept),
    }
    for title, lines in sections.items():
        if lines:
            terminalreporter.write_sep("=", title)
            for line in lines:
                terminalreporter.write_line(line)


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
    options = marker_options(marker, request.node.nodeid)
    yield from run_container(containerkit, options, request, start_ahead=False)


def _images_needed(item: pytest.Item, kit: Kit) -> Iterator[ImageSpec]:
    sources = [marker_options(marker, item.nodeid).image for marker in item.iter_markers("container")]
    fixture_info = getattr(item, "_fixtureinfo", None)
    if fixture_info is not None:
        for name in fixture_info.names_closure:
            for definition in fixture_info.name2fixturedefs.get(name, ()):
                source = image_of_fixture(definition.func)
                if source is not None:
                    sources.append(source)
    for source in sources:
        spec = kit.images.get(source) if isinstance(source, str) else source
        if spec is not None:
            yield spec


def _handles_of(item: pytest.Item) -> list[ContainerHandle]:
    funcargs: dict[str, Any] = getattr(item, "funcargs", {})
    return [value for value in funcargs.values() if isinstance(value, ContainerHandle)]
