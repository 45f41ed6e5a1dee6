"""Proxy header fixing
====================

:class:`ProxyFix` restores the client address, scheme, host, port and
prefix from the ``X-Forwarded-*`` or RFC 7239 ``Forwarded`` headers that
trusted proxies add.

- :mod:`~wsgi_flash.proxy_fix.middleware`: the middleware;
- :mod:`~wsgi_flash.proxy_fix._forwarded`: reading the headers from the right.
"""

from __future__ import annotations

from .middleware import PROXY_HEADERS as PROXY_HEADERS
from .middleware import ProxyFix as ProxyFix
