"""``python -m wsgi_flash``: the ``wsgi-flash`` command (see :mod:`wsgi_flash.cli`)."""

from __future__ import annotations

from .cli import main

raise SystemExit(main())
