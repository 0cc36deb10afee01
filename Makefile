# facetasks: `make run` serves the whole service, `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml client/pyproject.toml requirements.lock | cksum | cut -d' ' -f1)
PIP := $(BIN)/python -m pip --disable-pip-version-check

.PHONY: install browser run test lint bench clean env compose-smoke audit lock

install: $(STAMP)

## The runtime dependencies exactly as requirements.lock pins them (hashes checked), then the development
## tools (the root project installs dependencies only: the service runs from this tree), then the command line
## (client/, its own distribution: .venv/bin/facetasks).
$(STAMP): pyproject.toml client/pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet --require-hashes -r requirements.lock
	$(PIP) install --quiet '.[dev]'
	$(PIP) install --quiet -e ./client
	rm -f $(VENV)/.installed-*
	touch $@

## The API, the workers (restarted if they die) and, first, the migrations; Ctrl-C stops all.
run: install
	$(BIN)/python -m service.run

## Debian's Chromium and its driver for tests/test_browser.py (installed once, as root or with sudo).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			chromium chromium-driver fonts-dejavu-core; \
	fi

## The whole suite on the local PostgreSQL and RabbitMQ (own database and vhost).
test: install browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## The benchmark on its own database and vhost (facetasks_bench); QUICK=1 for the quick mode.
## Writes bench/results/<timestamp>.json and .png and prints a table. BENCH_ARGS passes more options.
BENCH_STAMP := $(VENV)/.bench-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

bench: install $(BENCH_STAMP)
	$(BIN)/python -m bench $(if $(filter 1 yes true,$(QUICK)),--quick) $(BENCH_ARGS)

$(BENCH_STAMP): pyproject.toml
	$(BIN)/python -m pip install --quiet --disable-pip-version-check '.[bench]'
	rm -f $(VENV)/.bench-*
	touch $@

## .env for docker compose, from .env.example with random passwords (never overwrites an existing one).
env:
	$(PYTHON) -m service.envfile .

## The compose stack for real where a Docker engine and the pinned base images are present: up, one task of
## the committed fixtures, the broker password changed and up again, down. Says why and skips otherwise.
compose-smoke: install
	$(BIN)/python -m tests.compose_smoke

## requirements.lock anew from pyproject.toml's runtime dependencies, for CPython 3.11 on Linux x86_64 (the
## image's); run it after changing a dependency (tests/test_lock.py fails until the two agree).
lock: install
	$(BIN)/pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe --no-emit-index-url \
		--no-emit-find-links --output-file requirements.lock pyproject.toml

## Known vulnerabilities in the locked runtime dependencies (pip-audit; needs PyPI's JSON API or OSV reachable).
audit: install
	$(BIN)/pip-audit --progress-spinner off --disable-pip --require-hashes -r requirements.lock

## ruff, then the import contracts of pyproject.toml's [tool.importlinter]: the layers only point down.
lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) data .pytest_cache .import_linter_cache build
