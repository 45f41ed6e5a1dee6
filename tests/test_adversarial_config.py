"""Hostile input at the edges of flash, signing, configuration and hooks:
each test reproduces an outside review's finding (issue 12) or another hole
of the same class, and failed before its fix."""

from __future__ import annotations

import hashlib
import logging
import os
import pathlib
import secrets
import subprocess
import sys
import typing as t
import zlib
from datetime import timedelta

import pytest
from itsdangerous import Signer
from werkzeug.datastructures import Headers
from werkzeug.test import Client, create_environ, run_wsgi_app

from tests.servers import ROOT, free_port, gunicorn, server_env
from wsgi_flash import FlashMiddleware, flash, get_flashed_messages
from wsgi_flash.config import Config, ConfigError, options_of
from wsgi_flash.exceptions import CookieTooLargeError
from wsgi_flash.hooks import RequestHooks
from wsgi_flash.messages._signing import InvalidToken, TimedSigner, base64_encode
from wsgi_flash.paste import flash as paste_flash
from wsgi_flash.paste import proxy_fix as paste_proxy_fix

if t.TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

SECRET = "adversarial-config-secret-0123456789"
OLD = "adversarial-config-older-key-98765"
SALT = "wsgi_flash.flash"


def signed(payload: bytes, timestamp: bytes = b"", compress: bool = False) -> str:
    """A token signed with SECRET as the middleware signs, but carrying
    ``payload`` and ``timestamp`` exactly as given: what a holder of the key
    (another version of the app, say) could send."""
    signer = Signer(SECRET, salt=SALT, key_derivation="hmac", digest_method=hashlib.sha256)
    if not timestamp:
        import time

        timestamp = int(time.time()).to_bytes(4, "big")
    body = b"." + base64_encode(zlib.compress(payload)) if compress else base64_encode(payload)
    value = body + b"." + base64_encode(timestamp)
    return signer.sign(value).decode("ascii")


def call(app: t.Any, path: str, cookie: str) -> tuple[str, Headers, bytes]:
    """One request with this Cookie header (Werkzeug's Client would replace
    it with its own cookie jar, and warns about long cookies)."""
    body, status, headers = run_wsgi_app(app, create_environ(path, headers={"Cookie": cookie}))
    try:
        return status, headers, b"".join(body)
    finally:
        getattr(body, "close", lambda: None)()


def reflash_app(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
    """Flashes one more message on every request, so the cookie it read is
    written again; ``/read`` reads the messages."""
    if environ.get("PATH_INFO") == "/read":
        body = repr(get_flashed_messages(environ)).encode()
    else:
        flash(environ, "again")
        body = b"ok"
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]


class Records:
    """The records of one logger that the test captured so far."""

    def __init__(self, caplog: pytest.LogCaptureFixture, name: str) -> None:
        self.caplog, self.name = caplog, name
        caplog.set_level(logging.DEBUG, logger=name)

    def __call__(self) -> list[logging.LogRecord]:
        return [r for r in self.caplog.records if r.name == self.name]

    def messages(self) -> list[str]:
        return [r.getMessage() for r in self()]


@pytest.fixture
def flash_records(caplog: pytest.LogCaptureFixture) -> Records:
    return Records(caplog, "wsgi_flash.flash")


@pytest.fixture
def config_records(caplog: pytest.LogCaptureFixture) -> Records:
    return Records(caplog, "wsgi_flash.config")


# Finding 1: no client-supplied number converted without a bound ------------------


@pytest.mark.parametrize(
    "timestamp",
    [
        pytest.param(b"\xff" * 200, id="200-bytes"),
        pytest.param(b"\x01" + b"\x00" * 8, id="9-bytes"),
        pytest.param(b"\xff" * 1900, id="past-int-digits"),
    ],
)
def test_a_signed_timestamp_of_any_length_is_invalid_not_an_error(timestamp: bytes) -> None:
    token = signed(b'[["info","x"]]', timestamp)
    with pytest.raises(InvalidToken, match="timestamp too long"):
        TimedSigner(SECRET, [], SALT).unsign(token, 3600)
    client = Client(FlashMiddleware(reflash_app, secret_key=SECRET))
    client.set_cookie("flash", token)
    response = client.get("/read")
    assert response.status_code == 200 and response.text == "[]"


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(b'[["info",1e999]]', id="float-overflow"),
        pytest.param(b'[["info",-1e999]]', id="negative-float-overflow"),
        pytest.param(b'[["info",NaN]]', id="nan"),
        pytest.param(b'[["info",Infinity]]', id="infinity"),
        pytest.param(b'[["info",{"a":-Infinity}]]', id="nested-infinity"),
        pytest.param(b'[["info",' + b"9" * 5000 + b"]]", id="int-5000-digits"),
        pytest.param(b'[["info",' + b"[" * 40 + b"]" * 40 + b"]]", id="nested-40-deep"),
    ],
)
def test_a_signed_payload_flash_would_refuse_is_no_messages_never_a_500(
    payload: bytes, flash_records: Records, caplog: pytest.LogCaptureFixture
) -> None:
    """json.loads reads 1e999 as inf, NaN and Infinity as floats, and on
    Python 3.9-3.10 any int; written back with one more message, such a
    value made the response fail. Now the cookie is invalid and rewritten."""
    middleware = FlashMiddleware(reflash_app, secret_key=SECRET, rate_limit=None)
    for compress in (False, True):
        caplog.clear()
        status, headers, _ = call(middleware, "/", f"flash={signed(payload, compress=compress)}")
        assert status == "200 OK"
        cookie = headers["Set-Cookie"].split(";", 1)[0]
        assert call(middleware, "/read", cookie)[2] == b"['again']"
        [message] = flash_records.messages()
        assert "discarded an invalid flash cookie" in message


def test_flash_refuses_an_int_it_could_not_write_back() -> None:
    def app(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        with pytest.raises(TypeError, match="over 4300 digits"):
            flash(environ, 10**4300)
        flash(environ, 10**4300 - 1)
        flash(environ, [-(10**4300) + 1])
        start_response("200 OK", [])
        return [b""]

    client = Client(FlashMiddleware(app, secret_key=SECRET, max_cookie_size=4096))
    assert client.get("/").status_code == 200
    cookie = client.get_cookie("flash")
    assert cookie is not None
    payload, _ = TimedSigner(SECRET, [], SALT).unsign(cookie.value, 60)
    assert payload.count(b"9" * 4300) == 2  # both read back: what flash() takes, parse() takes


def test_a_compressible_message_too_long_to_read_back_is_never_written(
    flash_records: Records,
) -> None:
    """70 KB of one letter compresses into a small cookie, which every
    reader refused (over 64 KiB inflated): the message was lost a request
    later. Now it is an oversize message when flashed."""
    long = "a" * 70_000

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        if environ["PATH_INFO"] == "/read":
            body = repr(get_flashed_messages(environ)).encode()
        else:
            flash(environ, long)
            flash(environ, "kept")
            body = b""
        start_response("200 OK", [])
        return [body]

    client = Client(FlashMiddleware(app, secret_key=SECRET))
    client.get("/")
    [message] = flash_records.messages()
    assert "dropped the 1 oldest of 2" in message
    assert client.get("/read").text == "['kept']"
    raising = Client(FlashMiddleware(app, secret_key=SECRET, on_oversize="raise"))
    with pytest.raises(CookieTooLargeError, match="over 65536 bytes of JSON"):
        raising.get("/")


# Finding 7: a flood of bad cookies costs a bounded number of records ---------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_flood_of_tampered_cookies_logs_at_most_burst_plus_one(
    flash_records: Records,
) -> None:
    middleware = FlashMiddleware(reflash_app, secret_key=SECRET, rate_limit=(20, 60.0))
    clock = middleware._log.clock = Clock()
    good = signed(b'[["info","x"]]')
    for number in range(1000):
        status, headers, _ = call(middleware, "/read", f"flash={good[:-4]}{number:04d}")
        assert status == "200 OK" and "Max-Age=0" in headers["Set-Cookie"]
    clock.now += 60.0  # the bucket refills; the next record sums up the flood
    call(middleware, "/read", "flash=tampered")
    messages = flash_records.messages()
    assert len(messages) == 21
    assert messages[-1].endswith("(980 similar suppressed)")
    assert "similar suppressed" not in " ".join(messages[:-1])
    assert middleware.stats == {"invalid_cookie": {"logged": 21, "suppressed": 980}}


def test_oversize_and_late_read_warnings_are_limited_too(flash_records: Records) -> None:
    def app(environ: WSGIEnvironment, start_response: StartResponse) -> t.Iterable[bytes]:
        for number in range(3):
            flash(environ, secrets.token_urlsafe(2000) + str(number))
        start_response("200 OK", [])
        yield repr(get_flashed_messages(environ)).encode()

    middleware = FlashMiddleware(app, secret_key=SECRET, rate_limit=(2, 60.0))
    middleware._log.clock = Clock()
    for _ in range(10):
        call(middleware, "/", "")
    assert len(flash_records()) == 4
    assert middleware.stats == {
        "oversize": {"logged": 2, "suppressed": 8},
        "read_after_start_response": {"logged": 2, "suppressed": 8},
    }


def test_stats_start_empty_and_rate_limit_is_validated() -> None:
    assert FlashMiddleware(reflash_app, secret_key=SECRET).stats == {}
    with pytest.raises(ValueError, match="rate_limit"):
        FlashMiddleware(reflash_app, secret_key=SECRET, rate_limit=(0, 60.0))


# Finding 8: configuration that fails open or leaks --------------------------------


def _every_variable() -> list[str]:
    names = ["WSGI_FLASH_CONFIG", "WSGI_FLASH_SECRET_KEY", "WSGI_FLASH_FALLBACK_SECRET_KEYS"]
    for section in ("proxy", "malformed", "flash", "hooks"):
        names.append(f"WSGI_FLASH_{section.upper()}_ENABLED")
        for option in options_of(section):
            if option not in ("secret_key", "fallback_secret_keys"):
                names.append(f"WSGI_FLASH_{section.upper()}_{option.upper()}")
    return names


@pytest.mark.parametrize("value", [pytest.param("", id="empty"), pytest.param(" \t", id="blank")])
@pytest.mark.parametrize("name", _every_variable())
def test_an_empty_variable_is_an_error_naming_it(name: str, value: str) -> None:
    """WSGI_FLASH_PROXY_TRUSTED_PROXIES= used to mean None: trust every peer."""
    environ = {"WSGI_FLASH_SECRET_KEY": SECRET, name: value}
    with pytest.raises(ConfigError, match=f"{name}.* empty"):
        Config.load(environ=environ)


@pytest.mark.parametrize(
    ("name", "words"),
    [
        pytest.param("WSGI_FLASH_PROXY_TRUSTED_PROXIES", "trust every peer", id="trusted-proxies"),
        pytest.param("WSGI_FLASH_MALFORMED_ALLOWED_HOSTS", "allow every host", id="allowed-hosts"),
        pytest.param("WSGI_FLASH_MALFORMED_MAX_CONTENT_LENGTH", "any body size", id="max-length"),
        pytest.param("WSGI_FLASH_MALFORMED_RATE_LIMIT", "log every record", id="malformed-rate"),
        pytest.param("WSGI_FLASH_FLASH_RATE_LIMIT", "log every record", id="flash-rate"),
        pytest.param("WSGI_FLASH_FLASH_SAMESITE", "SameSite=None", id="samesite"),
    ],
)
@pytest.mark.parametrize("value", ["none", " None ", "NONE"])
def test_none_cannot_switch_a_protection_off(name: str, words: str, value: str) -> None:
    with pytest.raises(ConfigError, match=f"{name}.*{words}"):
        Config.load(environ={"WSGI_FLASH_SECRET_KEY": SECRET, name: value})


@pytest.mark.parametrize("value", [",", " , ", "10.0.0.0/8,", ",loopback", "a,,b"])
def test_a_list_with_an_empty_item_is_an_error(value: str) -> None:
    name = "WSGI_FLASH_PROXY_TRUSTED_PROXIES"
    with pytest.raises(ConfigError, match=f"{name}.*none of them empty"):
        Config.load(environ={name: value})


def test_an_empty_ini_value_is_an_error_naming_it() -> None:
    def app(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        return []

    conf = {"__file__": "/etc/app.ini"}
    with pytest.raises(ConfigError, match=r"/etc/app.ini .*proxy\.trusted_proxies is empty"):
        paste_proxy_fix(app, conf, x_for="1", trusted_proxies="")
    with pytest.raises(ConfigError, match=r"flash\.max_age = '1e999'"):
        paste_flash(app, conf, secret_key=SECRET, max_age="1e999")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        pytest.param("WSGI_FLASH_PROXY_X_FOR", "9" * 5000, id="5000-digits"),
        pytest.param("WSGI_FLASH_PROXY_X_FOR", "1_0", id="underscore"),
        pytest.param("WSGI_FLASH_PROXY_X_FOR", "\u0661", id="arabic-digit"),
        pytest.param("WSGI_FLASH_PROXY_X_FOR", "0x1", id="hex"),
        pytest.param("WSGI_FLASH_MALFORMED_BODY_BUFFER_SIZE", "9" * 19, id="19-digits"),
        pytest.param("WSGI_FLASH_FLASH_MAX_AGE", "inf", id="max-age-inf"),
        pytest.param("WSGI_FLASH_FLASH_MAX_AGE", "-Infinity", id="max-age-minus-inf"),
        pytest.param("WSGI_FLASH_FLASH_MAX_AGE", "nan", id="max-age-nan"),
        pytest.param("WSGI_FLASH_FLASH_MAX_AGE", "1e999", id="max-age-overflow"),
        pytest.param("WSGI_FLASH_FLASH_MAX_AGE", "1e300", id="max-age-huge"),
        pytest.param("WSGI_FLASH_FLASH_MAX_AGE", "-5", id="max-age-negative"),
        pytest.param("WSGI_FLASH_FLASH_MAX_AGE", "0", id="max-age-zero"),
        pytest.param("WSGI_FLASH_FLASH_MAX_AGE", "true", id="max-age-bool"),
        pytest.param("WSGI_FLASH_FLASH_MAX_AGE", "1" + "0" * 400, id="max-age-400-digits"),
        pytest.param("WSGI_FLASH_FLASH_MAX_COOKIE_SIZE", "1000000", id="cookie-size-huge"),
        pytest.param("WSGI_FLASH_MALFORMED_RATE_LIMIT", "20,inf", id="rate-inf"),
        pytest.param("WSGI_FLASH_FLASH_RATE_LIMIT", "20,nan", id="flash-rate-nan"),
    ],
)
def test_a_number_out_of_bounds_is_an_error_naming_the_variable(name: str, value: str) -> None:
    environ = {"WSGI_FLASH_SECRET_KEY": SECRET, name: value, "WSGI_FLASH_MALFORMED_ENABLED": "1"}
    with pytest.raises(ConfigError, match=name) as info:
        Config.load(environ=environ)
    assert len(str(info.value)) < 600  # a 5,000-digit value is cut, not repeated


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("[proxy]\nx_for = " + "9" * 5000 + "\n", id="int-5000-digits"),
        pytest.param("[flash]\nmax_age = inf\n", id="max-age-inf"),
        pytest.param("[flash]\nmax_age = nan\n", id="max-age-nan"),
        pytest.param("[flash]\nmax_age = -1\n", id="max-age-negative"),
    ],
)
def test_a_toml_number_out_of_bounds_is_an_error_naming_the_file(
    tmp_path: pathlib.Path, text: str
) -> None:
    path = tmp_path / "wsgi_flash.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=str(path)):
        Config.load(path, secret_key=SECRET)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param('[proxy]\nenabled = "false"\nx_for = 1\n', id="enabled-str"),
        pytest.param("[proxy]\nenabled = 0\n", id="enabled-int"),
        pytest.param('[proxy]\nremove_untrusted_headers = "false"\n', id="option-str"),
        pytest.param('[flash]\nhttponly = "no"\n', id="httponly-str"),
    ],
)
def test_a_toml_boolean_must_be_true_or_false(tmp_path: pathlib.Path, text: str) -> None:
    """``enabled = "false"`` is a truthy str: it turned ProxyFix on, trusting
    X-Forwarded-For from every peer."""
    path = tmp_path / "wsgi_flash.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=f"{path}: .*expected true or false"):
        Config.load(path, secret_key=SECRET)


@pytest.mark.parametrize(
    "max_age",
    [
        pytest.param(float("inf"), id="inf"),
        pytest.param(float("-inf"), id="minus-inf"),
        pytest.param(float("nan"), id="nan"),
        pytest.param(-1, id="negative"),
        pytest.param(0, id="zero"),
        pytest.param(1e300, id="huge-float"),
        pytest.param(10**400, id="huge-int"),
        pytest.param(10**5000, id="int-past-repr-limit"),
        pytest.param(timedelta(days=401), id="401-days"),
        pytest.param(True, id="bool"),
        pytest.param("60", id="str"),
        pytest.param(None, id="none"),
    ],
)
def test_max_age_out_of_bounds_is_a_clear_error(max_age: t.Any) -> None:
    with pytest.raises(ValueError, match="max_age must be a number of seconds") as info:
        FlashMiddleware(reflash_app, secret_key=SECRET, max_age=max_age)
    assert len(str(info.value)) < 300


def test_max_age_up_to_400_days_is_accepted() -> None:
    assert FlashMiddleware(reflash_app, secret_key=SECRET, max_age=timedelta(days=400)).max_age
    assert FlashMiddleware(reflash_app, secret_key=SECRET, max_age=0.5).max_age == 0.5


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/a\tb", id="tab"),
        pytest.param("/a\x0bb", id="vertical-tab"),
        pytest.param("/a\x7fb", id="del"),
        pytest.param("/a\x85b", id="next-line"),
        pytest.param("/caf\xe9", id="latin-1"),
        pytest.param("/\u0100", id="not-latin-1"),
        pytest.param("/a\u2028b", id="line-separator"),
        pytest.param("/a b", id="space"),
        pytest.param("/a;b", id="semicolon"),
        pytest.param("/a,b", id="comma"),
        pytest.param("/a\r\nSet-Cookie: x=1", id="crlf"),
        pytest.param("relative", id="relative"),
        pytest.param("", id="empty"),
    ],
)
def test_a_path_outside_the_cookie_grammar_is_refused_at_start(path: str) -> None:
    with pytest.raises(ValueError, match="path must start with '/' and hold only printable"):
        FlashMiddleware(reflash_app, secret_key=SECRET, path=path)
    with pytest.raises(ConfigError, match="WSGI_FLASH_FLASH_PATH"):
        Config.load(environ={"WSGI_FLASH_SECRET_KEY": SECRET, "WSGI_FLASH_FLASH_PATH": path})


@pytest.mark.parametrize(
    "domain",
    [
        pytest.param("exa mple.com", id="space"),
        pytest.param("a..b", id="empty-label"),
        pytest.param("-a.com", id="leading-hyphen"),
        pytest.param("a-.com", id="trailing-hyphen"),
        pytest.param("a_b.com", id="underscore"),
        pytest.param("", id="empty"),
        pytest.param(".", id="dot"),
        pytest.param("example.com.", id="trailing-dot"),
        pytest.param("b\xfccher.example", id="latin-1"),
        pytest.param("a\tb.com", id="tab"),
        pytest.param("a\x7f.com", id="del"),
        pytest.param("x" * 64 + ".com", id="label-too-long"),
        pytest.param("a." * 127 + "com", id="name-too-long"),
        pytest.param("a.com; Secure", id="attribute-injection"),
        pytest.param("a.com/", id="slash"),
    ],
)
def test_a_domain_that_is_no_host_name_is_refused_at_start(domain: str) -> None:
    with pytest.raises(ValueError, match="domain must be a host name"):
        FlashMiddleware(reflash_app, secret_key=SECRET, domain=domain)


@pytest.mark.parametrize(
    "domain",
    ["example.com", ".example.com", "localhost", "xn--bcher-kva.example", "a-b.c1", "x" * 63],
)
def test_a_host_name_is_a_valid_domain(domain: str) -> None:
    middleware = FlashMiddleware(reflash_app, secret_key=SECRET, domain=domain)
    assert f"; Domain={domain};" in middleware._deletions[True]


@pytest.mark.parametrize(
    ("option", "value"),
    [
        pytest.param("path", None, id="path-none"),
        pytest.param("path", b"/", id="path-bytes"),
        pytest.param("path", 1, id="path-int"),
        pytest.param("domain", b"example.com", id="domain-bytes"),
        pytest.param("domain", ["example.com"], id="domain-list"),
    ],
)
def test_a_cookie_attribute_of_the_wrong_type_is_a_type_error(option: str, value: t.Any) -> None:
    """path=None raised AttributeError ('NoneType' object has no attribute 'startswith')."""
    with pytest.raises(TypeError, match=f"{option} must be a"):
        FlashMiddleware(reflash_app, secret_key=SECRET, **{option: value})


def test_every_path_the_grammar_accepts_is_a_header_gunicorn_sends() -> None:
    """gunicorn refuses (InvalidResponseHeader) a header value outside
    ``[ \\t\\x21-\\x7e\\x80-\\xff]``; every path FlashMiddleware accepts, over the
    BMP's first 0x3000 code points and a sample beyond, makes a Set-Cookie
    that gunicorn's own check passes and that encodes as latin-1."""
    from gunicorn.http.wsgi import HEADER_VALUE_RE

    accepted = []
    for code in [*range(0x3000), 0xD800, 0xFEFF, 0xFFFF, 0x1F600, 0xE0041, 0x10FFFF]:
        path = "/a" + chr(code)
        try:
            middleware = FlashMiddleware(reflash_app, secret_key=SECRET, path=path, domain="a.b")
        except ValueError:
            continue
        accepted.append(chr(code))
        for header in (*middleware._deletions, middleware._cookie_for([("a", "b")], True)):
            assert header is not None and HEADER_VALUE_RE.fullmatch(header), repr(header)
            header.encode("latin-1")
    printable = {chr(c) for c in range(0x21, 0x7F)} - set(";,")
    assert set(accepted) == printable


def _gunicorn_command(port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"127.0.0.1:{port}",
        "-c",
        "python:wsgi_flash.gunicorn",
        "flash_app:app",
    ]


@pytest.mark.slow
@pytest.mark.parametrize(
    "path", [pytest.param("/a\x7fb", id="del"), pytest.param("/a\x0b", id="vt")]
)
def test_gunicorn_will_not_start_with_a_path_it_cannot_send(
    tmp_path: pathlib.Path, path: str
) -> None:
    """Before, gunicorn started and answered every request that set the
    flash cookie with a 500 (InvalidResponseHeader)."""
    env = {"WSGI_FLASH_SECRET_KEY": SECRET, "WSGI_FLASH_FLASH_PATH": path}
    try:
        result = subprocess.run(
            _gunicorn_command(free_port()),
            env=server_env(env),
            cwd=ROOT,
            capture_output=True,
            timeout=30,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("gunicorn started with a cookie path it cannot send")
    output = result.stdout.decode() + result.stderr.decode()
    assert result.returncode != 0
    assert "WSGI_FLASH_FLASH_PATH" in output and "RFC 6265 path-value" in output
    assert SECRET not in output


@pytest.mark.slow
def test_the_widest_valid_cookie_attributes_go_through_gunicorn(tmp_path: pathlib.Path) -> None:
    path = "/" + "".join(sorted({chr(c) for c in range(0x21, 0x7F)} - set(";,")))
    env = {
        "WSGI_FLASH_SECRET_KEY": SECRET,
        "WSGI_FLASH_FLASH_PATH": path,
        "WSGI_FLASH_FLASH_DOMAIN": "127.0.0.1",
    }
    with gunicorn("flash_app:app", tmp_path / "log", workers=1, env=env) as server:
        status, headers, _ = server.request("GET", "/flash?m=hi&c=info")
        assert status == 303
        assert f"; Domain=127.0.0.1; HttpOnly; Path={path}; SameSite=Lax" in headers["Set-Cookie"]
        cookie = headers["Set-Cookie"].split(";", 1)[0]
        assert server.json("/read", {"Cookie": cookie})["messages"] == [["info", "hi"]]
    assert "InvalidResponseHeader" not in server.log() and "Traceback" not in server.log()


@pytest.mark.parametrize(
    ("key", "why"),
    [
        pytest.param("a" * 16, "has only 1 distinct byte(s)", id="one-letter"),
        pytest.param(b"\x00" * 32, "has only 1 distinct byte(s)", id="zero-bytes"),
        pytest.param("0101010110101010", "has only 2 distinct byte(s)", id="two-symbols"),
        pytest.param("abcabcabcabcabcabc", "has only 3 distinct byte(s)", id="abc"),
        pytest.param("abcdefabcdefabcdef", "repeats one 6-byte pattern", id="abcdef"),
        pytest.param(
            "0123456789abcdef" * 2, "repeats one 16-byte pattern", id="hex-alphabet-twice"
        ),
        pytest.param("passwordpasswordpass", "repeats one 8-byte pattern", id="password-repeated"),
    ],
)
def test_a_guessable_key_warns_once_without_showing_it(
    key: str | bytes, why: str, flash_records: Records
) -> None:
    app = FlashMiddleware(reflash_app, secret_key=key)
    FlashMiddleware(reflash_app, secret_key=SECRET, fallback_secret_keys=[SECRET, key])
    call(app, "/", "")
    call(app, "/read", "")
    messages = flash_records.messages()
    assert [m.split(" ", 1)[0] for m in messages] == ["secret_key", "fallback_secret_keys[1]"]
    shown = key if isinstance(key, str) else key.decode("latin-1")
    for message in messages:
        assert why in message and "token_hex(32)" in message
        assert shown not in message and shown[:8] not in message


@pytest.mark.parametrize(
    "key",
    [
        pytest.param(secrets.token_hex(32), id="token-hex"),
        pytest.param(secrets.token_urlsafe(32), id="token-urlsafe"),
        pytest.param(secrets.token_bytes(32), id="token-bytes"),
        pytest.param(SECRET, id="test-style"),
        pytest.param("unit-test-secret-key-0123456789abcdef", id="test-style-2"),
    ],
)
def test_a_random_key_does_not_warn(key: str | bytes, flash_records: Records) -> None:
    FlashMiddleware(reflash_app, secret_key=key, fallback_secret_keys=[OLD])
    assert flash_records() == []


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
@pytest.mark.parametrize(
    ("mode", "text", "warns"),
    [
        pytest.param(0o644, f'secret_key = "{SECRET}"\n', True, id="644"),
        pytest.param(0o604, f'secret_key = "{SECRET}"\n', True, id="604"),
        pytest.param(0o644, f'[flash]\nsecret_key = "{SECRET}"\n', True, id="644-in-section"),
        pytest.param(
            0o644,
            f'fallback_secret_keys = ["{OLD}"]\n[flash]\nenabled = false\n',
            True,
            id="644-fallback",
        ),
        pytest.param(0o640, f'secret_key = "{SECRET}"\n', False, id="640-group"),
        pytest.param(0o600, f'secret_key = "{SECRET}"\n', False, id="600"),
        pytest.param(0o644, "[proxy]\nx_for = 1\n", False, id="644-no-secret"),
    ],
)
def test_a_config_file_every_user_can_read_warns_when_it_holds_a_secret(
    tmp_path: pathlib.Path, mode: int, text: str, warns: bool, config_records: Records
) -> None:
    path = tmp_path / "wsgi_flash.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    Config.load(path)
    messages = config_records.messages()
    assert len(messages) == warns
    for message in messages:
        assert str(path) in message and oct(mode) in message and "chmod o-r" in message
        assert SECRET not in message and OLD not in message


def test_secrets_never_appear_in_repr_str_describe_logs_or_errors(
    tmp_path: pathlib.Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="wsgi_flash")
    config = Config.load(secret_key=SECRET, fallback_secret_keys=[OLD], proxy={"x_for": 1})
    wrapped = config.wrap(reflash_app)
    flash_app = FlashMiddleware(reflash_app, secret_key=SECRET, fallback_secret_keys=[OLD])
    texts = [repr(config), str(config), config.describe(), repr(wrapped), str(wrapped)]
    texts += [repr(flash_app), str(flash_app), repr(flash_app.stats)]
    assert "secret_key" in repr(config) and "<hidden>" in repr(config)
    broken: list[dict[str, t.Any]] = [
        {"environ": {"WSGI_FLASH_SECRET_KEY": SECRET[:10]}},
        {"environ": {"WSGI_FLASH_SECRET_KEY": SECRET, "WSGI_FLASH_FALLBACK_SECRET_KEYS": OLD[:9]}},
        {"environ": {"WSGI_FLASH_SECRET_KEY": SECRET, "WSGI_FLASH_FLASH_MAX_AGE": "inf"}},
        {"secret_key": SECRET, "flash": {"fallback_secret_keys": OLD}},
        {"secret_key": SECRET, "flash": {"secret_key": [SECRET]}},
        {"secret_key": SECRET, "fallback_secret_keys": [OLD], "flash": {"path": None}},
    ]
    for options in broken:
        with pytest.raises(ConfigError) as info:
            Config.load(**options)
        texts.append(str(info.value))
    path = tmp_path / "bad.toml"
    path.write_text(f'secret_key = "{SECRET}\n', encoding="utf-8")  # unterminated
    with pytest.raises(ConfigError) as info:
        Config.load(path)
    texts.append(str(info.value))
    texts += [record.getMessage() for record in caplog.records]
    for text in texts:
        assert SECRET[:10] not in text and OLD[:9] not in text, text


# Finding 9: teardown hooks get the exception the app iterable's close() raised --------


class CloseFailed(Exception):
    pass


class ClosingFails:
    """A real app iterable whose close() raises."""

    def __init__(self) -> None:
        self.closed = 0

    def __iter__(self) -> t.Iterator[bytes]:
        yield b"body"

    def close(self) -> None:
        self.closed += 1
        raise CloseFailed("close failed")


@pytest.mark.parametrize("after", ["none", "headers", "new-body", "webob"])
def test_teardown_gets_the_exception_close_raised(after: str) -> None:
    body = ClosingFails()

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> t.Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return body

    if after == "webob":
        import webob

        hooks = RequestHooks(app, request_class=webob.Request)
    else:
        hooks = RequestHooks(app)
    seen: list[BaseException | None] = []
    hooks.teardown_request(lambda request, exc: seen.append(exc))
    if after in ("headers", "webob"):
        hooks.after_request(lambda request, response: response)
    elif after == "new-body":
        hooks.after_request(lambda request, response: "replaced")
    from wsgiref.util import setup_testing_defaults

    environ: dict[str, t.Any] = {}
    setup_testing_defaults(environ)
    iterable = hooks(environ, lambda status, headers, exc_info=None: lambda data: None)
    b"".join(iterable)
    with pytest.raises(CloseFailed):
        iterable.close()  # type: ignore[attr-defined]
    assert body.closed == 1
    assert len(seen) == 1 and isinstance(seen[0], CloseFailed)
    iterable.close()  # type: ignore[attr-defined]  # once only
    assert body.closed == 1 and len(seen) == 1


# The hunt, through a real server: raw bytes a normal client cannot send -----------


def _hostile_cookies() -> dict[str, bytes]:
    return {
        "latin-1-bytes": b"flash=caf\xe9\xff\x85",
        "huge-timestamp": signed(b'[["info","x"]]', b"\xff" * 1900).encode(),
        "float-overflow": signed(b'[["info",1e999]]').encode(),
        "nan": signed(b'[["info",NaN]]').encode(),
        "int-5000-digits": signed(b'[["info",' + b"9" * 5000 + b"]]", compress=True).encode(),
        "nested-deep": signed(b'[["info",' + b"[" * 900 + b"]" * 900 + b"]]").encode(),
        "many-separators": b"a=b;" * 1500 + b"flash=x",
        "8k-value": b"flash=" + b"A" * 8000,
        "repeated": b"flash=; flash=" + signed(b'[["info","second"]]').encode(),
        "tampered": b"flash=" + signed(b'[["info","x"]]').encode()[:-2] + b"AA",
    }


@pytest.mark.slow
@pytest.mark.parametrize("worker_class", ["sync", "gthread"])
def test_hostile_cookies_over_raw_sockets_never_give_a_500_or_a_traceback(
    tmp_path: pathlib.Path, worker_class: str
) -> None:
    env = {"WSGI_FLASH_SECRET_KEY": SECRET, "WSGI_FLASH_FLASH_RATE_LIMIT": "5,86400"}
    cookies = _hostile_cookies()
    with gunicorn(
        "flash_app:app", tmp_path / "log", workers=1, worker_class=worker_class, env=env
    ) as server:
        for name, cookie in [*cookies.items(), *[("flood", cookies["tampered"])] * 40]:
            request = b"GET /read HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            answer = server.raw(request + b"Cookie: " + cookie + b"\r\n\r\n")
            status = answer[:12]
            assert status == b"HTTP/1.1 200", (name, answer[:300])
            assert b'"messages": []' in answer, (name, answer[-300:])
    log = server.log()
    assert "Traceback" not in log and "InvalidResponseHeader" not in log, log
    # 5 at once per kind, then silence for a day: a flood costs 5 lines.
    assert log.count("discarded an invalid flash cookie") == 5, log


def test_a_header_of_thousands_of_cookies_costs_memory_for_one() -> None:
    """The Cookie header was split whole: 2,700 tiny cookies in 8 KB made a
    list of 2,700 strings, a 160 KB peak for one request."""
    import tracemalloc

    middleware = FlashMiddleware(reflash_app, secret_key=SECRET)
    header = "ab;" * 2700 + "flash=x"
    environ = create_environ("/read", headers={"Cookie": header})
    run_wsgi_app(middleware, dict(environ))  # warm up: imports, caches, the first WARNING
    tracemalloc.start()
    try:
        body, status, _ = run_wsgi_app(middleware, dict(environ))
        assert b"".join(body) == b"[]" and status == "200 OK"
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * len(header), peak  # it was 20 times
