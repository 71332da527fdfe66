# Punk ML — every target sets itself up on a fresh machine (Python, pip, Node/npm, apt).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: setup run test lint format bench clean browser

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev]'
	touch $(STAMP)

## setup: create .venv, install the pinned dependencies, fetch and verify the dataset
setup: $(STAMP)
	$(BIN)/punkml data fetch

## run: the whole local pipeline end to end on the embedded default
run: setup
	$(BIN)/punkml run

## test: lint, type-check and the full test suite
test: setup lint browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## browser: Debian's headless chromium for the web page's browser test, installed only if missing
browser: SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
browser:
	test -x /usr/bin/chromium || { $(SUDO) apt-get update && $(SUDO) apt-get install -y chromium; }

## lint: ruff (lint + format check) and mypy
lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix src tests benchmarks
	$(BIN)/ruff format src tests benchmarks

## bench: every benchmark; figures are recorded in docs/benchmarks.md
bench: setup
	$(BIN)/python benchmarks/api_throughput.py

clean:
	rm -rf $(VENV) .punkml .pytest_cache .mypy_cache .ruff_cache
