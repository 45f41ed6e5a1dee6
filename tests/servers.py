"""Real servers for the tests: started on 127.0.0.1 with a free port,
bounded in time, always stopped."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import time
import typing as t

ROOT = pathlib.Path(__file__).resolve().parent.parent
APPS = ROOT / "tests" / "apps"


def free_port() -> int:
    """A port that was free a moment ago. Another process may take it before
    the server binds it: start servers with :func:`serve_on_free_port`, which
    retries on a new port when that happens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# What each server prints when its port is taken.
ADDRESS_IN_USE = ("address already in use", "errno 98", "eaddrinuse", "bind(): address")


class Server:
    def __init__(self, process: subprocess.Popen[bytes], port: int, log_path: pathlib.Path) -> None:
        self.process, self.port, self.log_path = process, port, log_path
        self.name = ""  # which server, for tests that run several

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def request(
        self,
        method: str,
        path: str,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    def json(self, path: str, headers: dict[str, str] | None = None) -> t.Any:
        status, _, body = self.request("GET", path, headers)
        assert status == 200, (status, body)
        return json.loads(body)

    def raw(self, data: bytes, timeout: float = 5.0) -> bytes:
        """Send raw bytes and return everything the server answers."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as sock:
            sock.sendall(data)
            chunks = []
            # socket.timeout: TimeoutError only from Python 3.10 on.
            with contextlib.suppress(socket.timeout, ConnectionResetError):
                while chunk := sock.recv(65536):
                    chunks.append(chunk)
        return b"".join(chunks)


def wait_until_serving(
    port: int,
    process: subprocess.Popen[bytes],
    log_path: pathlib.Path,
    seconds: float,
    ready: str | None = None,
) -> None:
    """Poll until the port accepts (and ``ready`` is in the log, for servers
    that bind before they load the app), for at most ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log_path.read_text()}")
        with contextlib.suppress(OSError):
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                if ready is None or ready in log_path.read_text(errors="replace"):
                    return
        time.sleep(0.05)
    raise RuntimeError(f"server not serving after {seconds} s:\n{log_path.read_text()}")


def server_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment without any WSGI_FLASH_* setting (so each
    test configures the server itself), the project and test apps on the
    path, and ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WSGI_FLASH_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(APPS)])
    env.update(extra or {})
    return env


def wsgi_flash_cli(
    *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m wsgi_flash ARGS`` from the project root, with no
    WSGI_FLASH_* variables but ``env``; never raises on a non-zero exit."""
    return subprocess.run(
        [sys.executable, "-m", "wsgi_flash", *args],
        env=server_env(env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


class PortTaken(RuntimeError):
    """The server exited at start because its port was taken."""


def _start(
    command: list[str], log_path: pathlib.Path, env: dict[str, str] | None, cwd: pathlib.Path | None
) -> subprocess.Popen[bytes]:
    with open(log_path, "wb") as log:
        return subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=server_env(env),
            cwd=cwd or ROOT,
            start_new_session=True,
        )


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group, SIGKILL it if it lingers."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    # Workers that outlived their master (uWSGI's, on a crash) go too.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


@contextlib.contextmanager
def serve(
    command: list[str],
    port: int,
    log_path: pathlib.Path,
    *,
    env: dict[str, str] | None = None,
    cwd: pathlib.Path | None = None,
    seconds: float = 20.0,
    ready: str | None = None,
) -> t.Iterator[Server]:
    """Run ``command`` (which must listen on 127.0.0.1:``port``) until the
    block ends; its output goes to ``log_path``. Raises :class:`PortTaken`
    when the server could not bind the port."""
    process = _start(command, log_path, env, cwd)
    try:
        try:
            wait_until_serving(port, process, log_path, seconds, ready)
        except RuntimeError:
            log = log_path.read_text(errors="replace").lower()
            if process.poll() is not None and any(text in log for text in ADDRESS_IN_USE):
                raise PortTaken(log) from None
            raise
        yield Server(process, port, log_path)
    finally:
        stop(process)


@contextlib.contextmanager
def serve_on_free_port(
    command: t.Callable[[int], list[str]],
    log_path: pathlib.Path,
    *,
    env: dict[str, str] | None = None,
    cwd: pathlib.Path | None = None,
    seconds: float = 20.0,
    attempts: int = 5,
    ready: str | None = None,
) -> t.Iterator[Server]:
    """Like :func:`serve` with ``command(port)`` on a free port; when another
    process takes the port between the check and the server's bind, start
    again on a new one (at most ``attempts`` times)."""
    with contextlib.ExitStack() as stack:
        for attempt in range(1, attempts + 1):
            port = free_port()
            try:
                server = stack.enter_context(
                    serve(
                        command(port),
                        port,
                        log_path,
                        env=env,
                        cwd=cwd,
                        seconds=seconds,
                        ready=ready,
                    )
                )
            except PortTaken:
                if attempt == attempts:
                    raise
                continue
            yield server
            return


def python_tool(name: str) -> str:
    """The console script ``name`` of this interpreter's environment."""
    script = pathlib.Path(sys.executable).with_name(name)
    found = str(script) if script.exists() else shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} is not installed; pip install -e '.[test]'")
    return found


def gunicorn(
    app: str,
    log_path: pathlib.Path,
    *,
    workers: int = 2,
    worker_class: str = "sync",
    config: str | None = "python:wsgi_flash.gunicorn",
    env: dict[str, str] | None = None,
    extra: t.Sequence[str] = (),
) -> contextlib.AbstractContextManager[Server]:
    def command(port: int) -> list[str]:
        return [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--worker-class",
            worker_class,
            # gunicorn turns a sync worker with --threads > 1 into gthread.
            *(["--threads", "2"] if worker_class == "gthread" else []),
            "--graceful-timeout",
            "3",
            "--timeout",
            "20",
            *(["-c", config] if config else []),
            *extra,
            app,
        ]

    return _all_workers_booted(
        serve_on_free_port(command, log_path, env=env), workers, worker_class=worker_class
    )


def waitress(
    app: str,
    log_path: pathlib.Path,
    *,
    env: dict[str, str] | None = None,
    extra: t.Sequence[str] = (),
) -> contextlib.AbstractContextManager[Server]:
    """waitress-serve with its defaults (4 threads) plus ``extra``."""

    def command(port: int) -> list[str]:
        return [python_tool("waitress-serve"), f"--listen=127.0.0.1:{port}", *extra, app]

    return serve_on_free_port(command, log_path, env=env)


def uwsgi(
    app: str,
    log_path: pathlib.Path,
    *,
    env: dict[str, str] | None = None,
    extra: t.Sequence[str] = (),
) -> contextlib.AbstractContextManager[Server]:
    """uWSGI speaking HTTP itself (``--http-socket``), one worker with two
    threads, as ``pip install uwsgi`` builds it for this interpreter."""

    def command(port: int) -> list[str]:
        return [
            python_tool("uwsgi"),
            "--http-socket",
            f"127.0.0.1:{port}",
            "--module",
            app,
            "--master",
            "--processes",
            "1",
            "--threads",
            "2",
            "--die-on-term",
            "--need-app",
            "--strict",
            "--disable-logging",
            "--home",
            sys.prefix,
            *extra,
        ]

    # uWSGI binds before its worker loads the app.
    return serve_on_free_port(command, log_path, env=env, ready="WSGI app 0 (mountpoint='') ready")


def werkzeug(
    app: str, log_path: pathlib.Path, *, env: dict[str, str] | None = None
) -> contextlib.AbstractContextManager[Server]:
    """Werkzeug's development server (threaded) in a subprocess."""
    module, _, name = app.partition(":")
    script = (
        "import sys\n"
        "from werkzeug.serving import run_simple\n"
        f"from {module} import {name} as app\n"
        "run_simple('127.0.0.1', int(sys.argv[1]), app, threaded=True)\n"
    )
    return serve_on_free_port(
        lambda port: [sys.executable, "-c", script, str(port)], log_path, env=env
    )


@contextlib.contextmanager
def _all_workers_booted(
    running: contextlib.AbstractContextManager[Server],
    workers: int,
    seconds: float = 20.0,
    *,
    worker_class: str | None = None,
) -> t.Iterator[Server]:
    """The port accepts as soon as the master binds; wait for every worker
    too, so tests that need several workers get them, and check that they
    are of ``worker_class`` when one is named."""
    with running as server:
        deadline = time.monotonic() + seconds
        while server.log().count("Booting worker with pid") < workers:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{workers} workers not booted in {seconds} s:\n{server.log()}")
            time.sleep(0.05)
        if worker_class is not None and worker_class in ("sync", "gthread"):
            assert f"Using worker: {worker_class}" in server.log(), server.log()
        # A booted worker still imports and wraps the app before it accepts;
        # tests that need requests spread over workers poll for that.
        yield server


NGINX = "/usr/sbin/nginx"
NGINX_INSTALL = "apt-get update -qq && apt-get install -y -qq nginx"


def ensure_nginx() -> str:
    """Debian's nginx: installed with apt-get when missing and we are root.
    The package's own service is never started (policy-rc.d or no init)."""
    found = shutil.which("nginx") or (NGINX if os.access(NGINX, os.X_OK) else None)
    if found is None and hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(
            ["sh", "-c", NGINX_INSTALL],
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive", "RUNLEVEL": "1"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            timeout=600,
            check=False,
        )
        found = shutil.which("nginx") or (NGINX if os.access(NGINX, os.X_OK) else None)
    if found is None:
        raise RuntimeError(f"nginx is missing and could not be installed ({NGINX_INSTALL})")
    return found


def self_signed_certificate(directory: pathlib.Path) -> tuple[pathlib.Path, pathlib.Path]:
    """A throw-away certificate for localhost, made with the openssl command."""
    key, cert = directory / "key.pem", directory / "cert.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return key, cert


def nginx_config(site: str, directory: pathlib.Path, port: int, tls_port: int) -> str:
    """A whole nginx.conf around ``site`` (the ``http``-level snippet from
    docs/proxy.rst): plain HTTP on ``port``, TLS on ``tls_port``, both on
    127.0.0.1, with every file under ``directory``."""
    key, cert = self_signed_certificate(directory)
    listen = (
        f"listen 127.0.0.1:{port};\n"
        f"listen 127.0.0.1:{tls_port} ssl;\n"
        f"ssl_certificate {cert};\n"
        f"ssl_certificate_key {key};\n"
    )
    if "server {" in site:
        site = site.replace("server {", "server {\n" + listen, 1)
    else:
        site = "server {\n" + listen + site + "\n}"
    temp = "\n".join(
        f"{kind}_temp_path {directory / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""daemon off;
master_process off;
worker_processes 1;
pid {directory / "nginx.pid"};
error_log stderr info;
events {{ worker_connections 64; }}
http {{
access_log {directory / "access.log"};
{temp}
{site}
}}
"""


@contextlib.contextmanager
def nginx(
    site: str, log_path: pathlib.Path, directory: pathlib.Path
) -> t.Iterator[tuple[Server, int]]:
    """nginx serving ``site`` (see :func:`nginx_config`) until the block
    ends; yields the plain-HTTP server and the TLS port."""
    binary = ensure_nginx()
    for attempt in range(1, 6):
        port, tls_port = free_port(), free_port()
        config = directory / "nginx.conf"
        config.write_text(nginx_config(site, directory, port, tls_port), encoding="utf-8")
        command = [binary, "-p", f"{directory}/", "-c", str(config), "-e", "stderr"]
        try:
            with serve(command, port, log_path) as server:
                wait_until_serving(tls_port, server.process, log_path, 10.0)
                yield server, tls_port
                return
        except PortTaken:
            if attempt == 5:
                raise
