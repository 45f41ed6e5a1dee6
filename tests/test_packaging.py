"""What the package claims is what CI runs, and the built wheel works.

The supported Pythons live in three places: setup.cfg's classifiers and
``python_requires``, and the nox matrix that ``make test`` runs. They must
agree, and a nox session tells the suite which matrix it belongs to
(``MATRIX_PYTHONS``), so a claimed interpreter can never silently drop out
of CI. The ``oldest`` session must really have the oldest releases that
``install_requires`` allows.

The distributions carry the licence text, and the sdist is enough to run
the tests: distributions (Debian, Fedora, conda-forge) build and test from
it, so a test unpacks a freshly built one and runs part of the suite there.
"""

from __future__ import annotations

import ast
import configparser
import importlib.metadata
import os
import re
import subprocess
import sys
import tarfile
import textwrap
import typing as t
import zipfile
from email.parser import HeaderParser
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


@pytest.fixture(scope="session")
def sdist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sdist as `make dist` builds it (python -m build --sdist)."""
    out = tmp_path_factory.mktemp("sdist")
    built = subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--outdir", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    [archive] = out.glob("wsgi_flash-*.tar.gz")
    return archive


def wheel_metadata(wheel: Path) -> tuple[list[str], t.Any]:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        [metadata] = [n for n in names if n.endswith(".dist-info/METADATA")]
        return names, HeaderParser().parsestr(archive.read(metadata).decode("utf-8"))


def test_licence_is_the_bsd_3_clause_text_naming_the_authors() -> None:
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("BSD 3-Clause License\n")
    assert "Copyright (c) 2026, the wsgi_flash authors" in text
    assert "3. Neither the name of the copyright holder nor the names of its" in text
    assert setup_cfg()["metadata"]["license_files"].strip() == "LICENSE"


@pytest.mark.slow
def test_wheel_ships_the_licence_and_spdx_metadata(wheel: Path) -> None:
    names, metadata = wheel_metadata(wheel)
    [licence] = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
    with zipfile.ZipFile(wheel) as archive:
        assert archive.read(licence) == (ROOT / "LICENSE").read_bytes()
    assert metadata["License-Expression"] == "BSD-3-Clause"
    assert metadata.get_all("License-File") == ["LICENSE"]
    classifiers = metadata.get_all("Classifier")
    # PEP 639: the expression replaces the License :: classifiers.
    assert not [c for c in classifiers if c.startswith("License ::")]
    for framework in ("Django", "Flask", "Pyramid"):
        assert f"Framework :: {framework}" in classifiers
    assert "Typing :: Typed" in classifiers
    assert "wsgi_flash/py.typed" in names
    pythons = [c.rsplit(" ", 1)[1] for c in classifiers if re.fullmatch(r".*:: 3\.\d+", c)]
    assert pythons == claimed_pythons()
    # No invented project URLs: none is declared until one exists.
    assert metadata.get_all("Project-URL") is None and metadata["Home-page"] is None


# What a distribution's test run needs beside the tests themselves.
SDIST_FILES = [
    "LICENSE",
    "README.rst",
    "CHANGES.rst",
    "SECURITY.rst",
    "Makefile",
    "noxfile.py",
    "pyproject.toml",
    "setup.cfg",
    "tests/conftest.py",
    "tests/servers.py",
    "tests/constraints-oldest.txt",
    "tests/django_settings.py",
    "tests/django_urls.py",
    "tests/apps/flash_app.py",
    "tests/fuzz/_harness.py",
    "tests/fuzz/uri.dict",
    "examples/demo.py",
    "examples/demo.toml",
    "benchmarks/README.rst",
    "benchmarks/harness.py",
    "docs/metrics.rst",
]


@pytest.mark.slow
def test_sdist_holds_everything_the_tests_read(sdist: Path) -> None:
    with tarfile.open(sdist) as archive:
        members = {m.name.split("/", 1)[1] for m in archive.getmembers() if "/" in m.name}
        top = sdist.name[: -len(".tar.gz")]
        licence = archive.extractfile(f"{top}/LICENSE")
        assert licence is not None and licence.read() == (ROOT / "LICENSE").read_bytes()
    assert [name for name in SDIST_FILES if name not in members] == []
    tracked = subprocess.run(
        ["git", "ls-files", "tests", "examples", "benchmarks", "docs"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if tracked.returncode == 0:  # a git checkout, not an unpacked sdist
        missing = [
            name
            for name in tracked.stdout.splitlines()
            if name not in members and (ROOT / name).exists()
        ]
        assert missing == []
    assert not [m for m in members if "__pycache__" in m or m.startswith("docs/_build")]


# A quick part of the suite that reads the files an sdist used to lack:
# conftest.py and servers.py (every file), examples/ and demo.toml
# (test_demo), the fuzz corpora and dictionaries (test_fuzz_targets).
SDIST_SUBSET = [
    "tests/test_flash.py",
    "tests/test_proxy_fix.py",
    "tests/test_demo.py",
    "tests/test_fuzz_targets.py",
]


@pytest.mark.slow
def test_tests_pass_from_the_unpacked_sdist(sdist: Path, tmp_path: Path) -> None:
    with tarfile.open(sdist) as archive:
        if hasattr(tarfile, "data_filter"):  # 3.9.17+, 3.10.12+, 3.11.4+
            archive.extractall(tmp_path, filter="data")
        else:
            archive.extractall(tmp_path)
    [tree] = tmp_path.glob("wsgi_flash-*")
    # This environment's dependencies, but the package and its tests from the
    # unpacked tree: it comes first on sys.path (pytest's pythonpath is the
    # tree's root too), ahead of the editable install of the checkout.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(tree)

    def pytest_run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
            cwd=tree,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )

    where = subprocess.run(
        [sys.executable, "-c", "import wsgi_flash, examples; print(wsgi_flash.__file__)"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(tree), where.stdout

    collected = pytest_run("--collect-only", "-q")
    assert collected.returncode == 0, collected.stdout[-3000:] + collected.stderr[-3000:]
    assert re.search(r"^\d{3,} tests collected", collected.stdout, re.M), collected.stdout[-500:]
    assert "error" not in collected.stdout.splitlines()[-1]

    ran = pytest_run("-q", "-x", "-m", "not slow", *SDIST_SUBSET)
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    summary = ran.stdout.strip().splitlines()[-1]
    assert re.search(r"\d+ passed", summary) and "failed" not in summary, summary


def test_security_report_channel_is_one_the_metadata_declares() -> None:
    """SECURITY.rst's reporting section names no address or link that the
    package does not declare: a report sent to an invented place is lost."""
    text = (ROOT / "SECURITY.rst").read_text(encoding="utf-8")
    section = text.split("\nReporting a vulnerability\n", 1)[1].split("\nThreat model\n", 1)[0]
    assert "do **not** report a suspected vulnerability in public" in section
    places = re.findall(r"https?://[^\s>`]+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+", section)
    metadata = setup_cfg()["metadata"]
    declared = " ".join(
        metadata.get(key, "")
        for key in ("url", "project_urls", "author_email", "maintainer_email", "download_url")
    )
    assert [place for place in places if place not in declared] == []
    for host in ("github", "gitlab", "codeberg", "bitbucket"):
        assert host not in section.lower() or host in declared.lower(), host


def extras() -> dict[str, list[str]]:
    """``{extra: [requirement, ...]}`` from setup.cfg, comments left out."""
    section = setup_cfg()["options.extras_require"]
    return {
        name: [
            line.strip()
            for line in section[name].split("\n")
            if line.strip() and not line.strip().startswith("#")
        ]
        for name in section
    }


def names(requirements: list[str]) -> set[str]:
    return {re.split(r"[^A-Za-z0-9_.-]", r, maxsplit=1)[0].lower() for r in requirements}


def test_extras_mean_what_they_say() -> None:
    """``test`` is what the suite needs, not the developer's linters; ``dev``
    is ``test`` and ``docs`` plus those tools."""
    found = extras()
    tools = {"ruff", "mypy", "nox", "twine"}
    assert names(found["test"]) & (tools | {"sphinx", "furo"}) == set()
    assert {"pytest", "hypothesis", "build", "docutils", "flask", "django"} <= names(found["test"])
    assert {"sphinx", "furo"} <= names(found["docs"])
    assert "wsgi_flash[test,docs]" in found["dev"]
    assert tools | {"build"} <= names(found["dev"])


def make_rules() -> dict[str, tuple[str, list[str]]]:
    """``{target: (prerequisites, recipe lines)}`` from the Makefile."""
    rules: dict[str, tuple[str, list[str]]] = {}
    target = None
    for line in (ROOT / "Makefile").read_text(encoding="utf-8").splitlines():
        if line.startswith("\t") and target is not None:
            rules[target][1].append(line.strip())
        elif (match := re.match(r"([^\s:=#][^:=]*):(?!=)(.*)", line)) is not None:
            target = match.group(1).strip()
            rules[target] = (match.group(2).strip(), [])
        else:
            target = None
    return rules


def test_make_demo_installs_only_the_runtime_dependencies() -> None:
    """`make demo` on a fresh clone installs the package alone (Werkzeug is
    the server), so it serves in seconds; the dev extra is for the rest."""
    rules = make_rules()
    assert rules["demo"][0] == "$(RUNTIME)"
    installs = [line for line in rules["$(RUNTIME)"][1] if "pip install" in line]
    assert installs == ["$(PY) -m pip install --quiet -e ."]
    assert rules["setup"][0] == "$(STAMP)"
    assert "$(PY) -m pip install --quiet -e '.[dev]'" in rules["$(STAMP)"][1]
    assert rules["test"][0].split() == ["lint", "matrix", "docs-check", "dist"]
    assert "$(VENV)/bin/twine check --strict dist/*" in rules["dist"][1]
