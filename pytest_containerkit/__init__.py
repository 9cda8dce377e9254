"""Build images from your Dockerfiles, run them as pytest fixtures, and assert over HTTP."""

from .build import Image, ImageSpec
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
from .ready import Probe, http_ok, tcp_open

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
    "UnknownImage",
    "build",
    "container",
    "container_options",
    "http_ok",
    "tcp_open",
]
