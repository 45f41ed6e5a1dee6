"""Exceptions
==========

Every exception wsgi_flash raises on its own account derives from
:class:`WsgiFlashError`, so ``except WsgiFlashError`` catches them all.
Bad client data never raises: it is logged and ignored. These exceptions
report programmer or configuration mistakes.
"""

from __future__ import annotations


class WsgiFlashError(Exception):
    """Base class of wsgi_flash's own exceptions."""


class NotInstalledError(WsgiFlashError, RuntimeError):
    """A helper was called for a request that the matching middleware does
    not wrap (for example :func:`~wsgi_flash.flash` without
    :class:`~wsgi_flash.FlashMiddleware`)."""


class HeadersAlreadySentError(WsgiFlashError, RuntimeError):
    """Something tried to change the response headers after the wrapped app
    had called ``start_response``, when they can no longer change."""


class CookieTooLargeError(WsgiFlashError, ValueError):
    """A flash cookie would exceed ``max_cookie_size`` and the middleware was
    configured with ``on_oversize="raise"``."""
