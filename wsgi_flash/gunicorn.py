"""gunicorn integration
=====================

Wrap an app served by gunicorn in the configured stack without touching
the app's code. The configuration comes from ``WSGI_FLASH_CONFIG`` (a TOML
file) and ``WSGI_FLASH_*`` variables:

.. code-block:: console

    $ WSGI_FLASH_SECRET_KEY=... WSGI_FLASH_PROXY_X_FOR=1 \\
        gunicorn -c python:wsgi_flash.gunicorn myapp:app

Or import the hooks into an existing ``gunicorn.conf.py``:

.. code-block:: python

    from wsgi_flash.gunicorn import on_starting, post_worker_init

If that file already defines ``post_worker_init``, call ours from it.
"""

from __future__ import annotations

import os
import typing as t

from .config import Config


def load_config() -> Config:
    """The configuration from the environment (and ``WSGI_FLASH_CONFIG``)."""
    return Config.load(environ=os.environ)


def on_starting(server: t.Any) -> None:
    """Check the configuration in the master, so a mistake stops gunicorn
    at start-up with the key and its source, before any worker boots."""
    description = load_config().describe()
    server.log.info("wsgi_flash stack:\n%s", description)


def post_worker_init(worker: t.Any) -> None:
    """Wrap the worker's loaded app in the configured middlewares."""
    worker.wsgi = load_config().wrap(worker.wsgi)
