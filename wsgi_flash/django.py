"""Django glue
===========

Django needs no adapter to run the stack: wrap the WSGI application in
``wsgi.py``, and Django's request (its ``.environ`` is the WSGI environ)
goes to :func:`wsgi_flash.flash` as it is.

.. code-block:: python

    # mysite/wsgi.py
    import os

    from django.core.wsgi import get_wsgi_application
    from wsgi_flash import stack

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
    application = stack(
        get_wsgi_application(),
        secret_key=os.environ["WSGI_FLASH_SECRET_KEY"],
        proxy={"x_for": 1, "x_proto": 1},
    )

What this module adds is :func:`flash_messages`, a template context
processor. It imports nothing from Django, and the core middlewares never
import it.
"""

from __future__ import annotations

import functools
import typing as t

from .flash import get_flashed_messages


def flash_messages(request: t.Any) -> dict[str, t.Any]:
    """Template context processor: the request's flashed messages, read
    (and consumed) only if the template uses them.

    ``get_flashed_messages`` is :func:`wsgi_flash.get_flashed_messages`
    bound to the request: Jinja2 templates call it as Flask templates do,
    the Django template language calls it without arguments (messages
    only). ``flashed_messages`` gives ``(category, message)`` pairs, for
    Django templates that need the category.

    .. code-block:: python

        TEMPLATES = [{
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "APP_DIRS": True,
            "OPTIONS": {"context_processors": ["wsgi_flash.django.flash_messages"]},
        }]

    .. code-block:: html+django

        {% for category, message in flashed_messages %}
          <li class="{{ category }}">{{ message }}</li>
        {% endfor %}

    :param request: the Django request (``HttpRequest`` with ``.environ``).

    .. versionadded:: 0.1
    """
    # Callables, not lists: templates call them only when they show the
    # messages, so a page that does not show them leaves them stored.
    return {
        "get_flashed_messages": functools.partial(get_flashed_messages, request),
        "flashed_messages": functools.partial(get_flashed_messages, request, True),
    }
