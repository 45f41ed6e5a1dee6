"""Request hooks
=============

:class:`RequestHooks` runs before, after, teardown and before-first-request
hooks, error handlers and path scopes around any WSGI app, in Flask's order;
:func:`after_this_request` registers a callback for the current request.

- :mod:`~wsgi_flash.hooks.middleware`: the middleware and its scopes;
- :mod:`~wsgi_flash.hooks._response`: capturing the app's response and
  building the Werkzeug or WebOb request and response objects the hooks see;
- :mod:`~wsgi_flash.hooks._werkzeug`: the only module that uses Werkzeug's
  private attributes (``tests/test_werkzeug_drift.py`` checks them).
"""

from __future__ import annotations

from .middleware import HookScope as HookScope
from .middleware import RequestHooks as RequestHooks
from .middleware import after_this_request as after_this_request
