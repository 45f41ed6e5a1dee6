"""wsgi_flash: framework-agnostic WSGI middlewares.

Flash messages in signed cookies, Flask-ordered request hooks, proxy-header
fixing and malformed-request logging, each usable alone around any WSGI app.
"""

from __future__ import annotations

from .config import Config as Config
from .config import stack as stack
from .exceptions import WsgiFlashError as WsgiFlashError
from .hooks import RequestHooks as RequestHooks
from .hooks import after_this_request as after_this_request
from .malformed import MalformedRequestLogger as MalformedRequestLogger
from .malformed import report_malformed as report_malformed
from .messages import FlashMiddleware as FlashMiddleware
from .messages import flash as flash
from .messages import get_flashed_messages as get_flashed_messages
from .messages import peek_flashed_messages as peek_flashed_messages
from .proxy_fix import ProxyFix as ProxyFix

__version__ = "0.1.0"
