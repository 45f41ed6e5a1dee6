"""Count the CPU instructions one request costs, with callgrind.

Timings on shared cores wobble by more than a small change saves; an
instruction count does not. For each case this runs the bench's request
loop under ``valgrind --tool=callgrind`` twice, for 1,000 and for 11,000
requests, and prints the difference over 10,000: instructions per request,
without the start-up. Here about 8,000 instructions take 1 µs. The counts
include this script's own loop (about 3,200 for the bare app), so compare
cases with each other, and a case before and after a change.

The ``flask*`` cases (the headline of ``cases_flask.py``: a browser's
request via a proxy on 127.0.0.1, to a minimal Flask app alone, in
``wsgi_flash.stack`` and with ``init_app``; flash in a Flask view, ours
through ``init_app`` and Flask's own) cost 50 to 300 times more per
request, so they run 100 and 1,100 requests instead.

Usage: ``.venv/bin/python benchmarks/instructions.py [--jobs N] [CASE ...]``
(all cases when none is named; ``--jobs 2`` runs two valgrinds at once);
needs valgrind (``apt-get install valgrind``). A case takes half a minute
to a minute and a half, all of them about twenty minutes with one job.
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
import re
import shutil
import subprocess
import sys
import typing as t

from harness import WSGIApp, expect_status, make_environ

#: Requests in the short and the long run of a case, and of a flask* case.
SHORT, LONG = 1_000, 11_000
FLASK_SHORT, FLASK_LONG = 100, 1_100


def _malformed(path: str, **extra: str) -> tuple[WSGIApp, dict[str, t.Any]]:
    from cases_flash import bare_ok
    from cases_malformed import BROWSER_HEADERS

    from wsgi_flash import MalformedRequestLogger

    log = logging.getLogger("wsgi_flash.malformed")
    log.handlers[:] = [logging.NullHandler()]
    log.propagate = False
    environ = make_environ(path, RAW_URI=path, **BROWSER_HEADERS, **extra)
    return MalformedRequestLogger(bare_ok, rate_limit=None), environ


def _case(name: str) -> tuple[WSGIApp, dict[str, t.Any]]:
    """The app and environ of case ``name``, as the bench builds them."""
    from cases_flash import SECRET, bare_ok, cookie_after, ours_flash_redirect
    from cases_hooks import bare_app
    from cases_hooks import ours as hooks_3_3
    from cases_stack import full_stack

    from wsgi_flash import FlashMiddleware, ProxyFix, RequestHooks

    plain = make_environ("/")
    if name == "bare":
        return bare_ok, plain
    if name == "flash":
        return FlashMiddleware(bare_ok, secret_key=SECRET), plain
    if name == "flash_set":
        return FlashMiddleware(ours_flash_redirect, secret_key=SECRET), plain
    if name == "proxy_fix":
        return ProxyFix(bare_ok, x_for=1, x_proto=1, x_host=1), plain
    if name == "malformed":
        return _malformed("/articles/42?page=2")
    if name == "malformed_hit":
        return _malformed("/a%zz")
    if name == "hooks_none":
        return RequestHooks(bare_ok), plain
    if name == "hooks_bare":
        return bare_app, plain
    if name == "hooks_3_3":
        return hooks_3_3(), plain
    if name == "hooks_webob":  # the anchor of hooks_3_3: WebOb's idiom, same hooks
        from cases_hooks import webob_idiom

        return webob_idiom(), plain
    if name == "stack":
        return full_stack(bare_ok), plain
    if name == "flash_unread":
        cookie = cookie_after(FlashMiddleware(ours_flash_redirect, secret_key=SECRET), "/", "flash")
        return FlashMiddleware(bare_ok, secret_key=SECRET), make_environ("/", HTTP_COOKIE=cookie)
    if name.startswith("flask"):
        return _flask_case(name)
    raise SystemExit(f"unknown case {name!r}; the cases are: {', '.join(CASES)}")


def _flask_case(name: str) -> tuple[WSGIApp, dict[str, t.Any]]:
    from cases_flask import (
        browser_environ,
        flashed_cookie,
        flashing_flask,
        init_app_flask,
        minimal_flask,
        stacked_flask,
    )

    if name == "flask":
        return minimal_flask(), browser_environ("/")
    if name == "flask_stack":
        return stacked_flask(), browser_environ("/")
    if name == "flask_init_app":
        return init_app_flask(), browser_environ("/")
    ours = name in ("flask_keyed", "flask_unread", "flask_flash_set", "flask_flash_read")
    app = flashing_flask(ours=ours)
    if name == "flask_keyed":
        return app, browser_environ("/")
    if name.endswith("_set"):
        return app, browser_environ("/flash")
    cookie = flashed_cookie(app, "flash" if ours else "session")
    return app, browser_environ("/" if name == "flask_unread" else "/read", cookie)


CASES = (
    "bare",
    "flash",
    "flash_set",
    "proxy_fix",
    "malformed",
    "malformed_hit",
    "hooks_none",
    "hooks_bare",
    "hooks_3_3",
    "hooks_webob",
    "stack",
    "flash_unread",
    "flask",
    "flask_stack",
    "flask_init_app",
    "flask_keyed",
    "flask_unread",
    "flask_flash_set",
    "flask_flash_read",
    "flask_own_set",
    "flask_own_read",
)


def request_counts(name: str) -> tuple[int, int]:
    """The short and the long run of case ``name``."""
    return (FLASK_SHORT, FLASK_LONG) if name.startswith("flask") else (SHORT, LONG)


def loop(name: str, requests: int) -> None:
    """Serve ``requests`` requests of case ``name``, as the bench's loop does."""
    app, environ = _case(name)
    redirects = name.endswith("_set") or name == "flash_set"
    expect_status(
        app, environ, ("302" if name.startswith("flask") else "303") if redirects else "200"
    )

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: t.Any = None) -> None:
        return None

    for _ in range(requests):
        body = app(environ.copy(), start_response)
        for _chunk in body:
            pass
        close = getattr(body, "close", None)
        if close is not None:
            close()


def count(name: str, requests: int) -> int:
    """Instructions callgrind counts for a whole run of ``requests``."""
    result = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            __file__,
            "--loop",
            name,
            str(requests),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONHASHSEED": "0"},
        check=True,
        timeout=300,
    )
    match = re.search(r"Collected : (\d+)", result.stderr)
    if match is None:
        raise SystemExit(f"callgrind printed no count for {name}:\n{result.stderr[-2000:]}")
    return int(match.group(1))


def main(argv: list[str]) -> int:
    if argv[:1] == ["--loop"]:
        loop(argv[1], int(argv[2]))
        return 0
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind not found: install it (apt-get install valgrind)")
    jobs = 1
    if argv[:1] == ["--jobs"]:
        jobs, argv = int(argv[1]), argv[2:]
    names = argv or list(CASES)
    for name in names:
        _case(name)  # an unknown name fails before any valgrind run

    def per_request(name: str) -> int:
        short, long = request_counts(name)
        return (count(name, long) - count(name, short)) // (long - short)

    # Each count is its own valgrind process, so threads are enough to run
    # several at once; results print in the order asked for.
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        for name, instructions in zip(names, pool.map(per_request, names)):
            print(f"{name:17s} {instructions:>9,} instructions per request", flush=True)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    raise SystemExit(main(sys.argv[1:]))
