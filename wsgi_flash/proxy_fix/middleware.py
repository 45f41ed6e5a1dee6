"""Proxy header fixing
====================

Behind nginx, a load balancer or a CDN, the server sees the proxy as the
client. :class:`ProxyFix` restores the real client address, scheme, host,
port and prefix from the headers the proxies add, trusting only as many
hops, and only the peers, that it is told to trust, and only values that are
what their header promises.
"""

from __future__ import annotations

import logging
import re
import typing as t

from .._cache import BoundedCache
from .._logging import DEFAULT_RATE_LIMIT, LimitedLog, escape
from .._net import IPAddress, IPNetwork, NetworkSet, is_valid_port, parse_networks
from ._forwarded import (
    BEYOND,
    MAX_ELEMENTS,
    client_address,
    forwarded_from_right,
    is_host,
    last_items,
    node_address,
    pick,
)

if t.TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from ..metrics import PrometheusMetrics

logger = logging.getLogger("wsgi_flash.proxy")

#: The request headers that ``remove_untrusted_headers`` deletes.
PROXY_HEADERS = (
    "HTTP_FORWARDED",
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_X_FORWARDED_PREFIX",
)
# Werkzeug's orig record: these keys, None when the server did not set one.
_ORIG_KEYS = (
    "REMOTE_ADDR",
    "wsgi.url_scheme",
    "HTTP_HOST",
    "SERVER_NAME",
    "SERVER_PORT",
    "SCRIPT_NAME",
)
_SCHEMES = {"http": "http", "https": "https"}
_PCHAR = r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})"
# RFC 3986 path-absolute: "/" not followed by a second "/", which keeps
# "//evil.com" (a network-path reference) out of SCRIPT_NAME; no "\" either,
# which browsers read as "/".
_PREFIX = re.compile(rf"/(?:{_PCHAR}+(?:/{_PCHAR}*)*)?\Z")


def _count(name: str, value: object) -> int:
    if type(value) is bool or not isinstance(value, int):
        raise TypeError(
            f"{name} must be an int, the number of proxies that set the header,"
            f" not {type(value).__name__}"
        )
    # Not str(value) of any int: past 4,300 digits that raises ValueError.
    shown = value if abs(value) < 10**6 else "a huge number"
    if value < 0:
        raise ValueError(f"{name} must be 0 (ignore the header) or a number of proxies: {shown}")
    if value > MAX_ELEMENTS:
        raise ValueError(
            f"{name}={shown} exceeds the {MAX_ELEMENTS} hops a header is read for;"
            " count only the proxies in front of this server"
        )
    return int(value)


def _tail(value: str) -> str:
    """The right end of a header value, where the hops used are, for a log
    line (which keeps the first 200 characters of what it is given)."""
    return value if len(value) <= 200 else "..." + value[-197:]


# waitress removes these (its PROXY_HEADERS) unless told otherwise.
_WAITRESS_CLEARS = frozenset(PROXY_HEADERS) - {"HTTP_X_FORWARDED_PREFIX"}


def _waitress_settings(environ: WSGIEnvironment) -> tuple[bool, str | None] | None:
    """``(clear_untrusted_proxy_headers, trusted_proxy)`` of the waitress
    server that built ``environ``, or None if they cannot be read (another
    server, or a waitress release that keeps them elsewhere).
    ``waitress.client_disconnected`` is the channel's bound method, and the
    channel holds the server's adjustments."""
    channel = getattr(environ.get("waitress.client_disconnected"), "__self__", None)
    settings = getattr(channel, "adj", None)
    clear = getattr(settings, "clear_untrusted_proxy_headers", None)
    if type(clear) is not bool:
        return None
    trusted_proxy = getattr(settings, "trusted_proxy", None)
    return clear, trusted_proxy if isinstance(trusted_proxy, str) else None


class ProxyFix:
    """Set the client address, scheme, host, port and prefix from the headers
    that trusted proxies add, validating every value.

    With hop counts only, the app sees what Werkzeug's
    :class:`~werkzeug.middleware.proxy_fix.ProxyFix` gives for well-formed
    values. A value that is not what its header promises is ignored (that
    field stays as it was) and logged on the ``wsgi_flash.proxy`` logger:

    -   ``X-Forwarded-For`` sets ``REMOTE_ADDR`` to an IP address (an
        ``ip:port`` entry loses its port);
    -   ``X-Forwarded-Proto`` sets ``wsgi.url_scheme`` to http or https;
    -   ``X-Forwarded-Host`` sets ``HTTP_HOST``, ``SERVER_NAME`` and
        ``SERVER_PORT`` to an RFC 3986 ``host[:port]``;
    -   ``X-Forwarded-Port`` sets the port (1-65535) in ``HTTP_HOST`` and
        ``SERVER_PORT``;
    -   ``X-Forwarded-Prefix`` sets ``SCRIPT_NAME`` to an absolute path that
        does not start with ``//``, without a trailing ``/``.

    With ``trusted_proxies``, the other ``X-Forwarded-*`` headers are trusted
    no further back than the hop where ``X-Forwarded-For`` found the client.
    A server that breaks PEP 3333 by passing ``REMOTE_ADDR`` or a proxy header
    as something other than a str (bytes, a number) gets the proxy headers
    ignored and a WARNING, not a 500.

    Proxies append to these headers, so what a client sends ends up on the
    left: each header is read from the right, only as far as the hop count
    (at most 64) or the walk past ``trusted_proxies`` needs, and never
    beyond its last 8192 characters, so nothing further left (a syntax
    error, a repeated parameter, a megabyte of entries) changes the result
    or costs more. A hop that is needed but malformed is ignored and
    logged, and the field stays as it was. ``REMOTE_ADDR`` is the address
    as the proxy wrote it, except that an IPv4-mapped IPv6 address is always
    spelled ``::ffff:192.0.2.1`` (RFC 5952), on every Python version.

    WARNINGs about request data are rate-limited per kind (``rate_limit``),
    and :attr:`stats` counts them. Served by waitress, whose default removes
    ``X-Forwarded-*`` and ``Forwarded`` before any middleware sees them (or
    applies them itself, with its ``trusted_proxy``), it logs one WARNING
    saying which waitress setting to change.

    ``environ["wsgi_flash.proxy_fix.orig"]`` (also ``werkzeug.proxy_fix.orig``)
    is a copy of the environ as it arrived, and
    ``environ["wsgi_flash.proxy_fix.chain"]`` lists the hops read from
    ``X-Forwarded-For`` or ``Forwarded`` (at most the hop count), leftmost
    first, as dicts.

    :param app: the WSGI application to wrap.
    :param x_for: number of proxies that append to ``X-Forwarded-For``;
        by default 1, as in Werkzeug, or 0 when ``forwarded`` is set.
    :param x_proto: number of proxies that set ``X-Forwarded-Proto``;
        by default 1, or 0 when ``forwarded`` is set.
    :param x_host: number of proxies that set ``X-Forwarded-Host``.
    :param x_port: number of proxies that set ``X-Forwarded-Port``.
    :param x_prefix: number of proxies that set ``X-Forwarded-Prefix``.
    :param forwarded: number of proxies that append to the RFC 7239
        ``Forwarded`` header. When nonzero, only ``Forwarded`` is read; its
        ``for``, ``proto`` and ``host`` set the same fields. Passing a nonzero
        ``x_*`` count as well raises :exc:`ValueError`.
    :param trusted_proxies: addresses and CIDR networks (IPv4 or IPv6) of
        the proxies, and the names ``"loopback"`` and ``"private"``. Headers
        are then applied only when ``REMOTE_ADDR`` is one of them, and the
        client is the rightmost hop that is not, at most as many hops back as
        ``x_for`` or ``forwarded`` allows.
    :param remove_untrusted_headers: with ``trusted_proxies``, delete the
        :data:`PROXY_HEADERS` from the environ of a request that did not come
        from a trusted proxy, so the app cannot read them by accident.
    :param rate_limit: ``(burst, period)`` of the WARNINGs of each kind
        (untrusted peer, each header's invalid values), or None to log all.
    :param metrics: a :class:`~wsgi_flash.metrics.PrometheusMetrics` that
        counts ignored headers by the kind of their WARNING; None counts
        nothing.

    .. code-block:: python

        from wsgi_flash.proxy_fix import ProxyFix

        # One nginx on the same host, sending the RFC 7239 header.
        app = ProxyFix(app, forwarded=1, trusted_proxies=["loopback"])

    .. versionadded:: 0.1
    .. versionchanged:: 0.3
        The ``metrics`` parameter.
    """

    def __init__(
        self,
        app: WSGIApplication,
        x_for: int | None = None,
        x_proto: int | None = None,
        x_host: int = 0,
        x_port: int = 0,
        x_prefix: int = 0,
        *,
        forwarded: int = 0,
        trusted_proxies: t.Iterable[str | IPAddress | IPNetwork] | None = None,
        remove_untrusted_headers: bool = False,
        rate_limit: tuple[int, float] | None = DEFAULT_RATE_LIMIT,
        metrics: PrometheusMetrics | None = None,
    ) -> None:
        if metrics is not None:
            from ..metrics import check_metrics

            check_metrics(metrics, "ProxyFix")
        self.app = app
        self.forwarded = _count("forwarded", forwarded)
        # Werkzeug's defaults trust one proxy for X-Forwarded-For and -Proto;
        # None tells them from an explicit 1, so that forwarded=1 alone
        # turns them off while forwarded=1 with x_for=1 is refused.
        given = {"x_for": x_for, "x_proto": x_proto, "x_host": x_host}
        given.update(x_port=x_port, x_prefix=x_prefix)
        counts = {
            name: 0
            if value is None and self.forwarded
            else _count(name, 1 if value is None else value)
            for name, value in given.items()
        }
        if self.forwarded:
            mixed = [name for name, n in counts.items() if n]
            if mixed:
                raise ValueError(
                    f"forwarded cannot be combined with {', '.join(mixed)}: trusting both header"
                    " families lets a client smuggle values through the one a proxy does not"
                    " rewrite; configure your proxies to send one of them"
                )
            counts = dict.fromkeys(counts, 0)
        self._counts = tuple(counts.values())
        self.x_for, self.x_proto, self.x_host, self.x_port, self.x_prefix = self._counts
        self.trusted_proxies: NetworkSet | None = None
        if trusted_proxies is not None:
            networks = parse_networks(trusted_proxies, "trusted_proxies")
            self.trusted_proxies = NetworkSet(networks)
        if type(remove_untrusted_headers) is not bool:
            raise TypeError("remove_untrusted_headers must be True or False")
        if remove_untrusted_headers and self.trusted_proxies is None:
            raise ValueError(
                "remove_untrusted_headers needs trusted_proxies to tell which peers are proxies"
            )
        self.remove_untrusted_headers = remove_untrusted_headers
        if self.forwarded:
            read: tuple[str, ...] = ("HTTP_FORWARDED",)
        else:
            read = tuple(key for key, n in zip(PROXY_HEADERS[1:], counts.values()) if n)
        # A request with none of these headers passes through untouched.
        self._watched = PROXY_HEADERS if remove_untrusted_headers else read
        # What PEP 3333 says must be a str before it is parsed: the headers
        # watched, and the peer's address if it is checked.
        watched = self._watched
        self._str_keys = watched if self.trusted_proxies is None else ("REMOTE_ADDR", *watched)
        # Until the first request has shown which server this is.
        self._server_unchecked = bool(_WAITRESS_CLEARS.intersection(read))
        self._log = LimitedLog(
            logger, rate_limit, count=None if metrics is None else metrics.proxy_header_ignored
        )
        self.rate_limit = self._log.rate_limit
        self.metrics = metrics
        # What this instance made of header values it has seen (see
        # _read_for and _read_forwarded): values, not verdicts on them, are
        # what a client repeats, and these answers hang on the settings too.
        # Keyed by whole header values; past 256 characters a value is a
        # client's own and is read afresh each time.
        self._for_memo: BoundedCache[str, tuple[tuple[dict[str, str], ...], int, str, str]] = (
            BoundedCache(max_entries=1024, max_key_length=256)
        )
        self._forwarded_memo: BoundedCache[str, tuple[list[dict[str, str]], dict[str, str]]] = (
            BoundedCache(max_entries=1024, max_key_length=256)
        )

    @property
    def stats(self) -> dict[str, dict[str, int]]:
        """A snapshot of the WARNING counters per kind: ``logged`` and
        ``suppressed`` (by the rate limit)."""
        return self._log.stats()

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> t.Iterable[bytes]:
        # A shallow copy is one C call, a third of the cost of picking
        # Werkzeug's six keys one by one, and it keeps the proxy headers too.
        orig = environ.copy()
        if "HTTP_HOST" not in orig or "REMOTE_ADDR" not in orig or "SCRIPT_NAME" not in orig:
            for key in _ORIG_KEYS:
                orig.setdefault(key, None)
        environ["wsgi_flash.proxy_fix.orig"] = environ["werkzeug.proxy_fix.orig"] = orig
        chain: list[dict[str, str]] = []
        environ["wsgi_flash.proxy_fix.chain"] = chain
        if self._server_unchecked:
            self._check_server(environ)
        # PEP 3333 makes every header a str; a server that hands over bytes or
        # a number gets the proxy headers ignored and a WARNING, not a 500.
        # Checked in the loop that looks for the headers: a loop of its own
        # cost a proxied request some 2,000 instructions.
        proxied = False
        for key in self._watched:
            value = environ.get(key)
            if value is not None:
                if not isinstance(value, str):
                    return self._server_broke_pep_3333(environ, start_response)
                proxied = True
        if not proxied:  # no proxy header: a direct request costs nothing more
            return self.app(environ, start_response)
        trusted = self.trusted_proxies
        if trusted is not None:
            peer = environ.get("REMOTE_ADDR", "")
            if not isinstance(peer, str):
                return self._server_broke_pep_3333(environ, start_response)
            if not trusted.contains(peer):
                self._ignore(environ)
                return self.app(environ, start_response)
        if self.forwarded:
            self._apply_forwarded(environ, chain)
        else:
            # X-Forwarded-* mode, inline: this is the path every proxied request
            # takes. Each header first tries the common case (one valid value)
            # with a dict lookup; the general path picks, validates and logs.
            get = environ.get
            x_for, x_proto, x_host, x_port, x_prefix = self._counts
            value = get("HTTP_X_FORWARDED_FOR") if x_for else None
            if value:
                # A client's requests repeat one value: reading it is one lookup.
                known = self._for_memo.get(value)
                hops_read, hops, entry, address = known or self._read_for(value)
                # Copies, so that an app changing its chain cannot change the memo.
                chain += map(dict.copy, hops_read)
                if hops:
                    if trusted is not None:  # the other headers are trusted no further back
                        x_proto, x_host = min(x_proto, hops), min(x_host, hops)
                        x_port, x_prefix = min(x_port, hops), min(x_prefix, hops)
                    if address:
                        environ["REMOTE_ADDR"] = address
                    else:
                        self._reject("X-Forwarded-For", entry, "not an IP address")

            value = get("HTTP_X_FORWARDED_PROTO") if x_proto else None
            if value:
                scheme = _SCHEMES.get(value) if x_proto == 1 else None
                if scheme is not None:
                    environ["wsgi.url_scheme"] = scheme
                else:
                    self._set_scheme(environ, "X-Forwarded-Proto", pick(value, x_proto))

            value = get("HTTP_X_FORWARDED_HOST") if x_host else None
            if value:
                # Commas are valid in a reg-name but split the list, and a port
                # must also set SERVER_PORT: both take the general path.
                if x_host == 1 and "," not in value and ":" not in value and is_host(value):
                    environ["HTTP_HOST"] = environ["SERVER_NAME"] = value
                else:
                    self._set_host(environ, "X-Forwarded-Host", pick(value, x_host))

            if x_port or x_prefix:
                self._apply_port_and_prefix(environ, x_port, x_prefix)
        return self.app(environ, start_response)

    def _server_broke_pep_3333(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> t.Iterable[bytes]:
        """The server gave ``REMOTE_ADDR`` or a proxy header a value that is
        not a str (bytes, a number): call the app as for a request from an
        untrusted peer, with a WARNING instead of a 500."""
        odd = [
            f"{key}={type(environ[key]).__name__}"
            for key in self._str_keys
            if not isinstance(environ.get(key, ""), str)
        ]
        if self.remove_untrusted_headers:
            for key in PROXY_HEADERS:
                environ.pop(key, None)
        self._log.warning(
            "server_not_pep_3333",
            "%s the proxy headers: the server passed %s, not str (PEP 3333)",
            "removed" if self.remove_untrusted_headers else "ignored",
            ", ".join(odd),
        )
        return self.app(environ, start_response)

    def _read_for(self, value: str) -> tuple[tuple[dict[str, str], ...], int, str, str]:
        """Read an ``X-Forwarded-For`` value from the right: the hops read as
        chain entries (leftmost first), how many hops from the right the
        client is (0: too few hops), the client's entry, and its address
        (``""`` if it is not one). The answer depends only on the value and
        this instance's settings, so it is remembered."""
        entries = last_items(value, self.x_for)  # the rightmost first
        trusted = self.trusted_proxies
        if trusted is None:
            hops = self.x_for if len(entries) == self.x_for else 0
        else:
            # The rightmost address that is not a trusted proxy, else the
            # leftmost allowed; what lies further left is not the chain.
            hops = len(entries)
            for hop, entry in enumerate(entries[:-1], 1):
                if not trusted.contains(client_address(entry)):
                    hops = hop
                    break
            del entries[hops:]
        client = entries[-1] if hops else ""
        # BEYOND stands for what was not read, so it is no hop of the chain.
        hops_read = tuple({"for": entry} for entry in reversed(entries) if entry is not BEYOND)
        read = (hops_read, hops, client, client_address(client) if hops else "")
        self._for_memo.remember(value, read)
        return read

    def _reject(self, header: str, value: str, reason: str) -> None:
        kind = "bad_" + header.split(" ", 1)[0].lower().replace("-", "_")
        self._log.warning(kind, "ignored %s %s: %s", header, escape(value), reason)

    def _check_server(self, environ: WSGIEnvironment) -> None:
        """On the first request: if the server is waitress and its settings
        keep the headers this instance reads from reaching it, say once
        which setting to change. waitress removes ``X-Forwarded-For/-Proto/
        -Host/-Port`` and ``Forwarded`` by default (its
        ``clear_untrusted_proxy_headers``), and with ``trusted_proxy`` it
        applies them itself, so ProxyFix would silently do nothing, or see
        the client as its peer."""
        software = environ.get("SERVER_SOFTWARE")
        if "waitress.client_disconnected" not in environ and not (
            isinstance(software, str) and software.startswith("waitress")
        ):
            self._server_unchecked = False
            return
        settings = _waitress_settings(environ)
        if settings is None:
            # Settings unknown: judge by what arrives. Headers from a
            # proxy are the sign they get through.
            if any(key in environ for key in self._watched):
                self._server_unchecked = False
                return
            trusted = self.trusted_proxies
            # "in", not a lookup: REMOTE_ADDR may be unhashable here, where
            # the PEP 3333 fallback does not reach.
            if trusted is not None and environ.get("REMOTE_ADDR") not in trusted:
                return  # a direct request from elsewhere says nothing
            problem = (
                "probably removed the proxy headers (clear_untrusted_proxy_headers, on by"
                " default): none arrived from the proxy"
            )
        elif settings[1] is not None:
            problem = (
                f"applies the proxy headers itself (trusted_proxy={escape(settings[1])}), so"
                " ProxyFix sees the client as the peer"
            )
        elif settings[0]:
            problem = (
                "removes X-Forwarded-For/-Proto/-Host/-Port and Forwarded before ProxyFix sees"
                " them (clear_untrusted_proxy_headers, on by default), so ProxyFix changes"
                " nothing"
            )
        else:
            self._server_unchecked = False
            return
        self._server_unchecked = False
        self._log.warning(
            "server_config",
            "waitress %s; either let ProxyFix do it (waitress-serve"
            " --no-clear-untrusted-proxy-headers, without --trusted-proxy) or let waitress"
            " do it (--trusted-proxy and --trusted-proxy-headers) without ProxyFix",
            problem,
        )

    def _ignore(self, environ: WSGIEnvironment) -> None:
        present = [key for key in PROXY_HEADERS if key in environ]
        if self.remove_untrusted_headers:
            for key in present:
                del environ[key]
        self._log.warning(
            "untrusted_peer",
            "%s %s from untrusted peer %s",
            "removed" if self.remove_untrusted_headers else "ignored",
            ", ".join(key[5:].replace("_", "-").title() for key in present),
            escape(environ.get("REMOTE_ADDR")),
        )

    def _apply_port_and_prefix(self, environ: WSGIEnvironment, x_port: int, x_prefix: int) -> None:
        value = environ.get("HTTP_X_FORWARDED_PORT") if x_port else None
        port = pick(value, x_port) if value else None
        if port and not is_valid_port(port):
            self._reject("X-Forwarded-Port", port, "not a port number 1-65535")
        elif port:
            host = environ.get("HTTP_HOST")
            if host:
                # A "]" ends an IPv6 literal without a port.
                if ":" in host and not host.endswith("]"):
                    host = host.rsplit(":", 1)[0]
                environ["HTTP_HOST"] = f"{host}:{port}"
            environ["SERVER_PORT"] = port

        value = environ.get("HTTP_X_FORWARDED_PREFIX") if x_prefix else None
        prefix = pick(value, x_prefix) if value else None
        if prefix and _PREFIX.match(prefix) is None:
            self._reject("X-Forwarded-Prefix", prefix, "not an absolute path starting with one /")
        elif prefix:
            # PEP 3333 wants no trailing "/" (Werkzeug's request strips it
            # anyway); "/" + a PATH_INFO of "/evil.com" would be "//evil.com".
            environ["SCRIPT_NAME"] = prefix.rstrip("/")

    def _apply_forwarded(self, environ: WSGIEnvironment, chain: list[dict[str, str]]) -> None:
        # With remove_untrusted_headers every proxy header is watched, so a
        # trusted peer may get here with X-Forwarded-* and no Forwarded.
        value = environ.get("HTTP_FORWARDED")
        if value is None:
            return
        # A client's requests repeat one value: applying it is one lookup.
        elements, fields = self._forwarded_memo.get(value) or self._read_forwarded(value)
        # Copies, so that an app changing its chain cannot change the memo.
        chain += map(dict.copy, elements)
        environ.update(fields)

    def _read_forwarded(self, value: str) -> tuple[list[dict[str, str]], dict[str, str]]:
        """Read a ``Forwarded`` value from the right, as far as needed: the
        elements read (leftmost first) and the environ fields they set. The
        answer depends only on the value and this instance's settings, so
        it is remembered, unless part of it was rejected: that is logged on
        every request that sends it."""
        # Walk past trusted proxies only if more than one hop may be read.
        walk = self.trusted_proxies if self.forwarded > 1 else None
        read: list[dict[str, str]] = []  # the rightmost first
        element = None
        for found in forwarded_from_right(value):
            if isinstance(found, str):  # the next element needed is unreadable
                self._reject("Forwarded", _tail(value), found)
                return read[::-1], {}
            read.append(found)
            if len(read) == self.forwarded or (
                walk is not None
                and not walk.contains(node_address(found.get("for", "unknown"))[0] or "")
            ):
                element = found
                break
        else:  # fewer elements than hops: with the walk, all of them trusted
            if walk is not None and read:
                element = read[-1]
        read.reverse()
        fields: dict[str, str] = {}
        if element is None:
            self._forwarded_memo.remember(value, (read, fields))
            return read, fields
        accepted = True
        node = element.get("for")
        if node is not None:
            address, valid = node_address(node)
            if address is not None:
                fields["REMOTE_ADDR"] = address
            elif not valid:
                self._reject(
                    "Forwarded for", node, "not an IP address, unknown or _obfuscated node"
                )
                accepted = False
        proto = element.get("proto")
        if proto is not None:
            accepted &= self._set_scheme(fields, "Forwarded proto", proto)
        host = element.get("host")
        if host is not None:
            accepted &= self._set_host(fields, "Forwarded host", host)
        if accepted:
            self._forwarded_memo.remember(value, (read, fields))
        return read, fields

    def _set_scheme(
        self, environ: t.MutableMapping[str, t.Any], header: str, value: str | None
    ) -> bool:
        """Set the scheme from ``value``; False if it was rejected."""
        if value is None:
            return True
        scheme = _SCHEMES.get(value.lower())
        if scheme is None:
            self._reject(header, value, "not http or https")
            return False
        environ["wsgi.url_scheme"] = scheme
        return True

    def _set_host(
        self, environ: t.MutableMapping[str, t.Any], header: str, value: str | None
    ) -> bool:
        """Set the host (and port) from ``value``; False if it was rejected."""
        if value is None:
            return True
        if not is_host(value):
            self._reject(header, value, "not an RFC 3986 host[:port]")
            return False
        environ["HTTP_HOST"] = environ["SERVER_NAME"] = value
        # A "]" ends an IPv6 literal without a port.
        if ":" in value and not value.endswith("]"):
            environ["SERVER_NAME"], environ["SERVER_PORT"] = value.rsplit(":", 1)
        return True
