# GovData — the two commands: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
VENDOR := src/govdata/web/static/vendor
SIZE ?= small

.PHONY: services demo test test-fast bench bench-jobs bench-catalog bench-collect bench-data-api bench-ledger bench-linkage bench-quality bench-opendata lint assets clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

$(VENDOR)/.copied: node_modules/.package-lock.json
	mkdir -p $(VENDOR)
	cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/htmx.min.js
	cp node_modules/echarts/dist/echarts.min.js $(VENDOR)/echarts.min.js
	touch $@

assets: $(VENDOR)/.copied

demo: $(STAMP) assets
	$(BIN)/govdata demo --size $(SIZE)

# Two pytest-xdist workers (the CI machine has two cores), whole test files to each, longest
# first (tests/xdist_schedule.py); TEST_WORKERS=0 runs the suite in one process.
TEST_WORKERS ?= 2
test: $(STAMP) assets
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile

bench: bench-jobs bench-catalog bench-collect bench-data-api bench-ledger bench-quality bench-linkage bench-opendata

bench-jobs: $(STAMP)
	$(BIN)/python bench/jobs_throughput.py

bench-catalog: $(STAMP)
	$(BIN)/python bench/catalog_search.py

# dlt, the peer it measures against, is only in the `bench` extra.
bench-collect: $(STAMP)
	$(BIN)/python -m pip install -q -e '.[dev,bench]'
	$(BIN)/python bench/collect.py --json data/bench-collect.json

# Data-service API key lookups against a bare endpoint, and subscription lag (docs/benchmarks.md).
bench-data-api: $(STAMP)
	$(BIN)/python bench/data_api.py --json data/bench-data-api.json

# Audit ledger: sealing and verification against raw SM3, proofs at 1M and 10M leaves.
bench-ledger: $(STAMP)
	$(BIN)/python bench/ledger.py --json data/bench-ledger.json

# Population base library from three sources of 1M persons: precision, recall, F1, time.
bench-linkage: $(STAMP)
	$(BIN)/python bench/linkage.py --json data/bench-linkage.json

# Quality runs against Great Expectations and Soda Core, which do not install next to the
# platform's pinned packages: they get their own venv, used only by bench/quality_peers.py.
.venv-peers/.installed: bench/quality-peers.txt
	test -x .venv-peers/bin/python || $(PYTHON) -m venv .venv-peers
	.venv-peers/bin/python -m pip install -q -r bench/quality-peers.txt
	touch $@

bench-quality: $(STAMP) .venv-peers/.installed
	$(BIN)/python -m pip install -q -e '.[dev,bench]'
	$(BIN)/python bench/quality.py --json data/bench-quality.json

# Configure the local MariaDB (row binary log) and PostgreSQL (wal_level=logical) for
# change-data-capture and (re)start them; needs root. CI runs it before the tests.
services:
	bash .ci/services

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

clean:
	rm -rf $(VENV) node_modules $(VENDOR) data

# Open data: CKAN package_search at 50k open datasets against the platform's own search and
# the raw index query; a 1M-row CSV download against reading the lake table into Arrow.
bench-opendata: $(STAMP)
	$(BIN)/python bench/opendata.py --json data/bench-opendata.json
