# Shangliao: `make demo` to try it, `make test` to prove it. Everything runs from ./.venv.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
# -n 2: the suite on both cores (pytest-xdist); override with `make test PYTEST_ARGS=...`.
PYTEST_ARGS ?= -n 2
LINT_PATHS := src tests $(wildcard bench tools)

.PHONY: help demo test lint format lock migration-reset

help:
	@echo "make demo             create .venv, install, and run a demo shop at http://127.0.0.1:8000"
	@echo "make test             install the test extras and run the whole suite (SQLite + PostgreSQL)"
	@echo "make lint             ruff check and format check"
	@echo "make format           ruff fix and format"
	@echo "make lock             re-resolve dependencies into constraints.txt (then commit it)"
	@echo "make migration-reset  regenerate the initial migration 0001 from the models (before release only)"

$(PY):
	@echo "Creating the virtual environment $(VENV)…"
	$(PYTHON) -m venv $(VENV)

# Stamp files: reinstall only when pyproject.toml or the lock changed (the install is editable,
# so code changes need no reinstall). The test stamp implies the plain one. Every install is
# pinned by constraints.txt, so a fresh machine gets the versions the suite last passed with.
# pip's --quiet keeps the log short; the echo says why nothing moves for a while on a first run.
$(VENV)/.installed: pyproject.toml constraints.txt | $(PY)
	@echo "Installing Shangliao and its dependencies into $(VENV) (first run only, a minute or two)…"
	$(PY) -m pip install --quiet -c constraints.txt -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml constraints.txt | $(PY)
	@echo "Installing Shangliao with its test tools into $(VENV)…"
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test]'
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

# The lock: resolve pyproject's dependencies (with the test extras) afresh in a throw-away venv
# and pin every package it installed. Run it to take newer versions, then run `make test`.
LOCK_VENV := $(VENV)-lock
lock:
	rm -rf $(LOCK_VENV)
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install --quiet '.[test]'
	{ echo "# Pinned by 'make lock' from pyproject.toml (with the test extras); installs use it as -c."; \
	  $(LOCK_VENV)/bin/python -m pip freeze --exclude shangliao; } > constraints.txt
	rm -rf $(LOCK_VENV) build

migration-reset: $(VENV)/.installed-test
	$(PY) -c "from shangliao.storage.migrate import regenerate_initial; print(regenerate_initial())"
	$(BIN)/ruff check --fix --quiet src/shangliao/migrations/versions
	$(BIN)/ruff format --quiet src/shangliao/migrations/versions
	$(PY) -m pytest -q tests/test_migrations.py
