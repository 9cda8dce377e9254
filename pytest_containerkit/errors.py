"""The plugin's exceptions. Each one carries the evidence a person needs to act on it."""

from __future__ import annotations

from collections.abc import Sequence


class ContainerKitError(Exception):
    """Base class of every error the plugin raises on purpose."""


class EngineUnavailable(ContainerKitError):
    """No Docker engine answered."""


class UnknownImage(ContainerKitError):
    """An image name that is neither registered nor present on the engine."""

    def __init__(self, name: str, known: Sequence[str]) -> None:
        self.name = name
        self.known = sorted(known)
        registered = ", ".join(self.known) if self.known else "none"
        super().__init__(
            f"unknown image {name!r}: it is not registered in the ini option containerkit_images "
            f"(registered: {registered}) and the engine has no image of that name"
        )


class BuildContextError(ContainerKitError):
    """A build context or Dockerfile that does not exist."""


class BuildFailed(ContainerKitError):
    """The engine could not build an image; ``build_log`` holds everything it said."""

    def __init__(self, message: str, build_log: Sequence[str]) -> None:
        self.build_log = list(build_log)
        tail = "\n".join(line.rstrip() for line in self.build_log[-20:])
        super().__init__(f"{message}\n--- last lines of the build log ---\n{tail}")


class ContainerFailed(ContainerKitError):
    """A container stopped or could not start; ``log_tail`` holds its last log lines."""

    def __init__(self, message: str, log_tail: str, exit_code: int | None = None) -> None:
        self.exit_code = exit_code
        self.log_tail = log_tail
        shown = log_tail.rstrip() or "(the container printed nothing)"
        super().__init__(f"{message}\n--- last log lines ---\n{shown}")


class NotReady(ContainerFailed):
    """A container still running that did not become ready before its deadline."""
