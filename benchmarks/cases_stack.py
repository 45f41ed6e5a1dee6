"""The full stack: all four middlewares around one app, as ``stack()`` builds it.

The first row is a request that gives none of them anything to do (no
cookie, no proxy headers, nothing malformed, no hooks registered); what the
stack adds to a real app is the headline in ``cases_flask.py``. The flash
rows show what setting and reading a message costs through the whole stack,
over the bare app giving the same response.
"""

from __future__ import annotations

import typing as t

from cases_flash import SECRET, bare_ok, bare_redirect
from cases_flash import ours_flash_redirect as flash_redirect
from cases_flash import ours_read as read
from harness import Bench, make_environ
from werkzeug.test import Client

from wsgi_flash import RequestHooks, stack

GROUP = "stack"


def full_stack(app: t.Callable[..., t.Any], *, metrics: bool = False) -> t.Callable[..., t.Any]:
    """ProxyFix trusting loopback, the malformed-request logger rejecting
    bad escapes, flash, and RequestHooks with no hooks registered; with
    ``metrics``, the Prometheus counters and endpoint too."""
    return stack(
        RequestHooks(app),
        secret_key=SECRET,
        proxy={"x_for": 1, "trusted_proxies": ["loopback"]},
        malformed={"reject": ["uri.percent_encoding"]},
        **({"metrics": {"path": "/metrics"}} if metrics else {}),
    )


def _flash_cookie() -> str:
    client = Client(full_stack(flash_redirect))
    client.get("/")
    cookie = client.get_cookie("flash")
    assert cookie is not None, "the stack set no flash cookie"
    return f"flash={cookie.value}"


def run(bench: Bench) -> None:
    plain = make_environ("/")
    bare_us = bench.time(bare_ok, plain)
    bench.row(GROUP, "bare app", bare_us)
    nothing_us = bench.time(full_stack(bare_ok), plain)
    added = nothing_us - bare_us
    bench.row(GROUP, "full stack, nothing to do", nothing_us, added=added, compare="vs bare app")

    redirect_us = bench.time(bare_redirect, plain)
    set_us = bench.time(full_stack(flash_redirect), plain)
    bench.row(
        GROUP,
        "full stack, flash + redirect",
        set_us,
        added=set_us - redirect_us,
        compare="vs bare redirect",
    )
    with_cookie = make_environ("/", HTTP_COOKIE=_flash_cookie())
    read_us = bench.time(full_stack(read), with_cookie)
    bench.row(
        GROUP,
        "full stack, read + clear",
        read_us,
        added=read_us - bare_us,
        compare="vs bare app",
    )

    # Metrics on: what counting costs, against the same stack without them.
    counted_nothing_us = bench.time(full_stack(bare_ok, metrics=True), plain)
    bench.row(
        GROUP,
        "full stack + metrics, nothing to do",
        counted_nothing_us,
        added=counted_nothing_us - nothing_us,
        compare="vs full stack",
    )
    counted_set_us = bench.time(full_stack(flash_redirect, metrics=True), plain)
    bench.row(
        GROUP,
        "full stack + metrics, flash + redirect",
        counted_set_us,
        added=counted_set_us - set_us,
        compare="vs full stack",
    )
