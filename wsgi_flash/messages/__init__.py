"""Flash messages
==============

:class:`FlashMiddleware` keeps one-shot messages in a signed cookie, and
:func:`flash`, :func:`get_flashed_messages` and :func:`peek_flashed_messages`
give Flask's flash semantics to any WSGI framework.

- :mod:`~wsgi_flash.messages.middleware`: the middleware, the per-request
  state and the three functions;
- :mod:`~wsgi_flash.messages._payload`: the JSON payload a cookie carries;
- :mod:`~wsgi_flash.messages._signing`: signing and timestamping the cookie;
- :mod:`~wsgi_flash.messages._http`: reading the ``Cookie`` header.
"""

from __future__ import annotations

from .middleware import FlashMiddleware as FlashMiddleware
from .middleware import flash as flash
from .middleware import get_flashed_messages as get_flashed_messages
from .middleware import peek_flashed_messages as peek_flashed_messages
