"""The build context without an engine: .dockerignore rules, the walk, hashes, hints, the CLI tool."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pytest_containerkit import context as context_module
from pytest_containerkit.__main__ import main
from pytest_containerkit.context import (
    BuildContext,
    DockerIgnore,
    Pattern,
    StatCache,
    context_hints,
    go_clean,
    hash_lines,
)
from pytest_containerkit.errors import BuildContextError


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("*.txt", "a.txt", True),
        ("*.txt", "dir/a.txt", False),
        ("a?.txt", "ab.txt", True),
        ("a?.txt", "a/.txt", False),
        ("[ab].txt", "b.txt", True),
        ("[^a].txt", "a.txt", False),
        ("[^a].txt", "c.txt", True),
        ("[!a].txt", "!.txt", True),
        ("[!a].txt", "c.txt", False),
        ("**/*.md", "README.md", True),
        ("**/*.md", "docs/deep/x.md", True),
        ("src/**/*.bin", "src/x.bin", True),
        ("src/**/*.bin", "src/a/b/x.bin", True),
        ("node_modules/**", "node_modules/a/b", True),
        ("**", "anything/at/all", True),
        ("weird\\[1\\].txt", "weird[1].txt", True),
        ("star\\*.txt", "starX.txt", False),
        ("a.b", "axb", False),
        ("(x)", "(x)", True),
    ],
)
def test_patterns_match_like_the_cli(pattern: str, path: str, matches: bool) -> None:
    assert Pattern.compile(pattern).matches(path) is matches


def test_patterns_are_read_with_comments_whitespace_and_exceptions() -> None:
    ignore = DockerIgnore.parse(
        "\ufeff# comment\n\n  /build/  \n./logs\n! logs/keep.log\n#!not an exception\n"
    )
    assert [(p.text, p.exclusion) for p in ignore.patterns] == [
        ("build", False),
        ("logs", False),
        ("logs/keep.log", True),
    ]
    assert ignore.excludes("build/out.o")
    assert ignore.excludes("logs/app.log")
    assert not ignore.excludes("logs/keep.log")
    assert ignore.may_hold_exceptions("logs")
    assert not ignore.may_hold_exceptions("build")


def test_the_last_matching_pattern_wins() -> None:
    assert not DockerIgnore.parse("*.txt\n!a.txt\n").excludes("a.txt")
    assert DockerIgnore.parse("!a.txt\n*.txt\n").excludes("a.txt")


def test_a_lone_bang_is_an_error() -> None:
    with pytest.raises(BuildContextError, match='illegal exclusion pattern: "!"'):
        DockerIgnore.parse("!\n")


def test_go_clean() -> None:
    assert [go_clean(p) for p in ["", "./a/", "//a//b/../c", "a/./b"]] == [".", "a", "/a/c", "a/b"]


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_the_walk_sends_build_files_even_when_ignored(tmp_path: Path) -> None:
    write(tmp_path, {"Dockerfile": "FROM x", ".dockerignore": "*\n!src\n", "src/app.py": "", "notes.txt": ""})
    (tmp_path / "empty").mkdir()
    scanned = BuildContext.scan(tmp_path)
    assert [(e.kind, e.path) for e in scanned.entries] == [
        ("file", ".dockerignore"),
        ("file", "Dockerfile"),
        ("dir", "src"),
        ("file", "src/app.py"),
    ]


def test_symlinks_are_sent_as_links(tmp_path: Path) -> None:
    write(tmp_path, {"Dockerfile": "FROM x", "target.txt": "t"})
    os.symlink("target.txt", tmp_path / "link")
    scanned = BuildContext.scan(tmp_path)
    assert scanned.hashes()["link"] == "target.txt"


def digest_of(root: Path) -> str:
    scanned = BuildContext.scan(root)
    return hash_lines(scanned.manifest(scanned.hashes()))


def test_the_digest_follows_contents_and_modes_not_times(tmp_path: Path) -> None:
    write(tmp_path, {"Dockerfile": "FROM x", "run.sh": "echo"})
    first = digest_of(tmp_path)
    os.utime(tmp_path / "run.sh", (1, 1))
    assert digest_of(tmp_path) == first
    (tmp_path / "run.sh").chmod(0o755)
    moded = digest_of(tmp_path)
    assert moded != first
    (tmp_path / "run.sh").write_text("echo!")
    assert digest_of(tmp_path) not in (first, moded)


def test_the_stat_cache_reads_an_unchanged_file_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, {"Dockerfile": "FROM x", "a.txt": "a"})
    old = 1_000_000_000
    for name in ("Dockerfile", "a.txt"):
        os.utime(tmp_path / name, ns=(old, old))
    reads: list[Path] = []
    real = context_module._file_sha256

    def counting_sha256(path: Path) -> str:
        reads.append(path)
        return real(path)

    monkeypatch.setattr(context_module, "_file_sha256", counting_sha256)
    cache = StatCache()
    first = BuildContext.scan(tmp_path).hashes(cache)
    assert len(reads) == 2
    assert cache.changed
    again = StatCache(cache.entries)
    assert BuildContext.scan(tmp_path).hashes(again) == first
    assert len(reads) == 2
    assert not again.changed


def test_a_file_changed_within_the_timestamp_granularity_is_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, {"Dockerfile": "FROM x", "a.txt": "one"})
    cache = StatCache()
    BuildContext.scan(tmp_path).hashes(cache)
    assert "a.txt" not in cache.entries, "a file modified just now is not trusted to the cache"
    stat = (tmp_path / "a.txt").stat()
    (tmp_path / "a.txt").write_text("two")
    os.utime(tmp_path / "a.txt", ns=(stat.st_atime_ns, stat.st_mtime_ns))
    hashes = BuildContext.scan(tmp_path).hashes(cache)
    assert hashes["a.txt"] == context_module._file_sha256(tmp_path / "a.txt")


def test_removed_files_leave_the_stat_cache(tmp_path: Path) -> None:
    cache = StatCache({"gone.txt": [1, 1, 1, "x"]})
    write(tmp_path, {"Dockerfile": "FROM x"})
    BuildContext.scan(tmp_path).hashes(cache)
    assert "gone.txt" not in cache.entries


def test_a_large_context_names_its_largest_directories(tmp_path: Path) -> None:
    write(tmp_path, {"Dockerfile": "FROM x", "src/app.py": "x"})
    (tmp_path / "data").mkdir()
    with (tmp_path / "data" / "blob.bin").open("wb") as blob:
        blob.truncate(60_000_000)
    (hint,) = context_hints(BuildContext.scan(tmp_path))
    assert "the context is 60 MB (over 52 MB)" in hint
    assert "largest directories: data/ 60 MB, src/ 0 MB" in hint
    assert "add to .dockerignore: data, src" in hint


def test_a_small_clean_context_has_no_hints(tmp_path: Path) -> None:
    write(tmp_path, {"Dockerfile": "FROM x", "src/app.py": "x", "environment.txt": "", "pem.txt": ""})
    assert context_hints(BuildContext.scan(tmp_path)) == []


def test_files_that_look_like_secrets_are_named(tmp_path: Path) -> None:
    write(
        tmp_path,
        {"Dockerfile": "FROM x", ".env": "", "conf/.env.prod": "", "certs/server.pem": "", "id_rsa.pub": ""},
    )
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("ref")
    (hint,) = context_hints(BuildContext.scan(tmp_path))
    assert hint.startswith(
        "files that look like secrets enter the context: .env, .git/, certs/server.pem (+2 more)"
    )
    write(tmp_path, {".dockerignore": ".env\n**/.env.*\n*.pem\n**/*.pem\nid_rsa*\n.git\n"})
    assert context_hints(BuildContext.scan(tmp_path)) == []


def test_the_context_command_lists_files_sizes_total_and_digest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        tmp_path,
        {"Dockerfile": "FROM x\n", ".dockerignore": "*.log\n", "b.py": "bb", "a/c.py": "c", "x.log": ""},
    )
    assert main(["context", str(tmp_path), "--files"]) == 0
    assert capsys.readouterr().out.splitlines() == [".dockerignore", "Dockerfile", "a/c.py", "b.py"]
    assert main(["context", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-2] == "4 files, 16 bytes"
    assert out[-1] == f"digest of the context: {digest_of(tmp_path)}"
    assert "2  b.py" in out


def test_the_context_command_names_a_missing_directory(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["context", "/no/such/dir"]) == 2
    assert "/no/such/dir is not a directory" in capsys.readouterr().err
