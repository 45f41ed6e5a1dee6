"""django.contrib.messages on the wsgi_flash cookie, through Django's own
test tooling (``SimpleTestCase``, its ``Client`` and ``RequestFactory``) and
under a real gunicorn.

The project is tests/django_settings.py and tests/django_urls.py: the
documented settings (``MESSAGE_STORAGE``, the middleware above
``MessageMiddleware``, ``WSGI_FLASH``). The cases follow Django's documented
messages behaviour: levels and ``MESSAGE_LEVEL``, tags and ``extra_tags``,
iteration marking messages used, ``storage.used = False``, adding during
iteration; then the same cookie read and written by a Flask app.
"""

from __future__ import annotations

import importlib
import pathlib
import typing as t
from http.cookies import SimpleCookie

import django
import flask
import pytest
from django.conf import settings
from django.contrib import messages
from django.contrib.messages import constants
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, RequestFactory, SimpleTestCase, override_settings
from markupsafe import Markup

import wsgi_flash.flask
from tests.django_settings import FLASH_KEY, SETTINGS
from tests.servers import gunicorn
from wsgi_flash import FlashMiddleware

if not settings.configured:
    # The framework tests' example configures Django in this process too;
    # whichever comes first, these tests override what they need.
    importlib.import_module("examples.django_app")
django.setup()


def flask_app() -> flask.Flask:
    """A Flask app sharing the flash key: it flashes on POST / and lists
    what it reads on GET /."""
    app = flask.Flask(__name__)
    wsgi_flash.flask.init_app(app, secret_key=FLASH_KEY)

    @app.post("/")
    def save() -> str:
        flask.flash("Disk full", "error")
        flask.flash("Plain", "message")
        flask.flash(Markup("<b>Bold</b>"), "info")
        return ""

    @app.get("/")
    def show() -> t.Any:
        return [list(pair) for pair in flask.get_flashed_messages(with_categories=True)]

    return app


@override_settings(**SETTINGS)
class MessagesTests(SimpleTestCase):
    def add(self, text: str, level: int = constants.INFO, **fields: str) -> None:
        response = self.client.post("/add", {"text": text, "level": level, **fields})
        self.assertEqual(response.status_code, 303)

    def shown(self) -> list[list[t.Any]]:
        return t.cast("list[list[t.Any]]", self.client.get("/json").json())

    def test_message_shows_once_after_redirect(self) -> None:
        response = self.client.post("/add", {"text": "Saved."}, follow=True)
        self.assertContains(response, "[20|info|Saved.]")
        self.assertEqual(self.shown(), [])
        # Read and emptied: the cookie is deleted.
        self.assertEqual(self.client.cookies["flash"].value, "")

    def test_the_cookie_is_the_wsgi_flash_cookie(self) -> None:
        response = self.client.post("/add", {"text": "Saved."})
        morsel = response.cookies["flash"]
        self.assertTrue(morsel["httponly"])
        self.assertEqual(morsel["samesite"], "Lax")
        self.assertIn("Cookie", response["Vary"])
        # What a FlashMiddleware with the same key reads.
        environ: dict[str, t.Any] = {}

        def app(environ_: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
            environ.update(environ_)
            start_response("200 OK", [])
            return [repr(wsgi_flash.get_flashed_messages(environ_, True)).encode()]

        body = b"".join(
            FlashMiddleware(app, secret_key=FLASH_KEY)(
                {"HTTP_COOKIE": f"flash={morsel.value}", "REQUEST_METHOD": "GET"},
                lambda status, headers, exc_info=None: None,
            )
        )
        self.assertEqual(body, repr([("info", "Saved.")]).encode())

    def test_the_cookie_is_secure_over_https(self) -> None:
        insecure = self.client.post("/add", {"text": "a"}).cookies["flash"]
        secure = self.client.post("/add", {"text": "b"}, secure=True).cookies["flash"]
        self.assertEqual((insecure["secure"], secure["secure"]), ("", True))

    def test_levels_and_tags(self) -> None:
        for level in (constants.INFO, constants.SUCCESS, constants.WARNING, constants.ERROR):
            self.add(f"level {level}", level)
        self.add("urgent", constants.ERROR, extra_tags="urgent")
        self.assertEqual(
            self.shown(),
            [
                [20, "info", "level 20"],
                [25, "success", "level 25"],
                [30, "warning", "level 30"],
                [40, "error", "level 40"],
                [40, "urgent error", "urgent"],
            ],
        )

    def test_debug_is_below_the_default_message_level(self) -> None:
        self.add("debug", constants.DEBUG)
        self.add("info", constants.INFO)
        self.assertEqual(self.shown(), [[20, "info", "info"]])

    @override_settings(MESSAGE_LEVEL=constants.DEBUG)
    def test_message_level_setting_records_debug(self) -> None:
        self.add("debug", constants.DEBUG)
        self.assertEqual(self.shown(), [[10, "debug", "debug"]])

    @override_settings(MESSAGE_TAGS={constants.ERROR: "danger", 50: "critical"})
    def test_message_tags_setting_and_custom_levels(self) -> None:
        self.add("bad", constants.ERROR)
        self.add("worse", 50)
        self.add("untagged", 35, extra_tags="odd")
        self.assertEqual(
            self.shown(),
            [[40, "danger", "bad"], [50, "critical", "worse"], [35, "odd", "untagged"]],
        )

    def test_safe_messages_stay_safe(self) -> None:
        self.add("<b>safe</b>", safe="1")
        self.add("<b>escaped</b>")
        page = self.client.get("/show").content.decode()
        self.assertIn("[20|info|<b>safe</b>]", page)
        self.assertIn("[20|info|&lt;b&gt;escaped&lt;/b&gt;]", page)

    def test_messages_not_iterated_stay_stored(self) -> None:
        self.add("kept")
        self.assertContains(self.client.get("/quiet"), "no messages here")
        # len() loads them but does not mark them used.
        self.assertEqual(self.client.get("/count").content, b"1")
        self.assertEqual(self.shown(), [[20, "info", "kept"]])

    def test_used_false_keeps_iterated_messages(self) -> None:
        self.add("kept")
        self.assertEqual(self.client.get("/peek").content, repr(["kept"]).encode())
        self.assertEqual(self.shown(), [[20, "info", "kept"]])
        self.assertEqual(self.shown(), [])

    def test_adding_during_iteration_keeps_the_new_ones_for_next_time(self) -> None:
        self.add("one")
        self.add("two")
        response = self.client.get("/add-during-iteration")
        self.assertEqual(response.content, repr(["one", "two"]).encode())
        self.assertEqual(self.shown(), [[20, "info", "after one"], [20, "info", "after two"]])

    def test_wsgi_flash_flash_and_context_processor_share_the_cookie(self) -> None:
        self.assertEqual(self.client.get("/wsgi-flash").status_code, 303)
        self.assertEqual(
            self.client.get("/flashed").content,
            b"[info:From wsgi_flash.flash][warning:From Django]",
        )
        self.assertEqual(self.shown(), [])

    def test_message_from_flask_is_read_by_django(self) -> None:
        flask_client = flask_app().test_client()
        flask_client.post("/")
        cookie = flask_client.get_cookie("flash")
        assert cookie is not None
        self.client.cookies["flash"] = cookie.value
        page = self.client.get("/show").content.decode()
        # Flask's categories become levels; "message" names none: INFO, kept as a tag.
        self.assertEqual(page, "[40|error|Disk full][20|message info|Plain][20|info|<b>Bold</b>]")

    def test_message_from_django_is_read_by_flask(self) -> None:
        self.add("Careful", constants.WARNING, extra_tags="urgent")
        self.add("<i>ok</i>", safe="1")
        flask_client = flask_app().test_client()
        flask_client.set_cookie("flash", self.client.cookies["flash"].value)
        self.assertEqual(
            flask_client.get("/").json, [["urgent warning", "Careful"], ["info", "<i>ok</i>"]]
        )

    def test_unread_flask_messages_go_back_as_they_came(self) -> None:
        flask_client = flask_app().test_client()
        flask_client.post("/")
        self.client.cookies["flash"] = flask_client.get_cookie("flash").value  # type: ignore[union-attr]
        # Django loads them (a new message makes it store them again) unread.
        self.add("Django's")
        flask_client.set_cookie("flash", self.client.cookies["flash"].value)
        self.assertEqual(
            flask_client.get("/").json,
            [
                ["error", "Disk full"],
                ["message", "Plain"],
                ["info", "<b>Bold</b>"],
                ["info", "Django's"],
            ],
        )

    def test_request_factory(self) -> None:
        from wsgi_flash.django import FlashStorage

        request = RequestFactory().get("/")
        request._messages = FlashStorage(request)
        messages.warning(request, "Careful")
        self.assertEqual([m.tags for m in messages.get_messages(request)], ["warning"])

    def test_request_factory_reads_the_request_cookie(self) -> None:
        from wsgi_flash.django import FlashStorage

        self.add("From the cookie", constants.SUCCESS)
        cookie = self.client.cookies["flash"].value
        request = RequestFactory().get("/", HTTP_COOKIE=f"flash={cookie}")
        request._messages = FlashStorage(request)
        self.assertEqual(
            [(m.level, m.message) for m in messages.get_messages(request)],
            [(constants.SUCCESS, "From the cookie")],
        )

    def test_a_wrapped_wsgi_app_handles_the_cookie_once(self) -> None:
        # wsgi.py still wraps the application: the Django middleware steps aside.
        from django.core.handlers.wsgi import WSGIHandler
        from werkzeug.test import Client as WerkzeugClient

        client = WerkzeugClient(wsgi_flash.stack(WSGIHandler(), secret_key=FLASH_KEY))
        response = client.post("/add", data={"text": "once"})
        self.assertEqual(len(response.headers.getlist("Set-Cookie")), 1)
        self.assertEqual(client.get("/json").json, [[20, "info", "once"]])

    def test_an_asgi_request_names_the_fix(self) -> None:
        from django.http import HttpResponse
        from django.test import AsyncRequestFactory

        from wsgi_flash.django import FlashMiddleware

        middleware = FlashMiddleware(lambda request: HttpResponse())
        with self.assertRaisesMessage(ImproperlyConfigured, "serve Django with a WSGI server"):
            middleware(AsyncRequestFactory().get("/"))

    @override_settings(WSGI_FLASH={})
    def test_missing_key_names_the_fix(self) -> None:
        with self.assertRaisesMessage(ImproperlyConfigured, "WSGI_FLASH must be a dict"):
            Client().get("/show")

    @override_settings(WSGI_FLASH={"secret_key": "short"})
    def test_bad_option_names_the_setting(self) -> None:
        with self.assertRaisesMessage(ImproperlyConfigured, "settings.WSGI_FLASH: secret_key"):
            Client().get("/show")

    @override_settings(MIDDLEWARE=["django.contrib.messages.middleware.MessageMiddleware"])
    def test_storage_without_the_middleware_names_the_fix(self) -> None:
        with self.assertRaisesMessage(ImproperlyConfigured, "wsgi_flash.django.FlashMiddleware"):
            Client().get("/show")


def parse_set_cookie(headers: list[tuple[str, str]]) -> str:
    cookie: SimpleCookie = SimpleCookie()
    for name, value in headers:
        if name.lower() == "set-cookie":
            cookie.load(value)
    return cookie["flash"].value


def test_under_gunicorn(tmp_path: pathlib.Path) -> None:
    with gunicorn(
        "django.core.wsgi:get_wsgi_application()",
        tmp_path / "gunicorn.log",
        workers=1,
        config=None,
        env={"DJANGO_SETTINGS_MODULE": "tests.django_settings"},
    ) as server:
        body = b"text=Saved+under+gunicorn&level=25"
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        status, response_headers, _ = server.request("POST", "/add", headers, body)
        assert status == 303
        cookie = parse_set_cookie(list(response_headers.items()))
        status, _, page = server.request("GET", "/show", {"Cookie": f"flash={cookie}"})
        assert (status, page) == (200, b"[25|success|Saved under gunicorn]")
        assert "Traceback" not in server.log()


@pytest.mark.parametrize("cookie", ["garbage", "a.b.c", "x" * 3000])
def test_a_bad_cookie_is_no_messages(cookie: str) -> None:
    with override_settings(**SETTINGS):
        response = Client(HTTP_COOKIE=f"flash={cookie}").get("/json")
    assert response.status_code == 200
    assert response.json() == []
