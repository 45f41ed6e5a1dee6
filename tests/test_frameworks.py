"""The example app of each framework, driven through the real framework.

Every example flashes across a redirect, gates ``/private`` with a
RequestHooks before hook that flashes and redirects, and reports the client
address and scheme as ProxyFix left them. Then the framework glue: Flask
templates calling ``get_flashed_messages()`` unchanged, the Django context
processor in both template engines, and framework request objects passed
where an environ is expected.
"""

from __future__ import annotations

import importlib
import logging
import re
import typing as t
from urllib.parse import urlsplit

import bottle
import falcon
import flask
import pyramid.request
import pytest
import webob
import werkzeug
from django.core.handlers.wsgi import WSGIRequest
from django.template.backends.django import DjangoTemplates
from django.template.backends.jinja2 import Jinja2
from markupsafe import Markup
from werkzeug.test import Client, TestResponse

import wsgi_flash.flask
from wsgi_flash import (
    RequestHooks,
    after_this_request,
    flash,
    get_flashed_messages,
    peek_flashed_messages,
    stack,
)
from wsgi_flash.malformed import report_malformed

if t.TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

SECRET = "framework-tests-secret-key-0123456789"
PROXY_PEER = "127.0.0.1"  # the examples trust proxies on loopback

EXAMPLES = [
    pytest.param(("examples.flask_app", "app"), id="flask"),
    pytest.param(("examples.django_app", "application"), id="django"),
    pytest.param(("examples.pyramid_app", "application"), id="pyramid"),
    pytest.param(("examples.bottle_app", "application"), id="bottle"),
    pytest.param(("examples.falcon_app", "application"), id="falcon"),
    pytest.param(("examples.bare_app", "application"), id="bare"),
]


class Browser:
    """A cookie-keeping client whose connections come from ``peer``
    (werkzeug's test client sets no ``REMOTE_ADDR`` of its own)."""

    def __init__(self, app: WSGIApplication, peer: str = PROXY_PEER) -> None:
        self.client = Client(app)
        self.peer = peer

    def get(self, path: str, **kwargs: t.Any) -> TestResponse:
        return self.client.get(path, environ_base={"REMOTE_ADDR": self.peer}, **kwargs)

    def post(self, path: str, **kwargs: t.Any) -> TestResponse:
        return self.client.post(path, environ_base={"REMOTE_ADDR": self.peer}, **kwargs)


@pytest.fixture(params=EXAMPLES)
def example(request: pytest.FixtureRequest) -> WSGIApplication:
    module, attribute = request.param
    return t.cast("WSGIApplication", getattr(importlib.import_module(module), attribute))


def messages(page: str) -> list[tuple[str, str]]:
    return re.findall(r'<li class="([^"]*)">([^<]*)</li>', page)


def assert_redirects_home(response: TestResponse) -> None:
    assert response.status_code == 303
    assert urlsplit(response.headers["Location"]).path == "/"


def test_flash_shows_once_after_redirect(example: WSGIApplication) -> None:
    browser = Browser(example)
    assert_redirects_home(browser.post("/save"))
    assert messages(browser.get("/").text) == [("success", "Saved.")]
    assert messages(browser.get("/").text) == []
    assert browser.client.get_cookie("flash") is None


def test_login_gate_flashes_and_redirects(example: WSGIApplication) -> None:
    browser = Browser(example)
    assert_redirects_home(browser.get("/private"))
    assert messages(browser.get("/").text) == [("error", "Log in to see that page.")]

    browser.client.set_cookie("user", "ada")
    response = browser.get("/private")
    assert response.status_code == 200
    assert response.text == "Private page for ada."
    assert messages(browser.get("/").text) == []


@pytest.mark.parametrize(
    ("peer", "client", "scheme"),
    [
        pytest.param(PROXY_PEER, "203.0.113.7", "https", id="trusted-proxy"),
        # A client talking to the app directly cannot forge its address.
        pytest.param("198.51.100.9", "198.51.100.9", "http", id="untrusted-peer"),
    ],
)
def test_app_sees_the_proxy_fixed_client(
    example: WSGIApplication, peer: str, client: str, scheme: str
) -> None:
    browser = Browser(example, peer)
    # The client forged the first entry; the proxy appended the real address.
    headers = {"X-Forwarded-For": "192.0.2.66, 203.0.113.7", "X-Forwarded-Proto": "https"}
    assert browser.get("/client", headers=headers).json == {"client": client, "scheme": scheme}
    assert f"You are {client} over {scheme}." in browser.get("/", headers=headers).text


def make_django_request(environ: WSGIEnvironment) -> t.Any:
    importlib.import_module("examples.django_app")  # configures Django's settings
    return WSGIRequest(environ)


@pytest.mark.parametrize(
    "make_request",
    [
        pytest.param(lambda environ: environ, id="environ"),
        pytest.param(werkzeug.Request, id="werkzeug"),
        pytest.param(webob.Request, id="webob"),
        pytest.param(flask.Request, id="flask"),
        pytest.param(pyramid.request.Request, id="pyramid"),
        pytest.param(make_django_request, id="django"),
        pytest.param(bottle.BaseRequest, id="bottle"),
        pytest.param(falcon.Request, id="falcon"),
    ],
)
def test_request_objects_accepted_where_an_environ_is(
    make_request: t.Callable[[WSGIEnvironment], t.Any], caplog: pytest.LogCaptureFixture
) -> None:
    def add_header(request: t.Any, response: t.Any) -> t.Any:
        response.headers["X-After-This-Request"] = "ran"
        return response

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> t.Iterable[bytes]:
        request = make_request(environ)
        if environ["PATH_INFO"] == "/flash":
            flash(request, "hello", "info")
            after_this_request(request, add_header)
            report_malformed(request, "form failed validation", field="email")
            body = ""
        else:
            peeked = peek_flashed_messages(request, with_categories=True)
            body = repr((peeked, get_flashed_messages(request, with_categories=True)))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [body.encode()]

    browser = Browser(stack(RequestHooks(app), secret_key=SECRET, malformed={}))
    with caplog.at_level(logging.WARNING, logger="wsgi_flash.malformed"):
        response = browser.get("/flash")
    assert response.headers["X-After-This-Request"] == "ran"
    assert any("form failed validation" in r.getMessage() for r in caplog.records)
    expected = [("info", "hello")]
    assert browser.get("/").text == repr((expected, expected))
    assert browser.get("/").text == repr(([], []))


# The pattern from Flask's documentation, as existing Flask templates have it.
FLASK_TEMPLATE = """\
{% with messages = get_flashed_messages(with_categories=true) %}
  {% if messages %}
    <ul class=flashes>
    {% for category, message in messages %}
      <li class="{{ category }}">{{ message }}</li>
    {% endfor %}
    </ul>
  {% endif %}
{% endwith %}
{% with errors = get_flashed_messages(category_filter=["error"]) %}
  {% if errors %}
    <p class=alert>{% for error in errors %}<b>{{ error }}</b>{% endfor %}</p>
  {% endif %}
{% endwith %}
"""


def init_app_with_options(app: flask.Flask) -> WSGIApplication:
    wsgi_flash.flask.init_app(app, secret_key=SECRET)
    return app


def stack_around_the_app(app: flask.Flask) -> WSGIApplication:
    # As the gunicorn hook does: a stack around the whole app; the app's
    # own (init_app always installs one) steps aside for what it handled.
    app.config["SECRET_KEY"] = SECRET
    wsgi_flash.flask.init_app(app)
    return stack(app, secret_key=SECRET)


@pytest.mark.parametrize(
    "wrap",
    [
        pytest.param(init_app_with_options, id="init_app-wraps-wsgi_app"),
        pytest.param(stack_around_the_app, id="stack-around-the-app"),
    ],
)
def test_flask_templates_keep_calling_get_flashed_messages(
    wrap: t.Callable[[flask.Flask], WSGIApplication],
) -> None:
    # No SECRET_KEY: Flask's own session-backed flash could not work here.
    app = flask.Flask(__name__)

    @app.post("/")
    def save() -> t.Any:
        wsgi_flash.flask.flash("Disk <full>", "error")
        wsgi_flash.flask.flash(Markup("<em>Saved</em>"), "info")
        return flask.redirect("/", 303)

    @app.get("/")
    def index() -> str:
        return flask.render_template_string(FLASK_TEMPLATE)

    browser = Browser(wrap(app))
    response = browser.post("/")
    assert_redirects_home(response)
    assert "flash=" in response.headers["Set-Cookie"]
    assert browser.client.get_cookie("session") is None
    page = browser.get("/").text
    assert messages(page) == [("error", "Disk &lt;full&gt;")]
    assert '<li class="info"><em>Saved</em></li>' in page
    assert "<p class=alert><b>Disk &lt;full&gt;</b></p>" in page
    assert "<li" not in browser.get("/").text


def django_engine(backend: str) -> t.Any:
    importlib.import_module("examples.django_app")  # configures Django's settings
    engine_class = {"django": DjangoTemplates, "jinja2": Jinja2}[backend]
    return engine_class(
        {
            "NAME": backend,
            "DIRS": [],
            "APP_DIRS": False,
            "OPTIONS": {"context_processors": ["wsgi_flash.django.flash_messages"]},
        }
    )


def django_pages(templates: dict[str, t.Any]) -> WSGIApplication:
    """A WSGI app whose POST flashes two messages and whose GET renders the
    template of its path for a real Django request, inside the stack."""

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> t.Iterable[bytes]:
        if environ["REQUEST_METHOD"] == "POST":
            flash(environ, "Disk <full>", "error")
            flash(environ, "Saved", "info")
            start_response("303 See Other", [("Location", "/")])
            return [b""]
        body = templates[environ["PATH_INFO"]].render(request=WSGIRequest(environ))
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [body.encode()]

    return stack(app, secret_key=SECRET)


@pytest.mark.parametrize(
    ("backend", "source", "expected"),
    [
        pytest.param(
            "django",
            "{% for category, message in flashed_messages %}[{{ category }}:{{ message }}]"
            "{% endfor %}",
            "[error:Disk &lt;full&gt;][info:Saved]",
            id="django-flashed_messages",
        ),
        pytest.param(
            "django",
            "{% for message in get_flashed_messages %}[{{ message }}]{% endfor %}",
            "[Disk &lt;full&gt;][Saved]",
            id="django-get_flashed_messages",
        ),
        pytest.param(
            "jinja2",
            "{% for category, message in"
            ' get_flashed_messages(with_categories=true, category_filter=["error"]) %}'
            "[{{ category }}:{{ message }}]{% endfor %}",
            "[error:Disk &lt;full&gt;]",
            id="jinja2-get_flashed_messages",
        ),
    ],
)
def test_django_context_processor(backend: str, source: str, expected: str) -> None:
    browser = Browser(django_pages({"/": django_engine(backend).from_string(source)}))
    browser.post("/")
    assert browser.get("/").text == expected
    assert "[" not in browser.get("/").text


def test_django_context_processor_leaves_unshown_messages_stored() -> None:
    engine = django_engine("django")
    pages = {
        "/quiet": engine.from_string("no messages here"),
        "/": engine.from_string("{{ flashed_messages|length }}"),
    }
    browser = Browser(django_pages(pages))
    browser.post("/")
    assert browser.get("/quiet").text == "no messages here"
    assert browser.get("/").text == "2"
    assert browser.get("/").text == "0"
