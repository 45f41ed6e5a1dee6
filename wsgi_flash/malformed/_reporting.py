"""Counting, rate-limiting and logging malformed-request findings
==============================================================

A :class:`Reporter` belongs to one
:class:`~wsgi_flash.malformed.MalformedRequestLogger` (or serves
:func:`~wsgi_flash.malformed.report_malformed` outside one). It counts every
finding per check, lets a token bucket per check decide which are logged, and
writes each as one escaped line with structured fields.

A flood of bad requests must not slow the server: a finding the logger would
drop builds no record, a suppressed one costs a counter and a comparison, and
a logged one escapes the request's values once however many checks it fails.
"""

from __future__ import annotations

import logging
import threading
import time
import typing as t

from .._logging import TokenBucket, escape
from ._prescan import printable_ascii

if t.TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

    from ..metrics import PrometheusMetrics
    from ._checks import Finding

logger = logging.getLogger("wsgi_flash.malformed")

#: Where the middleware leaves its reporter for :func:`report_malformed`.
REPORTER_KEY = "wsgi_flash.malformed.reporter"
_PROXY_ORIG_KEYS = ("wsgi_flash.proxy_fix.orig", "werkzeug.proxy_fix.orig")
_MESSAGE = "%s %s: %s; %s %s from %s%s"


class _Tally:
    """The counters of one check, and its token bucket once it has one."""

    __slots__ = ("bucket", "found", "logged", "rejected", "suppressed")

    def __init__(self) -> None:
        self.found = self.logged = self.suppressed = self.rejected = 0
        self.bucket: TokenBucket | None = None

    def counts(self) -> dict[str, int]:
        return {
            "found": self.found,
            "logged": self.logged,
            "suppressed": self.suppressed,
            "rejected": self.rejected,
        }


class Reporter:
    """Counts, rate-limits and logs findings for one middleware.

    :param check_ids: every check id it may be given.
    :param rate_limit: ``(burst, period)`` per check, or None to log all.
    :param max_value_length: characters kept of each request value.
    :param request_id_header: header logged as ``request_id``, or None.
    :param metrics: counts each finding by check and action, or None.
    """

    def __init__(
        self,
        check_ids: t.Iterable[str],
        rate_limit: tuple[int, float] | None,
        max_value_length: int,
        request_id_header: str | None,
        clock: t.Callable[[], float] = time.monotonic,
        *,
        metrics: PrometheusMetrics | None = None,
    ) -> None:
        self.rate_limit = rate_limit
        self.metrics = metrics
        self.max_value_length = max_value_length
        self.request_id_key = (
            None
            if request_id_header is None
            else "HTTP_" + request_id_header.upper().replace("-", "_")
        )
        self.clock = clock
        self.lock = threading.Lock()
        self.tallies = {check: _Tally() for check in check_ids}

    def stats(self) -> dict[str, dict[str, int]]:
        with self.lock:
            return {check: tally.counts() for check, tally in self.tallies.items()}

    def report(
        self,
        environ: WSGIEnvironment,
        findings: t.Iterable[Finding],
        level: int = logging.WARNING,
        **fields: object,
    ) -> None:
        """Count ``findings`` of one request and log those the rate limit
        lets through, one record each, with ``fields`` added to each."""
        passed: list[tuple[Finding, int]] = []
        metrics = self.metrics
        enabled = logger.isEnabledFor(level)
        rate_limit = self.rate_limit if enabled else None
        with self.lock:
            now = self.clock() if rate_limit is not None else 0.0
            for finding in findings:
                tally = self.tallies[finding[0]]
                tally.found += 1
                rejected = finding[2] == "reject"
                if rejected:
                    tally.rejected += 1
                if not enabled:
                    if metrics is not None:
                        metrics.finding(finding[0], "rejected" if rejected else "suppressed")
                    continue
                suppressed: int | None = 0
                if rate_limit is not None:
                    bucket = tally.bucket
                    if bucket is None:
                        bucket = tally.bucket = TokenBucket(*rate_limit, now)
                    suppressed = bucket.take(now)
                if suppressed is None:
                    tally.suppressed += 1
                else:
                    tally.logged += 1
                    passed.append((finding, suppressed))
                if metrics is not None:
                    action = "suppressed" if suppressed is None else "logged"
                    metrics.finding(finding[0], "rejected" if rejected else action)
        if passed:
            method, path, remote_addr, source, user_agent, optional = self._describe(environ)
            if fields:
                optional = {**optional, **fields}
            for (check, detail, action), suppressed in passed:
                record = logger.makeRecord(
                    logger.name,
                    level,
                    __file__,
                    0,
                    _MESSAGE,
                    (
                        check,
                        "rejected with 400" if action == "reject" else "logged",
                        detail,
                        method,
                        path,
                        source,
                        f"; {suppressed:,} similar suppressed" if suppressed else "",
                    ),
                    None,
                    "MalformedRequestLogger",
                )
                # Set in one update rather than through makeRecord's extra=,
                # whose Python loop checks each name against the record's own:
                # these names were chosen not to clash with LogRecord's.
                record.__dict__.update(
                    {
                        "check": check,
                        "action": action,
                        "event": "input_validation_fail",
                        "method": method,
                        "path": path,
                        "remote_addr": remote_addr,
                        "user_agent": user_agent,
                        "detail": detail,
                        "suppressed": suppressed,
                        **optional,
                    }
                )
                logger.handle(record)

    def _describe(
        self, environ: WSGIEnvironment
    ) -> tuple[str, str, str, str, str, dict[str, object]]:
        """The request's method, target, client address, ``from`` text for
        the message and user agent, each escaped; and the fields a request
        may lack (``peer_addr``, ``request_id``)."""
        limit = self.max_value_length
        get = environ.get
        values = (
            get("REQUEST_METHOD", ""),
            request_target(environ),
            get("REMOTE_ADDR", ""),
            get("HTTP_USER_AGENT", ""),
        )
        method, path, remote_addr, user_agent = _escape_all(values, limit)
        optional: dict[str, object] = {}
        source = remote_addr
        # Two membership tests spare most requests original_peer's loop.
        peer = (
            original_peer(environ)
            if _PROXY_ORIG_KEYS[0] in environ or _PROXY_ORIG_KEYS[1] in environ
            else None
        )
        if peer is not None:
            optional["peer_addr"] = peer = escape(peer, limit)
            if peer != remote_addr:
                source = f"{remote_addr} (peer {peer})"
        if self.request_id_key is not None and self.request_id_key in environ:
            optional["request_id"] = escape(environ[self.request_id_key], limit)
        return method, path, remote_addr, source, user_agent, optional


def _escape_all(values: tuple[object, ...], limit: int) -> tuple[str, ...]:
    """:func:`escape` each of ``values``, with one test for the common case
    where all are short printable ASCII and come back unchanged."""
    try:
        joined = "".join(values)  # type: ignore[arg-type]
    except TypeError:  # not all str: bytes or None from an odd server
        return tuple(escape(value, limit) for value in values)
    strings: tuple[str, ...] = values  # type: ignore[assignment]  # join saw only str
    if (
        printable_ascii(joined)
        and "\\" not in joined
        and (len(joined) <= limit or max(map(len, strings)) <= limit)
    ):
        return strings
    return tuple(escape(value, limit) for value in strings)


def request_target(environ: WSGIEnvironment) -> str:
    """The request target as the client sent it, or rebuilt from the
    decoded path and the query."""
    target = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if isinstance(target, str):
        return target
    path = f"{environ.get('SCRIPT_NAME', '')}{environ.get('PATH_INFO', '')}"
    query = environ.get("QUERY_STRING")
    return f"{path}?{query}" if query else path


def original_peer(environ: WSGIEnvironment) -> str | None:
    """The address the connection came from before a proxy fix replaced
    ``REMOTE_ADDR``, if one ran and the server had set one."""
    for key in _PROXY_ORIG_KEYS:
        orig = environ.get(key)
        if isinstance(orig, dict) and "REMOTE_ADDR" in orig:
            peer = orig["REMOTE_ADDR"]
            return peer if isinstance(peer, str) and peer else None
    return None
