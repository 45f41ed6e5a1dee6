"""Fuzz target: Host validation
=============================

The input, decoded as latin-1 like every WSGI header value, is a Host (or
``X-Forwarded-Host``) value. Checked for every input, against oracles
written here from the RFCs and against Django itself:

- :func:`split_host_port` accepts exactly RFC 3986 ``reg-name[:port]`` and
  ``[IPv6][:port]`` with a port 1-65535; what it accepts contains no
  ``/ ? # @ \\``, spaces, controls or non-ASCII, and splits back into the
  value; :func:`is_valid_host` agrees with it;
- :func:`parse_ip` and :func:`is_ip` agree with :mod:`ipaddress` (zone ids
  refused), and :func:`strip_port` only returns addresses;
- the malformed-request logger's host detectors find exactly what Django's
  own ``split_domain_port`` and ``validate_host`` (for several
  ``allowed_hosts``) say, except that what Django cannot parse, or a port
  outside 1-65535, is never allowed; and an IP address in any spelling a
  browser reads as one (WHATWG), each on one printable line,
  and the middleware logs every host finding (its pre-scan and clean-host
  cache hide none);
- behind :class:`ProxyFix` with ``x_host=1``, the app sees the forwarded
  host exactly when it is valid, else the original one.
"""

from __future__ import annotations

import ipaddress
import re
import string
import typing as t

import _harness
from django.http.request import split_domain_port as django_split_domain_port
from django.http.request import validate_host as django_validate_host

from wsgi_flash._net import is_ip, is_valid_host, parse_ip, split_host_port, strip_port
from wsgi_flash.malformed import MalformedRequestLogger
from wsgi_flash.malformed._checks import CHECKS_BY_ID, Facts, Limits
from wsgi_flash.proxy_fix import ProxyFix

REG_NAME = frozenset(string.ascii_letters + string.digits + "-._~!$&'()*+,;=")
HEX = frozenset(string.hexdigits)
UNSAFE = re.compile(r"[/?#@\\\s\x00-\x1f\x7f-\x9f]")
HOST_CHECKS = ("host.empty", "host.invalid", "host.not_allowed", "host.numeric_ip")
ALLOWED = (".example.com", "localhost", "[::1]")
PATTERN_SETS = (ALLOWED, ("example.com",), ("*",), (".b.c", "a"))
ORIGINAL = "origin.test"

seen: list[dict[str, t.Any]] = []


def app(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
    seen.append(dict(environ))
    start_response("204 No Content", [])
    return []


LOGGER = MalformedRequestLogger(
    app, allowed_hosts=ALLOWED, enable=("host.numeric_ip",), rate_limit=None
)
PROXY = ProxyFix(app, x_for=0, x_proto=0, x_host=1)


def is_reg_name(name: str) -> bool:
    position = 0
    while position < len(name):
        char = name[position]
        if char == "%":
            if not set(name[position + 1 : position + 3]) <= HEX or len(name) < position + 3:
                return False
            position += 3
        elif char in REG_NAME:
            position += 1
        else:
            return False
    return position > 0


def is_port(port: str) -> bool:
    return 0 < len(port) <= 5 and set(port) <= set(string.digits) and 0 < int(port) < 65536


def expected_split(value: str) -> tuple[str, str | None] | None:
    """RFC 3986 host [":" port], IPvFuture and zone ids left out."""
    if len(value) > 260:
        return None
    if value.startswith("["):
        literal, bracket, rest = value[1:].partition("]")
        if not bracket or "%" in literal:
            return None
        try:
            ipaddress.IPv6Address(literal)
        except ValueError:
            return None
        host = f"[{literal}]"
    else:
        host, colon, port = value.partition(":")
        if not is_reg_name(host):
            return None
        rest = colon + port
    if not rest:
        return host, None
    return (host, rest[1:]) if rest[0] == ":" and is_port(rest[1:]) else None


def ends_in_a_number(host: str) -> bool:
    """WHATWG's URL standard: a host whose last label, after one trailing
    dot, is a decimal or 0x-hex number is an IPv4 address to a browser."""
    last = (host[:-1] if host.endswith(".") else host).split(".")[-1]
    if last[:2] in ("0x", "0X"):
        return set(last[2:]) <= HEX
    return last != "" and set(last) <= set(string.digits)


def expected_ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if "%" in value:
        return None
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def check_net(value: str) -> tuple[str, str | None] | None:
    split = split_host_port(value)
    assert split == expected_split(value), (value, split)
    assert is_valid_host(value) == (split is not None)
    if split is not None:
        host, port = split
        assert value.isascii() and UNSAFE.search(value) is None, value
        assert value == (host if port is None else f"{host}:{port}")
    ip = parse_ip(value)
    assert ip == expected_ip(value), (value, ip)
    assert is_ip(value) == (ip is not None), value
    address = strip_port(value)
    if address is not None:
        assert expected_ip(address) is not None and address in value, (value, address)
    return split


def detect(check_id: str, value: str, allowed_hosts: tuple[str, ...]) -> bool:
    facts = Facts({"REQUEST_METHOD": "GET", "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": value})
    detector = CHECKS_BY_ID[check_id].detect
    assert detector is not None
    detail = detector(facts, Limits(allowed_hosts=allowed_hosts))
    assert detail is None or detail.isprintable(), (check_id, detail)
    return detail is not None


def check_detectors(value: str, split: tuple[str, str | None] | None) -> set[str]:
    """The host checks that fire with ``ALLOWED``; the others' answers for
    more ``allowed_hosts`` are compared with Django's too."""
    domain, port = django_split_domain_port(value)
    expected = set()
    if not value.strip():
        expected.add("host.empty")
    elif not domain:
        expected.add("host.invalid")
    if split is not None and (
        expected_ip(split[0].strip("[]")) is not None or ends_in_a_number(split[0])
    ):
        expected.add("host.numeric_ip")

    def allowed(patterns: tuple[str, ...]) -> bool:
        # Django's verdict, and what it cannot parse is not allowed (nor a
        # port outside 1-65535), whatever the patterns say.
        valid_port = not port or is_port(port)
        return bool(domain) and valid_port and django_validate_host(domain, patterns)

    for patterns in PATTERN_SETS:
        not_allowed = bool(value) and not allowed(patterns)
        assert detect("host.not_allowed", value, patterns) == not_allowed, (value, patterns)
    if value and not allowed(ALLOWED):
        expected.add("host.not_allowed")
    found = {check_id for check_id in HOST_CHECKS if detect(check_id, value, ALLOWED)}
    assert found == expected, (value, found, expected)
    return found


def check_logger(value: str, found: set[str]) -> None:
    seen.clear()
    environ = {
        "REQUEST_METHOD": "GET",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "PATH_INFO": "/",
        "QUERY_STRING": "",
        "RAW_URI": "/",
        "REMOTE_ADDR": "192.0.2.1",
        "HTTP_HOST": value,
    }
    assert list(LOGGER(environ, lambda status, headers, exc_info=None: None)) == []
    assert len(seen) == 1
    checks = {getattr(record, "check", "") for record in _harness.LOG.take()}
    logged = {check for check in checks if check.startswith("host.")}
    assert logged == found, (value, logged, found)


def check_proxy_fix(value: str) -> None:
    seen.clear()
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/",
        "SCRIPT_NAME": "",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": ORIGINAL,
        "SERVER_NAME": ORIGINAL,
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
        "HTTP_X_FORWARDED_HOST": value,
    }
    assert list(PROXY(environ, lambda status, headers, exc_info=None: None)) == []
    (got,) = seen
    # Werkzeug's choice: the last non-empty comma-separated item.
    items = [item.strip(" \t") for item in value.split(",") if item.strip(" \t")]
    split = expected_split(items[-1]) if items else None
    if split is None:
        assert (got["HTTP_HOST"], got["SERVER_NAME"]) == (ORIGINAL, ORIGINAL), (value, got)
        assert got["SERVER_PORT"] == "80"
    else:
        assert got["HTTP_HOST"] == items[-1], (value, got["HTTP_HOST"])
        assert (got["SERVER_NAME"], got["SERVER_PORT"]) == (split[0], split[1] or "80"), value
    _harness.LOG.take()


def fuzz_one_input(data: bytes) -> None:
    value = data.decode("latin-1")
    split = check_net(value)
    found = check_detectors(value, split)
    check_logger(value, found)
    check_proxy_fix(value)


if __name__ == "__main__":
    _harness.main(fuzz_one_input, "host")
