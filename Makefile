# The two commands: `make run` (bridge on http://localhost:7071 with the outbox) and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 7071
# checkov pins packaging<24, which the main tools cannot share: it gets a venv of its own.
INFRA_VENV := .venv-infra

.PHONY: run test lint typecheck pytest clean bench screenshots templates

# The venv is brought up to date when a requirements file changes; each stamp records an install.
# `make run` needs only the runtime requirements; the dev tools (mypy, schemathesis, hypothesis, ...)
# are installed on top of them for `make test`, so a first `make run` does not wait for them.
$(BIN)/.runtime-installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(BIN)/.installed: $(BIN)/.runtime-installed requirements-dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

$(INFRA_VENV)/.installed: requirements-infra.txt
	test -x $(INFRA_VENV)/bin/python || $(PYTHON) -m venv $(INFRA_VENV)
	$(INFRA_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-infra.txt
	touch $@

# Azurite, the storage emulator the queue and idempotency tests run against (package-lock.json pins it).
node_modules/.bin/azurite: package.json package-lock.json
	npm ci --silent --no-audit --no-fund
	touch $@

local.settings.json:
	cp local.settings.sample.json $@

run: $(BIN)/.runtime-installed local.settings.json
	$(BIN)/python scripts/devserver.py --port $(PORT)

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(BIN)/.installed
	$(BIN)/mypy

pytest: $(BIN)/.installed $(INFRA_VENV)/.installed node_modules/.bin/azurite
	$(BIN)/python -m pytest

test: lint typecheck pytest

# `make screenshots`: every fixture's mail as PNGs in screenshots/ (390 px, 800 px, 390 px dark), for review;
# README=1 also rewrites the README's two pictures in docs/images. Needs Chromium (apt-get install chromium).
screenshots: $(BIN)/.installed
	$(BIN)/python scripts/screenshots.py $(if $(README),--readme)

# The built-in mail templates compiled ahead of time (shared/mail/compiled_templates.py): after editing them.
templates: $(BIN)/.runtime-installed
	$(BIN)/python scripts/compile_templates.py

clean:
	rm -rf $(VENV) $(INFRA_VENV) $(BENCH_VENV) node_modules .pytest_cache .mypy_cache .ruff_cache outbox screenshots

# `make bench`: the benchmark suite of bench/ (bench/README.md); not part of `make test`.
# The peers it compares with (msgraph-sdk, azure-identity, Apprise) get a venv of their own.
# --no-compile: byte-compiling the SDK's thousands of generated modules took a minute of the
# install; the bench's first run of each peer compiles the few it imports.
BENCH_VENV := .venv-bench

$(BENCH_VENV)/.installed: bench/requirements-bench.txt requirements.txt
	test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-compile -r bench/requirements-bench.txt
	touch $@

bench: $(BIN)/.installed $(BENCH_VENV)/.installed
	$(BIN)/python bench/run.py --bench-python $(BENCH_VENV)/bin/python
