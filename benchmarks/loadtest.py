"""Load test: the worker CPU each request costs, with and without the stack.

Usage: ``make loadtest`` (or ``python benchmarks/loadtest.py [--duration 4]
[--runs 3] [--scenarios plain,flask] [--load-generator python]``). Starts
gunicorn four times on 127.0.0.1 (2 sync workers each), serving
:mod:`loadtest_app`'s ``bare`` app and the same app in the full stack
(``stacked``), and a minimal Flask app alone (``flask_app``) and in the
full stack (``flask_stacked``); checks that the stack does its job on each
kind of request; then drives each pair with wrk over loopback, scenario by
scenario:

-   ``plain``: ``GET /``;
-   ``flash set``: ``GET /flash`` (the stack flashes and sets the cookie);
-   ``flash read``: ``GET /read`` with a flash cookie captured beforehand
    (the stack reads it and deletes the cookie);
-   ``mix``: those three, ``GET /a%zz`` (the stack rejects it with 400) and
    ``GET /client`` with ``X-Forwarded-For`` (the stack's ProxyFix trusts
    loopback), in rotation;
-   ``flask``: the minimal Flask app alone against the same in the full
    stack, on what a browser sends through a proxy on 127.0.0.1
    (``X-Forwarded-For``/``-Proto``, cookies, ``Accept`` headers): the
    bench's headline (``cases_flask.py``) under a real server.

It judges by the gunicorn workers' CPU time per request (user + system,
from ``/proc/<pid>/stat``), not by requests/s: on shared cores, load from
others changes how many requests a run gets through far more than what each
one costs. Each scenario runs ``--runs`` times per app, interleaved (A B B
A A B), and each app's median run is reported; the ratio of the medians,
base over stack, is the share of the base's throughput the stack keeps on a
CPU-bound machine, and the goals apply to it. Requests/s, responses that
were neither 2xx/3xx nor an intended 400 (must be 0), socket errors (must
be 0), p50 (median run) and p99 (worst run) latency and the workers'
resident memory growth are reported beside it. Only ratios within one run
mean anything on a shared machine.

wrk is installed with apt-get when missing and we are root; otherwise a
slower Python load generator stands in. The whole run stops itself within
three minutes; exit status 1 means errors or a worker that restarted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import pathlib
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import typing as t
from dataclasses import dataclass, field

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from cases_flask import BROWSER_VIA_PROXY  # noqa: E402
from loadtest_app import FLASHED, FORWARDED_CLIENT, HOOK_HEADER  # noqa: E402

from tests.servers import Server, gunicorn  # noqa: E402

#: The run, installing wrk included, ends by this many seconds.
BUDGET_SECONDS = 170
#: Goals (issue 7, judged by CPU since issue 14): the bare app's worker CPU
#: per request over the stack's, i.e. the share of its throughput the stack
#: keeps when the workers are what limits it.
GOALS = {"plain": 0.95, "flash set": 0.90, "flash read": 0.90}
#: The gunicorn app of each target, and which two targets each scenario
#: compares (base, with the stack).
APPS = {
    "bare": "bare",
    "stack": "stacked",
    "flask": "flask_app",
    "flask_stack": "flask_stacked",
}
PAIRS = {"flask": ("flask", "flask_stack")}
DEFAULT_PAIR = ("bare", "stack")
#: The browser's headers via the proxy, as the flask scenario sends them
#: (the load generator sets Host and Connection itself).
BROWSER_HEADERS = {
    key[5:].replace("_", "-").title(): value
    for key, value in BROWSER_VIA_PROXY.items()
    if key.startswith("HTTP_") and key not in ("HTTP_HOST", "HTTP_CONNECTION")
}
MALFORMED_PATH = "/a%zz"
MALFORMED_BODY = "uri.percent_encoding"

# Reported by every wrk run, one line that _parse_wrk reads.
_SUMMARY_LUA = r"""
function done(summary, latency, requests)
  local intended, unexpected = 0, summary.errors.status
  if counted then
    intended, unexpected = 0, 0
    for _, thread in ipairs(threads) do
      intended = intended + thread:get("intended")
      unexpected = unexpected + thread:get("unexpected")
    end
  end
  io.write(string.format(
    "LOADTEST requests=%d duration_us=%d status_errors=%d intended_400=%d unexpected=%d"
      .. " connect=%d read=%d write=%d timeout=%d p50_us=%d p99_us=%d\n",
    summary.requests, summary.duration, summary.errors.status, intended, unexpected,
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50.0), latency:percentile(99.0)))
end
"""
# The mix: rotate through the requests, and count 400s by their body so an
# intended rejection is told apart from an error.
_MIX_LUA = (
    r"""
counted = true
threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  mix = {
    wrk.format("GET", "/"),
    wrk.format("GET", "/flash"),
    wrk.format("GET", "/read", {["Cookie"] = args[1]}),
    wrk.format("GET", "/a%zz"),
    wrk.format("GET", "/client", {["X-Forwarded-For"] = args[2]}),
  }
  index = 0
  intended = 0
  unexpected = 0
end

function request()
  index = index % #mix + 1
  return mix[index]
end

function response(status, headers, body)
  if status == 400 and body and body:find("uri.percent_encoding", 1, true) then
    intended = intended + 1
  elseif status < 200 or status > 399 then
    unexpected = unexpected + 1
  end
end
"""
    + _SUMMARY_LUA
)


@dataclass
class Load:
    """What one load run measured."""

    requests: int
    seconds: float
    intended_400: int
    unexpected: int
    socket_errors: int
    p50_ms: float
    p99_ms: float
    #: CPU time the gunicorn workers spent meanwhile (user + system).
    cpu_seconds: float = 0.0

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def cpu_us_per_request(self) -> float:
        return self.cpu_seconds / self.requests * 1e6 if self.requests else 0.0


@dataclass
class Runs:
    """One app's runs of one scenario: the median run decides, errors add up."""

    loads: list[Load] = field(default_factory=list)

    @property
    def cpu_us_per_request(self) -> float:
        return statistics.median(load.cpu_us_per_request for load in self.loads)

    @property
    def per_second(self) -> float:
        return statistics.median(load.per_second for load in self.loads)

    @property
    def p50_ms(self) -> float:
        return statistics.median(load.p50_ms for load in self.loads)

    @property
    def p99_ms(self) -> float:
        return max(load.p99_ms for load in self.loads)

    @property
    def unexpected(self) -> int:
        return sum(load.unexpected for load in self.loads)

    @property
    def intended_400(self) -> int:
        return sum(load.intended_400 for load in self.loads)

    @property
    def socket_errors(self) -> int:
        return sum(load.socket_errors for load in self.loads)

    def cpu_runs(self) -> str:
        return ",".join(f"{load.cpu_us_per_request:.0f}" for load in self.loads)


@dataclass
class Target:
    """One running gunicorn and its workers."""

    name: str
    server: Server
    rss_kb: list[int] = field(default_factory=list)

    def workers(self) -> list[int]:
        pid = self.server.process.pid
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as children:
            return [int(p) for p in children.read().split()]

    def worker_rss_kb(self) -> int:
        """Resident memory of the worker processes together, in KiB."""
        total = 0
        for pid in self.workers():
            with open(f"/proc/{pid}/status", encoding="ascii") as status:
                found = re.search(r"^VmRSS:\s+(\d+) kB", status.read(), re.M)
            total += int(found.group(1)) if found else 0
        return total

    def worker_cpu_seconds(self) -> float:
        """User plus system CPU time of the worker processes together."""
        ticks = 0
        for pid in self.workers():
            with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
                fields = stat.read().rpartition(")")[2].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
        return ticks / os.sysconf("SC_CLK_TCK")


@dataclass
class Request:
    """One kind of request, for either load generator."""

    path: str
    headers: dict[str, str] = field(default_factory=dict)


class Deadline(Exception):
    """The run would not end within its time budget."""


def _on_alarm(signum: int, frame: object) -> None:
    raise Deadline(f"stopped after {BUDGET_SECONDS} s, the time budget of make loadtest")


# -- wrk ------------------------------------------------------------------


def ensure_wrk() -> str | None:
    """The path of wrk, installing the Debian package when we may."""
    found = shutil.which("wrk")
    if found:
        return found
    if not shutil.which("apt-get"):
        print(
            "loadtest: wrk is not installed and there is no apt-get; using the Python load"
            " generator (install wrk for figures that mean something)"
        )
        return None
    if os.geteuid() != 0:
        print(
            "loadtest: wrk is not installed; run `sudo apt-get install wrk` for figures that"
            " mean something. Using the Python load generator meanwhile."
        )
        return None
    print("loadtest: installing wrk with apt-get ...", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", "wrk"]
    for commands in ([install], [["apt-get", "update", "-qq"], install]):
        try:
            for command in commands:
                subprocess.run(
                    command,
                    check=True,
                    env=env,
                    timeout=60,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
            detail = getattr(error, "stderr", b"") or b""
            last = detail.decode(errors="replace").strip().splitlines()[-1:] or [str(error)]
            print(f"loadtest: {' '.join(command)} failed: {last[0]}")
            continue
        found = shutil.which("wrk")
        if found:
            return found
    print("loadtest: could not install wrk; using the Python load generator")
    return None


def _parse_wrk(output: str) -> Load:
    found = re.search(r"^LOADTEST (.*)$", output, re.M)
    if found is None:
        raise RuntimeError(f"wrk printed no summary:\n{output}")
    values = {k: int(v) for k, v in (pair.split("=") for pair in found.group(1).split())}
    return Load(
        requests=values["requests"],
        seconds=values["duration_us"] / 1e6,
        intended_400=values["intended_400"],
        unexpected=values["unexpected"],
        socket_errors=sum(values[k] for k in ("connect", "read", "write", "timeout")),
        p50_ms=values["p50_us"] / 1000,
        p99_ms=values["p99_us"] / 1000,
    )


def run_wrk(
    wrk: str,
    port: int,
    requests: list[Request],
    seconds: float,
    options: argparse.Namespace,
    scripts: pathlib.Path,
) -> Load:
    command = [
        wrk,
        f"-t{options.threads}",
        f"-c{options.connections}",
        f"-d{max(1, round(seconds))}s",
        "--latency",
        "--timeout",
        "5s",
    ]
    if len(requests) == 1:
        (request,) = requests
        for name, value in request.headers.items():
            command += ["-H", f"{name}: {value}"]
        command += ["-s", str(scripts / "summary.lua"), f"http://127.0.0.1:{port}{request.path}"]
    else:
        cookie = next(r.headers["Cookie"] for r in requests if "Cookie" in r.headers)
        command += ["-s", str(scripts / "mix.lua"), f"http://127.0.0.1:{port}/"]
        command += ["--", cookie, FORWARDED_CLIENT]
    finished = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 15, check=False
    )
    if finished.returncode != 0:
        raise RuntimeError(f"wrk failed ({finished.returncode}):\n{finished.stderr}")
    return _parse_wrk(finished.stdout)


# -- the Python load generator ---------------------------------------------


def run_python(port: int, requests: list[Request], seconds: float, connections: int) -> Load:
    """Closed-loop load from ``connections`` asyncio clients, one request per
    connection (gunicorn's sync workers close it anyway)."""
    raw = [
        (
            f"GET {r.path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in r.headers.items())
            + "\r\n"
        ).encode("latin-1")
        for r in requests
    ]
    latencies: list[float] = []
    counts = {"intended": 0, "unexpected": 0, "socket": 0}

    async def client(offset: int, stop: float) -> None:
        index = offset
        while time.monotonic() < stop:
            data = raw[index % len(raw)]
            index += 1
            start = time.perf_counter()
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(data)
                answer = await asyncio.wait_for(reader.read(), 5)
                writer.close()
            except (OSError, asyncio.TimeoutError):
                counts["socket"] += 1
                continue
            latencies.append(time.perf_counter() - start)
            status = int(answer[9:12]) if answer[:5] == b"HTTP/" else 0
            if status == 400 and MALFORMED_BODY.encode() in answer:
                counts["intended"] += 1
            elif not 200 <= status <= 399:
                counts["unexpected"] += 1

    async def main() -> float:
        start = time.monotonic()
        stop = start + seconds
        await asyncio.gather(*(client(i, stop) for i in range(connections)))
        return time.monotonic() - start

    elapsed = asyncio.run(main())
    latencies.sort()

    def percentile(share: float) -> float:
        if not latencies:
            return 0.0
        return latencies[min(len(latencies) - 1, int(share * len(latencies)))] * 1000

    return Load(
        requests=len(latencies),
        seconds=elapsed,
        intended_400=counts["intended"],
        unexpected=counts["unexpected"],
        socket_errors=counts["socket"],
        p50_ms=percentile(0.50),
        p99_ms=percentile(0.99),
    )


# -- the run ---------------------------------------------------------------


def _expect(ok: bool, what: str, got: object) -> None:
    if not ok:
        raise RuntimeError(f"preflight: {what}; got {got!r}")


def preflight(servers: dict[str, Server]) -> str:
    """Check that each stack does the jobs the load exercises, and return
    the ``Cookie`` header of a valid flash cookie for the read requests."""
    stacked, bare = servers["stack"], servers["bare"]
    status, headers, _ = stacked.request("GET", "/flash")
    set_cookie = headers.get("Set-Cookie", "")
    _expect(
        status == 303 and set_cookie.startswith("flash="),
        "/flash sets a flash cookie",
        (status, headers),
    )
    cookie = set_cookie.split(";", 1)[0]
    status, headers, body = stacked.request("GET", "/read", {"Cookie": cookie})
    _expect(status == 200 and body.decode() == FLASHED, "/read shows the message", (status, body))
    _expect(headers.get(HOOK_HEADER[0]) == HOOK_HEADER[1], "the after hook ran", headers)
    for server in (stacked, servers["flask_stack"]):
        status, _, body = server.request("GET", MALFORMED_PATH)
        _expect(
            status == 400 and MALFORMED_BODY.encode() in body,
            f"{MALFORMED_PATH} is rejected by the stack",
            (status, body),
        )
    status, _, body = stacked.request("GET", "/client", {"X-Forwarded-For": FORWARDED_CLIENT})
    _expect(
        status == 200 and body.decode() == FORWARDED_CLIENT,
        "ProxyFix trusts loopback",
        (status, body),
    )
    status, _, body = bare.request("GET", "/client", {"X-Forwarded-For": FORWARDED_CLIENT})
    _expect(
        status == 200 and body.decode() == "127.0.0.1", "the bare app sees the peer", (status, body)
    )
    for name in ("flask", "flask_stack"):
        status, headers, body = servers[name].request("GET", "/", BROWSER_HEADERS)
        _expect(
            status == 200 and body == b"Hello, world!" and "Set-Cookie" not in headers,
            f"{name} answers the browser's GET /",
            (status, headers, body),
        )
    status, _, _ = servers["flask"].request("GET", MALFORMED_PATH)
    _expect(status == 404, f"Flask alone answers {MALFORMED_PATH} itself", status)
    return cookie


@dataclass
class Result:
    scenario: str
    pair: tuple[str, str]
    base: Runs
    stack: Runs
    #: Worker memory growth over the scenario, KiB, base and stack.
    rss_growth: tuple[int, int]


def _fmt_table(results: list[Result]) -> str:
    headers = (
        "scenario",
        "base/stack",
        "CPU µs/req",
        "added",
        "cpu ratio",
        "goal",
        "met",
        "CPU µs/req of each run",
        "req/s",
        "errors",
        "400s",
        "sock err",
        "p50 ms",
        "p99 ms",
        "RSS +KiB",
    )
    rows = []
    for r in results:
        base_cpu, stack_cpu = r.base.cpu_us_per_request, r.stack.cpu_us_per_request
        ratio = base_cpu / stack_cpu if stack_cpu else 0.0
        share = stack_cpu / base_cpu - 1 if base_cpu else 0.0
        goal = GOALS.get(r.scenario)
        rows.append(
            (
                r.scenario,
                "/".join(r.pair),
                f"{base_cpu:.0f}/{stack_cpu:.0f}",
                f"{stack_cpu - base_cpu:+.0f} ({share:+.0%})",
                f"{ratio:.3f}",
                "" if goal is None else f"≥ {goal:.2f}",
                "" if goal is None else ("yes" if ratio >= goal else "NO"),
                f"{r.base.cpu_runs()} / {r.stack.cpu_runs()}",
                f"{r.base.per_second:,.0f}/{r.stack.per_second:,.0f}",
                f"{r.base.unexpected}/{r.stack.unexpected}",
                f"{r.base.intended_400}/{r.stack.intended_400}",
                f"{r.base.socket_errors}/{r.stack.socket_errors}",
                f"{r.base.p50_ms:.2f}/{r.stack.p50_ms:.2f}",
                f"{r.base.p99_ms:.2f}/{r.stack.p99_ms:.2f}",
                f"{r.rss_growth[0]:+,}/{r.rss_growth[1]:+,}",
            )
        )
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers)]
    rule = "  ".join("=" * w for w in widths)

    def line(cells: t.Sequence[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()

    return "\n".join([rule, line(headers), rule, *(line(row) for row in rows), rule])


def _order(runs: int) -> list[int]:
    """Which of the pair runs when: 0 1 1 0 0 1 ..., so that load others
    put on the machine, growing or fading, weighs on both alike."""
    return [(i + i // 2) % 2 for i in range(2 * runs)]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=4.0, help="seconds per run")
    parser.add_argument("--runs", type=int, default=3, help="runs per app and scenario")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds per server, first")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=8, help="concurrent connections")
    parser.add_argument(
        "--load-generator",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="auto: wrk, installed if missing and possible, else Python",
    )
    parser.add_argument(
        "--scenarios",
        default="plain,flash set,flash read,mix,flask",
        help="comma-separated subset of: plain, flash set, flash read, mix, flask",
    )
    options = parser.parse_args(argv)
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(BUDGET_SECONDS)
    started = time.monotonic()

    wrk = None if options.load_generator == "python" else ensure_wrk()
    if wrk is None and options.load_generator == "wrk":
        print("loadtest: --load-generator wrk given but wrk is not available")
        return 1
    scenarios = [s.strip() for s in options.scenarios.split(",") if s.strip()]
    runs = len(scenarios) * 2 * options.runs * options.duration
    needed = (runs + len(APPS) * options.warmup) * 1.1 + 20
    if time.monotonic() - started + needed > BUDGET_SECONDS:
        print(
            f"loadtest: {len(scenarios)} scenarios x {options.runs} runs of {options.duration:g} s"
            f" would not end within {BUDGET_SECONDS} s; shorten --duration or pick fewer --runs"
            " or --scenarios"
        )
        return 1

    extra = ["--threads", "1", "--pythonpath", str(HERE)]
    with contextlib.ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        scripts = pathlib.Path(tmp)
        (scripts / "summary.lua").write_text(_SUMMARY_LUA)
        (scripts / "mix.lua").write_text(_MIX_LUA)
        targets = {
            name: Target(
                name,
                stack.enter_context(
                    gunicorn(
                        f"loadtest_app:{app}", scripts / f"{name}.log", config=None, extra=extra
                    )
                ),
            )
            for name, app in APPS.items()
        }
        cookie = preflight({name: target.server for name, target in targets.items()})
        plans = {
            "plain": [Request("/")],
            "flash set": [Request("/flash")],
            "flash read": [Request("/read", {"Cookie": cookie})],
            "mix": [
                Request("/"),
                Request("/flash"),
                Request("/read", {"Cookie": cookie}),
                Request(MALFORMED_PATH),
                Request("/client", {"X-Forwarded-For": FORWARDED_CLIENT}),
            ],
            "flask": [Request("/", BROWSER_HEADERS)],
        }
        unknown = [s for s in scenarios if s not in plans]
        if unknown:
            print(f"loadtest: unknown scenario(s) {unknown}; choose from {list(plans)}")
            return 1

        def load(target: Target, requests: list[Request], seconds: float) -> Load:
            port = target.server.port
            cpu = target.worker_cpu_seconds()
            if wrk is not None:
                result = run_wrk(wrk, port, requests, seconds, options, scripts)
            else:
                result = run_python(port, requests, seconds, options.connections)
            result.cpu_seconds = target.worker_cpu_seconds() - cpu
            return result

        for name, target in targets.items():  # warm-up: every path, every worker
            plan = plans["flask"] if name.startswith("flask") else plans["mix"]
            load(target, plan, options.warmup)
        first_rss = {name: target.worker_rss_kb() for name, target in targets.items()}
        results = []
        for scenario in scenarios:
            pair = PAIRS.get(scenario, DEFAULT_PAIR)
            measured = (Runs(), Runs())
            before = [targets[name].worker_rss_kb() for name in pair]
            for side in _order(options.runs):
                target = targets[pair[side]]
                measured[side].loads.append(load(target, plans[scenario], options.duration))
            growth = (
                targets[pair[0]].worker_rss_kb() - before[0],
                targets[pair[1]].worker_rss_kb() - before[1],
            )
            results.append(Result(scenario, pair, measured[0], measured[1], growth))
            print(f"loadtest: {scenario} done", file=sys.stderr, flush=True)
        last_rss = {name: target.worker_rss_kb() for name, target in targets.items()}
        logs = {name: target.server.log() for name, target in targets.items()}

    generator = (
        f"wrk -t{options.threads} -c{options.connections}"
        if wrk is not None
        else f"the Python load generator, {options.connections} connections"
    )
    print(
        f"wsgi_flash load test, {time.strftime('%Y-%m-%d %H:%M')}, Python"
        f" {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs,"
        f" gunicorn 2 sync workers per app, {generator}, median of {options.runs} interleaved"
        f" runs of {options.duration:g} s per app after {options.warmup:g} s warm-up"
    )
    print(_fmt_table(results))
    growth = {name: last_rss[name] - first_rss[name] for name in targets}
    print(
        "worker RSS growth over the measured runs (both workers): "
        + ", ".join(f"{name} {kb:+,} KiB" for name, kb in growth.items())
    )
    crashes = {name: log.count("Booting worker") - 2 for name, log in logs.items()}
    errors = sum(r.base.unexpected + r.stack.unexpected for r in results)
    errors += sum(r.base.socket_errors + r.stack.socket_errors for r in results)
    missed = [
        r.scenario
        for r in results
        if r.scenario in GOALS
        and r.base.cpu_us_per_request < GOALS[r.scenario] * r.stack.cpu_us_per_request
    ]
    if missed:
        print(f"{len(missed)} goal(s) missed: {', '.join(missed)}")
    if any(crashes.values()):
        print(f"workers restarted during the run: {crashes}")
    print(f"errors: {errors}; took {time.monotonic() - started:.0f} s")
    return 1 if errors or any(crashes.values()) else 0


if __name__ == "__main__":
    try:
        raise SystemExit(main(sys.argv[1:]))
    except Deadline as error:
        print(f"loadtest: {error}")
        raise SystemExit(1) from None
