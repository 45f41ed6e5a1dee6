"""Signed, timestamped tokens in itsdangerous's format
=====================================================

The flash cookie is an itsdangerous ``URLSafeTimedSerializer`` token:
``[.]base64(payload) "." base64(timestamp) "." base64(HMAC-SHA256)``, with
the ``hmac`` key derivation and a salt of our own. itsdangerous re-derives
the key and builds a signer object on every call (about 40 µs a token);
this class derives each key once with itsdangerous's own
:class:`~itsdangerous.Signer` and signs with :func:`hmac.digest`, so
producing and checking a token costs a few microseconds. The tests check
that itsdangerous reads our tokens and that we read its tokens.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import time
import typing as t
import zlib

from itsdangerous import Signer
from itsdangerous.encoding import bytes_to_int, int_to_bytes

# Below this many bytes zlib's own header and checksum make the result longer.
_COMPRESS_FROM = 48
# A signed payload is ours, but a decompression bomb must still not grow a
# 4 KiB cookie into something large. Signing refuses longer payloads, so
# every token we issue can be read back.
MAX_PAYLOAD = 64 * 1024
# itsdangerous writes the timestamp as its big-endian bytes: 4 today, 5
# after 2106. More than 8 is no timestamp we signed, and must not become an
# int too large for a float (an OverflowError, not "invalid", otherwise).
_MAX_TIMESTAMP_B64 = 11  # 8 bytes
_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")
_PAD_INNER = bytes(x ^ 0x36 for x in range(256))
_PAD_OUTER = bytes(x ^ 0x5C for x in range(256))


def base64_encode(data: bytes) -> bytes:
    """URL-safe base64 without padding, byte for byte as itsdangerous's
    ``base64_encode`` writes it, at a third less cost."""
    return binascii.b2a_base64(data, newline=False).translate(_TO_URLSAFE).rstrip(b"=")


def base64_decode(data: bytes) -> bytes:
    """Inverse of :func:`base64_encode`; raises :class:`binascii.Error`."""
    return binascii.a2b_base64(data.translate(_FROM_URLSAFE) + b"=" * (-len(data) % 4))


class InvalidToken(Exception):
    """The token is not one we signed, or no longer valid; ``reason`` is a
    short, log-safe explanation."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _HMAC:
    """HMAC-SHA256 (RFC 2104) with the key's inner and outer pads hashed
    once, so each signature costs two hash copies instead of a fresh HMAC
    set-up; equal to :func:`hmac.digest` (the tests check it)."""

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        if len(key) > 64:
            key = hashlib.sha256(key).digest()
        key = key.ljust(64, b"\0")
        self._inner = hashlib.sha256(key.translate(_PAD_INNER))
        self._outer = hashlib.sha256(key.translate(_PAD_OUTER))

    def digest(self, message: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()


class TimedSigner:
    """Sign and verify timestamped payloads.

    :param secret_key: signs new tokens.
    :param fallback_secret_keys: also accepted when verifying (key rotation).
    :param salt: separates these tokens from any other use of the key.
    :param clock: the time in seconds since the epoch; the ``clock``
        attribute can be replaced, so tests and fuzz targets read tokens
        signed at a fixed time.
    """

    def __init__(
        self,
        secret_key: str | bytes,
        fallback_secret_keys: t.Sequence[str | bytes],
        salt: str,
        clock: t.Callable[[], float] = time.time,
    ) -> None:
        self.clock = clock
        signer = Signer(b"-", salt=salt, key_derivation="hmac", digest_method=hashlib.sha256)
        # The signing key first: most tokens are verified by it.
        self._macs = [_HMAC(signer.derive_key(key)) for key in (secret_key, *fallback_secret_keys)]
        self._stamp: tuple[int, bytes] = (-1, b"")

    def sign(self, payload: bytes, now: float | None = None) -> str:
        """Return a token carrying ``payload``, compressed when shorter.

        :raises ValueError: ``payload`` is longer than :data:`MAX_PAYLOAD`,
            so :meth:`unsign` would refuse the token.
        """
        if len(payload) > MAX_PAYLOAD:
            raise ValueError(f"payload of {len(payload)} bytes, over {MAX_PAYLOAD}")
        prefix = b""
        if len(payload) >= _COMPRESS_FROM:
            compressed = zlib.compress(payload)
            if len(compressed) < len(payload) - 1:
                payload, prefix = compressed, b"."
        timestamp = int(self.clock() if now is None else now)
        # The timestamp changes once a second: encode it once a second.
        stamp = self._stamp
        if stamp[0] != timestamp:
            self._stamp = stamp = (timestamp, base64_encode(int_to_bytes(timestamp)))
        value = b"%s%s.%s" % (prefix, base64_encode(payload), stamp[1])
        signature = self._macs[0].digest(value)
        return (b"%s.%s" % (value, base64_encode(signature))).decode("ascii")

    def unsign(self, token: str, max_age: float, now: float | None = None) -> tuple[bytes, bool]:
        """Return the payload of ``token`` and whether a fallback key signed
        it, or raise :class:`InvalidToken`."""
        try:
            raw = token.encode("ascii")
        except UnicodeEncodeError:
            raise InvalidToken("not ASCII") from None
        value, sep, signature = raw.rpartition(b".")
        if not sep:
            raise InvalidToken("no signature")
        # Compare the encoded signature exactly: a re-encoded variant of a
        # valid token (padding, other base64 spellings) is not accepted.
        for signed_by, mac in enumerate(self._macs):  # noqa: B007 (used after the loop)
            if hmac.compare_digest(base64_encode(mac.digest(value)), signature):
                break
        else:
            raise InvalidToken("bad signature")
        body, sep, timestamp_b64 = value.rpartition(b".")
        if not sep:
            raise InvalidToken("no timestamp")
        if len(timestamp_b64) > _MAX_TIMESTAMP_B64:
            raise InvalidToken("timestamp too long")
        try:
            timestamp = bytes_to_int(base64_decode(timestamp_b64))
        except Exception:
            raise InvalidToken("timestamp not base64") from None
        age = (self.clock() if now is None else now) - timestamp
        if age > max_age:
            raise InvalidToken(f"expired ({int(age)} s old, max_age {max_age:g} s)")
        if age < -60:
            raise InvalidToken("timestamp in the future")
        compressed = body.startswith(b".")
        try:
            payload = base64_decode(body[1:] if compressed else body)
        except Exception:
            raise InvalidToken("payload not base64") from None
        if compressed:
            decompressor = zlib.decompressobj()
            try:
                payload = decompressor.decompress(payload, MAX_PAYLOAD)
            except zlib.error:
                raise InvalidToken("payload not zlib") from None
            if decompressor.unconsumed_tail or not decompressor.eof:
                raise InvalidToken("payload too large or truncated")
        return payload, signed_by > 0
