# Punk ML — every target sets itself up on a fresh machine (Python, pip, Node/npm, apt).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: setup run test lint format bench clean browser mutate
.PHONY: lambda-package deploy destroy checkov checkov-venv

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
test: setup lint browser checkov-venv
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## browser: Debian's headless chromium for the web page's browser test, installed only if missing
browser: SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
browser:
	test -x /usr/bin/chromium || { $(SUDO) apt-get update && $(SUDO) apt-get install -y chromium; }

## lint: ruff (lint + format check), mypy and the import layers (import-linter, pyproject.toml)
lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

format: $(STAMP)
	$(BIN)/ruff check --fix src tests benchmarks
	$(BIN)/ruff format src tests benchmarks

## bench: every benchmark; figures are recorded in docs/benchmarks.md
bench: setup browser
	$(BIN)/python benchmarks/api_throughput.py
	$(BIN)/python benchmarks/pipeline_throughput.py
	$(BIN)/python benchmarks/report_open.py
	$(BIN)/python benchmarks/run_twice.py
	$(BIN)/python benchmarks/model.py
	$(BIN)/python benchmarks/recipes.py

## mutate: mutation testing of the critical modules, one at a time at low priority (not in make test;
## docs/testing.md has the kill rates, the survivors judged equivalent and what is excluded)
MUTATE_MODULES ?= punkml.api.ratelimit punkml.api.query punkml.ml.registry punkml.ml.models \
                  punkml.pipeline.stream punkml.pipeline.delivery
MUTATE_JOBS    ?= 2
# mutmut keeps which test reaches which function in mutants/mutmut-stats.json and records only
# new tests after that: a function added or rewritten since would be run against too few tests
# (or none, "no tests"). Each `make mutate` records the map again, once, before its first module.
mutate: $(STAMP)
	mkdir -p mutants
	rm -f mutants/mutmut-stats.json
	for module in $(MUTATE_MODULES); do \
	  echo "mutating $$module (log: mutants/$$module.log)"; \
	  nice -n 19 $(BIN)/mutmut run --max-children $(MUTATE_JOBS) "$$module.*" \
	    > mutants/$$module.log 2>&1 || { tail -n 20 mutants/$$module.log; exit 1; }; \
	done
	$(BIN)/mutmut results --all true 2>/dev/null | awk -F': ' ' \
	  { module = $$1; sub(/^ +/, "", module); sub(/\.x[^.]*$$/, "", module); \
	    total[module]++; if ($$2 ~ /^killed|^timeout/) killed[module]++; \
	    if ($$2 ~ /^survived|^no tests|^suspicious/) print "  survived: " $$1 } \
	  END { for (m in total) { printf "%-28s %4d/%-4d killed (%.1f %%)\n", m, killed[m], total[m], \
	        100 * killed[m] / total[m]; all += total[m]; dead += killed[m] } \
	        printf "%-28s %4d/%-4d killed (%.1f %%)\n", "all", dead, all, 100 * dead / all }'

## checkov-venv: checkov in its own virtualenv (its pinned dependencies conflict with ours)
CHECKOV_VENV    := .venv-checkov
CHECKOV_VERSION := 3.3.30
CHECKOV         := $(CHECKOV_VENV)/bin/checkov
$(CHECKOV):
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check checkov==$(CHECKOV_VERSION)
checkov-venv: $(CHECKOV)

## checkov: static security checks of terraform/ (no failed check; every skip is justified inline)
checkov: $(CHECKOV)
	$(CHECKOV) -d terraform --framework terraform --compact --quiet --skip-download

## lambda-package: build/lambda/{collector,processor}.zip from src/punkml for the Lambda runtime
lambda-package: $(STAMP)
	$(BIN)/punkml aws package --out build/lambda

## deploy: terraform apply of terraform/ (needs terraform, AWS credentials, TF_VAR_punk_api_base_url)
deploy: lambda-package
	$(BIN)/punkml aws deploy

## destroy: terraform destroy of what deploy created
destroy: $(STAMP)
	$(BIN)/punkml aws destroy

clean:
	rm -rf $(VENV) .punkml .pytest_cache .mypy_cache .ruff_cache
	rm -rf $(CHECKOV_VENV) build/lambda
