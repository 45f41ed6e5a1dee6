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
server; ``--server waitress`` and ``--server uwsgi`` choose those.
``--bind`` means the same on every server: ``HOST:PORT``, ``[IPv6]:PORT``,
``HOST`` (port 8000) or ``:PORT``, where an empty host is every interface
(``0.0.0.0``), as for gunicorn. When nothing configured logging, records go
to stderr with time, level and logger. ``python -m wsgi_flash`` is the same
command.
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


DEFAULT_PORT = 8000
SERVERS = ("auto", "gunicorn", "waitress", "uwsgi", "werkzeug")
LOG_FORMAT = "%(asctime)s [%(process)d] %(levelname)s %(name)s: %(message)s"


def parse_bind(bind: str) -> tuple[str, int]:
    """``(host, port)`` from ``HOST:PORT``, ``[IPv6]:PORT``, ``HOST`` or
    ``:PORT``, as gunicorn reads them: an empty host is every interface
    (``0.0.0.0``) and a missing port is 8000. Anything else, or a port outside
    1-65535, exits with a message."""
    usage = f"wsgi-flash: --bind must be HOST:PORT, [IPv6]:PORT, HOST or :PORT, not {bind!r}"
    if bind.startswith("["):
        host, bracket, rest = bind[1:].partition("]")
        if not bracket or not host or (rest and not rest.startswith(":")):
            raise SystemExit(usage)
        port_text = rest[1:] if rest else str(DEFAULT_PORT)
    elif bind.count(":") > 1:
        raise SystemExit(f"{usage} (write an IPv6 address in brackets)")
    else:
        host, sep, port_text = bind.partition(":")
        if not sep:
            port_text = str(DEFAULT_PORT)
        host = host or "0.0.0.0"
    if any(ch.isspace() or ch in "/?#@" for ch in host):
        raise SystemExit(usage)
    # Digits only, and few of them, before int(): no sign, no 4,300-digit text.
    if not (port_text.isascii() and port_text.isdigit() and len(port_text) <= 5):
        raise SystemExit(f"wsgi-flash: --bind port must be a number from 1 to 65535, not {bind!r}")
    port = int(port_text)
    if not 1 <= port <= 65535:
        raise SystemExit(f"wsgi-flash: --bind port must be from 1 to 65535, not {port}")
    return host, port


def format_bind(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def have_gunicorn() -> bool:
    try:
        importlib.import_module("gunicorn.app.base")
    except ImportError:
        return False
    return sys.platform != "win32"


def serve_gunicorn(
    app: WSGIApplication, host: str, port: int, workers: int, worker_class: str
) -> None:
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", [format_bind(host, port)])
            self.cfg.set("workers", workers)
            self.cfg.set("worker_class", worker_class)

        def load(self) -> WSGIApplication:
            return app

    Server().run()


def serve_werkzeug(app: WSGIApplication, host: str, port: int, workers: int) -> None:
    from werkzeug.serving import run_simple

    # Werkzeug forks a process per request with processes > 1; threads otherwise.
    run_simple(host, port, app, threaded=workers <= 1, processes=max(workers, 1))


def serve_waitress(app: WSGIApplication, host: str, port: int, workers: int, proxy: bool) -> None:
    from waitress import serve

    # waitress is one process with a thread pool: --workers sets the threads
    # (at least its default 4). It removes X-Forwarded-* and Forwarded by
    # default; with ProxyFix configured, let them through to ProxyFix, which
    # decides whom to trust.
    serve(
        app,
        host=host,
        port=port,
        threads=max(workers, 4),
        clear_untrusted_proxy_headers=not proxy,
    )


def serve_uwsgi(spec: str, config_path: str | None, host: str, port: int, workers: int) -> None:
    """Replace this process with uWSGI speaking HTTP on ``host:port``; its
    workers import :mod:`wsgi_flash._uwsgi`, which builds the same stack."""
    import shutil

    binary = shutil.which("uwsgi") or os.path.join(os.path.dirname(sys.executable), "uwsgi")
    if not os.access(binary, os.X_OK):
        raise SystemExit("wsgi-flash: uwsgi is not installed; pip install wsgi_flash[uwsgi]")
    if config_path is not None:
        os.environ["WSGI_FLASH_CONFIG"] = os.path.abspath(config_path)
    args = [
        binary,
        "--http-socket",
        format_bind(host, port),
        "--master",
        "--processes",
        str(max(workers, 1)),
        "--enable-threads",
        "--die-on-term",
        "--need-app",
        "--strict",
        "--home",
        sys.prefix,
        "--chdir",
        os.getcwd(),
        "--module",
        "wsgi_flash._uwsgi:application",
        "--pyargv",
        spec,
    ]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(binary, args)


def configure_logging() -> None:
    """Records with time, level and logger on stderr, unless the app or the
    environment already configured logging (then leave it alone)."""
    import logging

    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)


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
    serve.add_argument(
        "--bind",
        default="127.0.0.1:8000",
        help="HOST:PORT, [IPv6]:PORT, HOST or :PORT (every interface), as for gunicorn"
        " (default %(default)s)",
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes (default 1); under waitress, threads (at least 4)",
    )
    serve.add_argument(
        "--server",
        choices=SERVERS,
        default="auto",
        help="gunicorn when installed (auto), waitress, uwsgi, or Werkzeug's development server",
    )
    serve.add_argument("--worker-class", default="sync", help="gunicorn worker class")
    check = commands.add_parser("check", help="validate a configuration and print the stack")
    check.add_argument("--config", help="TOML file (default: $WSGI_FLASH_CONFIG)")
    commands.add_parser("checks", help="list the malformed-request checks")
    commands.add_parser("options", help="list every configuration key (reStructuredText)")
    args = parser.parse_args(argv)

    if args.command == "checks":
        from .malformed._checks import format_checks

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
    host, port = parse_bind(args.bind)
    if not 1 <= args.workers <= 1024:
        raise SystemExit(f"wsgi-flash: --workers must be from 1 to 1024, not {args.workers}")
    server = args.server
    if server == "auto":
        server = "gunicorn" if have_gunicorn() else "werkzeug"
    bind = format_bind(host, port)
    print(f"wsgi-flash: serving {args.app} on http://{bind}/ with {server}", file=sys.stderr)
    print(config.describe(), file=sys.stderr)
    if server == "uwsgi":
        serve_uwsgi(args.app, args.config, host, port, args.workers)
        return 0
    configure_logging()
    app = config.wrap(import_app(args.app))
    if server == "gunicorn":
        serve_gunicorn(app, host, port, args.workers, args.worker_class)
    elif server == "waitress":
        serve_waitress(app, host, port, args.workers, proxy=config.enabled("proxy"))
    else:
        serve_werkzeug(app, host, port, args.workers)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
