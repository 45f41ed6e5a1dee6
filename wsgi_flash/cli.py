"""The ``wsgi-flash`` command
===========================

.. code-block:: console

    $ wsgi-flash serve myapp:app --config wsgi_flash.toml --bind 127.0.0.1:8000 --workers 2
    $ wsgi-flash check --config wsgi_flash.toml
    $ wsgi-flash checks
    $ wsgi-flash --version

``serve`` imports the app (``module:name``, or ``module:factory()`` to call a
factory), wraps it in the stack configured by the file and ``WSGI_FLASH_*``
variables, and serves it with gunicorn when it is installed
(``pip install wsgi_flash[gunicorn]``), else with Werkzeug's development
server; ``--server waitress`` and ``--server uwsgi`` choose those.
``--bind`` means the same on every server: ``HOST:PORT``, ``[IPv6]:PORT``,
``HOST`` (port 8000) or ``:PORT``, where an empty host is every interface
(``0.0.0.0``), as for gunicorn. ``--workers`` (processes: gunicorn, uWSGI),
``--threads`` (gunicorn, waitress, uWSGI) and ``--worker-class`` (gunicorn)
are refused by a server that has no such setting, rather than ignored. When
nothing configured logging, records go to stderr with time, level and
logger. ``python -m wsgi_flash`` is the same command.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import typing as t

from . import __version__
from .config import Config, ConfigError
from .metrics import MULTIPROC_DIR

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
#: The servers that have each server-specific option; the others refuse it.
SERVER_OPTIONS = {
    "workers": ("gunicorn", "uwsgi"),
    "threads": ("gunicorn", "waitress", "uwsgi"),
    "worker_class": ("gunicorn",),
}
#: What a server that refuses an option does instead.
SERVER_MODELS = {
    "werkzeug": "Werkzeug's development server is one process with a thread per request",
    "waitress": "waitress is one process with a pool of --threads",
    "uwsgi": "uWSGI has no worker classes",
}
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


def and_list(names: t.Sequence[str]) -> str:
    return " and ".join(names) if len(names) < 3 else f"{', '.join(names[:-1])} and {names[-1]}"


def check_server_options(server: str, args: argparse.Namespace) -> None:
    """Exit with a message naming the servers that take each option given on
    the command line that ``server`` has no setting for."""
    for option, servers in SERVER_OPTIONS.items():
        if getattr(args, option) is None or server in servers:
            continue
        flag = "--" + option.replace("_", "-")
        chosen = " (--server auto: gunicorn is not installed)" if args.server == "auto" else ""
        raise SystemExit(
            f"wsgi-flash: {flag} does not apply to --server {server}{chosen}:"
            f" {SERVER_MODELS[server]}; {flag} is for {and_list(servers)}"
        )


def serve_gunicorn(
    app: WSGIApplication,
    host: str,
    port: int,
    workers: int,
    threads: int | None,
    worker_class: str,
) -> None:
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", [format_bind(host, port)])
            self.cfg.set("workers", workers)
            self.cfg.set("worker_class", worker_class)
            if threads is not None:
                self.cfg.set("threads", threads)

        def load(self) -> WSGIApplication:
            return app

    Server().run()


def serve_werkzeug(app: WSGIApplication, host: str, port: int) -> None:
    from werkzeug.serving import run_simple

    run_simple(host, port, app, threaded=True)


def serve_waitress(app: WSGIApplication, host: str, port: int, threads: int, proxy: bool) -> None:
    from waitress import serve

    # waitress removes X-Forwarded-* and Forwarded by default; with ProxyFix
    # configured, let them through to ProxyFix, which decides whom to trust.
    serve(app, host=host, port=port, threads=threads, clear_untrusted_proxy_headers=not proxy)


def serve_uwsgi(
    spec: str, config_path: str | None, host: str, port: int, workers: int, threads: int | None
) -> None:
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
        str(workers),
        *(["--threads", str(threads)] if threads is not None else []),
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


def describe(config: Config, app: WSGIApplication, spec: str) -> str:
    """The banner: the configured stack, with the hooks shown as on when the
    app itself is a RequestHooks (its hooks are registered in code)."""
    from .hooks import RequestHooks

    lines = config.describe().splitlines()
    if isinstance(app, RequestHooks) and not config.enabled("hooks"):
        shown = f"hooks: RequestHooks (the app, {spec}, with its hooks registered in code)"
        lines = [shown if line == "hooks: off" else line for line in lines]
    return "\n".join(lines)


def bounded(name: str) -> t.Callable[[str], int]:
    """An argparse type: a whole number from 1 to 1024 (as the message says)."""

    def convert(text: str) -> int:
        if not (text.isascii() and text.isdigit() and len(text) <= 4) or not 1 <= int(text) <= 1024:
            raise argparse.ArgumentTypeError(f"{name} must be from 1 to 1024, not {text!r}")
        return int(text)

    return convert


def named(name: str) -> t.Callable[[str], str]:
    """An argparse type: text that is not blank (an unset shell variable
    gives ``''``, which would otherwise mean the default)."""

    def convert(text: str) -> str:
        if not text.strip():
            raise argparse.ArgumentTypeError(
                f"{name} must not be empty; leave it out for the default"
            )
        return text

    return convert


def main(argv: t.Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="wsgi-flash", description="wsgi_flash middlewares")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
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
        "--server",
        choices=SERVERS,
        default="auto",
        help="gunicorn when installed (auto), waitress, uwsgi, or Werkzeug's development server",
    )
    serve.add_argument(
        "--workers",
        type=bounded("--workers"),
        help="worker processes, gunicorn and uwsgi only (default 1)",
    )
    serve.add_argument(
        "--threads",
        type=bounded("--threads"),
        help="threads per worker, gunicorn, waitress and uwsgi only"
        " (default: the server's own, 4 for waitress)",
    )
    serve.add_argument(
        "--worker-class",
        type=named("--worker-class"),
        help="gunicorn worker class, gunicorn only (default sync)",
    )
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
    if args.command == "check":
        print(load_config(args.config).describe())
        return 0
    # The command line first: its mistakes are reported before the file's.
    host, port = parse_bind(args.bind)
    server = args.server
    if server == "auto":
        server = "gunicorn" if have_gunicorn() else "werkzeug"
    check_server_options(server, args)
    config = load_config(args.config)
    workers = args.workers or 1
    # Imported before the banner, which shows whether the app is a
    # RequestHooks; under uWSGI each worker imports it again.
    inner = import_app(args.app)
    bind = format_bind(host, port)
    print(f"wsgi-flash: serving {args.app} on http://{bind}/ with {server}", file=sys.stderr)
    print(describe(config, inner, args.app), file=sys.stderr)
    if config.enabled("metrics") and workers > 1 and not os.environ.get(MULTIPROC_DIR):
        print(
            f"wsgi-flash: warning: {workers} worker processes each count the metrics on their"
            f" own and a scrape shows one of them; set {MULTIPROC_DIR} to an empty directory"
            " to see the totals",
            file=sys.stderr,
        )
    if server == "uwsgi":
        serve_uwsgi(args.app, args.config, host, port, workers, args.threads)
        return 0
    configure_logging()
    app = config.wrap(inner)
    if server == "gunicorn":
        serve_gunicorn(app, host, port, workers, args.threads, args.worker_class or "sync")
    elif server == "waitress":
        proxy = config.enabled("proxy")
        serve_waitress(app, host, port, args.threads or 4, proxy=proxy)
    else:
        serve_werkzeug(app, host, port)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
