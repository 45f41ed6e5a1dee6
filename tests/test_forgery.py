"""Forged flash cookies: 10,000 seeded mutations of a valid cookie never
yield a message; only the cookie the middleware issued does.

Mutations: bit flips, truncations, concatenations and splices of two valid
cookies, re-encodings (padding, the standard base64 alphabet, case changes,
other spellings of the same bytes, quoting, percent-encoding) and replays
of tokens signed with the right key but too long ago (or in the future),
made with itsdangerous itself so the clock is not ours.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import random
import time
import typing as t

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from werkzeug.test import Client

from wsgi_flash import FlashMiddleware, flash, get_flashed_messages

if t.TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

SECRET = "forgery-test-secret-key-0123456789"
SALT = "wsgi_flash.flash"  # docs/flash.rst: the cookie's itsdangerous salt
MAX_AGE = 3600
MUTATIONS = 10_000
SEED = 20240607


def _issue(*messages: str) -> str:
    """A cookie value exactly as the middleware sets it."""

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        for message in messages:
            flash(environ, message, "info")
        start_response("200 OK", [])
        return [b""]

    client = Client(FlashMiddleware(app, secret_key=SECRET, max_age=MAX_AGE))
    client.get("/")
    cookie = client.get_cookie("flash")
    assert cookie is not None
    return cookie.value


class Reader:
    """Calls the middleware in-process with a minimal environ and returns
    what the app read; counts the rejections it logged."""

    def __init__(self, max_age: float = MAX_AGE) -> None:
        self.read: list[t.Any] = []
        self.set_cookies: list[str] = []
        # rate_limit=None: one WARNING per rejection, to count them all.
        self.middleware: WSGIApplication = FlashMiddleware(
            self._app, secret_key=SECRET, max_age=max_age, rate_limit=None
        )

    def _app(self, environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        self.read = get_flashed_messages(environ, with_categories=True)
        start_response("200 OK", [])
        return []

    def _start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: t.Any = None
    ) -> t.Callable[[bytes], None]:
        self.set_cookies = [value for name, value in headers if name == "Set-Cookie"]
        return lambda data: None

    def __call__(self, value: str) -> list[t.Any]:
        environ = {"HTTP_COOKIE": f"flash={value}", "wsgi.url_scheme": "https"}
        self.middleware(environ, self._start_response)
        return self.read


class Rejections(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "invalid flash cookie" in record.getMessage():
            self.count += 1


@pytest.fixture
def rejections() -> t.Iterator[Rejections]:
    logger = logging.getLogger("wsgi_flash.flash")
    handler = Rejections()
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


# --- mutations -----------------------------------------------------------------------

ORIGINAL = _issue("the original message", "and a second one")
OTHER = _issue("another user's message")
# Its payload always base64-encodes with "_" and "-", so swapping in the
# standard alphabet changes it whatever the timestamp and signature are.
URLSAFE = _issue("???>>>~~~")
LONG = _issue("compressed " * 20)  # a zlib-compressed token, with the leading "."
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def bit_flip(rng: random.Random, token: str) -> str:
    data = bytearray(token.encode("latin-1") or b".")
    for _ in range(rng.randint(1, 3)):
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    return data.decode("latin-1")


def truncate(rng: random.Random, token: str) -> str:
    cut = rng.randrange(len(token) or 1)
    return rng.choice([token[:cut], token[cut + 1 :], token[:cut] + token[cut + 1 :]])


def concatenate(rng: random.Random, token: str) -> str:
    other = rng.choice([OTHER, LONG, token])
    head, tail = token.split("."), other.split(".")
    return rng.choice(
        [
            token + other,
            token + "." + other,
            other + token,
            token[: rng.randrange(len(token) + 1)] + other[rng.randrange(len(other) + 1) :],
            # one token's payload and timestamp with the other's signature
            ".".join(head[:-1] + tail[-1:]),
            # the other's payload under this token's timestamp and signature
            ".".join(tail[:-2] + head[-2:]),
            ".".join(head + tail[-1:]),
        ]
    )


def _re_spell(segment: str, rng: random.Random) -> str:
    """The same bytes base64-encoded another way: set unused trailing bits."""
    if len(segment) % 4 in (2, 3) and segment[-1] in B64:
        last = B64.index(segment[-1])
        spare = 4 if len(segment) % 4 == 2 else 2
        other = last | rng.randrange(1, 1 << spare)
        return segment[:-1] + B64[other]
    return segment + "="


def re_encode(rng: random.Random, token: str) -> str:
    parts = token.split(".")
    index = rng.randrange(len(parts))  # split() gives at least one part
    kind = rng.randrange(7)
    if kind == 0:  # padding
        parts[index] += "=" * rng.randint(1, 3)
    elif kind == 1:  # the standard alphabet
        return token.replace("-", "+").replace("_", "/") if set("-_") & set(token) else token + "+"
    elif kind == 2:  # case change of one letter
        letters = [i for i, c in enumerate(token) if c.isascii() and c.isalpha()]
        if not letters:
            return token + "a"
        i = rng.choice(letters)
        return token[:i] + token[i].swapcase() + token[i + 1 :]
    elif kind == 3:  # case change of everything
        return rng.choice([token.upper(), token.lower(), token.swapcase()])
    elif kind == 4:  # the same bytes, spelled differently
        parts[index] = _re_spell(parts[index], rng) if parts[index] else "="
    elif kind == 5:  # quoted, as RFC 6265 allows for other cookies
        return f'"{token}"'
    else:  # percent-encoding of one character
        if not token:
            return "%2E"
        i = rng.randrange(len(token))
        return token[:i] + f"%{ord(token[i]):02X}" + token[i + 1 :]
    return ".".join(parts)


class _At(TimestampSigner):
    at = 0

    def get_timestamp(self) -> int:
        return self.at


def _serializer(at: int) -> URLSafeTimedSerializer:
    serializer = URLSafeTimedSerializer(
        SECRET,
        salt=SALT,
        signer=_At,
        signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha256},
    )
    _At.at = at
    return serializer


def signed_at(at: float) -> str:
    """A token for [["info", "replayed"]] signed by itsdangerous at ``at``."""
    return _serializer(int(at)).dumps([["info", "replayed"]])


def replay(rng: random.Random, token: str) -> str:
    roll = rng.random()
    if roll < 0.45:  # long expired: any time before 2020
        return signed_at(rng.randrange(1, 1_577_836_800))
    if roll < 0.9:  # from the far future (2096 onwards)
        return signed_at(rng.randrange(4_000_000_000, 5_000_000_000))
    # just past max_age, or just beyond the clock skew allowed
    now = time.time()
    if roll < 0.95:
        return signed_at(now - MAX_AGE - rng.randint(2, 10_000))
    return signed_at(now + rng.randint(120, 10_000))


MUTATORS = [bit_flip, truncate, concatenate, re_encode, replay]


def effectively(value: str) -> str:
    """The cookie value a client meant, by RFC 6265's syntax: up to the
    first ';', without surrounding whitespace."""
    return value.split(";", 1)[0].strip()


def mutations(seed: int, count: int) -> dict[str, str]:
    """``count`` distinct mutations of the valid tokens, each with the kind
    of its first step; half get a second step of another kind, which keeps
    the kinds with few distinct single results (truncations) from running
    out. Values that are, by the cookie syntax, a valid token are skipped."""
    rng = random.Random(seed)
    found: dict[str, str] = {}
    valid = {ORIGINAL, OTHER, LONG}
    while len(found) < count:
        first = rng.choice(MUTATORS)
        value = first(rng, rng.choice([ORIGINAL, ORIGINAL, LONG]))
        if rng.random() < 0.5:
            value = rng.choice(MUTATORS[:-1])(rng, value)  # a replay ignores its input
        if effectively(value) not in valid:
            found.setdefault(value, first.__name__)
    return found


# --- tests ---------------------------------------------------------------------------


def test_the_originals_and_a_fresh_itsdangerous_token_are_read() -> None:
    """The controls: without them every check below would pass on a reader
    that never reads anything."""
    read = Reader()
    assert read(ORIGINAL) == [("info", "the original message"), ("info", "and a second one")]
    assert read(OTHER) == [("info", "another user's message")]
    assert read(LONG) == [("info", "compressed " * 20)]
    assert read(signed_at(time.time() - 10)) == [("info", "replayed")]
    assert read(signed_at(time.time() - MAX_AGE + 30)) == [("info", "replayed")]


def test_ten_thousand_mutations_never_yield_a_message(rejections: Rejections) -> None:
    read = Reader()
    cases = mutations(SEED, MUTATIONS)
    assert len(cases) == MUTATIONS
    kinds = {kind: 0 for kind in (m.__name__ for m in MUTATORS)}
    accepted: list[tuple[str, str, list[t.Any]]] = []
    for value, kind in cases.items():
        kinds[kind] += 1
        messages = read(value)
        if messages:
            accepted.append((kind, value, messages))
        # A rejected cookie is deleted from the browser.
        elif not (len(read.set_cookies) == 1 and "Max-Age=0" in read.set_cookies[0]):
            accepted.append((kind, value, read.set_cookies))
    assert accepted[:5] == []
    assert all(count >= MUTATIONS // 10 for count in kinds.values()), kinds
    assert rejections.count == MUTATIONS  # one WARNING each
    # The original still reads after all that.
    assert read(ORIGINAL)[0] == ("info", "the original message")


def test_a_short_max_age_expires_the_token_the_middleware_issued() -> None:
    now = time.time()
    fresh = signed_at(now - 0.5)
    stale = signed_at(now - 3)
    assert Reader(max_age=2)(fresh) == [("info", "replayed")]
    assert Reader(max_age=2)(stale) == []


def test_urlsafe_token_is_read_before_re_encoding() -> None:
    assert "_" in URLSAFE.split(".")[0] and "-" in URLSAFE.split(".")[0]
    assert Reader()(URLSAFE) == [("info", "???>>>~~~")]


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(ORIGINAL + "=", id="padded"),
        pytest.param(URLSAFE.replace("-", "+").replace("_", "/"), id="standard-alphabet"),
        pytest.param(base64.b64encode(ORIGINAL.encode()).decode(), id="base64-again"),
        pytest.param(ORIGINAL.swapcase(), id="swapcase"),
        pytest.param(f'"{ORIGINAL}"', id="quoted"),
        pytest.param(ORIGINAL + OTHER, id="concatenated"),
        pytest.param(ORIGINAL[:-1], id="truncated-by-one"),
        pytest.param(".".join(ORIGINAL.split(".")[:-1] + OTHER.split(".")[-1:]), id="spliced"),
    ],
)
def test_named_forgeries(value: str) -> None:
    """The mutation kinds one by one, so a regression names its kind."""
    assert value not in (ORIGINAL, URLSAFE)
    assert Reader()(value) == []
