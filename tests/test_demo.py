"""The demo, page by page, through Werkzeug's test client: built from
keyword options (create_app) and from examples/demo.toml (as
``wsgi-flash serve examples.demo:demo_app --config examples/demo.toml``
builds it)."""

from __future__ import annotations

import html
import logging
import pathlib
import re
import secrets
import typing as t

import pytest
from werkzeug.test import Client

from examples import demo
from tests.servers import ROOT, free_port, serve
from wsgi_flash.config import Config, ConfigError, stack

if t.TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

TOML = pathlib.Path(demo.__file__).with_name("demo.toml")
# What `make demo` passes in WSGI_FLASH_SECRET_KEY: a new random key.
KEY = secrets.token_hex(32)


def messages(page: str) -> list[tuple[str, str]]:
    return re.findall(r'<div class="flash (\w+)">(.*?)</div>', page)


def records(page: str) -> list[tuple[str, str, str]]:
    return re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>", page)


def cells(page: str, label: str) -> tuple[str, str]:
    """The proxy page's (as ProxyFix sees it, as the server handed it over)."""
    match = re.search(rf"<tr><th>{label}</th><td>(.*?)</td><td>(.*?)</td></tr>", page)
    assert match, page
    return match.group(1), match.group(2)


def from_peer(app: WSGIApplication, remote_addr: str) -> WSGIApplication:
    """``app`` as a server on a socket calls it: with the peer's address."""

    def call(environ: WSGIEnvironment, start_response: StartResponse) -> t.Iterable[bytes]:
        environ.setdefault("REMOTE_ADDR", remote_addr)
        return app(environ, start_response)

    return call


@pytest.fixture(autouse=True)
def _fresh_log() -> None:
    demo.RECENT.records.clear()


@pytest.fixture(
    params=[
        pytest.param(lambda: demo.create_app(), id="keywords"),
        pytest.param(lambda: stack(demo.demo_app, TOML, secret_key=KEY), id="toml"),
    ]
)
def client(request: pytest.FixtureRequest) -> Client:
    return Client(from_peer(request.param(), "127.0.0.1"))


def test_flash_shows_once_after_redirect(client: Client) -> None:
    response = client.post("/flash", data={"message": "Hello <world>", "category": "success"})
    assert response.status_code == 303 and response.headers["Location"] == "/"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("flash=") and "; HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert messages(client.get("/").text) == [("success", "Hello &lt;world&gt;")]
    assert messages(client.get("/").text) == []


def test_several_categories(client: Client) -> None:
    client.post("/flash-many")
    assert [c for c, _ in messages(client.get("/").text)] == ["success", "info", "warning", "error"]


def test_unknown_category_and_empty_message(client: Client) -> None:
    client.post("/flash", data={"message": "x", "category": "<script>"})
    client.post("/flash", data={"message": "  ", "category": "info"})
    assert messages(client.get("/").text) == [("info", "x"), ("error", "Type a message first.")]


def test_login_gate_flashes_and_redirects(client: Client) -> None:
    response = client.get("/account")
    assert response.status_code == 303
    assert response.headers["Location"] == "/login?next=/account"
    login_page = client.get("/login?next=/account").text
    assert messages(login_page) == [("warning", "Please log in to see your account.")]
    assert 'name="next" value="/account"' in login_page

    response = client.post("/login", data={"name": "Ada <L>", "next": "/account"})
    assert response.status_code == 303 and response.headers["Location"] == "/account"
    page = client.get("/account")
    assert page.status_code == 200
    assert messages(page.text) == [("success", "Logged in as Ada &lt;L&gt;.")]
    assert '<strong id="user-name">Ada &lt;L&gt;</strong>' in page.text
    assert "<L>" not in page.text

    response = client.post("/logout")
    assert response.status_code == 303 and response.headers["Location"] == "/"
    assert messages(client.get("/").text) == [("info", "Logged out.")]
    assert client.get("/account").status_code == 303


def test_login_needs_a_name(client: Client) -> None:
    response = client.post("/login", data={"name": " ", "next": "/account"})
    assert response.headers["Location"] == "/login?next=/account"
    assert client.get("/account").status_code == 303
    assert messages(client.get("/login").text) == [
        ("error", "Type a name to log in as."),
        ("warning", "Please log in to see your account."),
    ]


@pytest.mark.parametrize(
    "target",
    [
        pytest.param("//evil.example/", id="network-path"),
        pytest.param("https://evil.example/", id="absolute"),
        pytest.param("/\\evil.example/", id="backslash"),
        pytest.param("/a\r\nSet-Cookie: x=1", id="crlf"),
    ],
)
def test_login_never_redirects_off_site(client: Client, target: str) -> None:
    response = client.post("/login", data={"name": "Ada", "next": target})
    assert response.status_code == 303 and response.headers["Location"] == "/"


def test_proxy_page_with_a_trusted_forwarded_for(client: Client) -> None:
    page = client.get(
        "/proxy", headers={"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
    ).text
    assert cells(page, "Client address") == ("203.0.113.7", "127.0.0.1")
    assert cells(page, "Scheme") == ("https", "http")
    assert cells(page, "Host") == ("localhost", "localhost")
    assert "curl -H 'X-Forwarded-For: 203.0.113.7'" in page
    assert "https' http://localhost/proxy</pre>" in page


def test_proxy_page_without_proxy_headers(client: Client) -> None:
    page = client.get("/proxy").text
    assert cells(page, "Client address") == ("127.0.0.1", "127.0.0.1")
    assert cells(page, "Scheme") == ("http", "http")


def test_proxy_headers_from_an_untrusted_peer_are_ignored(caplog: pytest.LogCaptureFixture) -> None:
    client = Client(from_peer(demo.create_app(), "198.51.100.9"))
    with caplog.at_level(logging.WARNING, logger="wsgi_flash.proxy"):
        page = client.get("/proxy", headers={"X-Forwarded-For": "203.0.113.7"}).text
    assert cells(page, "Client address") == ("198.51.100.9", "198.51.100.9")
    assert any("untrusted peer 198.51.100.9" in r.getMessage() for r in caplog.records)


def test_malformed_link_is_logged_and_shown(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    log_page = client.get("/log").text
    assert '<a id="bad-link" href="/search?q=%zz">' in log_page
    assert records(log_page) == []
    with caplog.at_level(logging.WARNING, logger="wsgi_flash.malformed"):
        response = client.get("/search?q=%zz")
    assert response.status_code == 200  # logged, not rejected
    logged = [r for r in caplog.records if r.name == "wsgi_flash.malformed"]
    assert [getattr(r, "check", None) for r in logged] == ["uri.percent_encoding"]
    assert '<code id="query">%zz</code>' in response.text
    [(logger, level, message)] = records(response.text)
    assert (logger, level) == ("wsgi_flash.malformed", "WARNING")
    assert "uri.percent_encoding" in html.unescape(message)
    assert "GET /search?q=%zz" in html.unescape(message)
    # The record stays on the log page for the next visitor.
    assert records(client.get("/log").text) == [(logger, level, message)]


def test_logged_request_values_are_html_escaped(client: Client) -> None:
    page = client.get("/search?q=%zz<script>alert(1)</script>").text
    assert "<script>" not in page
    [(_, _, message)] = records(page)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in message


def test_log_keeps_only_the_last_records(client: Client) -> None:
    for number in range(12):
        client.get(f"/search?q=%zz{number}")
    shown = records(client.get("/log").text)
    assert len(shown) == 8
    # Newest first: requests 11 down to 4.
    assert [re.search(r"%zz(\d+)", m).group(1) for _, _, m in shown] == [  # type: ignore[union-attr]
        str(n) for n in range(11, 3, -1)
    ]


def test_oversized_flash_keeps_the_newest_and_warns(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="wsgi_flash.flash"):
        response = client.post("/flash-long")
    cookie = response.headers["Set-Cookie"]
    # 3 x 1,500 random letters cannot fit a browser's 4 KB cookie; 2 can.
    assert 3000 < len(cookie) <= 4093
    assert [r.getMessage() for r in caplog.records if r.name == "wsgi_flash.flash"] == [
        "flash cookie would exceed max_cookie_size=4093 bytes: dropped the 1 oldest of 3 message(s)"
    ]
    shown = messages(client.get("/").text)
    assert [m[:21] for _, m in shown] == ["Long message 2 of 3: ", "Long message 3 of 3: "]
    assert all(len(m) == 21 + 1500 for _, m in shown)
    # The warning is on the log page, and the site goes on working.
    assert "dropped the 1 oldest of 3" in client.get("/log").text
    client.post("/flash", data={"message": "after", "category": "info"})
    assert messages(client.get("/").text) == [("info", "after")]


def test_unknown_pages_and_methods_are_404(client: Client) -> None:
    assert client.get("/nope").status_code == 404
    assert client.get("/flash").status_code == 404
    assert client.delete("/").status_code == 404
    assert client.head("/").status_code == 200


def test_toml_says_what_create_app_says() -> None:
    from_file = Config.load(TOML, environ={"WSGI_FLASH_SECRET_KEY": KEY})
    assert from_file.sections == {
        "flash": {"enabled": True, "secret_key": KEY},
        "proxy": {"x_for": 1, "x_proto": 1, "trusted_proxies": ["loopback"]},
        "malformed": {},
    }
    keywords = Config.load(secret_key=KEY, **demo.STACK_OPTIONS)
    assert keywords.sections == from_file.sections
    assert [line.split(":")[0] for line in from_file.describe().splitlines()] == [
        "proxy",
        "malformed",
        "flash",
        "hooks",
    ]
    assert "hooks: off" in from_file.describe()


def test_the_demo_ships_no_secret_key() -> None:
    """No key anyone could copy into production: the file has none, and
    without WSGI_FLASH_SECRET_KEY it refuses to start, naming the variable."""
    assert "secret_key" not in TOML.read_text(encoding="utf-8")
    with pytest.raises(ConfigError, match="no secret_key; set WSGI_FLASH_SECRET_KEY"):
        Config.load(TOML)
    assert not hasattr(demo, "DEMO_SECRET_KEY")


def test_create_app_makes_a_random_key_per_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WSGI_FLASH_SECRET_KEY", raising=False)
    first, second = Client(demo.create_app()), Client(demo.create_app())
    first.post("/flash", data={"message": "mine", "category": "info"})
    cookie = first.get_cookie("flash")
    assert cookie is not None
    second.set_cookie("flash", cookie.value)
    assert messages(second.get("/").text) == []  # another run's key: no messages
    assert messages(first.get("/").text) == [("info", "mine")]


@pytest.mark.slow
def test_make_demo_serves_with_a_random_key(tmp_path: pathlib.Path) -> None:
    """`make demo` as a user runs it (setup skipped), on a free port, without
    WSGI_FLASH_SECRET_KEY: it makes a key, flashes work, no key is weak or
    printed, and the banner shows the stack with the demo's hooks on."""
    port = free_port()
    command = ["make", "-s", "-o", ".venv/.runtime", "demo", f"DEMO_BIND=127.0.0.1:{port}"]
    with serve(command, port, tmp_path / "log", cwd=ROOT) as server:
        status, headers, _ = server.request(
            "POST",
            "/flash",
            {"Content-Type": "application/x-www-form-urlencoded"},
            b"message=served&category=success",
        )
        assert status == 303
        cookie = headers["Set-Cookie"].split(";", 1)[0]
        status, _, body = server.request("GET", "/", {"Cookie": cookie})
        assert status == 200
        assert messages(body.decode()) == [("success", "served")]
    log = server.log()
    assert "secret_key=<hidden>" in log and "guessed" not in log, log
    assert f"serving examples.demo:demo_app on http://127.0.0.1:{port}/ with werkzeug" in log
    # demo_app is a RequestHooks (the login gate): its hooks are on.
    hooks = [line for line in log.splitlines() if line.startswith("hooks:")]
    assert hooks == [
        "hooks: RequestHooks (the app, examples.demo:demo_app, with its hooks registered in code)"
    ], log
    assert re.search(r"[0-9a-f]{32}", log) is None, log  # the key is not printed
