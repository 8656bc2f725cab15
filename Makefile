# The two commands: `make run` (bridge on http://localhost:7071 with the outbox) and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 7071

.PHONY: run test lint typecheck pytest clean

# The venv is rebuilt when a requirements file changes; the stamp records the last install.
$(BIN)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

local.settings.json:
	cp local.settings.sample.json $@

run: $(BIN)/.installed local.settings.json
	$(BIN)/python scripts/devserver.py --port $(PORT)

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(BIN)/.installed
	$(BIN)/mypy

pytest: $(BIN)/.installed
	$(BIN)/python -m pytest

test: lint typecheck pytest

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache outbox
