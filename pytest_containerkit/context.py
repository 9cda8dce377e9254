"""The build context exactly as the docker CLI sends it, and its fingerprint.

docker-py's ``exclude_paths`` gets some .dockerignore rules wrong (character classes, escapes, and
excluded directories holding exceptions), so the plugin reads .dockerignore with the rules of the
docker CLI (moby's patternmatcher and archive walk) and builds the context archive itself: what is
hashed is exactly what is sent.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import tarfile
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal

from .errors import BuildContextError

IGNORE_FILE = ".dockerignore"
_REGEX_SPECIALS = frozenset(".+()|{}$")
# Files whose mtime is this close to "now" may still change within the filesystem's timestamp
# granularity without their (size, mtime, inode) changing, so their hash is not cached.
_RACY_NS = 2_000_000_000
_CHUNK = 1 << 20
# Large files are hashed in threads (hashlib lets go of the GIL); small ones cost less inline.
_READERS = 4
_LARGE_FILE = 256 * 1024
LARGE_CONTEXT = 50 * 1024 * 1024
SECRET = re.compile(r"(^|/)(\.env(\.[^/]*)?|[^/]*\.pem|id_rsa[^/]*|\.git)(/|$)")

MatchKind = Literal["exact", "prefix", "suffix", "regex"]
EntryKind = Literal["dir", "file", "symlink"]


def go_clean(path: str) -> str:
    """Go's ``filepath.Clean`` for slash-separated paths (unlike normpath, ``//a`` becomes ``/a``)."""
    cleaned = os.path.normpath(path) if path else "."
    return "/" + cleaned.lstrip("/") if cleaned.startswith("//") else cleaned


@dataclass(frozen=True)
class Pattern:
    """One .dockerignore line, compiled the way moby's patternmatcher compiles it."""

    text: str
    exclusion: bool
    kind: MatchKind
    regex: re.Pattern[str] | None = None

    @classmethod
    def compile(cls, line: str) -> Pattern:
        text = go_clean(line.strip())
        exclusion = text.startswith("!")
        if exclusion:
            if text == "!":
                raise BuildContextError('.dockerignore: illegal exclusion pattern: "!"')
            text = text[1:]
        kind, source = _translate(text)
        if kind != "regex":
            return cls(text, exclusion, kind)
        try:
            return cls(text, exclusion, kind, re.compile(source + r"\Z"))
        except re.error as error:
            raise BuildContextError(f".dockerignore: bad pattern {line.strip()!r}: {error}") from None

    def matches(self, path: str) -> bool:
        if self.kind == "exact":
            return path == self.text
        if self.kind == "prefix":
            return path.startswith(self.text[:-2])
        if self.kind == "suffix":
            suffix = self.text[2:]
            return path.endswith(suffix) or (suffix.startswith("/") and path == suffix[1:])
        assert self.regex is not None
        return self.regex.match(path) is not None


def _translate(pattern: str) -> tuple[MatchKind, str]:
    """The match kind and regular expression of a cleaned pattern (patternmatcher's ``compile``)."""
    source = "^"
    kind: MatchKind = "exact"
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "*" and pattern[i + 1 : i + 2] == "*":
            start = i
            i += 2
            if pattern[i : i + 1] == "/":
                i += 1
            if i == len(pattern):
                if kind == "exact":
                    kind = "prefix"
                else:
                    source += ".*"
                    kind = "regex"
            else:
                source += "(.*/)?"
                kind = "regex"
            if start == 0:
                kind = "suffix"
            continue
        if char == "*":
            source += "[^/]*"
            kind = "regex"
        elif char == "?":
            source += "[^/]"
            kind = "regex"
        elif char in _REGEX_SPECIALS:
            source += "\\" + char
        elif char == "\\":
            if i + 1 < len(pattern):
                i += 1
                source += "\\" + pattern[i]
                kind = "regex"
            else:
                source += "\\\\"
        elif char in "[]":
            source += char
            kind = "regex"
        else:
            source += char
        i += 1
    return kind, source


class DockerIgnore:
    """The patterns of a .dockerignore file, applied in order: the last one that matches wins."""

    def __init__(self, patterns: Iterable[Pattern]) -> None:
        self.patterns = list(patterns)
        self.has_exceptions = any(p.exclusion for p in self.patterns)

    @classmethod
    def parse(cls, text: str) -> DockerIgnore:
        """Read .dockerignore text as the docker CLI does (comments, blank lines, ``!``, leading ``/``)."""
        lines = []
        for raw in text.removeprefix("\ufeff").splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            exception = line.startswith("!")
            line = line[1:].strip() if exception else line
            line = go_clean(line) if line else line
            if len(line) > 1 and line.startswith("/"):
                line = line[1:]
            lines.append(("!" if exception else "") + line)
        return cls(Pattern.compile(line) for line in lines)

    @classmethod
    def read(cls, context: Path, dockerfile: str) -> DockerIgnore:
        """The context's .dockerignore, with the Dockerfile and .dockerignore sent even if ignored."""
        ignore_file = context / IGNORE_FILE
        ignore = cls.parse(ignore_file.read_text(errors="replace")) if ignore_file.is_file() else cls([])
        for build_file in (IGNORE_FILE, Path(dockerfile).as_posix()):
            if ignore.excludes(build_file):
                ignore = cls([*ignore.patterns, Pattern.compile("!" + build_file)])
        return ignore

    def match(self, path: str, parent: list[bool] | None) -> tuple[bool, list[bool]]:
        """Whether *path* is excluded, and which patterns matched it or a parent directory.

        *parent* is what this returned for the path's directory (None at the top), as in
        patternmatcher's ``MatchesUsingParentResults``.
        """
        excluded = False
        matched = [False] * len(self.patterns)
        for index, pattern in enumerate(self.patterns):
            hit = parent[index] if parent else False
            if not hit:
                if pattern.exclusion != excluded:
                    continue
                hit = pattern.matches(path) or (parent is None and _any_parent_matches(pattern, path))
            matched[index] = hit
            if hit:
                excluded = not pattern.exclusion
        return excluded, matched

    def excludes(self, path: str) -> bool:
        return self.match(go_clean(path), None)[0]

    def may_hold_exceptions(self, directory: str) -> bool:
        """Whether an excluded *directory* must still be walked: an exception names a path in it."""
        prefix = directory + "/"
        return any(p.exclusion and (p.text + "/").startswith(prefix) for p in self.patterns)


def _any_parent_matches(pattern: Pattern, path: str) -> bool:
    parts = path.split("/")[:-1]
    return any(pattern.matches("/".join(parts[: i + 1])) for i in range(len(parts)))


@dataclass(frozen=True)
class Entry:
    """One file, directory or symbolic link of the context, as it goes into the archive."""

    path: str
    kind: EntryKind
    mode: int
    size: int
    mtime_ns: int
    inode: int
    link: str = ""


@dataclass
class StatCache:
    """Content hashes keyed by path and (size, mtime_ns, inode), so unchanged files are not read."""

    entries: dict[str, list[int | str]] = field(default_factory=dict)
    changed: bool = False

    def lookup(self, entry: Entry) -> str | None:
        known = self.entries.get(entry.path)
        if known is not None and known[:3] == [entry.size, entry.mtime_ns, entry.inode]:
            return str(known[3])
        return None

    def store(self, entry: Entry, digest: str, now_ns: int) -> None:
        if now_ns - entry.mtime_ns > _RACY_NS:
            self.entries[entry.path] = [entry.size, entry.mtime_ns, entry.inode, digest]
            self.changed = True

    def forget_missing(self, present: set[str]) -> None:
        for path in set(self.entries) - present:
            del self.entries[path]
            self.changed = True


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class BuildContext:
    """The entries of a context directory that a build sends, in the CLI's order."""

    root: Path
    entries: list[Entry]

    @classmethod
    def scan(cls, root: Path, dockerfile: str = "Dockerfile") -> BuildContext:
        return cls(root, list(_walk(root, DockerIgnore.read(root, dockerfile))))

    @property
    def files(self) -> list[Entry]:
        return [entry for entry in self.entries if entry.kind != "dir"]

    @property
    def size(self) -> int:
        return sum(entry.size for entry in self.files)

    def hashes(self, cache: StatCache | None = None) -> dict[str, str]:
        """Each file's content hash (a link's target), by path, reading only what the cache lacks."""
        cache = cache if cache is not None else StatCache()
        now_ns = time.time_ns()
        hashes: dict[str, str | None] = {
            entry.path: entry.link if entry.kind == "symlink" else cache.lookup(entry) for entry in self.files
        }
        unread = [entry for entry in self.files if hashes[entry.path] is None]
        small = [entry for entry in unread if entry.size < _LARGE_FILE]
        large = [entry for entry in unread if entry.size >= _LARGE_FILE]
        with ThreadPoolExecutor(max_workers=_READERS) as pool:
            in_threads = pool.map(_file_sha256, [self.root / entry.path for entry in large])
            digests = [_file_sha256(self.root / entry.path) for entry in small] + list(in_threads)
        for entry, digest in zip(small + large, digests, strict=True):
            hashes[entry.path] = digest
            cache.store(entry, digest, now_ns)
        cache.forget_missing(set(hashes))
        return {path: digest or "" for path, digest in hashes.items()}

    def manifest(self, hashes: Mapping[str, str]) -> Iterator[str]:
        """One line per entry naming its path, kind, mode and content: the context's part of a digest."""
        for entry in self.entries:
            yield f"{entry.kind} {entry.path} {entry.mode:o} {hashes.get(entry.path, '')}"

    def write_tar(self, stream: IO[bytes]) -> None:
        """Write the context as the tar archive the engine receives (owner root, like the CLI)."""
        with tarfile.open(fileobj=stream, mode="w", format=tarfile.PAX_FORMAT) as archive:
            for entry in self.entries:
                info = tarfile.TarInfo(entry.path)
                info.mode = entry.mode
                info.mtime = entry.mtime_ns // 1_000_000_000
                if entry.kind == "dir":
                    info.type = tarfile.DIRTYPE
                    archive.addfile(info)
                elif entry.kind == "symlink":
                    info.type = tarfile.SYMTYPE
                    info.linkname = entry.link
                    archive.addfile(info)
                else:
                    info.size = entry.size
                    with (self.root / entry.path).open("rb") as content:
                        archive.addfile(info, content)


def _walk(root: Path, ignore: DockerIgnore) -> Iterator[Entry]:
    if not root.is_dir():
        raise BuildContextError(f"the build context {root} is not a directory")
    yield from _walk_directory(root, "", ignore, None)


def _walk_directory(
    root: Path, prefix: str, ignore: DockerIgnore, parent: list[bool] | None
) -> Iterator[Entry]:
    with os.scandir(root / prefix if prefix else root) as scan:
        children = sorted(scan, key=lambda child: child.name)
    for child in children:
        path = prefix + child.name
        excluded, matched = ignore.match(path, parent)
        info = child.stat(follow_symlinks=False)
        if stat.S_ISDIR(info.st_mode):
            if excluded and not (ignore.has_exceptions and ignore.may_hold_exceptions(path)):
                continue
            if not excluded:
                yield _entry(path, "dir", info)
            yield from _walk_directory(root, path + "/", ignore, matched)
        elif excluded:
            continue
        elif stat.S_ISLNK(info.st_mode):
            yield _entry(path, "symlink", info, os.readlink(child.path))
        elif stat.S_ISREG(info.st_mode):
            yield _entry(path, "file", info)


def _entry(path: str, kind: EntryKind, info: os.stat_result, link: str = "") -> Entry:
    size = info.st_size if kind == "file" else 0
    return Entry(path, kind, stat.S_IMODE(info.st_mode), size, info.st_mtime_ns, info.st_ino, link)


def hash_lines(lines: Iterable[str]) -> str:
    digest = hashlib.sha256()
    for line in lines:
        digest.update(line.encode("utf-8", "surrogateescape") + b"\n")
    return digest.hexdigest()


def context_hints(context: BuildContext, shown: int = 3) -> list[str]:
    """Hints about what enters the context: a large total, and files that look like secrets."""
    hints = []
    if context.size > LARGE_CONTEXT:
        by_directory: Counter[str] = Counter()
        for entry in context.files:
            if "/" in entry.path:
                by_directory[entry.path.split("/")[0]] += entry.size
        largest = by_directory.most_common(shown)
        listed = ", ".join(f"{name}/ {_megabytes(size)}" for name, size in largest)
        suggestion = "; if the image does not need them, add to .dockerignore: " + ", ".join(
            name for name, _ in largest
        )
        hints.append(
            f"the context is {_megabytes(context.size)} (over {_megabytes(LARGE_CONTEXT)}), sent on every "
            f"build; largest directories: {listed or 'none'}{suggestion if largest else ''}"
        )
    secrets = sorted({name for entry in context.entries if (name := _secret_name(entry.path))})
    if secrets:
        more = f" (+{len(secrets) - shown} more)" if len(secrets) > shown else ""
        hints.append(
            f"files that look like secrets enter the context: {', '.join(secrets[:shown])}{more}; "
            "add them to .dockerignore unless the image needs them"
        )
    return hints


def _secret_name(path: str) -> str | None:
    match = SECRET.search(path)
    if match is None:
        return None
    name = path[: match.end(2)]
    return name + "/" if match[2] == ".git" else name


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.0f} MB"
