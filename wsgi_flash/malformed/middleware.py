"""Malformed-request logging
==========================

:class:`MalformedRequestLogger` looks at each request as the WSGI server
handed it over, logs what is malformed or suspicious on the
``wsgi_flash.malformed`` logger, and rejects a request with 400 only for the
checks named in ``reject``. :func:`report_malformed` lets application code log
bad input it noticed itself through the same safe, rate-limited channel.

The check catalogue lives in :mod:`wsgi_flash.malformed._checks`; print it with
``python -m wsgi_flash checks``. Records are built in
:mod:`wsgi_flash.malformed._reporting`.
"""

from __future__ import annotations

import functools
import logging
import typing as t

from .._cache import BoundedCache
from .._logging import DEFAULT_LIMIT, LimitedLog, check_rate_limit, escape
from .._wsgi import get_environ
from ._body_checks import inspect_body
from ._checks import (
    BODY_CHECKS,
    CHECKS,
    CHECKS_BY_ID,
    ORDER,
    SCANNED_URI_CHECKS,
    Detector,
    Finding,
    host_patterns,
    positive_int,
    resolve_actions,
    scope_of,
)
from ._prescan import PreScan
from ._reporting import REPORTER_KEY, Reporter, logger
from ._request_checks import Facts, Limits
from ._uri_checks import scan_uri

if t.TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from ..metrics import PrometheusMetrics
    from ._checks import Action

_Result = t.TypeVar("_Result")

# Host values that passed every host check, so the pre-scan lets them by
# with one lookup.
_MAX_CLEAN_HOSTS = 256
_MAX_CLEAN_HOST_LENGTH = 255


def _catalogue_position(finding: Finding) -> int:
    return ORDER[finding[0]]


class MalformedRequestLogger:
    """Log malformed or suspicious requests; reject only what you name.

    Each request is checked against the catalogue (``python -m wsgi_flash
    checks``). Each finding is one WARNING record on the
    ``wsgi_flash.malformed`` logger, with every request value escaped and
    truncated and structured fields in ``extra`` (``check``, ``action``,
    ``event``, ``method``, ``path``, ``remote_addr``, ``peer_addr`` behind a
    proxy fix, ``user_agent``, ``request_id``, ``detail``, ``suppressed``).

    A clean request reaches the app untouched: the same environ, the same
    ``wsgi.input``, and the app's response returned as is. The environ gains
    one key, ``wsgi_flash.malformed.reporter``, through which
    :func:`report_malformed` finds this middleware's counters and settings,
    even from a streamed response body or another thread.

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
    :param body_buffer_size: largest body the body checks judge. Logging
        checks keep a copy of what the app reads; rejecting ones read the
        body before the app and hand it an identical ``wsgi.input``. Larger
        and chunked bodies are skipped.
    :param metrics: a :class:`~wsgi_flash.metrics.PrometheusMetrics` that
        counts findings by check and action; None counts nothing.

    .. code-block:: python

        from wsgi_flash.malformed import MalformedRequestLogger

        app = MalformedRequestLogger(
            app,
            allowed_hosts=[".example.com"],
            reject=("host.not_allowed", "uri.nul_byte"),
            enable=("body.json",),
        )

    .. versionadded:: 0.1
    .. versionchanged:: 0.3
        The ``metrics`` parameter.
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
        metrics: PrometheusMetrics | None = None,
    ) -> None:
        if metrics is not None:
            from ..metrics import check_metrics

            check_metrics(metrics, "MalformedRequestLogger")
        self.app = app
        self.reject = reject
        self.allowed_hosts = allowed_hosts
        self.enable = enable
        self.disable = disable
        self.log_client_errors = log_client_errors
        self.max_value_length = positive_int(max_value_length, "max_value_length")
        self.request_id_header = request_id_header
        self.body_buffer_size = positive_int(body_buffer_size, "body_buffer_size")
        self.rate_limit = check_rate_limit(rate_limit)
        if max_content_length is not None:
            positive_int(max_content_length, "max_content_length")
        self.limits = Limits(
            allowed_hosts=host_patterns(allowed_hosts),
            max_arguments=positive_int(max_arguments, "max_arguments"),
            max_argument_name_length=positive_int(
                max_argument_name_length, "max_argument_name_length"
            ),
            max_argument_length=positive_int(max_argument_length, "max_argument_length"),
            max_content_length=max_content_length,
        )
        self.actions = resolve_actions(self.limits, reject, enable, disable, log_client_errors)
        # (scope, id, detector, action) in catalogue order; scan_uri answers
        # the SCANNED_URI_CHECKS together.
        self._all_detectors = tuple(
            (scope_of(check.id), check.id, check.detect, self.actions[check.id])
            for check in CHECKS
            if check.detect is not None
            and self.actions[check.id] != "off"
            and check.id not in SCANNED_URI_CHECKS
        )
        # (id, detector, action) per combination of suspect scopes, as met.
        self._detectors: BoundedCache[tuple[str, ...], tuple[tuple[str, Detector, Action], ...]] = (
            BoundedCache(max_entries=1024, max_key_length=len(ORDER))
        )
        self._scanned_actions = {
            check: self.actions[check]
            for check in SCANNED_URI_CHECKS
            if self.actions[check] != "off"
        }
        self._checks_bodies = any(self.actions[check] != "off" for check in BODY_CHECKS)
        self._watches_status = self.actions["response.client_error"] != "off"
        self._clean_hosts: BoundedCache[str, bool] = BoundedCache(
            _MAX_CLEAN_HOSTS, _MAX_CLEAN_HOST_LENGTH
        )
        self._suspects = PreScan.for_settings(self.limits, self.actions, self._clean_hosts).suspects
        self.metrics = metrics
        self._reporter = Reporter(
            CHECKS_BY_ID, rate_limit, self.max_value_length, request_id_header, metrics=metrics
        )
        self._errors = LimitedLog(logger, rate_limit)

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
        environ[REPORTER_KEY] = self._reporter
        if self._watches_status:
            start_response = self._watch_status(environ, start_response)
        return self.app(environ, start_response)

    def _inspect(self, environ: WSGIEnvironment, suspects: list[str]) -> str | None:
        """Run the checks of the suspect scopes, report the findings, and
        return the id of the first check that rejects the request, if any."""
        findings = self._find(environ, suspects)
        rejected: str | None = None
        host_findings = False
        if findings:
            self._reporter.report(environ, findings)
            for check, _, action in findings:
                host_findings = host_findings or check.startswith("host.")
                if action == "reject" and rejected is None:
                    rejected = check
        host = environ.get("HTTP_HOST")
        if "host" in suspects and not host_findings and type(host) is str:
            self._clean_hosts.remember(host, True)
        return rejected

    def _find(self, environ: WSGIEnvironment, suspects: list[str]) -> list[Finding]:
        """The findings of the suspect scopes' checks, in catalogue order.

        A detector that fails loses its own verdict only: the others still
        count, and still reject.
        """
        scopes = tuple(suspects)
        detectors = self._detectors.get(scopes)
        if detectors is None:
            detectors = tuple(d[1:] for d in self._all_detectors if d[0] in scopes)
            self._detectors.remember(scopes, detectors)
        limits = self.limits
        findings: list[Finding] = []
        if detectors:
            facts = Facts(environ)
            for check, detect, action in detectors:
                detail = self._run(check, detect, facts, limits)
                if detail is not None:
                    findings.append((check, detail, action))
        if "uri" in scopes and self._scanned_actions:
            scanned = self._run("uri.*", _scan_uri, Facts(environ), limits)
            if scanned:
                mixed = len(findings) + len(scanned) > 1
                for check, detail in scanned.items():
                    scanned_action = self._scanned_actions.get(check)
                    if scanned_action is not None:
                        findings.append((check, detail, scanned_action))
                if mixed:
                    findings.sort(key=_catalogue_position)
        if "body" in scopes and self._checks_bodies:
            findings += self._run("body.*", self._inspect_body, Facts(environ), limits) or []
        return findings

    def _run(
        self,
        check: str,
        detect: t.Callable[[Facts, Limits], _Result],
        facts: Facts,
        limits: Limits,
    ) -> _Result | None:
        """``detect(facts, limits)``, or None after an ERROR record (without
        a traceback, rate-limited) if it raised: a detector bug must not hide
        the other checks' findings, nor let a client fill the log."""
        try:
            return detect(facts, limits)
        except Exception as error:
            self._errors.log(
                logging.ERROR,
                check,
                "check %s failed on a request (%s: %s); its verdict is lost, the other"
                " checks ran; please report this",
                check,
                type(error).__name__,
                escape(error, 120),
            )
            return None

    def _inspect_body(self, facts: Facts, limits: Limits) -> list[Finding]:
        environ = facts.environ

        def report(find: t.Callable[[], list[Finding]]) -> None:
            findings = self._run("body.*", lambda _facts, _limits: find(), facts, limits)
            if findings:
                self._reporter.report(environ, findings)

        return inspect_body(facts, self.actions, limits, self.body_buffer_size, report)

    def _watch_status(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> StartResponse:
        reporter = self._reporter

        def watching_start_response(
            status: str, headers: list[tuple[str, str]], exc_info: t.Any = None
        ) -> t.Callable[[bytes], object]:
            if status[:1] == "4":
                safe_status = escape(status, 60)
                finding: Finding = (
                    "response.client_error",
                    f"the app answered {safe_status}",
                    "log",
                )
                reporter.report(environ, (finding,), logging.INFO, status=safe_status)
            return start_response(status, headers, exc_info)

        return watching_start_response


def _scan_uri(facts: Facts, limits: Limits) -> dict[str, str]:
    return scan_uri(facts.environ)


@functools.cache
def _default_reporter() -> Reporter:
    return Reporter(CHECKS_BY_ID, (20, 60.0), DEFAULT_LIMIT, "X-Request-ID")


def report_malformed(environ_or_request: object, reason: str, **details: object) -> None:
    """Log bad input that application code noticed itself.

    The record goes to the ``wsgi_flash.malformed`` logger at WARNING with
    check id ``app.report`` and the same escaping, structured fields and rate
    limit as the middleware's own records; ``details`` are escaped and added
    to the message and, as a dict, to the record's ``details`` field. For a
    request that passed through :class:`MalformedRequestLogger` it counts in
    that middleware's ``stats``; elsewhere a module-wide rate limit applies.

    :param environ_or_request: the WSGI environ or a request object.
    :param reason: what is wrong, in a few words.

    .. code-block:: python

        if not form.validate():
            report_malformed(request, "signup form failed validation", field="email")
    """
    environ = get_environ(environ_or_request, "report_malformed")
    reporter = environ.get(REPORTER_KEY)
    if not isinstance(reporter, Reporter):
        reporter = _default_reporter()
    limit = reporter.max_value_length
    safe = {escape(key, 60): escape(value, limit) for key, value in details.items()}
    detail = escape(reason, limit)
    if safe:
        detail += " (" + ", ".join(f"{key}={value}" for key, value in safe.items()) + ")"
    reporter.report(environ, (("app.report", detail, "log"),), details=safe)
