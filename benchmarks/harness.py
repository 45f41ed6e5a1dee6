"""Timing harness shared by the benchmark case modules.

Every figure is the best of several repeats of a tight loop that calls a WSGI
app with a fresh copy of one environ, consumes the body and closes it, so
what two rows differ by is what the middleware adds. Each repeat is timed in
the process's CPU time, not wall time: on shared cores the scheduler takes
the CPU away for whole milliseconds, and wall time would count that. Only ratios and
differences measured in the same run are meaningful on a shared machine.
"""

from __future__ import annotations

import gc
import io
import time
import typing as t
from dataclasses import dataclass, field

WSGIApp = t.Callable[..., t.Iterable[bytes]]
#: Adjusts each fresh environ copy before a timed request.
Prepare = t.Callable[[dict[str, t.Any]], None]


def make_environ(path: str = "/", method: str = "GET", **extra: str) -> dict[str, t.Any]:
    """A minimal, valid environ for ``path``; extra keys are added as given."""
    path_info, _, query = path.partition("?")
    environ: dict[str, t.Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path_info,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    environ.update(extra)
    return environ


def _start_response(status: str, headers: list[tuple[str, str]], exc_info: t.Any = None) -> t.Any:
    return None


def expect_status(app: WSGIApp, environ: dict[str, t.Any], status: str) -> None:
    """Fail unless ``app`` answers a copy of ``environ`` with ``status``
    (``"200"``), so that a case never times an error page by mistake."""
    got: list[str] = []

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: t.Any = None
    ) -> t.Any:
        got.append(status)

    body = app(environ.copy(), start_response)
    try:
        for _chunk in body:
            pass
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()
    if not got or not got[-1].startswith(status):
        path = environ.get("PATH_INFO")
        raise SystemExit(f"{app!r} answered {path} with {got[-1:]}, not {status}")


def time_app(
    app: WSGIApp,
    environ: dict[str, t.Any],
    *,
    number: int = 2000,
    repeat: int = 7,
    prepare: Prepare | None = None,
    collect_first: bool = True,
) -> float:
    """Return the best per-request time of ``app`` in microseconds.

    ``prepare`` may adjust each fresh environ copy (for example to attach a
    cookie that an earlier request produced). ``collect_first=False`` skips
    the full collection before timing, which only a smoke test that times
    nothing wants (it takes longer than a quick run's timing).
    """
    best = float("inf")
    # The collector stays off while timing, as in timeit, so that its runs
    # do not land at random in one case or another; but each repeat ends
    # with a collection of the young generation (everything made while it
    # was off) inside the timed span, so a case that leaves reference
    # cycles behind pays for freeing them, as it would in a server.
    gc_was_enabled = gc.isenabled()
    if collect_first:
        gc.collect()
    gc.disable()
    try:
        for _ in range(repeat):
            start = time.process_time_ns()
            for _ in range(number):
                env = environ.copy()
                if prepare is not None:
                    prepare(env)
                body = app(env, _start_response)
                for _chunk in body:
                    pass
                close = getattr(body, "close", None)
                if close is not None:
                    close()
            gc.collect(0)
            elapsed = (time.process_time_ns() - start) / number / 1000
            best = min(best, elapsed)
    finally:
        if gc_was_enabled:
            gc.enable()
    return best


@dataclass
class Row:
    group: str
    case: str
    us: float
    added: float | None = None
    compare: str = ""
    goal: str = ""
    ok: bool | None = None


@dataclass
class Bench:
    """Collects rows; case modules call :meth:`row` and :meth:`time`."""

    number: int = 2000
    repeat: int = 7
    rows: list[Row] = field(default_factory=list)
    #: One sentence for the line under the table (the flask group sets it).
    headline: str = ""
    collect_first: bool = True

    def time(self, app: WSGIApp, environ: dict[str, t.Any], **kwargs: t.Any) -> float:
        kwargs.setdefault("number", self.number)
        kwargs.setdefault("repeat", self.repeat)
        kwargs.setdefault("collect_first", self.collect_first)
        return time_app(app, environ, **kwargs)

    def best(
        self,
        cases: dict[str, tuple[WSGIApp, dict[str, t.Any], Prepare | None]],
        rounds: int = 3,
    ) -> dict[str, float]:
        """Time every case in turn, one repeat of each at a time,
        ``rounds`` x ``repeat`` times over, and keep each case's best: cases
        compared in one row are measured side by side, so a burst of load
        on a shared machine, even one lasting seconds, does not decide a
        row."""
        best = dict.fromkeys(cases, float("inf"))
        for _ in range(rounds * self.repeat):
            for name, (app, environ, prepare) in cases.items():
                us = self.time(app, environ, prepare=prepare, repeat=1)
                best[name] = min(best[name], us)
        return best

    def row(self, group: str, case: str, us: float, **kwargs: t.Any) -> Row:
        row = Row(group, case, us, **kwargs)
        self.rows.append(row)
        return row

    def table(self) -> str:
        headers = ("group", "case", "µs/req", "added µs", "compared", "goal", "met")
        lines = [
            (
                r.group,
                r.case,
                f"{r.us:.2f}",
                "" if r.added is None else f"{r.added:+.2f}",
                r.compare,
                r.goal,
                "" if r.ok is None else ("yes" if r.ok else "NO"),
            )
            for r in self.rows
        ]
        widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(headers)]
        sep = "  ".join("=" * w for w in widths)

        def fmt(cells: t.Sequence[str]) -> str:
            return "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()

        return "\n".join([sep, fmt(headers), sep, *(fmt(line) for line in lines), sep])
