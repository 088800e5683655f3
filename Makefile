# Shangliao: `make demo` to try it, `make test` to prove it. Everything runs from ./.venv.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
# -n 2: the suite on both cores (pytest-xdist); override with `make test PYTEST_ARGS=...`.
PYTEST_ARGS ?= -n 2
LINT_PATHS := src tests $(wildcard bench)

.PHONY: help demo test lint format migration-reset

help:
	@echo "make demo             create .venv, install, and run a demo shop at http://127.0.0.1:8000"
	@echo "make test             install the test extras and run the whole suite (SQLite + PostgreSQL)"
	@echo "make lint             ruff check and format check"
	@echo "make format           ruff fix and format"
	@echo "make migration-reset  regenerate the initial migration 0001 from the models (before release only)"

$(PY):
	$(PYTHON) -m venv $(VENV)

# Stamp files: reinstall only when pyproject.toml changed (the install is editable, so code
# changes need no reinstall). The test stamp implies the plain one.
$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/shangliao demo

# Exit code 5 means "no tests collected"; an empty selection is not a failure here.
test: $(VENV)/.installed-test
	$(PY) -m pytest $(PYTEST_ARGS) tests; rc=$$?; if [ $$rc -eq 5 ]; then rc=0; fi; exit $$rc

lint: $(VENV)/.installed-test
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)

format: $(VENV)/.installed-test
	$(BIN)/ruff check --fix $(LINT_PATHS)
	$(BIN)/ruff format $(LINT_PATHS)

migration-reset: $(VENV)/.installed-test
	$(PY) -c "from shangliao.storage.migrate import regenerate_initial; print(regenerate_initial())"
	$(BIN)/ruff check --fix --quiet src/shangliao/migrations/versions
	$(BIN)/ruff format --quiet src/shangliao/migrations/versions
	$(PY) -m pytest -q tests/test_migrations.py
