"""ProxyFix against Werkzeug's ProxyFix, on the same headers, in one run.

Goal (issue 4): with validation, ours adds at most a quarter of what
Werkzeug's adds per request. Each figure is the best of three interleaved rounds, so a burst of
load on a shared machine does not decide a row.

ProxyFix remembers verdicts on values it has seen (a client's requests
repeat them), so the "new client every request" rows show the other case:
an address, and for Forwarded a whole header, it has never seen. They carry
no goal; they say what a first request costs.
"""

from __future__ import annotations

import itertools
import typing as t

from harness import Bench, Prepare, make_environ
from werkzeug.middleware.proxy_fix import ProxyFix as WerkzeugProxyFix

from wsgi_flash.proxy_fix import ProxyFix

GROUP = "proxy_fix"
PEER = "10.0.0.2"  # the one proxy in front of the app
X_HEADERS = {
    "REMOTE_ADDR": PEER,
    "HTTP_X_FORWARDED_FOR": "198.51.100.7, 203.0.113.9",
    "HTTP_X_FORWARDED_PROTO": "https",
    "HTTP_X_FORWARDED_HOST": "www.example.com",
}
FORWARDED = {
    "REMOTE_ADDR": PEER,
    "HTTP_FORWARDED": "for=198.51.100.7, for=203.0.113.9;proto=https;host=www.example.com",
}


def app(environ: dict[str, t.Any], start_response: t.Callable[..., t.Any]) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def _new_client(key: str, template: str) -> Prepare:
    """Give every request a client address not seen before (65,536 of them,
    far more than ProxyFix remembers)."""
    counter = itertools.count()

    def prepare(environ: dict[str, t.Any]) -> None:
        n = next(counter)
        environ[key] = template.format(f"203.0.{n >> 8 & 255}.{n & 255}")

    return prepare


def run(bench: Bench) -> None:
    werkzeug = WerkzeugProxyFix(app, x_for=1, x_proto=1, x_host=1)
    ours = ProxyFix(app, x_for=1, x_proto=1, x_host=1)
    forwarded = ProxyFix(app, forwarded=1, trusted_proxies=["private", "loopback"])
    x_environ, f_environ = make_environ(**X_HEADERS), make_environ(**FORWARDED)
    x_new = _new_client("HTTP_X_FORWARDED_FOR", "198.51.100.7, {}")
    f_new = _new_client(
        "HTTP_FORWARDED", "for=198.51.100.7, for={};proto=https;host=www.example.com"
    )
    us = bench.best(
        {
            "bare": (app, x_environ, None),
            "werkzeug": (werkzeug, x_environ, None),
            "ours": (ours, x_environ, None),
            "forwarded": (forwarded, f_environ, None),
            "bare new": (app, x_environ, x_new),
            "werkzeug new": (werkzeug, x_environ, x_new),
            "ours new": (ours, x_environ, x_new),
            "forwarded new": (forwarded, f_environ, f_new),
            "bare plain": (app, make_environ(), None),
            "ours plain": (ours, make_environ(), None),
        },
    )

    werkzeug_added = us["werkzeug"] - us["bare"]
    bench.row(GROUP, "bare app", us["bare"])
    bench.row(GROUP, "Werkzeug ProxyFix x_for/proto/host", us["werkzeug"], added=werkzeug_added)
    for name, case in (
        ("ours", "ours, same args, validating"),
        ("forwarded", "ours, Forwarded + trusted_proxies"),
    ):
        added = us[name] - us["bare"]
        bench.row(
            GROUP,
            case,
            us[name],
            added=added,
            compare=f"{added / werkzeug_added:.2f} x Werkzeug's",
            goal="≤ 0.25 x Werkzeug's",
            ok=added <= werkzeug_added / 4,
        )

    werkzeug_new_added = us["werkzeug new"] - us["bare new"]
    bench.row(GROUP, "new client every request: bare app", us["bare new"])
    bench.row(GROUP, "  Werkzeug ProxyFix", us["werkzeug new"], added=werkzeug_new_added)
    for name, case in (("ours new", "  ours, validating"), ("forwarded new", "  ours, Forwarded")):
        added = us[name] - us["bare new"]
        bench.row(
            GROUP,
            case,
            us[name],
            added=added,
            compare=f"{added / werkzeug_new_added:.2f} x Werkzeug's",
        )

    added = us["ours plain"] - us["bare plain"]
    bench.row(GROUP, "bare app, no proxy headers", us["bare plain"])
    bench.row(GROUP, "ours, no proxy headers", us["ours plain"], added=added)
