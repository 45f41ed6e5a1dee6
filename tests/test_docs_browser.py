"""The built documentation in a real browser: Sphinx builds the HTML (with
warnings as errors, as ``make docs`` does) into a temporary folder, and
Debian's headless Chromium opens the quick start from it.

Skipped only when Sphinx is not installed (the ``docs`` extra; the nox
``docs`` session has it); Chromium is set up as tests/test_browser.py does.
"""

from __future__ import annotations

import importlib.util
import pathlib
import subprocess
import sys
import typing as t
from urllib.parse import urlsplit

import pytest
from selenium.webdriver.common.by import By

from tests.test_browser import browser, chromium  # noqa: F401  (fixtures)

if t.TYPE_CHECKING:
    from selenium import webdriver

pytestmark = pytest.mark.slow

ROOT = pathlib.Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def html(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    if importlib.util.find_spec("sphinx") is None:
        pytest.skip("Sphinx is not installed: pip install 'wsgi_flash[docs]' (nox -s docs has it)")
    out = tmp_path_factory.mktemp("html")
    options = ["-W", "-n", "--keep-going", "-q", "-b", "html", "-d", str(out / ".doctrees")]
    build = subprocess.run(
        [sys.executable, "-m", "sphinx", *options, str(ROOT / "docs"), str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stderr
    return out


def test_quick_start_renders_with_code_and_working_navigation(
    browser: webdriver.Chrome,  # noqa: F811
    html: pathlib.Path,
) -> None:
    browser.get((html / "quickstart.html").as_uri())
    assert browser.title.startswith("Quick start")
    # No second table of contents, which the theme marks as an error.
    assert not browser.find_elements(By.CSS_SELECTOR, "article .contents, article .topic")
    heading = browser.find_element(By.CSS_SELECTOR, "article h1")
    assert heading.text.rstrip("¶#").strip() == "Quick start"

    code = browser.find_elements(By.CSS_SELECTOR, "div.highlight-python pre")
    assert len(code) >= 8
    assert all(block.is_displayed() for block in code[:3])
    assert any("init_app(app)" in block.text for block in code)

    # Every link into the site points at a page that was built.
    links = [
        link.get_attribute("href") or ""
        for link in browser.find_elements(By.CSS_SELECTOR, "a.reference.internal")
    ]
    targets = {pathlib.Path(urlsplit(link).path) for link in links if link.startswith("file:")}
    assert html / "flash.html" in targets
    missing = [str(target) for target in targets if not target.is_file()]
    assert missing == []

    # The sidebar's link to the flash guide opens it.
    sidebar = browser.find_element(By.CSS_SELECTOR, ".sidebar-tree a[href$='flash.html']")
    browser.get(sidebar.get_attribute("href") or "")
    assert browser.title.startswith("Flash messages")
    assert browser.find_elements(By.CSS_SELECTOR, "table")  # the options table
    browser.get((html / "security.html").as_uri())  # SECURITY.rst has a contents table
    assert browser.title.startswith("Security")
    assert not browser.find_elements(By.CSS_SELECTOR, "article .contents, article .topic")
