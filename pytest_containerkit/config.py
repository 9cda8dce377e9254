"""Settings and arguments from test files, ini files and the command line, checked early.

Every parser raises `pytest.UsageError` naming the bad value and what would be right.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .build import BuildOptions, ImageSpec
from .container import Command, Port
from .kit import ContainerOptions, ImageSource
from .ready import Probe

INI_SETTINGS = [
    ("containerkit_ready_timeout", "30", "seconds a container may take to become ready"),
    ("containerkit_build_timeout", "1800", "seconds one image may take to build"),
    ("containerkit_log_lines", "50", "container log lines shown when something fails"),
    ("containerkit_keep_images", "3", "built images kept per image name; older ones are removed"),
    ("containerkit_keep", "never", "keep containers running after their tests: never, failed or always"),
    ("containerkit_missing", "error", "with no Docker engine, container tests: error or skip"),
    (
        "containerkit_publish_address",
        "",
        "the host address published ports bind to (default: 127.0.0.1, or a remote engine's address)",
    ),
]
KEEP_CHOICES = ("never", "failed", "always")
TEST_FAILED = pytest.StashKey[bool]()
NEXT_ITEM = pytest.StashKey[pytest.Item | None]()
MISSING_CHOICES = ("error", "skip")
IMAGE_LINE = re.compile(
    r"^(?P<name>[A-Za-z0-9][\w.-]*)\s*=\s*(?P<context>[^:]+?)\s*(?::\s*(?P<dockerfile>.+?))?\s*$"
)
PORT = re.compile(r"^\d{1,5}(/(tcp|udp|sctp))?$")


@dataclass(frozen=True)
class Settings:
    """The plugin's settings: the command line first, then the ini file, then the defaults."""

    ready_timeout: float
    log_lines: int
    keep_images: int
    keep: str
    missing: str
    publish_address: str | None
    build_options: BuildOptions

    @classmethod
    def read(cls, config: pytest.Config, images_variable: str) -> Settings:
        """Read *config*; *images_variable* holds ``NAME=REF`` pairs given through the environment."""

        def setting(name: str) -> Any:
            return config.getoption(name, None) or config.getini(name)

        def seconds(name: str) -> float:
            return positive_seconds(setting(name), name)

        def count(name: str) -> int:
            return positive_int(setting(name), name)

        no_cache = bool(config.getoption("containerkit_no_cache"))
        return cls(
            ready_timeout=seconds("containerkit_ready_timeout"),
            log_lines=count("containerkit_log_lines"),
            keep_images=count("containerkit_keep_images"),
            keep=choice(setting("containerkit_keep"), KEEP_CHOICES, "containerkit_keep"),
            missing=choice(setting("containerkit_missing"), MISSING_CHOICES, "containerkit_missing"),
            publish_address=setting("containerkit_publish_address") or None,
            build_options=BuildOptions(
                rebuild=no_cache or bool(config.getoption("containerkit_rebuild")),
                no_cache=no_cache,
                timeout=seconds("containerkit_build_timeout"),
                images=image_overrides(images_variable.split() + config.getoption("containerkit_image")),
            ),
        )


SETTINGS = pytest.StashKey[Settings]()


def parse_images(lines: Sequence[str]) -> dict[str, ImageSpec]:
    """The images of the ini option ``containerkit_images``: ``NAME = CONTEXT_DIR[:DOCKERFILE]`` lines."""
    images: dict[str, ImageSpec] = {}
    for line in lines:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = IMAGE_LINE.match(line.strip())
        if match is None:
            raise pytest.UsageError(
                f"containerkit_images: cannot read {line.strip()!r}; write one image a line as "
                "NAME = CONTEXT_DIR or NAME = CONTEXT_DIR:DOCKERFILE (paths relative to the rootdir)"
            )
        name = match["name"]
        if name in images:
            raise pytest.UsageError(f"containerkit_images: image {name!r} is registered twice")
        images[name] = ImageSpec.create(name, Path(match["context"]), dockerfile=match["dockerfile"])
    return images


def container_options(
    image: ImageSource,
    *,
    ports: Sequence[Port] | Mapping[Port, int | None] = (),
    env: Mapping[str, str] | None = None,
    command: Command = None,
    ready: Probe | None = None,
    init: bool = True,
    ready_timeout: float | None = None,
) -> ContainerOptions:
    """Check the arguments that describe a container, as ``container()`` and the marker take them."""
    if not isinstance(image, str | ImageSpec) or not image:
        raise pytest.UsageError(
            f"image must be a build(...) fixture, a name from containerkit_images or an image "
            f"reference, not {image!r}"
        )
    host_ports = dict(ports) if isinstance(ports, Mapping) else {}
    if (
        isinstance(ports, str | int)
        or not all(_is_port(port) for port in ports)
        or not all(host is None or (_is_port(host) and isinstance(host, int)) for host in host_ports.values())
    ):
        raise pytest.UsageError(
            "ports must be a list of container ports like [8000, '53/udp'], or a dict of container "
            f"ports to host ports like {{8000: 18000}}, not {ports!r}"
        )
    if env is not None and not (
        isinstance(env, Mapping) and all(isinstance(k, str) and isinstance(v, str) for k, v in env.items())
    ):
        raise pytest.UsageError(f"env must be a dict of strings to strings, not {env!r}")
    if command is not None and not (
        isinstance(command, str)
        or (isinstance(command, Sequence) and all(isinstance(p, str) for p in command))
    ):
        raise pytest.UsageError(f"command must be a string or a list of strings, not {command!r}")
    if ready is not None and not callable(ready):
        raise pytest.UsageError(f"ready must be a probe such as http_ok('/') or a callable, not {ready!r}")
    if not isinstance(init, bool):
        raise pytest.UsageError(f"init must be True or False, not {init!r}")
    if ready_timeout is not None:
        ready_timeout = positive_seconds(ready_timeout, "ready_timeout")
    return ContainerOptions(
        image=image,
        ports=tuple(ports),
        host_ports={port: host for port, host in host_ports.items() if host is not None},
        env=dict(env or {}),
        command=command if isinstance(command, str | None) else tuple(command),
        ready=ready,
        init=init,
        ready_timeout=ready_timeout,
    )


def marker_options(marker: pytest.Mark, where: str) -> ContainerOptions:
    """The options of a ``@pytest.mark.container(...)`` marker, whose signature is `container_options`'s."""
    try:
        return container_options(*marker.args, **marker.kwargs)
    except (TypeError, pytest.UsageError) as error:
        raise pytest.UsageError(
            f"{where}: bad @pytest.mark.container arguments: {error}. "
            f"Expected @pytest.mark.{MARKER_SIGNATURE}"
        ) from None


def _marker_signature() -> str:
    signature = inspect.signature(container_options)
    parameters = [p.replace(annotation=inspect.Parameter.empty) for p in signature.parameters.values()]
    plain = signature.replace(parameters=parameters, return_annotation=inspect.Signature.empty)
    return f"container{plain}"


MARKER_SIGNATURE = _marker_signature()


def image_overrides(pairs: Sequence[str]) -> dict[str, str]:
    """``NAME=REF`` pairs: existing images to use instead of building the images of those names."""
    overrides = {}
    for pair in pairs:
        name, equals, reference = pair.partition("=")
        if not (equals and name.strip() and reference.strip()):
            raise pytest.UsageError(
                "--containerkit-image takes NAME=REF (an image name and an image on the engine), "
                f"not {pair!r}"
            )
        overrides[name.strip()] = reference.strip()
    return overrides


def choice(value: Any, choices: Sequence[str], name: str) -> str:
    """*value* if it is one of *choices*."""
    if value not in choices:
        raise pytest.UsageError(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return str(value)


def positive_seconds(value: Any, name: str) -> float:
    """*value* as a number of seconds above zero."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = 0.0
    if seconds <= 0 or isinstance(value, bool):
        raise pytest.UsageError(f"{name} must be a number of seconds above 0, not {value!r}")
    return seconds


def positive_int(value: Any, name: str) -> int:
    """*value* as a whole number above zero."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number <= 0 or isinstance(value, bool):
        raise pytest.UsageError(f"{name} must be a whole number above 0, not {value!r}")
    return number


def _is_port(port: object) -> bool:
    if isinstance(port, bool):
        return False
    if isinstance(port, int):
        return 0 < port < 65536
    return isinstance(port, str) and PORT.match(port) is not None
