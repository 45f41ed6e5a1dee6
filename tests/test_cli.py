"""The ``wsgi-flash`` command as a user runs it: a real subprocess each time.

``--version``; server-specific options refused, naming the servers that take
them, before anything starts; error labels that say where a key sits in the
file; and a banner that shows the hooks of an app that is a RequestHooks.
"""

from __future__ import annotations

import importlib.metadata
import os
import pathlib
import secrets
import subprocess
import sys

import pytest

import wsgi_flash
from tests.servers import ROOT, serve_on_free_port, server_env
from tests.servers import wsgi_flash_cli as run
from wsgi_flash.cli import SERVER_OPTIONS, SERVERS, describe
from wsgi_flash.config import SECTIONS, Config
from wsgi_flash.hooks import RequestHooks

SECRET = secrets.token_hex(32)
DEMO_TOML = ROOT / "examples" / "demo.toml"


def secret_file(tmp_path: pathlib.Path, text: str) -> pathlib.Path:
    """A configuration file readable only by its owner, as a file with a
    secret should be (so the only output is the error under test)."""
    path = tmp_path / "wsgi_flash.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


# --version


@pytest.mark.parametrize(
    "command",
    [
        pytest.param([sys.executable, "-m", "wsgi_flash"], id="python-m"),
        pytest.param([str(pathlib.Path(sys.executable).with_name("wsgi-flash"))], id="script"),
    ],
)
def test_version_prints_the_version_and_exits_0(command: list[str]) -> None:
    if not pathlib.Path(command[0]).exists():
        pytest.fail(f"{command[0]} is missing: the console script is not installed")
    result = subprocess.run(
        [*command, "--version"], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"wsgi-flash {wsgi_flash.__version__}\n"
    assert result.stderr == ""
    assert wsgi_flash.__version__ == importlib.metadata.version("wsgi_flash")


def test_no_command_still_asks_for_one() -> None:
    result = run()
    assert result.returncode == 2
    assert "the following arguments are required: command" in result.stderr


# Server-specific options


REFUSED = [
    pytest.param(
        "werkzeug",
        ["--workers", "2"],
        "--workers does not apply to --server werkzeug: Werkzeug's development server is one"
        " process with a thread per request; --workers is for gunicorn and uwsgi",
        id="werkzeug-workers",
    ),
    pytest.param(
        "werkzeug",
        ["--worker-class", "gthread"],
        "--worker-class does not apply to --server werkzeug: Werkzeug's development server is"
        " one process with a thread per request; --worker-class is for gunicorn",
        id="werkzeug-worker-class",
    ),
    pytest.param(
        "werkzeug",
        ["--threads", "4"],
        "--threads is for gunicorn, waitress and uwsgi",
        id="werkzeug-threads",
    ),
    pytest.param(
        "waitress",
        ["--workers", "2"],
        "--workers does not apply to --server waitress: waitress is one process with a pool of"
        " --threads; --workers is for gunicorn and uwsgi",
        id="waitress-workers",
    ),
    pytest.param(
        "waitress",
        ["--threads", "2", "--worker-class", "gthread"],
        "--worker-class does not apply to --server waitress",
        id="waitress-worker-class",
    ),
    pytest.param(
        "uwsgi",
        ["--worker-class", "gevent"],
        "--worker-class does not apply to --server uwsgi: uWSGI has no worker classes;"
        " --worker-class is for gunicorn",
        id="uwsgi-worker-class",
    ),
]


@pytest.mark.parametrize(("server", "options", "message"), REFUSED)
def test_server_specific_options_are_refused_by_servers_without_them(
    server: str, options: list[str], message: str
) -> None:
    # A valid key and app: the refusal is the only thing wrong.
    result = run(
        "serve",
        "examples.demo:demo_app",
        "--config",
        str(DEMO_TOML),
        "--server",
        server,
        "--bind",
        "127.0.0.1:1",  # never bound: the command stops first
        *options,
        env={"WSGI_FLASH_SECRET_KEY": SECRET},
    )
    assert result.returncode == 1
    assert message in result.stderr, result.stderr
    assert result.stderr.startswith("wsgi-flash: ") and result.stderr.count("\n") == 1
    assert "serving" not in result.stderr and "Traceback" not in result.stderr


def test_every_server_specific_option_names_real_servers() -> None:
    """The table the messages come from: each option is taken by some
    servers and refused by the rest (Werkzeug's server takes none)."""
    for servers in SERVER_OPTIONS.values():
        assert servers and set(servers) <= set(SERVERS) - {"auto", "werkzeug"}


def test_options_given_the_command_line_are_refused_before_the_file_is_read(
    tmp_path: pathlib.Path,
) -> None:
    """A command-line mistake is reported even when the file has one too."""
    config = secret_file(tmp_path, 'secret_key = "short"\n')
    result = run(
        "serve", "flash_app:app", "--config", str(config), "--server", "werkzeug", "--workers", "2"
    )
    assert result.returncode == 1
    assert "--workers does not apply to --server werkzeug" in result.stderr
    assert "secret_key must be" not in result.stderr


def test_auto_says_why_it_chose_werkzeug(tmp_path: pathlib.Path) -> None:
    """With gunicorn not importable, --server auto means Werkzeug's server,
    and the message says that is why --workers does not apply."""
    blocker = tmp_path / "no_gunicorn"
    (blocker / "gunicorn").mkdir(parents=True)
    (blocker / "gunicorn" / "__init__.py").write_text(
        "raise ImportError('gunicorn is not installed here')\n", encoding="utf-8"
    )
    env = server_env({"WSGI_FLASH_SECRET_KEY": SECRET})
    env["PYTHONPATH"] = os.pathsep.join([str(blocker), env["PYTHONPATH"]])
    result = subprocess.run(
        [sys.executable, "-m", "wsgi_flash", "serve", "flash_app:app", "--workers", "2"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert (
        "--workers does not apply to --server werkzeug (--server auto: gunicorn is not installed)"
        in result.stderr
    ), result.stderr


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param(["--workers", "0"], "--workers must be from 1 to 1024, not '0'", id="zero"),
        pytest.param(["--threads", "1025"], "--threads must be from 1 to 1024", id="too-many"),
        pytest.param(["--workers", "-1"], "--workers must be from 1 to 1024", id="negative"),
        pytest.param(["--threads", "9" * 5000], "--threads must be from 1 to 1024", id="huge"),
    ],
)
def test_worker_and_thread_counts_are_bounded(options: list[str], message: str) -> None:
    result = run("serve", "flash_app:app", "--server", "gunicorn", *options)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    ("server", "options"),
    [
        pytest.param("waitress", ["--threads", "2"], id="waitress-threads"),
        pytest.param(
            "gunicorn",
            ["--workers", "1", "--threads", "2", "--worker-class", "gthread"],
            id="gunicorn-all",
        ),
    ],
)
def test_servers_that_have_an_option_take_it(
    tmp_path: pathlib.Path, server: str, options: list[str]
) -> None:
    def command(port: int) -> list[str]:
        return [
            *[sys.executable, "-m", "wsgi_flash", "serve", "flash_app:app"],
            *["--server", server, "--bind", f"127.0.0.1:{port}", *options],
        ]

    with serve_on_free_port(
        command, tmp_path / "log", env={"WSGI_FLASH_SECRET_KEY": SECRET}
    ) as running:
        status, _, _ = running.request("GET", "/read")
        assert status == 200
    log = running.log()
    assert f"with {server}" in log and "does not apply" not in log, log
    if server == "gunicorn":
        assert "Using worker: gthread" in log, log


# Error labels


@pytest.mark.parametrize(
    ("text", "label"),
    [
        pytest.param('secret_key = "short"\n', "secret_key must be at least 16 bytes", id="top"),
        pytest.param(
            f'secret_key = "{SECRET}"\nfallback_secret_keys = ["short"]\n',
            "fallback_secret_keys must be at least 16 bytes",
            id="fallback",
        ),
        pytest.param(
            f'secret_key = "{SECRET}"\n[flash]\nmax_age = -5\n',
            "[flash] max_age must be a number of seconds",
            id="flash-table",
        ),
        pytest.param(
            '[proxy]\ntrusted_proxies = ["nonsense"]\n',
            "[proxy] trusted_proxies entry 'nonsense' is not an IP address",
            id="proxy-table",
        ),
    ],
)
def test_error_labels_follow_the_file(tmp_path: pathlib.Path, text: str, label: str) -> None:
    """A top-level key is named as it is written, without a section; an
    option of a table is named with its table."""
    config = secret_file(tmp_path, text)
    result = run("check", "--config", str(config))
    assert result.returncode == 1
    assert result.stderr.startswith(f"wsgi-flash: {config}: {label}"), result.stderr
    assert SECRET not in result.stderr


def test_short_key_from_the_environment_names_the_variable() -> None:
    result = run("check", env={"WSGI_FLASH_SECRET_KEY": "short"})
    assert result.returncode == 1
    assert result.stderr.startswith(
        "wsgi-flash: environment variable WSGI_FLASH_SECRET_KEY: secret_key must be at least"
    ), result.stderr
    assert "[flash]" not in result.stderr


# The banner


def test_banner_shows_the_hooks_of_an_app_that_is_a_request_hooks() -> None:
    config = Config.load(secret_key=SECRET)

    def plain(environ: object, start_response: object) -> list[bytes]:
        return []

    hooks = RequestHooks(plain)  # type: ignore[arg-type]
    assert describe(config, hooks, "app:hooks").splitlines()[-1] == (
        "hooks: RequestHooks (the app, app:hooks, with its hooks registered in code)"
    )
    assert describe(config, plain, "app:plain").splitlines()[-1] == "hooks: off"  # type: ignore[arg-type]
    # A [hooks] section wraps the app in a RequestHooks of its own: shown as configured.
    configured = Config.load(secret_key=SECRET, hooks={"enabled": True})
    assert describe(configured, hooks, "app:hooks") == configured.describe()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("app", "hooks_line"),
    [
        pytest.param(
            "examples.demo:demo_app",
            "hooks: RequestHooks (the app, examples.demo:demo_app, with its hooks registered"
            " in code)",
            id="demo-is-a-request-hooks",
        ),
        pytest.param("flash_app:app", "hooks: off", id="plain-app"),
    ],
)
def test_serve_banner(tmp_path: pathlib.Path, app: str, hooks_line: str) -> None:
    def command(port: int) -> list[str]:
        return [
            *[sys.executable, "-m", "wsgi_flash", "serve", app, "--server", "werkzeug"],
            *["--config", str(DEMO_TOML), "--bind", f"127.0.0.1:{port}"],
        ]

    with serve_on_free_port(
        command, tmp_path / "log", env={"WSGI_FLASH_SECRET_KEY": SECRET}
    ) as running:
        status, _, _ = running.request("GET", "/")
        assert status in (200, 404)
    log = running.log()
    banner = log.splitlines()
    assert (
        banner[0] == f"wsgi-flash: serving {app} on http://127.0.0.1:{running.port}/ with werkzeug"
    )
    # The stack, one line per middleware, secrets hidden.
    stack = [line for line in banner[1:] if line.split(":")[0] in SECTIONS]
    assert [line for line in stack if line.startswith("hooks:")] == [hooks_line], log
    assert "flash: FlashMiddleware(secret_key=<hidden>)" in stack and SECRET not in log
