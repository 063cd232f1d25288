# ghye — every target sets itself up: a fresh machine needs only python3 (3.11+) and make.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install bytecode test lint typecheck check demo torture bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# ghye's own modules compiled ahead: an editable install never gets them compiled by pip, and
# with PYTHONDONTWRITEBYTECODE set every `ghye` run would compile them again (~0.1 s a start).
# Stale files are harmless: Python checks each against its source. Up to date, this is ~50 ms.
bytecode: $(STAMP)
	$(PY) -m compileall -q src

# The whole gate, as CI runs it: lint and format, strict types (src and tests), then the suite.
test: bytecode lint typecheck
	$(PY) -m pytest -q -p no:cacheprovider

lint: $(STAMP)
	$(PY) -m ruff check src tests bench
	$(PY) -m ruff format --check src tests bench

typecheck: $(STAMP)
	$(PY) -m mypy

check: test

# The selling point, offline: the bundled fake GitHub on 127.0.0.1:8765, `ghye collect` stopped
# with Ctrl+C midway, `ghye resume` to the end, verify, status, and the ids compared with the
# fake's: exact or not (exit 1). Config and data under data/demo/.
demo: bytecode
	$(PY) -m gh_year_end.testing.demo

torture: bytecode
	$(PY) -m pytest -q -p no:cacheprovider tests/test_torture.py tests/test_refresh_torture.py --torture-rounds=100 -s

bench: bytecode
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build src/*.egg-info
	find src tests bench -name __pycache__ -type d -prune -exec rm -rf {} +
