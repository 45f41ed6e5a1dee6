"""The ``wsgi-flash`` command
===========================

.. code-block:: console

    $ wsgi-flash serve myapp:app --config wsgi_flash.toml --bind 127.0.0.1:8000 --workers 2
    $ wsgi-flash check --config wsgi_flash.toml
    $ wsgi-flash checks

``serve`` imports the app (``module:name``, or ``module:factory()`` to call a
factory), wraps it in the stack configured by the file and ``WSGI_FLASH_*``
variables, and serves it with gunicorn when it is installed
(``pip install wsgi_flash[gunicorn]``), else with Werkzeug's development
server. ``python -m wsgi_flash`` is the same command.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import typing as t

from .config import Config, ConfigError

if t.TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication


def import_app(spec: str) -> WSGIApplication:
    """Import ``module:name`` or call ``module:factory()``."""
    module_name, sep, name = spec.partition(":")
    if not sep or not module_name or not name:
        raise SystemExit(f"wsgi-flash: app must be module:name or module:factory(), not {spec!r}")
    call = name.endswith("()")
    if call:
        name = name[:-2]
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        target = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError) as error:
        raise SystemExit(f"wsgi-flash: cannot load {spec!r}: {error}") from None
    app = target() if call else target
    if not callable(app):
        raise SystemExit(f"wsgi-flash: {spec!r} is not a WSGI callable")
    return t.cast("WSGIApplication", app)


def parse_bind(bind: str) -> tuple[str, int]:
    host, sep, port = bind.rpartition(":")
    if not sep or not port.isdigit():
        raise SystemExit(f"wsgi-flash: --bind must be HOST:PORT, not {bind!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def have_gunicorn() -> bool:
    try:
        importlib.import_module("gunicorn.app.base")
    except ImportError:
        return False
    return sys.platform != "win32"


def serve_gunicorn(app: WSGIApplication, bind: str, workers: int, worker_class: str) -> None:
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", bind)
            self.cfg.set("workers", workers)
            self.cfg.set("worker_class", worker_class)

        def load(self) -> WSGIApplication:
            return app

    Server().run()


def serve_werkzeug(app: WSGIApplication, bind: str, workers: int) -> None:
    from werkzeug.serving import run_simple

    host, port = parse_bind(bind)
    # Werkzeug forks a process per request with processes > 1; threads otherwise.
    run_simple(host, port, app, threaded=workers <= 1, processes=max(workers, 1))


def load_config(path: str | None) -> Config:
    try:
        return Config.load(path, environ=os.environ)
    except ConfigError as error:
        raise SystemExit(f"wsgi-flash: {error}") from None


def main(argv: t.Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="wsgi-flash", description="wsgi_flash middlewares")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve an app wrapped in the configured stack")
    serve.add_argument("app", help="module:name or module:factory()")
    serve.add_argument("--config", help="TOML file (default: $WSGI_FLASH_CONFIG)")
    serve.add_argument("--bind", default="127.0.0.1:8000", help="HOST:PORT (default %(default)s)")
    serve.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    serve.add_argument(
        "--server",
        choices=("auto", "gunicorn", "werkzeug"),
        default="auto",
        help="gunicorn when installed (auto), or Werkzeug's development server",
    )
    serve.add_argument("--worker-class", default="sync", help="gunicorn worker class")
    check = commands.add_parser("check", help="validate a configuration and print the stack")
    check.add_argument("--config", help="TOML file (default: $WSGI_FLASH_CONFIG)")
    commands.add_parser("checks", help="list the malformed-request checks")
    commands.add_parser("options", help="list every configuration key (reStructuredText)")
    args = parser.parse_args(argv)

    if args.command == "checks":
        from ._checks import format_checks

        print(format_checks())
        return 0
    if args.command == "options":
        from .config import format_reference

        print(format_reference())
        return 0
    config = load_config(args.config)
    if args.command == "check":
        print(config.describe())
        return 0
    app = config.wrap(import_app(args.app))
    server = args.server
    if server == "auto":
        server = "gunicorn" if have_gunicorn() else "werkzeug"
    print(f"wsgi-flash: serving {args.app} on http://{args.bind}/ with {server}", file=sys.stderr)
    print(config.describe(), file=sys.stderr)
    if server == "gunicorn":
        serve_gunicorn(app, args.bind, args.workers, args.worker_class)
    else:
        serve_werkzeug(app, args.bind, args.workers)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
