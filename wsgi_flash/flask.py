"""Flask glue
==========

Flask already has ``flash`` and ``get_flashed_messages``, backed by its
session. This module swaps in wsgi_flash's cookie for both: templates keep
calling ``get_flashed_messages(with_categories=true, category_filter=[...])``
unchanged, and views call :func:`flash` the way they call :func:`flask.flash`,
without passing the request.

.. code-block:: python

    from flask import Flask
    from wsgi_flash.flask import flash, init_app

    app = Flask(__name__)
    init_app(app, secret_key=os.environ["WSGI_FLASH_SECRET_KEY"], proxy={"x_for": 1})

The core middlewares never import this module (nor Flask).
"""

from __future__ import annotations

import typing as t

from flask import Flask, request

from .config import stack
from .flash import flash as _flash
from .flash import get_flashed_messages as _get_flashed_messages

if t.TYPE_CHECKING:
    import os

    from .config import Config


def flash(message: t.Any, category: str = "message") -> None:
    """Flash ``message`` to the next request that reads messages; the
    drop-in replacement for :func:`flask.flash`. Needs a request context and
    a :class:`~wsgi_flash.FlashMiddleware` around ``app.wsgi_app`` (which
    :func:`init_app` adds).

    .. code-block:: python

        from wsgi_flash.flask import flash

        @app.post("/save")
        def save():
            flash("Saved.", "success")
            return redirect(url_for("index"))

    :param message: what :func:`wsgi_flash.flash` accepts: str, Markup or a
        JSON value.
    :param category: ``"message"``, ``"error"``, ``"info"``, ``"warning"``...
    """
    _flash(request, message, category)


def get_flashed_messages(
    with_categories: bool = False, category_filter: t.Iterable[str] = ()
) -> list[t.Any]:
    """Return and consume the flashed messages of the current request, with
    :func:`flask.get_flashed_messages`'s signature. :func:`init_app` makes
    this the Jinja global of the same name.

    .. code-block:: html+jinja

        {% for category, message in get_flashed_messages(with_categories=true) %}
          <li class="{{ category }}">{{ message }}</li>
        {% endfor %}

    .. code-block:: python

        from wsgi_flash.flask import get_flashed_messages

        errors = get_flashed_messages(category_filter=["error"])

    :param with_categories: return ``(category, message)`` tuples.
    :param category_filter: only return messages of these categories.
    """
    return _get_flashed_messages(request, with_categories, category_filter)


def init_app(
    app: Flask,
    config: Config | str | os.PathLike[str] | None = None,
    *,
    environ: t.Mapping[str, str] | None = None,
    **options: t.Any,
) -> None:
    """Wrap ``app.wsgi_app`` with :func:`wsgi_flash.stack` and make
    :func:`get_flashed_messages` the templates' ``get_flashed_messages``.

    Wrapping ``app.wsgi_app`` rather than ``app`` keeps ``app.run()``,
    ``app.test_client()`` and the ``flask`` command going through the stack.
    Without a configuration nothing is wrapped, for a stack added elsewhere
    (``gunicorn -c python:wsgi_flash.gunicorn``); the Jinja global is
    installed either way.

    .. code-block:: python

        from wsgi_flash.flask import init_app

        init_app(app, secret_key=app.config["SECRET_KEY"], proxy={"x_for": 1})
        # or: init_app(app, "wsgi_flash.toml", environ=os.environ)

    :param app: the Flask application.
    :param config: a :class:`~wsgi_flash.Config` or a TOML file, as for
        :func:`~wsgi_flash.stack`.
    :param environ: where to read ``WSGI_FLASH_*`` variables from.
    :param options: ``secret_key``, ``fallback_secret_keys`` and the
        ``flash``, ``proxy``, ``malformed`` and ``hooks`` sections.

    .. versionadded:: 0.1
    """
    if config is not None or environ is not None or options:
        # Flask types wsgi_app as its bound method; any WSGI callable works.
        app.wsgi_app = stack(  # type: ignore[method-assign,assignment]
            app.wsgi_app, config, environ=environ, **options
        )
    app.add_template_global(get_flashed_messages, "get_flashed_messages")
