"""MalformedRequestLogger and report_malformed, in process."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
import tracemalloc
import typing as t
from wsgiref.validate import validator

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pythonjsonlogger.json import JsonFormatter
from werkzeug.wrappers import Request

from wsgi_flash._cache import BoundedCache
from wsgi_flash.malformed import MalformedRequestLogger, report_malformed
from wsgi_flash.malformed._body_checks import inspect_body
from wsgi_flash.malformed._checks import CHECKS, CHECKS_BY_ID, scope_of
from wsgi_flash.malformed._prescan import PreScan
from wsgi_flash.malformed._reporting import Reporter, TokenBucket
from wsgi_flash.malformed._request_checks import Facts, host_is_allowed, split_domain_port

LOGGER = "wsgi_flash.malformed"


def make_environ(
    path: str = "/", *, raw: str | None = None, method: str = "GET", **extra: t.Any
) -> dict[str, t.Any]:
    """A gunicorn-like environ: RAW_URI as sent, PATH_INFO decoded."""
    path_info, _, query = path.partition("?")
    environ: dict[str, t.Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path_info,
        "QUERY_STRING": query,
        "RAW_URI": path if raw is None else raw,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "192.0.2.7",
        "HTTP_HOST": "app.example.com",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    environ.update(extra)
    return {key: value for key, value in environ.items() if value is not None}


def catalogue_findings(
    middleware: MalformedRequestLogger, environ: dict[str, t.Any], scopes: t.Collection[str]
) -> list[str]:
    """The ids of ``middleware``'s enabled checks of ``scopes`` that find
    something in ``environ``, straight from the catalogue's detectors (and
    the body checks, with the body read): no pre-scan, nothing remembered."""
    limits, actions = middleware.limits, middleware.actions
    found = [
        check.id
        for check in CHECKS
        if check.detect is not None
        and actions[check.id] != "off"
        and scope_of(check.id) in scopes
        and check.detect(Facts(environ), limits) is not None
    ]
    if "body" in scopes:
        later: list[str] = []

        def report(find: t.Callable[[], list[tuple[str, str, str]]]) -> None:
            later.extend(finding[0] for finding in find())

        facts = Facts(environ)
        findings = inspect_body(facts, actions, limits, middleware.body_buffer_size, report)
        found += [finding[0] for finding in findings]
        environ["wsgi.input"].read()
        found += later
    return found


def prescan_of(middleware: MalformedRequestLogger, environ: dict[str, t.Any]) -> PreScan:
    """A pre-scan set up as ``middleware``'s own, that has learned the Host
    of ``environ`` if it passes every host check, as the middleware learns
    it from a clean request."""
    clean_hosts: BoundedCache[str, bool] = BoundedCache()
    host = environ.get("HTTP_HOST")
    if isinstance(host, str) and not catalogue_findings(
        middleware, make_environ(HTTP_HOST=host), {"host"}
    ):
        clean_hosts.remember(host, True)
    return PreScan.for_settings(middleware.limits, middleware.actions, clean_hosts)


class Recorder:
    """A WSGI app that remembers what it was called with."""

    def __init__(self, status: str = "200 OK") -> None:
        self.status = status
        self.calls: list[dict[str, t.Any]] = []
        self.bodies: list[bytes] = []
        self.response: list[bytes] = [b"ok"]

    def __call__(self, environ: dict[str, t.Any], start_response: t.Any) -> t.Iterable[bytes]:
        self.calls.append(environ)
        length = environ.get("CONTENT_LENGTH") or ""
        digits = length.isascii() and length.isdigit()  # "²".isdigit() is True
        # Clamped: BytesIO.read() raises OverflowError past 2**63 - 1.
        size = min(int(length), 1 << 20) if digits else 0
        self.bodies.append(environ["wsgi.input"].read(size) if size else b"")
        start_response(self.status, [("Content-Type", "text/plain")])
        return self.response


def call(app: t.Any, environ: dict[str, t.Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    seen: dict[str, t.Any] = {}

    def start_response(status: str, headers: list[t.Any], exc_info: t.Any = None) -> t.Any:
        seen["status"], seen["headers"] = status, headers
        return lambda data: None

    result = app(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return seen["status"], seen["headers"], body


class Records(t.Sequence[logging.LogRecord]):
    """caplog.records as of now: pytest swaps the list between phases."""

    def __init__(self, caplog: pytest.LogCaptureFixture) -> None:
        self.caplog = caplog

    def __getitem__(self, index: t.Any) -> t.Any:
        return [r for r in self.caplog.records if r.name == LOGGER][index]

    def __len__(self) -> int:
        return len(self[:])

    def __eq__(self, other: object) -> bool:
        return self[:] == other


@pytest.fixture
def records(caplog: pytest.LogCaptureFixture) -> Records:
    caplog.set_level(logging.INFO, logger=LOGGER)
    return Records(caplog)


def found(records: Records) -> list[str]:
    return [record.check for record in records]  # type: ignore[attr-defined]


# One row per check: the environ that trips it, and the options it needs.
CHECK_CASES = [
    pytest.param("method.token", make_environ(method="G(T"), {}, id="method-token"),
    pytest.param(
        "method.unusual",
        make_environ(method="PROPFIND"),
        {"enable": ("method.unusual",)},
        id="method-unusual",
    ),
    pytest.param("protocol.version", make_environ(SERVER_PROTOCOL="HTTP/1.2"), {}, id="http-1.2"),
    pytest.param("uri.percent_encoding", make_environ("/a%zz"), {}, id="percent-zz"),
    pytest.param("uri.percent_encoding", make_environ("/a?q=%4"), {}, id="percent-truncated"),
    pytest.param("uri.percent_u", make_environ("/a%u0041"), {}, id="percent-u"),
    pytest.param("uri.double_encoding", make_environ("/a%252e%252e/"), {}, id="double-encoding"),
    pytest.param("uri.invalid_utf8", make_environ("/a\xff", raw="/a%ff"), {}, id="utf8-path"),
    pytest.param("uri.invalid_utf8", make_environ("/?q=%c3", raw="/?q=%c3"), {}, id="utf8-query"),
    pytest.param("uri.nul_byte", make_environ("/a\x00b", raw="/a%00b"), {}, id="nul-path"),
    pytest.param("uri.nul_byte", make_environ("/?q=%00", raw="/?q=%00"), {}, id="nul-query"),
    pytest.param(
        "uri.crlf",
        make_environ("/r\r\nSet-Cookie:x", raw="/r%0d%0aSet-Cookie:x"),
        {},
        id="crlf-path",
    ),
    pytest.param("uri.crlf", make_environ("/?next=%0aLocation:x"), {}, id="crlf-query"),
    pytest.param("uri.control_characters", make_environ("/a\x1b", raw="/a%1b"), {}, id="esc-path"),
    pytest.param("uri.fragment", make_environ("/a", raw="/a#frag"), {}, id="fragment"),
    pytest.param(
        "uri.target_form",
        make_environ("/a", raw="http://evil.example/a"),
        {},
        id="absolute-other-host",
    ),
    pytest.param("uri.target_form", make_environ("*"), {}, id="asterisk-with-get"),
    pytest.param("host.missing", make_environ(HTTP_HOST=None), {}, id="host-missing"),
    pytest.param("host.empty", make_environ(HTTP_HOST=""), {}, id="host-empty"),
    pytest.param("host.invalid", make_environ(HTTP_HOST="evil.com/x?y"), {}, id="host-path"),
    pytest.param("host.invalid", make_environ(HTTP_HOST="a,b"), {}, id="host-duplicate-joined"),
    pytest.param(
        "host.invalid", make_environ(HTTP_HOST="a_b.example.com"), {}, id="host-underscore"
    ),
    pytest.param(
        "host.not_allowed",
        make_environ(HTTP_HOST="evil.example"),
        {"allowed_hosts": [".example.com"]},
        id="host-not-allowed",
    ),
    pytest.param(
        "host.numeric_ip",
        make_environ(HTTP_HOST="10.1.2.3:80"),
        {"enable": ("host.numeric_ip",)},
        id="host-ipv4",
    ),
    pytest.param(
        "host.numeric_ip",
        make_environ(HTTP_HOST="[::1]"),
        {"enable": ("host.numeric_ip",)},
        id="host-ipv6",
    ),
    pytest.param("header.control_characters", make_environ(HTTP_X_A="a\x01b"), {}, id="header-ctl"),
    pytest.param(
        "header.control_characters", make_environ(HTTP_USER_AGENT="a\x1b[31m"), {}, id="header-ansi"
    ),
    pytest.param(
        "header.content_length",
        make_environ(method="POST", CONTENT_LENGTH="abc", CONTENT_TYPE="text/plain"),
        {},
        id="content-length-abc",
    ),
    pytest.param("header.range", make_environ(HTTP_RANGE="bytes=5-1"), {}, id="range-backwards"),
    pytest.param("header.range", make_environ(HTTP_RANGE="bytes=x"), {}, id="range-garbage"),
    pytest.param(
        "header.range",
        make_environ(HTTP_RANGE="bytes=" + ",".join(["0-1"] * 17)),
        {},
        id="range-too-many",
    ),
    pytest.param("header.cookie", make_environ(HTTP_COOKIE="a=1; junk"), {}, id="cookie-no-equals"),
    pytest.param("header.cookie", make_environ(HTTP_COOKIE="a b=1"), {}, id="cookie-bad-name"),
    pytest.param(
        "body.get_with_body",
        make_environ(
            CONTENT_LENGTH="3", CONTENT_TYPE="text/plain", **{"wsgi.input": io.BytesIO(b"abc")}
        ),
        {},
        id="get-with-body",
    ),
    pytest.param("body.length_missing", make_environ(method="POST"), {}, id="post-no-length"),
    pytest.param(
        "body.length_and_chunked",
        make_environ(
            method="POST",
            CONTENT_LENGTH="3",
            CONTENT_TYPE="text/plain",
            HTTP_TRANSFER_ENCODING="chunked",
        ),
        {},
        id="length-and-chunked",
    ),
    pytest.param(
        "body.content_type_missing",
        make_environ(method="POST", CONTENT_LENGTH="3"),
        {},
        id="body-no-type",
    ),
    pytest.param(
        "body.too_large",
        make_environ(method="POST", CONTENT_LENGTH="2000", CONTENT_TYPE="text/plain"),
        {"max_content_length": 1000},
        id="too-large",
    ),
    pytest.param(
        "args.too_many", make_environ("/?" + "&".join(["a=1"] * 1001)), {}, id="too-many-args"
    ),
    pytest.param("args.too_long", make_environ("/?" + "n" * 101 + "=1"), {}, id="long-arg-name"),
    pytest.param("args.too_long", make_environ("/?q=" + "v" * 4001), {}, id="long-arg-value"),
]


@pytest.mark.parametrize(("check", "environ", "options"), CHECK_CASES)
def test_each_check_logs_its_finding(
    check: str,
    environ: dict[str, t.Any],
    options: dict[str, t.Any],
    records: Records,
) -> None:
    app = Recorder()
    status, _, _ = call(MalformedRequestLogger(app, **options), environ)
    assert found(records) == [check]
    assert records[0].levelno == logging.WARNING
    assert status == "200 OK" and len(app.calls) == 1


# Near misses: requests that look odd but are fine, and must log nothing.
CLEAN_CASES = [
    pytest.param(make_environ("/caf%C3%A9?q=%E2%82%AC"), {}, id="utf8-escapes"),
    pytest.param(make_environ("/a%2Fb?q=a%20b%26c"), {}, id="escaped-delimiters"),
    pytest.param(make_environ("/?text=tab%09here"), {}, id="tab-in-query"),
    pytest.param(make_environ("*", method="OPTIONS"), {}, id="options-asterisk"),
    pytest.param(make_environ("/a", raw="http://app.example.com/a"), {}, id="absolute-same-host"),
    pytest.param(make_environ(HTTP_HOST=None, SERVER_PROTOCOL="HTTP/1.0"), {}, id="http10-no-host"),
    pytest.param(make_environ(SERVER_PROTOCOL="HTTP/2"), {}, id="http2"),
    pytest.param(make_environ(HTTP_HOST="App.Example.COM.:8443"), {}, id="host-case-dot-port"),
    pytest.param(make_environ(HTTP_HOST="[2001:db8::1]:80"), {}, id="host-ipv6-literal"),
    pytest.param(make_environ(HTTP_HOST="10.1.2.3"), {}, id="ip-host-off-by-default"),
    pytest.param(
        make_environ(HTTP_HOST="a.example.com"),
        {"allowed_hosts": [".example.com"]},
        id="allowed-subdomain",
    ),
    pytest.param(
        make_environ(HTTP_HOST="example.com"),
        {"allowed_hosts": [".example.com"]},
        id="allowed-apex",
    ),
    pytest.param(make_environ(HTTP_HOST="anything"), {"allowed_hosts": ["*"]}, id="allowed-star"),
    pytest.param(make_environ(HTTP_RANGE="bytes=0-99, 200-, -50"), {}, id="range-ok"),
    pytest.param(make_environ(HTTP_COOKIE='a=1; b="x y"; c=; d=e=f;'), {}, id="cookie-ok"),
    pytest.param(make_environ(HTTP_USER_AGENT="Mozilla/5.0 \tcafé"), {}, id="ua-tab-latin1"),
    pytest.param(make_environ(method="POST", CONTENT_LENGTH="0"), {}, id="post-empty"),
    pytest.param(
        make_environ(method="POST", HTTP_TRANSFER_ENCODING="chunked", CONTENT_TYPE="text/plain"),
        {},
        id="post-chunked",
    ),
    pytest.param(make_environ(method="POST", SERVER_PROTOCOL="HTTP/2"), {}, id="http2-post"),
    pytest.param(
        make_environ(RAW_URI=None, PATH_INFO="/a%zz", QUERY_STRING="q=1"),
        {},
        id="no-raw-uri-literal-percent-in-path-info",
    ),
]


@pytest.mark.parametrize(("environ", "options"), CLEAN_CASES)
def test_near_misses_log_nothing(
    environ: dict[str, t.Any], options: dict[str, t.Any], records: Records
) -> None:
    call(MalformedRequestLogger(Recorder(), **options), environ)
    assert found(records) == []


def test_every_request_check_has_a_case() -> None:
    tested = {param.values[0] for param in CHECK_CASES}
    request_checks = {c.id for c in CHECKS if c.detect is not None}
    assert request_checks - tested == set()


def test_without_raw_uri_the_query_and_decoded_path_are_checked(
    records: Records,
) -> None:
    environ = make_environ("/a\x00b?q=%zz", RAW_URI=None)
    call(MalformedRequestLogger(Recorder()), environ)
    assert found(records) == ["uri.percent_encoding", "uri.nul_byte"]


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        pytest.param(
            make_environ("/a\xff\x00", raw="/a%ff%00"),
            ["uri.invalid_utf8", "uri.nul_byte"],
            id="nul-after-non-ascii",
        ),
        pytest.param(
            make_environ("/a\xe9?q=%0d%0a", RAW_URI=None),
            ["uri.invalid_utf8", "uri.crlf"],
            id="crlf-after-latin1-path-info",
        ),
    ],
)
def test_a_non_ascii_byte_does_not_hide_later_control_bytes(
    environ: dict[str, t.Any], expected: list[str], records: Records
) -> None:
    call(MalformedRequestLogger(Recorder(), reject=("uri.nul_byte", "uri.crlf")), environ)
    assert found(records) == expected
    assert records[-1].action == "reject"  # type: ignore[attr-defined]


def test_clean_request_passes_untouched(records: Records) -> None:
    app = Recorder()
    environ = make_environ("/articles/42?page=2", HTTP_COOKIE="session=abc")
    before = dict(environ)
    stream = environ["wsgi.input"]
    middleware = MalformedRequestLogger(app)
    result = middleware(environ, lambda status, headers, exc_info=None: None)
    assert result is app.response
    assert app.calls[0] is environ
    assert environ["wsgi.input"] is stream
    # Only the documented key for report_malformed() is added; nothing changes.
    assert {key: environ[key] for key in before} == before
    assert environ.keys() - before.keys() == {"wsgi_flash.malformed.reporter"}
    assert records == []


def test_remembered_clean_cookies_never_hide_a_bad_one(records: Records) -> None:
    middleware = MalformedRequestLogger(Recorder())
    for _ in range(2):
        call(middleware, make_environ(HTTP_COOKIE="session=abc; theme=dark"))
    assert records == []
    for _ in range(2):
        call(middleware, make_environ(HTTP_COOKIE="session=abc; junk"))
    assert found(records) == ["header.cookie", "header.cookie"]


def test_a_flood_of_distinct_clean_cookies_keeps_the_cache_bounded(records: Records) -> None:
    middleware = MalformedRequestLogger(Recorder())
    for number in range(1000):
        call(middleware, make_environ(HTTP_COOKIE=f"session={number}"))
    call(middleware, make_environ(HTTP_COOKIE="x" * 5000 + "=1"))
    call(middleware, make_environ(HTTP_COOKIE="session=1; junk"))
    assert found(records) == ["header.cookie"]


def test_remembered_clean_cookies_take_bounded_memory(records: Records) -> None:
    """Clean cookies are remembered, but 2,000 different ones of 2 KB (4 MB)
    leave at most 256 behind, and long ones none."""
    app = Recorder()
    middleware = MalformedRequestLogger(app)
    tracemalloc.start()
    try:
        for number in range(2000):
            call(middleware, make_environ(HTTP_COOKIE=f"session={number:0>2030}"))
        for number in range(20):
            call(middleware, make_environ(HTTP_COOKIE=f"{number}={'x' * 100_000}"))
        app.calls.clear()  # what the app kept is not the middleware's
        app.bodies.clear()
        retained = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert retained < 256 * 2100 + 100_000
    assert records == []


def test_reject_answers_400_without_calling_the_app(records: Records) -> None:
    app = Recorder()
    middleware = MalformedRequestLogger(app, reject=("uri.nul_byte",))
    environ = make_environ("/secret\x00<script>", raw="/secret%00<script>")
    status, headers, body = call(validator(middleware), environ)
    assert status == "400 Bad Request"
    assert ("Content-Type", "text/plain; charset=utf-8") in headers
    assert body == b"Bad Request (uri.nul_byte)\n"
    assert app.calls == []
    assert [(r.check, r.action) for r in records] == [("uri.nul_byte", "reject")]  # type: ignore[attr-defined]
    assert "rejected with 400" in records[0].getMessage()


def test_reject_true_rejects_every_enabled_check() -> None:
    middleware = MalformedRequestLogger(Recorder(), reject=True)
    assert call(middleware, make_environ("/a%zz"))[2] == b"Bad Request (uri.percent_encoding)\n"
    assert middleware.actions["host.numeric_ip"] == "off"
    assert middleware.actions["app.report"] == "log"


def test_logged_checks_still_call_the_app_and_rejects_win() -> None:
    app = Recorder()
    middleware = MalformedRequestLogger(app, reject=("host.invalid",))
    status = call(middleware, make_environ("/a%zz", HTTP_HOST="bad host"))[0]
    assert status == "400 Bad Request" and app.calls == []
    assert middleware.stats["uri.percent_encoding"]["found"] == 1


def test_middleware_passes_wsgiref_validator_both_sides() -> None:
    app = validator(Recorder())
    wrapped = validator(MalformedRequestLogger(app, log_client_errors=True))
    environ = make_environ("/a%zz")
    environ["wsgi.input"] = _ValidatorInput()
    assert call(wrapped, environ)[0] == "200 OK"


class _ValidatorInput(io.BytesIO):
    pass


# Safe log lines --------------------------------------------------------------

HOSTILE = [
    pytest.param("HTTP_USER_AGENT", "x\r\nWARNING forged line", id="crlf"),
    pytest.param("HTTP_USER_AGENT", "x\x1b[31mred\x1b[0m", id="ansi"),
    pytest.param("HTTP_USER_AGENT", "x\x85next\x9bline", id="c1"),
    pytest.param("HTTP_USER_AGENT", "x\u2028y\u202eevil", id="unicode-separators"),
    pytest.param("RAW_URI", "/a%zz\r\n\x1b[2J", id="target"),
]


@pytest.mark.parametrize(("key", "value"), HOSTILE)
def test_records_are_one_escaped_line(key: str, value: str, records: Records) -> None:
    environ = make_environ("/a%zz", HTTP_X_BAD="\x01", **{key: value})
    call(MalformedRequestLogger(Recorder()), environ)
    assert records
    for record in records:
        line = logging.Formatter("%(message)s %(user_agent)s %(path)s").format(record)
        assert line.isprintable(), line
        assert "\x1b" not in line and "\n" not in line and "\r" not in line


def test_long_values_are_truncated(records: Records) -> None:
    environ = make_environ("/a%zz", HTTP_USER_AGENT="A" * 1000)
    call(MalformedRequestLogger(Recorder(), max_value_length=50), environ)
    assert records[0].user_agent == "A" * 50 + "...(950 more)"  # type: ignore[attr-defined]


def test_structured_fields(records: Records) -> None:
    environ = make_environ(
        "/a%zz",
        HTTP_USER_AGENT="curl/8",
        HTTP_X_REQUEST_ID="req-1",
        **{"wsgi_flash.proxy_fix.orig": {"REMOTE_ADDR": "10.0.0.2"}},
    )
    environ["REMOTE_ADDR"] = "203.0.113.9"
    call(MalformedRequestLogger(Recorder()), environ)
    fields = {
        key: getattr(records[0], key)
        for key in (
            "check",
            "action",
            "event",
            "method",
            "path",
            "remote_addr",
            "peer_addr",
            "user_agent",
            "request_id",
            "suppressed",
        )
    }
    assert fields == {
        "check": "uri.percent_encoding",
        "action": "log",
        "event": "input_validation_fail",
        "method": "GET",
        "path": "/a%zz",
        "remote_addr": "203.0.113.9",
        "peer_addr": "10.0.0.2",
        "user_agent": "curl/8",
        "request_id": "req-1",
        "suppressed": 0,
    }
    assert "from 203.0.113.9 (peer 10.0.0.2)" in records[0].getMessage()


def test_werkzeug_proxy_fix_original_peer_is_logged(records: Records) -> None:
    from werkzeug.middleware.proxy_fix import ProxyFix

    app = ProxyFix(MalformedRequestLogger(Recorder()), x_for=1)
    call(app, make_environ("/a%zz", HTTP_X_FORWARDED_FOR="198.51.100.4"))
    assert (records[0].remote_addr, records[0].peer_addr) == ("198.51.100.4", "192.0.2.7")  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("orig", "message_tail", "peer_addr"),
    [
        pytest.param(
            {"REMOTE_ADDR": "10.0.0.2"},
            "from 203.0.113.9 (peer 10.0.0.2)",
            "10.0.0.2",
            id="peer-differs",
        ),
        pytest.param(
            {"REMOTE_ADDR": "203.0.113.9"},
            "from 203.0.113.9",
            "203.0.113.9",
            id="peer-same-as-client",
        ),
        pytest.param({"REMOTE_ADDR": None}, "from 203.0.113.9", None, id="peer-unknown"),
        pytest.param({}, "from 203.0.113.9", None, id="orig-without-remote-addr"),
        pytest.param(None, "from 203.0.113.9", None, id="no-proxy-fix"),
    ],
)
def test_original_peer_is_mentioned_only_when_known_and_different(
    orig: dict[str, t.Any] | None, message_tail: str, peer_addr: str | None, records: Records
) -> None:
    environ = make_environ("/a%zz", **{"wsgi_flash.proxy_fix.orig": orig})
    environ["REMOTE_ADDR"] = "203.0.113.9"
    call(MalformedRequestLogger(Recorder()), environ)
    assert records[0].getMessage().endswith(message_tail)
    assert getattr(records[0], "peer_addr", None) == peer_addr


def test_json_formatter_emits_the_fields(records: Records) -> None:
    call(MalformedRequestLogger(Recorder()), make_environ("/a%00", raw="/a%00"))
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("%(levelname)s %(name)s %(message)s"))
    handler.handle(records[0])
    line = stream.getvalue()
    assert line.count("\n") == 1
    data = json.loads(line)
    assert data["levelname"] == "WARNING" and data["name"] == LOGGER
    assert data["check"] == "uri.nul_byte" and data["event"] == "input_validation_fail"
    assert data["path"] == "/a%00" and data["remote_addr"] == "192.0.2.7"
    assert data["message"].startswith("uri.nul_byte logged: NUL byte in the path;")


# Rate limiting and stats -----------------------------------------------------


def test_token_bucket_refills_and_counts_suppressed() -> None:
    bucket = TokenBucket(2, 10.0, now=0.0)
    taken = [bucket.take(0.0), bucket.take(0.0), bucket.take(0.0), bucket.take(1.0)]
    assert taken == [0, 0, None, None]
    assert bucket.take(5.0) == 2  # one token back after 5 s (2 per 10 s)
    assert bucket.take(5.0) is None


def test_rate_limit_suppresses_and_summarises(records: Records) -> None:
    now = [1000.0]
    reporter = Reporter(CHECKS_BY_ID, (2, 60.0), 200, None, clock=lambda: now[0])
    finding = ("uri.percent_encoding", "invalid percent-escape '%zz' in the path", "log")
    for _ in range(1236):
        reporter.report(make_environ("/a%zz"), [finding])
    assert len(records) == 2
    now[0] += 30.0  # one token back (2 per 60 s)
    reporter.report(make_environ("/a%zz"), [finding])
    assert len(records) == 3
    assert records[2].suppressed == 1234  # type: ignore[attr-defined]
    assert records[2].getMessage().endswith("; 1,234 similar suppressed")
    assert reporter.stats()["uri.percent_encoding"] == {
        "found": 1237,
        "logged": 3,
        "suppressed": 1234,
        "rejected": 0,
    }


def test_rate_limit_refills_once_its_period_has_passed(records: Records) -> None:
    now = [50.0]
    reporter = Reporter(CHECKS_BY_ID, (1, 0.3), 200, None, clock=lambda: now[0])
    finding = ("uri.percent_encoding", "invalid percent-escape '%zz' in the path", "log")
    reporter.report(make_environ("/a%zz"), [finding])
    reporter.report(make_environ("/a%zz"), [finding])
    now[0] += 0.29  # not yet
    reporter.report(make_environ("/a%zz"), [finding])
    now[0] += 0.02
    reporter.report(make_environ("/a%zz"), [finding])
    assert [r.suppressed for r in records] == [0, 2]  # type: ignore[attr-defined]


def test_the_middleware_counts_what_its_rate_limit_suppresses(records: Records) -> None:
    middleware = MalformedRequestLogger(Recorder(), rate_limit=(2, 3600.0))
    for _ in range(5):
        call(middleware, make_environ("/a%zz"))
    assert len(records) == 2
    assert middleware.stats["uri.percent_encoding"] == {
        "found": 5,
        "logged": 2,
        "suppressed": 3,
        "rejected": 0,
    }


def test_rate_limit_is_per_check(records: Records) -> None:
    middleware = MalformedRequestLogger(Recorder(), rate_limit=(1, 3600.0))
    for path in ("/a%zz", "/b%zz", "/a%u0041", "/b%u0041"):
        call(middleware, make_environ(path))
    assert found(records) == ["uri.percent_encoding", "uri.percent_u"]


def test_rate_limit_none_logs_everything(records: Records) -> None:
    middleware = MalformedRequestLogger(Recorder(), rate_limit=None)
    for _ in range(50):
        call(middleware, make_environ("/a%zz"))
    assert len(records) == 50


def test_stats_start_at_zero_for_every_check() -> None:
    stats = MalformedRequestLogger(Recorder()).stats
    assert set(stats) == {check.id for check in CHECKS}
    assert stats["uri.crlf"] == {"found": 0, "logged": 0, "suppressed": 0, "rejected": 0}


def test_stats_are_a_snapshot() -> None:
    middleware = MalformedRequestLogger(Recorder())
    stats = middleware.stats
    call(middleware, make_environ("/a%zz"))
    assert stats["uri.percent_encoding"]["found"] == 0
    assert middleware.stats["uri.percent_encoding"]["found"] == 1


# Client errors -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "logged"),
    [
        pytest.param("404 Not Found", True, id="404"),
        pytest.param("429 Too Many Requests", True, id="429"),
        pytest.param("200 OK", False, id="200"),
        pytest.param("500 Internal Server Error", False, id="500"),
    ],
)
def test_log_client_errors(status: str, logged: bool, records: Records) -> None:
    middleware = MalformedRequestLogger(Recorder(status), log_client_errors=True)
    call(middleware, make_environ("/missing"))
    if logged:
        assert [(r.check, r.levelno, r.status) for r in records] == [  # type: ignore[attr-defined]
            ("response.client_error", logging.INFO, status)
        ]
    else:
        assert records == []


def test_client_errors_not_logged_by_default(records: Records) -> None:
    call(MalformedRequestLogger(Recorder("404 Not Found")), make_environ())
    assert records == []


def test_client_error_watcher_forwards_exc_info_and_write() -> None:
    seen: list[t.Any] = []

    def write(data: bytes) -> None:
        seen.append(data)

    def start_response(status: str, headers: t.Any, exc_info: t.Any = None) -> t.Any:
        seen.append(exc_info)
        return write

    def app(environ: t.Any, start_response: t.Any) -> list[bytes]:
        info = (ValueError, ValueError("x"), None)
        start_response("400 Bad Request", [], info)(b"early")
        return []

    MalformedRequestLogger(app, log_client_errors=True)(make_environ(), start_response)
    assert seen[0][0] is ValueError and seen[1] == b"early"


# Body checks -------------------------------------------------------------------

BODY_CASES = [
    pytest.param("body.json", "application/json", b'{"a": 1,}', id="json-trailing-comma"),
    pytest.param("body.json", "application/problem+json", b"NaN", id="json-nan"),
    pytest.param("body.json", "application/json", b'"\xff"', id="json-not-utf8"),
    pytest.param(
        "body.urlencoded", "application/x-www-form-urlencoded", b"a=%zz&b=1", id="form-bad-escape"
    ),
    pytest.param("body.multipart", "multipart/form-data", b"--x\r\n", id="multipart-no-boundary"),
    pytest.param(
        "body.multipart",
        "multipart/form-data; boundary=abc",
        b"--xyz\r\n\r\n--xyz--",
        id="multipart-body-lacks-boundary",
    ),
]


@pytest.mark.parametrize(("check", "content_type", "body"), BODY_CASES)
def test_body_checks_log_and_keep_the_body(
    check: str, content_type: str, body: bytes, records: Records
) -> None:
    app = Recorder()
    environ = make_environ(
        method="POST",
        CONTENT_TYPE=content_type,
        CONTENT_LENGTH=str(len(body)),
        **{"wsgi.input": io.BytesIO(body + b"NEXT REQUEST")},
    )
    call(MalformedRequestLogger(app, enable=("body.*",)), environ)
    assert found(records) == [check]
    assert app.bodies == [body]


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        pytest.param("application/json", b'{"a": [1, 2.5, null]}', id="json"),
        pytest.param("application/x-www-form-urlencoded", b"a=%20b&c=d+e", id="form"),
        pytest.param(
            "multipart/form-data; boundary=abc",
            b'--abc\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--abc--\r\n',
            id="multipart",
        ),
    ],
)
def test_valid_bodies_log_nothing(content_type: str, body: bytes, records: Records) -> None:
    app = Recorder()
    environ = make_environ(
        method="POST",
        CONTENT_TYPE=content_type,
        CONTENT_LENGTH=str(len(body)),
        **{"wsgi.input": io.BytesIO(body)},
    )
    call(MalformedRequestLogger(app, enable=("body.*",)), environ)
    assert records == [] and app.bodies == [body]


def test_form_body_fields_count_against_max_arguments(records: Records) -> None:
    body = "&".join(["a=1"] * 11).encode()
    environ = make_environ(
        method="POST",
        CONTENT_TYPE="application/x-www-form-urlencoded",
        CONTENT_LENGTH=str(len(body)),
        **{"wsgi.input": io.BytesIO(body)},
    )
    call(MalformedRequestLogger(Recorder(), enable=("body.urlencoded",), max_arguments=10), environ)
    assert found(records) == ["args.too_many"]


def test_body_over_the_buffer_is_not_read(records: Records) -> None:
    stream = io.BytesIO(b"x" * 100)
    app = Recorder()
    environ = make_environ(
        method="POST",
        CONTENT_TYPE="application/json",
        CONTENT_LENGTH="100",
        **{"wsgi.input": stream},
    )
    call(MalformedRequestLogger(app, enable=("body.json",), body_buffer_size=99), environ)
    assert app.calls[0]["wsgi.input"] is stream and app.bodies == [b"x" * 100]
    # Not judged, and said so: a body check does not pass what it cannot read.
    assert [(r.check, r.detail) for r in records] == [  # type: ignore[attr-defined]
        ("body.unchecked", "body.json cannot judge a body of 100 bytes, over body_buffer_size 99")
    ]


def test_body_checks_are_off_by_default() -> None:
    stream = io.BytesIO(b"{not json")
    app = Recorder()
    environ = make_environ(
        method="POST", CONTENT_TYPE="application/json", CONTENT_LENGTH="9", **{"wsgi.input": stream}
    )
    call(MalformedRequestLogger(app), environ)
    assert app.calls[0]["wsgi.input"] is stream


# report_malformed --------------------------------------------------------------


def test_report_malformed_inside_the_middleware(records: Records) -> None:
    def app(environ: t.Any, start_response: t.Any) -> list[bytes]:
        report_malformed(Request(environ), "signup form\r\nfailed", field="email\x1b")
        start_response("200 OK", [])
        return []

    middleware = MalformedRequestLogger(app)
    call(middleware, make_environ())
    record = records[0]
    assert record.check == "app.report"  # type: ignore[attr-defined]
    assert record.details == {"field": "email\\x1b"}  # type: ignore[attr-defined]
    assert "signup form\\x0d\\x0afailed (field=email\\x1b)" in record.getMessage()
    assert middleware.stats["app.report"]["logged"] == 1


def test_report_malformed_from_a_streamed_body_counts_in_the_middleware(
    records: Records,
) -> None:
    def app(environ: t.Any, start_response: t.Any) -> t.Iterator[bytes]:
        start_response("200 OK", [])
        yield b"a"
        # Runs while the server iterates, after the middleware returned.
        report_malformed(environ, "late finding")
        yield b"b"

    middleware = MalformedRequestLogger(app, max_value_length=5)
    assert call(middleware, make_environ())[2] == b"ab"
    assert middleware.stats["app.report"]["logged"] == 1
    assert records[0].detail == "late ...(7 more)"  # type: ignore[attr-defined]


def test_report_malformed_outside_the_middleware(records: Records) -> None:
    report_malformed(make_environ(), "odd input")
    assert found(records) == ["app.report"]


def test_report_malformed_rejects_non_requests() -> None:
    with pytest.raises(TypeError, match=r"report_malformed\(\) takes the WSGI environ"):
        report_malformed("not a request", "x")


# Configuration -----------------------------------------------------------------

BAD_OPTIONS = [
    pytest.param(
        {"reject": "uri.nul_byte"}, TypeError, r"reject=\('uri.nul_byte',\)", id="reject-str"
    ),
    pytest.param({"reject": ("uri.nul",)}, ValueError, r"did you mean 'uri.nul_byte'", id="typo"),
    pytest.param({"enable": ("nope",)}, ValueError, r"python -m wsgi_flash checks", id="unknown"),
    pytest.param({"reject": ("app.report",)}, ValueError, r"cannot reject", id="not-rejectable"),
    pytest.param(
        {"reject": ("uri.crlf",), "disable": ("uri.crlf",)},
        ValueError,
        r"disable and also",
        id="reject-and-disable",
    ),
    pytest.param(
        {"reject": ("host.not_allowed",)},
        ValueError,
        r"needs allowed_hosts",
        id="not-allowed-without-hosts",
    ),
    pytest.param(
        {"enable": ("body.too_large",)},
        ValueError,
        r"needs max_content_length",
        id="too-large-without-max",
    ),
    pytest.param(
        {"allowed_hosts": "example.com"},
        TypeError,
        r"allowed_hosts=\['example.com'\]",
        id="hosts-str",
    ),
    pytest.param(
        {"allowed_hosts": ["example.com:8000"]},
        ValueError,
        r"use 'example.com'",
        id="host-with-port",
    ),
    pytest.param(
        {"rate_limit": (0, 1.0)}, ValueError, r"\(burst, period_seconds\)", id="rate-limit-zero"
    ),
    pytest.param({"rate_limit": 10}, ValueError, r"or None", id="rate-limit-int"),
    pytest.param(
        {"max_value_length": 0},
        ValueError,
        r"max_value_length must be at least 1",
        id="value-length",
    ),
    pytest.param(
        {"max_arguments": "10"}, TypeError, r"max_arguments must be an int", id="max-arguments-str"
    ),
    pytest.param({"log_errors": True}, TypeError, r"log_errors", id="unknown-option"),
]


@pytest.mark.parametrize(("options", "error", "message"), BAD_OPTIONS)
def test_bad_options_say_what_to_do(
    options: dict[str, t.Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        MalformedRequestLogger(Recorder(), **options)


def test_group_patterns_and_disable() -> None:
    middleware = MalformedRequestLogger(Recorder(), enable=("body.*",), disable=("uri.*",))
    assert middleware.actions["body.json"] == "log"
    assert middleware.actions["uri.crlf"] == "off"


@pytest.mark.parametrize(
    ("host", "patterns", "allowed"),
    [
        pytest.param("example.com", ["example.com"], True, id="exact"),
        pytest.param("EXAMPLE.com.:80", ["example.com"], True, id="case-dot-port"),
        pytest.param("sub.example.com", [".example.com"], True, id="wildcard-sub"),
        pytest.param("example.com", [".example.com"], True, id="wildcard-apex"),
        pytest.param("badexample.com", [".example.com"], False, id="wildcard-suffix-only"),
        pytest.param("example.com.evil", ["example.com"], False, id="suffix-attack"),
        pytest.param("[::1]:8000", ["[::1]"], True, id="ipv6"),
        pytest.param("anything.test", ["*"], True, id="star"),
    ],
)
def test_allowed_hosts_follow_django(host: str, patterns: list[str], allowed: bool) -> None:
    domain = split_domain_port(host)[0]
    assert host_is_allowed(domain, patterns) is allowed


def test_checks_command_prints_the_catalogue() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "wsgi_flash", "checks"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["id", "default", "origin", "description"]
    assert [line.split()[0] for line in lines[2:]] == [check.id for check in CHECKS]


# Never raise ---------------------------------------------------------------------

latin1 = st.text(st.characters(max_codepoint=0xFF), max_size=40)
header_names = st.sampled_from(
    [
        "HTTP_HOST",
        "HTTP_COOKIE",
        "HTTP_RANGE",
        "HTTP_USER_AGENT",
        "HTTP_TRANSFER_ENCODING",
        "CONTENT_TYPE",
        "CONTENT_LENGTH",
        "HTTP_X_REQUEST_ID",
        "SERVER_PROTOCOL",
        "REQUEST_METHOD",
        "RAW_URI",
        "PATH_INFO",
        "QUERY_STRING",
    ]
)
environs = st.builds(
    lambda values, body: {**make_environ(), **values, "wsgi.input": io.BytesIO(body)},
    st.dictionaries(header_names, st.one_of(latin1, st.sampled_from(["", "0", "12", "-1", "1e3"]))),
    st.binary(max_size=40),
)


def test_lone_surrogates_never_raise(records: Records) -> None:
    # Some servers decode with surrogateescape; such text cannot be encoded.
    environ = make_environ("/a\udcff", HTTP_USER_AGENT="x\ud800", HTTP_COOKIE="a\udcff=1")
    assert call(MalformedRequestLogger(Recorder()), environ)[0] == "200 OK"
    assert "header.control_characters" not in found(records)
    assert all(record.getMessage().isprintable() for record in records)


@settings(max_examples=300)
@given(environ=environs)
@example(  # found by hypothesis: a length past 2**63 - 1
    environ={
        **make_environ(),
        "HTTP_HOST": "",
        "CONTENT_LENGTH": "9223372036854775808",
        "wsgi.input": io.BytesIO(b""),
    }
)
def test_random_environs_never_raise(environ: dict[str, t.Any]) -> None:
    logging.getLogger(LOGGER).disabled = False
    errors: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = errors.append  # type: ignore[method-assign]
    handler.setLevel(logging.ERROR)
    logging.getLogger(LOGGER).addHandler(handler)
    try:
        middleware = MalformedRequestLogger(
            Recorder(),
            enable=("body.*", "host.numeric_ip", "method.unusual"),
            allowed_hosts=[".example.com"],
            log_client_errors=True,
        )
        status = call(middleware, dict(environ))[0]
        assert status == "200 OK"
        assert errors == []
        # The pre-scan never waves through what a full inspection flags.
        passed = {scope_of(check.id) for check in CHECKS}
        passed -= set(prescan_of(middleware, environ).suspects(environ))
        assert catalogue_findings(middleware, dict(environ), passed) == []
    finally:
        logging.getLogger(LOGGER).removeHandler(handler)


@pytest.mark.parametrize(
    ("raw", "detail"),
    [
        pytest.param("/a%zz", "invalid percent-escape '%zz' in the path", id="first"),
        pytest.param(
            "/%41%u0041/x?q=%2g",
            "invalid percent-escape '%2g' in the query string",
            id="after-valid",
        ),
        pytest.param("/%u12zz%zz", "invalid percent-escape '%u1' in the path", id="short-iis"),
    ],
)
def test_percent_encoding_detail_quotes_the_first_bad_escape(
    raw: str, detail: str, records: Records
) -> None:
    call(MalformedRequestLogger(Recorder()), make_environ(raw))
    details = {record.check: record.detail for record in records}  # type: ignore[attr-defined]
    assert details["uri.percent_encoding"] == detail
