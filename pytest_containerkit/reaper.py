"""Who owns a container, and removing what runs that are gone left behind.

Every container carries an owner label naming the machine, the process id and that process's start
time (so a reused process id is not taken for a live run). A new session of the same project
removes the containers whose owner process is gone; a watchdog process removes a session's
containers as soon as its pytest process dies, even by SIGKILL.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .engine import Engine, engine_errors

OWNER_LABEL = "pytest-containerkit.owner"
PROJECT_LABEL = "pytest-containerkit.project"


def project_id(rootdir: Path) -> str:
    """The value of the project label of containers started from tests under *rootdir*."""
    return hashlib.sha256(str(rootdir).encode()).hexdigest()[:12]


def process_start(pid: int) -> str:
    """When process *pid* started (clock ticks since boot), or "" where /proc cannot say."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return ""
    return fields[19]


@dataclass(frozen=True)
class Owner:
    """The process that created a container."""

    host: str
    pid: int
    started: str

    @classmethod
    def this_process(cls) -> Owner:
        return cls(socket.gethostname(), os.getpid(), process_start(os.getpid()))

    @classmethod
    def parse(cls, label: str) -> Owner | None:
        host, _, rest = label.rpartition("/")
        host, _, pid = host.rpartition("/")
        return cls(host, int(pid), rest) if pid.isdigit() else None

    @property
    def label(self) -> str:
        return f"{self.host}/{self.pid}/{self.started}"

    def is_gone(self) -> bool:
        """Whether the owner process has ended; a process on another machine is never taken for gone."""
        if self.host != socket.gethostname():
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return process_start(self.pid) != self.started


def reap_leftovers(engine: Engine, project: str) -> None:
    """Remove the containers of *project* whose owner process is gone."""
    with engine_errors("looking for containers that earlier runs left"):
        containers = engine.client.containers.list(all=True, filters={"label": f"{PROJECT_LABEL}={project}"})
    for container in containers:
        owner = Owner.parse(container.labels.get(OWNER_LABEL, ""))
        if owner is not None and owner.is_gone():
            with engine_errors(f"removing container {container.name}, left by an earlier run"):
                container.remove(force=True, v=True)


def remove_labelled(client: Any, labels: Sequence[str], spare: Collection[str] = ()) -> None:
    """Kill and remove the containers that carry all of *labels*, but those whose ID is in *spare*."""
    for container in client.containers.list(all=True, filters={"label": list(labels)}):
        if container.id not in spare:
            container.remove(force=True, v=True)


def start_watchdog(session_label: str, owner: Owner) -> subprocess.Popen[bytes]:
    """Start a process that outlives this one and removes the session's containers when it dies."""
    return subprocess.Popen(
        [sys.executable, "-m", "pytest_containerkit.watchdog", owner.label, session_label],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
    )
