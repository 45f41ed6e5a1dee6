"""Fuzz target: flash cookie decoding
===================================

The first byte of the input picks what the rest is: ``0`` a whole
``Cookie`` header (decoded as latin-1, as WSGI hands it over), ``1`` or
``2`` a payload that is signed with the right key here, plain (``1``) or
compressed (``2``), and sent as the flash cookie. Tokens are made with
itsdangerous itself, not with the code under test. Checked for every
input:

- nothing raises out of :class:`FlashMiddleware` or the app's read;
- a forged or altered cookie never yields a message: only the tokens
  signed here with the secret key or its fallback do, each exactly its
  own messages, and none once older than ``max_age``;
- a signed payload yields exactly the messages a plain JSON reading of the
  format finds in it (``[[category, message], ...]``, ``[category, str,
  1]`` for Markup), or none if it is not that;
- whenever messages were read or the cookie was bad, the response deletes
  the cookie; response headers never carry CR, LF or NUL.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import typing as t
import zlib
from datetime import timedelta

import _harness
from itsdangerous import TimestampSigner
from markupsafe import Markup

from wsgi_flash import FlashMiddleware, get_flashed_messages

SECRET_KEY = b"fuzz secret key, not a real one"
OLD_KEY = b"fuzz fallback key, not a real one"
OTHER_KEY = b"some other application's key"
SALT = "wsgi_flash.flash"
# 2023-11-14: old, so the short-lived middleware finds every token expired.
SIGNED_AT = 1_700_000_000
MAX_DECOMPRESSED = 64 * 1024


class _FixedTimeSigner(TimestampSigner):
    def get_timestamp(self) -> int:
        return SIGNED_AT


def encode(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def sign(payload: bytes, key: bytes = SECRET_KEY, compress: bool = False, salt: str = SALT) -> str:
    """An itsdangerous ``URLSafeTimedSerializer``-format token of ``payload``."""
    body = b"." + encode(zlib.compress(payload)) if compress else encode(payload)
    signer = _FixedTimeSigner(key, salt=salt, key_derivation="hmac", digest_method=hashlib.sha256)
    return signer.sign(body).decode("ascii")


def _not_json(name: str) -> t.NoReturn:
    raise ValueError(f"{name} is not JSON")


def _storable(value: t.Any, depth: int = 0) -> bool:
    """What flash() stores: finite floats, ints of at most 4300 digits, lists
    and dicts nested at most 32 levels below the message."""
    if type(value) is float:
        return math.isfinite(value)
    if type(value) is int:
        return abs(value) < 10**4300
    if type(value) in (list, dict):
        items = value.values() if type(value) is dict else value
        return depth < 33 and all(_storable(item, depth + 1) for item in items)
    return True


def expected_messages(payload: bytes, compressed: bool) -> list[tuple[str, t.Any]] | None:
    """The messages in a signed payload, or None if it is not the format."""
    if compressed and len(payload) > MAX_DECOMPRESSED:
        return None
    try:
        data = json.loads(payload.decode("utf-8"), parse_constant=_not_json)
    except (ValueError, RecursionError):
        return None
    if type(data) is not list:
        return None
    messages = []
    for entry in data:
        if type(entry) is not list or not entry or type(entry[0]) is not str:
            return None
        if len(entry) == 2:
            if not _storable(entry[1]):
                return None
            messages.append((entry[0], entry[1]))
        # The Markup marker is the number 1; JSON's 1.0 and true equal it.
        elif len(entry) == 3 and type(entry[1]) is str and entry[2] == 1:
            messages.append((entry[0], Markup(entry[1])))
        else:
            return None
    return messages


PAYLOADS = {
    "plain": (b'[["message","Saved."]]', SECRET_KEY, False),
    "fallback key": (b'[["error","<b>Markup</b>",1],["info",{"a":[1,2.5,null]}]]', OLD_KEY, False),
    "compressed": (json.dumps([["message", "long " * 40]] * 3).encode(), SECRET_KEY, True),
}
#: Every token that may yield messages, and exactly which.
VALID_TOKENS = {
    sign(payload, key, compress): expected_messages(payload, compress)
    for payload, key, compress in PAYLOADS.values()
}

seen: list[list[tuple[str, t.Any]]] = []


def app(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
    seen.append(get_flashed_messages(environ, with_categories=True))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


FRESH = FlashMiddleware(
    app, secret_key=SECRET_KEY, fallback_secret_keys=[OLD_KEY], max_age=timedelta(days=400)
)
EXPIRED = FlashMiddleware(
    app, secret_key=SECRET_KEY, fallback_secret_keys=[OLD_KEY], max_age=timedelta(days=1)
)
# Both read the tokens two days after SIGNED_AT: fresh for one, expired for
# the other, whatever today's date.
FRESH._signer.clock = EXPIRED._signer.clock = lambda: SIGNED_AT + 2 * 86400


def request(middleware: FlashMiddleware, cookie: str) -> tuple[list[t.Any], list[str]]:
    """The messages the app read, and the Set-Cookie values of the response."""
    seen.clear()
    responses = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: t.Any = None) -> None:
        responses.append(headers)

    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "REMOTE_ADDR": "192.0.2.1"}
    environ["HTTP_COOKIE"] = cookie
    environ["wsgi.url_scheme"] = "https"
    body = middleware(environ, start_response)
    assert b"".join(body) == b"ok"
    (messages,) = seen
    (headers,) = responses
    for name, value in headers:
        assert type(name) is str and type(value) is str, (name, value)
        assert not set(name + value) & set("\r\n\0"), (name, value)
        value.encode("latin-1")
    set_cookies = [value for name, value in headers if name.lower() == "set-cookie"]
    assert len(set_cookies) <= 1, set_cookies
    return messages, set_cookies


def is_deletion(set_cookies: list[str]) -> bool:
    return len(set_cookies) == 1 and set_cookies[0].startswith("flash=; Expires=Thu, 01 Jan 1970")


def check_cookie_header(header: str) -> None:
    messages, set_cookies = request(FRESH, header)
    if messages:
        # A forger can only replay one of the tokens signed here.
        assert any(
            token in header and repr(messages) == repr(expected)
            for token, expected in VALID_TOKENS.items()
        ), (header, messages)
        assert is_deletion(set_cookies), set_cookies
    messages, set_cookies = request(EXPIRED, header)
    assert messages == [], (header, messages)


def check_signed_payload(payload: bytes, compressed: bool) -> None:
    expected = expected_messages(payload, compressed)
    messages, set_cookies = request(FRESH, "flash=" + sign(payload, compress=compressed))
    assert repr(messages) == repr(expected or []), (payload, messages, expected)
    assert is_deletion(set_cookies) == (expected != []), (payload, set_cookies)


def fuzz_one_input(data: bytes) -> None:
    if not data:
        return
    mode = data[0] % 3
    if mode == 0:
        check_cookie_header(data[1:].decode("latin-1"))
    else:
        check_signed_payload(data[1:], compressed=mode == 2)
    _harness.LOG.take()


def seed_files() -> dict[str, str]:
    """The seed corpus (``corpus/flash_cookie/``, latin-1), by file name:
    valid tokens among other cookies, forged and damaged ones, payloads."""
    plain, fallback, compressed = VALID_TOKENS
    forged = sign(PAYLOADS["plain"][0], OTHER_KEY)
    other_salt = sign(PAYLOADS["plain"][0], salt="itsdangerous")
    return {
        "01-valid": f"0flash={plain}",
        "02-valid-among-others": f"0session=abc; flash={fallback}; theme=dark",
        "03-valid-compressed": f"0flash={compressed}",
        "04-two-flash-cookies": f"0flash={plain}; flash={compressed}",
        "05-other-key": f"0flash={forged}",
        "06-other-salt": f"0flash={other_salt}",
        "07-quoted": f'0flash="{plain}"',
        "08-truncated": f"0flash={plain[:-3]}",
        "09-no-signature": "0flash=eyJhIjoxfQ",
        "10-no-flash-cookie": "0a=1; b=2; flashy=3",
        "11-payload-messages": '1[["message","hi"],["error","<i>x</i>",1]]',
        "12-payload-wrong-shape": '1{"message":"hi"}',
        "13-payload-nested": '1[["deep",' + "[" * 40 + "]" * 40 + "]]",
        "14-payload-compressed": '2[["message","' + "repeat " * 20 + '"]]',
        "15-payload-empty-list": "1[]",
        "16-payload-not-utf8": '1[["message","\xff"]]',
        # Deeper than the JSON decoder's recursion limit: was a RecursionError.
        "17-payload-too-deep": "2" + "[" * 1500 + "]" * 1500,
    }


if __name__ == "__main__":
    _harness.main(fuzz_one_input, "flash_cookie")
