"""wsgi_flash: framework-agnostic WSGI middlewares.

Flash messages in signed cookies, Flask-ordered request hooks, proxy-header
fixing and malformed-request logging, each usable alone around any WSGI app.
"""

from __future__ import annotations

from .exceptions import WsgiFlashError as WsgiFlashError

__version__ = "0.1.0"
