from __future__ import annotations

import ipaddress
import logging
import re
import socket
import threading
import typing as t
import wsgiref.simple_server
from wsgiref.validate import validator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.http import parse_list_header
from werkzeug.middleware.proxy_fix import ProxyFix as WerkzeugProxyFix
from werkzeug.serving import make_server as werkzeug_make_server
from werkzeug.test import create_environ
from werkzeug.wrappers import Request

from wsgi_flash._net import is_ip, is_valid_host, is_valid_port
from wsgi_flash.proxy_fix import ProxyFix

if t.TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

# RFC 3986 path-absolute, written out independently of the middleware's own.
_PREFIX_PATH = re.compile(
    r"/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@%]+(?:/[A-Za-z0-9\-._~!$&'()*+,;=:@%]*)*)?\Z"
)
FIELDS = (
    "REMOTE_ADDR",
    "wsgi.url_scheme",
    "HTTP_HOST",
    "SERVER_NAME",
    "SERVER_PORT",
    "SCRIPT_NAME",
)
LOGGER = "wsgi_flash.proxy"


def make_environ(**overrides: t.Any) -> WSGIEnvironment:
    """An environ as a server behind one proxy at 10.0.0.1 would build it."""
    environ = create_environ(
        environ_overrides={"REMOTE_ADDR": "10.0.0.1", "HTTP_HOST": "app.internal:8000"}
    )
    environ["SERVER_NAME"] = "app.internal"
    environ["SERVER_PORT"] = "8000"
    environ.update(overrides)
    return environ


def run(
    middleware: t.Callable[[WSGIApplication], WSGIApplication], environ: WSGIEnvironment
) -> WSGIEnvironment:
    """Call ``middleware(app)`` and return the environ the app saw (a copy)."""
    seen: WSGIEnvironment = {}

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        seen.update(environ)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    body = middleware(app)(environ, lambda status, headers, exc_info=None: lambda data: None)
    assert list(body) == [b"ok"]
    return seen


def fix(**options: t.Any) -> t.Callable[[WSGIApplication], WSGIApplication]:
    return lambda app: ProxyFix(app, **options)


def fields(environ: WSGIEnvironment) -> dict[str, t.Any]:
    return {key: environ.get(key) for key in FIELDS}


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == LOGGER and record.levelno == logging.WARNING
    ]


# Werkzeug's own parametrized cases (tests/middleware/test_proxy_fix.py in its
# sdist), rewritten: same arguments and environ, same expected url_root; the
# client address is always 192.168.0.1.
@pytest.mark.parametrize(
    ("kwargs", "base", "url_root"),
    [
        pytest.param(
            {},
            {
                "REMOTE_ADDR": "192.168.0.2",
                "HTTP_HOST": "spam",
                "HTTP_X_FORWARDED_FOR": "192.168.0.1",
                "HTTP_X_FORWARDED_PROTO": "https",
            },
            "https://spam/",
            id="for",
        ),
        pytest.param(
            {"x_proto": 1},
            {"HTTP_HOST": "spam", "HTTP_X_FORWARDED_PROTO": "https"},
            "https://spam/",
            id="proto",
        ),
        pytest.param(
            {"x_host": 1},
            {"HTTP_HOST": "spam", "HTTP_X_FORWARDED_HOST": "eggs"},
            "http://eggs/",
            id="host",
        ),
        pytest.param(
            {"x_port": 1},
            {"HTTP_HOST": "spam", "HTTP_X_FORWARDED_PORT": "8080"},
            "http://spam:8080/",
            id="port-host-without-port",
        ),
        pytest.param(
            {"x_port": 1},
            {"HTTP_HOST": "spam:9000", "HTTP_X_FORWARDED_PORT": "8080"},
            "http://spam:8080/",
            id="port-host-with-port",
        ),
        pytest.param(
            {"x_port": 1},
            {"SERVER_NAME": "spam", "SERVER_PORT": "9000", "HTTP_X_FORWARDED_PORT": "8080"},
            "http://spam:8080/",
            id="port-server-name",
        ),
        pytest.param(
            {"x_prefix": 1},
            {"HTTP_HOST": "spam", "HTTP_X_FORWARDED_PREFIX": "/eggs"},
            "http://spam/eggs/",
            id="prefix",
        ),
        pytest.param(
            {"x_for": 1, "x_proto": 1, "x_host": 1, "x_port": 1, "x_prefix": 1},
            {
                "REMOTE_ADDR": "192.168.0.2",
                "HTTP_HOST": "spam:9000",
                "HTTP_X_FORWARDED_FOR": "192.168.0.1",
                "HTTP_X_FORWARDED_PROTO": "https",
                "HTTP_X_FORWARDED_HOST": "eggs",
                "HTTP_X_FORWARDED_PORT": "443",
                "HTTP_X_FORWARDED_PREFIX": "/ham",
            },
            "https://eggs/ham/",
            id="all",
        ),
        pytest.param(
            {"x_for": 2},
            {
                "REMOTE_ADDR": "192.168.0.3",
                "HTTP_HOST": "spam",
                "HTTP_X_FORWARDED_FOR": "192.168.0.1, 192.168.0.2",
            },
            "http://spam/",
            id="multiple-for",
        ),
        pytest.param(
            {"x_for": 0},
            {
                "REMOTE_ADDR": "192.168.0.1",
                "HTTP_HOST": "spam",
                "HTTP_X_FORWARDED_FOR": "192.168.0.2",
            },
            "http://spam/",
            id="ignore-0",
        ),
        pytest.param(
            {"x_for": 3},
            {
                "REMOTE_ADDR": "192.168.0.1",
                "HTTP_HOST": "spam",
                "HTTP_X_FORWARDED_FOR": "192.168.0.3, 192.168.0.2",
            },
            "http://spam/",
            id="ignore-fewer-than-trusted",
        ),
        pytest.param(
            {},
            {
                "REMOTE_ADDR": "192.168.0.2",
                "HTTP_HOST": "spam",
                "HTTP_X_FORWARDED_FOR": "192.168.0.3, 192.168.0.1",
            },
            "http://spam/",
            id="ignore-untrusted",
        ),
        pytest.param(
            {"x_for": 2},
            {
                "REMOTE_ADDR": "192.168.0.1",
                "HTTP_HOST": "spam",
                "HTTP_X_FORWARDED_FOR": ", 192.168.0.3",
            },
            "http://spam/",
            id="ignore-empty",
        ),
        pytest.param(
            {"x_for": 2, "x_prefix": 1},
            {
                "REMOTE_ADDR": "192.168.0.2",
                "HTTP_HOST": "spam",
                "HTTP_X_FORWARDED_FOR": "192.168.0.1, 192.168.0.3",
                "HTTP_X_FORWARDED_PREFIX": "/ham, /eggs",
            },
            "http://spam/eggs/",
            id="prefix-fewer-than-for",
        ),
        pytest.param(
            {"x_host": 1},
            {"HTTP_HOST": "spam", "HTTP_X_FORWARDED_HOST": "[2001:db8::a]"},
            "http://[2001:db8::a]/",
            id="ipv6-host",
        ),
        pytest.param(
            {"x_port": 1},
            {"HTTP_HOST": "[2001:db8::a]", "HTTP_X_FORWARDED_PORT": "8080"},
            "http://[2001:db8::a]:8080/",
            id="ipv6-port-host-without-port",
        ),
        pytest.param(
            {"x_port": 1},
            {"HTTP_HOST": "[2001:db8::a]:9000", "HTTP_X_FORWARDED_PORT": "8080"},
            "http://[2001:db8::a]:8080/",
            id="ipv6-port-host-with-port",
        ),
    ],
)
def test_werkzeug_cases(kwargs: dict[str, int], base: dict[str, str], url_root: str) -> None:
    base = {"REMOTE_ADDR": "192.168.0.1", **base}
    environ = create_environ(environ_overrides=base)
    if "HTTP_HOST" not in base:
        del environ["HTTP_HOST"]
    request = Request(run(fix(**kwargs), environ))
    assert request.remote_addr == "192.168.0.1"
    assert request.url_root == url_root


# --- Identical to Werkzeug for well-formed values --------------------------

_OCTETS = st.integers(0, 255).map(str)
_IPV4 = st.tuples(_OCTETS, _OCTETS, _OCTETS, _OCTETS).map(".".join)


def _rfc_5952(ip: ipaddress.IPv6Address) -> str:
    """How a proxy writes an address (inet_ntop): IPv4-mapped ones dotted,
    as Python 3.13 does and older Pythons do not."""
    return str(ip) if ip.ipv4_mapped is None else f"::ffff:{ip.ipv4_mapped}"


_IPV6 = st.ip_addresses(v=6).map(_rfc_5952)
_PORT = st.integers(1, 65535).map(str)
_LABEL = st.text("abcdefghijklmnopqrstuvwxyz0123456789-_~!$&'()*+;=", min_size=1, max_size=10)
_NAME = st.lists(_LABEL, min_size=1, max_size=3).map(".".join)
_HOST = st.one_of(_NAME, _IPV4, _IPV6.map(lambda a: f"[{a}]"))
_HOST_PORT = st.tuples(_HOST, st.none() | _PORT).map(
    lambda hp: hp[0] if hp[1] is None else f"{hp[0]}:{hp[1]}"
)
_SEGMENT = st.text("abcxyz019-._~!$&'()*+;=:@", min_size=1, max_size=6)
_PREFIX = st.lists(_SEGMENT, min_size=1, max_size=3).map(lambda parts: "/" + "/".join(parts))
_SCHEME = st.sampled_from(["http", "https"])


# Werkzeug 3.1 dropped empty list items ("2, " reads as ["2"]); 3.0 kept them
# (["2", ""]), so its ProxyFix ignored such a header. Ours reads lists as 3.1
# does, so the comparison sends empty items only to a Werkzeug that agrees.
_WERKZEUG_DROPS_EMPTY_ITEMS = parse_list_header("2, ") == ["2"]


def _header(values: st.SearchStrategy[str]) -> st.SearchStrategy[str | None]:
    """A list header as a proxy chain writes it: items joined by commas with
    optional spaces or tabs, sometimes an empty item, sometimes absent."""
    item = st.one_of(values, values, values, st.just("")) if _WERKZEUG_DROPS_EMPTY_ITEMS else values
    joined = st.tuples(
        st.lists(item, min_size=1, max_size=4), st.sampled_from([",", ", ", " , ", ",\t"])
    )
    return st.none() | joined.map(lambda parts: parts[1].join(parts[0]))


@settings(max_examples=200)
@given(
    counts=st.fixed_dictionaries(
        {name: st.integers(0, 3) for name in ("x_for", "x_proto", "x_host", "x_port", "x_prefix")}
    ),
    headers=st.fixed_dictionaries(
        {
            "HTTP_X_FORWARDED_FOR": _header(st.one_of(_IPV4, _IPV6)),
            "HTTP_X_FORWARDED_PROTO": _header(_SCHEME),
            "HTTP_X_FORWARDED_HOST": _header(_HOST_PORT),
            "HTTP_X_FORWARDED_PORT": _header(_PORT),
            "HTTP_X_FORWARDED_PREFIX": _header(_PREFIX),
        }
    ),
    server=st.fixed_dictionaries(
        {
            "REMOTE_ADDR": st.one_of(_IPV4, _IPV6),
            "HTTP_HOST": st.none() | _HOST_PORT,
            "SERVER_NAME": _NAME,
            "SERVER_PORT": _PORT,
            "wsgi.url_scheme": _SCHEME,
        }
    ),
)
def test_same_environ_as_werkzeug(
    counts: dict[str, int], headers: dict[str, str | None], server: dict[str, str | None]
) -> None:
    environ = create_environ()
    for key, value in {**server, **headers}.items():
        if value is None:
            environ.pop(key, None)
        else:
            environ[key] = value
    ours = run(fix(**counts), dict(environ))
    theirs = run(lambda app: WerkzeugProxyFix(app, **counts), dict(environ))
    assert fields(ours) == fields(theirs)
    assert (
        ours["werkzeug.proxy_fix.orig"]["REMOTE_ADDR"]
        == theirs["werkzeug.proxy_fix.orig"]["REMOTE_ADDR"]
    )


@pytest.mark.parametrize(
    ("kwargs", "headers", "field", "expected", "werkzeug_gives"),
    [
        pytest.param(
            {"x_proto": 1},
            {"HTTP_X_FORWARDED_PROTO": "HTTPS"},
            "wsgi.url_scheme",
            "https",
            "HTTPS",
            id="scheme-lower-cased",
        ),
        pytest.param(
            {"x_for": 1},
            {"HTTP_X_FORWARDED_FOR": "192.0.2.7:51234"},
            "REMOTE_ADDR",
            "192.0.2.7",
            "192.0.2.7:51234",
            id="ipv4-port-loses-port",
        ),
        pytest.param(
            {"x_for": 1},
            {"HTTP_X_FORWARDED_FOR": "[2001:db8::7]:443"},
            "REMOTE_ADDR",
            "2001:db8::7",
            "[2001:db8::7]:443",
            id="ipv6-port-loses-port-and-brackets",
        ),
        pytest.param(
            {"x_prefix": 1},
            {"HTTP_X_FORWARDED_PREFIX": "/ham/"},
            "SCRIPT_NAME",
            "/ham",
            "/ham/",
            id="prefix-trailing-slash-dropped",
        ),
        pytest.param(
            {"x_prefix": 1},
            {"HTTP_X_FORWARDED_PREFIX": "/"},
            "SCRIPT_NAME",
            "",
            "/",
            id="prefix-root-is-empty",
        ),
        pytest.param(
            {"x_for": 1},
            {"HTTP_X_FORWARDED_FOR": '"192.0.2.7"'},
            "REMOTE_ADDR",
            "10.0.0.1",
            "192.0.2.7",
            id="quoted-entry-refused",
        ),
        pytest.param(
            {"x_for": 1},
            {"HTTP_X_FORWARDED_FOR": "::FFFF:C000:207"},
            "REMOTE_ADDR",
            "::ffff:192.0.2.7",
            "::FFFF:C000:207",
            id="ipv4-mapped-one-spelling",
        ),
    ],
)
def test_documented_differences_from_werkzeug(
    kwargs: dict[str, int], headers: dict[str, str], field: str, expected: str, werkzeug_gives: str
) -> None:
    assert run(fix(**kwargs), make_environ(**headers))[field] == expected
    theirs = run(lambda app: WerkzeugProxyFix(app, **kwargs), make_environ(**headers))
    assert theirs[field] == werkzeug_gives


# --- Validation -------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "header", "value", "field"),
    [
        pytest.param({"x_for": 1}, "X-Forwarded-For", "not-an-ip", "REMOTE_ADDR", id="for-word"),
        pytest.param({"x_for": 1}, "X-Forwarded-For", "192.0.2.256", "REMOTE_ADDR", id="for-octet"),
        pytest.param({"x_for": 1}, "X-Forwarded-For", "unknown", "REMOTE_ADDR", id="for-unknown"),
        pytest.param(
            {"x_for": 1}, "X-Forwarded-For", "192.0.2.1:0", "REMOTE_ADDR", id="for-port-0"
        ),
        pytest.param({"x_for": 1}, "X-Forwarded-For", "fe80::1%eth0", "REMOTE_ADDR", id="for-zone"),
        pytest.param({"x_for": 1}, "X-Forwarded-For", "<script>", "REMOTE_ADDR", id="for-html"),
        pytest.param(
            {"x_proto": 1}, "X-Forwarded-Proto", "javascript", "wsgi.url_scheme", id="proto-js"
        ),
        pytest.param({"x_proto": 1}, "X-Forwarded-Proto", "ftp", "wsgi.url_scheme", id="proto-ftp"),
        pytest.param(
            {"x_proto": 1}, "X-Forwarded-Proto", "https:", "wsgi.url_scheme", id="proto-colon"
        ),
        pytest.param(
            {"x_host": 1}, "X-Forwarded-Host", "evil.com/path?x", "HTTP_HOST", id="host-path"
        ),
        pytest.param(
            {"x_host": 1}, "X-Forwarded-Host", "good.com@evil.com", "HTTP_HOST", id="host-at"
        ),
        pytest.param(
            {"x_host": 1}, "X-Forwarded-Host", "evil.com#good.com", "HTTP_HOST", id="host-hash"
        ),
        pytest.param(
            {"x_host": 1}, "X-Forwarded-Host", "evil.com\\good.com", "SERVER_NAME", id="host-bs"
        ),
        pytest.param({"x_host": 1}, "X-Forwarded-Host", "evil .com", "HTTP_HOST", id="host-space"),
        pytest.param(
            {"x_host": 1}, "X-Forwarded-Host", "evil.com:99999", "SERVER_PORT", id="host-port"
        ),
        pytest.param({"x_host": 1}, "X-Forwarded-Host", "[::1", "HTTP_HOST", id="host-bracket"),
        pytest.param({"x_port": 1}, "X-Forwarded-Port", "99999", "SERVER_PORT", id="port-big"),
        pytest.param({"x_port": 1}, "X-Forwarded-Port", "0", "SERVER_PORT", id="port-zero"),
        pytest.param({"x_port": 1}, "X-Forwarded-Port", "80abc", "HTTP_HOST", id="port-junk"),
        pytest.param({"x_port": 1}, "X-Forwarded-Port", "-1", "SERVER_PORT", id="port-negative"),
        pytest.param(
            {"x_prefix": 1}, "X-Forwarded-Prefix", "//evil.com", "SCRIPT_NAME", id="prefix-2x"
        ),
        pytest.param(
            {"x_prefix": 1}, "X-Forwarded-Prefix", "/\\evil.com", "SCRIPT_NAME", id="prefix-bs"
        ),
        pytest.param(
            {"x_prefix": 1}, "X-Forwarded-Prefix", "evil", "SCRIPT_NAME", id="prefix-relative"
        ),
        pytest.param(
            {"x_prefix": 1},
            "X-Forwarded-Prefix",
            "https://evil.com",
            "SCRIPT_NAME",
            id="prefix-url",
        ),
        pytest.param(
            {"x_prefix": 1}, "X-Forwarded-Prefix", "/a?b", "SCRIPT_NAME", id="prefix-query"
        ),
        pytest.param(
            {"x_prefix": 1}, "X-Forwarded-Prefix", "/a b", "SCRIPT_NAME", id="prefix-space"
        ),
    ],
)
def test_invalid_value_is_ignored_and_logged(
    caplog: pytest.LogCaptureFixture, kwargs: dict[str, int], header: str, value: str, field: str
) -> None:
    key = "HTTP_" + header.upper().replace("-", "_")
    environ = make_environ(**{key: value})
    before = environ[field]
    seen = run(fix(**{"x_for": 0, "x_proto": 0, **kwargs}), environ)
    assert seen[field] == before
    assert fields(seen) == fields(make_environ())
    [message] = warnings_of(caplog)
    assert header in message
    assert value.replace("\\", "\\\\") in message


def test_logged_value_is_escaped_and_truncated(caplog: pytest.LogCaptureFixture) -> None:
    value = "evil\r\nINFO forged line\x1b[31m" + "x" * 1000
    run(fix(x_for=0, x_proto=0, x_host=1), make_environ(HTTP_X_FORWARDED_HOST=value))
    [message] = warnings_of(caplog)
    assert "\r" not in message and "\n" not in message and "\x1b" not in message
    assert "evil\\x0d\\x0aINFO forged line\\x1b[31m" in message
    assert "more)" in message
    assert len(message) < 400


def test_valid_values_log_nothing(caplog: pytest.LogCaptureFixture) -> None:
    environ = make_environ(
        HTTP_X_FORWARDED_FOR="192.0.2.1",
        HTTP_X_FORWARDED_PROTO="https",
        HTTP_X_FORWARDED_HOST="example.com",
        HTTP_X_FORWARDED_PORT="443",
        HTTP_X_FORWARDED_PREFIX="/app",
    )
    run(fix(x_for=1, x_proto=1, x_host=1, x_port=1, x_prefix=1), environ)
    assert warnings_of(caplog) == []


def test_only_the_trusted_entry_is_validated(caplog: pytest.LogCaptureFixture) -> None:
    # What the client wrote to the left of the proxies' entries is never read.
    seen = run(fix(), make_environ(HTTP_X_FORWARDED_FOR="<junk>, 192.0.2.1"))
    assert seen["REMOTE_ADDR"] == "192.0.2.1"
    assert warnings_of(caplog) == []


# --- Security -----------------------------------------------------------------


def test_client_supplied_x_forwarded_for_never_beyond_configured_hops() -> None:
    # The client sent "X-Forwarded-For: 1.2.3.4"; the one proxy appended the
    # address it saw.
    seen = run(fix(x_for=1), make_environ(HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.9"))
    assert seen["REMOTE_ADDR"] == "198.51.100.9"
    seen = run(fix(x_for=2), make_environ(HTTP_X_FORWARDED_FOR="1.2.3.4, 6.6.6.6, 198.51.100.9"))
    assert seen["REMOTE_ADDR"] == "6.6.6.6"


def test_untrusted_peer_with_forged_headers_changes_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    environ = make_environ(
        REMOTE_ADDR="203.0.113.50",
        HTTP_X_FORWARDED_FOR="1.2.3.4",
        HTTP_X_FORWARDED_PROTO="https",
        HTTP_X_FORWARDED_HOST="evil.com",
    )
    seen = run(fix(x_host=1, trusted_proxies=["10.0.0.0/8"]), environ)
    assert fields(seen) == fields(make_environ(REMOTE_ADDR="203.0.113.50"))
    assert seen["HTTP_X_FORWARDED_FOR"] == "1.2.3.4"  # still readable: not asked to remove
    [message] = warnings_of(caplog)
    assert "untrusted peer 203.0.113.50" in message
    assert "X-Forwarded-For" in message


def test_untrusted_peer_headers_removed_when_asked(caplog: pytest.LogCaptureFixture) -> None:
    environ = make_environ(
        REMOTE_ADDR="203.0.113.50",
        HTTP_X_FORWARDED_FOR="1.2.3.4",
        HTTP_FORWARDED="for=1.2.3.4",
        HTTP_X_FORWARDED_PREFIX="/admin",
        HTTP_X_REAL_IP="1.2.3.4",
    )
    seen = run(fix(trusted_proxies=["10.0.0.0/8"], remove_untrusted_headers=True), environ)
    assert fields(seen) == fields(make_environ(REMOTE_ADDR="203.0.113.50"))
    for key in ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_FORWARDED_PREFIX"):
        assert key not in seen
    assert seen["HTTP_X_REAL_IP"] == "1.2.3.4"  # not one of PROXY_HEADERS
    # The original record still has them, for logging what was refused.
    assert seen["wsgi_flash.proxy_fix.orig"]["HTTP_FORWARDED"] == "for=1.2.3.4"
    [message] = warnings_of(caplog)
    assert message.startswith("removed ")


def test_trusted_peer_headers_are_kept_when_removal_is_on() -> None:
    environ = make_environ(HTTP_X_FORWARDED_FOR="192.0.2.1")
    seen = run(fix(trusted_proxies=["10.0.0.1"], remove_untrusted_headers=True), environ)
    assert seen["REMOTE_ADDR"] == "192.0.2.1"
    assert seen["HTTP_X_FORWARDED_FOR"] == "192.0.2.1"


def test_all_trusted_chain_stops_at_the_hop_limit() -> None:
    # Every address is a trusted proxy, so without the limit the walk would
    # reach the client-written entry at the far left.
    environ = make_environ(HTTP_X_FORWARDED_FOR="6.6.6.6, 10.0.0.4, 10.0.0.3, 10.0.0.2")
    seen = run(fix(x_for=2, trusted_proxies=["private"]), environ)
    assert seen["REMOTE_ADDR"] == "10.0.0.3"


def test_all_trusted_chain_shorter_than_limit_gives_leftmost() -> None:
    environ = make_environ(HTTP_X_FORWARDED_FOR="10.0.0.3, 10.0.0.2")
    seen = run(fix(x_for=5, trusted_proxies=["private"]), environ)
    assert seen["REMOTE_ADDR"] == "10.0.0.3"


def test_rightmost_untrusted_address_is_the_client() -> None:
    # The client forged two entries; the first proxy (10.0.0.2) appended the
    # real client 198.51.100.9, the second appended 10.0.0.2.
    environ = make_environ(HTTP_X_FORWARDED_FOR="6.6.6.6, 7.7.7.7, 198.51.100.9, 10.0.0.2")
    seen = run(fix(x_for=3, trusted_proxies=["10.0.0.0/8"]), environ)
    assert seen["REMOTE_ADDR"] == "198.51.100.9"


def test_proxy_bypass_cannot_use_the_outer_hop_count() -> None:
    # Normally CDN -> load balancer -> app, x_for=2. A client that reaches
    # the load balancer directly forges the CDN's part; with hop counts alone
    # its forged values win, with trusted_proxies they do not.
    headers = {
        "HTTP_X_FORWARDED_FOR": "1.2.3.4, 198.51.100.9",
        "HTTP_X_FORWARDED_PROTO": "https, http",
    }
    blind = run(fix(x_for=2, x_proto=2), make_environ(**headers))
    assert (blind["REMOTE_ADDR"], blind["wsgi.url_scheme"]) == ("1.2.3.4", "https")
    checked = run(
        fix(x_for=2, x_proto=2, trusted_proxies=["10.0.0.0/8", "172.16.0.0/12"]),
        make_environ(**headers),
    )
    assert (checked["REMOTE_ADDR"], checked["wsgi.url_scheme"]) == ("198.51.100.9", "http")


def test_empty_entries_are_skipped(caplog: pytest.LogCaptureFixture) -> None:
    seen = run(fix(x_for=2), make_environ(HTTP_X_FORWARDED_FOR="192.0.2.1, , ,10.0.0.9,"))
    assert seen["REMOTE_ADDR"] == "192.0.2.1"
    seen = run(fix(), make_environ(HTTP_X_FORWARDED_FOR=" , "))
    assert seen["REMOTE_ADDR"] == "10.0.0.1"
    assert warnings_of(caplog) == []


def _serve_once(server: t.Any, request: bytes) -> None:
    thread = threading.Thread(target=server.handle_request)
    thread.start()
    try:
        with socket.create_connection(server.server_address[:2], timeout=10) as client:
            client.sendall(request)
            while client.recv(4096):
                pass
    finally:
        thread.join(10)
        server.server_close()


class _QuietHandler(wsgiref.simple_server.WSGIRequestHandler):
    def log_message(self, format: str, *args: t.Any) -> None:
        pass


def _capture() -> tuple[WSGIApplication, list[WSGIEnvironment]]:
    seen: list[WSGIEnvironment] = []

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        seen.append(dict(environ))
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]

    return app, seen


_REPEATED_AND_UNDERSCORE = (
    b"GET / HTTP/1.0\r\nHost: example.com\r\n"
    b"X-Forwarded-For: 198.51.100.1\r\n"
    b"X-Forwarded-For: 198.51.100.2\r\n"
    b"X_Forwarded_For: 6.6.6.6\r\n\r\n"
)


def test_repeated_lines_and_underscore_variant_through_wsgiref() -> None:
    # wsgiref joins repeated lines with "," and maps X_Forwarded_For to the
    # same key, appended last: the middleware cannot tell the forged
    # underscore line from the proxy's. Only the server (or proxy) can.
    app, seen = _capture()
    server = wsgiref.simple_server.make_server(
        "127.0.0.1", 0, fix(x_for=1)(app), handler_class=_QuietHandler
    )
    _serve_once(server, _REPEATED_AND_UNDERSCORE)
    [environ] = seen
    assert (
        environ["wsgi_flash.proxy_fix.orig"]["HTTP_X_FORWARDED_FOR"]
        == "198.51.100.1,198.51.100.2,6.6.6.6"
    )
    assert environ["REMOTE_ADDR"] == "6.6.6.6"


def test_underscore_variant_dropped_by_werkzeug_server() -> None:
    # Werkzeug's development server (3.1) drops header names with "_", as
    # gunicorn does by default (header_map="drop").
    app, seen = _capture()
    server = werkzeug_make_server("127.0.0.1", 0, fix(x_for=1)(app))
    _serve_once(server, _REPEATED_AND_UNDERSCORE)
    [environ] = seen
    assert (
        environ["wsgi_flash.proxy_fix.orig"]["HTTP_X_FORWARDED_FOR"] == "198.51.100.1,198.51.100.2"
    )
    assert environ["REMOTE_ADDR"] == "198.51.100.2"


@pytest.mark.parametrize(
    "host",
    [
        pytest.param("evil.com/", id="slash"),
        pytest.param("evil.com?", id="question"),
        pytest.param("evil.com#", id="hash"),
        pytest.param("good.com@evil.com", id="userinfo"),
        pytest.param("evil.com\\@good.com", id="backslash"),
        pytest.param("good.com evil.com", id="space"),
        pytest.param("good.com\r\nSet-Cookie: x=1", id="crlf"),
        pytest.param("good.com\x00", id="nul"),
        pytest.param("<script>alert(1)</script>", id="html"),
        pytest.param("good.com:80:80", id="two-ports"),
        pytest.param("good.com:", id="empty-port"),
        pytest.param("[::1]evil", id="after-bracket"),
        pytest.param("", id="empty"),
        pytest.param("g" * 300, id="too-long"),
    ],
)
def test_host_poisoning_values_are_ignored(host: str) -> None:
    for options, key in (
        ({"x_host": 1}, "HTTP_X_FORWARDED_HOST"),
        ({"forwarded": 1}, "HTTP_FORWARDED"),
    ):
        value = host if key != "HTTP_FORWARDED" else 'host="' + host.replace("\\", "\\\\") + '"'
        seen = run(fix(**options), make_environ(**{key: value}))
        assert (seen["HTTP_HOST"], seen["SERVER_NAME"], seen["SERVER_PORT"]) == (
            "app.internal:8000",
            "app.internal",
            "8000",
        )


@pytest.mark.parametrize(
    "prefix",
    [
        pytest.param("//evil.com", id="double-slash"),
        pytest.param("///evil.com", id="triple-slash"),
        pytest.param("/\\evil.com", id="slash-backslash"),
        pytest.param("\\\\evil.com", id="backslashes"),
        pytest.param("//evil.com/app", id="double-slash-path"),
        pytest.param(" //evil.com", id="space-double-slash"),
    ],
)
def test_network_path_prefix_never_becomes_script_name(prefix: str) -> None:
    seen = run(fix(x_prefix=1), make_environ(HTTP_X_FORWARDED_PREFIX=prefix))
    assert seen["SCRIPT_NAME"] == ""
    # And so no redirect built from the request can leave the site.
    assert Request(seen).url_root == "http://app.internal:8000/"


@pytest.mark.parametrize(
    "scheme",
    [
        pytest.param("javascript", id="javascript"),
        pytest.param("JavaScript", id="javascript-case"),
        pytest.param("data", id="data"),
        pytest.param("https\r\n", id="crlf"),
        pytest.param("httpss", id="httpss"),
    ],
)
def test_hostile_scheme_is_ignored(scheme: str) -> None:
    seen = run(fix(x_for=0), make_environ(HTTP_X_FORWARDED_PROTO=scheme))
    assert seen["wsgi.url_scheme"] == "http"
    seen = run(fix(forwarded=1), make_environ(HTTP_FORWARDED=f'proto="{scheme}"'))
    assert seen["wsgi.url_scheme"] == "http"


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        pytest.param("2001:db8::7", "2001:db8::7", id="bare"),
        pytest.param("[2001:db8::7]", "2001:db8::7", id="brackets"),
        pytest.param("[2001:db8::7]:443", "2001:db8::7", id="brackets-port"),
        pytest.param("2001:db8::7:443", "2001:db8::7:443", id="bare-last-group-is-address"),
        pytest.param("2001:DB8::7", "2001:DB8::7", id="upper-case-kept"),
        pytest.param("[2001:db8::7", "10.0.0.1", id="unclosed-bracket"),
        pytest.param("[2001:db8::7]:", "10.0.0.1", id="empty-port"),
        pytest.param("[2001:db8::7]:99999", "10.0.0.1", id="bad-port"),
        pytest.param("[[2001:db8::7]]", "10.0.0.1", id="double-brackets"),
    ],
)
def test_ipv6_client_addresses(entry: str, expected: str) -> None:
    assert run(fix(), make_environ(HTTP_X_FORWARDED_FOR=entry))["REMOTE_ADDR"] == expected


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        pytest.param('"[2001:db8::7]"', "2001:db8::7", id="brackets"),
        pytest.param('"[2001:db8::7]:4711"', "2001:db8::7", id="brackets-port"),
        pytest.param('"2001:db8::7"', "10.0.0.1", id="no-brackets-refused"),
    ],
)
def test_ipv6_in_forwarded(node: str, expected: str) -> None:
    seen = run(fix(forwarded=1), make_environ(HTTP_FORWARDED=f"for={node}"))
    assert seen["REMOTE_ADDR"] == expected


@pytest.mark.parametrize(
    "spelling",
    [
        pytest.param("::ffff:192.0.2.1", id="rfc-5952"),
        pytest.param("::ffff:c000:201", id="hex"),
        pytest.param("[::FFFF:C000:201]:443", id="upper-brackets-port"),
        pytest.param("0:0:0:0:0:ffff:c000:0201", id="expanded"),
    ],
)
def test_ipv4_mapped_client_has_one_spelling(spelling: str) -> None:
    # Whatever the proxy wrote and whatever str() of ipaddress writes on this
    # Python (3.13 changed it), the app sees RFC 5952's form.
    seen = run(fix(), make_environ(HTTP_X_FORWARDED_FOR=spelling))
    assert seen["REMOTE_ADDR"] == "::ffff:192.0.2.1"
    node = spelling if spelling.startswith("[") else f"[{spelling}]"
    seen = run(fix(forwarded=1), make_environ(HTTP_FORWARDED=f'for="{node}"'))
    assert seen["REMOTE_ADDR"] == "::ffff:192.0.2.1"


def test_ipv4_mapped_ipv6() -> None:
    # As an entry it is a valid address, in RFC 5952's spelling.
    seen = run(fix(), make_environ(HTTP_X_FORWARDED_FOR="::ffff:192.0.2.1"))
    assert seen["REMOTE_ADDR"] == "::ffff:192.0.2.1"
    # As the peer of a dual-stack listener, it is trusted as the IPv4 proxy.
    environ = make_environ(REMOTE_ADDR="::ffff:127.0.0.1", HTTP_X_FORWARDED_FOR="192.0.2.1")
    assert run(fix(trusted_proxies=["127.0.0.1"]), environ)["REMOTE_ADDR"] == "192.0.2.1"
    # And it does not smuggle an untrusted IPv4 peer past an IPv6 rule.
    environ = make_environ(REMOTE_ADDR="::ffff:203.0.113.5", HTTP_X_FORWARDED_FOR="192.0.2.1")
    assert run(fix(trusted_proxies=["::/0"]), environ)["REMOTE_ADDR"] == "::ffff:203.0.113.5"


@pytest.mark.parametrize(
    "value",
    [
        pytest.param('for="192.0.2.1', id="unbalanced-quote"),
        pytest.param('for=192.0.2.1;proto="https', id="unbalanced-later"),
        pytest.param("for=192.0.2.1;for=198.51.100.1", id="duplicate-for"),
        pytest.param("for=192.0.2.1;proto=http;proto=https", id="duplicate-proto"),
        pytest.param("for=192.0.2.1;Host=a.com;HOST=b.com", id="duplicate-host-case"),
        pytest.param("for=192.0.2.1 garbage", id="trailing-garbage"),
        pytest.param("for=" + "1" * 9000, id="over-8-kib"),
        pytest.param("\x00\x01\x02", id="controls"),
    ],
)
def test_hostile_forwarded_is_ignored_and_logged(
    caplog: pytest.LogCaptureFixture, value: str
) -> None:
    environ = make_environ(HTTP_FORWARDED=value)
    seen = run(fix(forwarded=1), environ)
    assert fields(seen) == fields(make_environ())
    assert seen["wsgi_flash.proxy_fix.chain"] == []
    [message] = warnings_of(caplog)
    assert message.startswith("ignored Forwarded ")
    assert len(message) < 400


_ANY_TEXT = st.text(st.characters(max_codepoint=0x2FF), max_size=80)
_ANY_HEADER = st.none() | _ANY_TEXT | st.sampled_from(["", " ", ",", "192.0.2.1", "10.0.0.1"])
_ANY_OPTIONS = [
    {"x_for": 2, "x_proto": 1, "x_host": 1, "x_port": 1, "x_prefix": 1},
    {"x_for": 3, "x_host": 2, "trusted_proxies": ["0.0.0.0/0", "::/0"]},
    {"x_for": 0, "x_proto": 0, "x_prefix": 2, "trusted_proxies": ["10.0.0.0/8"]},
    {"forwarded": 2},
    {"forwarded": 3, "trusted_proxies": ["private", "loopback", "0.0.0.0/1"]},
]
# Every option set again, removing proxy headers from untrusted peers.
_ANY_OPTIONS += [
    {**options, "trusted_proxies": ["10.0.0.0/8"], "remove_untrusted_headers": True}
    for options in list(_ANY_OPTIONS)
]


@settings(max_examples=400)
@given(
    st.fixed_dictionaries(
        {
            "HTTP_FORWARDED": _ANY_HEADER,
            "HTTP_X_FORWARDED_FOR": _ANY_HEADER,
            "HTTP_X_FORWARDED_PROTO": _ANY_HEADER,
            "HTTP_X_FORWARDED_HOST": _ANY_HEADER,
            "HTTP_X_FORWARDED_PORT": _ANY_HEADER,
            "HTTP_X_FORWARDED_PREFIX": _ANY_HEADER,
            "REMOTE_ADDR": st.one_of(_ANY_TEXT, _IPV4, st.just("10.0.0.1")),
        }
    ),
    st.sampled_from(_ANY_OPTIONS),
)
def test_any_header_value_is_handled(
    headers: dict[str, str | None], options: dict[str, t.Any]
) -> None:
    environ = make_environ(**{key: value for key, value in headers.items() if value is not None})
    logging.getLogger(LOGGER).disabled = True
    try:
        seen = run(fix(**options), environ)
    finally:
        logging.getLogger(LOGGER).disabled = False
    # Whatever was applied is what its header promises.
    if seen["REMOTE_ADDR"] != headers["REMOTE_ADDR"]:
        assert is_ip(seen["REMOTE_ADDR"])
    if seen["HTTP_HOST"] != "app.internal:8000":
        assert is_valid_host(seen["HTTP_HOST"])
        assert is_valid_port(seen["SERVER_PORT"])
    assert seen["wsgi.url_scheme"] in ("http", "https")
    assert seen["SCRIPT_NAME"] == "" or _PREFIX_PATH.match(seen["SCRIPT_NAME"])


# --- Forwarded mode -----------------------------------------------------------


@pytest.mark.parametrize(
    ("forwarded", "value", "expected"),
    [
        pytest.param(
            1,
            "for=192.0.2.60;proto=https;host=example.com",
            ("192.0.2.60", "https", "example.com", "example.com", "8000"),
            id="one-hop",
        ),
        pytest.param(
            1,
            'for=192.0.2.60;proto=HTTPS;host="example.com:8443"',
            ("192.0.2.60", "https", "example.com:8443", "example.com", "8443"),
            id="host-with-port",
        ),
        pytest.param(
            1,
            'for=6.6.6.6;host=evil.com, for=192.0.2.60;host="[2001:db8::1]:8443"',
            ("192.0.2.60", "http", "[2001:db8::1]:8443", "[2001:db8::1]", "8443"),
            id="client-element-ignored",
        ),
        pytest.param(
            2,
            "for=192.0.2.60;proto=https, for=10.0.0.5",
            ("192.0.2.60", "https", "app.internal:8000", "app.internal", "8000"),
            id="two-hops",
        ),
        pytest.param(
            3,
            "for=192.0.2.60, for=10.0.0.5",
            ("10.0.0.1", "http", "app.internal:8000", "app.internal", "8000"),
            id="fewer-elements-than-hops",
        ),
        pytest.param(
            1,
            "for=_hidden;proto=https",
            ("10.0.0.1", "https", "app.internal:8000", "app.internal", "8000"),
            id="obfuscated-for-keeps-peer",
        ),
        pytest.param(
            1,
            "for=unknown;proto=https",
            ("10.0.0.1", "https", "app.internal:8000", "app.internal", "8000"),
            id="unknown-for-keeps-peer",
        ),
        pytest.param(
            1,
            "by=10.0.0.1;proto=https",
            ("10.0.0.1", "https", "app.internal:8000", "app.internal", "8000"),
            id="no-for",
        ),
        pytest.param(
            1,
            'for="[::ffff:192.0.2.1]:80"',
            ("::ffff:192.0.2.1", "http", "app.internal:8000", "app.internal", "8000"),
            id="ipv4-mapped",
        ),
    ],
)
def test_forwarded_mode(forwarded: int, value: str, expected: tuple[str, ...]) -> None:
    seen = run(fix(forwarded=forwarded), make_environ(HTTP_FORWARDED=value))
    assert tuple(fields(seen).values())[:5] == expected


def test_forwarded_obfuscated_and_unknown_are_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    run(fix(forwarded=1), make_environ(HTTP_FORWARDED="for=unknown, for=_x"))
    assert warnings_of(caplog) == []


def test_forwarded_mode_reads_only_forwarded() -> None:
    environ = make_environ(
        HTTP_FORWARDED="for=192.0.2.60",
        HTTP_X_FORWARDED_FOR="6.6.6.6",
        HTTP_X_FORWARDED_PROTO="https",
        HTTP_X_FORWARDED_HOST="evil.com",
        HTTP_X_FORWARDED_PREFIX="/evil",
    )
    seen = run(fix(forwarded=1), environ)
    assert fields(seen) == {**fields(make_environ()), "REMOTE_ADDR": "192.0.2.60"}
    seen = run(fix(forwarded=1), make_environ(HTTP_X_FORWARDED_FOR="6.6.6.6"))
    assert seen["REMOTE_ADDR"] == "10.0.0.1"


def test_forwarded_mode_with_trusted_proxies() -> None:
    value = "for=6.6.6.6;proto=http, for=198.51.100.9;proto=https, for=10.0.0.7;proto=http"
    seen = run(fix(forwarded=3, trusted_proxies=["10.0.0.0/8"]), make_environ(HTTP_FORWARDED=value))
    assert (seen["REMOTE_ADDR"], seen["wsgi.url_scheme"]) == ("198.51.100.9", "https")
    seen = run(fix(forwarded=1, trusted_proxies=["10.0.0.0/8"]), make_environ(HTTP_FORWARDED=value))
    assert (seen["REMOTE_ADDR"], seen["wsgi.url_scheme"]) == ("10.0.0.7", "http")


def test_forwarded_walk_stops_at_obfuscated_client() -> None:
    value = "for=6.6.6.6, for=_client;proto=https, for=10.0.0.7"
    seen = run(fix(forwarded=3, trusted_proxies=["10.0.0.0/8"]), make_environ(HTTP_FORWARDED=value))
    assert (seen["REMOTE_ADDR"], seen["wsgi.url_scheme"]) == ("10.0.0.1", "https")


@pytest.mark.parametrize(
    "counts",
    [
        pytest.param({"x_for": 1}, id="x_for-explicit-1"),
        pytest.param({"x_proto": 2}, id="x_proto"),
        pytest.param({"x_host": 1}, id="x_host"),
        pytest.param({"x_port": 1}, id="x_port"),
        pytest.param({"x_prefix": 1}, id="x_prefix"),
    ],
)
def test_forwarded_with_x_counts_is_refused(counts: dict[str, int]) -> None:
    with pytest.raises(ValueError, match=f"forwarded cannot be combined with {next(iter(counts))}"):
        ProxyFix(_noop_app, forwarded=1, **counts)


def test_forwarded_alone_drops_the_x_defaults() -> None:
    middleware = ProxyFix(_noop_app, forwarded=1)
    assert (middleware.x_for, middleware.x_proto) == (0, 0)
    middleware = ProxyFix(_noop_app, 0, 0, forwarded=2)
    assert middleware.forwarded == 2


# --- Trusted proxies ----------------------------------------------------------


@pytest.mark.parametrize(
    ("trusted", "peer", "applied"),
    [
        pytest.param(["loopback"], "127.0.0.1", True, id="loopback-v4"),
        pytest.param(["loopback"], "127.8.9.10", True, id="loopback-v4-range"),
        pytest.param(["loopback"], "::1", True, id="loopback-v6"),
        pytest.param(["Loopback"], "::1", True, id="name-case"),
        pytest.param(["loopback"], "10.0.0.1", False, id="loopback-not-private"),
        pytest.param(["private"], "10.20.30.40", True, id="private-10"),
        pytest.param(["private"], "172.31.255.1", True, id="private-172"),
        pytest.param(["private"], "172.32.0.1", False, id="private-172-outside"),
        pytest.param(["private"], "192.168.1.1", True, id="private-192"),
        pytest.param(["private"], "fd12:3456::1", True, id="private-ula"),
        pytest.param(["private"], "127.0.0.1", False, id="private-not-loopback"),
        pytest.param(["private"], "8.8.8.8", False, id="private-public"),
        pytest.param(["2001:db8:1::/48"], "2001:db8:1:ffff::1", True, id="v6-cidr"),
        pytest.param(["2001:db8:1::/48"], "2001:db8:2::1", False, id="v6-cidr-outside"),
        pytest.param(["203.0.113.7"], "203.0.113.7", True, id="single-v4"),
        pytest.param(["203.0.113.7"], "203.0.113.8", False, id="single-v4-other"),
        pytest.param([ipaddress.ip_network("198.51.100.0/24")], "198.51.100.1", True, id="object"),
        pytest.param(
            [ipaddress.ip_address("198.51.100.1")], "198.51.100.1", True, id="address-object"
        ),
        pytest.param(["loopback"], "", False, id="empty-peer"),
        pytest.param(["loopback"], "localhost", False, id="name-peer"),
    ],
)
def test_trusted_proxies(trusted: list[t.Any], peer: str, applied: bool) -> None:
    environ = make_environ(REMOTE_ADDR=peer, HTTP_X_FORWARDED_FOR="192.0.2.1")
    seen = run(fix(trusted_proxies=trusted), environ)
    assert seen["REMOTE_ADDR"] == ("192.0.2.1" if applied else peer)


def test_trusted_proxies_missing_remote_addr_is_untrusted() -> None:
    environ = make_environ(HTTP_X_FORWARDED_FOR="192.0.2.1")
    del environ["REMOTE_ADDR"]
    seen = run(fix(trusted_proxies=["loopback"]), environ)
    assert "REMOTE_ADDR" not in seen
    assert seen["wsgi_flash.proxy_fix.orig"]["REMOTE_ADDR"] is None


def test_trusted_walk_stops_at_invalid_entry(caplog: pytest.LogCaptureFixture) -> None:
    environ = make_environ(HTTP_X_FORWARDED_FOR="192.0.2.1, garbage, 10.0.0.9")
    seen = run(fix(x_for=3, trusted_proxies=["10.0.0.0/8"]), environ)
    assert seen["REMOTE_ADDR"] == "10.0.0.1"
    [message] = warnings_of(caplog)
    assert "X-Forwarded-For garbage" in message


# --- Servers that break PEP 3333 ---------------------------------------------

_PROXIED = {
    "HTTP_X_FORWARDED_FOR": "192.0.2.7",
    "HTTP_X_FORWARDED_PROTO": "https",
    "HTTP_X_FORWARDED_HOST": "example.com",
    "HTTP_X_FORWARDED_PORT": "443",
    "HTTP_X_FORWARDED_PREFIX": "/app",
    "HTTP_FORWARDED": "for=192.0.2.7;proto=https;host=example.com",
}
_ALL_X = {"x_for": 1, "x_proto": 1, "x_host": 1, "x_port": 1, "x_prefix": 1}
_TRUSTED_X = {"x_for": 2, "x_proto": 1, "x_host": 1, "trusted_proxies": ["10.0.0.0/8"]}
_TRUSTED_FORWARDED = {"forwarded": 2, "trusted_proxies": ["10.0.0.0/8"]}


@pytest.mark.parametrize(
    ("options", "key"),
    [
        pytest.param(_ALL_X, "HTTP_X_FORWARDED_FOR", id="x-for"),
        pytest.param(_ALL_X, "HTTP_X_FORWARDED_PROTO", id="x-proto"),
        pytest.param(_ALL_X, "HTTP_X_FORWARDED_HOST", id="x-host"),
        pytest.param(_ALL_X, "HTTP_X_FORWARDED_PORT", id="x-port"),
        pytest.param(_ALL_X, "HTTP_X_FORWARDED_PREFIX", id="x-prefix"),
        pytest.param(_TRUSTED_X, "HTTP_X_FORWARDED_HOST", id="trusted-x-host"),
        pytest.param(_TRUSTED_X, "REMOTE_ADDR", id="trusted-remote-addr"),
        pytest.param({"forwarded": 1}, "HTTP_FORWARDED", id="forwarded"),
        pytest.param(_TRUSTED_FORWARDED, "HTTP_FORWARDED", id="trusted-forwarded"),
        pytest.param(_TRUSTED_FORWARDED, "REMOTE_ADDR", id="trusted-forwarded-remote-addr"),
    ],
)
@pytest.mark.parametrize(
    "odd", [pytest.param(b"192.0.2.9", id="bytes"), 7, pytest.param(["x"], id="list")]
)
def test_non_str_value_from_the_server_is_ignored_not_a_500(
    options: dict[str, t.Any], key: str, odd: object, caplog: pytest.LogCaptureFixture
) -> None:
    environ = make_environ(**{**_PROXIED, key: odd})
    before = fields(environ)
    seen = run(fix(**options), environ)
    assert fields(seen) == before
    assert seen["wsgi_flash.proxy_fix.chain"] == []
    assert len(warnings_of(caplog)) == 1


def test_non_str_remote_addr_with_removal_removes_the_headers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A peer the server could not even name is untrusted: with
    remove_untrusted_headers the app cannot read the headers by accident."""
    environ = make_environ(**{**_PROXIED, "REMOTE_ADDR": ["10.0.0.1"]})
    options = {**_TRUSTED_X, "remove_untrusted_headers": True}
    seen = run(fix(**options), environ)
    assert not [key for key in _PROXIED if key in seen]
    [message] = warnings_of(caplog)
    assert message.startswith("removed the proxy headers") and "REMOTE_ADDR=list" in message


def test_own_type_error_is_not_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only a value the server got wrong is forgiven; a TypeError of ours with
    every value a str still surfaces."""

    def broken(self: ProxyFix, value: str) -> t.NoReturn:
        raise TypeError("a bug")

    monkeypatch.setattr(ProxyFix, "_read_for", broken)
    with pytest.raises(TypeError, match="a bug"):
        run(fix(), make_environ(HTTP_X_FORWARDED_FOR="192.0.2.7"))


def test_non_str_header_that_is_not_read_changes_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Only the values ProxyFix reads are checked: a server's bytes in a
    header it was not told to trust neither stop the others nor log."""
    environ = make_environ(HTTP_X_FORWARDED_FOR="192.0.2.7", HTTP_X_FORWARDED_PREFIX=b"/app")
    seen = run(fix(), environ)
    assert seen["REMOTE_ADDR"] == "192.0.2.7"
    assert warnings_of(caplog) == []


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        pytest.param({}, (1, 1, 0), id="werkzeug-defaults"),
        pytest.param({"forwarded": 1}, (0, 0, 1), id="forwarded-drops-them"),
        pytest.param({"x_for": 2}, (2, 1, 0), id="x_for-given"),
        pytest.param({"x_for": 0, "x_proto": 0, "forwarded": 1}, (0, 0, 1), id="zeros"),
    ],
)
def test_default_counts(options: dict[str, int], expected: tuple[int, int, int]) -> None:
    middleware = ProxyFix(_noop_app, **options)
    assert (middleware.x_for, middleware.x_proto, middleware.forwarded) == expected


# --- Configuration ------------------------------------------------------------


def _noop_app(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
    start_response("204 No Content", [])
    return []


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        pytest.param({"x_for": -1}, ValueError, "x_for must be 0", id="negative"),
        pytest.param({"x_host": "1"}, TypeError, "x_host must be an int", id="string"),
        pytest.param({"x_port": True}, TypeError, "x_port must be an int", id="bool"),
        pytest.param({"x_prefix": 1.0}, TypeError, "x_prefix must be an int", id="float"),
        pytest.param({"forwarded": -2}, ValueError, "forwarded must be 0", id="forwarded-negative"),
        pytest.param({"forwarded": 65, "x_for": 0}, ValueError, "64 hops", id="forwarded-over-64"),
        pytest.param(
            {"trusted_proxies": "10.0.0.0/8"}, TypeError, r"\['10.0.0.0/8'\]", id="one-string"
        ),
        pytest.param({"trusted_proxies": []}, ValueError, "leave it None", id="empty"),
        pytest.param({"trusted_proxies": ["*"]}, ValueError, "trusted_proxies=None", id="star"),
        pytest.param({"trusted_proxies": ["10.0.0.1/8"]}, ValueError, "host bits", id="host-bits"),
        pytest.param(
            {"trusted_proxies": ["proxy.example"]}, ValueError, "'proxy.example'", id="name"
        ),
        pytest.param({"trusted_proxies": [42]}, TypeError, "not int", id="int-entry"),
        pytest.param(
            {"remove_untrusted_headers": True},
            ValueError,
            "needs trusted_proxies",
            id="remove-alone",
        ),
        pytest.param(
            {"remove_untrusted_headers": "yes", "trusted_proxies": ["loopback"]},
            TypeError,
            "True or False",
            id="remove-not-bool",
        ),
    ],
)
def test_configuration_errors(kwargs: dict[str, t.Any], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        ProxyFix(_noop_app, **kwargs)


def test_options_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        ProxyFix(_noop_app, 1, 1, 0, 0, 0, 1)  # type: ignore[misc]


def test_defaults_match_werkzeug() -> None:
    middleware = ProxyFix(_noop_app)
    assert (
        middleware.x_for,
        middleware.x_proto,
        middleware.x_host,
        middleware.x_port,
        middleware.x_prefix,
    ) == (1, 1, 0, 0, 0)
    assert middleware.forwarded == 0
    assert middleware.trusted_proxies is None


# --- WSGI plumbing, orig and chain --------------------------------------------


def test_validator_on_both_sides() -> None:
    seen: list[WSGIEnvironment] = []

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        seen.append(environ)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    wrapped = validator(ProxyFix(validator(app), x_for=1, x_proto=1, x_host=1, x_prefix=1))
    statuses: list[str] = []
    for prefix in ("/app", "/"):
        environ = make_environ(
            HTTP_X_FORWARDED_FOR="192.0.2.1",
            HTTP_X_FORWARDED_PROTO="https",
            HTTP_X_FORWARDED_HOST="example.com",
            HTTP_X_FORWARDED_PREFIX=prefix,
        )
        body = wrapped(environ, lambda status, headers, exc_info=None: statuses.append(status))  # type: ignore[arg-type,return-value]
        assert b"".join(body) == b"ok"
        body.close()  # type: ignore[attr-defined]
    assert statuses == ["200 OK", "200 OK"]
    assert [e["SCRIPT_NAME"] for e in seen] == ["/app", ""]


def test_inner_iterable_is_returned_unchanged() -> None:
    body = [b"a", b"b"]
    middleware = ProxyFix(lambda environ, start_response: body)
    assert middleware(make_environ(), lambda *args: None) is body  # type: ignore[arg-type,return-value]


def test_orig_records_values_before_the_change() -> None:
    environ = make_environ(
        HTTP_X_FORWARDED_FOR="192.0.2.1",
        HTTP_X_FORWARDED_PROTO="https",
        HTTP_X_FORWARDED_HOST="example.com:8443",
        HTTP_X_FORWARDED_PREFIX="/app",
    )
    seen = run(fix(x_host=1, x_prefix=1), environ)
    expected = {
        "REMOTE_ADDR": "10.0.0.1",
        "wsgi.url_scheme": "http",
        "HTTP_HOST": "app.internal:8000",
        "SERVER_NAME": "app.internal",
        "SERVER_PORT": "8000",
        "SCRIPT_NAME": "",
    }
    for key in ("wsgi_flash.proxy_fix.orig", "werkzeug.proxy_fix.orig"):
        assert {k: seen[key][k] for k in expected} == expected
    assert seen["wsgi_flash.proxy_fix.orig"]["HTTP_X_FORWARDED_FOR"] == "192.0.2.1"
    assert fields(seen) == {
        "REMOTE_ADDR": "192.0.2.1",
        "wsgi.url_scheme": "https",
        "HTTP_HOST": "example.com:8443",
        "SERVER_NAME": "example.com",
        "SERVER_PORT": "8443",
        "SCRIPT_NAME": "/app",
    }


def test_orig_is_recorded_without_proxy_headers_and_for_missing_keys() -> None:
    environ = make_environ()
    del environ["HTTP_HOST"]
    seen = run(fix(), environ)
    assert seen["werkzeug.proxy_fix.orig"]["REMOTE_ADDR"] == "10.0.0.1"
    assert seen["werkzeug.proxy_fix.orig"]["HTTP_HOST"] is None
    assert seen["wsgi_flash.proxy_fix.chain"] == []


@pytest.mark.parametrize(
    ("options", "headers", "chain"),
    [
        pytest.param(
            {"x_for": 1},
            {"HTTP_X_FORWARDED_FOR": "6.6.6.6, ,192.0.2.1 , 10.0.0.5"},
            [{"for": "10.0.0.5"}],
            id="x-forwarded-for",
        ),
        pytest.param(
            {"x_for": 3},
            {"HTTP_X_FORWARDED_FOR": "6.6.6.6, ,192.0.2.1 , 10.0.0.5"},
            [{"for": "6.6.6.6"}, {"for": "192.0.2.1"}, {"for": "10.0.0.5"}],
            id="x-forwarded-for-three-hops",
        ),
        pytest.param(
            {"x_for": 5},
            {"HTTP_X_FORWARDED_FOR": "192.0.2.1 , 10.0.0.5"},
            [{"for": "192.0.2.1"}, {"for": "10.0.0.5"}],
            id="x-forwarded-for-fewer-than-hops",
        ),
        pytest.param(
            {"x_for": 5, "trusted_proxies": ["10.0.0.0/8"]},
            {"HTTP_X_FORWARDED_FOR": "6.6.6.6, 192.0.2.1, 10.0.0.7, 10.0.0.5"},
            [{"for": "192.0.2.1"}, {"for": "10.0.0.7"}, {"for": "10.0.0.5"}],
            id="x-forwarded-for-walk-stops-at-the-client",
        ),
        pytest.param(
            {"x_for": 0, "x_host": 1},
            {"HTTP_X_FORWARDED_FOR": "6.6.6.6", "HTTP_X_FORWARDED_HOST": "example.com"},
            [],
            id="x-forwarded-for-not-read",
        ),
        pytest.param(
            {"forwarded": 1},
            {"HTTP_FORWARDED": 'for=6.6.6.6, for="[2001:db8::1]";proto=https;by=_lb'},
            [{"for": "[2001:db8::1]", "proto": "https", "by": "_lb"}],
            id="forwarded",
        ),
        pytest.param(
            {"forwarded": 2},
            {"HTTP_FORWARDED": 'for=6.6.6.6, for="[2001:db8::1]";proto=https;by=_lb'},
            [{"for": "6.6.6.6"}, {"for": "[2001:db8::1]", "proto": "https", "by": "_lb"}],
            id="forwarded-two-hops",
        ),
        pytest.param(
            {"forwarded": 4, "trusted_proxies": ["10.0.0.0/8"]},
            {"HTTP_FORWARDED": "for=6.6.6.6;for=7.7.7.7, for=192.0.2.1, for=10.0.0.5"},
            [{"for": "192.0.2.1"}, {"for": "10.0.0.5"}],
            id="forwarded-walk-stops-at-the-client",
        ),
        pytest.param(
            {"trusted_proxies": ["192.168.0.0/16"]},
            {"HTTP_X_FORWARDED_FOR": "6.6.6.6"},
            [],
            id="untrusted-peer",
        ),
    ],
)
def test_chain_lists_the_parsed_hops(
    options: dict[str, t.Any], headers: dict[str, str], chain: list[dict[str, str]]
) -> None:
    seen = run(fix(**options), make_environ(**headers))
    assert seen["wsgi_flash.proxy_fix.chain"] == chain


def test_cached_host_verdict_never_skips_list_splitting() -> None:
    # "a.example,b.example" is a valid RFC 3986 reg-name (commas are
    # sub-delims), so a quoted Forwarded host can make it a known-good
    # value; as X-Forwarded-Host it is still a list of two hosts.
    value = "a.example,b.example"
    seen = run(fix(forwarded=1), make_environ(HTTP_FORWARDED=f'host="{value}"'))
    assert seen["HTTP_HOST"] == value
    seen = run(fix(x_host=1), make_environ(HTTP_X_FORWARDED_HOST=value))
    assert seen["HTTP_HOST"] == "b.example"


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"HTTP_X_FORWARDED_FOR": "203.0.113.9"}, id="only-x-forwarded-for"),
        pytest.param({"HTTP_X_FORWARDED_PREFIX": "/x", "HTTP_FORWARDED": ""}, id="empty-forwarded"),
    ],
)
def test_forwarded_mode_with_removal_ignores_the_other_family(headers: dict[str, str]) -> None:
    # Removal watches every proxy header; a trusted peer sending only
    # X-Forwarded-* must not reach the Forwarded parser (it was a KeyError).
    options = {"forwarded": 1, "trusted_proxies": ["10.0.0.1"], "remove_untrusted_headers": True}
    seen = run(fix(**options), make_environ(**headers))
    assert fields(seen) == fields(make_environ())
    assert seen["wsgi_flash.proxy_fix.chain"] == []
