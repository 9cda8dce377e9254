"""Dockerfile parsing (instructions, stages, FROM with ARG substitution) and lint hints."""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass

ESCAPE_DIRECTIVE = re.compile(r"^#\s*escape\s*=\s*(?P<char>[\\`])\s*$", re.IGNORECASE)
VARIABLE = re.compile(r"\$(?:\{(?P<braced>\w+)(?::-(?P<default>[^}]*))?\}|(?P<plain>\w+))")
INSTALL = re.compile(
    r"\b(pip3?\s+install|python3?\s+-m\s+pip\s+install|npm\s+(install|ci)|yarn(\s+install)?\b|"
    r"pnpm\s+install|poetry\s+install|pipenv\s+install|bundle\s+install|composer\s+install|"
    r"go\s+mod\s+download|cargo\s+fetch|mvn\b|gradle\b|apt-get\s+install|apk\s+add)"
)
ARCHIVE = re.compile(r"\.(tar|tar\.gz|tgz|tar\.bz2|tbz2?|tar\.xz|txz|tar\.zst)$", re.IGNORECASE)
REMOTE = re.compile(r"^(https?://|git@|git://)")


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction: its keyword (upper case), its arguments and its first line."""

    keyword: str
    arguments: str
    line: int

    def __str__(self) -> str:
        return f"{self.keyword} {self.arguments}"

    @property
    def sources(self) -> list[str]:
        """The source paths of a COPY or ADD (flags and destination left out)."""
        words = _words(self.arguments)
        return [word for word in words[:-1] if not word.startswith("--")]


@dataclass(frozen=True)
class Dockerfile:
    instructions: tuple[Instruction, ...]

    @classmethod
    def parse(cls, text: str) -> Dockerfile:
        lines = text.splitlines()
        escape = "\\"
        if lines and (directive := ESCAPE_DIRECTIVE.match(lines[0].strip())):
            escape = directive["char"]
        instructions: list[Instruction] = []
        pending: list[str] = []
        start = 0
        for number, raw in enumerate(lines, start=1):
            stripped = raw.strip()
            if not pending and (not stripped or stripped.startswith("#")):
                continue
            if pending and stripped.startswith("#"):
                continue
            if not pending:
                start = number
            if stripped.endswith(escape):
                pending.append(stripped[:-1].strip())
                continue
            pending.append(stripped)
            keyword, _, arguments = " ".join(pending).strip().partition(" ")
            instructions.append(Instruction(keyword.upper(), arguments.strip(), start))
            pending = []
        return cls(tuple(instructions))

    @property
    def steps(self) -> int:
        return len(self.instructions)

    def base_images(self, buildargs: Mapping[str, str]) -> list[str]:
        """The images the FROM lines name, with global ARGs substituted; stages and scratch left out."""
        arguments: dict[str, str] = {}
        stages: set[str] = set()
        bases: list[str] = []
        seen_from = False
        for instruction in self.instructions:
            if instruction.keyword == "ARG" and not seen_from:
                name, _, default = instruction.arguments.partition("=")
                arguments[name.strip()] = buildargs.get(name.strip(), default.strip().strip("\"'"))
            elif instruction.keyword == "FROM":
                seen_from = True
                words = [word for word in instruction.arguments.split() if not word.startswith("--")]
                if not words:
                    continue
                image = _substitute(words[0], arguments)
                if len(words) >= 3 and words[1].lower() == "as":
                    stages.add(words[2].lower())
                if image.lower() not in stages and image.lower() != "scratch" and image not in bases:
                    bases.append(image)
        return bases

    def hints(self) -> list[str]:
        """What the tutorial teaches to avoid: the whole context copied before the dependency
        install (every source edit then re-runs it), and ADD where COPY would do."""
        hints = []
        whole_copy: Instruction | None = None
        for instruction in self.instructions:
            if instruction.keyword == "FROM":
                whole_copy = None
            elif instruction.keyword in ("COPY", "ADD") and _copies_whole_context(instruction):
                whole_copy = whole_copy or instruction
            elif instruction.keyword == "RUN" and whole_copy and INSTALL.search(instruction.arguments):
                hints.append(
                    f"line {whole_copy.line}: `{whole_copy}` copies the whole context before the dependency "
                    f"install `{instruction}` (line {instruction.line}), so every source edit re-runs the "
                    "install; copy the dependency manifest first, install, then copy the rest"
                )
                whole_copy = None
            if instruction.keyword == "ADD" and _plain_copy(instruction):
                hints.append(
                    f"line {instruction.line}: `{instruction}` only copies local files; COPY says so "
                    "(ADD also fetches URLs and unpacks archives)"
                )
        return hints


def _words(arguments: str) -> list[str]:
    if arguments.startswith("["):
        return [word.strip().strip('"') for word in arguments.strip("[]").split(",")]
    try:
        return shlex.split(arguments)
    except ValueError:
        return arguments.split()


def _copies_whole_context(instruction: Instruction) -> bool:
    is_from_stage = any(word.startswith("--from") for word in _words(instruction.arguments))
    return not is_from_stage and any(source in (".", "./", "*", "./*") for source in instruction.sources)


def _plain_copy(instruction: Instruction) -> bool:
    sources = instruction.sources
    return bool(sources) and not any(REMOTE.match(source) or ARCHIVE.search(source) for source in sources)


def _substitute(text: str, arguments: Mapping[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match["braced"] or match["plain"]
        return arguments.get(name) or match["default"] or ""

    return VARIABLE.sub(value, text)
