# ghye — every target sets itself up: a fresh machine needs only python3 (3.11+) and make.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install test lint typecheck check demo torture bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider

lint: $(STAMP)
	$(PY) -m ruff check src tests bench

typecheck: $(STAMP)
	$(PY) -m mypy src

check: lint typecheck test

demo: $(STAMP)
	$(PY) -m gh_year_end.testing.demo

torture: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider tests/test_torture.py --torture-rounds=100 -s

bench: $(STAMP)
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build src/*.egg-info
