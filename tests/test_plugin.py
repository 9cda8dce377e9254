"""The plugin end to end: an inner pytest run (pytester) against the real engine."""

from __future__ import annotations

import json
import uuid
from typing import Any

import docker.errors
import pytest

from .conftest import register_images, web_context

pytestmark = pytest.mark.usefixtures("engine_left_clean")


def container_ids(pytester: pytest.Pytester) -> list[str]:
    return pytester.path.joinpath("ids.txt").read_text().split()


def assert_removed(docker_client: Any, ids: list[str]) -> None:
    assert ids
    for container_id in ids:
        with pytest.raises(docker.errors.NotFound):
            docker_client.containers.get(container_id)


RECORD_ID = """
def record(handle):
    with open("ids.txt", "a") as ids:
        ids.write(handle.id + "\\n")
"""


def test_fixture_declared_in_a_test_file(pytester: pytest.Pytester, docker_client: Any) -> None:
    web_context(pytester)
    pytester.makepyfile(
        RECORD_ID
        + """
from pytest_containerkit import build, container, http_ok

image = build("web")
web = container(image, ports=[8080], ready=http_ok("/"))

def test_page(web):
    record(web)
    assert web.http.get("/").text == "hello from web\\n"
    assert web.url("/x") == f"http://127.0.0.1:{web.port(8080)}/x"
    assert web.image == docker_image_id(web)

def docker_image_id(handle):
    import docker
    return docker.from_env().containers.get(handle.id).image.id
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert_removed(docker_client, container_ids(pytester))


def test_marker_builds_only_the_image_it_names(pytester: pytest.Pytester, docker_client: Any) -> None:
    chosen, other = f"chosen-{uuid.uuid4().hex[:8]}", f"other-{uuid.uuid4().hex[:8]}"
    web_context(pytester, chosen, page="chosen")
    web_context(pytester, other, page="other")
    register_images(pytester, chosen, other)
    pytester.makepyfile(
        f"""
import pytest
from pytest_containerkit import http_ok

@pytest.mark.container("{chosen}", ports=[8080], ready=http_ok("/"))
def test_chosen(container):
    assert container.http.get("/").text == "chosen\\n"

@pytest.mark.container("{other}", ports=[8080], ready=http_ok("/"))
def test_other(container):
    assert container.http.get("/").text == "other\\n"
"""
    )
    try:
        result = pytester.runpytest("-k", "chosen")
        result.assert_outcomes(passed=1, deselected=1)
        assert docker_client.images.list(name=f"pytest-containerkit/{chosen}")
        assert not docker_client.images.list(name=f"pytest-containerkit/{other}")
    finally:
        for name in (chosen, other):
            for image in docker_client.images.list(name=f"pytest-containerkit/{name}"):
                docker_client.images.remove(image.id, force=True)


def test_env_overrides_merge_over_the_image_env(pytester: pytest.Pytester) -> None:
    web_context(pytester)
    pytester.makepyfile(
        """
import json
from pytest_containerkit import build, container

image = build("web")
sleeper = container(image, env={"EXTRA": "from-test"}, command=["sleep", "600"])
moved = container(image, env={"GREETING": "from-test"}, command=["sleep", "600"])

def test_env(sleeper, moved):
    assert sleeper.exec(["sh", "-c", "echo $GREETING $EXTRA"]).output == "from-image from-test\\n"
    assert moved.exec(["sh", "-c", "echo $GREETING"]).output == "from-test\\n"
"""
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_a_crashing_container_fails_with_its_exit_code_and_output(
    pytester: pytest.Pytester,
) -> None:
    web_context(pytester, cmd='["sh", "-c", "echo about to crash; exit 3"]')
    pytester.makepyfile(
        """
from pytest_containerkit import build, container, http_ok

crashing = container(build("web"), ports=[8080], ready=http_ok("/"), ready_timeout=120)

def test_never_runs(crashing):
    pass
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*exited with code 3*", "*about to crash*"])
    result.stdout.no_fnmatch_line("*Traceback*")


def test_a_failing_test_shows_the_containers_log(pytester: pytest.Pytester) -> None:
    web_context(pytester, cmd='["sh", "-c", "echo the-service-said-this; exec httpd -f -p 8080 -h /www"]')
    pytester.makepyfile(
        """
from pytest_containerkit import build, container, tcp_open

web = container(build("web"), ports=[8080], ready=tcp_open())

def test_fails(web):
    assert web.http.get("/").status_code == 500
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*container * log*", "*the-service-said-this*"])


def test_handle_restarts_stops_and_may_be_removed_by_the_test(pytester: pytest.Pytester) -> None:
    web_context(pytester)
    pytester.makepyfile(
        """
from pytest_containerkit import build, container, http_ok

web = container(build("web"), ports=[8080], ready=http_ok("/"))

def test_restart(web):
    web.restart()
    assert web.http.get("/").ok

def test_stop_then_remove(web):
    web.stop()
    web.container.remove()
"""
    )
    pytester.runpytest().assert_outcomes(passed=2)


def test_unknown_image_name_lists_the_registered_ones(pytester: pytest.Pytester) -> None:
    register_images(pytester, "alpha", "beta")
    pytester.makepyfile(
        """
import pytest

@pytest.mark.container("gamma-not-anywhere")
def test_unknown(container):
    pass
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*unknown image 'gamma-not-anywhere'*registered: alpha, beta*"])


def run_a_test_of_image(pytester: pytest.Pytester, context: str) -> pytest.RunResult:
    """Run one inner test that needs a container of the image built from *context*."""
    pytester.makepyfile(
        f"""
from pytest_containerkit import build, container

app = container(build("{context}"))

def test_app(app):
    pass
"""
    )
    return pytester.runpytest()


def test_missing_dockerfile_is_named(pytester: pytest.Pytester) -> None:
    pytester.mkdir("empty")
    result = run_a_test_of_image(pytester, "empty")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*image 'empty': no Dockerfile at *empty/Dockerfile*"])


def test_a_missing_context_is_named(pytester: pytest.Pytester) -> None:
    result = run_a_test_of_image(pytester, "nowhere")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*image 'nowhere': the build context */nowhere is not a directory*"])


def test_a_failing_build_shows_the_step_and_its_output(pytester: pytest.Pytester) -> None:
    web_context(pytester, cmd='["true"]')
    dockerfile = pytester.path / "web" / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text() + 'RUN echo "compiling..." && exit 7\n')
    result = run_a_test_of_image(pytester, "web")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*building image 'web' failed at step 6/6: RUN echo \"compiling...\" && exit 7: *code: 7*",
            "*compiling...*",
        ]
    )


@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        ('"web", ports="8080"', "*ports must be a list of container ports*"),
        ('"web", env={"A": 1}', "*env must be a dict of strings to strings*"),
        ('"web", colour="red"', "*unexpected keyword argument 'colour'*"),
        ("", "*missing 1 required positional argument: 'image'*"),
    ],
)
def test_bad_marker_arguments_are_a_usage_error(
    pytester: pytest.Pytester, arguments: str, complaint: str
) -> None:
    pytester.makepyfile(
        f"""
import pytest

@pytest.mark.container({arguments})
def test_bad(container):
    pass
"""
    )
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([complaint + "Expected @pytest.mark.container(image, *, ports=()*"])


def test_every_fixture_has_a_docstring_and_the_marker_its_signature(
    pytester: pytest.Pytester,
) -> None:
    fixtures = pytester.runpytest("--fixtures")
    fixtures.stdout.fnmatch_lines(["container -- *plugin.py*", "    A fresh, ready container*"])
    fixtures.stdout.fnmatch_lines(["containerkit *session scope* -- *", "    The session's containers*"])
    markers = pytester.runpytest("--markers")
    markers.stdout.fnmatch_lines(["@pytest.mark.container(image, *, ports=(), env=None, *): run the test's*"])


def test_teardown_of_a_sigterm_ignoring_container_leaves_nothing(
    pytester: pytest.Pytester, docker_client: Any
) -> None:
    web_context(pytester, cmd='["sh", "-c", "trap \\"\\" TERM; while true; do sleep 1; done"]')
    pytester.makepyfile(
        RECORD_ID
        + """
from pytest_containerkit import build, container

stubborn = container(build("web"), init=False)

def test_stubborn(stubborn):
    record(stubborn)
"""
    )
    pytester.runpytest().assert_outcomes(passed=1)
    assert_removed(docker_client, container_ids(pytester))


def test_labels_name_the_plugin_and_the_session(pytester: pytest.Pytester) -> None:
    web_context(pytester)
    pytester.makepyfile(
        """
import json, docker
from pytest_containerkit import build, container

web = container(build("web"), command=["sleep", "600"])

def test_labels(web, containerkit):
    labels = docker.from_env().containers.get(web.id).labels
    with open("labels.json", "w") as out:
        json.dump([labels, containerkit.session_id], out)
"""
    )
    pytester.runpytest().assert_outcomes(passed=1)
    labels, session_id = json.loads(pytester.path.joinpath("labels.json").read_text())
    assert labels["pytest-containerkit"] == "1"
    assert labels["pytest-containerkit.session"] == session_id
    assert labels["pytest-containerkit.test"] == "test_labels_name_the_plugin_and_the_session.py::test_labels"
