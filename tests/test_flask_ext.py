"""``wsgi_flash.flask.init_app``: the Flask extension.

Flask's own flashing (``flask.flash``, ``flask.get_flashed_messages``, the
Jinja global) carried by the wsgi_flash cookie, checked with equivalents of
Flask's ``test_flashes`` and ``test_extended_flashing`` that assert what
Flask's do; options from ``app.config``; a migration from Flask's session
that loses no message; and the same app under the test client and under
gunicorn with and without ``-c python:wsgi_flash.gunicorn``, where a cookie
or a forwarded header is never handled twice.
"""

from __future__ import annotations

import logging
import pathlib
import re
import typing as t

import flask
import pytest
from markupsafe import Markup
from werkzeug.test import Client

import wsgi_flash
from tests.servers import gunicorn
from wsgi_flash.config import ConfigError
from wsgi_flash.flask import init_app

SECRET = "flask-ext-tests-secret-key-0123456789"
OTHER_SECRET = "flask-ext-tests-other-key-0123456789"


@pytest.fixture
def app() -> flask.Flask:
    """As Flask's test suite sets its app up, plus init_app."""
    app = flask.Flask(__name__)
    app.config.update(TESTING=True, SECRET_KEY=SECRET)
    init_app(app)
    return app


# Equivalents of Flask's test_flashes and test_extended_flashing
# (tests/test_basic.py): the same assertions, on an app using init_app.


def test_flashes(app: flask.Flask) -> None:
    with app.test_request_context():
        assert not flask.session.modified
        flask.flash("Zap")
        flask.session.modified = False
        flask.flash("Zip")
        assert flask.session.modified
        assert list(flask.get_flashed_messages()) == ["Zap", "Zip"]


ALL = [
    ("message", "Hello World"),
    ("error", "Hello World"),
    ("warning", Markup("<em>Testing</em>")),
]


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        pytest.param({}, [m for _, m in ALL], id="messages"),
        pytest.param({"with_categories": True}, ALL, id="with-categories"),
        pytest.param(
            {"category_filter": ["message"], "with_categories": True}, ALL[:1], id="filter"
        ),
        pytest.param(
            {"category_filter": ["message", "warning"], "with_categories": True},
            [ALL[0], ALL[2]],
            id="filters",
        ),
        pytest.param(
            {"category_filter": ["message", "warning"]},
            ["Hello World", Markup("<em>Testing</em>")],
            id="filters-without-categories",
        ),
    ],
)
def test_extended_flashing(
    app: flask.Flask, kwargs: dict[str, t.Any], expected: list[t.Any]
) -> None:
    seen: list[t.Any] = []

    @app.route("/")
    def index() -> str:
        flask.flash("Hello World")
        flask.flash("Hello World", "error")
        flask.flash(Markup("<em>Testing</em>"), "warning")
        return ""

    @app.route("/test/")
    def test() -> str:
        seen.append(flask.get_flashed_messages(**kwargs))
        return ""

    client = app.test_client()  # a new client: no messages from another case
    client.get("/")
    assert client.get("/test/").status_code == 200
    assert list(seen[0]) == expected
    assert [type(m) for m in seen[0]] == [type(m) for m in expected]  # Markup stays Markup
    # Carried by the wsgi_flash cookie, not Flask's session.
    assert client.get_cookie("session") is None


def test_flask_templates_and_views_share_one_read(app: flask.Flask) -> None:
    @app.post("/")
    def save() -> t.Any:
        flask.flash("Disk <full>", "error")
        wsgi_flash.flask.flash(Markup("<em>Saved</em>"), "info")
        return flask.redirect("/", 303)

    @app.get("/")
    def index() -> str:
        errors = flask.get_flashed_messages(category_filter=["error"])
        flask.flash("next time")  # after the first read: for the next request
        return flask.render_template_string(
            "{{ errors }}|{% for c, m in get_flashed_messages(with_categories=true) %}"
            "[{{ c }}:{{ m }}]{% endfor %}",
            errors=errors,
        )

    client = app.test_client()
    assert client.post("/").status_code == 303
    assert client.get("/").text == (
        "[&#39;Disk &lt;full&gt;&#39;]|[error:Disk &lt;full&gt;][info:<em>Saved</em>]"
    )
    assert client.get("/").text == "[]|[message:next time]"


def test_request_context_reads_the_request_cookie(app: flask.Flask) -> None:
    @app.post("/")
    def save() -> str:
        flask.flash("Kept", "info")
        return ""

    client = app.test_client()
    client.post("/")
    cookie = client.get_cookie("flash")
    assert cookie is not None
    with app.test_request_context(headers={"Cookie": f"flash={cookie.value}"}):
        assert flask.get_flashed_messages(with_categories=True) == [("info", "Kept")]


def test_messages_in_flasks_session_move_to_the_cookie() -> None:
    # Before the migration: a plain Flask app flashes into its session.
    before = flask.Flask(__name__)
    before.secret_key = SECRET

    @before.post("/")
    def save() -> str:
        flask.session["user"] = "ada"
        flask.flash("Flashed before the upgrade", "info")
        return ""

    old_client = before.test_client()
    old_client.post("/")
    session_cookie = old_client.get_cookie("session")
    assert session_cookie is not None

    after = flask.Flask(__name__)
    after.secret_key = SECRET
    init_app(after)

    @after.get("/")
    def index() -> t.Any:
        return {"messages": flask.get_flashed_messages(True), "user": flask.session["user"]}

    client = after.test_client()
    client.set_cookie("session", session_cookie.value)
    assert client.get("/").json == {
        "messages": [["info", "Flashed before the upgrade"]],
        "user": "ada",
    }
    # Gone from the session (which keeps the rest), and shown once.
    assert client.get("/").json == {"messages": [], "user": "ada"}


@pytest.mark.parametrize(
    ("config", "cookie_prefix"),
    [
        pytest.param({"SECRET_KEY": SECRET}, "flash=", id="flask-secret-key"),
        pytest.param(
            {"SECRET_KEY": OTHER_SECRET, "WSGI_FLASH_SECRET_KEY": SECRET},
            "flash=",
            id="own-key-wins",
        ),
        pytest.param(
            {"SECRET_KEY": SECRET, "WSGI_FLASH_FLASH": {"cookie_name": "notes"}},
            "notes=",
            id="section-dict",
        ),
        pytest.param(
            {"SECRET_KEY": SECRET, "WSGI_FLASH_FLASH_COOKIE_NAME": "notes"},
            "notes=",
            id="flat-key",
        ),
    ],
)
def test_options_from_app_config(config: dict[str, t.Any], cookie_prefix: str) -> None:
    app = flask.Flask(__name__)
    app.config.update(config)
    init_app(app)

    @app.post("/")
    def save() -> str:
        flask.flash("hi")
        return ""

    header = app.test_client().post("/").headers["Set-Cookie"]
    assert header.startswith(cookie_prefix)
    # Signed with the wsgi_flash key in every case.
    reader = wsgi_flash.FlashMiddleware(
        lambda e, s: [], secret_key=SECRET, cookie_name=cookie_prefix[:-1]
    )
    seen: list[t.Any] = []

    def read(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
        seen.append(wsgi_flash.get_flashed_messages(environ))
        start_response("200 OK", [])
        return []

    reader.app = read
    reader({"HTTP_COOKIE": header.split(";")[0]}, lambda *a: None)
    assert seen == [["hi"]]


def test_keywords_override_app_config() -> None:
    app = flask.Flask(__name__)
    app.config.update(SECRET_KEY=SECRET, WSGI_FLASH_FLASH={"cookie_name": "notes"})
    init_app(app, flash={"cookie_name": "memo"})

    @app.post("/")
    def save() -> str:
        flask.flash("hi")
        return ""

    assert app.test_client().post("/").headers["Set-Cookie"].startswith("memo=")


def test_no_key_anywhere_fails_at_init_app() -> None:
    with pytest.raises(ConfigError, match=r"init_app\(\) found no secret key.*SECRET_KEY"):
        init_app(flask.Flask(__name__))


def test_unknown_app_config_key_names_it() -> None:
    app = flask.Flask(__name__)
    app.config.update(SECRET_KEY=SECRET, WSGI_FLASH_PROXI_X_FOR=1)
    with pytest.raises(ConfigError, match="WSGI_FLASH_PROXI_X_FOR"):
        init_app(app)


def test_flash_off_leaves_flask_flashing_alone() -> None:
    app = flask.Flask(__name__)
    app.config.update(SECRET_KEY=SECRET, WSGI_FLASH_FLASH={"enabled": False})
    init_app(app)

    @app.post("/")
    def save() -> str:
        flask.flash("in the session")
        return ""

    client = app.test_client()
    client.post("/")
    assert client.get_cookie("session") is not None
    assert client.get_cookie("flash") is None


def test_a_stack_outside_handles_each_thing_once(caplog: pytest.LogCaptureFixture) -> None:
    # As gunicorn -c python:wsgi_flash.gunicorn does: a stack around the
    # whole app, with another key; the app's own stack steps aside.
    app = flask.Flask(__name__)
    app.config.update(SECRET_KEY=SECRET, WSGI_FLASH_PROXY={"x_for": 1})
    init_app(app)

    @app.post("/")
    def save() -> str:
        flask.flash("once")
        return ""

    @app.get("/")
    def index() -> t.Any:
        return {"client": flask.request.remote_addr, "messages": flask.get_flashed_messages()}

    client = Client(wsgi_flash.stack(app, secret_key=OTHER_SECRET, proxy={"x_for": 1}))
    peer = {"REMOTE_ADDR": "127.0.0.1"}
    forwarded = {"X-Forwarded-For": "192.0.2.66, 203.0.113.7"}
    with caplog.at_level(logging.WARNING, logger="wsgi_flash"):
        response = client.post("/", environ_base=peer)
        assert len(response.headers.getlist("Set-Cookie")) == 1
        page = client.get("/", headers=forwarded, environ_base=peer).json
    # ProxyFix once (twice would take 192.0.2.66); the cookie read with the
    # outer key (the inner one would find it invalid and show nothing).
    assert page == {"client": "203.0.113.7", "messages": ["once"]}
    assert caplog.records == []


def test_the_app_alone_without_a_stack_outside() -> None:
    app = flask.Flask(__name__)
    app.config.update(SECRET_KEY=SECRET, WSGI_FLASH_PROXY={"x_for": 1})
    init_app(app)

    @app.get("/")
    def index() -> t.Any:
        return {"client": flask.request.remote_addr}

    client = app.test_client()
    response = client.get(
        "/",
        headers={"X-Forwarded-For": "192.0.2.66, 203.0.113.7"},
        environ_base={"REMOTE_ADDR": "127.0.0.1"},
    )
    assert response.json == {"client": "203.0.113.7"}


def messages(page: bytes) -> list[tuple[str, str]]:
    return re.findall(r'<li class="([^"]*)">([^<]*)</li>', page.decode())


@pytest.mark.parametrize(
    ("config", "env"),
    [
        pytest.param(None, {"FLASK_SECRET_KEY": SECRET}, id="app-alone"),
        pytest.param(
            "python:wsgi_flash.gunicorn",
            {
                # The config's stack uses another key than the app's own:
                # a cookie handled twice would be found invalid.
                "FLASK_SECRET_KEY": SECRET,
                "WSGI_FLASH_SECRET_KEY": OTHER_SECRET,
                "WSGI_FLASH_PROXY_X_FOR": "1",
                "WSGI_FLASH_PROXY_X_PROTO": "1",
                "WSGI_FLASH_PROXY_TRUSTED_PROXIES": "loopback",
            },
            id="gunicorn-config-too",
        ),
    ],
)
def test_example_under_gunicorn(
    tmp_path: pathlib.Path, config: str | None, env: dict[str, str]
) -> None:
    with gunicorn(
        "examples.flask_app:app", tmp_path / "gunicorn.log", workers=1, config=config, env=env
    ) as server:
        status, headers, _ = server.request("POST", "/save")
        assert status == 303
        cookie = headers["Set-Cookie"].split(";")[0]
        status, _, page = server.request("GET", "/", {"Cookie": cookie})
        assert (status, messages(page)) == (200, [("success", "Saved.")])
        forwarded = {"X-Forwarded-For": "192.0.2.66, 203.0.113.7", "X-Forwarded-Proto": "https"}
        assert server.json("/client", forwarded) == {"client": "203.0.113.7", "scheme": "https"}
        log = server.log()
        for sign_of_a_second_pass in ("untrusted peer", "invalid flash cookie", "Traceback"):
            assert sign_of_a_second_pass not in log


def test_key_from_the_environment_as_the_gunicorn_config_reads_it() -> None:
    app = flask.Flask(__name__)  # no SECRET_KEY: the key lives in the environment
    init_app(app, environ={"WSGI_FLASH_SECRET_KEY": SECRET})

    @app.post("/")
    def save() -> str:
        flask.flash("hi")
        return ""

    @app.get("/")
    def show() -> t.Any:
        return flask.get_flashed_messages()

    client = app.test_client()
    client.post("/")
    assert client.get("/").json == ["hi"]


def test_session_transaction_and_the_rest_of_the_session(app: flask.Flask) -> None:
    @app.get("/")
    def show() -> t.Any:
        flask.flash("hello")
        return {"user": flask.session.get("user"), "keys": sorted(flask.session)}

    client = app.test_client()
    with client.session_transaction() as session:
        session["user"] = "ada"
    assert client.get("/").json == {"user": "ada", "keys": ["user"]}
    with client.session_transaction() as session:
        assert dict(session) == {"user": "ada"}  # the message is not in the session


@pytest.mark.parametrize(
    "flashes",
    [
        pytest.param([("info", ("a", "tuple"))], id="tuple-message"),
        pytest.param([("info", "ok"), "not a pair", ("x",)], id="odd-entries"),
        pytest.param({"not": "a list"}, id="not-a-list"),
    ],
)
def test_odd_messages_in_flasks_session_are_no_500(flashes: t.Any) -> None:
    before = flask.Flask(__name__)
    before.secret_key = SECRET

    @before.post("/")
    def save() -> str:
        flask.session["_flashes"] = flashes
        return ""

    old_client = before.test_client()
    old_client.post("/")
    after = flask.Flask(__name__)
    after.secret_key = SECRET
    init_app(after)

    @after.get("/")
    def index() -> t.Any:
        return [list(pair) for pair in flask.get_flashed_messages(True)]

    client = after.test_client()
    client.set_cookie("session", old_client.get_cookie("session").value)  # type: ignore[union-attr]
    response = client.get("/")
    assert response.status_code == 200
    assert all(category == "info" for category, _ in response.json)


@pytest.mark.parametrize("cookie", ["garbage", "a.b.c", "x" * 3000])
def test_a_bad_flash_cookie_is_no_messages(app: flask.Flask, cookie: str) -> None:
    @app.get("/")
    def index() -> t.Any:
        return flask.get_flashed_messages()

    response = app.test_client().get("/", headers={"Cookie": f"flash={cookie}"})
    assert (response.status_code, response.json) == (200, [])
