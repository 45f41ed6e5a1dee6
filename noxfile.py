"""The test matrix: ``make test`` (and so CI) runs every session here.

- ``tests-3.9`` ... ``tests-3.13``: the whole suite on every interpreter the
  package claims, each in its own virtualenv with the newest releases the
  requirements allow;
- ``oldest``: the suite against the oldest Werkzeug, itsdangerous and
  MarkupSafe that ``install_requires`` allows (``tests/constraints-oldest.txt``);
- ``lint``: ruff, once.

Each test session also runs ``mypy --strict`` with its own interpreter, so the
types are checked once per supported Python version (mypy 2 no longer
targets 3.9; there the newest mypy that runs on 3.9 checks).

Interpreters are found on ``PATH`` or under ``~/.pyenv/versions``. A missing
one is an error, not a skip (``--error-on-missing-interpreters``), and each
test session tells the suite which interpreters the matrix holds, so
``tests/test_packaging.py`` fails when the classifiers claim one it lacks.
"""

from __future__ import annotations

import os
import pathlib

import nox

# Keep in step with setup.cfg's classifiers and python_requires (a test checks).
PYTHONS = ["3.9", "3.10", "3.11", "3.12", "3.13"]
OLDEST_PYTHON = PYTHONS[0]
ROOT = pathlib.Path(__file__).resolve().parent

nox.options.sessions = ["lint", "tests", "oldest"]
nox.options.error_on_missing_interpreters = True
nox.options.reuse_existing_virtualenvs = True


def _add_pyenv_interpreters() -> None:
    """Put each version's own bin directory of ``~/.pyenv/versions`` on PATH:
    pyenv's shims only answer for the versions it has selected."""
    versions = pathlib.Path(os.environ.get("PYENV_ROOT", "~/.pyenv")).expanduser() / "versions"
    found = []
    for version in PYTHONS:
        candidates = sorted(versions.glob(f"{version}.*/bin/python{version}"))
        if candidates:
            found.append(str(candidates[-1].parent))
    os.environ["PATH"] = os.pathsep.join([*found, os.environ.get("PATH", "")])


_add_pyenv_interpreters()


def _check(session: nox.Session, *, deps: str) -> None:
    """The whole suite, then mypy for this interpreter's version."""
    env = {
        "MATRIX_PYTHONS": ",".join(PYTHONS),
        "MATRIX_DEPS": deps,
    }
    session.run("python", "-m", "pytest", "-p", "no:cacheprovider", *session.posargs, env=env)
    session.run("python", "-m", "mypy", "--strict", "wsgi_flash")


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The whole suite with the newest allowed releases."""
    session.install("--upgrade", "--upgrade-strategy", "eager", ".[test]")
    _check(session, deps="newest")


@nox.session(python=OLDEST_PYTHON)
def oldest(session: nox.Session) -> None:
    """The whole suite with the oldest releases install_requires allows."""
    session.install("-c", "tests/constraints-oldest.txt", ".[test]")
    _check(session, deps="oldest")


@nox.session(python=False)
def lint(session: nox.Session) -> None:
    paths = ["wsgi_flash", "tests", "benchmarks", "examples", "noxfile.py"]
    session.run("ruff", "check", *paths)
    session.run("ruff", "format", "--check", *paths)
