# Every target sets up .venv itself, so a fresh clone needs only `make test` or `make demo`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Two stamps: the package and its runtime dependencies only (enough for
# `make demo`, which then serves within half a minute on a fresh clone), and
# the whole dev extra (tests, docs, linters, nox, build, twine) for the rest.
RUNTIME := $(VENV)/.runtime
STAMP := $(VENV)/.installed

NOX := $(VENV)/bin/nox

.PHONY: setup test test-one matrix docs-check lint types pytest docs dist demo bench loadtest fuzz clean

$(RUNTIME): setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -e .
	touch $(RUNTIME)

$(STAMP): setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

lint: setup
	$(VENV)/bin/ruff check wsgi_flash tests benchmarks examples noxfile.py
	$(VENV)/bin/ruff format --check wsgi_flash tests benchmarks examples noxfile.py

types: setup
	$(VENV)/bin/mypy --strict wsgi_flash

pytest: setup
	$(VENV)/bin/pytest

# What CI runs: ruff once, then mypy --strict and the whole suite on every
# supported Python (3.9-3.13, each in its own virtualenv under .nox/) and on
# the oldest Werkzeug/itsdangerous/MarkupSafe allowed, the docs (built with
# warnings as errors, internal links checked, a page in a real browser), and
# the distributions; see noxfile.py.
test: lint matrix docs-check dist

matrix: setup
	$(NOX) --error-on-missing-interpreters --sessions tests oldest

docs-check: setup
	$(NOX) --error-on-missing-interpreters --sessions docs

# The HTML docs in docs/_build/html; a warning (or a broken reference) fails.
docs: setup
	$(VENV)/bin/sphinx-build -W -n --keep-going -b html docs docs/_build/html

# The sdist, and the wheel built from it, in dist/, checked as PyPI would.
dist: setup
	rm -rf dist
	$(PY) -m build --outdir dist .
	$(VENV)/bin/twine check --strict dist/*

# Day-to-day: the same checks on .venv's interpreter only.
test-one: lint types pytest

# A new random secret key on every run, unless WSGI_FLASH_SECRET_KEY is set:
# the demo ships no key that could end up in production.
DEMO_BIND ?= 127.0.0.1:8000
demo: $(RUNTIME)
	WSGI_FLASH_SECRET_KEY="$${WSGI_FLASH_SECRET_KEY:-$$($(PY) -c 'import secrets; print(secrets.token_hex(32))')}" \
		$(VENV)/bin/wsgi-flash serve examples.demo:demo_app --config examples/demo.toml --server werkzeug --bind $(DEMO_BIND)

bench: setup
	$(PY) benchmarks/bench.py

# Bare app vs the full stack under gunicorn with wrk (installed with apt-get
# when missing and root); not part of `make test`; stops by itself within three minutes.
loadtest: setup
	$(PY) benchmarks/loadtest.py

# Every atheris target in tests/fuzz/ for FUZZ_SECONDS each, from its seed
# corpus; a failing input is saved as .fuzz/crash-<sha1>.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := flash_cookie forwarded host uri

fuzz: setup
	mkdir -p .fuzz
	for target in $(FUZZ_TARGETS); do \
		$(PY) tests/fuzz/fuzz_$$target.py -max_total_time=$(FUZZ_SECONDS) \
			-artifact_prefix=.fuzz/ -print_final_stats=1 || exit 1; \
	done

clean:
	rm -rf $(VENV) .nox build dist docs/_build *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis .fuzz
