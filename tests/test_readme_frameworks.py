"""The README's framework snippets run as written, against the real
frameworks.

A block marked ``.. test-snippet: <name>`` (an rST comment just above its
``.. code-block::``) is extracted from README.rst and run here: blocks that
end in assertions run as they are; the others (settings, an app module, an
``.ini``) are run the way their text says to use them, and checked through
the framework's own test tools or a real server. Every Python and ini block
of the Frameworks section must be marked, so none goes untested.
"""

from __future__ import annotations

import io
import json
import logging
import os
import pathlib
import re
import sys
import textwrap
import types
import typing as t

import flask
import pytest
import webtest
from django.conf import settings as django_settings
from django.test import Client as DjangoClient
from django.test import override_settings
from django.urls import path
from pyramid.paster import get_app
from werkzeug.test import Client

from tests.servers import ROOT, gunicorn

README = ROOT / "README.rst"
KEY = "readme-snippets-secret-key-0123456789"
FLASK_KEY = "readme-snippets-flask-key-0123456789"
_MARKER = re.compile(r"^\.\. test-snippet: ([\w-]+)\n\.\. code-block:: (\w+)\n\n", re.M)


def snippets() -> dict[str, tuple[str, str]]:
    """Marked blocks by name: (language, dedented code)."""
    text = README.read_text(encoding="utf-8")
    found: dict[str, tuple[str, str]] = {}
    for match in _MARKER.finditer(text):
        lines = []
        for line in text[match.end() :].splitlines():
            if line and not line.startswith(" "):
                break
            lines.append(line)
        assert match.group(1) not in found, f"two snippets named {match.group(1)}"
        found[match.group(1)] = (match.group(2), textwrap.dedent("\n".join(lines)).strip() + "\n")
    return found


def code(name: str) -> str:
    return snippets()[name][1]


@pytest.fixture(autouse=True)
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WSGI_FLASH_SECRET_KEY", KEY)
    monkeypatch.setenv("SECRET_KEY", FLASK_KEY)


def run(name: str, module_name: str = "readme_snippet") -> dict[str, t.Any]:
    namespace: dict[str, t.Any] = {"__name__": module_name}
    exec(compile(code(name), f"README.rst:{name}", "exec"), namespace)
    return namespace


def framework_blocks() -> list[str]:
    """The code-block languages in the Frameworks section, marked or not,
    with the marker's name when there is one."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("\nFrameworks\n---") : text.index("\nThe demo\n---")]
    blocks = []
    previous = ""
    for line in section.splitlines():
        block = re.match(r"\.\. code-block:: ([\w+-]+)", line)
        if block:
            marker = re.match(r"\.\. test-snippet: ([\w-]+)", previous)
            blocks.append(f"{block.group(1)}:{marker.group(1) if marker else '-'}")
        previous = line
    return blocks


def test_every_python_and_ini_block_is_run() -> None:
    blocks = framework_blocks()
    unmarked = [b for b in blocks if b.endswith(":-") and b.split(":")[0] in ("python", "ini")]
    assert unmarked == []
    tested = {name for name in snippets()}
    ran_here = {
        "quickstart-flask", "flask", "django-settings", "django-views", "django-wsgi",
        "pyramid", "pyramid-ini", "bottle", "falcon", "bare", "json-logging",
    }  # fmt: skip
    assert tested == ran_here


def test_quickstart_flask() -> None:
    app = run("quickstart-flask")["app"]

    @app.post("/")
    def save() -> str:
        flask.flash("Saved.", "success")
        return ""

    @app.get("/")
    def show() -> str:
        return flask.render_template_string("{{ get_flashed_messages(with_categories=true) }}")

    client = app.test_client()
    client.post("/")
    assert client.get_cookie("flash") is not None
    assert client.get_cookie("session") is None  # not in Flask's session any more
    assert client.get("/").text == "[(&#39;success&#39;, &#39;Saved.&#39;)]"


def test_flask() -> None:
    namespace = run("flask")  # its own assertions: a flash shows once
    assert namespace["client"].get_cookie("session") is None


def django_project() -> tuple[dict[str, t.Any], str]:
    """The settings and views snippets as a project: its settings and the
    name of a URLconf module routing / and /save to the views."""
    if not django_settings.configured:
        import importlib

        importlib.import_module("examples.django_app")  # configures Django
    import django

    django.setup()
    project = {k: v for k, v in run("django-settings").items() if k.isupper()}
    views = run("django-views")
    urls = types.ModuleType("readme_django_urls")
    urls.urlpatterns = [path("", views["index"]), path("save", views["save"])]  # type: ignore[attr-defined]
    sys.modules[urls.__name__] = urls
    project.update(
        ROOT_URLCONF=urls.__name__,
        ALLOWED_HOSTS=["testserver", "localhost"],
        INSTALLED_APPS=["django.contrib.messages"],
    )
    return project, urls.__name__


SHOWN = "success: Saved.\nurgent warning: Disk almost full."


def test_django_settings_and_views() -> None:
    project, _ = django_project()
    with override_settings(**project):
        client = DjangoClient()
        assert client.post("/save").status_code == 302
        assert client.get("/").content.decode() == SHOWN
        assert client.get("/").content == b""


def test_django_wsgi_wrapping_for_proxy_fix() -> None:
    project, _ = django_project()
    with override_settings(**project):
        application = run("django-wsgi")["application"]
        client = Client(application)
        peer = {"REMOTE_ADDR": "127.0.0.1"}
        assert client.post("/save", environ_base=peer).status_code == 302
        assert client.get("/", environ_base=peer).text == SHOWN


def test_pyramid_app_and_ini(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    language, ini = snippets()["pyramid-ini"]
    assert language == "ini"
    (tmp_path / "myapp.py").write_text(code("pyramid"), encoding="utf-8")
    (tmp_path / "production.ini").write_text(ini, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        app = webtest.TestApp(
            get_app(str(tmp_path / "production.ini"), "main", options={"flash_secret": KEY})
        )
        response = app.get("/save")
        assert response.status_int == 303
        assert "SameSite=Strict" in response.headers["Set-Cookie"]
        expected = {"messages": ["Saved."], "warnings": ["Disk almost full."]}
        assert response.follow().json == expected
        assert app.get("/").json == {"messages": [], "warnings": []}
    finally:
        sys.modules.pop("myapp", None)


def test_bottle_under_gunicorn(tmp_path: pathlib.Path) -> None:
    (tmp_path / "myapp.py").write_text(code("bottle"), encoding="utf-8")
    env = {
        "WSGI_FLASH_SECRET_KEY": KEY,
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)]),
    }
    with gunicorn(
        "myapp:application", tmp_path / "gunicorn.log", workers=1, config=None, env=env
    ) as server:
        status, headers, _ = server.request("POST", "/save")
        assert status == 303
        cookie = headers["Set-Cookie"].split(";")[0]
        assert server.json("/", {"Cookie": cookie}) == {"messages": [["success", "Saved."]]}
        assert "Traceback" not in server.log()


def test_falcon() -> None:
    run("falcon")  # its own assertions, through falcon.testing.TestClient


def test_bare_wsgi() -> None:
    run("bare")  # its own assertions, through Werkzeug's test client


def test_json_logging() -> None:
    logger = logging.getLogger("wsgi_flash.malformed")
    level = logger.level
    namespace = run("json-logging")
    handler = namespace["handler"]
    try:
        stream = io.StringIO()
        handler.setStream(stream)
        logger.warning("uri.nul_byte logged", extra={"check": "uri.nul_byte"})
        record = json.loads(stream.getvalue())
        assert record["levelname"] == "WARNING"
        assert record["name"] == "wsgi_flash.malformed"
        assert record["check"] == "uri.nul_byte"
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
