"""Build images from your Dockerfiles, run them as pytest fixtures, and assert over HTTP."""

from .build import Image, ImageSpec, Secret, secret
from .config import container_options
from .container import ExecResult
from .errors import (
    BuildContextError,
    BuildFailed,
    ContainerFailed,
    ContainerKitError,
    EngineUnavailable,
    NotReady,
    UnknownImage,
)
from .factories import build, container
from .handle import ContainerHandle
from .kit import ContainerOptions, Kit
from .ready import (
    Probe,
    ReadinessProbe,
    all_of,
    any_of,
    command_succeeds,
    healthy,
    http_ok,
    log_line,
    tcp_open,
)

__all__ = [
    "BuildContextError",
    "BuildFailed",
    "ContainerFailed",
    "ContainerHandle",
    "ContainerKitError",
    "ContainerOptions",
    "EngineUnavailable",
    "ExecResult",
    "Image",
    "ImageSpec",
    "Kit",
    "NotReady",
    "Probe",
    "ReadinessProbe",
    "Secret",
    "UnknownImage",
    "all_of",
    "any_of",
    "build",
    "command_succeeds",
    "container",
    "container_options",
    "healthy",
    "http_ok",
    "log_line",
    "secret",
    "tcp_open",
]
