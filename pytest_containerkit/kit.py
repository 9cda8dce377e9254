"""One test session's engine, images and containers, usable without pytest."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

from .build import (
    LABEL,
    Builder,
    BuildOptions,
    BuildProgress,
    BuildReport,
    Image,
    ImageSpec,
    MemoryState,
    SilentProgress,
    StateStore,
)
from .container import Command, ContainerSpec, Port, launch
from .engine import Engine, engine_errors
from .errors import ContainerKitError, EngineUnavailable, UnknownImage
from .handle import ContainerHandle
from .ready import Probe
from .reaper import (
    OWNER_LABEL,
    PROJECT_LABEL,
    Owner,
    project_id,
    reap_leftovers,
    remove_labelled,
    start_watchdog,
)

SESSION_LABEL = "pytest-containerkit.session"
TEST_LABEL = "pytest-containerkit.test"

ImageSource = str | ImageSpec


@dataclass(frozen=True)
class ContainerOptions:
    """Everything a test file says about a container: which image, and how to run and await it."""

    image: ImageSource
    ports: tuple[Port, ...] = ()
    host_ports: Mapping[Port, int] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)
    command: Command = None
    ready: Probe | None = None
    init: bool = True
    ready_timeout: float | None = None


@dataclass(frozen=True)
class Startup:
    """How long a container took from creation until it was ready."""

    name: str
    test: str
    seconds: float


@dataclass
class Kit:
    """The session's door to containers: connects on first use, builds each image once, and
    removes every container it started when closed."""

    images: Mapping[str, ImageSpec]
    session_id: str
    rootdir: Path
    ready_timeout: float = 30.0
    publish_address: str | None = None
    log_lines: int = 50
    build_options: BuildOptions = field(default_factory=BuildOptions)
    state: StateStore = field(default_factory=MemoryState)
    build_progress: BuildProgress = field(default_factory=SilentProgress)
    _engine: Engine | None = field(default=None, init=False)
    _engine_error: EngineUnavailable | None = field(default=None, init=False)
    _builder: Builder | None = field(default=None, init=False)
    _handles: dict[str, ContainerHandle] = field(default_factory=dict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _owner: Owner = field(default_factory=Owner.this_process, init=False)
    _watchdog: subprocess.Popen[bytes] | None = field(default=None, init=False)
    kept: list[ContainerHandle] = field(default_factory=list, init=False)
    startups: list[Startup] = field(default_factory=list, init=False)
    _references: dict[str, str] = field(default_factory=dict, init=False)
    _spares: dict[tuple[int, str], Future[ContainerHandle]] = field(default_factory=dict, init=False)
    _background: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=2, thread_name_prefix="containerkit"),
        init=False,
    )

    @property
    def labels(self) -> dict[str, str]:
        """The labels of everything this session creates."""
        return {LABEL: "1", SESSION_LABEL: self.session_id}

    @property
    def container_labels(self) -> dict[str, str]:
        """The labels of this session's containers: also their project and owner process, so that
        a later run can tell what was left behind by a run that is gone."""
        project = project_id(self.rootdir)
        return {**self.labels, PROJECT_LABEL: project, OWNER_LABEL: self._owner.label}

    @property
    def engine(self) -> Engine:
        """The connected engine; a failure to connect is raised again, the same, on every use."""
        with self._lock:
            if self._engine is None:
                if self._engine_error is not None:
                    raise self._engine_error
                try:
                    engine = Engine.connect()
                except EngineUnavailable as error:
                    self._engine_error = error
                    raise
                reap_leftovers(engine, project_id(self.rootdir))
                self._engine = engine
            return self._engine

    @property
    def builder(self) -> Builder:
        engine = self.engine
        with self._lock:
            if self._builder is None:
                self._builder = Builder(
                    engine, self.labels, self.build_options, self.state, self.build_progress
                )
            return self._builder

    @property
    def build_reports(self) -> list[BuildReport]:
        return self._builder.reports if self._builder is not None else []

    def prepare(self, specs: Iterable[ImageSpec]) -> None:
        """Build the images of *specs* now, in parallel; failures reach the tests that need them."""
        self.builder.prepare(spec.at(self.rootdir) for spec in specs)

    def prune_images(self, keep: int) -> None:
        """Remove the older images built for the names used this session, keeping the newest *keep*."""
        if self._builder is not None:
            self._builder.prune(keep)

    def build(self, spec: ImageSpec) -> Image:
        """The image of *spec* (its context relative to the rootdir), built once per session."""
        return self.builder.image(spec.at(self.rootdir))

    def image_id(self, image: ImageSource) -> str:
        """The image to run for *image*: a spec or registered name (built once), or a local image
        (looked up once a session)."""
        if isinstance(image, str) and image in self.images:
            image = self.images[image]
        if isinstance(image, ImageSpec):
            return self.build(image).id
        if image not in self._references:
            found = self.engine.image_id(image)
            if found is None:
                raise UnknownImage(image, list(self.images))
            self._references[image] = found
        return self._references[image]

    def start(self, options: ContainerOptions, labels: Mapping[str, str] | None = None) -> ContainerHandle:
        """A ready container of *options*: the one started ahead for them if there is one (see
        `prestart`), else a new one. On failure nothing is left running."""
        with self._lock:
            spare = self._spares.pop(_spare_key(options, labels), None)
        if spare is not None:
            with suppress(ContainerKitError):
                return spare.result()
        return self._start(options, labels)

    def prestart(self, options: ContainerOptions, labels: Mapping[str, str] | None = None) -> None:
        """Start a container of *options* in the background, for the `start` of the same options
        and labels (the test label names the test it is meant for)."""
        with self._lock:
            if _spare_key(options, labels) not in self._spares:
                self._spares[_spare_key(options, labels)] = self._background.submit(
                    self._start, options, labels
                )

    def _start(self, options: ContainerOptions, labels: Mapping[str, str] | None) -> ContainerHandle:
        started = time.perf_counter()
        spec = ContainerSpec(
            image=self.image_id(options.image),
            ports=options.ports,
            host_ports=options.host_ports,
            publish_address=self.publish_address or self.engine.publish_address,
            env=options.env,
            command=options.command,
            init=options.init,
            labels={**self.container_labels, **(labels or {})},
        )
        engine = self.engine
        with self._lock:
            if self._watchdog is None:
                self._watchdog = start_watchdog(f"{SESSION_LABEL}={self.session_id}", self._owner)
        running = launch(engine, spec)
        handle = ContainerHandle(
            running,
            ready=options.ready,
            ready_timeout=options.ready_timeout or self.ready_timeout,
            log_lines=self.log_lines,
        )
        self._handles[handle.id] = handle
        try:
            handle.wait_ready()
        except BaseException:
            self.remove(handle)
            raise
        self.startups.append(
            Startup(handle.name, (labels or {}).get(TEST_LABEL, ""), time.perf_counter() - started)
        )
        return handle

    def remove(self, handle: ContainerHandle) -> None:
        self._handles.pop(handle.id, None)
        handle.remove()

    def release(self, handle: ContainerHandle) -> None:
        """Remove *handle*'s container in the background (all are gone once the kit is closed)."""
        self._handles.pop(handle.id, None)
        self._background.submit(handle.remove)

    def keep(self, handle: ContainerHandle) -> None:
        """Leave *handle*'s container running after the session, for a person to look into."""
        self._handles.pop(handle.id, None)
        self.kept.append(handle)

    def close(self) -> None:
        """Remove every container this session started, including any a handle no longer tracks,
        except those kept on purpose; then stop the watchdog."""
        self._background.shutdown(wait=True, cancel_futures=True)
        for handle in list(self._handles.values()):
            self.remove(handle)
        if self._engine is not None:
            labels = [f"{SESSION_LABEL}={self.session_id}", f"{OWNER_LABEL}={self._owner.label}"]
            with engine_errors("removing the session's containers"):
                remove_labelled(self._engine.client, labels, spare={handle.id for handle in self.kept})
            self._engine.close()
        if self._watchdog is not None:
            self._watchdog.kill()
            self._watchdog.wait()


def _spare_key(options: ContainerOptions, labels: Mapping[str, str] | None) -> tuple[int, str]:
    return id(options), (labels or {}).get(TEST_LABEL, "")
