"""Flash: what FlashMiddleware adds, side by side with Flask's own flash.

Each "added" figure is the same app with and without the flash call, so it
is the cost of flashing (or reading) itself: for us, on a bare WSGI app
wrapped in FlashMiddleware; for Flask, in a plain Flask view. Goal: ours
adds at most a tenth of what Flask's adds. ``cases_flask.py`` compares the
two inside a Flask view, through ``wsgi_flash.flask.init_app``.
"""

from __future__ import annotations

import typing as t

import flask
from harness import Bench, make_environ
from werkzeug.test import Client

from wsgi_flash import FlashMiddleware, flash, get_flashed_messages

SECRET = "benchmark-secret-key-0123456789abcdef"
GROUP = "flash"


def bare_ok(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def bare_redirect(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
    start_response("303 See Other", [("Location", "/")])
    return [b""]


def ours_flash_redirect(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
    flash(environ, "Your changes were saved.", "success")
    start_response("303 See Other", [("Location", "/")])
    return [b""]


def ours_read(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
    messages = get_flashed_messages(environ, with_categories=True)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok" if messages else b"none"]


def flask_app() -> flask.Flask:
    app = flask.Flask(__name__)
    app.secret_key = SECRET

    @app.route("/plain")
    def plain() -> str:
        return "ok"

    @app.route("/redirect")
    def redirect() -> t.Any:
        return flask.redirect("/")

    @app.route("/flash")
    def flash_redirect() -> t.Any:
        flask.flash("Your changes were saved.", "success")
        return flask.redirect("/")

    @app.route("/read")
    def read() -> str:
        return "ok" if flask.get_flashed_messages(with_categories=True) else "none"

    return app


def cookie_after(app: t.Any, path: str, name: str) -> str:
    client = Client(app)
    client.get(path)
    cookie = client.get_cookie(name)
    assert cookie is not None, f"{path} set no {name} cookie"
    return f"{name}={cookie.value}"


def run(bench: Bench) -> None:
    plain = make_environ("/")
    bare_us = bench.time(bare_ok, plain)
    bench.row(GROUP, "bare app", bare_us)
    ours_ok = FlashMiddleware(bare_ok, secret_key=SECRET)
    nothing_us = bench.time(ours_ok, plain) - bare_us
    bench.row(
        GROUP,
        "ours, nothing flashed",
        bare_us + nothing_us,
        added=nothing_us,
        compare="vs bare app",
    )

    # Ours: flash + redirect, and read + clear of a cookie holding one message.
    redirect_us = bench.time(FlashMiddleware(bare_redirect, secret_key=SECRET), plain)
    ours_set_us = bench.time(FlashMiddleware(ours_flash_redirect, secret_key=SECRET), plain)
    ours_cookie = cookie_after(
        FlashMiddleware(ours_flash_redirect, secret_key=SECRET), "/", "flash"
    )
    with_cookie = make_environ("/", HTTP_COOKIE=ours_cookie)
    ours_plain_us = bench.time(FlashMiddleware(bare_ok, secret_key=SECRET), plain)
    ours_read_us = bench.time(FlashMiddleware(ours_read, secret_key=SECRET), with_cookie)
    # A request that carries a message for a later page and does not read it.
    ours_unread_us = bench.time(FlashMiddleware(bare_ok, secret_key=SECRET), with_cookie)
    bench.row(
        GROUP,
        "ours, an unread flash cookie, not read",
        ours_unread_us,
        added=ours_unread_us - ours_plain_us,
        compare="vs nothing flashed",
    )

    # Flask: the same two operations in a view, over the same view without them.
    app = flask_app()
    flask_plain_us = bench.time(app, make_environ("/plain"))
    flask_redirect_us = bench.time(app, make_environ("/redirect"))
    flask_set_us = bench.time(app, make_environ("/flash"))
    flask_cookie = cookie_after(app, "/flash", "session")
    flask_read_us = bench.time(app, make_environ("/read", HTTP_COOKIE=flask_cookie))
    flask_read_empty_us = bench.time(app, make_environ("/read"))

    flask_set_added = flask_set_us - flask_redirect_us
    flask_read_added = flask_read_us - flask_read_empty_us
    bench.row(GROUP, "Flask plain view", flask_plain_us)
    bench.row(
        GROUP,
        "Flask flash + redirect",
        flask_set_us,
        added=flask_set_added,
        compare="vs redirect view",
    )
    bench.row(
        GROUP, "Flask read + clear", flask_read_us, added=flask_read_added, compare="vs empty read"
    )
    set_added = ours_set_us - redirect_us
    read_added = ours_read_us - ours_plain_us
    for case, us, added, anchor in (
        ("ours flash + redirect", ours_set_us, set_added, flask_set_added),
        ("ours read + clear", ours_read_us, read_added, flask_read_added),
    ):
        ratio = added / anchor
        bench.row(
            GROUP,
            case,
            us,
            added=added,
            compare=f"{ratio:.3f} x Flask's",
            goal="≤ 0.1 x Flask's",
            ok=ratio <= 0.1,
        )
