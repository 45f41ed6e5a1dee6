from __future__ import annotations

import hashlib
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from itsdangerous import Signer, URLSafeTimedSerializer, encoding

from wsgi_flash.messages._signing import (
    MAX_CLOCK_SKEW,
    InvalidToken,
    TimedSigner,
    base64_decode,
    base64_encode,
)

KEY = "signing-test-secret-key-0123456789"
OLD = "signing-test-older-key-0123456789"
SALT = "wsgi_flash.flash"


def reference(*keys: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        list(keys),
        salt=SALT,
        signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha256},
    )


@given(st.binary(max_size=300))
def test_codec_matches_itsdangerous(data: bytes) -> None:
    assert base64_encode(data) == encoding.base64_encode(data)
    assert base64_decode(base64_encode(data)) == data


@given(st.binary(max_size=500))
def test_tokens_interoperate_with_itsdangerous(payload: bytes) -> None:
    ours = TimedSigner(KEY, [], SALT)
    token = ours.sign(payload)
    signer = reference(KEY).make_signer()
    body = signer.unsign(token, max_age=60)
    expected = (
        zlib.decompress(base64_decode(body[1:])) if body.startswith(b".") else base64_decode(body)
    )
    assert expected == payload
    theirs = reference(KEY).make_signer().sign(base64_encode(payload)).decode()
    assert ours.unsign(theirs, 60) == (payload, False)


def test_each_token_carries_the_time_it_was_signed_at() -> None:
    ours = TimedSigner(KEY, [], SALT)
    signer = reference(KEY).make_signer()
    # Back and forth in time: a timestamp encoded once must not leak into another.
    for now in (1_000_000, 1_000_000, 1_000_001, 1_700_000_000, 1_000_000):
        token = ours.sign(b"[]", now=now)
        body, signed_at = signer.unsign(token, return_timestamp=True)
        assert (body, signed_at.timestamp()) == (base64_encode(b"[]"), now)


def test_signing_key_is_reused_not_changed() -> None:
    """Each token is signed on a copy of the key's HMAC: signing one must
    not leave its bytes in the next signature (itsdangerous checks each)."""
    ours = TimedSigner(KEY, [], SALT)
    signer = reference(KEY).make_signer()
    for payload in (b"first", b"second", b"first"):
        assert signer.unsign(ours.sign(payload, now=1_000_000)) == base64_encode(payload)


def test_fallback_key_is_reported() -> None:
    old = TimedSigner(OLD, [], SALT).sign(b"[]")
    assert TimedSigner(KEY, [OLD], SALT).unsign(old, 60) == (b"[]", True)
    assert TimedSigner(KEY, [OLD], SALT).unsign(TimedSigner(KEY, [], SALT).sign(b"[]"), 60) == (
        b"[]",
        False,
    )


def test_other_salt_is_rejected() -> None:
    token = TimedSigner(KEY, [], "some.other.use").sign(b"[]")
    with pytest.raises(InvalidToken, match="bad signature"):
        TimedSigner(KEY, [], SALT).unsign(token, 60)


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda tok: tok + "=", id="padding-added"),
        pytest.param(lambda tok: tok + "A", id="char-appended"),
        pytest.param(lambda tok: tok[:-1], id="char-dropped"),
        pytest.param(lambda tok: tok.replace(".", "..", 1), id="separator-doubled"),
        pytest.param(lambda tok: tok.upper(), id="case-changed"),
    ],
)
def test_re_encoded_tokens_are_rejected(mutate: object) -> None:
    signer = TimedSigner(KEY, [], SALT)
    token = signer.sign(b'[["message","hello"]]')
    assert signer.unsign(token, 60)[0] == b'[["message","hello"]]'
    with pytest.raises(InvalidToken):
        signer.unsign(mutate(token), 60)  # type: ignore[operator]


def _sign_raw(value: bytes) -> str:
    """Sign arbitrary token text with the right key, as an attacker who
    knew the key could; used to reach the checks after the signature."""
    signer = Signer(KEY, salt=SALT, key_derivation="hmac", digest_method=hashlib.sha256)
    return signer.sign(value).decode()


def test_decompression_bomb_is_bounded() -> None:
    bomb = base64_encode(zlib.compress(b"[" * 10_000_000))
    timestamp = base64_encode(encoding.int_to_bytes(int(__import__("time").time())))
    with pytest.raises(InvalidToken, match="too large"):
        TimedSigner(KEY, [], SALT).unsign(_sign_raw(b"." + bomb + b"." + timestamp), 60)


def test_future_timestamp_is_rejected() -> None:
    signer = TimedSigner(KEY, [], SALT)
    token = signer.sign(b"[]", now=2_000_000_000)
    with pytest.raises(InvalidToken, match="future"):
        signer.unsign(token, 60, now=1_900_000_000)


def test_expiry_boundary() -> None:
    signer = TimedSigner(KEY, [], SALT)
    token = signer.sign(b"[]", now=1_000_000)
    assert signer.unsign(token, 60, now=1_000_060)[0] == b"[]"
    with pytest.raises(InvalidToken, match="expired"):
        signer.unsign(token, 60, now=1_000_061)


def test_clock_skew_boundary() -> None:
    """A token from a machine whose clock is up to MAX_CLOCK_SKEW ahead is
    read; one from further ahead is not."""
    signer = TimedSigner(KEY, [], SALT)
    token = signer.sign(b"[]", now=1_000_000 + MAX_CLOCK_SKEW)
    assert signer.unsign(token, 60, now=1_000_000)[0] == b"[]"
    with pytest.raises(InvalidToken, match="future"):
        signer.unsign(token, 60, now=1_000_000 - 1)


def test_short_payloads_are_not_compressed_long_ones_are() -> None:
    """Compatible with itsdangerous, not byte-identical: it would compress
    the short payload too; we send it plain, and it reads both."""
    ours = TimedSigner(KEY, [], SALT)
    short, long = b"a" * 40, b"a" * 200
    assert len(zlib.compress(short)) < len(short) - 1  # itsdangerous compresses it
    for payload, compressed in ((short, False), (long, True)):
        token = ours.sign(payload)
        assert token.startswith(".") is compressed
        body = reference(KEY).make_signer().unsign(token, max_age=60)
        decoded = base64_decode(body[1:]) if compressed else base64_decode(body)
        assert (zlib.decompress(decoded) if compressed else decoded) == payload
