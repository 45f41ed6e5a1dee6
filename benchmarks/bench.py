"""Run every benchmark case module and print one table.

Usage: ``make bench`` (or ``python benchmarks/bench.py [--quick] [GROUP ...]``,
where a group such as ``hooks`` runs ``cases_hooks.py`` alone). Each
``benchmarks/cases_*.py`` module has a ``run(bench)`` function that times its
anchors and our middleware in this same process, so the ratios in the table
are measured side by side. The ``flask`` group comes first: its headline,
the share the full stack adds to a minimal Flask request, is also printed
under the table.

Every goal is a ratio between two rows of one run on the project's own
``.venv`` interpreter (a fraction of what Werkzeug, WebOb or Flask add for
the same job). Absolute microseconds differ 20-30 % between a PGO and a
non-PGO build of the same Python, and more between machines, so none of
the goals is in microseconds.
"""

from __future__ import annotations

import importlib
import pathlib
import platform
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from harness import Bench  # noqa: E402

#: The module whose rows open the table.
HEADLINE = "cases_flask"


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    bench = Bench(number=300 if quick else 2000, repeat=3 if quick else 7)
    modules = sorted(p.stem for p in HERE.glob("cases_*.py"))
    modules.sort(key=lambda name: name != HEADLINE)
    groups = [arg for arg in argv if not arg.startswith("-")]
    unknown = [group for group in groups if f"cases_{group}" not in modules]
    if unknown:
        known = ", ".join(name.removeprefix("cases_") for name in modules)
        raise SystemExit(f"unknown group(s) {', '.join(unknown)}; the groups are: {known}")
    if groups:
        modules = [f"cases_{group}" for group in groups]
    for name in modules:
        importlib.import_module(name).run(bench)
    print(
        f"wsgi_flash benchmark, {time.strftime('%Y-%m-%d')}, Python {platform.python_version()},"
        f" {platform.machine()}, {platform.system()}, best of {bench.repeat} x {bench.number}"
    )
    print(bench.table())
    if bench.headline:
        print(f"Headline: {bench.headline}.")
    missed = [r for r in bench.rows if r.ok is False]
    if missed:
        print(f"{len(missed)} goal(s) missed: " + "; ".join(f"{r.group}/{r.case}" for r in missed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
