from __future__ import annotations

import hashlib
import hmac
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from itsdangerous import URLSafeTimedSerializer, encoding

from wsgi_flash.messages._signing import (
    _HMAC,
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


@given(st.binary(min_size=1, max_size=200), st.binary(max_size=300))
def test_hmac_matches_stdlib(key: bytes, message: bytes) -> None:
    assert _HMAC(key).digest(message) == hmac.digest(key, message, "sha256")


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
    mac = TimedSigner(KEY, [], SALT)._macs[0]
    return (value + b"." + base64_encode(mac.digest(value))).decode()


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
