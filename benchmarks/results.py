"""What every benchmark prints and appends to benchmarks/RESULTS.md."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import docker

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def machine() -> str:
    """The machine's details, for the line under a result's heading."""
    engine = docker.from_env().version()["Version"]
    return (
        f"{os.cpu_count()} cores, {platform.platform()}, Python {platform.python_version()}, "
        f"docker-py {docker.__version__}, engine {engine}"
    )


def publish(lines: list[str]) -> None:
    """Print a result and append it to RESULTS.md."""
    text = "\n".join(lines) + "\n"
    print(text)
    with RESULTS.open("a") as results:
        results.write("\n" + text)
