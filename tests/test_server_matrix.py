"""The full stack under every server ops people run, and behind a real nginx.

``tests/apps/stack_app.py`` builds the stack with ``stack()``: flash, request
hooks, the malformed logger (rejecting ``uri.nul_byte`` and ``uri.crlf``) and
ProxyFix trusting loopback (``/untrusted/`` trusts only 192.0.2.0/24,
``/forwarded/`` reads RFC 7239). Each server runs it as a subprocess on
127.0.0.1, started once per module and always stopped; nothing configures
logging, so the records in the server's output are what an ops person sees
by default.

nginx runs the two configurations printed in docs/proxy.rst (X-Forwarded-* and
``Forwarded``), copied from the file by this test, with TLS on a second port
so the scheme is really https. Clients connect from 127.0.0.2, so the address
the app reports can only have come from nginx's header.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import pathlib
import re
import ssl
import time
import typing as t
import uuid

import pytest

from tests import servers

pytestmark = pytest.mark.slow

APP = "stack_app:app"
CLIENT_ADDRESS = "127.0.0.2"  # a loopback address that is not the proxy's
PROXY_DOCS = servers.ROOT / "docs" / "proxy.rst"
DEPLOYMENT_DOCS = servers.ROOT / "docs" / "deployment.rst"


def start(name: str, directory: pathlib.Path) -> contextlib.AbstractContextManager[servers.Server]:
    log = directory / f"{name}.log"
    if name.startswith("gunicorn-"):
        worker_class = name.partition("-")[2]
        # gunicorn applies X-Forwarded-Proto itself for the peers in its
        # forwarded_allow_ips (default 127.0.0.1): give it no loopback peer,
        # so that only ProxyFix decides what a peer may set here.
        extra = ["--forwarded-allow-ips", "192.0.2.1"]
        return servers.gunicorn(
            APP, log, workers=1, worker_class=worker_class, config=None, extra=extra
        )
    if name == "waitress":
        # waitress strips proxy headers unless told not to; see docs/deployment.rst.
        return servers.waitress(APP, log, extra=["--no-clear-untrusted-proxy-headers"])
    if name == "uwsgi":
        return servers.uwsgi(APP, log)
    return servers.werkzeug(APP, log)


SERVERS = ["gunicorn-sync", "gunicorn-gthread", "waitress", "uwsgi", "werkzeug"]


@pytest.fixture(scope="module", params=SERVERS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> t.Iterator[servers.Server]:
    with start(request.param, tmp_path_factory.mktemp(request.param)) as running:
        running.name = request.param
        yield running


def get(
    port: int,
    path: str,
    headers: dict[str, str] | None = None,
    *,
    tls: bool = False,
    source: str = "127.0.0.1",
) -> tuple[int, http.client.HTTPResponse, bytes]:
    connection: http.client.HTTPConnection
    if tls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        connection = http.client.HTTPSConnection(
            "127.0.0.1", port, timeout=10, context=context, source_address=(source, 0)
        )
    else:
        connection = http.client.HTTPConnection(
            "127.0.0.1", port, timeout=10, source_address=(source, 0)
        )
    try:
        connection.putrequest("GET", path, skip_host="Host" in (headers or {}))
        for name, value in (headers or {}).items():
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response, response.read()
    finally:
        connection.close()


def info(
    port: int, path: str = "/info", headers: dict[str, str] | None = None, **kw: t.Any
) -> t.Any:
    status, _, body = get(port, path, headers, **kw)
    assert status == 200, (status, body)
    return json.loads(body)


def wait_for(check: t.Callable[[], t.Any], what: str, seconds: float = 10.0) -> t.Any:
    """Poll ``check`` until it returns something true, for at most ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not seen within {seconds} s: {what}")
        time.sleep(0.05)


# -- every server -------------------------------------------------------------


def test_flash_round_trip(server: servers.Server) -> None:
    status, response, _ = get(server.port, "/flash?m=saved&c=success")
    assert status == 303 and response.getheader("Location") == "/read"
    cookie = response.getheader("Set-Cookie", "")
    assert cookie.startswith("flash=") and "HttpOnly" in cookie
    status, response, body = get(server.port, "/read", {"Cookie": cookie.split(";")[0]})
    assert status == 200 and json.loads(body)["messages"] == [["success", "saved"]]
    deleted = response.getheader("Set-Cookie", "")
    assert deleted.startswith("flash=;")
    # The browser now holds the emptied cookie: nothing is shown twice.
    assert info(server.port, "/read", {"Cookie": deleted.split(";")[0]})["messages"] == []


def test_hooks_run_in_flask_order(server: servers.Server) -> None:
    path = f"/info/{uuid.uuid4().hex}"
    status, response, body = get(server.port, path)
    assert status == 200
    assert json.loads(body)["calls"] == ["before1", "before2", "view"]
    assert response.getheader("X-After") == "after2,after1"
    # Teardown runs when the server closes the response, after it was sent.
    wait_for(
        lambda: f"{path} None" in info(server.port, "/teardowns")["teardowns"],
        f"teardown of {path}",
    )


FORWARDED_HEADERS = {
    "X-Forwarded-For": "203.0.113.7",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "shop.example",
}


def test_proxy_fix_from_a_trusted_peer(server: servers.Server) -> None:
    data = info(server.port, "/info", FORWARDED_HEADERS)
    assert (data["remote_addr"], data["scheme"], data["host"]) == (
        "203.0.113.7",
        "https",
        "shop.example",
    )


def test_proxy_fix_from_an_untrusted_peer(server: servers.Server) -> None:
    data = info(server.port, "/untrusted/info", {"Host": "app.test", **FORWARDED_HEADERS})
    # uWSGI itself takes the scheme from any client's X-Forwarded-Proto (or
    # X-Forwarded-Ssl), before any middleware runs: see the test below.
    scheme = "https" if server.name == "uwsgi" else "http"
    assert (data["remote_addr"], data["scheme"], data["host"]) == ("127.0.0.1", scheme, "app.test")
    wait_for(
        lambda: "from untrusted peer 127.0.0.1" in server.log(),
        "the WARNING about the untrusted peer",
    )


def raw_target(target: str, *headers: str) -> bytes:
    lines = [f"GET {target} HTTP/1.1", "Host: app.test", *headers, "Connection: close"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


# (target, extra header lines, check id, status); {id} makes each request
# findable in the log. uWSGI decodes an invalid escape into a NUL in
# PATH_INFO ('/a%zz' arrives as '/a\x00'), so there the app would see a NUL:
# uri.nul_byte fires too and rejects (the last column).
CORPUS = [
    pytest.param("/c/{id}/a%zz", [], "uri.percent_encoding", 200, True, id="bad-escape"),
    pytest.param("/c/{id}/a%00b", [], "uri.nul_byte", 400, False, id="nul-escape"),
    pytest.param("/c/{id}/r%0d%0aSet-Cookie:x", [], "uri.crlf", 400, False, id="crlf"),
    pytest.param("/c/{id}/a%u0041", [], "uri.percent_u", 200, True, id="percent-u"),
    pytest.param("/c/{id}/a%252e", [], "uri.double_encoding", 200, False, id="double-encoding"),
    pytest.param("/c/{id}/a%ff", [], "uri.invalid_utf8", 200, False, id="invalid-utf8"),
    pytest.param("/c/{id}/a#frag", [], "uri.fragment", 200, False, id="raw-fragment"),
    pytest.param("/c/{id}/?q=%1b", [], "uri.control_characters", 200, False, id="esc-in-query"),
    pytest.param("/c/{id}/?q=%zz", [], "uri.percent_encoding", 200, False, id="bad-escape-query"),
    pytest.param("/c/{id}/", ["Range: bytes=5-1"], "header.range", 200, False, id="range"),
]
REJECTED = {"uri.nul_byte", "uri.crlf"}  # stack_app's reject list


@pytest.mark.parametrize(("target", "headers", "check", "status", "nul_under_uwsgi"), CORPUS)
def test_malformed_logger_detects_and_rejects(
    server: servers.Server,
    target: str,
    headers: list[str],
    check: str,
    status: int,
    nul_under_uwsgi: bool,
) -> None:
    marker = uuid.uuid4().hex
    reply = server.raw(raw_target(target.format(id=marker), *headers))
    checks = [check]
    if nul_under_uwsgi and server.name == "uwsgi":
        checks, status = [check, "uri.nul_byte"], 400
    assert reply.startswith(f"HTTP/1.1 {status} ".encode()), reply[:200]
    if status == 400:
        # The body names the check and echoes nothing of the request.
        assert b"Bad Request (uri." in reply and marker.encode() not in reply
    for expected in checks:
        line = wait_for(
            lambda expected=expected: [
                line for line in server.log().splitlines() if expected in line and marker in line
            ],
            f"{expected} logged for {marker}",
        )[0]
        # One escaped line: a request never writes a raw control byte.
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", line), line
        assert ("rejected" in line) == (expected in REJECTED), line


# -- known behaviours of particular servers -----------------------------------


@pytest.fixture(scope="module")
def uwsgi(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[servers.Server]:
    with servers.uwsgi(APP, tmp_path_factory.mktemp("uwsgi") / "uwsgi.log") as running:
        yield running


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("X-Forwarded-Proto: https", id="proto"),
        pytest.param("X-Forwarded-Ssl: on", id="ssl"),
    ],
)
def test_uwsgi_takes_the_scheme_from_any_client(uwsgi: servers.Server, header: str) -> None:
    """Documented in the docs' server table: exposed directly, uWSGI lets
    any client claim https; only a proxy that sets the header stops it."""
    name, _, value = header.partition(": ")
    assert info(uwsgi.port, "/plain/info", {name: value})["scheme"] == "https"
    assert info(uwsgi.port, "/plain/info")["scheme"] == "http"


def test_uwsgi_merges_underscore_headers_and_trusted_proxies_ignore_them(
    uwsgi: servers.Server,
) -> None:
    forged = {"X-Forwarded-For": "203.0.113.7", "X_Forwarded_For": "6.6.6.6"}
    # uWSGI joins the underscore variant into the same environ key...
    merged = info(uwsgi.port, "/info", forged)
    assert merged["x_forwarded_for"] == "203.0.113.7, 6.6.6.6"
    # ...so with a trusted peer and x_for=1 the client's value is the last
    # entry and wins: this is why the peer must be a proxy that drops them.
    assert merged["remote_addr"] == "6.6.6.6"
    # With trusted_proxies that do not include a direct client, neither
    # value is used, and behind nginx (test below) the variant never arrives.
    data = info(uwsgi.port, "/untrusted/info", forged)
    assert data["remote_addr"] == "127.0.0.1"


def test_uwsgi_invalid_escape_becomes_a_nul_that_is_rejected(uwsgi: servers.Server) -> None:
    """uWSGI decodes '%zz' into a NUL in PATH_INFO; the checks judge what the
    app would see, so reject=["uri.nul_byte"] answers 400."""
    marker = uuid.uuid4().hex
    reply = uwsgi.raw(raw_target(f"/z/{marker}/a%zzb"))
    assert reply.startswith(b"HTTP/1.1 400 ") and b"Bad Request (uri.nul_byte)" in reply
    wait_for(
        lambda: any(
            "uri.nul_byte rejected" in line and marker in line for line in uwsgi.log().splitlines()
        ),
        "the reject record",
    )


WAITRESS_TRUSTS_THE_PROXY = [
    "--trusted-proxy=127.0.0.1",
    "--trusted-proxy-headers=x-forwarded-for x-forwarded-proto x-forwarded-host",
]


@pytest.mark.parametrize(
    ("extra", "seen", "warning"),
    [
        # waitress drops the headers before ProxyFix can see them.
        pytest.param([], ("127.0.0.1", "http", None), "removes X-Forwarded-For", id="default"),
        # The set-up the docs give for ProxyFix: it sees them and decides.
        pytest.param(
            ["--no-clear-untrusted-proxy-headers"],
            ("203.0.113.7", "https", "203.0.113.7"),
            None,
            id="no-clear",
        ),
        # waitress applies them itself; ProxyFix then sees the client as its
        # peer, so the docs say: not both.
        pytest.param(
            WAITRESS_TRUSTS_THE_PROXY,
            ("203.0.113.7", "https", "203.0.113.7"),
            "applies the proxy headers itself",
            id="trusted-proxy-and-proxy-fix",
        ),
    ],
)
def test_waitress_proxy_header_settings(
    tmp_path: pathlib.Path,
    extra: list[str],
    seen: tuple[str, str, str | None],
    warning: str | None,
) -> None:
    with servers.waitress(APP, tmp_path / "waitress.log", extra=extra) as running:
        data = info(running.port, "/info", FORWARDED_HEADERS)
        assert (data["remote_addr"], data["scheme"], data["x_forwarded_for"]) == seen
        if warning:
            # Once, on the first request, on wsgi_flash.proxy.
            wait_for(lambda: warning in running.log(), "ProxyFix's WARNING about waitress")
            info(running.port, "/info", FORWARDED_HEADERS)
            assert running.log().count(warning) == 1
        else:
            assert "WARNING:wsgi_flash.proxy" not in running.log()


def test_waitress_applying_the_headers_itself(tmp_path: pathlib.Path) -> None:
    """The other working set-up: waitress trusts the proxy and rewrites the
    environ; the app then runs without ProxyFix (here ``/plain/``)."""
    with servers.waitress(
        APP, tmp_path / "waitress.log", extra=WAITRESS_TRUSTS_THE_PROXY
    ) as running:
        data = info(running.port, "/plain/info", FORWARDED_HEADERS)
        assert (data["remote_addr"], data["scheme"], data["host"]) == (
            "203.0.113.7",
            "https",
            "shop.example",
        )


# -- a real nginx in front, configured as docs/proxy.rst says ------------------


def docs_nginx_blocks() -> dict[str, str]:
    """The ``.. code-block:: nginx`` blocks of docs/proxy.rst, dedented, keyed
    by the header family they configure."""
    lines = PROXY_DOCS.read_text(encoding="utf-8").splitlines()
    blocks: dict[str, str] = {}
    for number, line in enumerate(lines):
        if line.strip() != ".. code-block:: nginx":
            continue
        indent = len(line) - len(line.lstrip())
        body: list[str] = []
        for following in lines[number + 1 :]:
            if following.strip() and len(following) - len(following.lstrip()) <= indent:
                break
            body.append(following)
        text = "\n".join(body).strip("\n")
        width = min(len(x) - len(x.lstrip()) for x in text.splitlines() if x.strip())
        text = "\n".join(x[width:] for x in text.splitlines())
        kind = "forwarded" if "proxy_set_header Forwarded" in text else "x-forwarded"
        blocks.setdefault(kind, text)
    return blocks


DOCS_UPSTREAM = "proxy_pass http://127.0.0.1:8000;"


def test_docs_have_both_nginx_configurations() -> None:
    blocks = docs_nginx_blocks()
    assert set(blocks) == {"x-forwarded", "forwarded"}
    assert all(DOCS_UPSTREAM in block for block in blocks.values())


# The app path each configuration is paired with in stack_app (docs/proxy.rst's
# ProxyFix column): x_for/x_proto/x_host, or forwarded=1, both on loopback.
PREFIX = {"x-forwarded": "", "forwarded": "/forwarded"}

FORGED = {
    "X-Forwarded-For": "6.6.6.6",
    "X_Forwarded_For": "6.6.6.7",
    "X-Forwarded-Proto": "https",
    "X_Forwarded_Proto": "https",
    "X-Forwarded-Host": "evil.example",
    "X_Forwarded_Host": "evil.example",
    "Forwarded": 'for=6.6.6.8;proto=https;host="evil.example"',
}


@pytest.fixture(params=["x-forwarded", "forwarded"])
def behind_nginx(
    request: pytest.FixtureRequest, server: servers.Server, tmp_path: pathlib.Path
) -> t.Iterator[tuple[str, servers.Server, int]]:
    site = docs_nginx_blocks()[request.param].replace(
        DOCS_UPSTREAM, f"proxy_pass http://127.0.0.1:{server.port};"
    )
    with servers.nginx(site, tmp_path / "nginx.log", tmp_path) as (proxy, tls_port):
        yield request.param, proxy, tls_port


def test_nginx_gives_the_app_the_client_address_scheme_and_host(
    behind_nginx: tuple[str, servers.Server, int],
) -> None:
    kind, proxy, tls_port = behind_nginx
    path = PREFIX[kind] + "/info"
    headers = {"Host": "shop.example"}
    over_tls = info(tls_port, path, headers, tls=True, source=CLIENT_ADDRESS)
    assert (over_tls["remote_addr"], over_tls["scheme"], over_tls["host"]) == (
        CLIENT_ADDRESS,
        "https",
        "shop.example",
    )
    plain = info(proxy.port, path, headers, source=CLIENT_ADDRESS)
    assert (plain["remote_addr"], plain["scheme"], plain["host"]) == (
        CLIENT_ADDRESS,
        "http",
        "shop.example",
    )


def test_a_client_forging_proxy_headers_through_nginx_does_not_win(
    behind_nginx: tuple[str, servers.Server, int],
) -> None:
    kind, proxy, _ = behind_nginx
    data = info(
        proxy.port,
        PREFIX[kind] + "/info",
        {"Host": "shop.example", **FORGED},
        source=CLIENT_ADDRESS,
    )
    assert (data["remote_addr"], data["scheme"], data["host"]) == (
        CLIENT_ADDRESS,
        "http",
        "shop.example",
    )
    # nginx dropped every underscore variant (ignore_invalid_headers).
    assert "6.6.6.7" not in (data["x_forwarded_for"] or "")


# -- the server table of docs/deployment.rst -------------------------------------

TABLE_COLUMNS = {
    "gunicorn-sync": "gunicorn",
    "gunicorn-gthread": "gunicorn",
    "waitress": "waitress",
    "uwsgi": "uWSGI",
    "werkzeug": "Werkzeug",
}


def observe(server: servers.Server) -> dict[str, str]:
    """What this server does, in the docs table's words, row by row."""
    marker = uuid.uuid4().hex
    underscore = info(server.port, "/plain/info", {"X_Forwarded_For": "6.6.6.6"})
    escape = info(server.port, "/plain/a%zzb")
    decoded = escape["path_info"].replace("/plain", "", 1)
    proto = info(server.port, "/plain/info", {"X-Forwarded-Proto": "https"})
    server.raw(raw_target(f"/t/{marker}/a%u0041"))
    record = wait_for(
        lambda: [line for line in server.log().splitlines() if marker in line], "a record"
    )[0]
    return {
        "``X_Forwarded_For`` header (underscore)": (
            "merged into ``X-Forwarded-For``" if underscore["x_forwarded_for"] else "dropped"
        ),
        "``/a%zzb`` becomes ``PATH_INFO``": f"``{decoded!r}``",
        "raw target for the checks": (
            "yes" if (escape["raw_target"] or "").endswith("/plain/a%zzb") else "no"
        ),
        # The matrix's gunicorn does not list the client in forwarded_allow_ips.
        "a client's ``X-Forwarded-Proto: https``": (
            "sets the scheme"
            if proto["scheme"] == "https"
            else "only from ``forwarded_allow_ips``"
            if server.name.startswith("gunicorn")
            else "ignored"
        ),
        "a WARNING, no logging configured": (
            "``LEVEL:logger:message``"
            if record.startswith("WARNING:wsgi_flash.")
            else "bare message"
        ),
    }


def docs_server_table() -> dict[str, dict[str, str]]:
    """The list-table after ``.. server-table`` in docs/deployment.rst, as
    ``{column: {row: cell}}``."""
    text = DEPLOYMENT_DOCS.read_text(encoding="utf-8").split(".. server-table-start", 1)[1]
    text = text.split(".. server-table-end", 1)[0]
    rows: list[list[str]] = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("* - "):
            rows.append([stripped[4:]])
        elif stripped.startswith("- ") and rows:
            rows[-1].append(stripped[2:])
    header, *body = rows
    return {
        column: {row[0]: row[index] for row in body} for index, column in enumerate(header) if index
    }


def test_docs_server_table_is_what_the_server_does(server: servers.Server) -> None:
    column = TABLE_COLUMNS[server.name]
    observed = observe(server)
    assert docs_server_table()[column] == observed, (
        f"docs/deployment.rst's server table is stale for {column}; it should say {observed}"
    )


def test_the_docs_logging_line_in_gunicorn_conf_reaches_the_workers(
    tmp_path: pathlib.Path,
) -> None:
    readme = DEPLOYMENT_DOCS.read_text(encoding="utf-8")
    line = next(
        x.strip() for x in readme.splitlines() if x.strip().startswith("logging.basicConfig(")
    )
    conf = tmp_path / "gunicorn.conf.py"
    conf.write_text(f"import logging\n{line}\n", encoding="utf-8")
    with servers.gunicorn(APP, tmp_path / "gunicorn.log", workers=1, config=str(conf)) as running:
        marker = uuid.uuid4().hex
        running.raw(raw_target(f"/g/{marker}/a%u0041"))
        record = wait_for(
            lambda: [x for x in running.log().splitlines() if marker in x], "the record"
        )[0]
    assert re.match(
        r"\d{4}-\d\d-\d\d [\d:,]+ WARNING wsgi_flash\.malformed: uri\.percent_u", record
    )
