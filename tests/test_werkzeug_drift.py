"""wsgi_flash/hooks/_werkzeug.py against Werkzeug's public constructors.

That module builds Werkzeug requests and responses through private
attributes, because the public constructors cost more than all the rest of
a hooked request. These tests fail when a Werkzeug release changes what the
constructors set, so the suite (run against the oldest and the newest
Werkzeug allowed, see noxfile.py) catches the drift before users do.
"""

from __future__ import annotations

import typing as t

import pytest
from werkzeug.datastructures import Headers
from werkzeug.test import create_environ
from werkzeug.wrappers import Request, Response

from wsgi_flash.hooks._werkzeug import (
    EAGER_REQUEST_ATTRIBUTES,
    LazyRequest,
    lazy_request,
    response_over,
    sendable,
)


class Captured:
    """An app's response as RequestHooks captures it."""

    def __init__(self, status: str, headers: list[tuple[str, str]], body: list[bytes]) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def __iter__(self) -> t.Iterator[bytes]:
        return iter(self.body)


STATUSES = [
    pytest.param("200 OK", id="ok"),
    pytest.param("404 Not Found", id="not-found"),
    pytest.param("299 Custom Thing", id="custom-reason"),
    pytest.param("418", id="code-only"),
    pytest.param(" 201 Created ", id="padded"),
    pytest.param("abc", id="no-code"),
]


@pytest.mark.parametrize("status", STATUSES)
def test_response_over_equals_the_public_constructor(status: str) -> None:
    headers = [("Content-Type", "text/plain"), ("X-A", "1"), ("X-A", "2")]
    captured = Captured(status, headers, [b"body"])
    ours = response_over(captured)
    public = Response(captured, status=status, headers=headers)
    assert type(ours) is Response
    # The same instance attributes, holding equal values of the same types.
    assert vars(ours).keys() == vars(public).keys()
    for name, value in vars(public).items():
        assert type(vars(ours)[name]) is type(value), name
        if name != "headers":
            assert vars(ours)[name] == value, name
    assert type(ours.headers) is Headers
    assert vars(ours.headers).keys() == vars(public.headers).keys()
    assert ours.headers == public.headers and list(ours.headers) == headers
    assert (ours.status, ours.status_code) == (public.status, public.status_code)
    assert ours.get_data() == public.get_data() == b"body"


def test_response_over_copies_the_header_list_and_adds_no_content_type() -> None:
    headers = [("Content-Length", "0")]
    ours = response_over(Captured("204 No Content", headers, []))
    ours.headers.add("X-Hook", "1")
    assert headers == [("Content-Length", "0")]
    assert "Content-Type" not in ours.headers
    ours.status_code = 200  # the public setters still work on it
    assert (ours.status, ours.status_code) == ("200 OK", 200)


def test_sendable_reads_what_the_response_would_send() -> None:
    captured = Captured("200 OK", [("Content-Type", "text/plain")], [b"x"])
    response = response_over(captured)
    response.headers["X-Hook"] = "1"
    response.status_code = 201
    closed: list[str] = []
    response.call_on_close(lambda: closed.append("closed"))
    parts = sendable(response, captured)
    assert parts is not None
    status, headers, on_close = parts
    assert status == response.status == "201 CREATED"
    assert headers == response.headers.to_wsgi_list()
    # The callbacks sendable hands over are the ones Response.close() runs.
    for callback in on_close:
        callback()
    assert closed == ["closed"]
    response.close()
    assert closed == ["closed", "closed"]


def test_sendable_refuses_a_replaced_body_and_reads_other_headers() -> None:
    captured = Captured("200 OK", [], [b"x"])
    response = response_over(captured)
    response.set_data(b"new")
    assert sendable(response, captured) is None

    class Custom(Headers):
        pass

    response = response_over(captured)
    response.headers = Custom([("X-A", "1")])
    parts = sendable(response, captured)
    assert parts is not None and parts[1] == [("X-A", "1")]


ENVIRONS = [
    pytest.param({}, id="plain"),
    pytest.param(
        {"PATH_INFO": "/a b/ü", "QUERY_STRING": "x=1&y=2", "SCRIPT_NAME": "/app"}, id="paths"
    ),
    pytest.param({"HTTP_HOST": "[::1]:8080", "REQUEST_METHOD": "post"}, id="ipv6-host"),
    pytest.param({"REMOTE_ADDR": "192.0.2.1", "wsgi.url_scheme": "https"}, id="remote"),
]


@pytest.mark.parametrize("overrides", ENVIRONS)
def test_lazy_request_equals_the_public_constructor(overrides: dict[str, str]) -> None:
    environ = {**create_environ("/"), **overrides}
    lazy = lazy_request(dict(environ))
    public = Request(dict(environ), populate_request=False)
    assert isinstance(lazy, Request) and type(lazy) is LazyRequest
    # Before any use: only the attributes everything else is computed from.
    assert set(vars(lazy)) == set(vars(public)) - EAGER_REQUEST_ATTRIBUTES
    assert lazy.shallow is public.shallow is False
    assert "werkzeug.request" not in lazy.environ
    # After one parsed attribute is read: the same attributes as Werkzeug's.
    assert lazy.path == public.path
    assert vars(lazy).keys() == vars(public).keys()
    for name in vars(public):
        if name not in ("environ", "headers"):
            assert vars(lazy)[name] == vars(public)[name], name
    assert list(lazy.headers) == list(public.headers)
    for name in ("url", "host", "args", "cookies", "full_path", "access_route"):
        assert getattr(lazy, name) == getattr(public, name), name


def test_eager_attributes_are_what_request_init_sets() -> None:
    environ = create_environ("/")
    before = set(vars(Request.__new__(Request)))
    public = Request(environ, populate_request=False)
    assert EAGER_REQUEST_ATTRIBUTES == set(vars(public)) - before - {"environ", "shallow"}


def test_lazy_request_has_no_other_attributes() -> None:
    with pytest.raises(AttributeError, match="no_such"):
        lazy_request(create_environ("/")).no_such  # noqa: B018
