"""Malformed-request logging
==========================

:class:`MalformedRequestLogger` looks at each request as the WSGI server
handed it over, logs what is malformed or suspicious on the
``wsgi_flash.malformed`` logger, and rejects a request with 400 only for the
checks named in ``reject``. :func:`report_malformed` lets application code log
bad input it noticed itself through the same safe, rate-limited channel.

The check catalogue lives in :mod:`wsgi_flash._checks`; print it with
``python -m wsgi_flash checks``.
"""

from __future__ import annotations

import contextvars
import difflib
import io
import logging
import re
import threading
import time
import typing as t

from ._checks import (
    BODY_CHECKS,
    CHECKS,
    CHECKS_BY_ID,
    COMMON_METHODS,
    NOT_REJECTABLE,
    ORDER,
    SCANNED_URI_CHECKS,
    Action,
    Facts,
    Limits,
    arguments_problem,
    body_json,
    body_multipart,
    body_urlencoded,
    scope_of,
)
from ._logging import DEFAULT_LIMIT, escape
from ._wsgi import get_environ

if t.TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

logger = logging.getLogger("wsgi_flash.malformed")

_Detector = tuple[str, str, t.Callable[[Facts, Limits], t.Optional[str]], Action]
_PROXY_ORIG_KEYS = ("wsgi_flash.proxy_fix.orig", "werkzeug.proxy_fix.orig")
# Pre-scan patterns: a request that none of them flags cannot fail any check.
_ODD_ESCAPE = re.compile(r"%(?![2-6][0-9A-Fa-f]|7[0-9A-Ea-e])|%25[0-9A-Fa-f]")
_CONTROL_BYTES = bytes((*range(32), 127))
_HTTP_1 = frozenset(("HTTP/1.1", "HTTP/1.0"))
_NEEDS_LENGTH = frozenset(("POST", "PUT", "PATCH"))
_is_str = str.__instancecheck__
_COOKIE_OK = re.compile(
    r"(?:[ \t]*[!#$%&'*+\-.^_`|~0-9A-Za-z]+=[^;]*;)*(?:[ \t]*[!#$%&'*+\-.^_`|~0-9A-Za-z]+=[^;]*)?"
)
_MAX_CLEAN_HOSTS = 256

_current: contextvars.ContextVar[_Reporter | None] = contextvars.ContextVar(
    "wsgi_flash.malformed.reporter", default=None
)


class _TokenBucket:
    """``capacity`` records at once, refilled at ``capacity`` per ``period``
    seconds; counts what it refuses until the next record passes."""

    __slots__ = ("capacity", "rate", "suppressed", "tokens", "updated")

    def __init__(self, capacity: int, period: float, now: float) -> None:
        self.capacity = float(capacity)
        self.rate = capacity / period
        self.tokens = float(capacity)
        self.updated = now
        self.suppressed = 0

    def take(self, now: float) -> int | None:
        """Take a token: the number suppressed since the last one passed, or
        None if this record is suppressed too."""
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < 1.0:
            self.suppressed += 1
            return None
        self.tokens -= 1.0
        suppressed, self.suppressed = self.suppressed, 0
        return suppressed


class _Reporter:
    """Counts, rate-limits and logs findings for one middleware."""

    def __init__(
        self,
        rate_limit: tuple[int, float] | None,
        max_value_length: int,
        request_id_header: str | None,
        clock: t.Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate_limit = rate_limit
        self.max_value_length = max_value_length
        self.request_id_key = (
            None
            if request_id_header is None
            else "HTTP_" + request_id_header.upper().replace("-", "_")
        )
        self.clock = clock
        self.lock = threading.Lock()
        self.buckets: dict[str, _TokenBucket] = {}
        self.counts = {check.id: dict.fromkeys(_COUNTERS, 0) for check in CHECKS}

    def report(
        self,
        environ: WSGIEnvironment,
        check: str,
        detail: str,
        action: Action,
        level: int = logging.WARNING,
        **fields: object,
    ) -> None:
        with self.lock:
            counts = self.counts[check]
            counts["found"] += 1
            if action == "reject":
                counts["rejected"] += 1
            if not logger.isEnabledFor(level):
                return
            suppressed: int | None = 0
            if self.rate_limit is not None:
                bucket = self.buckets.get(check)
                if bucket is None:
                    bucket = self.buckets[check] = _TokenBucket(*self.rate_limit, self.clock())
                suppressed = bucket.take(self.clock())
            if suppressed is None:
                counts["suppressed"] += 1
                return
            counts["logged"] += 1
        self._log(environ, check, detail, action, level, suppressed, fields)

    def _log(
        self,
        environ: WSGIEnvironment,
        check: str,
        detail: str,
        action: Action,
        level: int,
        suppressed: int,
        fields: dict[str, object],
    ) -> None:
        limit = self.max_value_length
        method = escape(environ.get("REQUEST_METHOD", ""), limit)
        path = escape(_request_target(environ), limit)
        remote_addr = escape(environ.get("REMOTE_ADDR", ""), limit)
        extra: dict[str, object] = {
            "check": check,
            "action": action,
            "event": "input_validation_fail",
            "method": method,
            "path": path,
            "remote_addr": remote_addr,
            "user_agent": escape(environ.get("HTTP_USER_AGENT", ""), limit),
            "detail": detail,
            "suppressed": suppressed,
        }
        source = remote_addr
        for key in _PROXY_ORIG_KEYS:
            orig = environ.get(key)
            if isinstance(orig, dict) and "REMOTE_ADDR" in orig:
                extra["peer_addr"] = peer = escape(orig["REMOTE_ADDR"], limit)
                source = f"{remote_addr} (peer {peer})"
                break
        if self.request_id_key is not None and self.request_id_key in environ:
            extra["request_id"] = escape(environ[self.request_id_key], limit)
        extra.update(fields)
        outcome = "rejected with 400" if action == "reject" else "logged"
        tail = f"; {suppressed:,} similar suppressed" if suppressed else ""
        # makeRecord + handle is logger.log without the stack walk that finds
        # the caller, which would only ever name this line.
        record = logger.makeRecord(
            logger.name,
            level,
            __file__,
            0,
            "%s %s: %s; %s %s from %s%s",
            (check, outcome, detail, method, path, source, tail),
            None,
            "MalformedRequestLogger",
            extra,
        )
        logger.handle(record)

    def stats(self) -> dict[str, dict[str, int]]:
        with self.lock:
            return {check: dict(counts) for check, counts in self.counts.items()}


_COUNTERS = ("found", "logged", "suppressed", "rejected")


def _request_target(environ: WSGIEnvironment) -> str:
    target = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if isinstance(target, str):
        return target
    path = f"{environ.get('SCRIPT_NAME', '')}{environ.get('PATH_INFO', '')}"
    query = environ.get("QUERY_STRING")
    return f"{path}?{query}" if query else path


def _check_ids(value: object, option: str) -> tuple[set[str], set[str]]:
    """Expand ``value`` (ids and ``group.*`` patterns) into check ids; also
    return the ids named exactly."""
    if isinstance(value, (str, bytes)) or not isinstance(value, t.Iterable):
        raise TypeError(
            f"{option} takes a tuple of check ids, for example {option}=('uri.nul_byte',),"
            f" not {type(value).__name__}"
        )
    ids: set[str] = set()
    exact: set[str] = set()
    for item in value:
        if isinstance(item, str) and item.endswith(".*"):
            group = {c for c in CHECKS_BY_ID if c.startswith(item[:-1])}
            if group:
                ids |= group
                continue
        if item not in CHECKS_BY_ID:
            near = difflib.get_close_matches(str(item), CHECKS_BY_ID, n=1)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            raise ValueError(
                f"{option} names unknown check {item!r}{hint} (list them with"
                " `python -m wsgi_flash checks`)"
            )
        ids.add(item)
        exact.add(item)
    return ids, exact


def _positive_int(value: object, option: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{option} must be an int, not {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{option} must be at least 1, got {value}")
    return value


class MalformedRequestLogger:
    """Log malformed or suspicious requests; reject only what you name.

    Each request is checked against the catalogue (``python -m wsgi_flash
    checks``). Each finding is one WARNING record on the
    ``wsgi_flash.malformed`` logger, with every request value escaped and
    truncated and structured fields in ``extra`` (``check``, ``action``,
    ``event``, ``method``, ``path``, ``remote_addr``, ``peer_addr`` behind a
    proxy fix, ``user_agent``, ``request_id``, ``detail``, ``suppressed``).
    A clean request reaches the app untouched.

    :param app: the WSGI application to wrap.
    :param reject: check ids (or ``"group.*"``) answered with ``400 Bad
        Request`` without calling the app, or ``True`` for every enabled
        check. Nothing is rejected by default.
    :param allowed_hosts: host names and ``.example.com`` wildcards as in
        Django's ``ALLOWED_HOSTS``; enables ``host.not_allowed``.
    :param enable: check ids that are off by default to turn on (for
        example the body checks).
    :param disable: check ids to turn off.
    :param log_client_errors: also log 4xx responses of the app at INFO.
    :param rate_limit: ``(burst, period)``: at most ``burst`` records per
        check at once, refilled to ``burst`` every ``period`` seconds; the
        next record that passes says how many were suppressed. None logs all.
    :param max_value_length: characters kept of each logged request value.
    :param request_id_header: header whose value is logged as ``request_id``.
    :param max_arguments: field count that triggers ``args.too_many``.
    :param max_argument_name_length: name length for ``args.too_long``.
    :param max_argument_length: value length for ``args.too_long``.
    :param max_content_length: Content-Length for ``body.too_large``.
    :param body_buffer_size: largest body the body checks read; the app gets
        an identical ``wsgi.input``. Larger and chunked bodies are skipped.

    .. code-block:: python

        from wsgi_flash.malformed import MalformedRequestLogger

        app = MalformedRequestLogger(
            app,
            allowed_hosts=[".example.com"],
            reject=("host.not_allowed", "uri.nul_byte"),
            enable=("body.json",),
        )

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        app: WSGIApplication,
        *,
        reject: t.Iterable[str] | bool = (),
        allowed_hosts: t.Iterable[str] | None = None,
        enable: t.Iterable[str] = (),
        disable: t.Iterable[str] = (),
        log_client_errors: bool = False,
        rate_limit: tuple[int, float] | None = (20, 60.0),
        max_value_length: int = DEFAULT_LIMIT,
        request_id_header: str | None = "X-Request-ID",
        max_arguments: int = 1000,
        max_argument_name_length: int = 100,
        max_argument_length: int = 4000,
        max_content_length: int | None = None,
        body_buffer_size: int = 64 * 1024,
    ) -> None:
        self.app = app
        self.reject = reject
        self.allowed_hosts = allowed_hosts
        self.enable = enable
        self.disable = disable
        self.log_client_errors = log_client_errors
        self.rate_limit = rate_limit
        self.max_value_length = _positive_int(max_value_length, "max_value_length")
        self.request_id_header = request_id_header
        self.body_buffer_size = _positive_int(body_buffer_size, "body_buffer_size")
        if rate_limit is not None and not (
            isinstance(rate_limit, tuple)
            and len(rate_limit) == 2
            and isinstance(rate_limit[0], int)
            and rate_limit[0] >= 1
            and isinstance(rate_limit[1], (int, float))
            and rate_limit[1] > 0
        ):
            raise ValueError(
                f"rate_limit must be (burst, period_seconds) such as (20, 60.0), or None"
                f" to log every record; got {rate_limit!r}"
            )
        if max_content_length is not None:
            _positive_int(max_content_length, "max_content_length")
        self.limits = Limits(
            allowed_hosts=self._host_patterns(allowed_hosts),
            max_arguments=_positive_int(max_arguments, "max_arguments"),
            max_argument_name_length=_positive_int(
                max_argument_name_length, "max_argument_name_length"
            ),
            max_argument_length=_positive_int(max_argument_length, "max_argument_length"),
            max_content_length=max_content_length,
        )
        self.actions = self._resolve_actions(reject, enable, disable, log_client_errors)
        # (scope, id, detector, action) in catalogue order, and by scope.
        self._all_detectors = tuple(
            (scope_of(check.id), check.id, check.detect, self.actions[check.id])
            for check in CHECKS
            if check.detect is not None
            and self.actions[check.id] != "off"
            and check.id not in SCANNED_URI_CHECKS
        )
        self._scanned_actions = {
            check: self.actions[check]
            for check in SCANNED_URI_CHECKS
            if self.actions[check] != "off"
        }
        self._detectors: dict[str, tuple[_Detector, ...]] = {}
        for detector in self._all_detectors:
            self._detectors[detector[0]] = (*self._detectors.get(detector[0], ()), detector)
        self._body_actions = {
            check: self.actions[check] for check in BODY_CHECKS if self.actions[check] != "off"
        }
        self._query_limit = min(max_arguments, max_argument_name_length)
        self._clean_hosts: set[str] = set()
        self._reporter = _Reporter(rate_limit, self.max_value_length, request_id_header)

    @staticmethod
    def _host_patterns(allowed_hosts: t.Iterable[str] | None) -> tuple[str, ...] | None:
        if allowed_hosts is None:
            return None
        if isinstance(allowed_hosts, (str, bytes)):
            raise TypeError(
                f"allowed_hosts takes a list of host names, for example"
                f" allowed_hosts=[{allowed_hosts!r}], not a single string"
            )
        patterns = []
        for pattern in allowed_hosts:
            if not isinstance(pattern, str) or not pattern:
                raise ValueError(f"allowed_hosts entries must be non-empty str, got {pattern!r}")
            if ":" in pattern and not pattern.startswith("["):
                raise ValueError(
                    f"allowed_hosts entries are host names without a port, as in Django's"
                    f" ALLOWED_HOSTS: use {pattern.split(':')[0]!r}, not {pattern!r}"
                )
            patterns.append(pattern.lower())
        return tuple(patterns)

    def _resolve_actions(
        self,
        reject: t.Iterable[str] | bool,
        enable: t.Iterable[str],
        disable: t.Iterable[str],
        log_client_errors: bool,
    ) -> dict[str, Action]:
        enabled, named = _check_ids(enable, "enable")
        disabled = _check_ids(disable, "disable")[0]
        rejected: set[str] = set()
        if not isinstance(reject, bool):
            rejected, named_rejected = _check_ids(reject, "reject")
            named |= named_rejected
        for name in sorted((rejected | enabled) & disabled):
            raise ValueError(f"{name!r} is named in disable and also in enable or reject")
        for name in sorted(rejected & NOT_REJECTABLE):
            raise ValueError(f"{name!r} reports what the app did, so it cannot reject")
        if "host.not_allowed" in named and self.limits.allowed_hosts is None:
            raise ValueError("host.not_allowed needs allowed_hosts=[...] to compare Host with")
        if "body.too_large" in named and self.limits.max_content_length is None:
            raise ValueError("body.too_large needs max_content_length=<bytes>")
        if log_client_errors:
            enabled.add("response.client_error")
        actions: dict[str, Action] = {}
        for check in CHECKS:
            action = check.action
            if check.id in enabled and action == "off":
                action = "log"
            if check.id in disabled:
                action = "off"
            if check.id in rejected or (
                reject is True and action != "off" and check.id not in NOT_REJECTABLE
            ):
                action = "reject"
            actions[check.id] = action
        return actions

    @property
    def stats(self) -> dict[str, dict[str, int]]:
        """A snapshot of the counters per check id: ``found``, ``logged``,
        ``suppressed`` (by the rate limit) and ``rejected``."""
        return self._reporter.stats()

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> t.Iterable[bytes]:
        suspects = self._suspects(environ)
        if suspects:
            rejected = self._inspect(environ, suspects)
            if rejected is not None:
                body = f"Bad Request ({rejected})\n".encode()
                start_response(
                    "400 Bad Request",
                    [
                        ("Content-Type", "text/plain; charset=utf-8"),
                        ("Content-Length", str(len(body))),
                    ],
                )
                return [body]
        if self.actions["response.client_error"] != "off":
            start_response = self._watch_status(environ, start_response)
        token = _current.set(self._reporter)
        try:
            return self.app(environ, start_response)
        finally:
            _current.reset(token)

    def _suspects(self, environ: WSGIEnvironment) -> list[str]:
        """A cheap pre-scan naming the scopes (``uri``, ``host``, ``body``...)
        whose checks must look closer; empty means no enabled check can find
        anything. It may name a scope in vain, never miss one.

        The costly part is one pass over all environ strings at C speed
        instead of a Python loop over the headers.
        """
        get = environ.get
        suspects: list[str] = []
        method = get("REQUEST_METHOD")
        if method not in COMMON_METHODS:
            suspects.append("method")
        if get("SERVER_PROTOCOL") not in _HTTP_1:
            suspects.append("protocol")
        if get("HTTP_HOST") not in self._clean_hosts:
            suspects.append("host")
        # Every header, the path and the query are printable ASCII.
        text = " ".join(filter(_is_str, environ.values()))
        if not text.isascii() or len(text.encode().translate(None, _CONTROL_BYTES)) != len(text):
            suspects += ("headers", "uri")
        query = get("QUERY_STRING", "")
        target = get("RAW_URI") or get("REQUEST_URI") or f"/?{query}"
        if (
            type(target) is not str
            or target[:1] != "/"
            or " " in target
            or "#" in target
            or ("%" in target and _ODD_ESCAPE.search(target) is not None)
        ):
            suspects.append("uri")
        if type(query) is not str or len(query) > self._query_limit:
            suspects.append("args")
        length = get("CONTENT_LENGTH", "")
        if "HTTP_TRANSFER_ENCODING" in environ:
            suspects.append("body")
        elif length == "":
            if method in _NEEDS_LENGTH:
                suspects.append("body")
        elif length != "0" and (
            method in ("GET", "HEAD")
            or type(length) is not str
            or not (length.isascii() and length.isdigit())
            or not get("CONTENT_TYPE")
            or self._body_actions
            or self.limits.max_content_length is not None
        ):
            suspects.append("body")
        if "HTTP_RANGE" in environ:
            suspects.append("range")
        cookie = get("HTTP_COOKIE")
        if cookie is not None and (type(cookie) is not str or not _COOKIE_OK.fullmatch(cookie)):
            suspects.append("cookie")
        return suspects

    def _inspect(self, environ: WSGIEnvironment, suspects: list[str]) -> str | None:
        """Run the checks of the suspect scopes, report the findings, and
        return the id of the first check that rejects the request, if any."""
        if len(suspects) == 1:
            detectors = self._detectors.get(suspects[0], ())
        else:
            scopes = set(suspects)
            detectors = tuple(d for d in self._all_detectors if d[0] in scopes)
        try:
            facts = Facts(environ)
            findings = [
                (check, detail, action)
                for _, check, detect, action in detectors
                if (detail := detect(facts, self.limits)) is not None
            ]
            if "uri" in suspects and self._scanned_actions:
                findings.extend(
                    (check, detail, self._scanned_actions[check])
                    for check, detail in facts.uri_findings.items()
                    if check in self._scanned_actions
                )
                findings.sort(key=lambda finding: ORDER[finding[0]])
            if "body" in suspects and self._body_actions:
                findings.extend(self._inspect_body(environ, facts))
        except Exception:
            logger.exception("a wsgi_flash check failed on this request; please report it")
            return None
        rejected: str | None = None
        host_findings = False
        for check, detail, action in findings:
            self._reporter.report(environ, check, detail, action)
            host_findings = host_findings or check.startswith("host.")
            if action == "reject" and rejected is None:
                rejected = check
        host = environ.get("HTTP_HOST")
        if (
            "host" in suspects
            and not host_findings
            and type(host) is str
            and len(self._clean_hosts) < _MAX_CLEAN_HOSTS
        ):
            self._clean_hosts.add(host)
        return rejected

    def _inspect_body(
        self, environ: WSGIEnvironment, facts: Facts
    ) -> list[tuple[str, str, Action]]:
        media_type = facts.content_type.partition(";")[0].strip().lower()
        if media_type == "application/x-www-form-urlencoded":
            check = "body.urlencoded"
        elif media_type == "application/json" or media_type.endswith("+json"):
            check = "body.json"
        elif media_type.startswith("multipart/"):
            check = "body.multipart"
        else:
            return []
        action = self._body_actions.get(check)
        if action is None:
            return []
        body = self._buffer_body(environ, facts.content_length)
        findings: list[tuple[str, str, Action]] = []
        if check == "body.multipart":
            detail = body_multipart(facts.content_type, body)
        elif body is None:
            return []
        elif check == "body.json":
            detail = body_json(body)
        else:
            detail = body_urlencoded(body)
            # Django counts form fields against the same limits as the query.
            found = arguments_problem(body.decode("latin-1"), "form body", self.limits)
            if found is not None and self.actions[found[0]] != "off":
                findings.append((found[0], found[1], self.actions[found[0]]))
        if detail is not None:
            findings.append((check, detail, action))
        return findings

    def _buffer_body(self, environ: WSGIEnvironment, content_length: str) -> bytes | None:
        """Read a body of known, bounded length and hand the app an identical
        ``wsgi.input``; None for chunked, empty or oversized bodies."""
        if not (content_length.isascii() and content_length.isdigit()):
            return None
        size = int(content_length)
        if not 0 < size <= self.body_buffer_size:
            return None
        body: bytes = environ["wsgi.input"].read(size)
        environ["wsgi.input"] = io.BytesIO(body)
        return body

    def _watch_status(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> StartResponse:
        reporter = self._reporter

        def watching_start_response(
            status: str, headers: list[tuple[str, str]], exc_info: t.Any = None
        ) -> t.Callable[[bytes], object]:
            if status[:1] == "4":
                reporter.report(
                    environ,
                    "response.client_error",
                    f"the app answered {escape(status, 60)}",
                    "log",
                    logging.INFO,
                    status=escape(status, 60),
                )
            return start_response(status, headers, exc_info)

        return watching_start_response


_default_reporter: _Reporter | None = None


def report_malformed(environ_or_request: object, reason: str, **details: object) -> None:
    """Log bad input that application code noticed itself.

    The record goes to the ``wsgi_flash.malformed`` logger at WARNING with
    check id ``app.report`` and the same escaping, structured fields and rate
    limit as the middleware's own records; ``details`` are escaped and added
    to the message and, as a dict, to the record's ``details`` field. Inside
    a request wrapped by :class:`MalformedRequestLogger` it counts in that
    middleware's ``stats``; elsewhere a module-wide rate limit applies.

    :param environ_or_request: the WSGI environ or a request object.
    :param reason: what is wrong, in a few words.

    .. code-block:: python

        if not form.validate():
            report_malformed(request, "signup form failed validation", field="email")
    """
    global _default_reporter
    environ = get_environ(environ_or_request, "report_malformed")
    reporter = _current.get()
    if reporter is None:
        if _default_reporter is None:
            _default_reporter = _Reporter((20, 60.0), DEFAULT_LIMIT, "X-Request-ID")
        reporter = _default_reporter
    limit = reporter.max_value_length
    safe = {escape(key, 60): escape(value, limit) for key, value in details.items()}
    detail = escape(reason, limit)
    if safe:
        detail += " (" + ", ".join(f"{key}={value}" for key, value in safe.items()) + ")"
    reporter.report(environ, "app.report", detail, "log", details=safe)
