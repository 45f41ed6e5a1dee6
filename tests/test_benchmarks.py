"""The benchmark cases still build and answer as the bench expects.

``make bench`` and ``benchmarks/instructions.py`` are not part of ``make
test``, so a change to the package that breaks one of their cases would
only show at the next benchmark run. Here every instruction-count case
serves two requests (each checked for the status the case is meant to
answer) and every bench group runs with one request per timing. Nothing is
timed or compared: the figures mean nothing at this size.
"""

from __future__ import annotations

import importlib
import logging
import pathlib
import sys
import typing as t

import pytest

BENCHMARKS = pathlib.Path(__file__).resolve().parent.parent / "benchmarks"
GROUPS = sorted(p.stem[len("cases_") :] for p in BENCHMARKS.glob("cases_*.py"))


@pytest.fixture(autouse=True)
def benchmarks_importable() -> t.Iterator[None]:
    """The benchmarks' modules on sys.path, and the wsgi_flash loggers as
    they were: the cases quieten them for the timing."""
    loggers = [logging.getLogger(name) for name in ("wsgi_flash", "wsgi_flash.malformed")]
    saved = [(log.handlers[:], log.propagate, log.level) for log in loggers]
    sys.path.insert(0, str(BENCHMARKS))
    try:
        yield
    finally:
        sys.path.remove(str(BENCHMARKS))
        for log, (handlers, propagate, level) in zip(loggers, saved):
            log.handlers[:] = handlers
            log.propagate, log.level = propagate, level


def test_every_group_is_found() -> None:
    assert {"flask", "flash", "hooks", "malformed", "proxy_fix", "stack"} <= set(GROUPS)


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(c, id=c)
        for c in (
            "bare",
            "flash",
            "flash_set",
            "flash_unread",
            "proxy_fix",
            "malformed",
            "malformed_hit",
            "hooks_none",
            "hooks_bare",
            "hooks_3_3",
            "hooks_webob",
            "stack",
            "flask",
            "flask_stack",
            "flask_init_app",
            "flask_keyed",
            "flask_unread",
            "flask_flash_set",
            "flask_flash_read",
            "flask_own_set",
            "flask_own_read",
        )
    ],
)
def test_instruction_case_serves(case: str) -> None:
    instructions = importlib.import_module("instructions")
    assert case in instructions.CASES
    instructions.loop(case, 2)  # raises SystemExit on a wrong status


@pytest.mark.parametrize("group", [pytest.param(g, id=g) for g in GROUPS])
def test_bench_group_runs(group: str) -> None:
    harness = importlib.import_module("harness")
    bench = harness.Bench(number=1, repeat=1, collect_first=False)
    importlib.import_module(f"cases_{group}").run(bench)
    assert bench.rows, f"cases_{group}.run() added no row"
    assert all(row.us > 0 for row in bench.rows)
    if group == "flask":
        assert "to a minimal Flask request" in bench.headline
