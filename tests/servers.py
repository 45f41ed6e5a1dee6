"""Real servers for the tests: started on 127.0.0.1 with a free port,
bounded in time, always stopped."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time
import typing as t

ROOT = pathlib.Path(__file__).resolve().parent.parent
APPS = ROOT / "tests" / "apps"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    def __init__(self, process: subprocess.Popen[bytes], port: int, log_path: pathlib.Path) -> None:
        self.process, self.port, self.log_path = process, port, log_path

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
            with contextlib.suppress(TimeoutError, ConnectionResetError):
                while chunk := sock.recv(65536):
                    chunks.append(chunk)
        return b"".join(chunks)


def wait_until_serving(
    port: int, process: subprocess.Popen[bytes], log_path: pathlib.Path, seconds: float
) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log_path.read_text()}")
        with contextlib.suppress(OSError):
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
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


@contextlib.contextmanager
def serve(
    command: list[str],
    port: int,
    log_path: pathlib.Path,
    *,
    env: dict[str, str] | None = None,
    cwd: pathlib.Path | None = None,
    seconds: float = 20.0,
) -> t.Iterator[Server]:
    """Run ``command`` (which must listen on 127.0.0.1:``port``) until the
    block ends; its output goes to ``log_path``."""
    full_env = server_env(env)
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=full_env,
            cwd=cwd or ROOT,
            start_new_session=True,
        )
    try:
        wait_until_serving(port, process, log_path, seconds)
        yield Server(process, port, log_path)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


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
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        worker_class,
        "--threads",
        "2",
        "--graceful-timeout",
        "3",
        "--timeout",
        "20",
        *(["-c", config] if config else []),
        *extra,
        app,
    ]
    return _all_workers_booted(serve(command, port, log_path, env=env), workers)


@contextlib.contextmanager
def _all_workers_booted(
    running: contextlib.AbstractContextManager[Server], workers: int, seconds: float = 20.0
) -> t.Iterator[Server]:
    """The port accepts as soon as the master binds; wait for every worker
    too, so tests that need several workers get them."""
    with running as server:
        deadline = time.monotonic() + seconds
        while server.log().count("Booting worker with pid") < workers:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{workers} workers not booted in {seconds} s:\n{server.log()}")
            time.sleep(0.05)
        time.sleep(0.3)  # each booted worker still imports and wraps the app
        yield server
