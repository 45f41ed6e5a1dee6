"""Sphinx extension for the wsgi_flash docs: tables generated from the code
=========================================================================

- ``.. wsgi-flash-checks::`` is the malformed-request check catalogue, built
  from :data:`wsgi_flash.malformed._checks.CHECKS` with the columns
  ``wsgi-flash checks`` prints, so the page can never disagree with the code.
- ``.. wsgi-flash-options::`` is every configuration key, the output of
  :func:`wsgi_flash.config.format_reference` (what ``wsgi-flash options``
  prints).
- Cross-references to the package's own names by their short or defining
  path (``HeadersAlreadySentError``, ``wsgi_flash.messages.FlashMiddleware``)
  resolve to the one place the API page documents them.

Only docutils is imported at module level, so the tests can check the
generated text without Sphinx installed.
"""

from __future__ import annotations

import typing as t

from docutils import nodes
from docutils.parsers.rst import Directive
from docutils.statemachine import StringList

CHECK_COLUMNS = ("Check id", "Default", "Origin", "What it flags")


def checks_rst() -> str:
    """The catalogue as a reST list-table, one row per check, in the
    catalogue's order."""
    from wsgi_flash.malformed._checks import CHECKS

    lines = [".. list-table::", "   :header-rows: 1", "   :widths: 24 8 24 44", ""]
    rows = [CHECK_COLUMNS, *((f"``{c.id}``", c.action, c.origin, c.description) for c in CHECKS)]
    for row in rows:
        lines.append(f"   * - {_cell(row[0])}")
        lines.extend(f"     - {_cell(cell)}" for cell in row[1:])
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    # Descriptions are plain text: keep '*' and '`' literal, not markup.
    if text.startswith("``"):
        return text
    return text.replace("\\", "\\\\").replace("*", "\\*").replace("`", "\\`").replace("|", "\\|")


def options_rst(section: str | None = None) -> str:
    """Every configuration key, as ``wsgi-flash options`` prints it; with
    ``section`` (``"flash"``, ``"proxy"``...), only that section's rows."""
    from wsgi_flash.config import format_reference

    text = format_reference().strip() + "\n"
    if section is None:
        return text
    head, *rows = text.split("\n   * - ")
    header, *body = rows
    groups: list[list[str]] = []
    for row in body:
        if row.startswith("``["):
            groups.append([])
        groups[-1].append(row)
    [wanted] = [group for group in groups if group[0].startswith(f"``[{section}]``")]
    return "\n   * - ".join([head, header, *wanted]).rstrip() + "\n"


class _Generated(Directive):
    has_content = False
    optional_arguments = 1
    source: t.Callable[..., str]

    def run(self) -> list[nodes.Node]:
        container = nodes.container()
        text = type(self).source(*self.arguments)
        self.state.nested_parse(StringList(text.splitlines(), "<generated>"), 0, container)
        return list(container.children)


class ChecksDirective(_Generated):
    source = staticmethod(checks_rst)


class OptionsDirective(_Generated):
    source = staticmethod(options_rst)


def _resolve_own_names(app: t.Any, env: t.Any, node: t.Any, contnode: t.Any) -> t.Any:
    """Resolve ``wsgi_flash`` names written by their short name or by the
    module that defines them to the documented public path."""
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"]
    objects = env.get_domain("py").objects
    own = [n for n, entry in objects.items() if n.startswith("wsgi_flash") and not entry.aliased]
    found = [name for name in own if name.endswith("." + target)]
    if not found:  # by the last name alone: a re-export, or a method a base defines
        short = target.rpartition(".")[2]
        found = [name for name in own if name.rpartition(".")[2] == short]
        if len(found) > 1:  # prefer the public re-export at the top
            found = [name for name in found if name.count(".") == 1]
    if len(found) != 1:
        return None
    from sphinx.util.nodes import make_refnode

    entry = objects[found[0]]
    return make_refnode(app.builder, node["refdoc"], entry.docname, entry.node_id, contnode)


def _drop_local_contents(app: t.Any, doctree: nodes.document) -> None:
    """Remove ``.. contents::`` tables (SECURITY.rst has one, for GitHub):
    the theme shows each page's contents beside it and flags a second one
    as an error on the page."""
    for topic in list(doctree.findall(nodes.topic)):
        if "contents" in topic["classes"]:
            topic.parent.remove(topic)


def setup(app: t.Any) -> dict[str, t.Any]:
    app.add_directive("wsgi-flash-checks", ChecksDirective)
    app.add_directive("wsgi-flash-options", OptionsDirective)
    app.connect("missing-reference", _resolve_own_names)
    app.connect("doctree-read", _drop_local_contents)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
