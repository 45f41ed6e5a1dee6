"""Proxy header fixing
====================

Behind nginx, a load balancer or a CDN, the server sees the proxy as the
client. :class:`ProxyFix` restores the real client address, scheme, host,
port and prefix from the headers the proxies add, trusting only as many
hops, and only the peers, that it is told to trust, and only values that are
what their header promises.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import typing as t

from ._forwarded import MAX_ELEMENTS, node_address, parse_forwarded
from ._logging import escape
from ._net import IPAddress, IPNetwork, NetworkSet, is_valid_port, split_host_port, strip_port

if t.TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

logger = logging.getLogger("wsgi_flash.proxy")

#: Networks behind the names ``trusted_proxies`` accepts.
NAMED_NETWORKS: dict[str, tuple[str, ...]] = {
    "loopback": ("127.0.0.0/8", "::1/128"),
    "private": ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"),
}

#: The request headers that ``remove_untrusted_headers`` deletes.
PROXY_HEADERS = (
    "HTTP_FORWARDED",
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_X_FORWARDED_PREFIX",
)

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
# RFC 3986 path-absolute: "/" not followed by a second "/", which is what
# keeps "//evil.com" (a network-path reference) out of SCRIPT_NAME. No "\\"
# either, which browsers read as "/".
_PREFIX = re.compile(rf"/(?:{_PCHAR}+(?:/{_PCHAR}*)*)?\Z")
_CACHE_SIZE = 1024
# Verdicts on header values, remembered because the same few proxies and
# hosts repeat. Each is emptied when full so clients cannot grow it.
_addresses: dict[str, str] = {}
_hosts: dict[str, bool] = {}


class _DefaultCount(int):
    """The default 1 of ``x_for`` and ``x_proto``, told apart from an
    explicit 1 so that ``ProxyFix(app, forwarded=1)`` can drop it."""

    __slots__ = ()


_DEFAULT_COUNT = _DefaultCount(1)


def _pick(value: str, count: int) -> str | None:
    """Werkzeug's choice: the ``count``-th non-empty item from the right of a
    comma-separated value, or None if there are fewer."""
    if "," not in value:
        return (value.strip(" \t") or None) if count == 1 else None
    items = _split(value)
    return items[-count] if len(items) >= count else None


def _split(value: str) -> list[str]:
    """Werkzeug's list: the non-empty items, stripped of spaces and tabs.
    Quotes are not special: no proxy quotes these values, and an item with
    quotes fails validation."""
    if "," not in value:
        stripped = value.strip(" \t")
        return [stripped] if stripped else []
    return [stripped for item in value.split(",") if (stripped := item.strip(" \t"))]


def _address(entry: str) -> str:
    """The address in an X-Forwarded-For entry, or ``""`` if there is none."""
    address = _addresses.get(entry)
    if address is None:
        address = strip_port(entry) or ""
        if len(_addresses) >= _CACHE_SIZE:
            _addresses.clear()
        _addresses[entry] = address
    return address


def _is_valid_host(value: str) -> bool:
    verdict = _hosts.get(value)
    if verdict is None:
        verdict = split_host_port(value) is not None
        if len(_hosts) >= _CACHE_SIZE:
            _hosts.clear()
        _hosts[value] = verdict
    return verdict


def _reject(header: str, value: str, reason: str) -> None:
    logger.warning("ignored %s %s: %s", header, escape(value), reason)


def _count(name: str, value: object) -> int:
    if type(value) is bool or not isinstance(value, int):
        raise TypeError(
            f"{name} must be an int, the number of proxies that set the header,"
            f" not {type(value).__name__}"
        )
    if value < 0:
        raise ValueError(
            f"{name} must be 0 (ignore the header) or a number of proxies, not {value}"
        )
    return int(value)


def _networks(trusted_proxies: t.Iterable[object]) -> list[IPNetwork]:
    if isinstance(trusted_proxies, (str, bytes)):
        raise TypeError(
            "trusted_proxies must be a list of addresses, networks or names, not a single"
            f" string; write trusted_proxies=[{trusted_proxies!r}]"
        )
    networks: list[IPNetwork] = []
    for spec in trusted_proxies:
        if isinstance(spec, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
            networks.append(spec)
            continue
        if isinstance(spec, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
            networks.append(ipaddress.ip_network(spec))
            continue
        if not isinstance(spec, str):
            raise TypeError(
                "trusted_proxies entries must be strings such as '10.0.0.0/8', '::1' or"
                f" 'loopback', not {type(spec).__name__}"
            )
        if spec == "*":
            raise ValueError(
                "trusted_proxies=['*'] would trust every peer; leave trusted_proxies=None"
                " to trust the configured hop counts alone"
            )
        for text in NAMED_NETWORKS.get(spec.strip().lower(), (spec.strip(),)):
            try:
                networks.append(ipaddress.ip_network(text))
            except ValueError as error:
                raise ValueError(
                    f"trusted_proxies entry {spec!r} is not an IP address, a CIDR network with"
                    f" no host bits set (such as '10.0.0.0/8'), 'loopback' or 'private': {error}"
                ) from None
    if not networks:
        raise ValueError("trusted_proxies is empty; leave it None to trust hop counts alone")
    return networks


class ProxyFix:
    """Set the client address, scheme, host, port and prefix from the headers
    that trusted proxies add, validating every value.

    With hop counts only, the environ the app sees is what Werkzeug's
    :class:`~werkzeug.middleware.proxy_fix.ProxyFix` gives for well-formed
    values; values that are not what their header promises are ignored and
    logged on the ``wsgi_flash.proxy`` logger.

    -   ``X-Forwarded-For`` sets ``REMOTE_ADDR`` (an ``ip:port`` entry
        loses its port);
    -   ``X-Forwarded-Proto`` sets ``wsgi.url_scheme`` (``http``/``https``);
    -   ``X-Forwarded-Host`` sets ``HTTP_HOST``, ``SERVER_NAME`` and
        ``SERVER_PORT``;
    -   ``X-Forwarded-Port`` sets the port in ``HTTP_HOST`` and
        ``SERVER_PORT``;
    -   ``X-Forwarded-Prefix`` sets ``SCRIPT_NAME`` (an absolute path).

    The values before the change are kept in
    ``environ["wsgi_flash.proxy_fix.orig"]`` (also as
    ``werkzeug.proxy_fix.orig``), and the hops read from ``X-Forwarded-For``
    or ``Forwarded``, leftmost first, as dicts in
    ``environ["wsgi_flash.proxy_fix.chain"]``.

    :param app: the WSGI application to wrap.
    :param x_for: number of proxies that append to ``X-Forwarded-For``.
    :param x_proto: number of proxies that set ``X-Forwarded-Proto``.
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

    .. code-block:: python

        from wsgi_flash.proxy_fix import ProxyFix

        # One nginx on the same host, sending the RFC 7239 header.
        app = ProxyFix(app, forwarded=1, trusted_proxies=["loopback"])

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        app: WSGIApplication,
        x_for: int = _DEFAULT_COUNT,
        x_proto: int = _DEFAULT_COUNT,
        x_host: int = 0,
        x_port: int = 0,
        x_prefix: int = 0,
        *,
        forwarded: int = 0,
        trusted_proxies: t.Iterable[str | IPAddress | IPNetwork] | None = None,
        remove_untrusted_headers: bool = False,
    ) -> None:
        self.app = app
        given = {"x_for": x_for, "x_proto": x_proto, "x_host": x_host}
        given.update(x_port=x_port, x_prefix=x_prefix)
        counts = {name: _count(name, value) for name, value in given.items()}
        self.forwarded = _count("forwarded", forwarded)
        if self.forwarded:
            if self.forwarded > MAX_ELEMENTS:
                raise ValueError(
                    f"forwarded={forwarded} exceeds the {MAX_ELEMENTS} hops a Forwarded header"
                    " may list"
                )
            mixed = [name for name, n in given.items() if n and n is not _DEFAULT_COUNT]
            if mixed:
                raise ValueError(
                    f"forwarded cannot be combined with {', '.join(mixed)}: trusting both header"
                    " families lets a client smuggle values through the one a proxy does not"
                    " rewrite; configure your proxies to send one of them"
                )
            counts = dict.fromkeys(counts, 0)
        self.x_for = counts["x_for"]
        self.x_proto = counts["x_proto"]
        self.x_host = counts["x_host"]
        self.x_port = counts["x_port"]
        self.x_prefix = counts["x_prefix"]
        self._counts = tuple(counts.values())
        self.trusted_proxies: NetworkSet | None = None
        if trusted_proxies is not None:
            self.trusted_proxies = NetworkSet(_networks(trusted_proxies))
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

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> t.Iterable[bytes]:
        # A shallow copy is a C-level memcpy, three times cheaper than
        # picking Werkzeug's six keys one by one, and it keeps the original
        # proxy headers too. Werkzeug records None for a missing key.
        orig = environ.copy()
        if "HTTP_HOST" not in orig or "REMOTE_ADDR" not in orig or "SCRIPT_NAME" not in orig:
            for key in _ORIG_KEYS:
                orig.setdefault(key, None)
        environ["wsgi_flash.proxy_fix.orig"] = environ["werkzeug.proxy_fix.orig"] = orig
        chain: list[dict[str, str]] = []
        environ["wsgi_flash.proxy_fix.chain"] = chain
        for key in self._watched:
            if key in environ:
                break
        else:  # no proxy header: the common direct request costs nothing more
            return self.app(environ, start_response)
        trusted = self.trusted_proxies
        if trusted is not None and environ.get("REMOTE_ADDR") not in trusted:
            self._ignore(environ)
        elif self.forwarded:
            self._apply_forwarded(environ, chain)
        else:
            self._apply_x_forwarded(environ, chain)
        return self.app(environ, start_response)

    def _ignore(self, environ: WSGIEnvironment) -> None:
        present = [key for key in PROXY_HEADERS if key in environ]
        if self.remove_untrusted_headers:
            for key in present:
                del environ[key]
        logger.warning(
            "%s %s from untrusted peer %s",
            "removed" if self.remove_untrusted_headers else "ignored",
            ", ".join(key[5:].replace("_", "-").title() for key in present),
            escape(environ.get("REMOTE_ADDR")),
        )

    def _apply_x_forwarded(self, environ: WSGIEnvironment, chain: list[dict[str, str]]) -> None:
        get = environ.get
        x_for, x_proto, x_host, x_port, x_prefix = self._counts
        value = get("HTTP_X_FORWARDED_FOR") if x_for else None
        if value:
            # The hops, split as Werkzeug does (see _split) and recorded in one go.
            if "," in value:
                chain += [
                    {"for": entry} for item in value.split(",") if (entry := item.strip(" \t"))
                ]
            elif value[0] in " \t" or value[-1] in " \t":
                chain += [{"for": entry} for entry in _split(value)]
            else:
                chain.append({"for": value})
            if self.trusted_proxies is None:
                hops = x_for if len(chain) >= x_for else 0
            else:
                hops = self._walk([_address(hop["for"]) for hop in chain[-x_for:]])
                # The other headers are trusted no further back than the client.
                if hops:
                    x_proto, x_host = min(x_proto, hops), min(x_host, hops)
                    x_port, x_prefix = min(x_port, hops), min(x_prefix, hops)
            if hops:
                entry = chain[-hops]["for"]
                address = _addresses.get(entry) or _address(entry)
                if address:
                    environ["REMOTE_ADDR"] = address
                else:
                    _reject("X-Forwarded-For", entry, "not an IP address")

        # Each header first tries the common case, one value that is fine,
        # with a dict lookup; the general path picks, validates and logs.
        value = get("HTTP_X_FORWARDED_PROTO") if x_proto else None
        if value:
            scheme = _SCHEMES.get(value) if x_proto == 1 else None
            if scheme is not None:
                environ["wsgi.url_scheme"] = scheme
            else:
                scheme = _pick(value, x_proto)
                if scheme:
                    self._set_scheme(environ, "X-Forwarded-Proto", scheme)

        value = get("HTTP_X_FORWARDED_HOST") if x_host else None
        if value:
            if x_host == 1 and "," not in value and ":" not in value and _hosts.get(value):
                environ["HTTP_HOST"] = environ["SERVER_NAME"] = value
            else:
                host = _pick(value, x_host)
                if host:
                    self._set_host(environ, "X-Forwarded-Host", host)

        value = get("HTTP_X_FORWARDED_PORT") if x_port else None
        if value:
            port = _pick(value, x_port)
            if port and not is_valid_port(port):
                _reject("X-Forwarded-Port", port, "not a port number 1-65535")
            elif port:
                host = get("HTTP_HOST")
                if host:
                    # A "]" ends an IPv6 literal without a port.
                    if ":" in host and not host.endswith("]"):
                        host = host.rsplit(":", 1)[0]
                    environ["HTTP_HOST"] = f"{host}:{port}"
                environ["SERVER_PORT"] = port

        value = get("HTTP_X_FORWARDED_PREFIX") if x_prefix else None
        if value:
            prefix = _pick(value, x_prefix)
            if prefix and _PREFIX.match(prefix) is None:
                _reject("X-Forwarded-Prefix", prefix, "not an absolute path starting with one /")
            elif prefix:
                # PEP 3333 wants no trailing "/" (Werkzeug's request strips it
                # anyway); "/" + a PATH_INFO of "/evil.com" would be "//evil.com".
                environ["SCRIPT_NAME"] = prefix.rstrip("/")

    def _walk(self, addresses: list[str]) -> int:
        """Return how many hops from the right the client is: the rightmost
        of ``addresses`` (the hops the count allows, ``""`` where a hop has
        no address) that is not a trusted proxy, else the leftmost."""
        trusted = self.trusted_proxies
        for hops in range(1, len(addresses)):
            if addresses[-hops] not in trusted:  # type: ignore[operator]
                return hops
        return len(addresses)

    def _apply_forwarded(self, environ: WSGIEnvironment, chain: list[dict[str, str]]) -> None:
        value = environ["HTTP_FORWARDED"]
        elements = parse_forwarded(value)
        if isinstance(elements, str):
            _reject("Forwarded", value, elements)
            return
        chain.extend(elements)
        if self.trusted_proxies is None or self.forwarded == 1:
            if len(elements) < self.forwarded:
                return
            element = elements[-self.forwarded]
        elif elements:
            allowed = elements[-self.forwarded :]
            nodes = [node_address(element.get("for", "unknown"))[0] or "" for element in allowed]
            element = allowed[-self._walk(nodes)]
        else:
            return
        node = element.get("for")
        if node is not None:
            address, valid = node_address(node)
            if address is not None:
                environ["REMOTE_ADDR"] = address
            elif not valid:
                _reject("Forwarded for", node, "not an IP address, unknown or _obfuscated node")
        scheme = element.get("proto")
        if scheme is not None:
            self._set_scheme(environ, "Forwarded proto", scheme)
        host = element.get("host")
        if host is not None:
            self._set_host(environ, "Forwarded host", host)

    @staticmethod
    def _set_scheme(environ: WSGIEnvironment, header: str, value: str) -> None:
        scheme = _SCHEMES.get(value) or _SCHEMES.get(value.lower())
        if scheme is None:
            _reject(header, value, "not http or https")
        else:
            environ["wsgi.url_scheme"] = scheme

    @staticmethod
    def _set_host(environ: WSGIEnvironment, header: str, value: str) -> None:
        if not (_hosts.get(value) or _is_valid_host(value)):
            _reject(header, value, "not an RFC 3986 host[:port]")
            return
        environ["HTTP_HOST"] = environ["SERVER_NAME"] = value
        # A "]" ends an IPv6 literal without a port.
        if ":" in value and not value.endswith("]"):
            environ["SERVER_NAME"], environ["SERVER_PORT"] = value.rsplit(":", 1)
