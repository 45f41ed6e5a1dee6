"""``config.include("wsgi_flash.pyramid")``: Pyramid's flash queues on the
wsgi_flash cookie, through WebTest on a real ``Configurator`` app, through
``pserve``'s PasteDeploy loading, and under ``pserve`` with waitress.

A differential test runs the same queue operations through Pyramid's own
session flash (``SignedCookieSessionFactory``) and through
``request.flash``: every read must agree.
"""

from __future__ import annotations

import pathlib
import sys
import typing as t

import flask
import pytest
import webtest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.paster import get_app
from pyramid.response import Response
from pyramid.session import SignedCookieSessionFactory

import wsgi_flash
import wsgi_flash.flask
from tests.servers import free_port, serve

SECRET = "pyramid-tests-secret-key-0123456789"
Op = tuple[t.Any, ...]
_current: list[list[Op]] = [[]]


def make_app(**settings: t.Any) -> webtest.TestApp:
    """A Pyramid app with wsgi_flash included: /flash flashes, / pops the
    default and "warning" queues, /boom flashes from an exception view."""

    def do_flash(request: t.Any) -> Response:
        request.flash("Saved.")
        request.flash("Disk almost full.", "warning")
        return HTTPSeeOther(location="/")

    def show(request: t.Any) -> dict[str, t.Any]:
        return {"default": request.pop_flash(), "warning": request.pop_flash("warning")}

    def pop_warnings(request: t.Any) -> Response:
        return Response(repr((request.pop_flash("warning"), request.peek_flash())))

    def peek(request: t.Any) -> Response:
        return Response(repr((request.peek_flash(), request.peek_flash("warning"))))

    def boom(request: t.Any) -> Response:
        raise ValueError("boom")

    def failed(exc: ValueError, request: t.Any) -> Response:
        request.flash("It failed.", "error")
        return HTTPSeeOther(location="/")

    with Configurator(settings={"wsgi_flash.secret_key": SECRET, **settings}) as config:
        config.include("wsgi_flash.pyramid")
        config.add_route("flash", "/flash")
        config.add_route("show", "/")
        config.add_route("boom", "/boom")
        config.add_route("pop-warnings", "/pop-warnings")
        config.add_route("peek", "/peek")
        config.add_view(pop_warnings, route_name="pop-warnings")
        config.add_view(peek, route_name="peek")
        config.add_view(do_flash, route_name="flash")
        config.add_view(show, route_name="show", renderer="json")
        config.add_view(boom, route_name="boom")
        config.add_exception_view(failed, context=ValueError)
        return webtest.TestApp(config.make_wsgi_app())


def test_flash_shows_once_after_redirect() -> None:
    app = make_app()
    response = app.get("/flash")
    assert response.status_int == 303
    assert response.headers["Set-Cookie"].startswith("flash=")
    assert "Cookie" in response.headers["Vary"]
    assert app.get("/").json == {"default": ["Saved."], "warning": ["Disk almost full."]}
    assert "flash" not in app.cookies
    assert app.get("/").json == {"default": [], "warning": []}


def test_popping_one_queue_leaves_the_others() -> None:
    app = make_app()
    app.get("/flash")
    assert app.get("/pop-warnings").text == repr((["Disk almost full."], ["Saved."]))
    assert app.get("/").json == {"default": ["Saved."], "warning": []}


def test_peek_leaves_the_cookie_alone() -> None:
    app = make_app()
    app.get("/flash")
    response = app.get("/peek")
    assert response.text == repr((["Saved."], ["Disk almost full."]))
    assert "Set-Cookie" not in response.headers
    assert app.get("/").json == {"default": ["Saved."], "warning": ["Disk almost full."]}


def test_an_exception_view_can_flash() -> None:
    app = make_app()
    assert app.get("/boom").status_int == 303
    # The error queue is not shown by "/", so it stays: peek at the cookie.
    cookie = app.cookies["flash"]
    environ = {"HTTP_COOKIE": f"flash={cookie}"}
    seen: list[t.Any] = []

    def read(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
        seen.append(wsgi_flash.get_flashed_messages(environ, with_categories=True))
        start_response("200 OK", [])
        return []

    wsgi_flash.FlashMiddleware(read, secret_key=SECRET)(environ, lambda *a: None)
    assert seen == [[("error", "It failed.")]]


def test_a_message_from_flask_in_the_default_queue() -> None:
    flask_app = flask.Flask(__name__)
    wsgi_flash.flask.init_app(flask_app, secret_key=SECRET)

    @flask_app.post("/")
    def save() -> str:
        flask.flash("From Flask")
        flask.flash("Careful", "warning")
        return ""

    client = flask_app.test_client()
    client.post("/")
    cookie = client.get_cookie("flash")
    assert cookie is not None
    # As a browser sends it (WebTest's set_cookie would quote the value).
    response = make_app().get("/", headers={"Cookie": f"flash={cookie.value}"})
    assert response.json == {"default": ["From Flask"], "warning": ["Careful"]}


def test_a_stack_around_the_app_handles_the_cookie_once() -> None:
    inner = make_app().app
    app = webtest.TestApp(wsgi_flash.stack(inner, secret_key=SECRET))
    response = app.get("/flash")
    assert len(response.headers.getall("Set-Cookie")) == 1
    assert app.get("/").json == {"default": ["Saved."], "warning": ["Disk almost full."]}


def test_settings_are_read_as_text() -> None:
    app = make_app(**{"wsgi_flash.cookie_name": "notes", "wsgi_flash.samesite": "Strict"})
    header = app.get("/flash").headers["Set-Cookie"]
    assert header.startswith("notes=") and "SameSite=Strict" in header


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        pytest.param({}, "needs wsgi_flash.secret_key", id="no-key"),
        pytest.param({"wsgi_flash.secret_key": "short"}, "at least 16 bytes", id="short-key"),
        pytest.param(
            {"wsgi_flash.secret_key": SECRET, "wsgi_flash.cookie_nam": "x"},
            "unknown key flash.cookie_nam",
            id="typo",
        ),
        pytest.param(
            {"wsgi_flash.secret_key": SECRET, "wsgi_flash.max_age": "soon"},
            "flash.max_age",
            id="bad-number",
        ),
    ],
)
def test_bad_settings_fail_at_include(settings: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        with Configurator(settings=settings) as config:
            config.include("wsgi_flash.pyramid")


def test_queue_must_be_a_str() -> None:
    def view(request: t.Any) -> Response:
        request.flash("x", 3)
        return Response("")

    with Configurator(settings={"wsgi_flash.secret_key": SECRET}) as config:
        config.include("wsgi_flash.pyramid")
        config.add_route("v", "/")
        config.add_view(view, route_name="v")
        app = webtest.TestApp(config.make_wsgi_app())
    with pytest.raises(TypeError, match="queue must be a str"):
        app.get("/")


INI = """\
[app:main]
use = call:examples.pyramid_app:main
wsgi_flash.secret_key = {secret}
wsgi_flash.cookie_name = notes

[server:main]
use = egg:waitress#main
listen = 127.0.0.1:{port}
"""


def write_ini(tmp_path: pathlib.Path, port: int = 0) -> pathlib.Path:
    ini = tmp_path / "development.ini"
    ini.write_text(INI.format(secret=SECRET, port=port), encoding="utf-8")
    return ini


def test_pastedeploy_ini_as_pserve_loads_it(tmp_path: pathlib.Path) -> None:
    app = webtest.TestApp(get_app(str(write_ini(tmp_path)), "main"))
    response = app.post("/save")
    assert response.status_int == 303
    assert response.headers["Set-Cookie"].startswith("notes=")
    assert '<li class="success">Saved.</li>' in app.get("/").text
    assert "<li" not in app.get("/").text


def test_under_pserve_and_waitress(tmp_path: pathlib.Path) -> None:
    port = free_port()
    ini = write_ini(tmp_path, port)
    command = [sys.executable, "-m", "pyramid.scripts.pserve", str(ini)]
    with serve(command, port, tmp_path / "pserve.log") as server:
        status, headers, _ = server.request("POST", "/save")
        assert status == 303
        cookie = headers["Set-Cookie"].split(";")[0]
        assert cookie.startswith("notes=")
        status, _, page = server.request("GET", "/", {"Cookie": cookie})
        assert status == 200
        assert b'<li class="success">Saved.</li>' in page
        assert "Traceback" not in server.log()


# Differential: Pyramid's session flash and request.flash, same operations.

queue = st.sampled_from(["", "warning", "error"])
message = st.sampled_from(["a", "b", "c"])
op = st.one_of(
    st.tuples(st.just("flash"), message, queue, st.booleans()),
    st.tuples(st.just("pop"), queue),
    st.tuples(st.just("peek"), queue),
)


def run(target: t.Any) -> list[t.Any]:
    """Run the request's operations; reads are copied, since Pyramid's
    peek_flash returns the queue itself, which a later flash() appends to."""
    seen = []
    for step in _current[0]:
        if step[0] == "flash":
            target.flash(step[1], step[2], allow_duplicate=step[3])
        elif step[0] == "pop":
            seen.append(list(target.pop_flash(step[1])))
        else:
            seen.append(list(target.peek_flash(step[1])))
    return seen


def differential_apps() -> tuple[webtest.TestApp, webtest.TestApp, list[t.Any], list[t.Any]]:
    session_seen: list[t.Any] = []
    our_seen: list[t.Any] = []

    def session_view(request: t.Any) -> Response:
        session_seen.append(run(request.session))
        return Response("ok")

    def our_view(request: t.Any) -> Response:
        our_seen.append(run(request))
        return Response("ok")

    with Configurator() as config:
        config.set_session_factory(SignedCookieSessionFactory(SECRET))
        config.add_route("v", "/")
        config.add_view(session_view, route_name="v")
        session_app = webtest.TestApp(config.make_wsgi_app())
    with Configurator(settings={"wsgi_flash.secret_key": SECRET}) as config:
        config.include("wsgi_flash.pyramid")
        config.add_route("v", "/")
        config.add_view(our_view, route_name="v")
        our_app = webtest.TestApp(config.make_wsgi_app())
    return session_app, our_app, session_seen, our_seen


@settings(max_examples=60)
@given(st.lists(st.lists(op, max_size=6), min_size=1, max_size=4))
def test_same_queues_as_pyramids_session_flash(requests: list[list[Op]]) -> None:
    session_app, our_app, session_seen, our_seen = differential_apps()
    for number, ops in enumerate(requests):
        _current[0] = ops
        session_app.get("/")
        our_app.get("/")
        assert our_seen[number] == session_seen[number], f"request {number}: {ops!r}"


@pytest.mark.parametrize("cookie", ["garbage", "a.b.c", "x" * 3000])
def test_a_bad_cookie_is_no_messages(cookie: str) -> None:
    response = make_app().get("/", headers={"Cookie": f"flash={cookie}"})
    assert response.json == {"default": [], "warning": []}


def test_an_explicit_tween_list() -> None:
    tweens = "wsgi_flash.pyramid.tween_factory\npyramid.tweens.excview_tween_factory"
    app = make_app(**{"pyramid.tweens": tweens})
    assert app.get("/boom").status_int == 303  # the exception view flashed
    assert app.cookies.get("flash")
    assert app.get("/flash").status_int == 303
    assert app.get("/").json == {"default": ["Saved."], "warning": ["Disk almost full."]}
