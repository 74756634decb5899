# Taihu — developer commands. `make demo` and `make test` work on a fresh clone.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
VENDOR := src/taihu/web/static/vendor
PG_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/test
STAMP := $(VENV)/.installed

.PHONY: help setup assets demo test test-sqlite test-postgres browser-test fuzz lint types contracts ci bench messages clean

help:  ## List the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	# The Sparkplug interop tests' third-party edge node; it declares paho-mqtt<2, which the edge
	# gateway's paho 2 excludes, and runs on paho 2 (tests/devices/test_sparkplug_interop.py).
	$(PY) -m pip install --quiet --no-deps 'pysparkplug>=0.6,<0.7'
	touch $(STAMP)

$(VENDOR)/.stamp: package.json package-lock.json $(wildcard src/taihu/web/assets/*)
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p $(VENDOR)/enketo
	cp node_modules/echarts/dist/echarts.min.js node_modules/htmx.org/dist/htmx.min.js \
	   node_modules/swagger-ui-dist/swagger-ui-bundle.js node_modules/swagger-ui-dist/swagger-ui.css \
	   $(VENDOR)/
	# Web forms: enketo-core + enketo-transformer (web build) + our starter, Enketo's theme.
	node src/taihu/web/assets/build.mjs $(VENDOR)/enketo
	touch $@

setup: $(STAMP) assets  ## Python environment and front-end assets

assets: $(VENDOR)/.stamp  ## Copy echarts, htmx, swagger-ui from npm; build the Enketo web form bundle

demo: setup  ## Fresh demo database and the platform on http://127.0.0.1:8000
	$(BIN)/taihu demo

test: setup  ## The whole suite on SQLite (the fuzzer apart: `make fuzz`)
	$(BIN)/pytest -m "not browser and not fuzz"

test-sqlite: setup  ## The whole suite on SQLite, with the slowest tests listed (CI)
	$(BIN)/pytest -m "not browser and not fuzz" --durations=15

test-postgres: setup  ## The whole suite on PostgreSQL (fails when it is unreachable)
	TAIHU_TEST_POSTGRES_URL=$(PG_URL) $(BIN)/pytest -m "not browser and not fuzz" -p no:cacheprovider --durations=15

fuzz: setup  ## Schemathesis over every API operation, as admin and enterprise user (SQLite)
	$(BIN)/pytest -m fuzz -p no:cacheprovider

browser-test: setup  ## The console in headless Chromium (crawler, wall, monitor, templates, forms)
	$(BIN)/pytest -m browser

lint: setup  ## ruff
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

types: setup  ## mypy --strict
	$(BIN)/mypy

contracts: setup  ## import-linter layering
	$(BIN)/lint-imports

# The two databases' suites share nothing (each PostgreSQL run makes its own database, the
# Sparkplug tests their own groups on the shared broker), so CI runs them side by side, then the
# fuzzer beside the browser tests; --output-sync keeps each one's log in one piece.
ci: lint types contracts  ## Everything CI runs
	$(MAKE) --no-print-directory --output-sync=target -j2 test-sqlite test-postgres
	$(MAKE) --no-print-directory --output-sync=target -j2 fuzz browser-test

bench: setup  ## Benchmarks (figures in bench/results/)
	@ls bench/*.py >/dev/null 2>&1 && for b in bench/*.py; do $(PY) $$b || exit 1; done || echo "no benchmarks yet"

messages: setup  ## Extract UI strings and update the zh_CN catalog
	$(BIN)/pybabel extract -F babel.cfg -k gettext_ -k ngettext_:1,2 -k N_ --no-location --sort-output --project Taihu -o src/taihu/web/locale/messages.pot src/taihu
	$(BIN)/pybabel update -i src/taihu/web/locale/messages.pot -d src/taihu/web/locale -l zh_CN --no-fuzzy-matching

clean:  ## Remove local state and build products
	rm -rf var $(VENDOR) node_modules .pytest_cache .mypy_cache .ruff_cache
