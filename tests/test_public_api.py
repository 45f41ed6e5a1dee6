"""Every import path the documentation shows works, and no public name
shadows a module: ``import wsgi_flash.x as m`` always gives the module."""

from __future__ import annotations

import importlib
import pkgutil
import re
import types
from pathlib import Path

import pytest

import wsgi_flash

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [
    ROOT / "README.rst",
    ROOT / "SECURITY.rst",
    *sorted((ROOT / "docs").glob("*.rst")),
    *sorted((ROOT / "examples").glob("*.py")),
]
# Not these two: importing them runs the command line or builds a uWSGI app.
_RUN_ON_IMPORT = {"wsgi_flash.__main__", "wsgi_flash._uwsgi"}
MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(wsgi_flash.__path__, prefix="wsgi_flash.")
    if info.name not in _RUN_ON_IMPORT
)


def _documented_imports() -> set[tuple[str, str]]:
    found = set()
    pattern = re.compile(r"^\s*from (wsgi_flash[\w.]*) import \(?([\w, ]+)", re.MULTILINE)
    for path in DOCUMENTS:
        for module, names in pattern.findall(path.read_text(encoding="utf-8")):
            for name in names.split(","):
                name = name.strip().split(" as ")[0]
                if name:
                    found.add((module, name))
    return found


@pytest.mark.parametrize(("module", "name"), sorted(_documented_imports()))
def test_documented_import_works(module: str, name: str) -> None:
    assert hasattr(importlib.import_module(module), name)


@pytest.mark.parametrize(
    "name",
    [
        "FlashMiddleware",
        "flash",
        "get_flashed_messages",
        "peek_flashed_messages",
        "RequestHooks",
        "after_this_request",
        "ProxyFix",
        "MalformedRequestLogger",
        "report_malformed",
        "Config",
        "stack",
        "WsgiFlashError",
    ],
)
def test_package_exports(name: str) -> None:
    assert name in dir(wsgi_flash)


@pytest.mark.parametrize(
    "entry",
    [
        "wsgi_flash.flask:init_app",
        "wsgi_flash.gunicorn:on_starting",
        "wsgi_flash.gunicorn:post_worker_init",
        "wsgi_flash.paste:flash",
        "wsgi_flash.paste:proxy_fix",
        "wsgi_flash.paste:malformed",
        "wsgi_flash.paste:hooks",
        "wsgi_flash.paste:stack",
        "wsgi_flash.cli:main",
        "wsgi_flash.django:FlashStorage",
        "wsgi_flash.django:FlashMiddleware",
        "wsgi_flash.pyramid:includeme",
    ],
)
def test_entry_points_and_adapters_resolve(entry: str) -> None:
    module, _, attribute = entry.partition(":")
    assert callable(getattr(importlib.import_module(module), attribute))


@pytest.mark.parametrize("module", MODULES)
def test_no_name_shadows_a_module(module: str) -> None:
    parent, _, leaf = module.rpartition(".")
    imported = importlib.import_module(module)
    assert getattr(importlib.import_module(parent), leaf) is imported
    assert isinstance(imported, types.ModuleType)
