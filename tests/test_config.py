"""Option and argument parsing: pure logic, no engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_containerkit import BuildContextError, ImageSpec, container_options, http_ok
from pytest_containerkit.config import parse_images, positive_int, positive_seconds
from pytest_containerkit.container import port_key


def test_images_are_read_one_a_line_with_an_optional_dockerfile() -> None:
    images = parse_images(["", "# a comment", "api = services/api", "web=web : docker/Dockerfile.dev"])
    assert images == {
        "api": ImageSpec("api", Path("services/api")),
        "web": ImageSpec("web", Path("web"), dockerfile="docker/Dockerfile.dev"),
    }


@pytest.mark.parametrize(
    ("line", "complaint"),
    [("just-a-path", "cannot read 'just-a-path'"), ("= nameless", "cannot read '= nameless'")],
)
def test_unreadable_image_lines_say_what_to_write(line: str, complaint: str) -> None:
    with pytest.raises(pytest.UsageError, match=f"{complaint}.*NAME = CONTEXT_DIR"):
        parse_images([line])


def test_an_image_registered_twice_is_an_error() -> None:
    with pytest.raises(pytest.UsageError, match="'api' is registered twice"):
        parse_images(["api = a", "api = b"])


def test_context_paths_resolve_against_the_rootdir(tmp_path: Path) -> None:
    assert ImageSpec.create("x", Path("ctx")).at(tmp_path).context == tmp_path / "ctx"


def test_container_options_keep_what_they_are_given() -> None:
    probe = http_ok("/health")
    options = container_options(
        "img", ports=[8000, "53/udp"], env={"A": "1"}, command=["run", "it"], ready=probe
    )
    assert options.ports == (8000, "53/udp")
    assert options.env == {"A": "1"}
    assert options.command == ("run", "it")
    assert options.ready is probe
    assert options.init is True


@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        ({"image": 3}, "image must be a build"),
        ({"image": ""}, "image must be a build"),
        ({"image": "x", "ports": 8000}, "ports must be a list"),
        ({"image": "x", "ports": [70000]}, "ports must be a list"),
        ({"image": "x", "ports": ["8000/http"]}, "ports must be a list"),
        ({"image": "x", "ports": [True]}, "ports must be a list"),
        ({"image": "x", "env": {"A": 1}}, "env must be a dict"),
        ({"image": "x", "env": ["A=1"]}, "env must be a dict"),
        ({"image": "x", "command": 5}, "command must be"),
        ({"image": "x", "command": ["a", 5]}, "command must be"),
        ({"image": "x", "ready": "/health"}, "ready must be a probe"),
        ({"image": "x", "init": "yes"}, "init must be True or False"),
        ({"image": "x", "ready_timeout": -1}, "ready_timeout must be a number of seconds above 0"),
    ],
)
def test_bad_container_options_name_the_argument(arguments: dict[str, object], complaint: str) -> None:
    with pytest.raises(pytest.UsageError, match=complaint):
        container_options(**arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize(("value", "expected"), [("2.5", 2.5), (3, 3.0)])
def test_positive_seconds(value: object, expected: float) -> None:
    assert positive_seconds(value, "t") == expected


@pytest.mark.parametrize("value", ["0", "-1", "soon", None, True])
def test_bad_seconds_are_rejected(value: object) -> None:
    with pytest.raises(pytest.UsageError, match="t must be a number of seconds above 0"):
        positive_seconds(value, "t")


def test_positive_int() -> None:
    assert positive_int("12", "n") == 12
    with pytest.raises(pytest.UsageError, match="n must be a whole number above 0, not 'x'"):
        positive_int("x", "n")


@pytest.mark.parametrize(("port", "key"), [(8000, "8000/tcp"), ("8000", "8000/tcp"), ("53/udp", "53/udp")])
def test_port_keys(port: int | str, key: str) -> None:
    assert port_key(port) == key


def test_a_dockerfile_outside_the_context_is_refused(tmp_path: Path) -> None:
    (tmp_path / "context").mkdir()
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    spec = ImageSpec.create("app", tmp_path / "context", dockerfile="../Dockerfile")
    with pytest.raises(BuildContextError, match=r"is outside the build context .*context; give dockerfile="):
        spec.check_paths()
