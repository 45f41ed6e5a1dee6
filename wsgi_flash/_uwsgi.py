"""Entry point for ``wsgi-flash serve --server uwsgi``
===================================================

uWSGI imports this module in each worker (``--module
wsgi_flash._uwsgi:application``). The app spec comes as the only
``--pyargv`` argument and the configuration from ``WSGI_FLASH_CONFIG`` and
the other ``WSGI_FLASH_*`` variables, exactly as the ``serve`` command
loaded them before it handed over to uWSGI.
"""

from __future__ import annotations

import sys

from .cli import configure_logging, import_app, load_config

configure_logging()
application = load_config(None).wrap(import_app(sys.argv[-1]))
