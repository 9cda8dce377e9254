"""Fixture factories that test files call at module level: ``build(...)`` and ``container(...)``."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal
from weakref import WeakKeyDictionary

import pytest

from .build import Image, ImageSpec
from .config import NEXT_ITEM, SETTINGS, TEST_FAILED, Settings, container_options
from .container import Command, Port
from .errors import ContainerKitError, EngineUnavailable
from .handle import ContainerHandle
from .kit import TEST_LABEL, ContainerOptions, ImageSource, Kit
from .ready import Probe

Scope = Literal["session", "package", "module", "class", "function"]

# The image each fixture made here needs, by fixture (as test files hold it) and by its function
# (as pytest's fixture definitions hold it).
_images_of: WeakKeyDictionary[Any, ImageSource] = WeakKeyDictionary()
_options_of: WeakKeyDictionary[Any, ContainerOptions] = WeakKeyDictionary()


def image_of_fixture(fixture: Any) -> ImageSource | None:
    """The image a fixture made by `build` or `container` needs, if it is one of ours."""
    try:
        return _images_of.get(fixture)
    except TypeError:
        return None


def build(
    context: str | Path,
    *,
    dockerfile: str | None = None,
    buildargs: Mapping[str, str] | None = None,
    target: str | None = None,
    name: str | None = None,
) -> Any:
    """Declare a session-scoped fixture whose value is the `Image` built from *context*.

    *context* is a directory relative to the rootdir; *dockerfile* is relative to *context*
    (default ``Dockerfile``). The image is built once per session, when a selected test first needs it.
    """
    spec = ImageSpec.create(
        name or Path(context).name,
        Path(context),
        dockerfile=dockerfile,
        buildargs=buildargs,
        target=target,
    )

    def image_fixture(containerkit: Kit) -> Image:
        return containerkit.build(spec)

    image_fixture.__doc__ = (
        f"The image {spec.name!r} built from {spec.context / spec.dockerfile}, once a session."
    )
    fixture = pytest.fixture(scope="session")(image_fixture)
    _images_of[image_fixture] = _images_of[fixture] = spec
    return fixture


def container(
    image: Any,
    *,
    ports: Sequence[Port] | Mapping[Port, int | None] = (),
    env: Mapping[str, str] | None = None,
    command: Command = None,
    ready: Probe | None = None,
    init: bool = True,
    ready_timeout: float | None = None,
    scope: Scope = "function",
) -> Any:
    """Declare a fixture that runs *image* and gives the test a `ContainerHandle` once it is ready.

    *image* is a ``build(...)`` fixture, a name from the ini option ``containerkit_images``, or an
    image already on the engine. Ports are published on 127.0.0.1 at host ports the engine picks
    (or those of a ``{container_port: host_port}`` dict);
    *env* is merged over the image's ENV; *ready* is a probe such as ``http_ok("/")``.
    """
    options = container_options(
        _image_source(image),
        ports=ports,
        env=env,
        command=command,
        ready=ready,
        init=init,
        ready_timeout=ready_timeout,
    )

    def container_fixture(containerkit: Kit, request: pytest.FixtureRequest) -> Iterator[ContainerHandle]:
        yield from run_container(containerkit, options, request)

    container_fixture.__doc__ = (
        f"A running container of {_describe(options.image)}, ready when {options.ready or 'started'}; "
        f"a fresh one per {scope}, removed afterwards."
    )
    _images_of[container_fixture] = options.image
    _options_of[container_fixture] = options
    return pytest.fixture(scope=scope)(container_fixture)


def run_container(
    kit: Kit, options: ContainerOptions, request: pytest.FixtureRequest, *, start_ahead: bool = True
) -> Iterator[ContainerHandle]:
    """Start a container for a fixture, turning our errors into a clean failure (or a skip, with
    ``--containerkit-missing=skip`` and no engine), and remove it after unless it is to be kept.

    With *start_ahead*, when the next test needs the same fixture, its container is started while
    this test runs; removal happens in the background, while the next test runs."""
    settings = request.config.stash[SETTINGS]
    following = _next_user(request, options) if start_ahead else None
    if following is not None:
        kit.prestart(options, labels={TEST_LABEL: following.nodeid})
    handle = _start_or_fail(kit, options, request, settings)
    try:
        yield handle
    finally:
        if _to_keep(settings, request):
            kit.keep(handle)
        else:
            kit.release(handle)


def _start_or_fail(
    kit: Kit, options: ContainerOptions, request: pytest.FixtureRequest, settings: Settings
) -> ContainerHandle:
    try:
        return kit.start(options, labels={TEST_LABEL: request.node.nodeid})
    except EngineUnavailable as error:
        if settings.missing == "skip":
            pytest.skip(str(error))
        message = str(error)
    except ContainerKitError as error:
        message = str(error)
    pytest.fail(message, pytrace=False)


def _next_user(request: pytest.FixtureRequest, options: ContainerOptions) -> pytest.Item | None:
    """The test that runs next in this process, if it needs a fresh container of these *options*."""
    if request.scope != "function" or request.fixturename is None:
        return None
    following: pytest.Item | None = request.node.stash.get(NEXT_ITEM, None)
    fixture_info = getattr(following, "_fixtureinfo", None)
    definitions = fixture_info.name2fixturedefs.get(request.fixturename, ()) if fixture_info else ()
    if not definitions or _options_of.get(definitions[-1].func) is not options:
        return None
    return following


def _to_keep(settings: Settings, request: pytest.FixtureRequest) -> bool:
    if settings.keep != "failed":
        return settings.keep == "always"
    if request.scope == "function":
        return bool(request.node.stash.get(TEST_FAILED, False))
    return bool(request.session.testsfailed)


def _image_source(image: Any) -> Any:
    source = image_of_fixture(image)
    return image if source is None else source


def _describe(image: ImageSource) -> str:
    return f"image {image.name!r}" if isinstance(image, ImageSpec) else repr(image)
