"""The reStructuredText files parse without warnings, so they render on
PyPI and GitHub as written; README.rst is a short package page whose links
resolve; the docs' generated tables are the code's own (the Sphinx build
itself is in tests/test_docs_browser.py and ``make docs``)."""

from __future__ import annotations

import pathlib
import re
import sys

import docutils.core
import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCS_DIR = ROOT / "docs"
DOCS = sorted(
    [*ROOT.glob("*.rst"), *(ROOT / "benchmarks").glob("*.rst")],
    key=lambda p: p.name,
)
sys.path.insert(0, str(DOCS_DIR / "_ext"))
import wsgi_flash_docs  # noqa: E402  (docs/_ext, importable without Sphinx)


@pytest.mark.parametrize("path", [pytest.param(p, id=p.name) for p in DOCS])
def test_renders_without_warnings(path: pathlib.Path) -> None:
    docutils.core.publish_doctree(
        path.read_text(encoding="utf-8"),
        source_path=str(path),
        settings_overrides={"report_level": 2, "halt_level": 2, "warning_stream": False},
    )


def test_readme_is_a_short_package_page() -> None:
    readme = (ROOT / "README.rst").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 150
    assert "make demo" in readme and "make test" in readme
    assert "pip install wsgi_flash" in readme


def test_readme_links_resolve() -> None:
    readme = (ROOT / "README.rst").read_text(encoding="utf-8")
    targets = re.findall(r"`[^`<]*<([^>]+)>`_", readme)
    local = [target for target in targets if "://" not in target]
    assert len(local) >= 10
    missing = [target for target in local if not (ROOT / target).is_file()]
    assert missing == []


def test_every_docs_page_is_in_the_toctree() -> None:
    index = (DOCS_DIR / "index.rst").read_text(encoding="utf-8")
    listed = set(re.findall(r"^   (\w+)$", index, re.MULTILINE))
    pages = {p.stem for p in DOCS_DIR.glob("*.rst")} - {"index"}
    assert pages == listed


def test_check_catalogue_is_generated_from_the_code() -> None:
    from wsgi_flash.malformed._checks import CHECKS, format_checks

    assert ".. wsgi-flash-checks::" in (DOCS_DIR / "checks.rst").read_text(encoding="utf-8")
    rows = re.findall(
        r"   \* - (.*)\n     - (.*)\n     - (.*)\n     - (.*)\n", wsgi_flash_docs.checks_rst()
    )
    header, *body = rows
    assert header == wsgi_flash_docs.CHECK_COLUMNS
    assert [(cell.strip("`"), *rest) for cell, *rest in body] == [
        (c.id, c.action, c.origin, c.description) for c in CHECKS
    ]
    # The same rows as `wsgi-flash checks` prints, in the same order.
    printed = [line.split()[0] for line in format_checks().splitlines()[2:]]
    assert printed == [c.id for c in CHECKS]


@pytest.mark.parametrize(
    ("page", "section"),
    [
        ("flash", "flash"),
        ("hooks", "hooks"),
        ("proxy", "proxy"),
        ("malformed", "malformed"),
        ("deployment", None),
    ],
)
def test_options_tables_are_generated_from_the_code(page: str, section: str | None) -> None:
    from wsgi_flash.config import format_reference

    text = (DOCS_DIR / f"{page}.rst").read_text(encoding="utf-8")
    directive = ".. wsgi-flash-options::" + (f" {section}" if section else "")
    assert re.search(rf"^{re.escape(directive)}$", text, re.MULTILINE)
    generated = wsgi_flash_docs.options_rst(section)
    keys = re.findall(r"\* - ``([^`]+)``", generated)
    if section is None:
        assert generated.strip() == format_reference().strip()
    else:
        assert keys[0] == f"[{section}]"
        assert all(key.startswith(f"{section}.") or "." not in key for key in keys[1:])
        assert set(keys) <= set(re.findall(r"\* - ``([^`]+)``", format_reference()))
