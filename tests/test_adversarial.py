"""Hostile input at the edges of the malformed-request logger and the
package's logging: each test is a reproducer of an outside review's finding
(issue 12) or of the same class of hole, and failed before its fix."""

from __future__ import annotations

import dataclasses
import io
import logging
import socket
import typing as t

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests import servers
from tests.test_malformed import (
    Recorder,
    Records,
    call,
    catalogue_findings,
    make_environ,
    prescan_of,
)
from wsgi_flash._logging import LimitedLog, escape
from wsgi_flash.malformed import MalformedRequestLogger, _checks, report_malformed
from wsgi_flash.malformed._checks import CHECKS, scope_of
from wsgi_flash.malformed._request_checks import Facts

HUGE = "9" * 4400  # past int()'s 4,300-digit limit


@pytest.fixture
def malformed_records(caplog: pytest.LogCaptureFixture) -> Records:
    caplog.set_level(logging.INFO, logger="wsgi_flash.malformed")
    return Records(caplog)


def _rejecting(**options: t.Any) -> MalformedRequestLogger:
    return MalformedRequestLogger(
        Recorder(),
        allowed_hosts=["good.example"],
        reject=("host.not_allowed", "uri.nul_byte"),
        **options,
    )


class Ignorer(Recorder):
    """An endpoint that never reads the body."""

    def __call__(self, environ: dict[str, t.Any], start_response: t.Any) -> t.Iterable[bytes]:
        self.calls.append(environ)
        start_response(self.status, [("Content-Type", "text/plain")])
        return self.response


# Finding 1: no client-supplied number converted without a bound ----------------------


@pytest.mark.parametrize(
    "environ",
    [
        pytest.param(make_environ("/a%00b", HTTP_HOST="good.example"), id="nul-byte"),
        pytest.param(make_environ("/", HTTP_HOST="evil.example"), id="host"),
    ],
)
@pytest.mark.parametrize(
    "huge",
    [
        pytest.param({"HTTP_RANGE": f"bytes={HUGE}-0"}, id="range-first"),
        pytest.param({"HTTP_RANGE": f"bytes=0-{HUGE}"}, id="range-last"),
        pytest.param({"HTTP_RANGE": f"bytes=-{HUGE}"}, id="range-suffix"),
        pytest.param(
            {"CONTENT_LENGTH": HUGE, "REQUEST_METHOD": "POST", "CONTENT_TYPE": "application/json"},
            id="content-length",
        ),
    ],
)
def test_a_huge_number_switches_off_no_reject_rule(
    environ: dict[str, t.Any], huge: dict[str, str], malformed_records: Records
) -> None:
    middleware = _rejecting(
        enable=("body.json",), max_content_length=1000, disable=("body.get_with_body",)
    )
    status, _, _ = call(middleware, {**environ, **huge})
    assert status.startswith("400")
    assert not [r for r in malformed_records if r.exc_info or r.levelno >= logging.ERROR]


def test_a_huge_range_number_is_a_finding_of_its_own(
    malformed_records: Records,
) -> None:
    middleware = MalformedRequestLogger(Recorder(), reject=("header.range",))
    status, _, body = call(middleware, make_environ(HTTP_RANGE=f"bytes={HUGE}-0"))
    assert status.startswith("400") and body == b"Bad Request (header.range)\n"
    assert "over 19 digits" in malformed_records[0].getMessage()


def test_a_huge_content_length_is_too_large_and_not_read() -> None:
    class Unreadable(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            raise AssertionError("the body was read")

    middleware = MalformedRequestLogger(
        Recorder(),
        enable=("body.json",),
        max_content_length=10,
        reject=("body.too_large", "body.json"),
    )
    environ = make_environ(
        method="POST",
        CONTENT_LENGTH="0" * 5000 + HUGE,
        CONTENT_TYPE="application/json",
        **{"wsgi.input": Unreadable()},
    )
    status, _, body = call(middleware, environ)
    assert status.startswith("400") and body == b"Bad Request (body.too_large)\n"


def _failing_detector(facts: t.Any, limits: t.Any) -> str | None:
    raise ValueError("a bug in one detector")


def test_a_failing_detector_loses_only_its_own_verdict(
    monkeypatch: pytest.MonkeyPatch, malformed_records: Records
) -> None:
    checks = tuple(
        dataclasses.replace(check, detect=_failing_detector)
        if check.id == "header.range"
        else check
        for check in _checks.CHECKS
    )
    monkeypatch.setattr("wsgi_flash.malformed.middleware.CHECKS", checks)
    middleware = _rejecting()
    for _ in range(100):
        status, _, body = call(middleware, make_environ("/a%00b", HTTP_RANGE="bytes=0-1"))
        assert status.startswith("400") and body == b"Bad Request (uri.nul_byte)\n"
    errors = [r for r in malformed_records if r.levelno >= logging.ERROR]
    # One line per failure, no traceback, and rate-limited like every record.
    assert 1 <= len(errors) <= 20
    assert all(r.exc_info is None and "header.range" in r.getMessage() for r in errors)


@settings(max_examples=300)
@given(
    number=st.builds(str.__mul__, st.sampled_from(["9", "0", "10", "65536"]), st.integers(1, 5000)),
    header=st.sampled_from(["HTTP_RANGE", "CONTENT_LENGTH", "HTTP_HOST"]),
    template=st.sampled_from(["bytes={}-0", "bytes=0-{}", "bytes=-{}", "{}", "h.example:{}"]),
)
def test_no_number_in_a_request_makes_a_check_fail(number: str, header: str, template: str) -> None:
    errors: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = errors.append  # type: ignore[method-assign]
    logger = logging.getLogger("wsgi_flash.malformed")
    logger.addHandler(handler)
    try:
        middleware = MalformedRequestLogger(
            Ignorer(),
            enable=("body.*",),
            max_content_length=100,
            allowed_hosts=["h.example"],
            rate_limit=None,
        )
        environ = make_environ(
            method="POST",
            CONTENT_TYPE="application/json",
            **{header: template.format(number), "wsgi.input": io.BytesIO(b"{}")},
        )
        call(middleware, environ)
    finally:
        logger.removeHandler(handler)
    assert not [r for r in errors if r.levelno >= logging.ERROR]


# Finding 2: an allow-list denies what it cannot parse ---------------------------------


@pytest.mark.parametrize(
    "host",
    [
        "good.example@evil.example",
        "evil.example\\good.example",
        "evil.example/",
        "evil_x.example",
        "good.example:99999",
        "good.example:0",
        "good.example:" + "8" * 5000,
        "good.example:",
        "good.example good.example",
        "good.example\t",
        "[::1]good.example",
        "good.example#@evil.example",
    ],
)
def test_a_host_outside_the_grammar_is_not_allowed(host: str) -> None:
    status, _, body = call(_rejecting(), make_environ(HTTP_HOST=host))
    assert status.startswith("400") and body == b"Bad Request (host.not_allowed)\n"


@pytest.mark.parametrize(
    "host", ["good.example", "GOOD.Example", "good.example.", "good.example:8443", "good.example:1"]
)
def test_an_allowed_host_with_a_valid_port_passes(host: str) -> None:
    status, _, _ = call(_rejecting(), make_environ(HTTP_HOST=host))
    assert status == "200 OK"


# Finding 5: a body check never blocks an endpoint that does not read the body ----------


class NeverArrives(io.RawIOBase):
    """A wsgi.input whose client announced a body and never sent it."""

    def read(self, size: int = -1) -> bytes:
        raise AssertionError("read a body the app never asked for")


@pytest.mark.parametrize("check", ["body.json", "body.urlencoded", "body.multipart"])
def test_a_logging_body_check_reads_nothing_the_app_does_not(check: str) -> None:
    content_type = {
        "body.json": "application/json",
        "body.urlencoded": "application/x-www-form-urlencoded",
        "body.multipart": "multipart/form-data; boundary=x",
    }[check]
    environ = make_environ(
        method="POST",
        CONTENT_LENGTH="60000",
        CONTENT_TYPE=content_type,
        **{"wsgi.input": NeverArrives()},
    )
    status, _, _ = call(MalformedRequestLogger(Ignorer(), enable=(check,)), environ)
    assert status == "200 OK"


def test_a_logging_body_check_judges_what_the_app_reads(
    malformed_records: Records,
) -> None:
    body = b'{"a": 1,}'
    app = Recorder()
    environ = make_environ(
        method="POST",
        CONTENT_LENGTH=str(len(body)),
        CONTENT_TYPE="application/json",
        **{"wsgi.input": io.BytesIO(body + b"NEXT")},
    )
    status, _, _ = call(MalformedRequestLogger(app, enable=("body.json",)), environ)
    assert status == "200 OK" and app.bodies == [body]
    assert [r.check for r in malformed_records] == ["body.json"]  # type: ignore[attr-defined]


def test_a_body_read_line_by_line_is_judged_once(
    malformed_records: Records,
) -> None:
    body = b"a=1\n&b=%zz\n&c=3"

    def app(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
        lines = list(environ["wsgi.input"])
        assert b"".join(lines) == body
        start_response("200 OK", [])
        return [b""]

    environ = make_environ(
        method="POST",
        CONTENT_LENGTH=str(len(body)),
        CONTENT_TYPE="application/x-www-form-urlencoded",
        **{"wsgi.input": io.BytesIO(body)},
    )
    call(MalformedRequestLogger(app, enable=("body.urlencoded",)), environ)
    assert [r.check for r in malformed_records] == ["body.urlencoded"]  # type: ignore[attr-defined]


@pytest.mark.slow
def test_a_slow_client_does_not_block_a_sync_worker(tmp_path: t.Any) -> None:
    """Under real gunicorn with one sync worker: a POST that announces 60,000
    bytes and sends 5 gets its answer at once from an endpoint that never
    reads the body, instead of holding the worker until gunicorn kills it."""
    with servers.gunicorn(
        "body_check_app:app", tmp_path / "gunicorn.log", workers=1, config=None
    ) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(
                b"POST /submit HTTP/1.1\r\nHost: localhost\r\n"
                b'Content-Type: application/json\r\nContent-Length: 60000\r\n\r\n{"a":'
            )
            answer = sock.recv(4096)  # raises TimeoutError if the worker is stuck
        assert answer.startswith(b"HTTP/1.1 200")
        status, _, _ = server.request("GET", "/")
        assert status == 200


# Finding 6: the log escaper misses nothing invisible ----------------------------------


@pytest.mark.parametrize(
    "char",
    [
        "\u061c",  # Arabic letter mark (bidi)
        "\U000e0041",  # tag Latin capital A
        "\U000e007f",  # cancel tag
        "\u180e",  # Mongolian vowel separator
        "\ufff9",  # interlinear annotation anchor
        "\ufffa",
        "\ufffb",
        "\u115f",  # Hangul choseong filler
        "\u1160",
        "\u3164",  # Hangul filler
        "\uffa0",
        "\u034f",  # combining grapheme joiner
        "\ufe0f",  # variation selector 16
        "\U000e0100",  # variation selector 17
        "\u2066",  # left-to-right isolate
        "\u202e",  # right-to-left override
        "\u200b",  # zero width space
        "\u2028",  # line separator
        "\u2029",
        "\u3000",  # ideographic space
        "\xa0",
        "\xad",
        "\ue000",  # private use
        "\U0010fffd",
        "\ud800",  # lone surrogate
        "\U000e0001",  # language tag
    ],
)
def test_escape_leaves_no_invisible_character(char: str) -> None:
    code = ord(char)
    if code <= 0xFF:
        written = f"\\x{code:02x}"
    elif code <= 0xFFFF:
        written = f"\\u{code:04x}"
    else:
        written = f"\\U{code:08x}"
    assert escape(f"x{char}y") == f"x{written}y"


@pytest.mark.parametrize("text", ["Grüße", "日本語", "Ελληνικά", "emoji 🎉", "é"])
def test_escape_keeps_visible_text(text: str) -> None:
    assert escape(text) == text


def test_report_malformed_escapes_bidi_and_tags(
    malformed_records: Records,
) -> None:
    report_malformed(make_environ(), "x\u061c\U000e0041", field="\u2066y")
    message = malformed_records[-1].getMessage()
    assert "\u061c" not in message and "\U000e0041" not in message and "\u2066" not in message
    assert "x\\u061c\\U000e0041" in message


# Finding 7: every client-caused WARNING is rate-limited ------------------------------


def test_limited_log_bounds_a_flood_and_says_how_much_it_dropped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    log = LimitedLog(logging.getLogger("wsgi_flash.test"), (20, 60.0), clock=lambda: now[0])
    caplog.set_level(logging.WARNING, logger="wsgi_flash.test")
    for _ in range(1000):
        log.warning("bad_cookie", "bad cookie %s", "x")
    assert len(caplog.records) == 20
    assert log.stats() == {"bad_cookie": {"logged": 20, "suppressed": 980}}
    now[0] = 3.0  # one token back
    log.warning("bad_cookie", "bad cookie %s", "y")
    assert caplog.records[-1].getMessage() == "bad cookie y (980 similar suppressed)"
    assert caplog.records[-1].suppressed == 980  # type: ignore[attr-defined]
    # Each kind has its own bucket.
    log.warning("other", "other")
    assert log.stats()["other"] == {"logged": 1, "suppressed": 0}


def test_limited_log_without_a_limit_logs_everything(caplog: pytest.LogCaptureFixture) -> None:
    log = LimitedLog(logging.getLogger("wsgi_flash.test"), None)
    caplog.set_level(logging.WARNING, logger="wsgi_flash.test")
    for _ in range(50):
        log.warning("kind", "message")
    assert len(caplog.records) == 50


@pytest.mark.parametrize("rate_limit", [(0, 1.0), (1, 0), (True, 1.0), (1, float("inf")), "20/60"])
def test_limited_log_refuses_a_rate_limit_that_cannot_work(rate_limit: t.Any) -> None:
    with pytest.raises(ValueError, match="rate_limit must be"):
        LimitedLog(logging.getLogger("wsgi_flash.test"), rate_limit)


# Finding 9 and the uWSGI report: checks see what the app will see --------------------


@pytest.mark.parametrize("length", [None, "0"])
def test_multipart_without_a_boundary_is_found_without_a_body(
    length: str | None, malformed_records: Records
) -> None:
    environ = make_environ(CONTENT_TYPE="multipart/form-data", CONTENT_LENGTH=length)
    call(MalformedRequestLogger(Recorder(), enable=("body.multipart",)), environ)
    assert [r.check for r in malformed_records] == ["body.multipart"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("decoded", "check"),
    [("/a\x00b", "uri.nul_byte"), ("/a\r\nb", "uri.crlf"), ("/a\x1bb", "uri.control_characters")],
)
def test_a_control_byte_in_the_decoded_path_is_found_whatever_the_raw_target(
    decoded: str, check: str
) -> None:
    # uWSGI decodes the invalid escape "%zz" into a NUL in PATH_INFO.
    environ = make_environ(PATH_INFO=decoded, RAW_URI=None, REQUEST_URI="/a%zzb")
    middleware = MalformedRequestLogger(Recorder(), reject=(check,))
    status, _, body = call(middleware, environ)
    assert status.startswith("400") and body == f"Bad Request ({check})\n".encode()


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"n": ' + b"9" * 5000 + b"}", id="long-int"),
        pytest.param(b"[" + b"1" * 4400 + b".5e" + b"9" * 4400 + b"]", id="long-float"),
    ],
)
def test_a_long_json_number_is_valid_json_on_every_python(
    body: bytes, malformed_records: Records
) -> None:
    environ = make_environ(
        method="POST",
        CONTENT_LENGTH=str(len(body)),
        CONTENT_TYPE="application/json",
        **{"wsgi.input": io.BytesIO(body)},
    )
    status, _, _ = call(MalformedRequestLogger(Recorder(), reject=("body.json",)), environ)
    assert status == "200 OK" and malformed_records == []


def test_a_json_syntax_error_is_described_in_our_own_words(malformed_records: Records) -> None:
    body = b'{"a": 1,}'  # Python 3.13 words a trailing comma differently
    environ = make_environ(
        method="POST",
        CONTENT_LENGTH=str(len(body)),
        CONTENT_TYPE="application/json",
        **{"wsgi.input": io.BytesIO(body)},
    )
    call(MalformedRequestLogger(Recorder(), reject=("body.json",)), environ)
    assert malformed_records[0].detail == (  # type: ignore[attr-defined]
        "body is not JSON: syntax error"
    )


# The review's hunt: more of the same classes ------------------------------------------


def test_max_argument_length_is_enforced_below_the_other_limits() -> None:
    middleware = MalformedRequestLogger(
        Recorder(), max_argument_length=10, reject=("args.too_long",)
    )
    status, _, body = call(middleware, make_environ("/?q=" + "x" * 50))
    assert status.startswith("400") and body == b"Bad Request (args.too_long)\n"


def test_an_argument_reject_on_a_form_body_rejects_before_the_app() -> None:
    form = "&".join(["a=1"] * 2000).encode()
    app = Recorder()
    middleware = MalformedRequestLogger(app, enable=("body.urlencoded",), reject=("args.too_many",))
    environ = make_environ(
        method="POST",
        CONTENT_LENGTH=str(len(form)),
        CONTENT_TYPE="application/x-www-form-urlencoded",
        **{"wsgi.input": io.BytesIO(form)},
    )
    status, _, body = call(middleware, environ)
    assert status.startswith("400") and body == b"Bad Request (args.too_many)\n"
    assert app.calls == [] and middleware.stats["args.too_many"]["rejected"] == 1


@pytest.mark.parametrize("blank", ["\xa0", "\x85", " ", "\t"])
def test_a_blank_content_type_is_missing_for_the_pre_scan_too(blank: str) -> None:
    middleware = MalformedRequestLogger(Recorder(), reject=("body.content_type_missing",))
    environ = make_environ(
        method="POST",
        CONTENT_TYPE=blank,
        CONTENT_LENGTH="5",
        **{"wsgi.input": io.BytesIO(b"hello")},
    )
    status, _, _ = call(middleware, environ)
    # NBSP and NEL are not HTTP blanks: such a type is odd, not missing.
    assert status.startswith("400") == (blank in " \t")


@pytest.mark.parametrize(
    "target",
    ["/a%25%32%65%25%32%65/etc", "/x?q=%25%30%30", "/%25%36%31", "/%252e", "/%25%41"],
)
def test_double_encoding_of_an_escape_s_digits_is_found(target: str) -> None:
    middleware = MalformedRequestLogger(Recorder(), reject=("uri.double_encoding",))
    status, _, body = call(middleware, make_environ(target))
    assert status.startswith("400") and body == b"Bad Request (uri.double_encoding)\n"


@pytest.mark.parametrize("target", ["/100%25", "/%25zz", "/%25%7a", "/a%25"])
def test_an_escaped_percent_that_decodes_to_no_escape_is_not_double_encoding(
    target: str, malformed_records: Records
) -> None:
    call(MalformedRequestLogger(Recorder()), make_environ(target))
    assert [r.check for r in malformed_records] == []  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("extra", "detail"),
    [
        pytest.param(
            {"CONTENT_LENGTH": "70001"},
            "body.json cannot judge a body of 70,001 bytes, over body_buffer_size 65,536",
            id="large",
        ),
        pytest.param(
            {"HTTP_TRANSFER_ENCODING": "chunked", "CONTENT_LENGTH": None},
            "body.json cannot judge a chunked body",
            id="chunked",
        ),
    ],
)
def test_a_body_a_rejecting_check_cannot_judge_is_not_a_silent_pass(
    extra: dict[str, t.Any], detail: str, malformed_records: Records
) -> None:
    app = Recorder()
    middleware = MalformedRequestLogger(app, reject=("body.json", "body.unchecked"))
    environ = make_environ(
        method="POST",
        CONTENT_TYPE="application/json",
        **{"wsgi.input": io.BytesIO(b"{" + b" " * 70000)},
        **extra,
    )
    status, _, body = call(middleware, environ)
    assert status.startswith("400") and body == b"Bad Request (body.unchecked)\n"
    assert app.calls == []
    assert malformed_records[0].detail == detail  # type: ignore[attr-defined]


def test_body_unchecked_needs_a_body_check() -> None:
    with pytest.raises(ValueError, match="enable one of body\\.json"):
        MalformedRequestLogger(Recorder(), reject=("body.unchecked",))


def test_a_body_shorter_than_its_length_is_judged_at_its_end(
    malformed_records: Records,
) -> None:
    def reads_to_the_end(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
        assert environ["wsgi.input"].read() == b'{"a": 1'
        start_response("200 OK", [])
        return [b""]

    environ = make_environ(
        method="POST",
        CONTENT_LENGTH="100",
        CONTENT_TYPE="application/json",
        **{"wsgi.input": io.BytesIO(b'{"a": 1')},  # the client half-closed
    )
    call(MalformedRequestLogger(reads_to_the_end, enable=("body.json",)), environ)
    assert [r.check for r in malformed_records] == ["body.json"]  # type: ignore[attr-defined]


def test_the_checked_input_is_an_iterator_like_the_server_s() -> None:
    lines: list[bytes] = []

    def calls_next(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
        stream = environ["wsgi.input"]
        lines.append(next(stream))
        lines.extend(stream)
        start_response("200 OK", [])
        return [b""]

    body = b'{"a":\n1}\n'
    environ = make_environ(
        method="POST",
        CONTENT_LENGTH=str(len(body)),
        CONTENT_TYPE="application/json",
        **{"wsgi.input": io.BytesIO(body)},
    )
    call(MalformedRequestLogger(calls_next, enable=("body.json",)), environ)
    assert lines == [b'{"a":\n', b"1}\n"]


@pytest.mark.parametrize(
    "target",
    [
        "http://evil.example\\@good.example/x",
        "http://user:pw@good.example/x",
        "http://evil.example\\good.example/x",
    ],
)
def test_an_absolute_target_with_userinfo_or_a_backslash_is_found(target: str) -> None:
    middleware = MalformedRequestLogger(Recorder(), reject=("uri.target_form",))
    environ = make_environ(raw=target, HTTP_HOST="good.example")
    status, _, body = call(middleware, environ)
    assert status.startswith("400") and body == b"Bad Request (uri.target_form)\n"


@pytest.mark.parametrize(
    "target", ["http://good.example/x", "http://GOOD.example./x", "http://good.example:80/x"]
)
def test_an_absolute_target_naming_the_host_passes(target: str) -> None:
    middleware = MalformedRequestLogger(Recorder(), reject=("uri.target_form",))
    host = "good.example:80" if ":80" in target else "good.example"
    status, _, _ = call(middleware, make_environ(raw=target, HTTP_HOST=host))
    assert status == "200 OK"


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1.", "127.1", "2130706433", "0x7f.0.0.1", "0177.0.0.1", "127.000.0.1", "[::1]"],
)
def test_every_browser_spelling_of_an_ip_is_numeric(host: str) -> None:
    middleware = MalformedRequestLogger(Recorder(), reject=("host.numeric_ip",))
    status, _, _ = call(middleware, make_environ(HTTP_HOST=host))
    assert status.startswith("400")


@pytest.mark.parametrize("host", ["example.com", "1.example", "x1", "0x.example.com"])
def test_a_name_is_not_numeric(host: str) -> None:
    middleware = MalformedRequestLogger(Recorder(), reject=("host.numeric_ip",))
    assert call(middleware, make_environ(HTTP_HOST=host))[0] == "200 OK"


def test_a_long_multipart_boundary_is_a_finding_without_a_search(
    malformed_records: Records,
) -> None:
    body = b"x" * 1000
    environ = make_environ(
        method="POST",
        CONTENT_LENGTH=str(len(body)),
        CONTENT_TYPE="multipart/form-data; boundary=" + "b" * 8001,
        **{"wsgi.input": io.BytesIO(body)},
    )
    call(MalformedRequestLogger(Recorder(), enable=("body.multipart",)), environ)
    assert [r.detail for r in malformed_records] == [  # type: ignore[attr-defined]
        "multipart boundary of 8,001 characters (at most 70)"
    ]


@pytest.mark.parametrize(
    ("entry", "hint"),
    [
        ("*.example.com", "use '.example.com'"),
        ("good.example.", "use 'good.example'"),
        (" good.example", "use 'good.example'"),
        ("good.example/", "use 'good.example'"),
        ("http://good.example", "use 'good.example'"),
        ("good.example:8000", "use 'good.example'"),
        ("ex ample", "or '*'"),
    ],
)
def test_an_allowed_host_that_can_never_match_is_refused_at_start_up(entry: str, hint: str) -> None:
    with pytest.raises(ValueError, match="can never match") as error:
        MalformedRequestLogger(Recorder(), allowed_hosts=[entry])
    assert str(error.value).endswith(hint)


def test_a_client_cannot_keep_the_real_host_out_of_the_clean_hosts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A Host that passed every host check is remembered, so its next
    request runs no check at all; a flood of other clean hosts (more than
    are remembered) cannot keep the real one out for good."""
    from wsgi_flash.malformed import middleware as module

    inspected: list[str] = []

    def counting_facts(environ: dict[str, t.Any]) -> Facts:
        inspected.append(environ["HTTP_HOST"])
        return Facts(environ)

    monkeypatch.setattr(module, "Facts", counting_facts)
    middleware = MalformedRequestLogger(Recorder(), allowed_hosts=["good.example"])
    for port in range(1, 300):
        call(middleware, make_environ(HTTP_HOST=f"good.example:{port}"))
    call(middleware, make_environ(HTTP_HOST="good.example"))
    inspected.clear()
    call(middleware, make_environ(HTTP_HOST="good.example"))
    assert inspected == []
    call(middleware, make_environ(HTTP_HOST="new.good.example"))
    assert inspected == ["new.good.example"]


@pytest.mark.parametrize(
    "cookie",
    [
        "a=1; " * 100_000 + "bad",
        "a=1;;" * 100_000,
        "a=1; " * 100_000 + "b c=2",
    ],
)
def test_a_huge_cookie_is_judged_with_memory_near_its_own_size(cookie: str) -> None:
    import tracemalloc

    middleware = MalformedRequestLogger(Recorder(), rate_limit=None)
    environ = make_environ(HTTP_COOKIE=cookie)
    tracemalloc.start()
    try:
        call(middleware, environ)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # The pre-scan's one pass over the environ's text costs three copies.
    assert peak < 4 * len(cookie)


def test_a_huge_range_header_is_judged_with_memory_near_its_own_size() -> None:
    import tracemalloc

    value = "bytes=" + ",".join(["0-1"] * 200_000)
    middleware = MalformedRequestLogger(Recorder(), rate_limit=None)
    tracemalloc.start()
    try:
        call(middleware, make_environ(HTTP_RANGE=value))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * len(value)


_PIECES = [
    *'aZ09-._~%/?#=&;:@[] \t\x00\x7f\n\xe9\\,"',
    "%00",
    "%25",
    "%2",
    "%u0041",
    "%41",
    "%7f",
    "%e9",
    "%c3%a9",
    "%ff",
    "%25%32%65",
]
_TEXT = st.lists(st.sampled_from(_PIECES), max_size=12).map("".join)


@st.composite
def _requests(draw: st.DrawFn) -> dict[str, t.Any]:
    path = "/" + draw(_TEXT)
    environ = make_environ("/")
    environ["RAW_URI"] = draw(st.one_of(st.just(path), _TEXT))
    path_info, _, query = path.partition("?")
    environ["PATH_INFO"] = draw(st.one_of(st.just(path_info), _TEXT))
    environ["QUERY_STRING"] = draw(st.one_of(st.just(query), _TEXT))
    environ["REQUEST_METHOD"] = draw(st.sampled_from(["GET", "HEAD", "POST", "PUT", "FOO", "G T"]))
    environ["SERVER_PROTOCOL"] = draw(st.sampled_from(["HTTP/1.1", "HTTP/1.0", "HTTP/2", ""]))
    hosts = ["\xa0", "good.example", "GOOD.example.", "good.example:80", "evil.example", "[::1]"]
    hosts += ["127.1", "", " ", "good.example:0", "a_b"]
    environ["HTTP_HOST"] = draw(st.one_of(st.sampled_from(hosts), _TEXT))
    optional = {
        "CONTENT_LENGTH": ["\xa05", "5\x85", "0", "00", "5", " 5", "x", "²", "9" * 25],
        "CONTENT_TYPE": [" ", "\xa0", "\t", "", "application/json", "multipart/form-data"],
        "HTTP_TRANSFER_ENCODING": ["chunked", ""],
        "HTTP_RANGE": ["bytes=0-1", "bytes=1-0", "x", "bytes=" + "9" * 30 + "-"],
        "HTTP_COOKIE": ["a=1", "a=1; b=2", "a", "=1", "a=1;;b", " a=1", "a =1", "a=1; \x1cb=2"],
    }
    for key, values in optional.items():
        if draw(st.booleans()):
            environ[key] = draw(st.sampled_from(values))
    body = draw(st.sampled_from([b"", b"{}", b"{", b"a=1", b"a=%zz", b"--xx\r\n", b"a=1&b=2&c=3"]))
    environ["wsgi.input"] = io.BytesIO(body)
    return environ


@st.composite
def _options(draw: st.DrawFn) -> dict[str, t.Any]:
    body_checks = st.sampled_from(["body.json", "body.urlencoded", "body.multipart"])
    enabled = draw(st.lists(body_checks, unique=True))
    options: dict[str, t.Any] = {"enable": (*enabled, "host.numeric_ip", "method.unusual")}
    if draw(st.booleans()):
        options["allowed_hosts"] = ["good.example"]
    if draw(st.booleans()):
        options["max_content_length"] = draw(st.integers(1, 20))
    for name in ("max_arguments", "max_argument_name_length", "max_argument_length"):
        if draw(st.booleans()):
            options[name] = draw(st.integers(1, 20))
    return options


@settings(max_examples=800)
@given(options=_options(), environ=_requests(), warm=st.booleans())
def test_a_scope_the_pre_scan_passes_has_no_finding(
    options: dict[str, t.Any], environ: dict[str, t.Any], warm: bool
) -> None:
    """The pre-scan's promise, scope by scope: where it sees nothing worth a
    closer look, no enabled check of that scope would find anything."""
    middleware = MalformedRequestLogger(Recorder(), rate_limit=None, **options)
    # Warm: the pre-scan has learned this Host, if clean, from a clean request.
    prescan = prescan_of(middleware, environ if warm else {})
    passed = {scope_of(check.id) for check in CHECKS} - set(prescan.suspects(environ))
    assert catalogue_findings(middleware, dict(environ), passed) == []


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_a_content_type_without_a_body_is_not_unchecked(
    method: str, malformed_records: Records
) -> None:
    # No Content-Length and no Transfer-Encoding: there is no body to judge.
    middleware = MalformedRequestLogger(Recorder(), reject=("body.json", "body.unchecked"))
    environ = make_environ(method=method, CONTENT_TYPE="application/json")
    status, _, _ = call(middleware, environ)
    assert status == "200 OK"
    assert "body.unchecked" not in [r.check for r in malformed_records]  # type: ignore[attr-defined]
