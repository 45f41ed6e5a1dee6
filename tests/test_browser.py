"""The demo in a real browser: Debian's headless Chromium, driven by selenium
through Debian's chromedriver (nothing is downloaded), against the demo
served by Werkzeug on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import typing as t

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait
from werkzeug.serving import make_server

from examples import demo

if t.TYPE_CHECKING:
    import pathlib

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
INSTALL = "apt-get update -qq && apt-get install -y -qq chromium chromium-driver"
INSTALL_TIMEOUT = 900
# Headless as root, and no calls home: this machine's network is closed.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1000,900",
)


def missing() -> list[str]:
    return [path for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]


@pytest.fixture(scope="session")
def chromium() -> None:
    """Install Debian's chromium and chromium-driver when they are missing
    and we are root; skip only when that is impossible, and never under CI."""
    absent = missing()
    if absent and hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        try:
            result = subprocess.run(
                ["sh", "-c", INSTALL],
                capture_output=True,
                text=True,
                timeout=INSTALL_TIMEOUT,
                env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            )
        except subprocess.TimeoutExpired:
            pytest.fail(f"`{INSTALL}` took more than {INSTALL_TIMEOUT} s")
        if missing():
            pytest.fail(f"`{INSTALL}` did not install {', '.join(missing())}:\n{result.stderr}")
        return
    if absent:
        reason = (
            f"{', '.join(absent)} missing and not installable here (needs root and apt-get):"
            " run `apt-get install chromium chromium-driver` as root"
        )
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture(scope="module")
def base_url() -> t.Iterator[str]:
    """The demo, served by Werkzeug's server in a thread on a free port."""
    server = make_server("127.0.0.1", 0, demo.create_app(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="demo-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture(scope="module")
def browser(
    chromium: None, tmp_path_factory: pytest.TempPathFactory
) -> t.Iterator[webdriver.Chrome]:
    options = Options()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    # An explicit driver path: selenium's own driver manager never runs.
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(10)
    driver.set_script_timeout(10)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def page(browser: webdriver.Chrome, base_url: str) -> webdriver.Chrome:
    """The browser on the demo's home page, with no cookies."""
    browser.get(base_url + "/")
    browser.delete_all_cookies()
    browser.get(base_url + "/")
    return browser


def flashes(browser: webdriver.Chrome) -> list[tuple[str, str]]:
    return [
        (element.get_attribute("class") or "", element.text)
        for element in browser.find_elements(By.CSS_SELECTOR, "#messages .flash")
    ]


def is_detached(element: WebElement) -> bool:
    """True once ``element`` left the document. ChromeDriver reports that
    either as a stale element or, racing a navigation, as an inspector error
    saying the node no longer belongs to the document; any other error is
    real and raised."""
    try:
        element.is_enabled()
    except StaleElementReferenceException:
        return True
    except WebDriverException as error:
        if "does not belong to the document" in str(error):
            return True
        raise
    return False


def click_and_load(browser: webdriver.Chrome, element: WebElement) -> None:
    """Click ``element`` and wait for the next page (after any redirect)."""
    element.click()
    WebDriverWait(browser, 10).until(lambda driver: is_detached(element))
    WebDriverWait(browser, 10).until(
        lambda driver: driver.execute_script("return document.readyState") == "complete"
    )


def cookie_names(browser: webdriver.Chrome) -> set[str]:
    return {cookie["name"] for cookie in browser.get_cookies()}


def screenshot(browser: webdriver.Chrome, path: pathlib.Path) -> None:
    assert browser.save_screenshot(str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_message_shows_once_after_the_redirect(
    page: webdriver.Chrome, tmp_path: pathlib.Path
) -> None:
    page.find_element(By.NAME, "message").send_keys("Saved <for real>")
    Select(page.find_element(By.NAME, "category")).select_by_visible_text("success")
    click_and_load(page, page.find_element(By.ID, "flash-it"))
    assert page.current_url.endswith("/")
    assert flashes(page) == [("flash success", "Saved <for real>")]
    screenshot(page, tmp_path / "flash.png")
    # Reading the messages emptied the cookie: the response deleted it.
    assert "flash" not in cookie_names(page)
    page.refresh()
    assert flashes(page) == []
    assert page.find_element(By.ID, "flash-it").is_displayed()


def test_flash_cookie_is_httponly_and_gone_after_the_read(
    page: webdriver.Chrome, base_url: str
) -> None:
    # Stop on the flash response itself (the 303), before the page that
    # reads the messages: the browser stores the cookie all the same.
    response_type = page.execute_script(
        "return fetch('/flash', {method: 'POST', redirect: 'manual',"
        " body: new URLSearchParams({message: 'pending', category: 'info'})})"
        ".then(response => response.type)"
    )
    assert response_type == "opaqueredirect"
    [cookie] = [c for c in page.get_cookies() if c["name"] == "flash"]
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"
    assert "flash=" not in page.execute_script("return document.cookie")
    page.get(base_url + "/")
    assert flashes(page) == [("flash info", "pending")]
    assert "flash" not in cookie_names(page)
    page.refresh()
    assert flashes(page) == []


def test_login_gate_flashes_and_redirects(page: webdriver.Chrome, base_url: str) -> None:
    page.get(base_url + "/account")
    assert page.current_url == base_url + "/login?next=/account"
    assert flashes(page) == [("flash warning", "Please log in to see your account.")]
    page.find_element(By.NAME, "name").send_keys("Ada")
    click_and_load(page, page.find_element(By.ID, "log-in"))
    assert page.current_url == base_url + "/account"
    assert page.find_element(By.ID, "user-name").text == "Ada"
    assert flashes(page) == [("flash success", "Logged in as Ada.")]
    click_and_load(page, page.find_element(By.ID, "log-out"))
    assert page.current_url == base_url + "/"
    assert flashes(page) == [("flash info", "Logged out.")]
    page.get(base_url + "/account")
    assert page.current_url == base_url + "/login?next=/account"


def test_oversized_flash_keeps_the_newest(page: webdriver.Chrome, tmp_path: pathlib.Path) -> None:
    click_and_load(page, page.find_element(By.ID, "flash-long"))
    shown = flashes(page)
    assert [text[:21] for _, text in shown] == ["Long message 2 of 3: ", "Long message 3 of 3: "]
    assert all(len(text) == 21 + 1500 for _, text in shown)
    screenshot(page, tmp_path / "oversized.png")
    # The page goes on working: the next flash shows, alone.
    page.find_element(By.NAME, "message").send_keys("still works")
    click_and_load(page, page.find_element(By.ID, "flash-it"))
    assert flashes(page) == [("flash success", "still works")]  # the first category


def test_malformed_link_is_logged(
    page: webdriver.Chrome, base_url: str, tmp_path: pathlib.Path
) -> None:
    page.get(base_url + "/log")
    click_and_load(page, page.find_element(By.ID, "bad-link"))
    assert page.current_url == base_url + "/search?q=%zz"
    assert page.find_element(By.ID, "query").text == "%zz"
    rows = [row.text for row in page.find_elements(By.CSS_SELECTOR, "#records tr")][1:]
    assert rows and rows[0].startswith("wsgi_flash.malformed WARNING uri.percent_encoding")
    assert "GET /search?q=%zz from 127.0.0.1" in rows[0]
    screenshot(page, tmp_path / "malformed.png")
