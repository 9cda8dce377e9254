"""``python -m pytest_containerkit context PATH``: the build context as the docker CLI would send it."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from .context import BuildContext, hash_lines
from .errors import ContainerKitError


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pytest_containerkit")
    commands = parser.add_subparsers(dest="command", required=True)
    context = commands.add_parser("context", help="list the files a build of PATH sends to the engine")
    context.add_argument("path", type=Path, help="the build context directory")
    context.add_argument("--dockerfile", default="Dockerfile", help="the Dockerfile, relative to PATH")
    context.add_argument("--files", action="store_true", help="only the relative paths, sorted, one a line")
    arguments = parser.parse_args(argv)
    try:
        scanned = BuildContext.scan(arguments.path, arguments.dockerfile)
    except (ContainerKitError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    files = scanned.files
    if arguments.files:
        print("\n".join(sorted(entry.path for entry in files)))
        return 0
    width = max((len(f"{entry.size:,}") for entry in files), default=1)
    for entry in files:
        print(f"{entry.size:>{width},}  {entry.path}")
    print(f"{len(files)} files, {scanned.size:,} bytes")
    print(f"digest of the context: {hash_lines(scanned.manifest(scanned.hashes()))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
