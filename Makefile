# omnidesk — two commands: `make run` and `make test`.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_ADMIN_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/test
REDIS_TEST_URL ?= redis://127.0.0.1:6379/15

WIDGET_STAMP := widget/node_modules/.installed
WIDGET_JS := omnidesk/channels/webchat/static/widget.js

.PHONY: run test install lint typecheck contracts test-sqlite test-postgres initial-migration clean \
	widget widget-check

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The website chat widget (widget/, TypeScript): `npm ci` when node_modules is missing or the
# lock changed, then the bundle omnidesk serves at /widget.js.
$(WIDGET_STAMP): widget/package-lock.json widget/package.json
	cd widget && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(WIDGET_JS): $(WIDGET_STAMP) widget/tsconfig.json widget/scripts/build.mjs $(wildcard widget/src/*.ts)
	cd widget && npm run --silent build

widget: $(WIDGET_JS)

# Its type check, unit tests and size budget (at most 50 KB gzipped).
widget-check: widget
	cd widget && npm run --silent typecheck && npm test --silent && npm run --silent size

run: $(STAMP) widget
	$(BIN)/omnidesk serve

lint: $(STAMP)
	$(BIN)/ruff check omnidesk tests
	$(BIN)/ruff format --check omnidesk tests

typecheck: $(STAMP)
	$(BIN)/mypy

contracts: $(STAMP)
	$(BIN)/lint-imports

# The embedded set-up (SQLite, in-memory broker), then the scale-out one (PostgreSQL, Redis).
test-sqlite: $(STAMP) widget
	OMNIDESK_TEST_REDIS_URL=$(REDIS_TEST_URL) $(BIN)/pytest -q

test-postgres: $(STAMP) widget
	OMNIDESK_TEST_DATABASE_URL=$(PG_ADMIN_URL) OMNIDESK_TEST_REDIS_URL=$(REDIS_TEST_URL) \
		OMNIDESK_TEST_BROKER=redis $(BIN)/pytest -q

test: lint typecheck contracts widget-check test-sqlite test-postgres

# Regenerates the initial schema migration from the models (before the first release only;
# later migrations are hand-checked autogenerations on top of it).
initial-migration: $(STAMP)
	$(BIN)/python -m omnidesk.kit.migrate --regenerate-initial
	$(BIN)/ruff check --fix --unsafe-fixes --quiet omnidesk/migrations/versions
	$(BIN)/ruff format omnidesk/migrations/versions

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache widget/node_modules $(WIDGET_JS)
