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
FRONTEND_STAMP := frontend/node_modules/.installed
FRONTEND_SCHEMA := frontend/src/api/schema.d.ts
FRONTEND_INDEX := omnidesk/web/static/app/index.html

.PHONY: run test install lint typecheck contracts test-sqlite test-postgres initial-migration clean \
	widget widget-check frontend frontend-check

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

# The agent desktop (frontend/, Vue 3 + TypeScript + Vite), served at /app: its API types
# are generated from the app's OpenAPI schema, then Vite builds it into the package.
$(FRONTEND_STAMP): frontend/package-lock.json frontend/package.json
	cd frontend && npm ci --no-audit --no-fund --loglevel=error
	touch $@

frontend/openapi.json: $(STAMP) $(shell find omnidesk -name '*.py')
	$(BIN)/python -c 'import json; from omnidesk.app import create_app; \
		print(json.dumps(create_app().openapi(), indent=1))' > $@.tmp
	mv $@.tmp $@

$(FRONTEND_SCHEMA): frontend/openapi.json $(FRONTEND_STAMP)
	cd frontend && npm run --silent types

$(FRONTEND_INDEX): $(FRONTEND_SCHEMA) frontend/index.html frontend/vite.config.ts \
		frontend/tsconfig.json frontend/scripts/size.mjs $(shell find frontend/src -type f)
	cd frontend && npm run --silent build

frontend: $(FRONTEND_INDEX)

# Its type check (vue-tsc) and unit tests (vitest); the build checks the size budget.
frontend-check: frontend
	cd frontend && npm run --silent typecheck && npm test --silent

run: $(STAMP) widget frontend
	$(BIN)/omnidesk serve

lint: $(STAMP)
	$(BIN)/ruff check omnidesk tests
	$(BIN)/ruff format --check omnidesk tests

typecheck: $(STAMP)
	$(BIN)/mypy

contracts: $(STAMP)
	$(BIN)/lint-imports

# The embedded set-up (SQLite, in-memory broker), then the scale-out one (PostgreSQL, Redis).
test-sqlite: $(STAMP) widget frontend
	OMNIDESK_TEST_REDIS_URL=$(REDIS_TEST_URL) $(BIN)/pytest -q

test-postgres: $(STAMP) widget frontend
	OMNIDESK_TEST_DATABASE_URL=$(PG_ADMIN_URL) OMNIDESK_TEST_REDIS_URL=$(REDIS_TEST_URL) \
		OMNIDESK_TEST_BROKER=redis $(BIN)/pytest -q

# The two set-ups run side by side (one per core): each has its own database, its own Redis
# key prefix and free ports, and make prints each one's output in one piece when it ends.
test: lint typecheck contracts widget-check frontend-check
	$(MAKE) --no-print-directory -j2 --output-sync=target test-sqlite test-postgres

# Regenerates the initial schema migration from the models (before the first release only;
# later migrations are hand-checked autogenerations on top of it).
initial-migration: $(STAMP)
	$(BIN)/python -m omnidesk.kit.migrate --regenerate-initial
	$(BIN)/ruff check --fix --unsafe-fixes --quiet omnidesk/migrations/versions
	$(BIN)/ruff format omnidesk/migrations/versions

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache widget/node_modules $(WIDGET_JS) \
		frontend/node_modules frontend/openapi.json $(FRONTEND_SCHEMA) omnidesk/web/static/app
