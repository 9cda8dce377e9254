"""Dockerfile parsing and the tutorial's lint hints, without an engine."""

from __future__ import annotations

from pytest_containerkit.dockerfile import Dockerfile

TUTORIAL_ORDER = """\
FROM python:3.11-slim
WORKDIR /app
COPY requirements.txt ./
RUN pip install -r requirements.txt
COPY . .
CMD ["python3", "server.py"]
"""


def test_instructions_with_continuations_comments_and_lines() -> None:
    parsed = Dockerfile.parse("# syntax comment\nFROM a\n\nRUN one \\\n  # inside\n  two\nrun  three\n")
    assert [(i.keyword, i.arguments, i.line) for i in parsed.instructions] == [
        ("FROM", "a", 2),
        ("RUN", "one two", 4),
        ("RUN", "three", 7),
    ]


def test_the_escape_directive_changes_the_continuation_character() -> None:
    parsed = Dockerfile.parse("# escape=`\nFROM a\nRUN dir c:\\ `\n  && echo\n")
    assert parsed.instructions[1].arguments == "dir c:\\ && echo"


def test_base_images_substitute_global_args_and_skip_stages_and_scratch() -> None:
    parsed = Dockerfile.parse(
        "ARG BASE=python\nARG TAG=3.11\nFROM ${BASE}:${TAG:-3} AS build\nFROM build\n"
        "FROM --platform=linux/amd64 busybox:$TAG AS tools\nFROM scratch\nCOPY --from=tools / /\n"
    )
    assert parsed.base_images({}) == ["python:3.11", "busybox:3.11"]
    assert parsed.base_images({"TAG": "3.12"}) == ["python:3.12", "busybox:3.12"]


def test_the_whole_context_copied_before_the_install_is_a_hint() -> None:
    parsed = Dockerfile.parse("FROM node:20\nWORKDIR /app\nCOPY . .\nRUN npm ci\nCMD node app.js\n")
    (hint,) = parsed.hints()
    assert hint.startswith("line 3: `COPY . .` copies the whole context before the dependency install")
    assert "`RUN npm ci` (line 4)" in hint


def test_the_tutorials_order_has_no_hint() -> None:
    assert Dockerfile.parse(TUTORIAL_ORDER).hints() == []


def test_a_copy_from_another_stage_is_not_the_context() -> None:
    parsed = Dockerfile.parse("FROM a AS b\nFROM c\nCOPY --from=b . .\nRUN pip install x\n")
    assert parsed.hints() == []


def test_add_of_plain_local_files_is_a_hint() -> None:
    (hint,) = Dockerfile.parse("FROM a\nADD --chown=1 requirements.txt ./\n").hints()
    assert hint.startswith(
        "line 2: `ADD --chown=1 requirements.txt ./` only copies local files; COPY says so"
    )


def test_add_of_an_archive_or_url_is_not_a_hint() -> None:
    parsed = Dockerfile.parse("FROM a\nADD rootfs.tar.gz /\nADD https://example.invalid/x.txt /x\n")
    assert parsed.hints() == []
