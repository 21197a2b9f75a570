# The two set-up commands: `make run` and `make test`. Everything else is a helper of theirs.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
SCALE ?= 1
SEED ?= 1
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_WORKERS ?= auto

.PHONY: run serve test lint typecheck check-migrations pytest browser-deps venv messages clean test-pg assets

$(BIN)/.installed: pyproject.toml
	@set -e; py=$$(scripts/find-python); \
	if [ ! -x $(PY) ]; then echo "Creating $(VENV) with $$py"; "$$py" -m venv $(VENV); fi
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $@

venv: $(BIN)/.installed

# Front-end packages from npm (ECharts for the statistics charts), served by Django from
# node_modules via STATICFILES_DIRS: offline, never a CDN, never copied into the repo.
assets: node_modules/echarts/dist/echarts.min.js

node_modules/echarts/dist/echarts.min.js: package.json
	@if command -v npm >/dev/null; then npm install --no-audit --no-fund --silent; \
	else echo "npm is missing: the statistics charts will not render"; fi
	@touch $@ 2>/dev/null || true

var:
	@mkdir -p var

# Debian's chromium for the browser tests (Playwright's own download does not work here).
browser-deps:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	  echo "Installing Debian's chromium for the browser tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk) >/dev/null \
	  || echo "chromium could not be installed: browser tests will be skipped"; \
	else echo "chromium is missing and cannot be installed without root: browser tests will be skipped"; fi

run: venv var assets
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo --scale $(SCALE) --seed $(SEED)
	DEBUG=true $(PY) manage.py runserver $(HOST):$(PORT)

# Production-like serving: gunicorn (WSGI), 2 sync workers per core.
serve: venv var assets
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(BIN)/gunicorn config.wsgi --bind $(HOST):$(PORT) --workers 4 --access-logfile -

lint: venv
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/lint-imports

typecheck: venv
	$(BIN)/mypy .

check-migrations: venv var
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) manage.py check

# Everything but the browser tests in parallel, then the browser tests by name (so a log shows
# that they really ran in Chromium, or why they were skipped).
pytest: venv var browser-deps assets
	$(BIN)/pytest -n $(PYTEST_WORKERS) -m "not browser" -rs $(PYTEST_ARGS)
	$(BIN)/pytest -m browser -v -rs $(PYTEST_ARGS)

test: lint typecheck check-migrations pytest

# The same suite against PostgreSQL (DATABASE_URL must point at a database we may create).
test-pg: venv var browser-deps
	@case "$$DATABASE_URL" in postgres*) ;; *) echo "set DATABASE_URL=postgres://..."; exit 2;; esac
	$(MAKE) --no-print-directory pytest

messages: venv
	$(PY) manage.py makemessages -l en --ignore '.venv/*' --ignore 'var/*'
	$(PY) manage.py compilemessages --ignore '.venv/*'

clean:
	rm -rf var
