"""Every code example in the docs and the README runs as written, against
the real frameworks.

A block is marked by an rST comment on the line just above its
``.. code-block::``: ``.. test-snippet: <name>`` means a test here runs it
(the ``RUNNERS`` table names one per snippet), ``.. not-run: <reason>``
means it cannot run, and says why. Every Python block in ``docs/*.rst`` and
README.rst carries one of the two, every name is run, and no runner is left
without its block, so an example that stops working, or a new one nobody
runs, fails here. Blocks that end in assertions run as they are; the others
(settings, an app module, an ``.ini``, a fragment that wraps ``app``) are
run the way their text says to use them, and checked through the
framework's own test tools or a real server. Nothing here needs Sphinx.
"""

from __future__ import annotations

import io
import json
import logging
import os
import pathlib
import re
import subprocess
import sys
import textwrap
import types
import typing as t
from dataclasses import dataclass

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
from wsgi_flash import MalformedRequestLogger, ProxyFix, get_flashed_messages

if t.TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

PAGES = [*sorted((ROOT / "docs").glob("*.rst")), ROOT / "README.rst"]
KEY = "docs-snippets-secret-key-0123456789"
FLASK_KEY = "docs-snippets-flask-key-0123456789"
_DIRECTIVE = re.compile(r"^(?P<indent>\s*(?:[-*] )?)\.\. (?:code-block|code|sourcecode)::\s*(\S*)")
_MARKER = re.compile(r"^\s*(?:[-*] )?\.\. (test-snippet|not-run):(.*)$")


@dataclass(frozen=True)
class Block:
    page: str
    line: int
    language: str
    kind: str  # "test-snippet", "not-run" or "" (unmarked)
    label: str  # the snippet's name, or the reason it is not run
    code: str

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


def blocks(page: pathlib.Path) -> list[Block]:
    """Every code block of ``page``, with the marker above it, if any."""
    lines = page.read_text(encoding="utf-8").splitlines()
    found = []
    for number, line in enumerate(lines):
        directive = _DIRECTIVE.match(line)
        if not directive:
            continue
        column = len(directive.group("indent"))
        body: list[str] = []
        for following in lines[number + 1 :]:
            indent = len(following) - len(following.lstrip())
            if following.strip() and indent <= column:
                break
            if not body and following.strip().startswith(":"):
                continue  # a directive option such as :caption:
            body.append(following)
        previous = next((x for x in reversed(lines[:number]) if x.strip()), "")
        marker = _MARKER.match(previous)
        found.append(
            Block(
                page=str(page.relative_to(ROOT)),
                line=number + 1,
                language=directive.group(2),
                kind=marker.group(1) if marker else "",
                label=marker.group(2).strip() if marker else "",
                code=textwrap.dedent("\n".join(body)).strip() + "\n",
            )
        )
    return found


def all_blocks() -> list[Block]:
    return [block for page in PAGES for block in blocks(page)]


def snippets() -> dict[str, Block]:
    found: dict[str, Block] = {}
    for block in all_blocks():
        if block.kind == "test-snippet":
            assert block.label not in found, f"two snippets named {block.label}: {block.where}"
            found[block.label] = block
    return found


def code(name: str) -> str:
    return snippets()[name].code


def run(name: str, **namespace: t.Any) -> dict[str, t.Any]:
    """Execute snippet ``name`` as a module, with ``namespace`` predefined
    (a fragment's ``app``)."""
    namespace.setdefault("__name__", "docs_snippet")
    block = snippets()[name]
    exec(compile(block.code, f"{block.where} ({name})", "exec"), namespace)
    return namespace


def text_app(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
    """The ``app`` a fragment wraps: the client as the app sees it, and the
    flashed messages when a flash middleware is around."""
    shown = {
        "remote_addr": environ["REMOTE_ADDR"],
        "scheme": environ["wsgi.url_scheme"],
        "host": environ.get("HTTP_HOST"),
    }
    if "wsgi_flash.flash" in environ:
        shown["messages"] = get_flashed_messages(environ, with_categories=True)
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(shown).encode()]


@pytest.fixture(autouse=True)
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WSGI_FLASH_SECRET_KEY", KEY)
    monkeypatch.setenv("SECRET_KEY", FLASK_KEY)


# -- the rules -------------------------------------------------------------------


def test_every_python_block_is_run_or_says_why() -> None:
    python = [b for b in all_blocks() if b.language in ("python", "python3", "py", "pycon")]
    assert len(python) >= 20, "the extraction lost the docs' Python blocks"
    unmarked = [b.where for b in python if not b.kind]
    assert unmarked == [], "mark each with .. test-snippet: <name> or .. not-run: <reason>"
    no_reason = [b.where for b in python if b.kind == "not-run" and len(b.label) < 10]
    assert no_reason == [], ".. not-run: needs a reason a reader can check"


def test_every_snippet_has_a_runner_and_every_runner_a_snippet() -> None:
    found = set(snippets())
    assert found <= set(RUNNERS), "add a runner to RUNNERS for each new snippet"
    assert set(RUNNERS) <= found, "a runner lost its snippet"


def test_marker_and_block_pairing_is_what_the_reader_sees() -> None:
    # A marker must sit right above its block: a marker followed by prose
    # would make the next block "tested" by accident.
    for page in PAGES:
        lines = page.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines):
            if _MARKER.match(line):
                following = lines[number + 1] if number + 1 < len(lines) else ""
                assert _DIRECTIVE.match(following), f"{page.name}:{number + 1}"


# -- the runners -------------------------------------------------------------------


def check_bare_quick_start(namespace: dict[str, t.Any]) -> None:
    client = Client(namespace["app"])
    assert client.get("/save").status_code == 303
    assert client.get("/").text == "[('success', 'Saved.')]"
    assert client.get("/").text == "[]"


def readme_bare() -> None:
    check_bare_quick_start(run("readme-bare"))


def quickstart_bare() -> None:
    check_bare_quick_start(run("quickstart-bare"))


def readme_flask() -> None:
    app = run("readme-flask")["app"]

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


def flask_app() -> None:
    namespace = run("flask")  # its own assertions: a flash shows once
    assert namespace["client"].get_cookie("session") is None


def django_project(tmp_path: pathlib.Path) -> dict[str, t.Any]:
    """A real ``startproject`` settings.py with the settings snippet added
    at its end, and the views snippet routed at / and /save: the settings
    to override."""
    if not django_settings.configured:
        import importlib

        importlib.import_module("examples.django_app")  # configures Django
    import django

    django.setup()
    subprocess.run(
        [sys.executable, "-m", "django", "startproject", "mysite", str(tmp_path)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    settings_py = tmp_path / "mysite" / "settings.py"
    text = settings_py.read_text(encoding="utf-8") + "\n" + code("django-settings")
    namespace: dict[str, t.Any] = {"__file__": str(settings_py), "__name__": "mysite.settings"}
    exec(compile(text, str(settings_py), "exec"), namespace)
    views = run("django-views")
    template = code("django-template")

    def page(request: t.Any) -> t.Any:
        from django.http import HttpResponse
        from django.template import engines

        return HttpResponse(engines["django"].from_string(template).render({}, request))

    urls = types.ModuleType("docs_django_urls")
    urls.urlpatterns = [  # type: ignore[attr-defined]
        path("", views["index"]),
        path("save", views["save"]),
        path("page", page),
    ]
    sys.modules[urls.__name__] = urls
    names = ("INSTALLED_APPS", "MIDDLEWARE", "TEMPLATES", "MESSAGE_STORAGE", "WSGI_FLASH")
    project = {name: namespace[name] for name in names}
    project.update(ROOT_URLCONF=urls.__name__, ALLOWED_HOSTS=["testserver", "localhost"])
    return project


SHOWN = "success: Saved.\nurgent warning: Disk almost full."


def django_settings_views_and_template(tmp_path: pathlib.Path) -> None:
    project = django_project(tmp_path)
    middleware = project["MIDDLEWARE"]
    assert middleware.index("wsgi_flash.django.FlashMiddleware") + 1 == middleware.index(
        "django.contrib.messages.middleware.MessageMiddleware"
    )
    processors = project["TEMPLATES"][0]["OPTIONS"]["context_processors"]
    assert "django.contrib.messages.context_processors.messages" in processors  # kept
    assert processors[-1] == "wsgi_flash.django.flash_messages"
    with override_settings(**project):
        client = DjangoClient()
        assert client.post("/save").status_code == 302
        assert client.get("/").content.decode() == SHOWN
        assert client.get("/").content == b""
        client.post("/save")
        html = client.get("/page").content.decode()
        assert '<li class="success">Saved.</li>' in html
        assert '<li class="urgent warning">Disk almost full.</li>' in html


def django_wsgi(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = django_project(tmp_path)
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "placeholder")
    monkeypatch.delenv("DJANGO_SETTINGS_MODULE")
    with override_settings(**project):
        application = run("django-wsgi")["application"]
        assert os.environ["DJANGO_SETTINGS_MODULE"] == "mysite.settings"
        client = Client(application)
        peer = {"REMOTE_ADDR": "127.0.0.1"}
        # GET: a POST from outside Django's test client meets startproject's CSRF check.
        assert client.get("/save", environ_base=peer).status_code == 302
        assert client.get("/", environ_base=peer).text == SHOWN


def pyramid_app_and_ini(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ini = snippets()["pyramid-ini"]
    assert ini.language == "ini"
    (tmp_path / "myapp.py").write_text(code("pyramid"), encoding="utf-8")
    (tmp_path / "production.ini").write_text(ini.code, encoding="utf-8")
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


def bottle_under_gunicorn(tmp_path: pathlib.Path) -> None:
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


def falcon_app() -> None:
    run("falcon")  # its own assertions, through falcon.testing.TestClient


def bare_wsgi() -> None:
    run("bare")  # its own assertions, through Werkzeug's test client


def hooks() -> None:
    namespace = run("hooks")
    closed = []

    @namespace["hooks"].teardown_request
    def count(request: t.Any, exc: BaseException | None) -> None:
        closed.append(request.path)

    client = Client(namespace["hooks"])
    # buffered: the client reads and closes each body, as a server does,
    # which is when teardown hooks run.
    home = client.get("/", buffered=True)
    assert (home.status_code, home.text) == (200, "hello")
    assert home.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get("/missing", buffered=True).status_code == 404
    login = client.get("/admin/users", buffered=True)
    assert (login.status_code, login.headers["Location"]) == (302, "/login")
    client.set_cookie("user", "ada")
    assert client.get("/admin", buffered=True).text == "hello"
    assert closed == ["/", "/missing", "/admin/users", "/admin"]


def get(app: t.Any, path: str = "/", peer: str = "127.0.0.1", **headers: str) -> t.Any:
    environ = {"REMOTE_ADDR": peer}
    return Client(app).get(path, headers=headers, environ_base=environ)


def proxy() -> None:
    app = run("proxy", app=text_app)["app"]
    forwarded = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
    trusted = get(app, **forwarded, **{"X-Forwarded-Host": "shop.example"}).json
    assert trusted == {"remote_addr": "203.0.113.7", "scheme": "https", "host": "shop.example"}
    assert get(app, peer="198.51.100.1", **forwarded).json["remote_addr"] == "198.51.100.1"


def proxy_table(name: str) -> t.Callable[[], None]:
    """A ProxyFix(...) expression of the proxy table, with the request that
    proxy sends and one a client sends around it."""

    def test() -> None:
        cdn = ["198.51.100.0/24"]
        app = eval(
            compile(code(name), name, "eval"),
            {"ProxyFix": ProxyFix, "app": text_app, "CDN_RANGES": cdn},
        )
        client = "203.0.113.7"
        if name == "proxy-nginx-forwarded":
            seen = get(app, Forwarded=f'for="{client}";proto=https;host="shop.example"').json
        elif name == "proxy-cdn":
            headers = {
                "X-Forwarded-For": f"{client}, 198.51.100.9",
                "X-Forwarded-Proto": "https, https",
            }
            seen = get(app, peer="10.0.0.2", **headers).json
            bypass = {"X-Forwarded-For": "6.6.6.6, 203.0.113.99", "X-Forwarded-Proto": "https"}
            assert get(app, peer="10.0.0.2", **bypass).json["remote_addr"] == "203.0.113.99"
        else:
            peer = "10.0.0.2" if name == "proxy-haproxy" else "127.0.0.1"
            headers = {"X-Forwarded-For": client, "X-Forwarded-Proto": "https"}
            if name == "proxy-nginx-x-forwarded":
                headers["X-Forwarded-Host"] = "shop.example"
            seen = get(app, peer=peer, **headers).json
            assert get(app, peer="192.0.2.1", **headers).json["remote_addr"] == "192.0.2.1"
        assert (seen["remote_addr"], seen["scheme"]) == (client, "https")

    return test


def malformed() -> None:
    app = run("malformed", app=text_app)["app"]
    assert get(app, Host="www.example.com").status_code == 200
    refused = get(app, Host="evil.example")
    assert (refused.status_code, refused.text.strip()) == (400, "Bad Request (host.not_allowed)")
    assert app.stats["host.not_allowed"]["rejected"] == 1


def report_malformed_snippet() -> None:
    signup = run("report-malformed")["signup"]
    app = MalformedRequestLogger(signup)
    client = Client(app)
    bad = client.post("/", data={"email": "nobody"})
    assert bad.status_code == 400
    assert client.post("/", data={"email": "ada@example.com"}).text == "Welcome."
    assert app.stats["app.report"]["found"] == 1


def json_logging() -> None:
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


def whole_stack() -> None:
    application = run("stack", app=text_app)["application"]
    client = Client(application)
    gate = client.get("/account", environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert (gate.status_code, gate.headers["Location"]) == (303, "/login")
    shown = client.get("/login", environ_base={"REMOTE_ADDR": "10.0.0.2"}).json
    assert shown["messages"] == [["error", "Please log in first."]]
    refused = client.get("/a%zz", environ_base={"REMOTE_ADDR": "10.0.0.2", "RAW_URI": "/a%zz"})
    assert refused.status_code == 400


def config_file_and_load(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    toml = snippets()["config-toml"]
    assert toml.language == "toml"
    # The file's keys are placeholders; WSGI_FLASH_SECRET_KEY overrides them.
    text = toml.code.replace('"..."', '"file-key-that-the-environment-overrides"')
    (tmp_path / "wsgi_flash.toml").write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    application = run("config-load", application=text_app)["application"]
    client = Client(application)
    hops = {"X-Forwarded-For": "203.0.113.7, 10.0.0.9"}
    seen = client.get("/", headers=hops, environ_base={"REMOTE_ADDR": "10.0.0.2"}).json
    assert seen["remote_addr"] == "203.0.113.7"  # x_for=2 from the keyword argument
    assert client.get("/a%zz", environ_base={"RAW_URI": "/a%zz"}).status_code == 400


def gunicorn_conf(tmp_path: pathlib.Path) -> None:
    conf = tmp_path / "gunicorn.conf.py"
    conf.write_text(code("gunicorn-conf"), encoding="utf-8")
    (tmp_path / "myapp.py").write_text(
        "from wsgi_flash import flash\n"
        "def app(environ, start_response):\n"
        "    flash(environ, 'hi')\n"
        "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
        "    return [b'ok']\n",
        encoding="utf-8",
    )
    env = {"WSGI_FLASH_SECRET_KEY": KEY, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    with gunicorn(
        "myapp:app", tmp_path / "gunicorn.log", workers=1, config=str(conf), env=env
    ) as server:
        status, headers, body = server.request("GET", "/")
        # flash() worked, so post_worker_init wrapped the app in the stack.
        assert (status, body) == (200, b"ok")
        assert headers["Set-Cookie"].startswith("flash=")


def logging_line() -> None:
    script = code("logging-line") + "logging.getLogger('wsgi_flash.proxy').warning('seen')\n"
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\d [\d:,]+ WARNING wsgi_flash\.proxy: seen\n", result.stderr)


def paste_app(global_config: dict[str, str], **settings: str) -> t.Any:
    """The ``[app:myapp]`` of the PasteDeploy snippet, in the test."""
    return text_app


def paste_ini(tmp_path: pathlib.Path) -> None:
    from paste.deploy import loadapp

    ini = snippets()["paste-ini"]
    assert ini.language == "ini" and "use = egg:myapp" in ini.code
    text = ini.code.replace("use = egg:myapp", "use = call:tests.test_docs_snippets:paste_app")
    (tmp_path / "app.ini").write_text(text, encoding="utf-8")
    app = loadapp(f"config:{tmp_path / 'app.ini'}", global_conf={"flash_secret": KEY})
    seen = get(app, peer="10.1.2.3", **{"X-Forwarded-For": "203.0.113.7"}).json
    assert (seen["remote_addr"], seen["messages"]) == ("203.0.113.7", [])
    refused = Client(app).get(
        "/a%zz", environ_base={"RAW_URI": "/a%zz", "REMOTE_ADDR": "127.0.0.1"}
    )
    assert refused.status_code == 400


def check_metrics_endpoint(app: t.Any, inner_body: bytes) -> None:
    scrape = get(app, "/metrics")
    assert scrape.status_code == 200
    assert "wsgi_flash_flash_messages_total" in scrape.text
    # Anyone outside `allow` gets the app, whatever header it sends.
    other = get(app, "/metrics", peer="203.0.113.7", **{"X-Forwarded-For": "127.0.0.1"})
    assert other.data == inner_body


def metrics_code() -> None:
    app = run("metrics-code")["app"]
    assert get(app, "/").text == "Hello"
    check_metrics_endpoint(app, b"Hello")


def metrics_toml(tmp_path: pathlib.Path) -> None:
    from wsgi_flash import Config

    toml = snippets()["metrics-toml"]
    assert toml.language == "toml"
    text = toml.code.replace('"..."', '"file-key-that-the-environment-overrides"')
    (tmp_path / "wsgi_flash.toml").write_text(text, encoding="utf-8")
    app = Config.load(tmp_path / "wsgi_flash.toml", environ=os.environ).wrap(text_app)
    inner = get(app, "/metrics", peer="203.0.113.7")
    check_metrics_endpoint(app, inner.data)
    assert inner.json["remote_addr"] == "203.0.113.7"


RUNNERS: dict[str, t.Callable[..., None]] = {
    "readme-bare": readme_bare,
    "readme-flask": readme_flask,
    "quickstart-bare": quickstart_bare,
    "flask": flask_app,
    "django-settings": django_settings_views_and_template,
    "django-views": django_settings_views_and_template,
    "django-template": django_settings_views_and_template,
    "django-wsgi": django_wsgi,
    "pyramid": pyramid_app_and_ini,
    "pyramid-ini": pyramid_app_and_ini,
    "bottle": bottle_under_gunicorn,
    "falcon": falcon_app,
    "bare": bare_wsgi,
    "hooks": hooks,
    "proxy": proxy,
    "proxy-nginx-x-forwarded": proxy_table("proxy-nginx-x-forwarded"),
    "proxy-nginx-forwarded": proxy_table("proxy-nginx-forwarded"),
    "proxy-haproxy": proxy_table("proxy-haproxy"),
    "proxy-cdn": proxy_table("proxy-cdn"),
    "malformed": malformed,
    "report-malformed": report_malformed_snippet,
    "json-logging": json_logging,
    "stack": whole_stack,
    "config-toml": config_file_and_load,
    "config-load": config_file_and_load,
    "gunicorn-conf": gunicorn_conf,
    "logging-line": logging_line,
    "paste-ini": paste_ini,
    "metrics-code": metrics_code,
    "metrics-toml": metrics_toml,
}

_FIXTURES = ("tmp_path", "monkeypatch")


@pytest.mark.parametrize(
    "runner",
    # One test per runner, named after the snippets it runs.
    [
        pytest.param(runner, id="+".join(n for n, r in RUNNERS.items() if r is runner))
        for runner in dict.fromkeys(RUNNERS.values())
    ],
)
def test_snippet(
    runner: t.Callable[..., None], tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import inspect

    wanted = inspect.signature(runner).parameters
    available = {"tmp_path": tmp_path, "monkeypatch": monkeypatch}
    runner(**{name: available[name] for name in wanted if name in _FIXTURES})
