"""Malformed-request logging
=========================

:class:`MalformedRequestLogger` logs what is malformed or suspicious in a
request and rejects only what it is told to; :func:`report_malformed` lets
application code log bad input through the same channel.

- :mod:`~wsgi_flash.malformed.middleware`: the middleware and
  :func:`report_malformed`;
- :mod:`~wsgi_flash.malformed._checks`: the check catalogue and how options
  become an action per check;
- :mod:`~wsgi_flash.malformed._prescan`: the cheap pass every request takes;
- :mod:`~wsgi_flash.malformed._request_checks`,
  :mod:`~wsgi_flash.malformed._uri_checks`,
  :mod:`~wsgi_flash.malformed._body_checks`: the detectors;
- :mod:`~wsgi_flash.malformed._reporting`: counting, rate-limiting and
  logging findings.
"""

from __future__ import annotations

from .middleware import MalformedRequestLogger as MalformedRequestLogger
from .middleware import report_malformed as report_malformed
