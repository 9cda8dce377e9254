"""The cache-aware builder against docker-py, as ratios measured in one run.

    .venv/bin/python benchmarks/build_cache.py [--repeat N]

For each context (example_app, 300 MB in 30 files, 20,000 small files) it times:
- unchanged: a docker-py build whose layers are all cached, against the plugin reusing the image in a
  new session (stat cache kept between sessions, as pytest's cache keeps it);
- first build: docker-py with the engine's cache off, against the plugin with the engine's cache off.
Medians of --repeat runs; the ratios are printed and appended to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from functools import partial
from pathlib import Path

import docker
from results import machine, publish

from pytest_containerkit.build import Builder, BuildOptions, ImageSpec, MemoryState
from pytest_containerkit.engine import Engine

ROOT = Path(__file__).resolve().parent.parent
BENCH_LABEL = "pytest-containerkit.benchmark"


def example_app(root: Path) -> Path:
    target = root / "example_app"
    shutil.copytree(ROOT / "example_app", target, ignore=shutil.ignore_patterns("tests", "__pycache__"))
    return target


def big_files(root: Path) -> Path:
    target = root / "big"
    target.mkdir()
    block = os.urandom(1 << 20)
    for number in range(30):
        with (target / f"blob-{number:02}.bin").open("wb") as blob:
            for _ in range(10):
                blob.write(block)
    (target / "Dockerfile").write_text("FROM busybox:1.36\nCOPY . /data\n")
    return target


def small_files(root: Path) -> Path:
    target = root / "small"
    for directory in range(200):
        folder = target / f"dir-{directory:03}"
        folder.mkdir(parents=True)
        for number in range(100):
            (folder / f"file-{number:03}.txt").write_text(f"{directory}/{number}\n" * 4)
    (target / "Dockerfile").write_text("FROM busybox:1.36\nCOPY . /data\n")
    return target


def docker_py_build(client: docker.DockerClient, context: Path, tag: str, nocache: bool) -> float:
    started = time.perf_counter()
    client.images.build(path=str(context), tag=tag, nocache=nocache, rm=True, labels={BENCH_LABEL: "1"})
    return time.perf_counter() - started


def plugin_build(engine: Engine, spec: ImageSpec, state: MemoryState, options: BuildOptions) -> float:
    session = {BENCH_LABEL: "1", "pytest-containerkit.session": uuid.uuid4().hex[:12]}
    builder = Builder(engine, session, options, state)
    started = time.perf_counter()
    builder.image(spec)
    return time.perf_counter() - started


def medians(reference: Callable[[], float], ours: Callable[[], float], repeat: int) -> tuple[float, float]:
    """Median times of *reference* and *ours*, run in turns (each going first every other time) so
    that drift and the engine's after-effects of one build hit both alike."""
    times: dict[Callable[[], float], list[float]] = {reference: [], ours: []}
    for turn in range(repeat):
        for measure in (reference, ours) if turn % 2 == 0 else (ours, reference):
            os.sync()
            times[measure].append(measure())
    return statistics.median(times[reference]), statistics.median(times[ours])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    repeat = parser.parse_args().repeat
    client = docker.from_env()
    engine = Engine.connect()
    rows: list[tuple[str, str, float, float]] = []
    with tempfile.TemporaryDirectory(prefix="containerkit-bench-") as scratch:
        for make in (example_app, big_files, small_files):
            context = make(Path(scratch))
            name = f"bench-{context.name}-{uuid.uuid4().hex[:6]}"
            spec = ImageSpec.create(name, context)
            tag = f"containerkit-bench/{name}:docker-py"
            state = MemoryState()
            first = medians(
                partial(docker_py_build, client, context, tag, nocache=True),
                partial(plugin_build, engine, spec, state, BuildOptions(rebuild=True, no_cache=True)),
                repeat,
            )
            rows.append((context.name, "first build (no engine cache)", *first))
            unchanged = medians(
                partial(docker_py_build, client, context, tag, nocache=False),
                partial(plugin_build, engine, spec, state, BuildOptions()),
                repeat,
            )
            rows.append((context.name, "unchanged", *unchanged))
            for image in client.images.list(filters={"label": BENCH_LABEL}):
                client.images.remove(image.id, force=True)
    report(rows, repeat)


def report(rows: list[tuple[str, str, float, float]], repeat: int) -> None:
    publish(
        [
            f"## build cache, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC",
            "",
            f"`.venv/bin/python benchmarks/build_cache.py --repeat {repeat}`; {machine()}. "
            f"Medians of {repeat} runs, in turns.",
            "",
            "| context | case | docker-py | plugin | ratio |",
            "| --- | --- | --- | --- | --- |",
            *(
                f"| {context} | {case} | {reference:.3f} s | {ours:.3f} s | {ours / reference:.3f}x |"
                for context, case, reference, ours in rows
            ),
        ]
    )


if __name__ == "__main__":
    main()
