"""Prometheus metrics
==================

Counters of what the middlewares found and did, for the people who run the
app: how many requests each malformed-request check caught, how many flash
cookies were refused and why, how many messages were written and read, and
how many proxy headers were ignored and why. They are exported with
``prometheus_client`` (``pip install 'wsgi_flash[prometheus]'``); nothing
here is imported, and nothing is counted, unless metrics are configured.

In code, give the middlewares one :class:`PrometheusMetrics` and put a
:class:`MetricsEndpoint` outermost:

.. code-block:: python

    metrics = PrometheusMetrics.shared()
    app = FlashMiddleware(app, secret_key=key, metrics=metrics)
    app = MetricsEndpoint(ProxyFix(app, x_for=1, metrics=metrics))

From the configuration, a ``[metrics]`` section does both (see
:doc:`/metrics`). Every label value is one of a fixed set named in the code
(check ids, reasons, actions), never client data, so no request can add a
time series.

Under gunicorn each worker counts on its own; with ``PROMETHEUS_MULTIPROC_DIR``
set, prometheus_client's multiprocess mode writes the counts to files in that
directory and a scrape of any worker sums them all;
:func:`wsgi_flash.gunicorn.child_exit` tells it when a worker is gone.
"""

from __future__ import annotations

import os
import threading
import typing as t

from ._net import NetworkSet, parse_networks
from .exceptions import WsgiFlashError

if t.TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from prometheus_client.registry import CollectorRegistry

__all__ = ["MetricsEndpoint", "PrometheusMetrics"]

_INSTALL_HINT = "pip install 'wsgi_flash[prometheus]'"
#: The environment variable that switches prometheus_client to multiprocess mode.
MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
#: What :meth:`PrometheusMetrics.finding` counts a malformed-request finding as.
ACTIONS = ("logged", "suppressed", "rejected")


def usable_directory(directory: str) -> bool:
    """True if this process can list, read and write ``directory``, as
    prometheus_client's multiprocess mode does."""
    return os.path.isdir(directory) and os.access(directory, os.R_OK | os.W_OK | os.X_OK)


class MultiprocessDirectoryError(WsgiFlashError, ValueError):
    """``PROMETHEUS_MULTIPROC_DIR`` names no directory this process can use:
    a fault of the environment, not of any option."""


def _check_multiprocess_directory() -> None:
    """Refuse a ``PROMETHEUS_MULTIPROC_DIR`` that prometheus_client could not
    use: it would fail on the first count (a 500, or a bare
    FileNotFoundError at start-up) or on every scrape. Set but empty, it
    still turns multiprocess mode on, with the files in the current
    directory."""
    directory = os.environ.get(MULTIPROC_DIR)
    if directory is not None and not usable_directory(directory):
        raise MultiprocessDirectoryError(
            f"environment variable {MULTIPROC_DIR}={directory!r}: not a directory this process"
            " can read and write; create it (empty) before starting the server, or unset it"
            " for one process"
        )


def check_metrics(metrics: object, middleware: str) -> None:
    """Raise TypeError unless ``metrics`` is a :class:`PrometheusMetrics`:
    anything else (prometheus_client's registry, say) would fail on the
    first count, inside a request that a client chose."""
    if not isinstance(metrics, PrometheusMetrics):
        raise TypeError(
            f"{middleware}(metrics=...) takes a wsgi_flash.metrics.PrometheusMetrics, such as"
            f" PrometheusMetrics.shared(), not {type(metrics).__name__}"
        )


def _client() -> t.Any:
    try:
        import prometheus_client
    except ImportError:
        raise ImportError(
            f"wsgi_flash's metrics need prometheus_client; install it: {_INSTALL_HINT}"
        ) from None
    return prometheus_client


class PrometheusMetrics:
    """The counters, registered in ``registry`` (prometheus_client's default
    one when None). A registry holds each metric once, so one process has
    one instance per registry: :meth:`shared` returns it.

    ================================================  =================================
    metric                                            labels
    ================================================  =================================
    ``wsgi_flash_malformed_findings_total``           ``check`` (a check id), ``action``:
                                                      ``logged``, ``suppressed`` (by the
                                                      rate limit, or the logger's level)
                                                      or ``rejected`` (answered 400)
    ``wsgi_flash_flash_cookies_rejected_total``       ``reason``: ``bad_signature``,
                                                      ``expired``, ``malformed``, ...
    ``wsgi_flash_flash_messages_total``               ``event``: ``written`` (flashed and
                                                      sent in the cookie) or ``read``
                                                      (handed to the first read)
    ``wsgi_flash_proxy_headers_ignored_total``        ``reason``: ``untrusted_peer``,
                                                      ``bad_x_forwarded_for``, ...
    ================================================  =================================

    :param registry: a ``prometheus_client`` ``CollectorRegistry``.
    :raises ImportError: prometheus_client is not installed.
    :raises ValueError: ``PROMETHEUS_MULTIPROC_DIR`` is set to something
        other than a directory this process can read and write.

    .. versionadded:: 0.3
    """

    _shared: t.ClassVar[dict[int, PrometheusMetrics]] = {}
    _shared_lock: t.ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        client = _client()
        _check_multiprocess_directory()
        self.registry = client.REGISTRY if registry is None else registry

        def counter(name: str, documentation: str, label: str, *labels: str) -> t.Any:
            try:
                return client.Counter(name, documentation, (label, *labels), registry=self.registry)
            except ValueError as error:  # Duplicated timeseries in CollectorRegistry
                raise ValueError(
                    f"{error}; a registry holds wsgi_flash's metrics once: use"
                    " PrometheusMetrics.shared(registry) to get the instance that holds them"
                ) from None

        self.findings = counter(
            "wsgi_flash_malformed_findings",
            "Malformed-request findings, by check and by what was done with them",
            "check",
            "action",
        )
        self.flash_cookies_rejected = counter(
            "wsgi_flash_flash_cookies_rejected",
            "Flash cookies treated as no messages, by reason",
            "reason",
        )
        self.flash_messages = counter(
            "wsgi_flash_flash_messages", "Flash messages written and read", "event"
        )
        self.proxy_headers_ignored = counter(
            "wsgi_flash_proxy_headers_ignored",
            "Proxy headers ProxyFix ignored (or removed), by reason",
            "reason",
        )
        # Bound once: a flash request counts without a label lookup.
        self._written = self.flash_messages.labels("written")
        self._read = self.flash_messages.labels("read")

    @classmethod
    def shared(cls, registry: CollectorRegistry | None = None) -> PrometheusMetrics:
        """The one instance for ``registry`` in this process, made on first use."""
        key = id(_client().REGISTRY if registry is None else registry)
        with cls._shared_lock:
            metrics = cls._shared.get(key)
            if metrics is None:
                metrics = cls._shared[key] = cls(registry)
            return metrics

    def finding(self, check: str, action: str) -> None:
        """Count a malformed-request finding of ``check``; ``action`` is
        ``logged``, ``suppressed`` or ``rejected``."""
        self.findings.labels(check, action).inc()

    def flash_cookie_rejected(self, reason: str) -> None:
        """Count a flash cookie treated as no messages."""
        self.flash_cookies_rejected.labels(reason).inc()

    def flash_messages_counted(self, written: int, read: int) -> None:
        """Count the messages one request wrote and read."""
        if written:
            self._written.inc(written)
        if read:
            self._read.inc(read)

    def proxy_header_ignored(self, reason: str) -> None:
        """Count proxy headers ignored for ``reason`` (a WARNING kind)."""
        self.proxy_headers_ignored.labels(reason).inc()


def _networks(allow: t.Sequence[str]) -> NetworkSet:
    """``allow`` read as for ProxyFix's trusted proxies, with messages of
    its own where that option's would say to trust hop counts or pass None
    (which here lets every client read the metrics)."""
    if not isinstance(allow, (str, bytes)):
        allow = list(allow)
        if not allow:
            raise ValueError(
                "allow is empty, so no client could read the metrics; name the Prometheus"
                " server's address or network, or 'loopback'"
            )
        if any(isinstance(spec, str) and spec.strip() == "*" for spec in allow):
            raise ValueError(
                "allow=['*'] is not an address or network; name the Prometheus server's"
                " address or network (in code, allow=None lets every client read the metrics)"
            )
    return NetworkSet(parse_networks(allow, "allow"))


class MetricsEndpoint:
    """Serve the metrics at ``path`` to the clients in ``allow``; every
    other request goes to ``app`` unchanged.

    Put it outermost, outside :class:`~wsgi_flash.ProxyFix`: it judges the
    client by the address of the socket's peer (``REMOTE_ADDR`` as the
    server set it), which no header can change. To anyone else the path is
    the app's, as if the endpoint were not there. Behind a proxy on the same
    machine every request comes from loopback, so keep the proxy from
    forwarding ``path`` (nginx: ``location = /metrics { return 404; }``),
    or name only the Prometheus server's address in ``allow``.

    With ``PROMETHEUS_MULTIPROC_DIR`` set (gunicorn with several workers),
    each scrape sums the counts of every process, as prometheus_client's
    multiprocess mode documents.

    :param app: the WSGI app.
    :param path: the ``PATH_INFO`` that answers with the metrics.
    :param allow: addresses, networks or ``"loopback"``/``"private"`` whose
        requests may read them; None lets every client.
    :param registry: the registry to export when not in multiprocess mode;
        prometheus_client's default one when None.

    .. versionadded:: 0.3
    """

    def __init__(
        self,
        app: WSGIApplication,
        *,
        path: str = "/metrics",
        allow: t.Sequence[str] | None = ("loopback",),
        registry: CollectorRegistry | None = None,
    ) -> None:
        if not callable(app):
            raise TypeError("app must be a WSGI callable; MetricsEndpoint(app, path=...)")
        if not isinstance(path, str) or not path.startswith("/") or not path.isprintable():
            raise ValueError(f"path must be a printable path starting with '/', not {path!r}")
        client = _client()
        _check_multiprocess_directory()
        if registry is not None and not callable(getattr(registry, "collect", None)):
            # Else the mistake would show only on a scrape, as a 500.
            raise TypeError(
                "registry must be a prometheus_client CollectorRegistry (or None for its"
                f" default one), not {type(registry).__name__}"
            )
        self.app = app
        self.path = path
        self.allow = None if allow is None else _networks(allow)
        self.registry = client.REGISTRY if registry is None else registry
        self._client = client

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> t.Iterable[bytes]:
        if environ.get("PATH_INFO") != self.path or (
            self.allow is not None and environ.get("REMOTE_ADDR") not in self.allow
        ):
            return self.app(environ, start_response)
        method = environ.get("REQUEST_METHOD")
        if method not in ("GET", "HEAD"):
            start_response(
                "405 Method Not Allowed",
                [("Allow", "GET, HEAD"), ("Content-Type", "text/plain"), ("Content-Length", "0")],
            )
            return []
        accept = environ.get("HTTP_ACCEPT")
        encode, content_type = self._encoder(accept if isinstance(accept, str) else "")
        body = encode(self._scraped_registry())
        start_response(
            "200 OK",
            [
                ("Content-Type", content_type),
                ("Content-Length", str(len(body))),
                ("Cache-Control", "no-store"),
            ],
        )
        return [] if method == "HEAD" else [body]

    def _encoder(self, accept: str) -> tuple[t.Callable[[t.Any], bytes], str]:
        """The format ``accept`` asks for; the default text format when
        prometheus_client cannot read it (0.2x raises TypeError on a
        ``version`` part that is not a number, such as ``version=x``)."""
        choose = self._client.exposition.choose_encoder
        try:
            return choose(accept)  # type: ignore[no-any-return]
        except (TypeError, ValueError):
            return choose("")  # type: ignore[no-any-return]

    def _scraped_registry(self) -> t.Any:
        if os.environ.get(MULTIPROC_DIR):
            from prometheus_client import multiprocess

            registry = self._client.CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call,unused-ignore]
            return registry
        return self.registry
