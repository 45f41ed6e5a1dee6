# Every target sets up .venv itself, so a fresh clone needs only `make test` or `make demo`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup test lint types pytest demo bench clean

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

lint: setup
	$(VENV)/bin/ruff check wsgi_flash tests benchmarks examples

types: setup
	$(VENV)/bin/mypy --strict wsgi_flash

pytest: setup
	$(VENV)/bin/pytest

test: lint types pytest

demo: setup
	$(VENV)/bin/wsgi-flash serve examples.demo:demo_app --config examples/demo.toml --server werkzeug --bind 127.0.0.1:8000

bench: setup
	$(PY) benchmarks/bench.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
