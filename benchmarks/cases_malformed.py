"""MalformedRequestLogger: added cost per clean and per malformed request.

The environs look like what gunicorn hands over (``RAW_URI`` set). The
malformed rows log through a logger whose only handler does nothing, so the
figures include building each log record but not the handler's own I/O.
"""

from __future__ import annotations

import logging
import typing as t

from harness import make_environ

from wsgi_flash.malformed import MalformedRequestLogger

GROUP = "malformed"

BROWSER_HEADERS = {
    "HTTP_USER_AGENT": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "HTTP_ACCEPT": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "HTTP_ACCEPT_LANGUAGE": "en-GB,en;q=0.5",
    "HTTP_ACCEPT_ENCODING": "gzip, deflate, br, zstd",
    "HTTP_COOKIE": "session=eyJfZmxhc2hlcyI6W119.ZxYz.abc123; theme=dark",
    "HTTP_CONNECTION": "keep-alive",
    "HTTP_UPGRADE_INSECURE_REQUESTS": "1",
}


def bare_app(environ: dict[str, t.Any], start_response: t.Callable[..., t.Any]) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


def record_app(environ: dict[str, t.Any], start_response: t.Callable[..., t.Any]) -> list[bytes]:
    """The bare app plus what the stdlib spends on one finding: a LogRecord
    built by the logger and handed to its (null) handler."""
    log = logging.getLogger("wsgi_flash.malformed")
    log.handle(log.makeRecord(log.name, logging.WARNING, __file__, 0, "%s", ("x",), None))
    return bare_app(environ, start_response)


def _quiet_logger() -> None:
    # A handler that does nothing, not a disabled logger: records are still
    # built and handed to it, only the handler's own I/O is left out.
    log = logging.getLogger("wsgi_flash.malformed")
    log.handlers[:] = [logging.NullHandler()]
    log.propagate = False
    log.setLevel(logging.INFO)


def run(bench: t.Any) -> None:
    _quiet_logger()
    checks = MalformedRequestLogger(bare_app)
    # Checks the defaults leave on (host.not_allowed and body.too_large
    # among them, inert until allowed_hosts / max_content_length are set).
    enabled = sum(action != "off" for action in checks.actions.values())
    plain = make_environ("/articles/42?page=2", RAW_URI="/articles/42?page=2")
    browser = make_environ("/articles/42?page=2", RAW_URI="/articles/42?page=2", **BROWSER_HEADERS)
    # What scanners send most: a bad escape, one finding (uri.percent_encoding).
    malformed = make_environ("/a%zz", RAW_URI="/a%zz", **BROWSER_HEADERS)
    # Decoded NUL in PATH_INFO plus a bad escape in the query: two findings,
    # and the NUL sends the header scan down the slow path too.
    nul = make_environ("/a\x00b", QUERY_STRING="q=%zz", RAW_URI="/a%00b?q=%zz", **BROWSER_HEADERS)

    bare = bench.time(bare_app, plain)
    bench.row(GROUP, "bare app", bare)
    bare_browser = bench.time(bare_app, browser)

    us = bench.time(checks, plain)
    added = us - bare
    bench.row(
        GROUP,
        f"clean GET, {enabled} checks on",
        us,
        added=added,
        compare="bare app",
    )
    us = bench.time(checks, browser)
    added = us - bare_browser
    bench.row(
        GROUP,
        f"clean GET + 7 browser headers, {enabled} checks",
        us,
        added=added,
        compare="bare app",
    )

    unlimited = MalformedRequestLogger(bare_app, rate_limit=None)
    us = bench.time(unlimited, malformed)
    added = us - bare_browser
    bench.row(
        GROUP,
        f"malformed /a%zz (1 finding logged, NullHandler), {enabled} checks",
        us,
        added=added,
        compare="bare app",
    )
    us = bench.time(unlimited, nul)
    added = us - bare_browser
    bench.row(
        GROUP,
        f"malformed /a%00b?q=%zz (2 findings logged), {enabled} checks",
        us,
        added=added,
        compare="bare app",
    )
    us = bench.time(record_app, browser)
    bench.row(
        GROUP,
        "reference: bare app + one stdlib LogRecord built and handled",
        us,
        added=us - bare_browser,
        compare="bare app",
    )
    # The middleware's own work on a hit: detect, count, decide; the logger
    # is set above WARNING so no LogRecord is built.
    logging.getLogger("wsgi_flash.malformed").setLevel(logging.ERROR)
    us = bench.time(unlimited, malformed)
    logging.getLogger("wsgi_flash.malformed").setLevel(logging.INFO)
    added = us - bare_browser
    bench.row(
        GROUP,
        f"malformed /a%zz, logger above WARNING (no record built), {enabled} checks",
        us,
        added=added,
        compare="bare app",
    )
    flooded = MalformedRequestLogger(bare_app)
    us = bench.time(flooded, malformed)
    added = us - bare_browser
    bench.row(
        GROUP,
        f"malformed flood (rate limit suppresses), {enabled} checks",
        us,
        added=added,
        compare="bare app",
    )
