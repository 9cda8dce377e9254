"""Integration tests of the example server, written as a user of the plugin writes them."""

import pytest

from pytest_containerkit import ContainerHandle, build, container, http_ok

image = build("example_app")
app = container(image, ports=[8000], env={"SERVER_PORT": "8000"}, ready=http_ok("/"))
app_on_9000 = container(image, ports=[9000], env={"SERVER_PORT": "9000"}, ready=http_ok("/"))


def test_lists_the_users(app: ContainerHandle) -> None:
    users = app.http.get("/").json()
    assert [user["name"] for user in users] == ["John Doe", "Jane Doe", "Richard Roe"]
    assert {user["gender"] for user in users} == {"male", "female"}


def test_serves_a_users_picture(app: ContainerHandle) -> None:
    picture = app.http.get("/images/female.png")
    assert picture.status_code == 200
    assert picture.headers["Content-Type"] == "image/png"
    assert picture.content.startswith(b"\x89PNG\r\n\x1a\n")


@pytest.mark.parametrize("path", ["/nothing-here", "/images/missing.png", "/images/../db.json"])
def test_unknown_paths_are_404(app: ContainerHandle, path: str) -> None:
    assert app.http.get(path).status_code == 404


def test_env_override_moves_the_port(app_on_9000: ContainerHandle) -> None:
    assert app_on_9000.http.get("/").ok
    assert "Server started at port 9000." in app_on_9000.logs()


def test_keeps_serving_after_a_restart(app: ContainerHandle) -> None:
    first = app.http.get("/").json()
    app.restart()
    assert app.http.get("/").json() == first


@pytest.mark.container("example_app", ports=[8000], ready=http_ok("/"))
def test_marker_runs_the_registered_image(container: ContainerHandle) -> None:
    assert container.http.get("/images/male.png").headers["Content-Type"] == "image/png"
