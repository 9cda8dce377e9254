"""What the plugin shows on pytest's terminal: build progress and the end-of-run summary."""

from __future__ import annotations

import statistics
import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext

import pytest

from .build import BuildReport
from .handle import ContainerHandle
from .kit import Startup

FINAL_STATUSES = ("cached", "built", "given")


class TerminalProgress:
    """Build progress on pytest's terminal: one status line per image, the build log with ``-v``."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self._lock = threading.Lock()

    def status(self, name: str, text: str) -> None:
        final = text.startswith(FINAL_STATUSES)
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is None or not (final or reporter.isatty):
            return
        with self._lock, self._uncaptured():
            if final:
                reporter.rewrite("")
                reporter.write_line(f"containerkit: image {name}: {text}")
            else:
                reporter.rewrite(f"containerkit: image {name}: {text}")

    def log(self, name: str, line: str) -> None:
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is None or self.config.get_verbosity() < 1 or not line.strip():
            return
        with self._lock, self._uncaptured():
            reporter.write_line(f"containerkit: {name}: {line.rstrip()}")

    def _uncaptured(self) -> AbstractContextManager[None]:
        capture = self.config.pluginmanager.get_plugin("capturemanager")
        return capture.global_and_fixture_disabled() if capture is not None else nullcontext()


def summary_lines(reports: Sequence[BuildReport]) -> list[str]:
    """The end-of-run summary: per image, cached or built, time, size, cache use, why and hints."""
    width = max((len(report.name) for report in reports), default=0)
    lines = []
    for report in reports:
        what = {
            "cached": f"cached (inputs unchanged, digest {report.digest[:12]})",
            "built": f"built, {report.cached_steps}/{report.steps} steps from the engine's cache",
            "given": f"given as {report.image.tags[0]}",
        }[report.status]
        lines.append(f"{report.name:<{width}}  {what}, {report.seconds:.2f} s, {report.size / 1e6:.0f} MB")
        lines += [f"{'':<{width}}  why: {reason}" for reason in report.reasons]
        if report.first_miss:
            lines.append(f"{'':<{width}}  first step that missed the cache: {report.first_miss}")
        lines += [f"{'':<{width}}  hint: {hint}" for hint in report.hints]
    return lines


def kept_lines(handles: Sequence[ContainerHandle]) -> list[str]:
    """How to reach the containers kept for debugging, and how to remove them."""
    lines = []
    for handle in handles:
        address = f" at {handle.url()}" if handle.container.spec.ports else ""
        lines.append(f"{handle.name}{address}: docker exec -it {handle.name} sh; docker rm -f {handle.name}")
    if lines:
        lines.append("(the next run of this project removes them)")
    return lines


def startup_lines(startups: Sequence[Startup], shown: int = 10) -> list[str]:
    """Each container's start-up time (creation to ready), slowest first; the slowest *shown* of them."""
    if not startups:
        return []
    slowest = sorted(startups, key=lambda startup: startup.seconds, reverse=True)
    lines = [f"{s.seconds * 1000:6.0f} ms  {s.name}  {s.test}" for s in slowest[:shown]]
    if len(slowest) > shown:
        lines.append(f"(+{len(slowest) - shown} more)")
    median = statistics.median(s.seconds for s in startups)
    lines.append(f"{len(startups)} containers, median {median * 1000:.0f} ms")
    return lines
