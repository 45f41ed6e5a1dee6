"""PasteDeploy loads the filters from a real .ini through the
egg:wsgi_flash#... entry points, as Pyramid does."""

from __future__ import annotations

import pathlib

import pytest
from paste.deploy import loadapp
from werkzeug.test import Client

from tests.servers import APPS
from wsgi_flash.config import ConfigError

SECRET = "paste-test-secret-key-0123456789"

PIPELINE = f"""
[pipeline:main]
pipeline = proxy malformed flash myapp

[filter:proxy]
use = egg:wsgi_flash#proxy_fix
x_for = 1
trusted_proxies = 127.0.0.1, 10.0.0.0/8

[filter:malformed]
use = egg:wsgi_flash#malformed
reject = uri.percent_encoding

[filter:flash]
use = egg:wsgi_flash#flash
secret_key = {SECRET}
cookie_name = messages
max_age = 600

[app:myapp]
use = call:flash_app:paste_app
"""

STACK = f"""
[filter-app:main]
use = egg:wsgi_flash#stack
next = myapp
secret_key = {SECRET}
proxy.x_for = 1
malformed.reject = uri.percent_encoding
flash.cookie_name = messages

[app:myapp]
use = call:flash_app:paste_app
"""


@pytest.fixture(autouse=True)
def importable_apps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(APPS))


def load(tmp_path: pathlib.Path, text: str) -> Client:
    ini = tmp_path / "app.ini"
    ini.write_text(text, encoding="utf-8")
    return Client(loadapp(f"config:{ini}"))


@pytest.mark.parametrize(
    "text", [pytest.param(PIPELINE, id="pipeline"), pytest.param(STACK, id="stack")]
)
def test_ini_configures_the_stack(tmp_path: pathlib.Path, text: str) -> None:
    client = load(tmp_path, text)
    response = client.get("/flash?m=from-paste", environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert response.status_code == 303
    assert client.get_cookie("messages") is not None
    read = client.get(
        "/read",
        headers={"X-Forwarded-For": "198.51.100.7"},
        environ_base={"REMOTE_ADDR": "127.0.0.1"},
    )
    assert read.json == {
        "pid": read.json["pid"],
        "remote_addr": "198.51.100.7",
        "messages": [["message", "from-paste"]],
    }
    rejected = client.get("/bad%zzpath")
    assert rejected.status_code == 400 and b"uri.percent_encoding" in rejected.data


def test_ini_mistake_names_the_file_and_key(tmp_path: pathlib.Path) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, PIPELINE.replace("x_for = 1", "x_for = lots"))
    assert "app.ini" in str(info.value) and "proxy.x_for" in str(info.value)
