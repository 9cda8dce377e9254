"""``python -m pytest_containerkit.watchdog OWNER SESSION_LABEL``: wait until the owner process ends,
then remove the containers that carry both its owner label and the session label.

It needs no image and no helper container (unlike a reaper container), so it works offline.
"""

from __future__ import annotations

import os
import select
import sys
import time
from collections.abc import Sequence

import docker

from .reaper import OWNER_LABEL, Owner, remove_labelled


def wait_for_exit(owner: Owner) -> None:
    try:
        descriptor = os.pidfd_open(owner.pid)
    except (AttributeError, OSError):
        while not owner.is_gone():
            time.sleep(0.2)
        return
    select.select([descriptor], [], [])
    os.close(descriptor)


def main(argv: Sequence[str]) -> int:
    owner_label, session_label = argv
    owner = Owner.parse(owner_label)
    if owner is None:
        return 2
    wait_for_exit(owner)
    remove_labelled(docker.from_env(), [f"{OWNER_LABEL}={owner_label}", session_label])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
