"""The metrics endpoint, its counters and gunicorn hooks, attacked.

Findings are regression tests here; what held is listed in each test's
docstring or parameters. Everything runs the real prometheus_client, real
gunicorn processes on 127.0.0.1 and the werkzeug test client."""

from __future__ import annotations

import pathlib
import socket
import subprocess
import sys
import time
import typing as t
from functools import partial

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from werkzeug.test import Client

from tests.servers import ROOT, gunicorn, server_env
from tests.servers import wsgi_flash_cli as _cli
from wsgi_flash.metrics import MetricsEndpoint, PrometheusMetrics

SECRET = "adversarial-metrics-secret-0123456789"


def app_404(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"the app"]


@pytest.fixture
def endpoint() -> MetricsEndpoint:
    registry = CollectorRegistry()
    PrometheusMetrics(registry).finding("uri.nul_byte", "logged")
    return MetricsEndpoint(app_404, registry=registry)


@pytest.mark.parametrize(
    "accept",
    [
        # prometheus_client 0.2x compares each part of the version with
        # numbers: a part that is not one raised TypeError, a 500.
        pytest.param("text/plain; version=x", id="text-version-word"),
        pytest.param("text/plain;version=1.x", id="text-version-1.x"),
        pytest.param("application/openmetrics-text; version=x", id="openmetrics-version-word"),
        pytest.param("application/openmetrics-text;version=0.a", id="openmetrics-version-0.a"),
        pytest.param("text/plain; version=" + "9" * 5000, id="version-5000-digits"),
        pytest.param("text/plain; version=1.0.0", id="plain-1.0.0"),
        pytest.param("application/openmetrics-text; version=1.0.0", id="openmetrics-1.0.0"),
        pytest.param("", id="empty"),
    ],
)
def test_an_odd_accept_header_gets_the_metrics_not_a_500(
    endpoint: MetricsEndpoint, accept: str
) -> None:
    response = Client(endpoint).get(
        "/metrics", headers={"Accept": accept}, environ_base={"REMOTE_ADDR": "127.0.0.1"}
    )
    assert response.status_code == 200
    assert b"wsgi_flash_malformed_findings" in response.data


@pytest.mark.parametrize(
    ("path", "remote_addr", "method", "served"),
    [
        pytest.param("/metrics", "127.0.0.1", "GET", True, id="loopback"),
        pytest.param("/metrics", "::ffff:127.0.0.1", "GET", True, id="v4-mapped-loopback"),
        pytest.param("/metrics", "::1", "HEAD", True, id="v6-loopback-head"),
        pytest.param("/metrics", "::1%lo", "GET", False, id="zone-id"),
        pytest.param("/metrics", "::127.0.0.1", "GET", False, id="v4-compatible"),
        pytest.param("/metrics", "64:ff9b::7f00:1", "GET", False, id="nat64"),
        pytest.param("/metrics", "127.0.0.1:80", "GET", False, id="with-port"),
        pytest.param("/metrics", " 127.0.0.1", "GET", False, id="space"),
        pytest.param("/metrics", "0177.0.0.1", "GET", False, id="octal"),
        pytest.param("/metrics", "2130706433", "GET", False, id="integer"),
        pytest.param("/metrics", "192.0.2.1", "GET", False, id="outside"),
        pytest.param("/metrics", None, "GET", False, id="no-remote-addr"),
        pytest.param("/metrics", b"127.0.0.1", "GET", False, id="bytes-remote-addr"),
        pytest.param("/metrics", ["127.0.0.1"], "GET", False, id="list-remote-addr"),
        pytest.param("/metrics/", "127.0.0.1", "GET", False, id="trailing-slash"),
        pytest.param("//metrics", "127.0.0.1", "GET", False, id="double-slash"),
        pytest.param("/Metrics", "127.0.0.1", "GET", False, id="case"),
        pytest.param("/metrics\x00", "127.0.0.1", "GET", False, id="nul"),
        pytest.param(b"/metrics", "127.0.0.1", "GET", False, id="bytes-path"),
    ],
)
def test_only_the_exact_path_from_an_allowed_peer_reaches_the_metrics(
    endpoint: MetricsEndpoint,
    path: t.Any,
    remote_addr: t.Any,
    method: str,
    served: bool,
) -> None:
    """Held: every spelling here either got the metrics as intended or went
    to the app untouched; none raised."""
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
    }
    if remote_addr is not None:
        environ["REMOTE_ADDR"] = remote_addr
    statuses: list[str] = []
    body = b"".join(
        endpoint(environ, lambda status, headers, exc_info=None: statuses.append(status))
    )
    if served:
        assert statuses == ["200 OK"]
        assert (b"wsgi_flash_malformed_findings" in body) is (method == "GET")
    else:
        assert statuses == ["404 Not Found"]
        assert body == b"the app"


@pytest.mark.slow
@pytest.mark.parametrize("earlier_run", [False, True], ids=["empty", "earlier-run"])
def test_an_empty_multiprocess_directory_is_not_taken_for_an_earlier_run(
    tmp_path: pathlib.Path, earlier_run: bool
) -> None:
    """Loading the configuration in the master makes the flash middleware's
    counters, which in multiprocess mode are a file of the master's own in
    the directory: on_starting then warned of counts from an earlier run on
    every start, even into an empty directory."""
    multiproc = tmp_path / "prometheus"
    multiproc.mkdir()
    if earlier_run:
        from prometheus_client.mmap_dict import MmapedDict

        MmapedDict(str(multiproc / "counter_1.db")).close()
    env = {
        "WSGI_FLASH_SECRET_KEY": SECRET,
        "WSGI_FLASH_METRICS_ENABLED": "true",
        "PROMETHEUS_MULTIPROC_DIR": str(multiproc),
    }
    with gunicorn("flash_app:app", tmp_path / "log", workers=2, env=env) as server:
        assert server.request("GET", "/metrics")[0] == 200
        assert ("holds counts from an earlier run" in server.log()) is earlier_run, server.log()


@pytest.mark.parametrize(
    "variables",
    [
        pytest.param({"WSGI_FLASH_SECRET_KEY": SECRET}, id="with-flash"),
        pytest.param({}, id="endpoint-only"),
    ],
)
def test_a_missing_multiprocess_directory_is_a_clear_error_at_start(
    tmp_path: pathlib.Path, variables: dict[str, str]
) -> None:
    """With a middleware that counts, loading the configuration already
    failed on prometheus_client opening its file in the missing directory:
    a FileNotFoundError traceback instead of the message naming the variable."""
    missing = tmp_path / "missing"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            "127.0.0.1:0",
            "-c",
            "python:wsgi_flash.gunicorn",
            "flash_app:app",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env=server_env(
            {
                "WSGI_FLASH_METRICS_ENABLED": "true",
                "PROMETHEUS_MULTIPROC_DIR": str(missing),
                **variables,
            }
        ),
        check=False,
    )
    assert result.returncode != 0
    assert f"PROMETHEUS_MULTIPROC_DIR={str(missing)!r}: not a directory" in result.stderr
    assert "FileNotFoundError" not in result.stderr
    assert not missing.exists()


def test_a_scrape_in_multiprocess_mode_parses(tmp_path: pathlib.Path) -> None:
    """Held: the endpoint in multiprocess mode (as under gunicorn) sums the
    files and answers with text Prometheus parses."""
    code = """
import sys
import time
from werkzeug.test import Client
from wsgi_flash.metrics import MetricsEndpoint, PrometheusMetrics
PrometheusMetrics.shared().finding("uri.nul_byte", "rejected")
def app(environ, start_response):
    start_response("404 Not Found", [])
    return [b""]
response = Client(MetricsEndpoint(app)).get(
    "/metrics",
    headers={"Accept": "text/plain; version=x"},
    environ_base={"REMOTE_ADDR": "127.0.0.1"},
)
print(response.status_code)
sys.stdout.write(response.get_data(as_text=True))
"""
    multiproc = tmp_path / "prometheus"
    multiproc.mkdir()
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env=server_env({"PROMETHEUS_MULTIPROC_DIR": str(multiproc)}),
        check=False,
    )
    assert result.returncode == 0, result.stderr
    status, _, text = result.stdout.partition("\n")
    assert status == "200"
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    key = (
        "wsgi_flash_malformed_findings_total",
        (("action", "rejected"), ("check", "uri.nul_byte")),
    )
    assert samples[key] == 1


def _flask_app(**options: t.Any) -> t.Any:
    from flask import Flask

    from wsgi_flash.flask import init_app

    app = Flask(__name__)
    app.config["SECRET_KEY"] = SECRET

    @app.route("/")
    def index() -> str:
        return "index"

    init_app(app, **options)
    return app


def _sample(name: str, **labels: str) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_flask_init_app_with_a_metrics_section_serves_and_counts() -> None:
    """init_app() raised KeyError: 'metrics' for a [metrics] section (from
    its options, app.config or a file); its middlewares, each built from a
    config of its own section, would not have counted either."""
    app = _flask_app(metrics={})
    client = app.test_client()
    before = _sample("wsgi_flash_flash_cookies_rejected_total", reason="bad_signature")
    client.set_cookie("flash", "e30.AAAA.BBBB")
    assert client.get("/").status_code == 200
    response = client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert response.status_code == 200
    assert b"wsgi_flash_flash_cookies_rejected_total" in response.data
    after = _sample("wsgi_flash_flash_cookies_rejected_total", reason="bad_signature")
    assert after == before + 1
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "192.0.2.1"}).status_code == 404


@pytest.mark.parametrize("outer", ["wsgi_flash", "werkzeug"])
def test_flask_metrics_endpoint_steps_aside_once_a_proxy_fix_ran_outside(outer: str) -> None:
    """Behind a stack from the gunicorn hook (or Werkzeug's ProxyFix) the
    REMOTE_ADDR that init_app's endpoint sees may come from X-Forwarded-For;
    with every peer trusted (ProxyFix's default) anyone could name 127.0.0.1."""
    from wsgi_flash import ProxyFix

    app = _flask_app(metrics={})
    if outer == "wsgi_flash":
        wrapped: t.Any = ProxyFix(app, x_for=1)
    else:
        from werkzeug.middleware.proxy_fix import ProxyFix as WerkzeugProxyFix

        wrapped = WerkzeugProxyFix(app, x_for=1)
    response = Client(wrapped).get(
        "/metrics",
        headers={"X-Forwarded-For": "127.0.0.1"},
        environ_base={"REMOTE_ADDR": "192.0.2.1"},
    )
    assert response.status_code == 404
    assert b"wsgi_flash_" not in response.data


@pytest.mark.parametrize(
    ("allow", "expected"),
    [
        pytest.param([], "no client could read the metrics", id="empty"),
        pytest.param(["*"], "is not an address or network", id="star"),
        pytest.param([" * "], "is not an address or network", id="star-spaced"),
    ],
)
def test_an_allow_list_naming_no_network_says_what_allow_means(
    allow: list[str], expected: str
) -> None:
    """The messages were ProxyFix's: 'leave it None to trust hop counts
    alone', where None lets every client read the metrics."""
    with pytest.raises(ValueError, match=expected) as raised:
        MetricsEndpoint(app_404, allow=allow)
    assert "hop counts" not in str(raised.value)
    from wsgi_flash.config import Config, ConfigError

    with pytest.raises(ConfigError, match=expected):
        Config.load(metrics={"allow": allow})


@pytest.mark.parametrize(
    "build",
    [
        pytest.param("stack(app, metrics={}, malformed={})", id="stack-counting"),
        pytest.param("stack(app, metrics={})", id="stack-endpoint-only"),
        pytest.param("PrometheusMetrics()", id="code-metrics"),
        pytest.param("MetricsEndpoint(app)", id="code-endpoint"),
    ],
)
@pytest.mark.parametrize("kind", ["missing", "file", "empty"])
def test_a_multiprocess_directory_that_cannot_take_the_counts_is_refused_when_built(
    tmp_path: pathlib.Path, build: str, kind: str
) -> None:
    """Found: with a middleware that counts, building raised a bare
    FileNotFoundError from prometheus_client (stack(), the CLI, PasteDeploy,
    Flask); with the endpoint alone it started and every scrape was a 500.
    Set but empty, the variable still turns multiprocess mode on and the
    counts went to files in the current directory, while the endpoint
    showed this process's alone."""
    directory: t.Any = tmp_path / "prometheus"
    if kind == "file":
        directory.write_text("")
    elif kind == "empty":
        directory = ""
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    code = f"""
from werkzeug.test import Client
from wsgi_flash import stack
from wsgi_flash.config import ConfigError
from wsgi_flash.metrics import MetricsEndpoint, PrometheusMetrics
def app(environ, start_response):
    start_response("200 OK", [])
    return [b""]
try:
    wrapped = {build}
except ValueError as error:  # ConfigError is one
    print(type(error).__name__, error)
else:
    print("built", Client(wrapped).get("/metrics").status_code)
"""
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=workdir,
        env=server_env({"PROMETHEUS_MULTIPROC_DIR": str(directory)}),
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert f"PROMETHEUS_MULTIPROC_DIR={str(directory)!r}: not a directory" in result.stdout
    assert list(workdir.iterdir()) == []
    if build.startswith("stack"):
        assert result.stdout.startswith("ConfigError"), result.stdout
        assert "[metrics]" in result.stdout


@pytest.mark.parametrize("value", ["", " "])
def test_cli_refuses_a_blank_worker_class(value: str) -> None:
    """``--worker-class "$CLASS"`` with the variable unset served with the
    sync worker, silently; --workers and --threads refused the same. (The
    port is taken, so a command that goes on to serve stops on its own.)"""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = _cli(
            "serve",
            "flash_app:app",
            "--server",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{taken.getsockname()[1]}",
            "--worker-class",
            value,
            env={"WSGI_FLASH_SECRET_KEY": SECRET},
        )
    assert result.returncode == 2, result.stderr
    assert "--worker-class must not be empty" in result.stderr
    assert "serving" not in result.stderr


@pytest.mark.slow
def test_cli_warns_when_several_workers_count_metrics_on_their_own(
    tmp_path: pathlib.Path,
) -> None:
    """``wsgi-flash serve --workers 2`` with metrics and no
    PROMETHEUS_MULTIPROC_DIR started silently, each scrape showing one
    worker's counts (the gunicorn hook warns of it)."""
    from tests.servers import serve_on_free_port

    def command(port: int) -> list[str]:
        return [
            *[sys.executable, "-m", "wsgi_flash", "serve", "flash_app:app"],
            *["--server", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}"],
        ]

    env = {"WSGI_FLASH_SECRET_KEY": SECRET, "WSGI_FLASH_METRICS_ENABLED": "true"}
    with serve_on_free_port(command, tmp_path / "log", env=env) as running:
        assert running.request("GET", "/metrics")[0] == 200
    log = running.log()
    assert "2 worker processes each count the metrics on their own" in log, log
    assert "PROMETHEUS_MULTIPROC_DIR" in log


def _record_status(
    statuses: list[str], status: str, headers: t.Any, exc_info: t.Any = None
) -> t.Callable[[bytes], None]:
    statuses.append(status)
    return lambda data: None


def test_random_hostile_requests_add_counts_never_time_series() -> None:
    """Held: 600 random requests (bytes 0-255 in the target, Host, Cookie,
    the proxy headers and the body, half of the checks rejecting) through
    ProxyFix, MalformedRequestLogger and FlashMiddleware, one metrics
    object: no request raised, and every label value is a check id, an
    action, a reason or an event named in the code."""
    import io
    import random

    from wsgi_flash import FlashMiddleware, MalformedRequestLogger, ProxyFix
    from wsgi_flash.malformed._checks import CHECKS_BY_ID
    from wsgi_flash.metrics import ACTIONS

    registry = CollectorRegistry()
    metrics = PrometheusMetrics(registry)
    checks = sorted(CHECKS_BY_ID)
    rejectable = [check for check in checks if not check.startswith("app.")]
    inner = MalformedRequestLogger(
        FlashMiddleware(app_404, secret_key=SECRET, metrics=metrics),
        reject=rejectable[::2],
        allowed_hosts=["example.com"],
        max_content_length=10,
        metrics=metrics,
        rate_limit=None,
    )
    headers = {"x_for": 1, "x_proto": 1, "x_host": 1, "x_port": 1, "x_prefix": 1}
    apps = [
        ProxyFix(inner, **headers, trusted_proxies=["10.0.0.0/8"], metrics=metrics),
        ProxyFix(inner, forwarded=1, trusted_proxies=["10.0.0.0/8"], metrics=metrics),
    ]
    rng = random.Random(20261206)
    alphabet = "".join(map(chr, range(256)))

    def text(longest: int, usual: str = "") -> str:
        """Random text, or (two times in three) the ``usual`` value."""
        if rng.randrange(3):
            return usual
        return "".join(rng.choice(alphabet) for _ in range(rng.randrange(longest)))

    for _ in range(600):
        environ = {
            "REQUEST_METHOD": text(8, "GET") or "GET",
            "SCRIPT_NAME": "",
            "PATH_INFO": "/" + text(40, "page"),
            "QUERY_STRING": text(40),
            "SERVER_NAME": "localhost",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": rng.choice(["10.0.0.1", "192.0.2.1", "::ffff:10.0.0.1", text(12)]),
            "HTTP_HOST": text(20, "example.com"),
            "HTTP_COOKIE": "flash=" + text(60, rng.choice(["e30.AAAA.BBBB", "x.y", "e30"])),
            "HTTP_X_FORWARDED_FOR": text(30, rng.choice(["192.0.2.7", "bad"])),
            "HTTP_X_FORWARDED_PROTO": text(8, "https"),
            "HTTP_X_FORWARDED_HOST": text(20, "example.com"),
            "HTTP_X_FORWARDED_PORT": text(8, "443"),
            "HTTP_X_FORWARDED_PREFIX": text(20, "/app"),
            "HTTP_FORWARDED": text(40, "for=192.0.2.7;proto=https"),
            "CONTENT_TYPE": text(30, "text/plain"),
            "CONTENT_LENGTH": text(5, rng.choice(["", "5"])),
            "wsgi.input": io.BytesIO(text(20, "hello").encode("latin-1")),
            "wsgi.errors": sys.stderr,
            "wsgi.url_scheme": "http",
            "wsgi.version": (1, 0),
            "wsgi.multithread": False,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        statuses: list[str] = []
        result = rng.choice(apps)(environ, partial(_record_status, statuses))
        b"".join(result)
        getattr(result, "close", lambda: None)()
        assert statuses and statuses[-1][:3] in ("400", "404"), statuses

    allowed = {
        "check": set(checks),
        "action": set(ACTIONS),
        "event": {"written", "read"},
        "reason": {
            "bad_signature",
            "expired",
            "future",
            "malformed",
            "untrusted_peer",
            "server_not_pep_3333",
            "server_config",
            "bad_x_forwarded_for",
            "bad_x_forwarded_proto",
            "bad_x_forwarded_host",
            "bad_x_forwarded_port",
            "bad_x_forwarded_prefix",
            "bad_forwarded",
        },
    }
    seen: dict[str, set[str]] = {}
    for family in registry.collect():
        for sample in family.samples:
            for label, label_value in sample.labels.items():
                seen.setdefault(label, set()).add(label_value)
    assert seen.get("check"), "no finding was counted"
    assert {"bad_signature", "malformed", "untrusted_peer", "bad_x_forwarded_for"} <= seen["reason"]
    for label, values in seen.items():
        assert values <= allowed[label], (label, values - allowed[label])


@pytest.mark.parametrize("offset", [-(10**8), 10**8], ids=["expired", "future"])
def test_a_cookie_refused_for_its_age_is_deleted_and_counted_when_nobody_reads(
    offset: int,
) -> None:
    """Held after the lazy parse: verification (signature and age) still
    runs at the start of every request that carries the cookie, so an
    expired or future-dated one is deleted and counted though the app never
    looks at its messages."""
    from wsgi_flash import FlashMiddleware
    from wsgi_flash.messages._signing import TimedSigner

    registry = CollectorRegistry()
    app = FlashMiddleware(app_404, secret_key=SECRET, metrics=PrometheusMetrics(registry))
    signer = TimedSigner(SECRET, (), "wsgi_flash.flash", clock=lambda: time.time() + offset)
    token = signer.sign(b'[["message", "old"]]')
    response = Client(app, use_cookies=False).get("/", headers={"Cookie": f"flash={token}"})
    [header] = response.headers.getlist("Set-Cookie")
    assert header.startswith("flash=; ") and "Max-Age=0" in header
    reason = "expired" if offset < 0 else "future"
    labels = {"reason": reason}
    assert registry.get_sample_value("wsgi_flash_flash_cookies_rejected_total", labels) == 1


def _raw_get(port: int, target: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        data = b""
        for _ in range(1000):  # bounded: the answers are a few KiB
            chunk = connection.recv(65536)
            if not chunk:
                break
            data += chunk
    return data


#: Request targets that gunicorn turns into PATH_INFO "/metrics" (the first
#: group) or into something close to it.
_SPELLINGS = [
    b"/metrics",
    b"/metrics#x",
    b"/%6detrics",
    b"/%6Detrics",
    b"/m%65trics?#",
    b"/metrics?x=1",
    b"http://a/metrics",
    b"//metrics",
    b"/./metrics",
    b"/x/../metrics",
    b"/%2Fmetrics",
    b"/metrics%23x",
    b"/metrics%3Fx",
    b"/metrics;x",
    b"/metrics/",
]


@pytest.mark.slow
def test_the_documented_nginx_rule_keeps_every_spelling_of_the_path_out(
    tmp_path: pathlib.Path,
) -> None:
    """Held: behind nginx on the same machine every request comes from
    loopback; docs/metrics.rst's ``location = /metrics { return 404; }``
    stops every spelling that gunicorn decodes to the path (a fragment,
    percent-escapes, a query, absolute form), because nginx matches the
    decoded, normalised path. The raw requests prove gunicorn alone serves
    those spellings to loopback."""
    from tests.servers import nginx

    env = {"WSGI_FLASH_SECRET_KEY": SECRET, "WSGI_FLASH_METRICS_ENABLED": "true"}
    with gunicorn("flash_app:app", tmp_path / "gunicorn.log", workers=1, env=env) as app:
        direct = {target: b"wsgi_flash_" in _raw_get(app.port, target) for target in _SPELLINGS}
        assert sum(direct.values()) == 7, direct
        site = (
            "location = /metrics { return 404; }\n"
            f"location / {{ proxy_pass http://127.0.0.1:{app.port}; }}"
        )
        (tmp_path / "nginx").mkdir()
        with nginx(site, tmp_path / "nginx.log", tmp_path / "nginx") as (proxy, _):
            through = {
                target: b"wsgi_flash_" in _raw_get(proxy.port, target) for target in _SPELLINGS
            }
    assert not any(through.values()), through


@pytest.mark.parametrize("middleware", ["FlashMiddleware", "MalformedRequestLogger", "ProxyFix"])
@pytest.mark.parametrize(
    "wrong",
    [
        pytest.param("registry", id="the-registry"),
        pytest.param(True, id="true"),
        pytest.param({}, id="dict"),
    ],
)
def test_a_metrics_argument_that_cannot_count_is_refused_at_once(
    middleware: str, wrong: t.Any
) -> None:
    """Found: FlashMiddleware and MalformedRequestLogger took any object as
    ``metrics`` and failed with AttributeError on the first count, a 500 for
    the request that brought a forged cookie or a bad escape; ProxyFix
    failed at once, but with an AttributeError that did not say what to pass."""
    from prometheus_client import REGISTRY

    import wsgi_flash

    cls = getattr(wsgi_flash, middleware)
    options: dict[str, t.Any] = {"secret_key": SECRET} if middleware == "FlashMiddleware" else {}
    metrics = REGISTRY if wrong == "registry" else wrong
    with pytest.raises(TypeError, match=r"PrometheusMetrics\.shared\(\)"):
        cls(app_404, metrics=metrics, **options)


@pytest.mark.slow
def test_gunicorn_ignores_a_multiprocess_directory_when_metrics_are_off(
    tmp_path: pathlib.Path,
) -> None:
    """Held: PROMETHEUS_MULTIPROC_DIR set for something else (here, to a
    directory that does not exist) does not stop gunicorn when wsgi_flash's
    metrics are not configured; a worker exit runs child_exit without
    importing prometheus_client or writing anything there."""
    import os
    import signal

    missing = tmp_path / "missing"
    env = {"WSGI_FLASH_SECRET_KEY": SECRET, "PROMETHEUS_MULTIPROC_DIR": str(missing)}
    with gunicorn("flash_app:app", tmp_path / "log", workers=2, env=env) as server:
        pid = server.json("/")["pid"]
        assert server.request("GET", "/metrics")[0] == 200  # the app's own answer
        assert "wsgi_flash_" not in server.request("GET", "/metrics")[2].decode()
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and server.log().count("Booting worker") < 3:
            time.sleep(0.05)
        assert server.log().count("Booting worker") >= 3, server.log()
        assert server.process.poll() is None
    assert "Traceback" not in server.log() and "Exception" not in server.log()
    assert not missing.exists()
