# The two commands: `make run` (set up and serve on SQLite, production server)
# and `make test`; `make dev` serves with the reloader.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 5000
HOST ?= 127.0.0.1
PG_TEST_URL ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: run dev init test test-fast test-sqlite test-postgres lint browser-deps fhir-validator bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.app-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[postgres]'
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[postgres,test]'
	touch $@ $(VENV)/.app-installed

init: $(VENV)/.app-installed
	$(BIN)/intake init

# The production server (gunicorn with gunicorn.conf.py: several workers, no
# version banner, query strings redacted from its logs) and the worker (bulk
# exports, audit anchors), which stops with it.
run: init
	$(BIN)/intake worker & worker=$$!; trap "kill $$worker 2>/dev/null" EXIT INT TERM; \
	HOST=$(HOST) PORT=$(PORT) $(BIN)/gunicorn -c gunicorn.conf.py

# Development: Werkzeug's server with the reloader (no debugger: it runs code
# for anyone who reaches it), and the worker.
dev: init
	$(BIN)/intake worker & worker=$$!; trap "kill $$worker 2>/dev/null" EXIT INT TERM; \
	$(BIN)/intake run --reload --host $(HOST) --port $(PORT)

browser-deps:
	@tools/ensure-chromium

fhir-validator:
	@tools/ensure-fhir-validator

test: $(VENV)/.test-installed browser-deps fhir-validator
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Without the browser and the slow multi-process tests: the loop while editing.
test-fast: $(VENV)/.test-installed fhir-validator
	$(BIN)/python -m pytest -m "not browser and not slow" $(PYTEST_ARGS)

lint: $(VENV)/.test-installed
	$(BIN)/ruff check intake tests benchmarks tools

test-postgres: $(VENV)/.test-installed browser-deps fhir-validator
	INTAKE_TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(VENV)/.test-installed
	$(BIN)/pip install -q -e ".[postgres,test,build,bench]"
	@failed=""; for script in benchmarks/bench_*.py; do echo "== $$script"; \
		$(BIN)/python $$script || failed="$$failed $$script"; done; \
	if [ -n "$$failed" ]; then echo "missed a target:$$failed"; exit 1; fi

clean:
	rm -rf $(VENV) .pytest_cache
