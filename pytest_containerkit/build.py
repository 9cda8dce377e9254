"""Images from Dockerfiles: what to build (`ImageSpec`) and the session's builder."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .engine import Engine, engine_errors
from .errors import BuildContextError, BuildFailed

Progress = Callable[[str], None]


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


@dataclass
class Builder:
    """Builds each `ImageSpec` at most once per session, labelling what it creates."""

    engine: Engine
    labels: Mapping[str, str]
    progress: Progress = field(default=lambda line: None)
    _images: dict[ImageSpec, Image] = field(default_factory=dict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def image(self, spec: ImageSpec) -> Image:
        """The image built from *spec*, building it on first use."""
        with self._lock:
            if spec not in self._images:
                self._images[spec] = self._build(spec)
            return self._images[spec]

    def _build(self, spec: ImageSpec) -> Image:
        spec.check_paths()
        tag = f"{spec.repository}:latest"
        self.progress(f"building image {spec.name} from {spec.dockerfile_path}")
        build_log: list[str] = []
        image_id = None
        with engine_errors(f"building image {spec.name!r}"):
            stream = self.engine.api.build(
                path=str(spec.context),
                dockerfile=spec.dockerfile,
                buildargs=dict(spec.buildargs),
                target=spec.target,
                labels={**self.labels, "pytest-containerkit.image": spec.name},
                tag=tag,
                rm=True,
                forcerm=True,
                decode=True,
            )
            for chunk in stream:
                image_id = self._follow(spec, chunk, build_log) or image_id
        if image_id is None:
            raise BuildFailed(f"building image {spec.name!r} gave no image", build_log)
        return Image(name=spec.name, id=image_id, tags=(tag,))

    def _follow(self, spec: ImageSpec, chunk: dict[str, Any], build_log: list[str]) -> str | None:
        if "error" in chunk:
            build_log.append(str(chunk["error"]))
            raise BuildFailed(f"building image {spec.name!r} failed: {chunk['error']}", build_log)
        if "stream" in chunk:
            build_log.append(str(chunk["stream"]))
            self.progress(str(chunk["stream"]).rstrip())
        aux = chunk.get("aux") or {}
        return str(aux["ID"]) if "ID" in aux else None
