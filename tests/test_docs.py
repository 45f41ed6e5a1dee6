"""The reStructuredText files parse without warnings, so they render on
PyPI and GitHub as written."""

from __future__ import annotations

import pathlib

import docutils.core
import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCS = sorted(
    [p for p in ROOT.glob("*.rst")] + [p for p in (ROOT / "benchmarks").glob("*.rst")],
    key=lambda p: p.name,
)


@pytest.mark.parametrize("path", [pytest.param(p, id=p.name) for p in DOCS])
def test_renders_without_warnings(path: pathlib.Path) -> None:
    docutils.core.publish_doctree(
        path.read_text(encoding="utf-8"),
        source_path=str(path),
        settings_overrides={"report_level": 2, "halt_level": 2, "warning_stream": False},
    )


def test_readme_starts_with_the_two_commands() -> None:
    head = (ROOT / "README.rst").read_text(encoding="utf-8")[:1200]
    assert "make demo" in head and "make test" in head


def test_readme_options_reference_matches_the_code() -> None:
    from wsgi_flash.config import format_reference

    readme = (ROOT / "README.rst").read_text(encoding="utf-8")
    start = readme.index(".. options-reference-start\n") + len(".. options-reference-start\n")
    end = readme.index(".. options-reference-end")
    assert readme[start:end].strip() == format_reference().strip(), (
        "README's configuration reference is stale: paste in the output of `wsgi-flash options`"
    )


def test_readme_check_catalogue_matches_the_code() -> None:
    from wsgi_flash.malformed._checks import CHECKS

    readme = (ROOT / "README.rst").read_text(encoding="utf-8")
    rows = [line for line in readme.splitlines() if line.startswith("``") and "  " in line]
    table = {}
    for line in rows:
        cells = [cell.strip() for cell in line.split("  ") if cell.strip()]
        if len(cells) >= 4 and cells[0].strip("`") in {c.id for c in CHECKS}:
            table[cells[0].strip("`")] = (cells[1], cells[2], cells[3])
    expected = {c.id: (c.action, c.origin, c.description) for c in CHECKS}
    assert table == expected, "README's check table is stale: regenerate it from _checks.CHECKS"
