from __future__ import annotations

import typing as t

import pytest
import webob
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from wsgi_flash._wsgi import ClosingIterator, get_environ
from wsgi_flash.messages._http import add_vary, cookie_value


@pytest.mark.parametrize(
    "wrap",
    [
        pytest.param(lambda env: env, id="environ"),
        pytest.param(Request, id="werkzeug"),
        pytest.param(webob.Request, id="webob"),
        pytest.param(lambda env: type("Falcon", (), {"env": env})(), id="falcon-env"),
        pytest.param(lambda env: type("Django", (), {"environ": env})(), id="django-environ"),
    ],
)
def test_get_environ_finds_the_same_dict(wrap: t.Callable[[t.Any], t.Any]) -> None:
    environ = EnvironBuilder("/").get_environ()
    assert get_environ(wrap(environ), "f") is environ


@pytest.mark.parametrize("value", [None, 3, "environ", type("NoEnv", (), {})()])
def test_get_environ_rejects_other_values(value: t.Any) -> None:
    with pytest.raises(TypeError, match=r"^my_function\(\) takes the WSGI environ"):
        get_environ(value, "my_function")


class Tracked:
    def __init__(self, fail: bool = False) -> None:
        self.closed = 0
        self.fail = fail

    def __iter__(self) -> t.Iterator[bytes]:
        return iter([b"a", b"b"])

    def close(self) -> None:
        self.closed += 1
        if self.fail:
            raise ValueError("inner close failed")


def test_closing_iterator_closes_inner_first_then_callbacks_once() -> None:
    order: list[str] = []
    inner = Tracked()
    iterator = ClosingIterator(inner, [lambda: order.append(f"callback after {inner.closed}")])
    assert list(iterator) == [b"a", b"b"]
    iterator.close()
    iterator.close()
    assert inner.closed == 1 and order == ["callback after 1"]


def test_closing_iterator_runs_every_step_and_raises_first_error() -> None:
    ran: list[str] = []

    def failing() -> None:
        ran.append("failing")
        raise KeyError("callback failed")

    inner = Tracked(fail=True)
    iterator = ClosingIterator(inner, [failing, lambda: ran.append("last")])
    with pytest.raises(ValueError, match="inner close failed") as info:
        iterator.close()
    assert inner.closed == 1 and ran == ["failing", "last"]
    assert any("KeyError" in note for note in getattr(info.value, "__notes__", []))


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        pytest.param([], [("Vary", "Cookie")], id="none"),
        pytest.param([("Vary", "Accept")], [("Vary", "Accept, Cookie")], id="merge"),
        pytest.param([("vary", "cookie")], [("vary", "cookie")], id="present-any-case"),
        pytest.param([("Vary", "*")], [("Vary", "*")], id="star"),
        pytest.param([("Vary", " ")], [("Vary", "Cookie")], id="blank"),
    ],
)
def test_add_vary(headers: list[tuple[str, str]], expected: list[tuple[str, str]]) -> None:
    add_vary(headers, "Cookie")
    assert headers == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        pytest.param("flash=abc", "abc", id="only"),
        pytest.param("a=1; flash=abc; b=2", "abc", id="middle"),
        pytest.param("myflash=x; flash=y", "y", id="suffix-name-not-confused"),
        pytest.param("flash=first; flash=second", "first", id="first-wins"),
        pytest.param("a=1; b=2", None, id="absent"),
        pytest.param("flash", None, id="no-equals"),
    ],
)
def test_cookie_value(header: str, expected: str | None) -> None:
    assert cookie_value(header, "flash") == expected
