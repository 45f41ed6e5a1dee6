"""The table "What each server lets through" in docs/checks.rst, measured.

Each row of the table names a kind of malformed request; ``EXAMPLES`` holds
raw HTTP/1.1 requests of that kind. They go to a real gunicorn (sync worker,
one worker) and a real Werkzeug development server, both on 127.0.0.1 around
:func:`echo_app`, and each cell's claim is checked: a cell that starts with
``**400 by the server**`` (or 414, 431) means the server answers that status
itself and the app never runs; a cell that starts with ``app`` means the app
runs and answers, except for the examples a ``word: **400**`` part names.
``ALTERATIONS`` checks what the cells say the server changes on the way in.
The table is read from the docs, so a row edited there without a matching
measurement fails here.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import typing as t

import docutils.core
import docutils.nodes
import pytest

from tests import servers

DOC = servers.ROOT / "docs" / "checks.rst"
TITLE = "What each server lets through"
TIMEOUT = 5.0
SERVERS = ("gunicorn", "werkzeug")


def installed(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", importlib.metadata.version(name))[:2])


GUNICORN_VERSION = installed("gunicorn")
# What the app sees of each request (WSGI strings: bytes as latin-1).
ECHOED = (
    "REQUEST_METHOD",
    "PATH_INFO",
    "RAW_URI",
    "REQUEST_URI",
    "HTTP_HOST",
    "CONTENT_LENGTH",
    "HTTP_X_CUSTOM",
)


def echo_app(environ: dict[str, t.Any], start_response: t.Callable[..., t.Any]) -> list[bytes]:
    """Answer 200 with JSON of what the server handed over; the ``echo``
    key tells an answer of the app from one of the server."""
    body = json.dumps({"echo": True, **{key: environ.get(key) for key in ECHOED}}).encode()
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]


def request(line: str, *headers: str, body: bytes = b"", host: str | None = "app.test") -> bytes:
    lines = [line]
    if host is not None:
        lines.append(f"Host: {host}")
    lines += [*headers, "Connection: close"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


# Row label, exactly as the table writes it -> {example id: raw request}.
EXAMPLES: dict[str, dict[str, bytes]] = {
    "``%zz``, ``%u0041``, ``%252e``": {
        "percent-zz": request("GET /a%zz HTTP/1.1"),
        "percent-u": request("GET /a%u0041 HTTP/1.1"),
        "double-encoding": request("GET /a%252e HTTP/1.1"),
    },
    "``%00``, ``%0d%0a``, ``%1b``, ``%ff``": {
        "escaped-nul": request("GET /a%00b HTTP/1.1"),
        "escaped-crlf": request("GET /a%0d%0ab HTTP/1.1"),
        "escaped-esc": request("GET /a%1b HTTP/1.1"),
        "escaped-ff": request("GET /a%ff HTTP/1.1"),
    },
    "raw ``#fragment``": {"fragment": request("GET /a#frag HTTP/1.1")},
    "absolute-form target, other Host": {
        "absolute-form": request("GET http://other.test/a HTTP/1.1"),
    },
    "missing / empty Host, bad Host": {
        "no-host": request("GET / HTTP/1.1", host=None),
        "empty-host": request("GET / HTTP/1.1", host=""),
        "bad-host": request("GET / HTTP/1.1", host="evil.test/x?y"),
    },
    "``HTTP/1.2``": {"http-1.2": request("GET / HTTP/1.2")},
    "GET with body, POST without length": {
        "get-with-body": request("GET / HTTP/1.1", "Content-Length: 3", body=b"abc"),
        "post-without-length": request("POST / HTTP/1.1"),
    },
    "bad Range, unparseable Cookie": {
        "bad-range": request("GET / HTTP/1.1", "Range: bytes=5-1"),
        "bad-cookie": request("GET / HTTP/1.1", "Cookie: a=1; junk"),
    },
    "non-numeric or repeated Content-Length": {
        "content-length-abc": request("POST / HTTP/1.1", "Content-Length: abc"),
        "content-length-twice": request(
            "POST / HTTP/1.1", "Content-Length: 1", "Content-Length: 1", body=b"a"
        ),
    },
    "Content-Length + Transfer-Encoding": {
        "length-and-chunked": request(
            "POST / HTTP/1.1", "Content-Length: 5", "Transfer-Encoding: chunked", body=b"0\r\n\r\n"
        ),
    },
    "control bytes / ESC in a header value": {
        "control-in-header": request("GET / HTTP/1.1", "X-A: a\x01b"),
        "esc-in-header": request("GET / HTTP/1.1", "User-Agent: \x1b[31mred"),
    },
    "invalid method token, lowercase method": {
        "bad-method-token": request("G(T / HTTP/1.1"),
        "lowercase-method": request("get / HTTP/1.1"),
    },
    "two Host headers": {"two-hosts": request("GET / HTTP/1.1", "Host: other.test")},
    "raw NUL or byte >= 0x80 in the target": {
        "raw-nul-in-target": request("GET /a\x00b HTTP/1.1"),
        "raw-ff-in-target": request("GET /a\xff HTTP/1.1"),
    },
    "``HTTP/0.9``, space in the target": {
        "http-0.9": request("GET / HTTP/0.9"),
        "space-in-target": request("GET /a b HTTP/1.1"),
    },
    "request line over 4094 bytes": {
        "long-request-line": request("GET /" + "a" * 5000 + " HTTP/1.1"),
    },
    "more than 100 headers": {
        "101-headers": request("GET / HTTP/1.1", *[f"X-{i}: 1" for i in range(101)]),
    },
}


def wsgi_string(text: str) -> str:
    """``text`` as a WSGI server puts it in the environ (UTF-8 read as latin-1)."""
    return text.encode("utf-8").decode("latin-1")


RAW_URI_KEPT = {
    "percent-zz": {"RAW_URI": "/a%zz"},
    "percent-u": {"RAW_URI": "/a%u0041"},
    "double-encoding": {"RAW_URI": "/a%252e", "PATH_INFO": "/a%2e"},
}
FRAGMENT_IN_RAW_URI_ONLY = {"fragment": {"RAW_URI": "/a#frag", "PATH_INFO": "/a"}}

# What a cell says the server changes on the way in, checked for the
# examples named: (row label, server) -> (words of the cell, {example id:
# {field: value}}), where a field is an ECHOED environ key or "status" (None:
# no status line). The words must stay in the cell, so editing them fails here.
ALTERATIONS: dict[tuple[str, str], tuple[str, dict[str, dict[str, str | None]]]] = {
    ("``%zz``, ``%u0041``, ``%252e``", "gunicorn"): ("app (``RAW_URI`` raw)", RAW_URI_KEPT),
    ("``%zz``, ``%u0041``, ``%252e``", "werkzeug"): ("app (``RAW_URI`` raw)", RAW_URI_KEPT),
    ("``%00``, ``%0d%0a``, ``%1b``, ``%ff``", "gunicorn"): (
        "app, decoded into PATH_INFO",
        {
            "escaped-nul": {"PATH_INFO": "/a\x00b"},
            "escaped-crlf": {"PATH_INFO": "/a\r\nb"},
            "escaped-esc": {"PATH_INFO": "/a\x1b"},
            "escaped-ff": {"PATH_INFO": "/a\xff"},
        },
    ),
    ("``%00``, ``%0d%0a``, ``%1b``, ``%ff``", "werkzeug"): (
        "``%ff`` becomes U+FFFD in PATH_INFO, raw in RAW_URI",
        {"escaped-ff": {"PATH_INFO": wsgi_string("/a\ufffd"), "RAW_URI": "/a%ff"}},
    ),
    ("raw ``#fragment``", "gunicorn"): ("app (in ``RAW_URI`` only)", FRAGMENT_IN_RAW_URI_ONLY),
    ("raw ``#fragment``", "werkzeug"): ("app (in ``RAW_URI`` only)", FRAGMENT_IN_RAW_URI_ONLY),
    ("absolute-form target, other Host", "gunicorn"): (
        "app, Host kept",
        {"absolute-form": {"HTTP_HOST": "app.test"}},
    ),
    ("absolute-form target, other Host", "werkzeug"): (
        "app, Host *replaced* by the target's host",
        {"absolute-form": {"HTTP_HOST": "other.test"}},
    ),
    ("non-numeric or repeated Content-Length", "werkzeug"): (
        "app (repeated: one value)",
        {"content-length-twice": {"CONTENT_LENGTH": "1"}},
    ),
    ("two Host headers", "werkzeug"): (
        "app, joined ``a,b``",
        {"two-hosts": {"HTTP_HOST": "app.test,other.test"}},
    ),
    ("``HTTP/0.9``, space in the target", "werkzeug"): (
        "app (answers ``HTTP/0.9`` with the body only)",
        {"http-0.9": {"status": None}},
    ),
}

# The prose under the table: "gunicorn 23, the last release for Python 3.9,
# is laxer: ..." Those rows are checked against the gunicorn column only with
# gunicorn 24 or later, and against this (None: the app runs) with older ones.
GUNICORN_23_PROSE = (
    "gunicorn 23, the last release for Python 3.9, is laxer: it hands control bytes in header"
    " values, two Host headers, a raw NUL or byte >= 0x80 in the target and a"
    " Transfer-Encoding other than chunked to the app, and answers 400 rather than 414 to a"
    " long request line"
)
GUNICORN_23: dict[str, int | None] = {
    "control bytes / ESC in a header value": None,
    "two Host headers": None,
    "raw NUL or byte >= 0x80 in the target": None,
    "request line over 4094 bytes": 400,
}
OLDER_GUNICORN = GUNICORN_VERSION < (24, 0)
OLDER_GUNICORN_REASON = (
    f"gunicorn {importlib.metadata.version('gunicorn')} lets this through (the prose under"
    " the table says so; test_gunicorn_23_is_laxer checks it); the column is for 24+"
)


# -- The table, read from the docs -------------------------------------------

BORDER = re.compile(r"=+(?: +=+)+")
SERVER_ANSWERS = re.compile(r"\*\*(\d{3}) by the server\*\*")
QUALIFIED_STATUS = re.compile(r"([\w.]+): \*\*(\d{3})\*\*")
NEXT_TITLE = re.compile(r"\n\n\S[^\n]*\n[-=~^]{4,}\n")


class Table(t.NamedTuple):
    head: list[str]
    rows: dict[str, dict[str, str]]  # label -> {server: cell}


def section() -> str:
    """The section's text, from its title to the next title or the end."""
    text = DOC.read_text(encoding="utf-8")
    body = text[text.index(f"{TITLE}\n{'-' * len(TITLE)}\n") :]
    following = NEXT_TITLE.search(body, 2 * len(TITLE) + 2)
    return body if following is None else body[: following.start()]


def table_lines() -> list[str]:
    """The simple table's lines, from its top border to its bottom one."""
    lines = section().splitlines()
    borders = [i for i, line in enumerate(lines) if BORDER.fullmatch(line)]
    assert len(borders) >= 3, f"no simple table under {TITLE!r} in {DOC}"
    return lines[borders[0] : borders[2] + 1]


def read_table() -> Table:
    """Cells by column position, as docutils reads a simple table: a line
    whose first column is blank continues the row above."""
    lines = table_lines()
    starts = [match.start() for match in re.finditer("=+", lines[0])]

    def cells(line: str) -> list[str]:
        ends = [*starts[1:], len(line)]
        return [line[start:end].strip() for start, end in zip(starts, ends)]

    head = cells(lines[1])
    assert BORDER.fullmatch(lines[2]), "the table has more than one header line"
    rows: list[list[str]] = []
    for line in lines[3:-1]:
        if not line.strip():
            continue
        row = cells(line)
        if row[0]:
            rows.append(row)
        else:
            assert rows, f"continuation line before the first row: {line!r}"
            rows[-1] = [f"{old} {new}".strip() for old, new in zip(rows[-1], row)]
    columns = {name: i for i in range(1, len(head)) for name in SERVERS if name in head[i].lower()}
    assert sorted(columns) == sorted(SERVERS), f"columns {head} should name {SERVERS}"
    return Table(head, {row[0]: {name: row[i] for name, i in columns.items()} for row in rows})


def expected_status(cell: str, example: str) -> int | None:
    """The status the server answers itself to ``example``, or None when
    the cell says the app runs."""
    server = SERVER_ANSWERS.match(cell)
    if server:
        return int(server[1])
    if not cell.startswith("app"):
        raise AssertionError(
            f"cell {cell!r} starts with neither 'app' nor '**NNN by the server**':"
            " write it so, or teach expected_status() to read it"
        )
    for qualifier, status in QUALIFIED_STATUS.findall(cell):
        if example.startswith(qualifier):
            return int(status)
    return None


def test_table_is_what_docutils_reads() -> None:
    """The column reader above sees the rows and labels a reader sees."""
    lines = table_lines()
    tree = docutils.core.publish_doctree(
        "\n".join(lines) + "\n",
        settings_overrides={"report_level": 5, "halt_level": 2, "warning_stream": False},
    )
    body = next(iter(tree.findall(docutils.nodes.tbody)))
    labels = [row.children[0].astext() for row in body.children]
    plain = [re.sub(r"``|\*\*|\*", "", label) for label in read_table().rows]
    assert labels == plain


def test_every_row_has_examples_and_every_example_a_row() -> None:
    rows = read_table().rows
    assert sorted(set(rows) - set(EXAMPLES)) == [], "rows without EXAMPLES"
    assert sorted(set(EXAMPLES) - set(rows)) == [], "EXAMPLES without a row"
    ids = [example for examples in EXAMPLES.values() for example in examples]
    assert len(ids) == len(set(ids)), "example ids must be unique"


def test_alterations_and_qualifiers_name_real_examples() -> None:
    rows = read_table().rows
    for (label, server), (words, examples) in ALTERATIONS.items():
        assert label in rows and server in SERVERS, (label, server)
        assert words in rows[label][server], f"ALTERATIONS quotes {words!r}, not in the cell"
        assert set(examples) <= set(EXAMPLES[label]), (label, server, set(examples))
        for fields in examples.values():
            assert set(fields) <= {"status", *ECHOED}, fields
    for label, cells in rows.items():
        for cell in cells.values():
            for qualifier, _ in QUALIFIED_STATUS.findall(cell):
                named = [example for example in EXAMPLES[label] if example.startswith(qualifier)]
                assert named, f"{qualifier!r} in {cell!r} names no example of {label!r}"
    assert set(GUNICORN_23) <= set(rows)


# -- Versions the section cites ----------------------------------------------


def cited_versions() -> tuple[str, str, str]:
    """(gunicorn version of the prose, of the column head, Werkzeug version)."""
    prose = " ".join(section().split())
    measured = re.search(
        r"against gunicorn (\d[\d.]*) \(sync worker\) and Werkzeug (\d[\d.]*)'s development server",
        prose,
    )
    assert measured, "the sentence 'Measured with raw HTTP against ...' changed; update this test"
    head = next(name for name in read_table().head if name.lower().startswith("gunicorn"))
    return measured[1], head.split()[-1], measured[2]


OLDEST = pytest.mark.skipif(
    os.environ.get("MATRIX_DEPS") == "oldest",
    reason="the oldest session runs the oldest Werkzeug and gunicorn allowed; the section"
    " cites the releases measured, the newest",
)


def test_column_head_cites_the_measured_gunicorn() -> None:
    prose, head, _ = cited_versions()
    assert prose.split(".")[0] == head


@OLDEST
@pytest.mark.skipif(
    OLDER_GUNICORN,
    reason=f"gunicorn {importlib.metadata.version('gunicorn')} (Python 3.9) is the one the"
    " prose's gunicorn 23 paragraph covers; the table cites the newest",
)
def test_cited_gunicorn_is_the_installed_major() -> None:
    prose, _, _ = cited_versions()
    assert int(prose.split(".")[0]) == GUNICORN_VERSION[0], (
        f"docs/checks.rst cites gunicorn {prose}; {importlib.metadata.version('gunicorn')} is"
        " installed: measure again and update the table, its head and the prose"
    )


@OLDEST
def test_cited_werkzeug_is_the_installed_major() -> None:
    _, _, werkzeug = cited_versions()
    assert int(werkzeug.split(".")[0]) == installed("werkzeug")[0], (
        f"docs/checks.rst cites Werkzeug {werkzeug}; {importlib.metadata.version('werkzeug')}"
        " is installed: measure again and update the table and the prose"
    )


def test_prose_names_the_gunicorn_23_rows() -> None:
    assert GUNICORN_23_PROSE in " ".join(section().split())


# -- The servers ---------------------------------------------------------------


class Answer(t.NamedTuple):
    status: int | None  # None: no status line
    echo: dict[str, t.Any] | None  # what the app got; None: the app did not answer


def send(server: servers.Server, raw: bytes) -> Answer:
    data = server.raw(raw, timeout=TIMEOUT)
    assert data, "the server closed the connection without an answer"
    status: int | None = None
    body = data
    if data.startswith(b"HTTP/"):
        head, _, body = data.partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
    try:
        echo = json.loads(body)
    except ValueError:
        echo = None
    if not (isinstance(echo, dict) and echo.get("echo") is True):
        echo = None
    return Answer(status, echo)


# The servers import this module from the project root for echo_app.
APP = "tests.test_docs_server_table:echo_app"


@pytest.fixture(scope="module")
def gunicorn_server(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[servers.Server]:
    log = tmp_path_factory.mktemp("gunicorn") / "server.log"
    # The sync worker, as the table says (gunicorn runs gthread instead
    # whenever --threads is over 1).
    with servers.gunicorn(APP, log, workers=1, config=None) as server:
        assert "Using worker: sync" in server.log(), server.log()
        yield server


@pytest.fixture(scope="module")
def werkzeug_server(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[servers.Server]:
    log = tmp_path_factory.mktemp("werkzeug") / "server.log"
    with servers.werkzeug(APP, log) as server:
        yield server


@pytest.fixture(scope="module", params=SERVERS)
def server(request: pytest.FixtureRequest) -> servers.Server:
    running: servers.Server = request.getfixturevalue(f"{request.param}_server")
    running.name = request.param
    return running


CASES = [
    pytest.param(label, example, id=example)
    for label, examples in EXAMPLES.items()
    for example in examples
]


@pytest.mark.slow
@pytest.mark.parametrize(("label", "example"), CASES)
def test_cell_holds(server: servers.Server, label: str, example: str) -> None:
    rows = read_table().rows
    assert label in rows, f"no row {label!r} in the table of {DOC.name}"
    if server.name == "gunicorn" and label in GUNICORN_23 and OLDER_GUNICORN:
        pytest.skip(OLDER_GUNICORN_REASON)
    cell = rows[label][server.name]
    fields = ALTERATIONS.get((label, server.name), ("", {}))[1].get(example, {})
    answer = send(server, EXAMPLES[label][example])
    status = expected_status(cell, example)
    if status is not None:
        assert (answer.status, answer.echo) == (status, None), f"{server.name}: {cell!r}"
        return
    assert answer.echo is not None, f"{server.name} answered {answer.status}, not the app: {cell!r}"
    assert answer.status == fields.get("status", 200), f"{server.name}: {cell!r}"
    seen = {key: answer.echo[key] for key in fields if key != "status"}
    assert seen == {key: value for key, value in fields.items() if key != "status"}, cell


@pytest.mark.slow
@pytest.mark.skipif(
    not OLDER_GUNICORN, reason="gunicorn 24+ refuses these; test_cell_holds checks the column"
)
@pytest.mark.parametrize(
    ("label", "example"), [case for case in CASES if case.values[0] in GUNICORN_23]
)
def test_gunicorn_23_is_laxer(gunicorn_server: servers.Server, label: str, example: str) -> None:
    answer = send(gunicorn_server, EXAMPLES[label][example])
    status = GUNICORN_23[label]
    if status is None:
        assert answer.echo is not None and answer.status == 200, answer
    else:
        assert (answer.status, answer.echo) == (status, None)


GUNICORN_PROSE = (
    "gunicorn also drops header names containing ``_`` and answers 400 to a"
    " Transfer-Encoding other than chunked and to obsolete line folding."
)


@pytest.mark.slow
def test_the_sentence_under_the_table_holds_for_gunicorn(
    gunicorn_server: servers.Server,
) -> None:
    assert GUNICORN_PROSE in " ".join(section().split())
    with_dash = send(gunicorn_server, request("GET / HTTP/1.1", "X-Custom: 1"))
    assert with_dash.echo is not None and with_dash.echo["HTTP_X_CUSTOM"] == "1", with_dash
    underscore = send(gunicorn_server, request("GET / HTTP/1.1", "X_Custom: 1"))
    assert underscore.status == 200 and underscore.echo is not None, underscore
    assert underscore.echo["HTTP_X_CUSTOM"] is None, underscore
    gzip = send(gunicorn_server, request("POST / HTTP/1.1", "Transfer-Encoding: gzip"))
    if OLDER_GUNICORN:  # the gunicorn 23 paragraph says so
        assert gzip.status == 200 and gzip.echo is not None, gzip
    else:
        assert (gzip.status, gzip.echo) == (400, None)
    folded = send(gunicorn_server, request("GET / HTTP/1.1", "X-Folded: a", " b"))
    assert (folded.status, folded.echo) == (400, None)
