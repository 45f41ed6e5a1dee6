"""ProxyFix against an attacker
============================

Regression tests for what an outside review found (issue 12: findings 3, 4
and 7 for ``wsgi_flash.proxy``; issue 13: IPv4-mapped spellings and
waitress), and for the hunt after it: every place where ProxyFix trusts a
position in a header, converts a number, or keeps a structure that grows
with the input. Each test names the class of hole it closes; the ones that
need it run a real gunicorn (sync and gthread) or waitress and send raw
bytes that no ordinary client would.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import os
import pathlib
import random
import re
import signal
import subprocess
import sys
import time
import tracemalloc
import typing as t

import pytest

from tests.servers import Server, gunicorn, server_env
from wsgi_flash._logging import DEFAULT_RATE_LIMIT
from wsgi_flash._net import NetworkSet, parse_networks
from wsgi_flash.config import Config, ConfigError
from wsgi_flash.proxy_fix import ProxyFix
from wsgi_flash.proxy_fix._forwarded import MAX_LENGTH

if t.TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

LOGGER = "wsgi_flash.proxy"
PEER = "127.0.0.1"
CLIENT = "203.0.113.9"
FIELDS = ("REMOTE_ADDR", "wsgi.url_scheme", "HTTP_HOST", "SERVER_NAME", "SERVER_PORT")


def app(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
    start_response("204 No Content", [])
    return []


def environ_with(**headers: str) -> dict[str, t.Any]:
    """An environ as a server behind nginx on the same host builds it."""
    return {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": "/",
        "QUERY_STRING": "",
        "SERVER_NAME": "app.internal",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": PEER,
        "HTTP_HOST": "app.internal:8000",
        "wsgi.url_scheme": "http",
        **headers,
    }


def run(middleware: ProxyFix, environ: dict[str, t.Any]) -> dict[str, t.Any]:
    """Call ``middleware`` and return the environ its app saw."""
    seen: dict[str, t.Any] = {}

    def inner(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        seen.update(environ)
        start_response("204 No Content", [])
        return []

    middleware.app = inner
    assert list(middleware(environ, lambda status, headers, exc_info=None: None)) == []  # type: ignore[arg-type,return-value]
    return seen


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == LOGGER and record.levelno == logging.WARNING
    ]


# --- Finding 3: what lies left of the hops used is the client's -------------

# What a client can put in front of what the proxy appends.
LEFT_OF_FORWARDED = [
    pytest.param("for=1.1.1.1;for=2.2.2.2", id="repeated-parameter"),
    pytest.param("for=1.1.1.1;proto=http;PROTO=https", id="repeated-parameter-case"),
    pytest.param(", ".join(["for=1.1.1.1"] * 65), id="65-elements"),
    pytest.param(", ".join(["for=1.1.1.1"] * 10_000), id="10000-elements"),
    pytest.param('for="1.1.1.1', id="unbalanced-quote"),
    pytest.param('for=1.1.1.1"', id="stray-quote"),
    pytest.param('for="1.1.1.1\\"', id="escaped-closing-quote"),
    pytest.param("for=[::1]", id="ipv6-unquoted"),
    pytest.param("for = 1.1.1.1", id="space-around-equals"),
    pytest.param("for=1.1.1.1 garbage", id="trailing-garbage"),
    pytest.param("=1.1.1.1", id="value-without-name"),
    pytest.param("for=caf\xe9", id="obs-text-token"),
    pytest.param("\x00\x01\x7f", id="controls"),
    pytest.param("for=" + "1" * 9000, id="over-8-kib"),
    pytest.param("x" * 1_000_000, id="one-megabyte"),
    pytest.param(";" * 20_000, id="semicolons"),
]


@pytest.mark.parametrize("left", LEFT_OF_FORWARDED)
@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"forwarded": 1, "trusted_proxies": ["loopback"]}, id="one-trusted-hop"),
        pytest.param({"forwarded": 1}, id="one-hop"),
        pytest.param({"forwarded": 3, "trusted_proxies": ["loopback"]}, id="walk-three-hops"),
    ],
)
def test_forwarded_left_of_the_used_element_never_changes_the_result(
    left: str, options: dict[str, t.Any], caplog: pytest.LogCaptureFixture
) -> None:
    """Finding 3: ``Forwarded: for=1.1.1.1;for=2.2.2.2`` from the client, with
    nginx appending its element, made the whole header ignored, so the app
    saw the proxy's own 127.0.0.1 (passing loopback allow-lists) and http."""
    value = f"{left}, for={CLIENT};proto=https;host=www.example.com"
    seen = run(ProxyFix(app, **options), environ_with(HTTP_FORWARDED=value))
    assert (seen["REMOTE_ADDR"], seen["wsgi.url_scheme"], seen["HTTP_HOST"]) == (
        CLIENT,
        "https",
        "www.example.com",
    )
    assert seen["wsgi_flash.proxy_fix.chain"] == [
        {"for": CLIENT, "proto": "https", "host": "www.example.com"}
    ]
    assert warnings_of(caplog) == []


def test_forwarded_walk_reads_no_further_than_the_client(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Two trusted proxies appended; the walk stops at the client's element
    # even though the hop count would allow reading the broken one.
    value = 'for="1.1.1.1, for=198.51.100.7;proto=https, for=10.0.0.2, for=127.0.0.2'
    options = {"forwarded": 5, "trusted_proxies": ["loopback", "10.0.0.0/8"]}
    seen = run(ProxyFix(app, **options), environ_with(HTTP_FORWARDED=value))
    assert (seen["REMOTE_ADDR"], seen["wsgi.url_scheme"]) == ("198.51.100.7", "https")
    assert len(seen["wsgi_flash.proxy_fix.chain"]) == 3
    assert warnings_of(caplog) == []


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        pytest.param("for=1.1.1.1, for=2.2.2.2;for=3.3.3.3", "repeated", id="repeated"),
        pytest.param('for=1.1.1.1, for="2.2.2.2', "malformed", id="unbalanced-quote"),
        pytest.param("for=1.1.1.1, for=" + "2" * MAX_LENGTH, "not within", id="too-long"),
        pytest.param("for=1.1.1.1, for=2.2.2.2 x", "malformed", id="trailing-garbage"),
    ],
)
def test_a_malformed_element_that_is_needed_is_ignored_and_logged(
    value: str, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The element the proxy appended is broken (a broken proxy, or a hop
    count higher than the proxies): nothing is guessed, every field stays
    as it was, and one WARNING names the reason."""
    seen = run(ProxyFix(app, forwarded=1), environ_with(HTTP_FORWARDED=value))
    assert {key: seen[key] for key in FIELDS} == {key: environ_with()[key] for key in FIELDS}
    [message] = warnings_of(caplog)
    assert message.startswith("ignored Forwarded ") and reason in message
    assert len(message) < 400


def test_x_forwarded_left_of_the_used_entries_never_changes_the_result(
    caplog: pytest.LogCaptureFixture,
) -> None:
    left = ", ".join(['"', "not an address", "1.1.1.1:99999999999", "[::1", ""] * 20_000)
    environ = environ_with(
        HTTP_X_FORWARDED_FOR=f"{left}, {CLIENT}",
        HTTP_X_FORWARDED_PROTO=f"{left}, https",
        HTTP_X_FORWARDED_HOST=f"{left}, www.example.com",
        HTTP_X_FORWARDED_PORT=f"{left}, 8443",
        HTTP_X_FORWARDED_PREFIX=f"{left}, /app",
    )
    options = {"x_for": 1, "x_proto": 1, "x_host": 1, "x_port": 1, "x_prefix": 1}
    seen = run(ProxyFix(app, **options, trusted_proxies=["loopback"]), environ)
    assert (seen["REMOTE_ADDR"], seen["wsgi.url_scheme"], seen["SCRIPT_NAME"]) == (
        CLIENT,
        "https",
        "/app",
    )
    assert (seen["HTTP_HOST"], seen["SERVER_PORT"]) == ("www.example.com:8443", "8443")
    assert seen["wsgi_flash.proxy_fix.chain"] == [{"for": CLIENT}]
    assert warnings_of(caplog) == []


def test_x_forwarded_hop_needed_beyond_what_is_read_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # x_for=2 but the second entry from the right starts 100 KB to the left.
    value = "1" * 100_000 + f", {CLIENT}"
    seen = run(ProxyFix(app, x_for=2), environ_with(HTTP_X_FORWARDED_FOR=value))
    assert seen["REMOTE_ADDR"] == PEER
    assert seen["wsgi_flash.proxy_fix.chain"] == [{"for": CLIENT}]
    [message] = warnings_of(caplog)
    assert f"not within the last {MAX_LENGTH} characters" in message


def test_chain_is_bounded_by_the_hop_count() -> None:
    """The ``chain`` environ entry lists the hops read, not every entry the
    client sent: 102,400 entries were 102,400 dicts in every request."""
    value = ", ".join(["192.0.2.1"] * 102_400)
    for options in ({"x_for": 3}, {"x_for": 64, "trusted_proxies": ["0.0.0.0/0"]}):
        seen = run(ProxyFix(app, **options), environ_with(HTTP_X_FORWARDED_FOR=value))
        assert len(seen["wsgi_flash.proxy_fix.chain"]) == options["x_for"]
    value = ", ".join(["for=192.0.2.1"] * 102_400)
    seen = run(ProxyFix(app, forwarded=2), environ_with(HTTP_FORWARDED=value))
    assert len(seen["wsgi_flash.proxy_fix.chain"]) == 2


@pytest.mark.parametrize("option", ["x_for", "x_proto", "x_host", "x_port", "x_prefix"])
def test_hop_counts_are_bounded(option: str) -> None:
    # A count is how many proxies there are; more than 64 is a mistake, and
    # no header is read further than 64 hops.
    ProxyFix(app, **{option: 64})
    with pytest.raises(ValueError, match=f"{option}=65 exceeds the 64 hops"):
        ProxyFix(app, **{option: 65})
    with pytest.raises(ValueError, match="exceeds the 64 hops"):
        ProxyFix(app, **{option: 10**5000})


# --- Numbers from headers are bounded before any int() ----------------------

HUGE = "9" * 5000  # int() of it raises past Python's 4,300-digit limit


@pytest.mark.parametrize(
    ("options", "headers", "field"),
    [
        pytest.param({"x_port": 1}, {"HTTP_X_FORWARDED_PORT": HUGE}, "SERVER_PORT", id="port"),
        pytest.param(
            {"x_host": 1}, {"HTTP_X_FORWARDED_HOST": f"a.example:{HUGE}"}, "HTTP_HOST", id="host"
        ),
        pytest.param(
            {}, {"HTTP_X_FORWARDED_FOR": f"192.0.2.1:{HUGE}"}, "REMOTE_ADDR", id="ipv4-port"
        ),
        pytest.param(
            {}, {"HTTP_X_FORWARDED_FOR": f"[2001:db8::1]:{HUGE}"}, "REMOTE_ADDR", id="ipv6-port"
        ),
        pytest.param(
            {"forwarded": 1},
            {"HTTP_FORWARDED": f'for="192.0.2.1:{HUGE}"'},
            "REMOTE_ADDR",
            id="forwarded-node-port",
        ),
        pytest.param(
            {"forwarded": 1},
            {"HTTP_FORWARDED": f'host="a.example:{HUGE}"'},
            "SERVER_PORT",
            id="forwarded-host-port",
        ),
        pytest.param(
            {"x_for": 2, "trusted_proxies": ["loopback"]},
            {"HTTP_X_FORWARDED_FOR": f"{HUGE}, 127.0.0.2"},
            "REMOTE_ADDR",
            id="walked-entry",
        ),
    ],
)
def test_huge_numbers_are_ignored_values_not_errors(
    options: dict[str, t.Any], headers: dict[str, str], field: str, caplog: pytest.LogCaptureFixture
) -> None:
    seen = run(ProxyFix(app, **options), environ_with(**headers))
    assert seen[field] == environ_with()[field]
    [message] = warnings_of(caplog)
    assert message.startswith("ignored ") and "more)" in message  # escaped and cut


# --- Finding 4: memory per request within a small multiple of the header ----


def _peak_of_one_request(middleware: ProxyFix, environ: dict[str, t.Any]) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        list(middleware(environ, lambda status, headers, exc_info=None: None))  # type: ignore[arg-type]
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _gunicorn_sized_list(item: str, lines: int, line_bytes: int = 8000) -> str:
    """``lines`` header lines of about ``line_bytes`` each (within
    gunicorn's 8190-byte field limit), joined with "," as the server does."""
    line = ", ".join([item] * (line_bytes // (len(item) + 2)))
    return ",".join([line] * lines)


@pytest.mark.parametrize("lines", [1, 10, 100])
@pytest.mark.parametrize(
    ("options", "key", "item"),
    [
        pytest.param({"x_for": 1}, "HTTP_X_FORWARDED_FOR", "10.0.0.1", id="x-for"),
        pytest.param({"x_for": 64}, "HTTP_X_FORWARDED_FOR", "10.0.0.1", id="x-for-64"),
        pytest.param(
            {"x_for": 64, "trusted_proxies": ["loopback", "private"]},
            "HTTP_X_FORWARDED_FOR",
            "10.0.0.1",
            id="x-for-walk",
        ),
        pytest.param({"x_for": 0, "x_proto": 2}, "HTTP_X_FORWARDED_PROTO", "https", id="proto"),
        pytest.param({"x_host": 2}, "HTTP_X_FORWARDED_HOST", "example.com", id="host"),
        pytest.param({"x_port": 2}, "HTTP_X_FORWARDED_PORT", "443", id="port"),
        pytest.param({"x_prefix": 2}, "HTTP_X_FORWARDED_PREFIX", "/a", id="prefix"),
        pytest.param({"forwarded": 64}, "HTTP_FORWARDED", "for=10.0.0.1", id="forwarded"),
        pytest.param(
            {"forwarded": 64, "trusted_proxies": ["loopback", "private"]},
            "HTTP_FORWARDED",
            'for="10.0.0.1:80";proto=https',
            id="forwarded-walk",
        ),
    ],
)
def test_peak_memory_per_request_is_a_small_multiple_of_the_header(
    options: dict[str, t.Any], key: str, item: str, lines: int
) -> None:
    """Finding 4: an 800 KiB X-Forwarded-For (100 lines of 8 KB) built
    102,400 dicts and peaked at 43 MiB (34 MiB under tracemalloc) per
    request. Now at most the last 8 KiB of a header are read, and only the
    hops asked for are kept: the peak is at most three times the part read
    plus about half a KiB per hop (so about twice an 8 KB header for one
    or two hops, five times with 64), and a small fraction of a large one."""
    value = _gunicorn_sized_list(item, lines)
    middleware = ProxyFix(app, **options)
    hops = max(options.values(), key=lambda count: count if isinstance(count, int) else 0)
    logging.getLogger(LOGGER).disabled = True
    try:
        peak = _peak_of_one_request(middleware, environ_with(**{key: value}))
    finally:
        logging.getLogger(LOGGER).disabled = False
    assert peak <= 3 * min(len(value), MAX_LENGTH) + 600 * hops, (peak, len(value))
    if lines == 100:  # 800 KiB: was 44 times the header, now under a tenth
        assert peak <= len(value) / 10


# --- Finding 7: rate-limited WARNINGs, with counters -------------------------


@pytest.mark.parametrize(
    ("options", "headers", "kind"),
    [
        pytest.param(
            {"trusted_proxies": ["10.0.0.0/8"]},
            {"HTTP_X_FORWARDED_FOR": "1.2.3.4"},
            "untrusted_peer",
            id="untrusted-peer",
        ),
        pytest.param(
            {"x_host": 1},
            {"HTTP_X_FORWARDED_HOST": "evil.com/x"},
            "bad_x_forwarded_host",
            id="host",
        ),
        pytest.param({}, {"HTTP_X_FORWARDED_FOR": "not-an-ip"}, "bad_x_forwarded_for", id="for"),
        pytest.param(
            {"forwarded": 1},
            {"HTTP_FORWARDED": "for=1.1.1.1;for=2.2.2.2"},
            "bad_forwarded",
            id="forwarded",
        ),
        pytest.param(
            {"forwarded": 1},
            {"HTTP_FORWARDED": "for=evil.com"},
            "bad_forwarded",
            id="forwarded-for",
        ),
    ],
)
def test_a_flood_of_forged_requests_costs_a_bounded_number_of_records(
    options: dict[str, t.Any],
    headers: dict[str, str],
    kind: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Finding 7: one hostile thread wrote ~3,700 WARNINGs in 30 s on
    ``wsgi_flash.proxy``. Each kind now has a token bucket (20 at once,
    refilled over 60 s); the next record that passes says how many were
    suppressed, and ``stats`` counts them all."""
    middleware = ProxyFix(app, **options)
    now = [1000.0]
    middleware._log.clock = lambda: now[0]  # a clock the test moves
    for _ in range(1000):
        run(middleware, environ_with(**headers))
    burst, period = DEFAULT_RATE_LIMIT
    assert len(warnings_of(caplog)) == burst
    assert middleware.stats == {kind: {"logged": burst, "suppressed": 1000 - burst}}
    now[0] += period
    run(middleware, environ_with(**headers))
    records = warnings_of(caplog)
    assert len(records) == burst + 1
    assert records[-1].endswith(f"({1000 - burst:,} similar suppressed)")
    assert middleware.stats == {kind: {"logged": burst + 1, "suppressed": 1000 - burst}}


def test_kinds_have_their_own_limits(caplog: pytest.LogCaptureFixture) -> None:
    # A flood of one kind does not hide the first records of another.
    middleware = ProxyFix(app, x_host=1, trusted_proxies=["loopback"])
    middleware._log.clock = lambda: 0.0
    for _ in range(100):
        run(middleware, environ_with(HTTP_X_FORWARDED_HOST="evil.com/"))
    run(middleware, environ_with(REMOTE_ADDR="192.0.2.50", HTTP_X_FORWARDED_FOR="1.2.3.4"))
    assert "untrusted peer 192.0.2.50" in warnings_of(caplog)[-1]
    assert middleware.stats["untrusted_peer"] == {"logged": 1, "suppressed": 0}


def test_text_configuration_cannot_switch_the_rate_limit_off() -> None:
    # WSGI_FLASH_PROXY_RATE_LIMIT=none would let a flood write every record.
    with pytest.raises(ConfigError, match=r"WSGI_FLASH_PROXY_RATE_LIMIT.*flood"):
        Config.load(environ={"WSGI_FLASH_PROXY_RATE_LIMIT": "none"})
    config = Config.load(environ={"WSGI_FLASH_PROXY_RATE_LIMIT": "5,10"})
    assert config.options("proxy") == {"rate_limit": (5, 10.0)}


def test_rate_limit_none_logs_every_record(caplog: pytest.LogCaptureFixture) -> None:
    middleware = ProxyFix(app, rate_limit=None)
    for _ in range(50):
        run(middleware, environ_with(HTTP_X_FORWARDED_FOR="junk"))
    assert len(warnings_of(caplog)) == 50
    with pytest.raises(ValueError, match="rate_limit must be"):
        ProxyFix(app, rate_limit=(0, 60.0))


# --- Growing structures: every memo stays bounded ----------------------------


def _random_value(rng: random.Random) -> str:
    shapes = (
        lambda: f"{rng.getrandbits(32) >> 24}.{rng.getrandbits(8)}.{rng.getrandbits(8)}.1",
        lambda: f"[2001:db8::{rng.getrandbits(16):x}]:{rng.randrange(1, 65536)}",
        lambda: "".join(rng.choice("abc.-:[]%") for _ in range(rng.randrange(1, 300))),
        lambda: f"h{rng.getrandbits(40)}.example",
    )
    return rng.choice(shapes)()


def test_random_values_never_grow_memory_without_bound() -> None:
    """What ProxyFix remembers (per instance, per module, and the answers of
    its trusted networks) stays bounded however many different values
    clients send: 8,000 requests of random values, some 8 MB if every
    value and answer were kept, leave less than 4 MB behind; and the
    flooded middlewares still answer as fresh ones do."""
    options: list[dict[str, t.Any]] = [
        {"x_for": 2, "x_host": 1, "x_proto": 1, "trusted_proxies": ["0.0.0.0/0", "::/0"]},
        {"forwarded": 2, "trusted_proxies": ["0.0.0.0/0", "::/0"]},
    ]
    middlewares = [ProxyFix(app, **option) for option in options]
    rng = random.Random(12)

    def request() -> dict[str, t.Any]:
        value = _random_value(rng)
        return environ_with(
            HTTP_X_FORWARDED_FOR=f"{_random_value(rng)}, {value}",
            HTTP_X_FORWARDED_HOST=_random_value(rng),
            HTTP_FORWARDED=f'for="{value}";host="{_random_value(rng)}", for={value}',
        )

    logging.getLogger(LOGGER).disabled = True
    tracemalloc.start()
    try:
        for _ in range(8_000):
            environ = request()
            for middleware in middlewares:
                run(middleware, dict(environ))
        retained = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
        logging.getLogger(LOGGER).disabled = False
    assert retained < 4 * 2**20
    logging.getLogger(LOGGER).disabled = True
    try:
        for _ in range(200):
            environ = request()
            for option, middleware in zip(options, middlewares):
                seen = run(middleware, dict(environ))
                fresh = run(ProxyFix(app, **option), dict(environ))
                assert {key: seen.get(key) for key in FIELDS} == {
                    key: fresh.get(key) for key in FIELDS
                }
    finally:
        logging.getLogger(LOGGER).disabled = False


def test_network_cache_never_keeps_long_text() -> None:
    """Asking a NetworkSet about long text keeps none of it."""
    networks = NetworkSet(parse_networks(["loopback"], "trusted_proxies"), cache_size=4)
    tracemalloc.start()
    try:
        for n in range(10):
            assert str(n) * 100_000 not in networks
        retained = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert retained < 10_000
    assert "127.0.0.1" in networks and len(networks) == 2


# --- Issue 13: one spelling of an IPv4-mapped client on every Python --------


@pytest.mark.parametrize(
    ("options", "key", "value"),
    [
        pytest.param({}, "HTTP_X_FORWARDED_FOR", "::ffff:c000:209", id="x-for-hex"),
        pytest.param({}, "HTTP_X_FORWARDED_FOR", "::FFFF:192.0.2.9", id="x-for-upper"),
        pytest.param({}, "HTTP_X_FORWARDED_FOR", "[::ffff:c000:209]:80", id="x-for-port"),
        pytest.param({"forwarded": 1}, "HTTP_FORWARDED", 'for="[::ffff:c000:209]"', id="fwd"),
        pytest.param(
            {"forwarded": 1}, "HTTP_FORWARDED", 'for="[0:0:0:0:0:FFFF:C000:209]:1"', id="fwd-long"
        ),
    ],
)
def test_ipv4_mapped_client_is_spelled_as_rfc_5952_on_every_python(
    options: dict[str, t.Any], key: str, value: str
) -> None:
    """Python 3.13's ipaddress writes ``::ffff:192.0.2.9`` where 3.9-3.12
    write ``::ffff:c000:209``; the app sees the first, whatever the proxy
    wrote and whatever the interpreter."""
    seen = run(ProxyFix(app, **options), environ_with(**{key: value}))
    assert seen["REMOTE_ADDR"] == "::ffff:192.0.2.9"


# --- Real servers, raw bytes -------------------------------------------------

PROBE_APP = """\
import json
import logging
import os

from wsgi_flash.proxy_fix import ProxyFix

logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")


def inner(environ, start_response):
    body = json.dumps(
        {
            "remote_addr": environ.get("REMOTE_ADDR"),
            "scheme": environ.get("wsgi.url_scheme"),
            "host": environ.get("HTTP_HOST"),
            "chain": len(environ["wsgi_flash.proxy_fix.chain"]),
            "server": environ.get("SERVER_SOFTWARE"),
        }
    ).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]


app = ProxyFix(inner, **json.loads(os.environ["PROBE_PROXY_OPTIONS"]))
"""


def _probe_env(directory: pathlib.Path, options: dict[str, t.Any]) -> dict[str, str]:
    (directory / "proxy_probe.py").write_text(PROBE_APP, encoding="utf-8")
    path = os.pathsep.join([str(directory), server_env()["PYTHONPATH"]])
    return {"PYTHONPATH": path, "PROBE_PROXY_OPTIONS": json.dumps(options)}


def _raw_json(server: Server, head: bytes) -> dict[str, t.Any]:
    """Send one raw request (``head`` without the final blank line) and
    read the app's JSON answer."""
    answer = server.raw(head + b"Connection: close\r\n\r\n", timeout=20)
    status, _, body = answer.partition(b"\r\n\r\n")
    assert status.startswith(b"HTTP/1.1 200 "), answer[:300]
    return t.cast("dict[str, t.Any]", json.loads(body))


def _proxy_warnings(log: str) -> list[str]:
    return [line for line in log.splitlines() if line.startswith(f"WARNING {LOGGER} ")]


GUNICORN_WORKERS = [pytest.param("sync", id="sync"), pytest.param("gthread", id="gthread")]


@pytest.mark.slow
@pytest.mark.parametrize("worker_class", GUNICORN_WORKERS)
def test_gunicorn_raw_requests_cannot_make_the_client_the_proxy(
    worker_class: str, tmp_path: pathlib.Path
) -> None:
    options = {"forwarded": 1, "trusted_proxies": ["loopback"]}
    with gunicorn(
        "proxy_probe:app",
        tmp_path / "gunicorn.log",
        workers=1,
        worker_class=worker_class,
        config=None,
        env=_probe_env(tmp_path, options),
    ) as server:
        # The client's own Forwarded line, then the one nginx adds: the
        # server joins them with ",".
        for client_line in (
            b"for=1.1.1.1;for=2.2.2.2",
            b'for="1.1.1.1',
            b"for=\xff\xfe;;;==",
            b", ".join([b"for=1.1.1.1"] * 600),
        ):
            seen = _raw_json(
                server,
                b"GET / HTTP/1.1\r\nHost: app.test\r\n"
                b"Forwarded: " + client_line + b"\r\n"
                b"Forwarded: for=203.0.113.9;proto=https\r\n",
            )
            assert (seen["remote_addr"], seen["scheme"], seen["chain"]) == (CLIENT, "https", 1)
        # 96 header lines of 8 KB, inside gunicorn's limits (100 fields of
        # 8190 bytes): 750 KiB.
        lines = b"".join(
            b"X-Forwarded-For: " + ", ".join(["10.0.0.1"] * 799).encode() + b"\r\n"
            for _ in range(96)
        )
        seen = _raw_json(
            server,
            b"GET / HTTP/1.1\r\nHost: app.test\r\n" + lines + b"Forwarded: for=192.0.2.77\r\n",
        )
        assert (seen["remote_addr"], seen["chain"]) == ("192.0.2.77", 1)
        log = server.log()
    assert "Traceback" not in log
    assert _proxy_warnings(log) == []


@pytest.mark.slow
@pytest.mark.parametrize("worker_class", GUNICORN_WORKERS)
def test_gunicorn_800_kib_x_forwarded_for_and_a_log_flood(
    worker_class: str, tmp_path: pathlib.Path
) -> None:
    options = {"x_for": 1, "x_proto": 1, "trusted_proxies": ["10.0.0.0/8"]}
    env = _probe_env(tmp_path, {"x_for": 2, "trusted_proxies": ["loopback"]})
    with gunicorn(
        "proxy_probe:app",
        tmp_path / "gunicorn.log",
        workers=1,
        worker_class=worker_class,
        config=None,
        env=env,
    ) as server:
        lines = b"".join(
            b"X-Forwarded-For: " + ", ".join(["6.6.6.6"] * 888).encode() + b"\r\n"
            for _ in range(96)
        )
        for _ in range(4):
            seen = _raw_json(
                server,
                b"GET / HTTP/1.1\r\nHost: app.test\r\n"
                + lines
                + b"X-Forwarded-For: 198.51.100.4, 127.0.0.5\r\n",
            )
            assert (seen["remote_addr"], seen["chain"]) == ("198.51.100.4", 2)
    assert "Traceback" not in server.log()
    # From a peer it does not trust, a flood of forged requests: 20 records
    # (and one more for each 3 s the flood lasts), then silence.
    env = _probe_env(tmp_path, options)
    with gunicorn(
        "proxy_probe:app",
        tmp_path / "flood.log",
        workers=1,
        worker_class=worker_class,
        config=None,
        env=env,
    ) as server:
        started = time.monotonic()
        for _ in range(300):
            seen = _raw_json(server, b"GET / HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: 1.2.3.4\r\n")
            assert seen["remote_addr"] == PEER
        elapsed = time.monotonic() - started
        log = server.log()
    burst, period = DEFAULT_RATE_LIMIT
    warnings = _proxy_warnings(log)
    assert burst <= len(warnings) <= burst + 1 + elapsed * burst / period
    assert all("untrusted peer 127.0.0.1" in line for line in warnings)
    assert "Traceback" not in log


# --- Issue 13: waitress keeps the headers away --------------------------------

WAITRESS_LAUNCHER = """\
import json, socket, sys
import waitress
from proxy_probe import app
sock = socket.socket()
sock.bind(("127.0.0.1", 0))
sock.listen(64)
print("PORT", sock.getsockname()[1], flush=True)
waitress.serve(app, sockets=[sock], threads=2, **json.loads(sys.argv[1]))
"""


@contextlib.contextmanager
def _waitress(
    directory: pathlib.Path, options: dict[str, t.Any], settings: dict[str, t.Any]
) -> t.Iterator[Server]:
    """waitress on a port it binds itself (port 0) and reports, with
    ``settings`` as its adjustments; stopped when the block ends."""
    log_path = directory / "waitress.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-c", WAITRESS_LAUNCHER, json.dumps(settings)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=server_env(_probe_env(directory, options)),
            cwd=directory,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 20
        port = None
        while port is None:
            found = re.search(r"^PORT (\d+)$", log_path.read_text(errors="replace"), re.M)
            if found is not None:
                port = int(found.group(1))
            elif process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"waitress did not start:\n{log_path.read_text()}")
            else:
                time.sleep(0.05)
        yield Server(process, port, log_path)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


PROXIED = {"X-Forwarded-For": CLIENT, "X-Forwarded-Proto": "https"}
WAITRESS_OPTIONS = {"x_for": 1, "x_proto": 1, "trusted_proxies": ["loopback"]}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("settings", "seen", "warning"),
    [
        pytest.param(
            {},
            (PEER, "http"),
            "waitress removes X-Forwarded-For/-Proto/-Host/-Port and Forwarded",
            id="default-clears-the-headers",
        ),
        pytest.param(
            {"clear_untrusted_proxy_headers": False},
            (CLIENT, "https"),
            None,
            id="no-clear-untrusted-proxy-headers",
        ),
        pytest.param(
            {"trusted_proxy": "127.0.0.1", "trusted_proxy_headers": "x-forwarded-for"},
            (CLIENT, "http"),
            "waitress applies the proxy headers itself (trusted_proxy=127.0.0.1)",
            id="trusted-proxy",
        ),
    ],
)
def test_waitress_settings_are_detected_once(
    settings: dict[str, t.Any],
    seen: tuple[str, str],
    warning: str | None,
    tmp_path: pathlib.Path,
) -> None:
    """waitress strips X-Forwarded-* and Forwarded by default, so ProxyFix
    silently did nothing; with ``trusted_proxy`` waitress rewrites the
    address itself. ProxyFix says so once, on the first request."""
    with _waitress(tmp_path, WAITRESS_OPTIONS, settings) as server:
        for _ in range(5):
            status, _, body = server.request("GET", "/", PROXIED)
            assert status == 200
            answer = json.loads(body)
            assert (answer["remote_addr"], answer["scheme"]) == seen
            assert answer["server"] == "waitress"
        log = server.log()
    warnings = [line for line in _proxy_warnings(log) if "waitress" in line]
    if warning is None:
        assert warnings == []
    else:
        [line] = warnings
        assert warning in line
        assert "--no-clear-untrusted-proxy-headers" in line
    assert "Traceback" not in log


@pytest.mark.parametrize(
    ("environ", "warned"),
    [
        pytest.param({"SERVER_SOFTWARE": "waitress"}, True, id="waitress-no-headers"),
        pytest.param(
            {"SERVER_SOFTWARE": "waitress", "HTTP_X_FORWARDED_FOR": CLIENT},
            False,
            id="waitress-headers-arrive",
        ),
        pytest.param(
            {"SERVER_SOFTWARE": "waitress", "REMOTE_ADDR": "192.0.2.50"},
            False,
            id="waitress-direct-untrusted-request",
        ),
        pytest.param({"SERVER_SOFTWARE": "gunicorn/23.0.0"}, False, id="gunicorn"),
        pytest.param({}, False, id="no-server-software"),
    ],
)
def test_waitress_without_readable_settings_is_judged_by_what_arrives(
    environ: dict[str, str], warned: bool, caplog: pytest.LogCaptureFixture
) -> None:
    # A waitress release that keeps its settings elsewhere: the first request
    # from the trusted proxy without any proxy header is the sign.
    middleware = ProxyFix(app, **WAITRESS_OPTIONS)
    for _ in range(3):
        run(middleware, environ_with(**environ))
    messages = [message for message in warnings_of(caplog) if "waitress" in message]
    assert len(messages) == (1 if warned else 0)
    if warned:
        assert "waitress probably removed the proxy headers" in messages[0]


def test_server_check_survives_a_server_that_breaks_pep_3333(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The first request is the one the server check looks at: an unhashable
    # REMOTE_ADDR there must not be a 500 either.
    environ = environ_with(SERVER_SOFTWARE="waitress", REMOTE_ADDR=["10.0.0.1"])
    seen = run(ProxyFix(app, **WAITRESS_OPTIONS), environ)
    assert seen["REMOTE_ADDR"] == ["10.0.0.1"]
    assert not [message for message in warnings_of(caplog) if "waitress" in message]


def test_server_check_costs_one_attribute_after_the_first_request() -> None:
    middleware = ProxyFix(app)
    assert middleware._server_unchecked
    run(middleware, environ_with(SERVER_SOFTWARE="gunicorn/23.0.0"))
    assert not middleware._server_unchecked
    # Nothing to check when no header that waitress removes is read.
    assert not ProxyFix(app, x_for=0, x_proto=0, x_prefix=1)._server_unchecked
