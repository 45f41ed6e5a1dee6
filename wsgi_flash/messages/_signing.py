"""Signed, timestamped tokens in itsdangerous's format
=====================================================

The flash cookie is an itsdangerous ``URLSafeTimedSerializer`` token:
``[.]base64(payload) "." base64(timestamp) "." base64(HMAC-SHA256)``, with
itsdangerous's ``hmac`` key derivation and a salt of our own. itsdangerous
(and so Flask) reads our tokens and we read its tokens; the tests check both
directions. Where we differ from it:

- **Speed.** itsdangerous derives the key and builds a signer on every call.
  :class:`TimedSigner` derives each key once, with itsdangerous's own
  :class:`~itsdangerous.Signer`, and keeps one :func:`hmac.new` object per
  key; each token is signed on a :meth:`~hmac.HMAC.copy` of it, the
  stdlib's way to reuse the key's hashed pads.
- **Compression: compatible, not byte-identical.** Both compress with
  :func:`zlib.compress` and keep the result when it is at least two bytes
  shorter, but itsdangerous tries every payload and we only those of
  :data:`COMPRESS_FROM` bytes or more: setting up zlib for one payload
  costs far more than signing it (about 190 µs against 4 µs here), and a
  shorter payload seldom shrinks. So a short, repetitive payload (13 to 47
  bytes of one letter, say) that itsdangerous would compress goes out
  plain; either side reads both forms.
- **Clock skew.** itsdangerous refuses a token timestamped in the future at
  all. We accept one up to :data:`MAX_CLOCK_SKEW` (60 s) ahead: the workers
  behind a load balancer may run on machines whose clocks are a little
  apart, and the message flashed on one must not vanish when the redirect
  lands on another whose clock is behind. A token from further ahead is
  invalid; its age still counts against ``max_age`` from its own timestamp.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import time
import typing as t
import zlib

from itsdangerous import Signer
from itsdangerous.encoding import bytes_to_int

#: Payloads shorter than this are sent uncompressed without trying zlib.
COMPRESS_FROM = 48
#: How far in the future (seconds) a token's timestamp may be and still be
#: accepted: clocks of the machines sharing the key may be that far apart.
MAX_CLOCK_SKEW = 60
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


def base64_encode(data: bytes) -> bytes:
    """URL-safe base64 without padding, byte for byte as itsdangerous's
    ``base64_encode`` writes it (the tests check it), at half its cost: a
    token takes three of these to sign, and the cookie check one."""
    return binascii.b2a_base64(data, newline=False).translate(_TO_URLSAFE).rstrip(b"=")


def base64_decode(data: bytes) -> bytes:
    """Inverse of :func:`base64_encode`, as lenient as itsdangerous's
    ``base64_decode``, at a third of its cost; raises :class:`binascii.Error`."""
    return binascii.a2b_base64(data.translate(_FROM_URLSAFE) + b"=" * (-len(data) % 4))


class InvalidToken(Exception):
    """The token is not one we signed, or no longer valid; ``reason`` is a
    short, log-safe explanation, ``code`` one of a fixed few for counting:
    ``bad_signature``, ``expired``, ``future`` or ``malformed``."""

    def __init__(self, reason: str, code: str = "malformed") -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


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
        self._keys = [
            hmac.new(signer.derive_key(key), digestmod="sha256")
            for key in (secret_key, *fallback_secret_keys)
        ]

    def sign(self, payload: bytes, now: float | None = None) -> str:
        """Return a token carrying ``payload``, compressed when shorter.

        :raises ValueError: ``payload`` is longer than :data:`MAX_PAYLOAD`,
            so :meth:`unsign` would refuse the token.
        """
        if len(payload) > MAX_PAYLOAD:
            raise ValueError(f"payload of {len(payload)} bytes, over {MAX_PAYLOAD}")
        prefix = b""
        if len(payload) >= COMPRESS_FROM:
            compressed = zlib.compress(payload)
            if len(compressed) < len(payload) - 1:  # itsdangerous's rule
                payload, prefix = compressed, b"."
        timestamp = int(self.clock() if now is None else now)
        value = b"%s%s.%s" % (
            prefix,
            base64_encode(payload),
            # itsdangerous's int_to_bytes without its call: 4 bytes until 2106.
            base64_encode(timestamp.to_bytes((timestamp.bit_length() + 7) // 8, "big")),
        )
        return (b"%s.%s" % (value, _signature(self._keys[0], value))).decode("ascii")

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
        for signed_by, key in enumerate(self._keys):  # noqa: B007 (used after the loop)
            if hmac.compare_digest(_signature(key, value), signature):
                break
        else:
            raise InvalidToken("bad signature", "bad_signature")
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
            raise InvalidToken(f"expired ({int(age)} s old, max_age {max_age:g} s)", "expired")
        if age < -MAX_CLOCK_SKEW:
            raise InvalidToken(f"timestamp in the future (over {MAX_CLOCK_SKEW} s ahead)", "future")
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


def _signature(key: hmac.HMAC, value: bytes) -> bytes:
    """The encoded HMAC of ``value`` under ``key`` (left unchanged)."""
    mac = key.copy()
    mac.update(value)
    return base64_encode(mac.digest())
