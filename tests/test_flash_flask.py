"""Differential test: FlashMiddleware against Flask's own flash functions.

Hypothesis generates sequences of requests; each request runs a random
interleaving of flash() and get_flashed_messages() calls. The same sequence
runs through a real Flask app (Flask's functions, Flask's session cookie)
and through a plain WSGI app wrapped in FlashMiddleware, each behind its own
cookie-keeping client, and every read must return identical results.
"""

from __future__ import annotations

import typing as t

import flask
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import Markup
from werkzeug.test import Client

import wsgi_flash.flask
from wsgi_flash import FlashMiddleware, flash, get_flashed_messages

SECRET = "differential-test-secret-key-0123456789"
CATEGORIES = ["message", "error", "info", "warning", "success"]

Op = tuple[t.Any, ...]

category = st.one_of(st.sampled_from(CATEGORIES), st.text(max_size=8))
message = st.one_of(
    st.text(max_size=20),
    st.builds(Markup, st.text(max_size=20)),
    st.integers(-1000, 1000),
    st.lists(st.integers(0, 9), max_size=3),
    st.dictionaries(st.text("abcdefgh", min_size=1, max_size=4), st.booleans(), max_size=2),
)
flash_op = st.tuples(st.just("flash"), message, category)
read_op = st.tuples(
    st.just("read"),
    st.booleans(),
    st.one_of(
        st.just(()),
        st.lists(st.sampled_from(CATEGORIES), max_size=3).map(tuple),
        st.lists(st.sampled_from(CATEGORIES), max_size=3),
    ),
)
request_ops = st.lists(st.one_of(flash_op, read_op), max_size=6)

_current: list[list[Op]] = [[]]


def _run(
    ops: list[Op], do_flash: t.Callable[..., None], do_read: t.Callable[..., t.Any]
) -> list[t.Any]:
    results = []
    for op in ops:
        if op[0] == "flash":
            do_flash(op[1], op[2])
        else:
            results.append(do_read(with_categories=op[1], category_filter=op[2]))
    return results


def make_flask_app() -> tuple[flask.Flask, list[t.Any]]:
    app = flask.Flask(__name__)
    app.secret_key = SECRET
    seen: list[t.Any] = []

    @app.route("/")
    def view() -> str:
        seen.append(_run(_current[0], flask.flash, flask.get_flashed_messages))
        return "ok"

    return app, seen


def make_init_app_app() -> tuple[flask.Flask, list[t.Any]]:
    """Flask's own functions, after init_app: the flash cookie, not the session."""
    app, seen = make_flask_app()
    wsgi_flash.flask.init_app(app)
    return app, seen


def make_our_app() -> tuple[FlashMiddleware, list[t.Any]]:
    seen: list[t.Any] = []

    def app(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
        seen.append(
            _run(
                _current[0],
                lambda m, c: flash(environ, m, c),
                lambda **kw: get_flashed_messages(environ, **kw),
            )
        )
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    return FlashMiddleware(app, secret_key=SECRET), seen


@settings(max_examples=150)
@given(st.lists(request_ops, min_size=1, max_size=6))
def test_same_results_as_flask(requests: list[list[Op]]) -> None:
    flask_app, flask_seen = make_flask_app()
    our_app, our_seen = make_our_app()
    flask_client = flask_app.test_client()
    our_client = Client(our_app)
    for number, ops in enumerate(requests):
        _current[0] = ops
        assert flask_client.get("/").status_code == 200
        assert our_client.get("/").status_code == 200
        assert our_seen[number] == flask_seen[number], f"request {number}: {ops!r}"
        # Same types too: tuples with categories, Markup stays Markup.
        assert repr(our_seen[number]) == repr(flask_seen[number])


@settings(max_examples=100)
@given(st.lists(request_ops, min_size=1, max_size=6))
def test_flask_functions_after_init_app_same_as_without(requests: list[list[Op]]) -> None:
    flask_app, flask_seen = make_flask_app()
    our_app, our_seen = make_init_app_app()
    flask_client, our_client = flask_app.test_client(), our_app.test_client()
    for number, ops in enumerate(requests):
        _current[0] = ops
        assert flask_client.get("/").status_code == 200
        assert our_client.get("/").status_code == 200
        assert repr(our_seen[number]) == repr(flask_seen[number]), f"request {number}: {ops!r}"
        assert our_client.get_cookie("session") is None


def _sequence(*requests: list[Op]) -> tuple[list[t.Any], list[t.Any]]:
    flask_app, flask_seen = make_flask_app()
    our_app, our_seen = make_our_app()
    flask_client, our_client = flask_app.test_client(), Client(our_app)
    for ops in requests:
        _current[0] = ops
        flask_client.get("/")
        our_client.get("/")
    return flask_seen, our_seen


def test_unread_messages_persist_until_read() -> None:
    flask_seen, our_seen = _sequence(
        [("flash", "one", "message")], [], [], [("read", False, ())], [("read", False, ())]
    )
    assert our_seen == flask_seen == [[], [], [], [["one"]], [[]]]


def test_first_read_takes_filtered_out_messages_too() -> None:
    flask_seen, our_seen = _sequence(
        [("flash", "e", "error"), ("flash", "i", "info")],
        [("read", False, ["error"]), ("read", True, ())],
        [("read", False, ())],
    )
    assert our_seen == flask_seen == [[], [["e"], [("error", "e"), ("info", "i")]], [[]]]


def test_flash_then_read_in_one_request_is_never_stored() -> None:
    flask_seen, our_seen = _sequence(
        [("flash", "now", "message"), ("read", False, ())], [("read", False, ())]
    )
    assert our_seen == flask_seen == [[["now"]], [[]]]


def test_flash_after_first_read_goes_to_next_request() -> None:
    flask_seen, our_seen = _sequence(
        [("read", False, ()), ("flash", "later", "info"), ("read", False, ())],
        [("read", True, ())],
    )
    assert our_seen == flask_seen == [[[], []], [[("info", "later")]]]
