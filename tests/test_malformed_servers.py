"""MalformedRequestLogger behind real servers, fed raw malformed HTTP.

gunicorn runs as a subprocess and Werkzeug's development server in a thread,
both on 127.0.0.1 with a free port and started and stopped here. Requests the
server answers itself, before the app runs, are asserted as "handled by the
server": its status, no app call and no record from us.
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
import pathlib
import socket
import sys
import threading
import time
import typing as t

import pytest
from werkzeug.serving import make_server

from tests import servers

sys.path.insert(0, str(servers.APPS))

from malformed_app import create_app

pytestmark = pytest.mark.slow
TIMEOUT = 5.0
GUNICORN_VERSION = tuple(
    int(part) for part in importlib.metadata.version("gunicorn").split(".")[:2]
)
# gunicorn 23, the last release for Python 3.9, hands these to the app
# (and answers 400, not 414, to a long request line); later ones refuse them.
STRICTER_GUNICORN = pytest.mark.skipif(
    GUNICORN_VERSION < (24, 0),
    reason=f"gunicorn {importlib.metadata.version('gunicorn')} lets this through; 24+ refuses it",
)


class JsonLogged:
    """A running server and the JSON-lines log its app writes."""

    def __init__(self, port: int, log_path: pathlib.Path) -> None:
        self.port = port
        self.log_path = log_path
        self.offset = 0

    def send(self, raw: bytes) -> tuple[int, list[dict[str, t.Any]]]:
        """Send one raw request; return the status and the new log lines."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=TIMEOUT) as sock:
            sock.sendall(raw)
            data = b""
            while b"\r\n" not in data:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
        status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
        # Records are written before the response, but give a slow disk a moment.
        time.sleep(0.02)
        with self.log_path.open("rb") as file:
            file.seek(self.offset)
            new = file.read()
            self.offset += len(new)
        return status, [json.loads(line) for line in new.splitlines()]


def checks_of(lines: list[dict[str, t.Any]]) -> list[str]:
    return [line["check"] for line in lines if "check" in line]


def app_called(lines: list[dict[str, t.Any]]) -> bool:
    return any(line["message"] == "app.called" for line in lines)


@pytest.fixture(scope="module")
def gunicorn(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[JsonLogged]:
    directory = tmp_path_factory.mktemp("gunicorn")
    log_path = directory / "malformed.jsonl"
    log_path.touch()
    with servers.gunicorn(
        "malformed_app:app",
        directory / "gunicorn.log",
        workers=1,
        config=None,
        env={"WF_MALFORMED_LOG": str(log_path)},
    ) as server:
        yield JsonLogged(server.port, log_path)


@pytest.fixture(scope="module")
def werkzeug(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[JsonLogged]:
    log_path = tmp_path_factory.mktemp("werkzeug") / "malformed.jsonl"
    log_path.touch()
    loggers = [logging.getLogger(name) for name in ("wsgi_flash.malformed", "malformed_app")]
    saved = [(log, log.level, log.propagate, list(log.handlers)) for log in loggers]
    app = create_app(str(log_path))
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    # Port 0: the kernel picks a free port at bind time; no race.
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield JsonLogged(server.server_port, log_path)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        logging.getLogger("werkzeug").setLevel(logging.NOTSET)
        for log, level, propagate, handlers in saved:
            for handler in log.handlers:
                if handler not in handlers:
                    handler.close()
            log.handlers[:] = handlers
            log.setLevel(level)
            log.propagate = propagate


def request(line: str, *headers: str, body: bytes = b"", host: str | None = "app.test") -> bytes:
    lines = [line]
    if host is not None:
        lines.append(f"Host: {host}")
    lines += [*headers, "Connection: close"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


# Malformed requests that gunicorn and Werkzeug both hand to the app.
REACH_THE_APP = [
    pytest.param(request("GET /a%zz?q=%zz HTTP/1.1"), "uri.percent_encoding", id="bad-escape"),
    pytest.param(request("GET /a%u0041 HTTP/1.1"), "uri.percent_u", id="percent-u"),
    pytest.param(request("GET /a%252e HTTP/1.1"), "uri.double_encoding", id="double-encoding"),
    pytest.param(request("GET /a%00b HTTP/1.1"), "uri.nul_byte", id="nul-escape"),
    pytest.param(request("GET /a%ff HTTP/1.1"), "uri.invalid_utf8", id="invalid-utf8"),
    pytest.param(request("GET /?q=%1b HTTP/1.1"), "uri.control_characters", id="esc-in-query"),
    pytest.param(request("GET /a#frag HTTP/1.1"), "uri.fragment", id="raw-fragment"),
    pytest.param(request("GET / HTTP/1.1", host="evil.test/x?y"), "host.invalid", id="bad-host"),
    pytest.param(request("GET / HTTP/1.1", host=None), "host.missing", id="no-host"),
    pytest.param(request("GET / HTTP/1.2"), "protocol.version", id="http-1.2"),
    pytest.param(
        request("GET / HTTP/1.1", "Content-Length: 3", "Content-Type: text/plain", body=b"abc"),
        "body.get_with_body",
        id="get-with-body",
    ),
    pytest.param(request("POST / HTTP/1.1"), "body.length_missing", id="post-without-length"),
    pytest.param(request("GET / HTTP/1.1", "Range: bytes=5-1"), "header.range", id="range"),
    pytest.param(request("GET / HTTP/1.1", "Cookie: a=1; junk"), "header.cookie", id="cookie"),
]


@pytest.mark.parametrize(("raw", "check"), REACH_THE_APP)
def test_gunicorn_hands_over_and_we_log(gunicorn: JsonLogged, raw: bytes, check: str) -> None:
    status, lines = gunicorn.send(raw)
    assert (status, checks_of(lines), app_called(lines)) == (200, [check], True)


@pytest.mark.parametrize(("raw", "check"), REACH_THE_APP)
def test_werkzeug_hands_over_and_we_log(werkzeug: JsonLogged, raw: bytes, check: str) -> None:
    status, lines = werkzeug.send(raw)
    assert (status, checks_of(lines), app_called(lines)) == (200, [check], True)


@pytest.fixture(scope="module", params=["waitress", "uwsgi"])
def other_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> t.Iterator[tuple[str, JsonLogged]]:
    """waitress and uWSGI, each with the same malformed_app as gunicorn."""
    directory = tmp_path_factory.mktemp(request.param)
    log_path = directory / "malformed.jsonl"
    log_path.touch()
    start = servers.waitress if request.param == "waitress" else servers.uwsgi
    env = {"WF_MALFORMED_LOG": str(log_path)}
    with start("malformed_app:app", directory / "server.log", env=env) as server:
        yield request.param, JsonLogged(server.port, log_path)


# What waitress and uWSGI change on the way in, so a check sees more or less:
OTHER_SERVERS_DIFFER = {
    # waitress answers an unsupported version as HTTP/1.0 and tells the app
    # SERVER_PROTOCOL = "HTTP/1.0": protocol.version cannot fire there.
    ("waitress", "http-1.2"): [],
    # uWSGI decodes an invalid escape into a NUL in PATH_INFO.
    ("uwsgi", "bad-escape"): ["uri.percent_encoding", "uri.nul_byte"],
    ("uwsgi", "percent-u"): ["uri.percent_u", "uri.nul_byte"],
}


@pytest.mark.parametrize(
    ("raw", "check", "case"), [pytest.param(*p.values, p.id, id=p.id) for p in REACH_THE_APP]
)
def test_waitress_and_uwsgi_hand_over_and_we_log(
    other_server: tuple[str, JsonLogged], raw: bytes, check: str, case: str
) -> None:
    name, server = other_server
    expected = OTHER_SERVERS_DIFFER.get((name, case), [check])
    status, lines = server.send(raw)
    assert (status, checks_of(lines), app_called(lines)) == (200, expected, True)


def test_reject_answers_400_naming_the_check(gunicorn: JsonLogged) -> None:
    status, lines = gunicorn.send(request("GET /r%0d%0aSet-Cookie:x HTTP/1.1"))
    assert (status, checks_of(lines), app_called(lines)) == (400, ["uri.crlf"], False)
    assert lines[0]["action"] == "reject"


def test_gunicorn_absolute_form_keeps_host(gunicorn: JsonLogged) -> None:
    # gunicorn keeps the Host header; Werkzeug replaces it with the target's
    # authority, so only gunicorn lets this check see the mismatch.
    status, lines = gunicorn.send(request("GET http://other.test/a HTTP/1.1"))
    assert (status, checks_of(lines)) == (200, ["uri.target_form"])


def test_gunicorn_empty_host(gunicorn: JsonLogged) -> None:
    status, lines = gunicorn.send(request("GET / HTTP/1.1", host=""))
    assert (status, checks_of(lines)) == (200, ["host.empty"])


# Handled by the server: gunicorn 27 answers these itself; the app never runs.
GUNICORN_REJECTS = [
    pytest.param(request("POST / HTTP/1.1", "Content-Length: abc"), 400, id="content-length-abc"),
    pytest.param(
        request("POST / HTTP/1.1", "Content-Length: 1", "Content-Length: 1", body=b"a"),
        400,
        id="content-length-twice",
    ),
    pytest.param(
        request(
            "POST / HTTP/1.1", "Content-Length: 5", "Transfer-Encoding: chunked", body=b"0\r\n\r\n"
        ),
        400,
        id="length-and-chunked",
    ),
    pytest.param(
        request("GET / HTTP/1.1", "X-A: a\x01b"),
        400,
        id="control-in-header",
        marks=STRICTER_GUNICORN,
    ),
    pytest.param(
        request("GET / HTTP/1.1", "User-Agent: \x1b[31mred"),
        400,
        id="ansi-in-header",
        marks=STRICTER_GUNICORN,
    ),
    pytest.param(request("G(T / HTTP/1.1"), 400, id="bad-method-token"),
    pytest.param(request("get / HTTP/1.1"), 400, id="lowercase-method"),
    pytest.param(
        request("GET / HTTP/1.1", "Host: other.test"), 400, id="two-hosts", marks=STRICTER_GUNICORN
    ),
    pytest.param(
        request("GET /a\x00b HTTP/1.1"), 400, id="raw-nul-in-target", marks=STRICTER_GUNICORN
    ),
    pytest.param(
        request("GET /a\xff HTTP/1.1"), 400, id="raw-byte-in-target", marks=STRICTER_GUNICORN
    ),
    pytest.param(request("GET / HTTP/0.9"), 400, id="http-0.9"),
    pytest.param(
        request("GET /" + "a" * 5000 + " HTTP/1.1"),
        414,
        id="long-request-line",
        marks=STRICTER_GUNICORN,
    ),
    pytest.param(
        request("GET / HTTP/1.1", *[f"X-{i}: 1" for i in range(101)]), 431, id="101-headers"
    ),
]


@pytest.mark.parametrize(("raw", "status"), GUNICORN_REJECTS)
def test_gunicorn_rejects_itself(gunicorn: JsonLogged, raw: bytes, status: int) -> None:
    got, lines = gunicorn.send(raw)
    assert (got, lines) == (status, [])


# What Werkzeug's server passes on that gunicorn would have refused.
WERKZEUG_PASSES = [
    pytest.param(
        request("POST / HTTP/1.1", "Content-Length: abc", "Content-Type: text/plain"),
        ["header.content_length"],
        id="content-length-abc",
    ),
    pytest.param(
        request(
            "POST / HTTP/1.1",
            "Content-Length: 5",
            "Transfer-Encoding: chunked",
            "Content-Type: text/plain",
            body=b"0\r\n\r\n",
        ),
        ["body.length_and_chunked"],
        id="length-and-chunked",
    ),
    pytest.param(
        request("GET / HTTP/1.1", "User-Agent: \x1b[31mred"),
        ["header.control_characters"],
        id="ansi-in-header",
    ),
    pytest.param(request("G(T / HTTP/1.1"), ["method.token"], id="bad-method-token"),
    pytest.param(
        request("GET / HTTP/1.1", "Host: other.test"), ["host.invalid"], id="two-hosts-joined"
    ),
    pytest.param(request("GET /a\x00b HTTP/1.1"), ["uri.nul_byte"], id="raw-nul-in-target"),
]


@pytest.mark.parametrize(("raw", "checks"), WERKZEUG_PASSES)
def test_werkzeug_passes_what_gunicorn_rejects(
    werkzeug: JsonLogged, raw: bytes, checks: list[str]
) -> None:
    status, lines = werkzeug.send(raw)
    assert (status, checks_of(lines), app_called(lines)) == (200, checks, True)


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        pytest.param(request("GET /a b HTTP/1.1"), 400, id="space-in-target"),
        pytest.param(
            request("GET / HTTP/1.1", *[f"X-{i}: 1" for i in range(101)]), 431, id="101-headers"
        ),
    ],
)
def test_werkzeug_rejects_itself(werkzeug: JsonLogged, raw: bytes, status: int) -> None:
    got, lines = werkzeug.send(raw)
    assert (got, lines) == (status, [])


def test_log_lines_are_single_escaped_json(werkzeug: JsonLogged) -> None:
    raw = request("GET /a%zz HTTP/1.1", "User-Agent: evil\x1b[2J\x85")
    status, lines = werkzeug.send(raw)
    assert status == 200
    record = next(line for line in lines if line.get("check") == "uri.percent_encoding")
    assert record["user_agent"] == "evil\\x1b[2J\\x85"
    assert record["event"] == "input_validation_fail" and record["remote_addr"] == "127.0.0.1"
