"""The stack under a real gunicorn (and the CLI's servers) on 127.0.0.1.

The app in tests/apps/flash_app.py knows nothing of wsgi_flash's
configuration: gunicorn's config hook (or the CLI) wraps it, configured by
WSGI_FLASH_* variables, as an ops person would do it.
"""

from __future__ import annotations

import concurrent.futures
import pathlib
import re
import subprocess
import sys
import time

import pytest

from tests.servers import ROOT, Server, free_port, gunicorn, serve_on_free_port, server_env
from wsgi_flash.cli import format_bind, parse_bind

SECRET = "gunicorn-test-secret-key-0123456789"
NEW_SECRET = "gunicorn-test-rotated-key-0123456789"


def flash_cookie(server: Server, message: str) -> str:
    status, headers, _ = server.request("GET", f"/flash?m={message}&c=info")
    assert status == 303
    cookie = headers["Set-Cookie"]
    assert cookie.startswith("flash=") and "HttpOnly" in cookie
    return cookie.split(";", 1)[0]


@pytest.mark.parametrize(
    ("worker_class", "workers"),
    [pytest.param("sync", 2, id="sync-2"), pytest.param("gthread", 3, id="gthread-3")],
)
def test_every_worker_reads_a_message_flashed_in_another(
    tmp_path: pathlib.Path, worker_class: str, workers: int
) -> None:
    env = {"WSGI_FLASH_SECRET_KEY": SECRET}
    with gunicorn(
        "flash_app:app", tmp_path / "log", workers=workers, worker_class=worker_class, env=env
    ) as server:
        cookie = flash_cookie(server, "across-workers")
        # Concurrent slow requests spread over the workers; each peeks. A
        # worker that is still loading the app accepts nothing yet, so
        # repeat until two workers answered (bounded).
        pids: set[int] = set()
        deadline = time.monotonic() + 20
        while len(pids) < 2 and time.monotonic() < deadline:
            with concurrent.futures.ThreadPoolExecutor(max_workers=workers * 3) as pool:
                futures = [
                    pool.submit(server.json, "/peek?sleep=0.3", {"Cookie": cookie})
                    for _ in range(workers * 3)
                ]
                results = [f.result(timeout=30) for f in futures]
            assert all(r["messages"] == [["info", "across-workers"]] for r in results)
            pids |= {r["pid"] for r in results}
        assert len(pids) >= 2, "all requests hit one worker"
        status, headers, body = server.request("GET", "/read", {"Cookie": cookie})
        assert status == 200 and b"across-workers" in body
        assert headers["Set-Cookie"].startswith("flash=; ")


def test_two_instances_share_messages_through_a_key_rotation(tmp_path: pathlib.Path) -> None:
    """Staged rotation: the instance still on the old key already accepts
    the new one, the rotated instance still accepts the old one."""
    old_env = {"WSGI_FLASH_SECRET_KEY": SECRET, "WSGI_FLASH_FALLBACK_SECRET_KEYS": NEW_SECRET}
    new_env = {"WSGI_FLASH_SECRET_KEY": NEW_SECRET, "WSGI_FLASH_FALLBACK_SECRET_KEYS": SECRET}
    with (
        gunicorn("flash_app:app", tmp_path / "old.log", env=old_env) as old,
        gunicorn("flash_app:app", tmp_path / "new.log", env=new_env) as new,
    ):
        from_old = flash_cookie(old, "from-old")
        assert new.json("/read", {"Cookie": from_old})["messages"] == [["info", "from-old"]]
        from_new = flash_cookie(new, "from-new")
        assert old.json("/read", {"Cookie": from_new})["messages"] == [["info", "from-new"]]
        # A third instance that never knew the new key sees nothing, safely.
    with gunicorn(
        "flash_app:app", tmp_path / "stale.log", env={"WSGI_FLASH_SECRET_KEY": SECRET}
    ) as stale:
        status, headers, body = stale.request("GET", "/read", {"Cookie": from_new})
        assert status == 200 and b'"messages": []' in body
        assert headers["Set-Cookie"].startswith("flash=; ")
        assert "discarded an invalid flash cookie" in stale.log()


def test_bad_configuration_stops_gunicorn_at_start(tmp_path: pathlib.Path) -> None:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"127.0.0.1:{port}",
        "-c",
        "python:wsgi_flash.gunicorn",
        "flash_app:app",
    ]
    env = {"WSGI_FLASH_SECRET_KEY": SECRET, "WSGI_FLASH_PROXY_X_FOUR": "1"}
    result = subprocess.run(command, env=server_env(env), cwd=ROOT, capture_output=True, timeout=30)
    assert result.returncode != 0
    output = result.stdout.decode() + result.stderr.decode()
    assert "unknown key proxy.x_four" in output and "WSGI_FLASH_PROXY_X_FOUR" in output
    assert SECRET not in output


@pytest.mark.parametrize(
    ("server", "app"),
    [
        pytest.param("gunicorn", "flash_app:app", id="gunicorn"),
        pytest.param("waitress", "flash_app:app", id="waitress"),
        pytest.param("uwsgi", "flash_app:app", id="uwsgi"),
        pytest.param("werkzeug", "flash_app:factory()", id="werkzeug-factory"),
    ],
)
def test_cli_serve(tmp_path: pathlib.Path, server: str, app: str) -> None:
    config = tmp_path / "wsgi_flash.toml"
    config.write_text(f'secret_key = "{SECRET}"\n[proxy]\nx_for = 1\n', encoding="utf-8")

    def command(port: int) -> list[str]:
        return [
            sys.executable,
            "-m",
            "wsgi_flash",
            "serve",
            app,
            "--config",
            str(config),
            "--bind",
            f"127.0.0.1:{port}",
            # Each server's own size option; Werkzeug's server has none.
            *{"waitress": ["--threads", "4"], "werkzeug": []}.get(server, ["--workers", "2"]),
            "--server",
            server,
        ]

    with serve_on_free_port(command, tmp_path / "log") as running:
        cookie = flash_cookie(running, "served")
        data = running.json("/read", {"Cookie": cookie, "X-Forwarded-For": "203.0.113.9"})
        assert data["messages"] == [["info", "served"]]
        # waitress would have removed the header: serve turns that off for ProxyFix.
        assert data["remote_addr"] == "203.0.113.9"
        status, _, _ = running.request("GET", "/read", {"Cookie": "flash=forged.cookie"})
        assert status == 200
        # With no logging configured, serve sets up records with level and logger.
        line = wait_for_line(running, "discarded an invalid flash cookie")
    assert f"serving {app}" in running.log()
    assert re.search(r"^\d{4}-\d\d-\d\d [\d:,]+ \[\d+\] WARNING wsgi_flash\.flash: ", line), line


def wait_for_line(server: Server, text: str, seconds: float = 10.0) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for line in server.log().splitlines():
            if text in line:
                return line
        time.sleep(0.05)
    raise AssertionError(f"{text!r} not logged within {seconds} s:\n{server.log()}")


@pytest.mark.parametrize(
    ("bind", "expected"),
    [
        pytest.param("127.0.0.1:8001", ("127.0.0.1", 8001), id="host-port"),
        pytest.param(":8001", ("0.0.0.0", 8001), id="empty-host-is-every-interface"),
        pytest.param("localhost", ("localhost", 8000), id="host-only"),
        pytest.param("[::1]:8001", ("::1", 8001), id="ipv6"),
        pytest.param("[::1]", ("::1", 8000), id="ipv6-no-port"),
        pytest.param("0.0.0.0:65535", ("0.0.0.0", 65535), id="highest-port"),
    ],
)
def test_bind_means_what_it_means_to_gunicorn(bind: str, expected: tuple[str, int]) -> None:
    assert parse_bind(bind) == expected
    # gunicorn itself reads the address the same way.
    from gunicorn.util import parse_address

    host, port = expected
    assert parse_address(format_bind(host, port)) == (host, port)
    if bind.startswith(":"):
        # gunicorn keeps the empty host, which the socket binds as every interface.
        assert parse_address(bind) == ("", 8001)


@pytest.mark.parametrize(
    ("bind", "message"),
    [
        pytest.param(":99999", "from 1 to 65535, not 99999", id="too-high"),
        pytest.param(":0", "from 1 to 65535, not 0", id="zero"),
        pytest.param(":-1", "must be a number", id="negative"),
        pytest.param(":" + "9" * 5000, "must be a number", id="huge"),
        pytest.param("host:http", "must be a number", id="service-name"),
        pytest.param("::1:8000", "IPv6 address in brackets", id="bare-ipv6"),
        pytest.param("[::1", "must be HOST:PORT", id="open-bracket"),
        pytest.param("127.0.0.1:8000 --workers 0", "--workers must be from 1", id="no-workers"),
    ],
)
def test_bad_bind_or_workers_is_a_clear_error_before_any_server_starts(
    bind: str, message: str
) -> None:
    address, *more = bind.split(" ")
    result = subprocess.run(
        [sys.executable, "-m", "wsgi_flash", "serve", "flash_app:app", "--bind", address, *more],
        env=server_env({"WSGI_FLASH_SECRET_KEY": SECRET}),
        cwd=ROOT,
        capture_output=True,
        timeout=30,
        text=True,
    )
    assert result.returncode != 0
    assert message in result.stderr and "Traceback" not in result.stderr, result.stderr


@pytest.mark.parametrize("worker_class", ["sync", "gthread"])
def test_config_module_builds_the_whole_stack(tmp_path: pathlib.Path, worker_class: str) -> None:
    """``-c python:wsgi_flash.gunicorn`` with only WSGI_FLASH_* variables:
    flash, ProxyFix trusting loopback, and the malformed logger rejecting."""
    env = {
        "WSGI_FLASH_SECRET_KEY": SECRET,
        "WSGI_FLASH_PROXY_X_FOR": "1",
        "WSGI_FLASH_PROXY_TRUSTED_PROXIES": "loopback",
        "WSGI_FLASH_MALFORMED_REJECT": "uri.nul_byte",
    }
    with gunicorn(
        "flash_app:app", tmp_path / "log", workers=1, worker_class=worker_class, env=env
    ) as server:
        cookie = flash_cookie(server, "whole-stack")
        data = server.json("/read", {"Cookie": cookie, "X-Forwarded-For": "203.0.113.9"})
        assert data["messages"] == [["info", "whole-stack"]]
        assert data["remote_addr"] == "203.0.113.9"
        reply = server.raw(b"GET /a%00b HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n")
        assert reply.startswith(b"HTTP/1.1 400 ") and b"uri.nul_byte" in reply
        line = wait_for_line(server, "uri.nul_byte rejected")
        assert "/a%00b" in line
