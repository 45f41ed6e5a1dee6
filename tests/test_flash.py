from __future__ import annotations

import base64
import hashlib
import logging
import threading
import time
import typing as t
import zlib
from wsgiref.validate import validator

import pytest
import webob
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from markupsafe import Markup
from werkzeug.test import Client, EnvironBuilder
from werkzeug.wrappers import Request

from wsgi_flash import FlashMiddleware, flash, get_flashed_messages, peek_flashed_messages
from wsgi_flash.exceptions import CookieTooLargeError, HeadersAlreadySentError, NotInstalledError

SECRET = "unit-test-secret-key-0123456789abcdef"
OLD_SECRET = "the-previous-secret-key-0123456789"


def reference_serializer(*keys: str) -> URLSafeTimedSerializer:
    """itsdangerous's own serializer, configured as the docs say ours is."""
    return URLSafeTimedSerializer(
        list(keys),
        salt="wsgi_flash.flash",
        signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha256},
    )


def action_app(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
    """/flash?m=..&c=.. flashes and redirects; /read shows and consumes;
    /peek shows; /plain touches nothing."""
    request = Request(environ)
    path = environ["PATH_INFO"]
    if path == "/flash":
        for message in request.args.getlist("m"):
            flash(request, message, request.args.get("c", "message"))
        start_response("303 See Other", [("Location", "/read")])
        return [b""]
    if path == "/read":
        body = repr(get_flashed_messages(request, with_categories=True))
    elif path == "/peek":
        body = repr(peek_flashed_messages(environ, with_categories=True))
    else:
        body = "plain"
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
    return [body.encode()]


def make(**options: t.Any) -> Client:
    options.setdefault("secret_key", SECRET)
    return Client(FlashMiddleware(action_app, **options))


def set_cookie_headers(response: t.Any) -> list[str]:
    return response.headers.getlist("Set-Cookie")


# --- the round trip --------------------------------------------------------


def test_flash_survives_redirect_and_shows_once() -> None:
    client = make()
    response = client.get("/flash?m=Saved&c=success")
    assert response.status_code == 303
    assert client.get("/read").text == "[('success', 'Saved')]"
    assert client.get("/read").text == "[]"


def test_cookie_is_itsdangerous_token_with_our_salt() -> None:
    client = make()
    client.get("/flash?m=hello")
    token = client.get_cookie("flash")
    assert token is not None
    assert reference_serializer(SECRET).loads(token.value, max_age=60) == [["message", "hello"]]


def test_reads_cookie_made_by_itsdangerous() -> None:
    client = make()
    token = reference_serializer(SECRET).dumps([["info", "from itsdangerous"], ["x", "y" * 300]])
    assert token.startswith(".")  # the long message made itsdangerous compress it
    client.set_cookie("flash", token)
    assert client.get("/read").text == f"[('info', 'from itsdangerous'), ('x', '{'y' * 300}')]"


def test_long_messages_are_compressed() -> None:
    client = make()
    client.get("/flash?m=" + "a" * 2000)
    token = client.get_cookie("flash")
    assert token is not None and token.value.startswith(".") and len(token.value) < 200
    assert client.get("/read").text == "[('message', '" + "a" * 2000 + "')]"


@pytest.mark.parametrize(
    "message",
    [
        pytest.param("plain text", id="str"),
        pytest.param(Markup("<b>bold</b>"), id="markup"),
        pytest.param({"text": "hi", "count": 2, "tags": ["a", None], "ok": True}, id="dict"),
        pytest.param([1, 2.5, "x"], id="list"),
        pytest.param(42, id="int"),
        pytest.param(None, id="none"),
    ],
)
def test_message_values_round_trip(message: t.Any) -> None:
    def app(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
        if environ["PATH_INFO"] == "/flash":
            flash(environ, message, "c")
            result = "flashed"
        else:
            [(category, got)] = get_flashed_messages(environ, with_categories=True)
            assert got == message and type(got) is type(message) and category == "c"
            result = "read"
        start_response("200 OK", [])
        return [result.encode()]

    client = Client(FlashMiddleware(app, secret_key=SECRET))
    client.get("/flash")
    assert client.get("/read").text == "read"


def test_object_with_html_comes_back_as_markup() -> None:
    class Html:
        def __html__(self) -> str:
            return "<i>safe</i>"

    def app(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
        if environ["PATH_INFO"] == "/flash":
            flash(environ, Html())
        else:
            [got] = get_flashed_messages(environ)
            assert type(got) is Markup and got == "<i>safe</i>"
        start_response("200 OK", [])
        return [b"ok"]

    client = Client(FlashMiddleware(app, secret_key=SECRET))
    client.get("/flash")
    assert client.get("/read").text == "ok"


@pytest.mark.parametrize(
    ("message", "category", "words"),
    [
        pytest.param({1, 2}, "message", "not a set", id="set"),
        pytest.param(("a", "b"), "message", "use a list", id="tuple"),
        pytest.param(b"bytes", "message", "not a bytes", id="bytes"),
        pytest.param(object(), "message", "not a object", id="object"),
        pytest.param(float("nan"), "message", "the float nan", id="nan"),
        pytest.param({1: "x"}, "message", "dict key of type int", id="int-key"),
        pytest.param({"a": [{"b": {2}}]}, "message", "not a set", id="nested-set"),
        pytest.param("ok", 5, "category must be a str", id="int-category"),
    ],
)
def test_unstorable_message_raises_at_flash_call(
    message: t.Any, category: t.Any, words: str
) -> None:
    errors: list[Exception] = []

    def app(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
        try:
            flash(environ, message, category)
        except TypeError as error:
            errors.append(error)
        start_response("200 OK", [])
        return [b""]

    response = Client(FlashMiddleware(app, secret_key=SECRET)).get("/")
    assert response.status_code == 200
    assert len(errors) == 1 and words in str(errors[0])
    assert "Set-Cookie" not in response.headers


# --- beyond Flask ----------------------------------------------------------


def test_peek_does_not_consume() -> None:
    client = make()
    client.get("/flash?m=one")
    assert client.get("/peek").text == "[('message', 'one')]"
    assert client.get("/peek").text == "[('message', 'one')]"
    assert client.get("/read").text == "[('message', 'one')]"
    assert client.get("/peek").text == "[]"


def filtered_app(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
    if environ["PATH_INFO"] == "/flash":
        flash(environ, "e1", "error")
        flash(environ, "i1", "info")
        flash(environ, "e2", "error")
        body = ""
    elif environ["PATH_INFO"] == "/errors":
        body = repr(get_flashed_messages(environ, category_filter=["error"]))
    else:
        body = repr(get_flashed_messages(environ, with_categories=True))
    start_response("200 OK", [])
    return [body.encode()]


@pytest.mark.parametrize(
    ("keep_filtered_out", "then"),
    [
        pytest.param(False, "[]", id="flask-discards-unreturned"),
        pytest.param(True, "[('info', 'i1')]", id="keep-unreturned"),
    ],
)
def test_filtered_read_consumption(keep_filtered_out: bool, then: str) -> None:
    client = Client(
        FlashMiddleware(filtered_app, secret_key=SECRET, keep_filtered_out=keep_filtered_out)
    )
    client.get("/flash")
    assert client.get("/errors").text == "['e1', 'e2']"
    assert client.get("/all").text == then
    assert client.get("/all").text == "[]"


# --- the cookie's attributes and when it is written -------------------------


def test_default_attributes() -> None:
    [header] = set_cookie_headers(make().get("/flash?m=x"))
    name_value, *attributes = header.split("; ")
    assert name_value.startswith("flash=")
    assert sorted(attributes) == ["HttpOnly", "Path=/", "SameSite=Lax"]


@pytest.mark.parametrize(
    ("options", "base_url", "expected"),
    [
        pytest.param({}, "https://example.com", {"Secure"}, id="https-auto-secure"),
        pytest.param({"secure": False}, "https://example.com", set(), id="https-forced-insecure"),
        pytest.param({"secure": True}, "http://example.com", {"Secure"}, id="http-forced-secure"),
        pytest.param(
            {"domain": "example.com"}, "http://example.com", {"Domain=example.com"}, id="domain"
        ),
        pytest.param({"path": "/app"}, "http://example.com", {"Path=/app"}, id="path"),
        pytest.param(
            {"samesite": "Strict"}, "http://example.com", {"SameSite=Strict"}, id="strict"
        ),
        pytest.param({"samesite": None, "httponly": False}, "http://example.com", set(), id="none"),
    ],
)
def test_configured_attributes(
    options: dict[str, t.Any], base_url: str, expected: set[str]
) -> None:
    response = make(**options).get("/flash?m=x", base_url=base_url)
    [header] = set_cookie_headers(response)
    attributes = set(header.split("; ")[1:])
    defaults = {"HttpOnly", "Path=/", "SameSite=Lax"}
    for option, attribute in (("httponly", "HttpOnly"), ("samesite", "SameSite=Lax")):
        if option in options:
            defaults.discard(attribute)
    if "path" in options or "samesite" in options:
        defaults.discard("Path=/" if "path" in options else "SameSite=Lax")
    assert attributes == defaults | expected


def test_emptied_store_deletes_cookie_with_same_attributes() -> None:
    client = make(domain="example.com", path="/")
    [set_header] = set_cookie_headers(client.get("/flash?m=x", base_url="https://example.com"))
    response = client.get("/read", base_url="https://example.com")
    [delete_header] = set_cookie_headers(response)
    assert delete_header.startswith("flash=; ")
    assert "Max-Age=0" in delete_header and "Expires=Thu, 01 Jan 1970 00:00:00 GMT" in delete_header
    set_attributes = set(set_header.split("; ")[1:])
    delete_attributes = set(delete_header.split("; ")[1:]) - {
        "Max-Age=0",
        "Expires=Thu, 01 Jan 1970 00:00:00 GMT",
    }
    assert delete_attributes == set_attributes
    assert client.get_cookie("flash", domain="example.com") is None


def test_untouched_request_without_cookie_is_byte_for_byte_untouched() -> None:
    seen: dict[str, t.Any] = {}
    body = [b"hello"]
    headers = [("Content-Type", "text/plain"), ("X-Thing", "1")]

    def app(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
        start_response("200 OK", headers)
        return body

    def start_response(
        status: str, response_headers: list[tuple[str, str]], exc_info: t.Any = None
    ) -> t.Any:
        seen["status"], seen["headers"] = status, response_headers
        return lambda data: None

    environ = EnvironBuilder("/", headers={"Cookie": "session=abc"}).get_environ()
    result = FlashMiddleware(app, secret_key=SECRET)(environ, start_response)
    assert result is body
    assert seen == {"status": "200 OK", "headers": headers}
    assert seen["headers"] is headers


def test_requests_without_a_cookie_never_share_messages() -> None:
    """Untouched requests share one read-only state; the first flash or
    read gives a request its own, so nothing leaks into the next request."""
    seen = []

    def app(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
        seen.append(peek_flashed_messages(environ))
        if environ["PATH_INFO"] == "/flash":
            flash(environ, "mine")
        start_response("200 OK", [])
        return [b""]

    client = Client(FlashMiddleware(app, secret_key=SECRET), use_cookies=False)
    assert client.get("/flash").headers.get("Set-Cookie", "").startswith("flash=")
    client.get("/")
    client.get("/")
    assert seen == [[], [], []]


def test_valid_unread_cookie_is_not_rewritten() -> None:
    client = make()
    client.get("/flash?m=x")
    response = client.get("/plain")
    assert set_cookie_headers(response) == []
    assert "Vary" not in response.headers
    assert client.get("/read").text == "[('message', 'x')]"


@pytest.mark.parametrize(
    ("path", "vary"),
    [
        pytest.param("/read", "Cookie", id="read-nothing-still-varies"),
        pytest.param("/peek", "Cookie", id="peek-varies"),
        pytest.param("/plain", None, id="untouched-no-vary"),
    ],
)
def test_vary_cookie_when_accessed(path: str, vary: str | None) -> None:
    response = make().get(path)
    assert response.headers.get("Vary") == vary
    assert set_cookie_headers(response) == []


def test_vary_merges_with_existing_header() -> None:
    def app(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
        flash(environ, "x")
        start_response("200 OK", [("Vary", "Accept-Encoding")])
        return [b""]

    response = Client(FlashMiddleware(app, secret_key=SECRET)).get("/")
    assert response.headers.getlist("Vary") == ["Accept-Encoding, Cookie"]


# --- key rotation -------------------------------------------------------------


def test_fallback_key_reads_and_rewrites_with_current_key() -> None:
    old_client = make(secret_key=OLD_SECRET)
    old_client.get("/flash?m=first")
    old_token = old_client.get_cookie("flash")
    assert old_token is not None

    client = make(secret_key=SECRET, fallback_secret_keys=[OLD_SECRET])
    client.set_cookie("flash", old_token.value)
    client.get("/flash?m=second")
    new_token = client.get_cookie("flash")
    assert new_token is not None
    assert reference_serializer(SECRET).loads(new_token.value) == [
        ["message", "first"],
        ["message", "second"],
    ]
    assert client.get("/read").text == "[('message', 'first'), ('message', 'second')]"


def test_rotated_out_key_is_rejected() -> None:
    old_client = make(secret_key=OLD_SECRET)
    old_client.get("/flash?m=first")
    token = old_client.get_cookie("flash")
    assert token is not None
    client = make(secret_key=SECRET)
    client.set_cookie("flash", token.value)
    assert client.get("/read").text == "[]"


# --- bad cookies ----------------------------------------------------------------


def _valid_token() -> str:
    return reference_serializer(SECRET).dumps([["message", "genuine"]])


def _flip(token: str, index: int) -> str:
    replacement = "A" if token[index] != "A" else "B"
    return token[:index] + replacement + token[index + 1 :]


def _signed(payload: bytes, compress: bool = False) -> str:
    """A correctly signed token around an arbitrary payload, made with
    itsdangerous's own signer (and its "." mark for a zlib payload)."""
    signer = reference_serializer(SECRET).make_signer()
    if compress:
        encoded = b"." + base64.urlsafe_b64encode(zlib.compress(payload)).rstrip(b"=")
    else:
        encoded = base64.urlsafe_b64encode(payload).rstrip(b"=")
    return signer.sign(encoded).decode()


BAD_COOKIES = [
    pytest.param(lambda: _valid_token()[:-3] + "AAA", "bad signature", id="tampered-signature"),
    pytest.param(lambda: _flip(_valid_token(), 5), "bad signature", id="tampered-payload"),
    pytest.param(lambda: _valid_token()[:20], "no signature", id="truncated"),
    pytest.param(lambda: _valid_token()[:-10], "signature", id="truncated-signature"),
    pytest.param(
        lambda: reference_serializer("some-unknown-key-0123456789").dumps([["m", "x"]]),
        "bad signature",
        id="unknown-key",
    ),
    pytest.param(lambda: "not base64 at all!", "", id="not-base64"),
    pytest.param(lambda: "", "", id="empty"),
    pytest.param(lambda: _signed(b"{not json"), "not JSON", id="not-json"),
    pytest.param(lambda: _signed(b""), "not JSON", id="empty-payload"),
    pytest.param(lambda: _signed(b'{"a": 1}'), "wrong shape", id="object-not-list"),
    pytest.param(lambda: _signed(b"[[1, 2]]"), "wrong shape", id="non-str-category"),
    pytest.param(lambda: _signed(b'[["a"]]'), "wrong shape", id="short-entry"),
    pytest.param(lambda: _signed(b'[["a", "b", 2]]'), "wrong shape", id="bad-markup-flag"),
    pytest.param(lambda: _signed(b'["a"]'), "wrong shape", id="entry-not-list"),
    # Found by tests/fuzz/fuzz_flash_cookie.py: the JSON decoder's RecursionError
    # (30,000 levels: Python 3.13's decoder goes deeper than 5,000; 64 KiB inflated
    # holds at most 32,768).
    pytest.param(
        lambda: _signed(b"[" * 30000 + b"]" * 30000, compress=True),
        "nests too deeply",
        id="nested-too-deep",
    ),
]


@pytest.mark.parametrize(("make_cookie", "reason"), BAD_COOKIES)
def test_bad_cookie_is_no_messages_logged_and_deleted(
    make_cookie: t.Callable[[], str], reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    client = make()
    value = make_cookie()
    client.set_cookie("flash", value)
    with caplog.at_level(logging.WARNING, logger="wsgi_flash.flash"):
        response = client.get("/read")
    assert response.status_code == 200
    assert response.text == "[]"
    records = [r for r in caplog.records if r.name == "wsgi_flash.flash"]
    assert len(records) == 1 and records[0].levelno == logging.WARNING
    text = records[0].getMessage()
    assert reason in text
    assert SECRET not in text
    if len(value) > 4:
        assert value not in text
    [header] = set_cookie_headers(response)
    assert header.startswith("flash=; ") and "Max-Age=0" in header
    assert client.get_cookie("flash") is None


def test_forged_cookie_is_deleted_even_if_nobody_reads(caplog: pytest.LogCaptureFixture) -> None:
    client = make()
    client.set_cookie("flash", _valid_token()[:-3] + "AAA")
    with caplog.at_level(logging.WARNING, logger="wsgi_flash.flash"):
        response = client.get("/plain")
    [header] = set_cookie_headers(response)
    assert header.startswith("flash=; ") and "Max-Age=0" in header
    assert ["bad signature" in r.getMessage() for r in caplog.records] == [True]


def test_signed_payload_is_parsed_only_when_used(caplog: pytest.LogCaptureFixture) -> None:
    """Only a holder of the key can sign a payload that does not parse: an
    unread one passes through untouched (parsing every unread cookie would
    cost as much again as verifying it); the first read finds it."""
    client = make()
    client.set_cookie("flash", _signed(b"{not json"))
    with caplog.at_level(logging.WARNING, logger="wsgi_flash.flash"):
        untouched = client.get("/plain")
        assert set_cookie_headers(untouched) == [] and caplog.records == []
        read = client.get("/read")
    assert read.text == "[]"
    assert ["not JSON" in r.getMessage() for r in caplog.records] == [True]
    [header] = set_cookie_headers(read)
    assert header.startswith("flash=; ") and "Max-Age=0" in header


def test_non_ascii_cookie_is_no_messages(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[t.Any] = []

    def app(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
        seen.append(get_flashed_messages(environ))
        start_response("200 OK", [])
        return [b""]

    environ = EnvironBuilder("/").get_environ()
    environ["HTTP_COOKIE"] = "flash=\xfc\xf1\xef.c\xf6d\xe9.x"  # latin-1, as servers hand it over
    with caplog.at_level(logging.WARNING, logger="wsgi_flash.flash"):
        FlashMiddleware(app, secret_key=SECRET)(environ, lambda s, h, e=None: None)
    assert seen == [[]]
    assert "not ASCII" in caplog.text


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(None, id="none"),
        pytest.param(b"flash=x.y.z", id="bytes"),
        pytest.param(7, id="int"),
    ],
)
def test_non_str_cookie_value_from_the_server_is_no_messages(value: object) -> None:
    """PEP 3333 wants str; a server that breaks it gets no messages, not a 500."""
    seen: list[t.Any] = []
    sent: list[list[tuple[str, str]]] = []

    def app(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
        seen.append(get_flashed_messages(environ))
        start_response("200 OK", [])
        return [b""]

    environ = EnvironBuilder("/").get_environ()
    environ["HTTP_COOKIE"] = value
    FlashMiddleware(app, secret_key=SECRET)(environ, lambda s, h, e=None: sent.append(h))
    assert seen == [[]]
    assert sent == [[("Vary", "Cookie")]]


def test_bad_cookie_is_deleted_even_when_nobody_reads() -> None:
    client = make()
    client.set_cookie("flash", "garbage.garbage.garbage")
    [header] = set_cookie_headers(client.get("/plain"))
    assert header.startswith("flash=; ")


def test_expired_cookie_is_no_messages(caplog: pytest.LogCaptureFixture) -> None:
    class HourOldSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 3600

    stale = URLSafeTimedSerializer(
        SECRET,
        salt="wsgi_flash.flash",
        signer=HourOldSigner,
        signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha256},
    )
    token = stale.dumps([["message", "old news"]])
    client = make(max_age=60)
    client.set_cookie("flash", token)
    with caplog.at_level(logging.WARNING, logger="wsgi_flash.flash"):
        assert client.get("/read").text == "[]"
    assert "expired" in caplog.text


def test_replayed_cookie_past_max_age_is_no_messages() -> None:
    now = [1_000_000.0]
    middleware = FlashMiddleware(action_app, secret_key=SECRET, max_age=1)
    middleware._signer.clock = lambda: now[0]  # as the fuzz target does: no waiting
    client = Client(middleware)
    client.get("/flash?m=x")
    token = client.get_cookie("flash")
    assert token is not None
    shown = []
    for elapsed in (1.0, 2.1):  # max_age=1: read at its end, refused past it
        now[0] = 1_000_000.0 + elapsed
        replay = Client(middleware)
        replay.set_cookie("flash", token.value)
        shown.append(replay.get("/read").text)
    assert shown == ["[('message', 'x')]", "[]"]


# --- size ------------------------------------------------------------------


def _incompressible(seed: int, size: int) -> str:
    """Text that zlib cannot shrink, so sizes are predictable."""
    out, block = "", str(seed).encode()
    while len(out) < size:
        block = hashlib.sha256(block).digest()
        out += base64.b32encode(block).decode().rstrip("=")
    return out[:size]


def test_oversize_drops_oldest_and_warns(caplog: pytest.LogCaptureFixture) -> None:
    client = make(max_cookie_size=600)
    messages = [f"m{i:02d}-" + _incompressible(i, 40) for i in range(12)]
    with caplog.at_level(logging.WARNING, logger="wsgi_flash.flash"):
        response = client.get("/flash?" + "&".join(f"m={m}" for m in messages))
    [header] = set_cookie_headers(response)
    assert len(header) <= 600
    shown = eval(client.get("/read").text)  # repr of a list of tuples written by action_app
    kept = [m for _, m in shown]
    assert kept and kept == messages[-len(kept) :]
    dropped = len(messages) - len(kept)
    assert dropped > 0
    assert f"dropped the {dropped} oldest of 12" in caplog.text


def test_default_limit_keeps_cookie_under_browser_limit() -> None:
    client = make()
    response = client.get("/flash?" + "&".join(f"m={i}-" + "x" * 300 for i in range(40)))
    [header] = set_cookie_headers(response)
    assert len(header) <= 4093


def test_oversize_raise_option() -> None:
    outcome: list[str] = []

    def app(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
        flash(environ, "small")
        try:
            flash(environ, _incompressible(0, 8000))
        except CookieTooLargeError as error:
            outcome.append(str(error))
        start_response("200 OK", [])
        return [b""]

    client = Client(FlashMiddleware(app, secret_key=SECRET, on_oversize="raise"))
    client.get("/")
    assert len(outcome) == 1 and "max_cookie_size=4093" in outcome[0]
    token = client.get_cookie("flash")
    assert token is not None
    assert reference_serializer(SECRET).loads(token.value) == [["message", "small"]]


# --- programmer mistakes and streaming ---------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda env: flash(env, "x"), id="flash"),
        pytest.param(lambda env: get_flashed_messages(env), id="get"),
        pytest.param(lambda env: peek_flashed_messages(env), id="peek"),
    ],
)
def test_without_middleware_raises_runtime_error_naming_fix(
    call: t.Callable[[t.Any], t.Any],
) -> None:
    environ = EnvironBuilder("/").get_environ()
    with pytest.raises(RuntimeError, match=r"FlashMiddleware\(app, secret_key=") as info:
        call(environ)
    assert isinstance(info.value, NotInstalledError)


def test_non_request_argument_is_type_error() -> None:
    with pytest.raises(TypeError, match="WSGI environ or a request object"):
        flash(42, "x")


def test_flash_inside_streamed_body_raises() -> None:
    errors: list[Exception] = []

    def app(environ: dict[str, t.Any], start_response: t.Any) -> t.Iterator[bytes]:
        start_response("200 OK", [])
        yield b"first"
        try:
            flash(environ, "too late")
        except HeadersAlreadySentError as error:
            errors.append(error)
        yield b"second"

    client = Client(FlashMiddleware(app, secret_key=SECRET))
    assert client.get("/").text == "firstsecond"
    assert len(errors) == 1 and isinstance(errors[0], RuntimeError)
    assert "before calling start_response" in str(errors[0])


def test_read_inside_streamed_body_returns_but_keeps(caplog: pytest.LogCaptureFixture) -> None:
    def app(environ: dict[str, t.Any], start_response: t.Any) -> t.Iterator[bytes]:
        if environ["PATH_INFO"] == "/flash":
            flash(environ, "keep me")
            start_response("200 OK", [])
            yield b""
            return
        start_response("200 OK", [])
        yield repr(get_flashed_messages(environ)).encode()

    client = Client(FlashMiddleware(app, secret_key=SECRET))
    client.get("/flash")
    with caplog.at_level(logging.WARNING, logger="wsgi_flash.flash"):
        assert client.get("/stream").text == "['keep me']"
    assert "will show again" in caplog.text
    assert client.get("/stream").text == "['keep me']"


@pytest.mark.parametrize(
    "make_request",
    [
        pytest.param(lambda env: env, id="environ"),
        pytest.param(Request, id="werkzeug"),
        pytest.param(webob.Request, id="webob"),
        pytest.param(lambda env: type("FalconLike", (), {"env": env})(), id="dot-env"),
    ],
)
def test_accepts_environ_and_request_objects(make_request: t.Callable[[t.Any], t.Any]) -> None:
    def app(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
        request = make_request(environ)
        if environ["PATH_INFO"] == "/flash":
            flash(request, "via request")
        body = repr(get_flashed_messages(request))
        start_response("200 OK", [])
        return [body.encode()]

    client = Client(FlashMiddleware(app, secret_key=SECRET))
    assert client.get("/flash").text == "['via request']"


# --- option validation ---------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "error", "words"),
    [
        pytest.param({"secret_key": "short"}, ValueError, "at least 16 bytes", id="short-key"),
        pytest.param(
            {"secret_key": 1234}, TypeError, "secret_key must be str or bytes", id="int-key"
        ),
        pytest.param(
            {"fallback_secret_keys": "x" * 20}, TypeError, "list or tuple", id="fallback-str"
        ),
        pytest.param(
            {"fallback_secret_keys": ["x"]}, ValueError, "fallback_secret_keys", id="fallback-short"
        ),
        pytest.param({"cookie_name": "bad name"}, ValueError, "cookie_name", id="cookie-name"),
        pytest.param({"max_age": 0}, ValueError, "max_age", id="max-age-zero"),
        pytest.param({"max_age": "1d"}, ValueError, "max_age", id="max-age-str"),
        pytest.param(
            {"path": "relative"}, ValueError, "path must start with '/'", id="relative-path"
        ),
        pytest.param({"domain": "a.com; x=y"}, ValueError, "domain", id="domain-injection"),
        pytest.param({"secure": "yes"}, TypeError, "secure", id="secure-str"),
        pytest.param({"samesite": "sometimes"}, ValueError, "samesite", id="samesite-value"),
        pytest.param(
            {"samesite": "None", "secure": False}, ValueError, "Secure", id="samesite-none-insecure"
        ),
        pytest.param({"max_cookie_size": 50}, ValueError, "max_cookie_size", id="tiny-limit"),
        pytest.param({"on_oversize": "truncate"}, ValueError, "on_oversize", id="oversize-mode"),
    ],
)
def test_invalid_options_raise_naming_the_option(
    options: dict[str, t.Any], error: type[Exception], words: str
) -> None:
    options.setdefault("secret_key", SECRET)
    with pytest.raises(error, match=words):
        FlashMiddleware(action_app, **options)


def test_options_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        FlashMiddleware(action_app, SECRET)  # type: ignore[misc]


# --- the WSGI contract ---------------------------------------------------------


class Body:
    """A response iterable that counts close() calls."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks, self.closed = chunks, 0

    def __iter__(self) -> t.Iterator[bytes]:
        return iter(self.chunks)

    def close(self) -> None:
        self.closed += 1


@pytest.mark.parametrize("path", ["/flash", "/read", "/plain"])
def test_validator_both_sides_and_close_once(path: str) -> None:
    bodies: list[Body] = []

    def app(environ: dict[str, t.Any], start_response: t.Any) -> Body:
        if path == "/flash":
            flash(environ, "x")
        elif path == "/read":
            get_flashed_messages(environ)
        start_response("200 OK", [("Content-Type", "text/plain")])
        bodies.append(Body([b"a", b"b"]))
        return bodies[0]

    wrapped = validator(FlashMiddleware(validator(app), secret_key=SECRET))
    response = Client(wrapped).get(path, buffered=True)
    assert response.text == "ab"
    assert [b.closed for b in bodies] == [1]


def test_exc_info_is_forwarded_and_cookie_added_to_error_response() -> None:
    seen: list[t.Any] = []

    def app(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
        flash(environ, "before the error")
        start_response("200 OK", [])
        try:
            raise ValueError("boom")
        except ValueError:
            import sys

            start_response(
                "500 Internal Server Error", [("Content-Type", "text/plain")], sys.exc_info()
            )
        return [b"error"]

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: t.Any = None
    ) -> t.Any:
        seen.append((status, headers, exc_info))
        return lambda data: None

    FlashMiddleware(app, secret_key=SECRET)(EnvironBuilder("/").get_environ(), start_response)
    assert [s for s, _, _ in seen] == ["200 OK", "500 Internal Server Error"]
    assert seen[1][2] is not None and seen[1][2][0] is ValueError
    assert any(name == "Set-Cookie" for name, _ in seen[1][1])


def test_concurrent_clients_never_see_each_others_messages() -> None:
    app = FlashMiddleware(action_app, secret_key=SECRET)
    failures: list[str] = []
    barrier = threading.Barrier(8)

    def client_loop(number: int) -> None:
        client = Client(app)
        barrier.wait()
        for round_number in range(40):
            mine = f"client{number}-round{round_number}"
            client.get(f"/flash?m={mine}")
            got = client.get("/read").text
            if got != f"[('message', '{mine}')]":
                failures.append(f"{mine}: {got}")

    threads = [threading.Thread(target=client_loop, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []
