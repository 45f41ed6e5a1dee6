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

    from wsgi_flash.gunicorn import child_exit, on_starting, post_worker_init

If that file already defines one of these hooks, call ours from it.

With a ``[metrics]`` section and several workers, set
``PROMETHEUS_MULTIPROC_DIR`` to an empty directory the workers can write, so
that a scrape of any worker shows the totals of all (prometheus_client's
multiprocess mode); :func:`child_exit` tells it when a worker is gone.
"""

from __future__ import annotations

import os
import typing as t

from .config import Config
from .metrics import MULTIPROC_DIR, usable_directory


def load_config() -> Config:
    """The configuration from the environment (and ``WSGI_FLASH_CONFIG``)."""
    return Config.load(environ=os.environ)


def on_starting(server: t.Any) -> None:
    """Check the configuration in the master, so a mistake stops gunicorn
    at start-up with the key and its source, before any worker boots."""
    # Looked at before the configuration is loaded: checking it builds the
    # middlewares, whose counters in multiprocess mode are a file of this
    # process's own in the directory.
    directory = os.environ.get(MULTIPROC_DIR) or None
    earlier = (
        directory is not None
        and usable_directory(directory)
        and any(name.endswith(".db") for name in os.listdir(directory))
    )
    config = load_config()  # refuses a directory that cannot take the counts
    server.log.info("wsgi_flash stack:\n%s", config.describe())
    if not config.enabled("metrics"):
        return
    if directory is None and server.cfg.workers > 1:
        server.log.warning(
            "wsgi_flash metrics: %d workers each count on their own and a scrape shows"
            " one of them; set %s to an empty directory to see the totals",
            server.cfg.workers,
            MULTIPROC_DIR,
        )
    elif earlier:
        server.log.warning(
            "wsgi_flash metrics: %s holds counts from an earlier run, which scrapes will add"
            " in; empty it before each start (prometheus_client's multiprocess mode needs it)",
            directory,
        )


def child_exit(server: t.Any, worker: t.Any) -> None:
    """Tell prometheus_client's multiprocess mode that a worker is gone
    (its counts stay in the totals)."""
    if os.environ.get(MULTIPROC_DIR) and load_config().enabled("metrics"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call,unused-ignore]


def post_worker_init(worker: t.Any) -> None:
    """Wrap the worker's loaded app in the configured middlewares."""
    worker.wsgi = load_config().wrap(worker.wsgi)
