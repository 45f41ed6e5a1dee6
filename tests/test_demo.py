from __future__ import annotations

import re

from werkzeug.test import Client

from examples.demo import create_app


def messages(html: str) -> list[tuple[str, str]]:
    return re.findall(r'<div class="flash (\w+)">(.*?)</div>', html)


def test_flash_shows_once_after_redirect() -> None:
    client = Client(create_app())
    response = client.post("/flash", data={"message": "Hello <world>", "category": "success"})
    assert response.status_code == 303 and response.headers["Location"] == "/"
    page = client.get("/").text
    assert messages(page) == [("success", "Hello &lt;world&gt;")]
    assert messages(client.get("/").text) == []


def test_several_categories() -> None:
    client = Client(create_app())
    client.post("/flash-many")
    assert [c for c, _ in messages(client.get("/").text)] == ["success", "info", "warning", "error"]


def test_unknown_category_and_empty_message() -> None:
    client = Client(create_app())
    client.post("/flash", data={"message": "x", "category": "<script>"})
    client.post("/flash", data={"message": "  ", "category": "info"})
    assert messages(client.get("/").text) == [("info", "x"), ("error", "Type a message first.")]
