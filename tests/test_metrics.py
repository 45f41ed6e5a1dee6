"""Prometheus metrics: the counters each middleware keeps, the endpoint,
the configuration, and gunicorn with two workers in multiprocess mode.

Everything here runs the real prometheus_client; counts are read back from
its registry or from a real scrape, never from our own counters."""

from __future__ import annotations

import logging
import os
import pathlib
import signal
import subprocess
import sys
import time
import typing as t

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from werkzeug.test import Client

from tests.servers import ROOT, gunicorn, server_env
from wsgi_flash import FlashMiddleware, MalformedRequestLogger, ProxyFix, flash
from wsgi_flash.config import Config, ConfigError
from wsgi_flash.metrics import MetricsEndpoint, PrometheusMetrics

SECRET = "metrics-test-secret-key-0123456789"


def ok_app(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"app"]


def flashing_app(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
    from wsgi_flash import get_flashed_messages

    if environ["PATH_INFO"] == "/flash":
        flash(environ, "one")
        flash(environ, "two", "error")
    elif environ["PATH_INFO"] == "/read":
        get_flashed_messages(environ)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b""]


def value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


def test_flash_counts_messages_written_and_read(registry: CollectorRegistry) -> None:
    metrics = PrometheusMetrics(registry)
    client = Client(FlashMiddleware(flashing_app, secret_key=SECRET, metrics=metrics))
    client.get("/flash")
    client.get("/plain")  # carries the cookie, reads nothing
    client.get("/read")
    client.get("/read")  # nothing left
    assert value(registry, "wsgi_flash_flash_messages_total", event="written") == 2
    assert value(registry, "wsgi_flash_flash_messages_total", event="read") == 2


@pytest.mark.parametrize(
    ("cookie", "reason"),
    [
        pytest.param("flash=e30.AAAA.BBBB", "bad_signature", id="forged"),
        pytest.param("flash=no-dots-at-all", "malformed", id="garbage"),
    ],
)
def test_flash_counts_refused_cookies_by_reason(
    registry: CollectorRegistry, cookie: str, reason: str
) -> None:
    metrics = PrometheusMetrics(registry)
    app = FlashMiddleware(ok_app, secret_key=SECRET, metrics=metrics)
    client = Client(app, use_cookies=False)  # sends the Cookie header as given
    for _ in range(3):
        client.get("/", headers={"Cookie": cookie})
    assert value(registry, "wsgi_flash_flash_cookies_rejected_total", reason=reason) == 3


def test_flash_counts_expired_cookies(registry: CollectorRegistry) -> None:
    metrics = PrometheusMetrics(registry)
    old = FlashMiddleware(flashing_app, secret_key=SECRET)
    old._signer.clock = lambda: time.time() - 10_000  # signed long ago
    response = Client(old).get("/flash")
    cookie = response.headers["Set-Cookie"].split(";", 1)[0]
    app = FlashMiddleware(ok_app, secret_key=SECRET, max_age=60, metrics=metrics)
    Client(app, use_cookies=False).get("/", headers={"Cookie": cookie})
    assert value(registry, "wsgi_flash_flash_cookies_rejected_total", reason="expired") == 1


def test_proxy_fix_counts_ignored_headers_by_reason(registry: CollectorRegistry) -> None:
    metrics = PrometheusMetrics(registry)
    app = ProxyFix(ok_app, x_for=1, trusted_proxies=["10.0.0.0/8"], metrics=metrics)
    # From an untrusted peer: ignored, whatever they say.
    for _ in range(2):
        Client(app).get("/", headers={"X-Forwarded-For": "192.0.2.1"})
    # From the proxy, but not an address.
    Client(app).get(
        "/", headers={"X-Forwarded-For": "not-an-address"}, environ_base={"REMOTE_ADDR": "10.0.0.1"}
    )
    assert value(registry, "wsgi_flash_proxy_headers_ignored_total", reason="untrusted_peer") == 2
    assert (
        value(registry, "wsgi_flash_proxy_headers_ignored_total", reason="bad_x_forwarded_for") == 1
    )


def test_counting_does_not_depend_on_the_log_level(
    registry: CollectorRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    """Ops who silence the WARNINGs still see the counts."""
    metrics = PrometheusMetrics(registry)
    app = ProxyFix(ok_app, x_for=1, trusted_proxies=["10.0.0.0/8"], metrics=metrics)
    with caplog.at_level(logging.CRITICAL, logger="wsgi_flash"):
        Client(app).get("/", headers={"X-Forwarded-For": "192.0.2.1"})
    assert caplog.records == []
    assert value(registry, "wsgi_flash_proxy_headers_ignored_total", reason="untrusted_peer") == 1


def test_malformed_counts_findings_by_check_and_action(registry: CollectorRegistry) -> None:
    metrics = PrometheusMetrics(registry)
    app = MalformedRequestLogger(
        ok_app, reject=["header.cookie"], rate_limit=(2, 3600.0), metrics=metrics
    )
    client = Client(app, use_cookies=False)
    for _ in range(5):  # logged twice, then suppressed by the rate limit
        client.get("/?a=%zz")
    for _ in range(3):
        assert client.get("/", headers={"Cookie": "no-equals-sign"}).status_code == 400
    findings = "wsgi_flash_malformed_findings_total"
    assert value(registry, findings, check="uri.percent_encoding", action="logged") == 2
    assert value(registry, findings, check="uri.percent_encoding", action="suppressed") == 3
    assert value(registry, findings, check="header.cookie", action="rejected") == 3
    assert value(registry, findings, check="header.cookie", action="logged") == 0


def test_client_data_never_becomes_a_label(registry: CollectorRegistry) -> None:
    """A flood of different bad values adds counts, not time series."""
    metrics = PrometheusMetrics(registry)
    app = ProxyFix(
        MalformedRequestLogger(
            FlashMiddleware(ok_app, secret_key=SECRET, metrics=metrics), metrics=metrics
        ),
        x_for=1,
        trusted_proxies=["10.0.0.0/8"],
        metrics=metrics,
    )
    for n in range(200):
        Client(app, use_cookies=False).get(
            f"/{n}?v=%z{n}",
            headers={"X-Forwarded-For": f"bad{n}", "Cookie": f"flash=x{n}.y.z"},
            environ_base={"REMOTE_ADDR": "10.0.0.1"},
        )
    labels = {
        (sample.name, tuple(sorted(sample.labels.items())))
        for family in registry.collect()
        for sample in family.samples
        if sample.name.endswith("_total") and sample.value
    }
    shown = "\n".join(map(str, sorted(labels)))
    assert len(labels) <= 4, shown
    assert all(str(n) not in str(label) for label in labels for n in (17, 123, 199)), shown


def test_endpoint_serves_loopback_and_passes_others_to_the_app(
    registry: CollectorRegistry,
) -> None:
    metrics = PrometheusMetrics(registry)
    metrics.flash_cookie_rejected("bad_signature")
    app = MetricsEndpoint(ok_app, registry=registry)
    response = Client(app).get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    [sample] = [
        s for s in families["wsgi_flash_flash_cookies_rejected"].samples if s.name.endswith("total")
    ]
    assert sample.labels == {"reason": "bad_signature"} and sample.value == 1
    # Anyone else reaches the app, as if there were no endpoint; a forged
    # X-Forwarded-For changes nothing, since the endpoint sits outside ProxyFix.
    outside = Client(app).get(
        "/metrics",
        headers={"X-Forwarded-For": "127.0.0.1"},
        environ_base={"REMOTE_ADDR": "192.0.2.7"},
    )
    assert outside.text == "app"
    assert Client(app).get("/other").text == "app"
    loopback = {"REMOTE_ADDR": "127.0.0.1"}
    assert Client(app).post("/metrics", environ_base=loopback).status_code == 405
    head = Client(app).head("/metrics", environ_base=loopback)
    assert head.status_code == 200 and head.data == b""


def test_endpoint_speaks_openmetrics_when_asked(registry: CollectorRegistry) -> None:
    PrometheusMetrics(registry)
    app = MetricsEndpoint(ok_app, registry=registry, allow=None)
    response = Client(app).get(
        "/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
    )
    assert response.headers["Content-Type"].startswith("application/openmetrics-text")
    assert response.text.rstrip().endswith("# EOF")


def test_endpoint_options_are_checked() -> None:
    with pytest.raises(ValueError, match="path must be"):
        MetricsEndpoint(ok_app, path="metrics")
    with pytest.raises(ValueError, match="allow"):
        MetricsEndpoint(ok_app, allow=["not a network"])
    with pytest.raises(TypeError, match="allow must be a list"):
        MetricsEndpoint(ok_app, allow="loopback")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="registry must be a prometheus_client CollectorRegistry"):
        MetricsEndpoint(ok_app, registry=PrometheusMetrics)  # type: ignore[arg-type]


def test_a_second_instance_on_one_registry_says_to_use_shared(
    registry: CollectorRegistry,
) -> None:
    first = PrometheusMetrics.shared(registry)
    assert PrometheusMetrics.shared(registry) is first
    with pytest.raises(ValueError, match=r"PrometheusMetrics\.shared"):
        PrometheusMetrics(registry)


def test_config_section_puts_the_endpoint_outermost_and_counts_in_every_middleware() -> None:
    config = Config.load(
        secret_key=SECRET,
        proxy={"x_for": 1, "trusted_proxies": ["10.0.0.0/8"]},
        malformed={},
        metrics={"path": "/_metrics"},
    )
    assert config.describe().splitlines()[0] == "metrics: MetricsEndpoint(path='/_metrics')"
    app = config.wrap(flashing_app)
    assert isinstance(app, MetricsEndpoint)
    shared = PrometheusMetrics.shared()
    assert app.app.metrics is shared  # type: ignore[attr-defined]

    def scrape() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        text = Client(app).get("/_metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"}).text
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }

    before = scrape()
    Client(app).get("/flash", headers={"X-Forwarded-For": "192.0.2.1"})
    after = scrape()
    changed = {key: after[key] - before.get(key, 0.0) for key in after}
    assert changed[("wsgi_flash_flash_messages_total", (("event", "written"),))] == 2
    assert changed[("wsgi_flash_proxy_headers_ignored_total", (("reason", "untrusted_peer"),))] == 1


def test_config_from_environment_variables() -> None:
    config = Config.load(
        environ={"WSGI_FLASH_METRICS_PATH": "/m", "WSGI_FLASH_METRICS_ALLOW": "loopback, 10.0.0.9"}
    )
    assert config.sections["metrics"] == {"path": "/m", "allow": ("loopback", "10.0.0.9")}
    with pytest.raises(ConfigError, match=r"metrics\.allow = none would let every client"):
        Config.load(environ={"WSGI_FLASH_METRICS_ALLOW": "none"})


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )


def test_nothing_is_imported_without_metrics() -> None:
    code = """
import sys
from werkzeug.test import Client
from wsgi_flash import RequestHooks, stack
from wsgi_flash import gunicorn  # the config module gunicorn loads, too

def app(environ, start_response):
    start_response("200 OK", [])
    return [b""]

wrapped = stack(RequestHooks(app), secret_key="x" * 32, proxy={"x_for": 1}, malformed={})
Client(wrapped).get("/?a=%zz", headers={"Cookie": "flash=forged.a.b"})
print("prometheus_client" in sys.modules)
"""
    result = _run(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_missing_extra_is_a_config_error_naming_it() -> None:
    code = """
import sys
sys.modules["prometheus_client"] = None  # as if the extra were not installed
from wsgi_flash.config import Config, ConfigError
try:
    Config.load(metrics={})
except ConfigError as error:
    print(error)
"""
    result = _run(code)
    assert result.returncode == 0, result.stderr
    assert "[metrics]" in result.stdout
    assert "pip install 'wsgi_flash[prometheus]'" in result.stdout


@pytest.mark.slow
def test_gunicorn_two_workers_one_scrape_shows_the_totals(tmp_path: pathlib.Path) -> None:
    multiproc = tmp_path / "prometheus"
    multiproc.mkdir()
    env = {
        "PROMETHEUS_MULTIPROC_DIR": str(multiproc),
        "WSGI_FLASH_SECRET_KEY": SECRET,
        "WSGI_FLASH_PROXY_X_FOR": "1",
        "WSGI_FLASH_PROXY_TRUSTED_PROXIES": "10.0.0.0/8",
        "WSGI_FLASH_MALFORMED_ENABLED": "true",
        "WSGI_FLASH_METRICS_PATH": "/metrics",
    }
    with gunicorn("flash_app:app", tmp_path / "log", workers=2, env=env) as server:
        pids: dict[int, int] = {}
        sent = 0
        deadline = time.monotonic() + 30
        # Each request opens its own connection, so the workers share them;
        # go on (bounded) until both have answered some. Every request
        # carries a forged flash cookie, an X-Forwarded-For from an
        # untrusted peer and a bad percent-escape.
        while (len(pids) < 2 or sent < 20) and time.monotonic() < deadline and sent < 400:
            pid = server.json(
                "/read?bad=%zz", {"X-Forwarded-For": "192.0.2.1", "Cookie": "flash=forged.a.b"}
            )["pid"]
            pids[pid] = pids.get(pid, 0) + 1
            sent += 1
        assert len(pids) == 2, f"only one worker answered: {pids}"
        flashed = 10
        for _ in range(flashed):
            assert server.request("GET", "/flash?m=x")[0] == 303

        status, _, body = server.request("GET", "/metrics")
        assert status == 200, body
        samples = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(body.decode())
            for s in family.samples
        }
        assert samples[("wsgi_flash_flash_messages_total", (("event", "written"),))] == flashed
        assert samples[
            ("wsgi_flash_flash_cookies_rejected_total", (("reason", "bad_signature"),))
        ] == (sent)
        ignored = samples[
            ("wsgi_flash_proxy_headers_ignored_total", (("reason", "untrusted_peer"),))
        ]
        assert ignored == sent
        findings = (
            ("action", "logged"),
            ("check", "uri.percent_encoding"),
        )
        suppressed = (
            ("action", "suppressed"),
            ("check", "uri.percent_encoding"),
        )
        total = samples[("wsgi_flash_malformed_findings_total", findings)] + samples.get(
            ("wsgi_flash_malformed_findings_total", suppressed), 0.0
        )
        assert total == sent
        # Each worker wrote its own file: the totals are sums over both.
        assert len(list(multiproc.glob("counter_*.db"))) >= 2

        # A worker that dies keeps its counts in the totals; gunicorn calls
        # wsgi_flash.gunicorn.child_exit for it, and boots another.
        gone = next(iter(pids))
        os.kill(gone, signal.SIGTERM)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and server.log().count("Booting worker") < 3:
            time.sleep(0.05)
        assert server.log().count("Booting worker") >= 3, server.log()
        status, _, body = server.request("GET", "/metrics")
        again = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(body.decode())
            for s in family.samples
        }
        assert again[("wsgi_flash_flash_messages_total", (("event", "written"),))] == flashed
        assert "Exception" not in server.log() and "Traceback" not in server.log()


@pytest.mark.slow
def test_gunicorn_without_multiproc_dir_says_a_scrape_shows_one_worker(
    tmp_path: pathlib.Path,
) -> None:
    env = {"WSGI_FLASH_METRICS_ENABLED": "true"}
    with gunicorn("flash_app:app", tmp_path / "log", workers=2, env=env) as server:
        assert server.request("GET", "/metrics")[0] == 200
        assert "2 workers each count on their own" in server.log()
        assert "PROMETHEUS_MULTIPROC_DIR" in server.log()


GUNICORN = (sys.executable, "-m", "gunicorn")


def test_gunicorn_refuses_a_multiproc_dir_it_cannot_write(tmp_path: pathlib.Path) -> None:
    missing = tmp_path / "missing"
    result = subprocess.run(
        [*GUNICORN, "--bind", "127.0.0.1:0", "-c", "python:wsgi_flash.gunicorn", "flash_app:app"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env=server_env(
            {"WSGI_FLASH_METRICS_ENABLED": "true", "PROMETHEUS_MULTIPROC_DIR": str(missing)}
        ),
        check=False,
    )
    assert result.returncode != 0
    assert f"PROMETHEUS_MULTIPROC_DIR={str(missing)!r}: not a directory" in result.stderr


def test_an_unusable_multiproc_dir_is_named_not_an_option(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The error is the environment's: it must not be put on the first
    [metrics] option, as if WSGI_FLASH_METRICS_PATH were wrong."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "missing"))
    with pytest.raises(ConfigError) as raised:
        Config.load(environ={"WSGI_FLASH_METRICS_PATH": "/m"})
    message = str(raised.value)
    assert message.startswith("[metrics] environment variable PROMETHEUS_MULTIPROC_DIR="), message
    assert "WSGI_FLASH_METRICS_PATH" not in message
