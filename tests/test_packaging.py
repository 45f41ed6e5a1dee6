"""What the package claims is what CI runs, and the built wheel works.

The supported Pythons live in three places: setup.cfg's classifiers and
``python_requires``, and the nox matrix that ``make test`` runs. They must
agree, and a nox session tells the suite which matrix it belongs to
(``MATRIX_PYTHONS``), so a claimed interpreter can never silently drop out
of CI. The ``oldest`` session must really have the oldest releases that
``install_requires`` allows.
"""

from __future__ import annotations

import ast
import configparser
import importlib.metadata
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def setup_cfg() -> configparser.ConfigParser:
    parser = configparser.ConfigParser()
    parser.read(ROOT / "setup.cfg", encoding="utf-8")
    return parser


def claimed_pythons() -> list[str]:
    classifiers = setup_cfg()["metadata"]["classifiers"].split("\n")
    found = [
        m.group(1)
        for line in classifiers
        if (m := re.fullmatch(r"\s*Programming Language :: Python :: (3\.\d+)\s*", line))
    ]
    return sorted(found, key=lambda v: tuple(map(int, v.split("."))))


def nox_pythons() -> list[str]:
    tree = ast.parse((ROOT / "noxfile.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "PYTHONS" for target in node.targets
        ):
            return list(ast.literal_eval(node.value))
    raise AssertionError("noxfile.py has no PYTHONS list")


def release(version: str) -> tuple[int, ...]:
    """``"3.0"`` and ``"3.0.0"`` alike: (3, 0, 0)."""
    parts = [int(part) for part in version.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def lower_bounds() -> dict[str, str]:
    """``{name: oldest allowed version}`` from install_requires."""
    bounds = {}
    for line in setup_cfg()["options"]["install_requires"].split("\n"):
        match = re.match(r"\s*([A-Za-z0-9_.-]+)>=([0-9.]+)\s*(,|$)", line)
        if match and ";" not in line:
            bounds[match.group(1).lower()] = match.group(2)
    return bounds


def test_matrix_runs_every_python_the_package_claims() -> None:
    claimed = claimed_pythons()
    assert claimed, "setup.cfg lists no Python version classifiers"
    assert nox_pythons() == claimed
    assert setup_cfg()["options"]["python_requires"].strip() == f">={claimed[0]}"
    assert 'python_version = "' not in (ROOT / "pyproject.toml").read_text(encoding="utf-8"), (
        "mypy runs once per interpreter in the matrix; a fixed target would skip some"
    )


def test_this_run_belongs_to_the_full_matrix() -> None:
    """Under nox, the runner says which matrix this session is part of; under
    CI the suite must run through nox (make test), never on one interpreter."""
    matrix = os.environ.get("MATRIX_PYTHONS")
    if matrix is None:
        if os.environ.get("CI"):
            pytest.fail("CI runs the suite through nox (make test), which sets MATRIX_PYTHONS")
        pytest.skip("not run by nox (make test-one)")
    assert matrix.split(",") == claimed_pythons()
    assert f"{sys.version_info.major}.{sys.version_info.minor}" in matrix.split(",")


def test_oldest_constraints_are_install_requires_lower_bounds() -> None:
    pins = {}
    for line in (ROOT / "tests" / "constraints-oldest.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[name.strip().lower()] = version.strip()
    bounds = lower_bounds()
    assert {k: release(v) for k, v in bounds.items() if k in pins} == {
        k: release(v) for k, v in pins.items()
    }
    assert {"werkzeug", "itsdangerous", "markupsafe"} <= set(pins)
    if os.environ.get("MATRIX_DEPS") == "oldest":
        installed = {name: release(importlib.metadata.version(name)) for name in pins}
        assert installed == {k: release(v) for k, v in pins.items()}


# The README's quick start, run in a bare virtualenv that has only the
# wheel and its dependencies: flash, follow the redirect, read once.
QUICK_START_CHECK = """
from werkzeug.test import Client

client = Client(app)
response = client.get("/save")
assert response.status_code == 303, response.status
first = client.get("/").get_data(as_text=True)
second = client.get("/").get_data(as_text=True)
assert first == "[('success', 'Saved.')]", first
assert second == "[]", second
print("quick start ok")
"""


def quick_start_code() -> str:
    readme = (ROOT / "README.rst").read_text(encoding="utf-8")
    section = readme.split("\nQuick start\n", 1)[1]
    block = section.split(".. code-block:: python\n", 1)[1]
    lines = []
    for line in block.split("\n")[1:]:
        if line and not line.startswith(" "):
            break
        lines.append(line)
    return textwrap.dedent("\n".join(lines))


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    [built] = out.glob("wsgi_flash-*.whl")
    return built


@pytest.mark.slow
def test_wheel_and_readme_quick_start_in_a_bare_venv(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(python), *args],
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
            cwd=tmp_path,  # not the source tree: the import must find the wheel
        )

    installed = run("-m", "pip", "install", "--quiet", str(wheel))
    assert installed.returncode == 0, installed.stderr
    script = quick_start_code() + QUICK_START_CHECK
    result = run("-c", script)
    assert result.returncode == 0 and "quick start ok" in result.stdout, result.stderr
    where = run("-c", "import wsgi_flash, sys; print(wsgi_flash.__file__)")
    assert str(venv) in where.stdout, where
