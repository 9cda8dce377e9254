"""The cache-aware builder: an image whose inputs have not changed is not built again.

An image spec's inputs (the context as the CLI sends it, the Dockerfile, build args, target and
the IDs of its local base images) reduce to a digest. An image labelled with that digest is used
as it is, with no context upload and no daemon build; otherwise the engine builds it with its layer
cache, the builder records which steps came from that cache and why the build was needed, and
labels the result. One lock file per digest makes every xdist worker wait for one build.
"""

from __future__ import annotations

import hashlib
import io
import re
import tarfile
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, Protocol

import filelock

from .context import BuildContext, StatCache, context_hints, hash_lines
from .dockerfile import Dockerfile
from .engine import Engine, engine_errors
from .errors import BuildContextError, BuildFailed, ContainerKitError

LABEL = "pytest-containerkit"
DIGEST_LABEL = "pytest-containerkit.digest"
IMAGE_LABEL = "pytest-containerkit.image"
STEP = re.compile(r"^Step (?P<number>\d+)/(?P<total>\d+) : (?P<instruction>.*)$")
FILES_SHOWN = 3


class Secret(str):
    """A build arg value that never appears in logs, reports, labels or the plugin's cache."""

    def __repr__(self) -> str:
        return "Secret('***')"

    @property
    def fingerprint(self) -> str:
        return "secret:sha256:" + hashlib.sha256(self.encode()).hexdigest()


def secret(value: str) -> Secret:
    """Mark a build arg value as secret: ``build("app", buildargs={"TOKEN": secret(token)})``."""
    return Secret(value)


def shown(value: str) -> str:
    """A build arg value as it may be shown or stored: a secret's hash, anything else as it is."""
    return value.fingerprint if isinstance(value, Secret) else value


class StateStore(Protocol):
    """Where the builder keeps what it learned between runs (pytest's ``config.cache`` fits)."""

    def get(self, key: str, default: Any) -> Any: ...

    def set(self, key: str, value: Any) -> None: ...


class MemoryState(dict[str, Any]):
    """A `StateStore` that forgets everything when the process ends."""

    def set(self, key: str, value: Any) -> None:
        self[key] = value


class BuildProgress(Protocol):
    """What a builder tells while it works."""

    def status(self, name: str, text: str) -> None:
        """A one-line status of image *name*: building step k of n, cached, built."""

    def log(self, name: str, line: str) -> None:
        """A line of the engine's build output for image *name*."""


class SilentProgress:
    def status(self, name: str, text: str) -> None:
        pass

    def log(self, name: str, line: str) -> None:
        pass


@dataclass(frozen=True)
class ImageSpec:
    """What to build: a context directory, a Dockerfile inside it, build args and a target stage."""

    name: str
    context: Path
    dockerfile: str = "Dockerfile"
    buildargs: tuple[tuple[str, str], ...] = ()
    target: str | None = None

    @classmethod
    def create(
        cls,
        name: str,
        context: Path,
        *,
        dockerfile: str | None = None,
        buildargs: Mapping[str, str] | None = None,
        target: str | None = None,
    ) -> ImageSpec:
        return cls(
            name=name,
            context=context,
            dockerfile=dockerfile or "Dockerfile",
            buildargs=tuple(sorted((buildargs or {}).items())),
            target=target,
        )

    def at(self, rootdir: Path) -> ImageSpec:
        """This spec with its context directory taken relative to *rootdir*."""
        return replace(self, context=rootdir / self.context)

    @property
    def dockerfile_path(self) -> Path:
        return self.context / self.dockerfile

    @property
    def repository(self) -> str:
        return f"pytest-containerkit/{self.name.lower()}"

    def check_paths(self) -> None:
        """Raise `BuildContextError` unless the context directory and its Dockerfile exist."""
        if not self.context.is_dir():
            raise BuildContextError(
                f"image {self.name!r}: the build context {self.context} is not a directory; "
                "give a directory relative to the rootdir that holds the Dockerfile"
            )
        if not self.dockerfile_path.resolve().is_relative_to(self.context.resolve()):
            raise BuildContextError(
                f"image {self.name!r}: the Dockerfile {self.dockerfile_path} is outside the build context "
                f"{self.context}; give dockerfile= relative to the context directory, inside it"
            )
        if not self.dockerfile_path.is_file():
            raise BuildContextError(
                f"image {self.name!r}: no Dockerfile at {self.dockerfile_path}; "
                "give dockerfile= (or NAME = CONTEXT:DOCKERFILE) relative to the context directory"
            )


@dataclass(frozen=True)
class Image:
    """An image on the engine that containers can be started from."""

    name: str
    id: str
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Fingerprint:
    """An image spec's inputs as they are now, and their digest."""

    context: BuildContext
    dockerfile: Dockerfile
    files: dict[str, str]
    buildargs: dict[str, str]
    bases: dict[str, str | None]
    target: str | None
    digest: str

    def record(self) -> dict[str, Any]:
        return {
            "digest": self.digest,
            "files": self.files,
            "buildargs": {name: shown(value) for name, value in self.buildargs.items()},
            "bases": self.bases,
            "target": self.target,
        }

    def changes_since(self, earlier: Mapping[str, Any] | None) -> list[str]:
        """Why this differs from an *earlier* record: files, build args, base images, target."""
        if not earlier:
            return ["no earlier build of it is recorded here"]
        reasons = []
        before: dict[str, str] = earlier.get("files", {})
        for what, paths in (
            ("changed", [p for p in self.files if p in before and before[p] != self.files[p]]),
            ("added", [p for p in self.files if p not in before]),
            ("removed", [p for p in before if p not in self.files]),
        ):
            if paths:
                reasons.append(f"files {what}: {_first_few(sorted(paths))}")
        args_before: dict[str, str] = earlier.get("buildargs", {})
        args_now = {name: shown(value) for name, value in self.buildargs.items()}
        changed_args = sorted(k for k in {*args_now, *args_before} if args_now.get(k) != args_before.get(k))
        if changed_args:
            reasons.append(f"build args changed: {', '.join(changed_args)}")
        bases_before: dict[str, str | None] = earlier.get("bases", {})
        for base, image_id in self.bases.items():
            if base in bases_before and bases_before[base] != image_id:
                reasons.append(f"base image {base} changed")
        if earlier.get("target") != self.target:
            reasons.append(f"target changed to {self.target!r}")
        return reasons


@dataclass(frozen=True)
class BuildReport:
    """What happened to one image this session: reused, built (and how much came from cache), or given."""

    name: str
    image: Image
    status: Literal["cached", "built", "given"]
    seconds: float
    size: int
    digest: str = ""
    steps: int = 0
    cached_steps: int = 0
    first_miss: str | None = None
    reasons: tuple[str, ...] = ()
    hints: tuple[str, ...] = ()


@dataclass(frozen=True)
class BuildOptions:
    """How to build: ``rebuild`` ignores the digest skip, ``no_cache`` the engine's layer cache;
    ``images`` maps names to existing images used instead of building them."""

    rebuild: bool = False
    no_cache: bool = False
    timeout: float | None = None
    images: Mapping[str, str] = field(default_factory=dict)
    lock_dir: Path = field(default_factory=lambda: Path(tempfile.gettempdir()) / "pytest-containerkit-locks")


@dataclass
class Builder:
    """Builds each `ImageSpec` at most once per session (and per digest, across sessions and workers)."""

    engine: Engine
    labels: Mapping[str, str]
    options: BuildOptions = field(default_factory=BuildOptions)
    state: StateStore = field(default_factory=MemoryState)
    progress: BuildProgress = field(default_factory=SilentProgress)
    _reports: dict[ImageSpec, Future[BuildReport]] = field(default_factory=dict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    @property
    def reports(self) -> list[BuildReport]:
        """The images this session has built or reused, in the order they were first asked for."""
        done = [future for future in self._reports.values() if future.done() and not future.exception()]
        return [future.result() for future in done]

    def image(self, spec: ImageSpec) -> Image:
        """The image of *spec*: reused when its digest is on the engine, else built (once)."""
        return self.report(spec).image

    def report(self, spec: ImageSpec) -> BuildReport:
        with self._lock:
            future = self._reports.get(spec)
            owner = future is None
            if future is None:
                future = self._reports[spec] = Future()
        if owner:
            try:
                future.set_result(self._produce(spec))
            except BaseException as error:
                future.set_exception(error)
        return future.result()

    def prepare(self, specs: Iterable[ImageSpec], workers: int = 4) -> None:
        """Build *specs* in parallel now; a failure is raised later, to the tests that need it."""
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="containerkit-build") as pool:
            for future in [pool.submit(self.report, spec) for spec in set(specs)]:
                future.exception()

    def prune(self, keep: int) -> None:
        """Remove all but the newest *keep* images this plugin built for each image name used this
        session, never one used this session and never an image the plugin did not build."""
        used = {report.image.id for report in self.reports}
        for name in {report.name for report in self.reports if report.status != "given"}:
            with engine_errors(f"listing the images built for {name!r}"):
                images = self.engine.api.images(filters={"label": [f"{IMAGE_LABEL}={name}", DIGEST_LABEL]})
            newest_first = sorted(images, key=self._created, reverse=True)
            for old in newest_first[keep:]:
                if old["Id"] not in used:
                    self._remove_image(old)

    def _created(self, image: Mapping[str, Any]) -> str:
        """When *image* was created, to the nanosecond (image lists give whole seconds)."""
        with engine_errors("inspecting an image"):
            created = str(self.engine.api.inspect_image(image["Id"])["Created"])
        seconds, _, fraction = created.rstrip("Z").partition(".")
        return f"{seconds}.{fraction:0<9}"

    def _remove_image(self, image: Mapping[str, Any]) -> None:
        tags = [tag for tag in image.get("RepoTags") or [] if tag != "<none>:<none>"]
        for reference in tags or [image["Id"]]:
            try:
                with engine_errors(f"removing the old image {reference}"):
                    self.engine.api.remove_image(reference)
            except ContainerKitError:
                return

    def fingerprint(self, spec: ImageSpec) -> Fingerprint:
        """Read *spec*'s inputs (files through the stat cache) and reduce them to a digest."""
        spec.check_paths()
        context = BuildContext.scan(spec.context, spec.dockerfile)
        dockerfile = Dockerfile.parse(spec.dockerfile_path.read_text(errors="replace"))
        stat_key = f"containerkit/stat/{hashlib.sha256(str(spec.context).encode()).hexdigest()[:16]}"
        stat_cache = StatCache(self.state.get(stat_key, {}))
        files = context.hashes(stat_cache)
        if stat_cache.changed:
            self.state.set(stat_key, stat_cache.entries)
        buildargs = dict(spec.buildargs)
        bases = {base: self.engine.image_id(base) for base in dockerfile.base_images(buildargs)}
        digest = hash_lines(
            [
                *context.manifest(files),
                f"dockerfile {spec.dockerfile}",
                f"target {spec.target}",
                *(f"arg {name}={shown(value)}" for name, value in sorted(buildargs.items())),
                *(f"base {base} {image_id}" for base, image_id in bases.items()),
            ]
        )
        return Fingerprint(context, dockerfile, files, buildargs, bases, spec.target, digest)

    def _produce(self, spec: ImageSpec) -> BuildReport:
        started = time.perf_counter()
        given = self.options.images.get(spec.name)
        if given is not None:
            return self._given(spec, given, started)
        fingerprint = self.fingerprint(spec)
        record_key = f"containerkit/builds/{spec.name}"
        earlier = self.state.get(record_key, None)
        found = None if self.options.rebuild else self._labelled(fingerprint.digest)
        if found is None:
            self.options.lock_dir.mkdir(parents=True, exist_ok=True)
            with filelock.FileLock(self.options.lock_dir / f"{fingerprint.digest}.lock"):
                found = self._labelled(fingerprint.digest, by_this_session=self.options.rebuild)
                if found is None:
                    report = self._build(spec, fingerprint, earlier, started)
                    self.state.set(record_key, fingerprint.record())
                    return report
        if not earlier or earlier.get("digest") != fingerprint.digest:
            self.state.set(record_key, fingerprint.record())
        image_id, size = found
        self.progress.status(spec.name, "cached")
        image = Image(spec.name, image_id, (f"{spec.repository}:{fingerprint.digest[:12]}",))
        return BuildReport(
            spec.name, image, "cached", time.perf_counter() - started, size, fingerprint.digest
        )

    def _given(self, spec: ImageSpec, reference: str, started: float) -> BuildReport:
        image_id = self.engine.image_id(reference)
        if image_id is None:
            raise ContainerKitError(
                f"image {spec.name!r} was given as {reference!r} (--containerkit-image or "
                "CONTAINERKIT_IMAGES), but the engine has no such image; build or load it first"
            )
        self.progress.status(spec.name, f"given as {reference}")
        return BuildReport(
            spec.name, Image(spec.name, image_id, (reference,)), "given", time.perf_counter() - started, 0
        )

    def _labelled(self, digest: str, by_this_session: bool = False) -> tuple[str, int] | None:
        """An image built for *digest* (by this session only: a rebuild happens once a session,
        whichever xdist worker asks first)."""
        labels = [f"{DIGEST_LABEL}={digest}"]
        if by_this_session:
            labels += [f"{key}={value}" for key, value in self.labels.items()]
        with engine_errors("looking for a built image"):
            images = self.engine.api.images(filters={"label": labels})
        return (str(images[0]["Id"]), int(images[0].get("Size", 0))) if images else None

    def _build(
        self, spec: ImageSpec, fingerprint: Fingerprint, earlier: Mapping[str, Any] | None, started: float
    ) -> BuildReport:
        reasons = ["--containerkit-rebuild"] if self.options.rebuild else []
        reasons += fingerprint.changes_since(earlier) or ["the image built before is gone from the engine"]
        secrets = [value for value in fingerprint.buildargs.values() if isinstance(value, Secret)]
        steps = _StepLog(spec.name, self.progress, secrets)
        with tempfile.TemporaryFile() as archive:
            fingerprint.context.write_tar(archive)
            archive.seek(0)
            image_id = self._stream(
                spec,
                steps,
                started,
                fileobj=archive,
                custom_context=True,
                dockerfile=spec.dockerfile,
                buildargs=fingerprint.buildargs,
                target=spec.target,
                nocache=self.options.no_cache,
            )
        tag = f"{spec.repository}:{fingerprint.digest[:12]}"
        image_id = self._label(spec, image_id, fingerprint.digest, tag, started)
        with engine_errors(f"tagging image {spec.name!r}"):
            self.engine.api.tag(image_id, spec.repository, "latest")
            size = int(self.engine.api.inspect_image(image_id).get("Size", 0))
        seconds = time.perf_counter() - started
        self.progress.status(spec.name, f"built in {seconds:.1f} s")
        return BuildReport(
            spec.name,
            Image(spec.name, image_id, (tag, f"{spec.repository}:latest")),
            "built",
            seconds,
            size,
            fingerprint.digest,
            steps.total,
            steps.cached,
            steps.first_miss,
            tuple(reasons),
            tuple(fingerprint.dockerfile.hints() + context_hints(fingerprint.context)),
        )

    def _label(self, spec: ImageSpec, image_id: str, digest: str, tag: str, started: float) -> str:
        """Label the built image in one step (the build API's ``labels`` costs one step per label)."""
        labels = {**self.labels, IMAGE_LABEL: spec.name, DIGEST_LABEL: digest}
        line = "LABEL " + " ".join(f'"{key}"="{value}"' for key, value in sorted(labels.items()))
        archive = io.BytesIO()
        with tarfile.open(fileobj=archive, mode="w") as tar:
            content = f"FROM {image_id}\n{line}\n".encode()
            info = tarfile.TarInfo("Dockerfile")
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
        archive.seek(0)
        return self._stream(
            spec,
            _StepLog(spec.name, SilentProgress(), []),
            started,
            fileobj=archive,
            custom_context=True,
            tag=tag,
        )

    def _stream(self, spec: ImageSpec, steps: _StepLog, started: float, **build: Any) -> str:
        deadline = started + self.options.timeout if self.options.timeout else None
        build_log: list[str] = []
        image_id = None
        with engine_errors(f"building image {spec.name!r}"):
            for chunk in self.engine.api.build(
                rm=True, forcerm=True, decode=True, timeout=self.options.timeout, **build
            ):
                if "error" in chunk:
                    error = steps.redact(str(chunk["error"]))
                    build_log.append(error)
                    failing = f" at {steps.current}" if steps.current else ""
                    raise BuildFailed(f"building image {spec.name!r} failed{failing}: {error}", build_log)
                if "stream" in chunk:
                    text = steps.redact(str(chunk["stream"]))
                    build_log.append(text)
                    steps.feed(text)
                image_id = (chunk.get("aux") or {}).get("ID", image_id)
                if deadline is not None and time.perf_counter() > deadline:
                    raise BuildFailed(
                        f"building image {spec.name!r} took longer than {self.options.timeout:.0f} s "
                        "(--containerkit-build-timeout)",
                        build_log,
                    )
        if image_id is None:
            raise BuildFailed(f"building image {spec.name!r} gave no image", build_log)
        return str(image_id)


class _StepLog:
    """Follows the classic builder's output: which step runs, and which came from the layer cache."""

    def __init__(self, name: str, progress: BuildProgress, secrets: Sequence[str]) -> None:
        self.name = name
        self.progress = progress
        self.secrets = [value for value in secrets if value]
        self.current: str | None = None
        self.total = 0
        self.cached = 0
        self.first_miss: str | None = None
        self._current_cached = False

    def redact(self, text: str) -> str:
        for value in self.secrets:
            text = text.replace(value, "***")
        return text

    def feed(self, text: str) -> None:
        for line in text.splitlines():
            self.progress.log(self.name, line)
            step = STEP.match(line.strip())
            if step:
                self._close_step()
                self.current = f"step {step['number']}/{step['total']}: {step['instruction']}"
                self._current_cached = step["instruction"].upper().startswith("FROM ")
                self.total += 1
                self.progress.status(self.name, f"building step {step['number']} of {step['total']}")
            elif line.strip() == "---> Using cache":
                self._current_cached = True
            elif line.startswith("Successfully built"):
                self._close_step()

    def _close_step(self) -> None:
        if self.current is None:
            return
        if self._current_cached:
            self.cached += 1
        elif self.first_miss is None:
            self.first_miss = self.current
        self.current = None


def _first_few(paths: list[str]) -> str:
    more = f" (+{len(paths) - FILES_SHOWN} more)" if len(paths) > FILES_SHOWN else ""
    return ", ".join(paths[:FILES_SHOWN]) + more
