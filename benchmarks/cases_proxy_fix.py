"""ProxyFix against Werkzeug's ProxyFix, on the same headers, in one run.

Goals (issue 4): with validation, ours adds at most a quarter of what
Werkzeug's adds per request; a request with no proxy headers adds at most
0.5 µs.
"""

from __future__ import annotations

import typing as t

from harness import Bench, make_environ
from werkzeug.middleware.proxy_fix import ProxyFix as WerkzeugProxyFix

from wsgi_flash.proxy_fix import ProxyFix

GROUP = "proxy_fix"
X_HEADERS = {
    "REMOTE_ADDR": "10.0.0.2",
    "HTTP_X_FORWARDED_FOR": "198.51.100.7, 203.0.113.9",
    "HTTP_X_FORWARDED_PROTO": "https",
    "HTTP_X_FORWARDED_HOST": "www.example.com",
}
FORWARDED = {
    "REMOTE_ADDR": "10.0.0.2",
    "HTTP_FORWARDED": "for=198.51.100.7, for=203.0.113.9;proto=https;host=www.example.com",
}


def app(environ: dict[str, t.Any], start_response: t.Callable[..., t.Any]) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def run(bench: Bench) -> None:
    bare = bench.time(app, make_environ(**X_HEADERS))
    bench.row(GROUP, "bare app", bare)

    werkzeug = WerkzeugProxyFix(app, x_for=1, x_proto=1, x_host=1)
    werkzeug_us = bench.time(werkzeug, make_environ(**X_HEADERS))
    werkzeug_added = werkzeug_us - bare
    bench.row(GROUP, "Werkzeug ProxyFix x_for/proto/host", werkzeug_us, added=werkzeug_added)

    goal = "≤ 1/4 of Werkzeug's"
    ours = ProxyFix(app, x_for=1, x_proto=1, x_host=1)
    ours_us = bench.time(ours, make_environ(**X_HEADERS))
    _compared(bench, "ours, same args, validating", ours_us, bare, werkzeug_added, goal)

    forwarded = ProxyFix(app, forwarded=1, trusted_proxies=["private", "loopback"])
    forwarded_us = bench.time(forwarded, make_environ(**FORWARDED))
    _compared(bench, "ours, Forwarded + trusted_proxies", forwarded_us, bare, werkzeug_added, goal)

    plain_bare = bench.time(app, make_environ())
    bench.row(GROUP, "bare app, no proxy headers", plain_bare)
    plain_us = bench.time(ours, make_environ())
    added = plain_us - plain_bare
    bench.row(
        GROUP,
        "ours, no proxy headers",
        plain_us,
        added=added,
        goal="≤ +0.50 µs",
        ok=added <= 0.5,
    )


def _compared(
    bench: Bench, case: str, us: float, bare: float, werkzeug_added: float, goal: str
) -> None:
    added = us - bare
    bench.row(
        GROUP,
        case,
        us,
        added=added,
        compare=f"{added / werkzeug_added:.2f} x Werkzeug's",
        goal=goal,
        ok=added <= werkzeug_added / 4,
    )
