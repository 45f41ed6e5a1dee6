"""The test matrix: ``make test`` (and so CI) runs every session here.

- ``tests-3.9`` ... ``tests-3.13``: the whole suite on every interpreter the
  package claims, each in its own virtualenv with the newest releases the
  requirements allow;
- ``oldest``: the suite against the oldest Werkzeug, itsdangerous and
  MarkupSafe that ``install_requires`` allows (``tests/constraints-oldest.txt``);
- ``lint``: ruff, once, the one the ``dev`` extra put in ``.venv``;
- ``docs``: the HTML docs with warnings as errors, a link check restricted to
  the docs' own pages (``linkcheck_ignore`` in docs/conf.py), and
  ``tests/test_docs_browser.py`` on the built HTML in a real browser.

Each test session also runs ``mypy --strict`` with its own interpreter, so the
types are checked once per supported Python version (mypy 2 no longer
targets 3.9; there the newest mypy that runs on 3.9 checks). mypy is a
developer tool, not in the ``test`` extra, so the sessions install it.

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
# The docs are built by one interpreter; Sphinx 8 and furo's newest need 3.10+.
DOCS_PYTHON = "3.12"
# As in setup.cfg's dev extra.
MYPY = "mypy>=1.10"
ROOT = pathlib.Path(__file__).resolve().parent
VENV_BIN = ROOT / ".venv" / "bin"

nox.options.sessions = ["lint", "tests", "oldest", "docs"]
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
    session.install("--upgrade", "--upgrade-strategy", "eager", ".[test]", MYPY)
    _check(session, deps="newest")


@nox.session(python=OLDEST_PYTHON)
def oldest(session: nox.Session) -> None:
    """The whole suite with the oldest releases install_requires allows."""
    session.install("-c", "tests/constraints-oldest.txt", ".[test]", MYPY)
    _check(session, deps="oldest")


@nox.session(python=False)
def lint(session: nox.Session) -> None:
    """ruff from .venv (``make setup`` installs the dev extra there), so nox
    and ``make lint`` judge with the same release."""
    ruff = VENV_BIN / "ruff"
    if not ruff.exists():
        session.error(f"{ruff} is missing; run make setup (pip install -e '.[dev]')")
    paths = ["wsgi_flash", "tests", "benchmarks", "examples", "noxfile.py"]
    session.run(str(ruff), "check", *paths, external=True)
    session.run(str(ruff), "format", "--check", *paths, external=True)


@nox.session(python=DOCS_PYTHON)
def docs(session: nox.Session) -> None:
    """The HTML docs with warnings as errors, the internal links, and one page
    in a real browser."""
    session.install(".[docs,test]")
    html = ROOT / "docs" / "_build" / "html"
    session.run("sphinx-build", "-W", "-n", "--keep-going", "-b", "html", "docs", str(html))
    # Only the docs' own pages and anchors: docs/conf.py's linkcheck_ignore
    # leaves out every external address (the machines running this may have
    # no network beyond the package index).
    session.run(
        "sphinx-build", "-W", "--keep-going", "-b", "linkcheck", "docs", "docs/_build/linkcheck"
    )
    session.run("python", "-m", "pytest", "-p", "no:cacheprovider", "tests/test_docs_browser.py")
