# Each target installs what it needs. Node 22 and the pinned CDK CLI come from node_modules,
# Python tools from .venv; both are put first on PATH for every recipe.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
VENV := .venv
# checkov pins boto3 and packaging below what the SageMaker SDK and pytest need, so the
# auditors' scanner gets a virtual environment of its own (make test only).
CHECKOV_VENV := .venv-checkov
CHECKOV := checkov==3.3.30
export PATH := $(CURDIR)/node_modules/.bin:$(CURDIR)/$(VENV)/bin:$(PATH)
ORG ?= environments/example.yaml
export ORG

.PHONY: install browser validate synth audit cost deploy-local bench lint test clean

install: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml constructs/pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet torch==2.13.0
	$(VENV)/bin/python -m pip install --quiet -e ./constructs -e '.[dev,training,deploy]'
	touch $@

$(CHECKOV_VENV)/.installed: Makefile
	python3 -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet '$(CHECKOV)'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

validate: install
	blueprint validate $(ORG)

# Validate first so a bad file leaves cdk.out untouched; the nag packs run inside synth, the
# access catalog (every journey allowed, every attack denied) right after.
synth: validate
	rm -rf cdk.out
	cdk synth --quiet
	blueprint lint cdk.out
	blueprint summary cdk.out
	blueprint access cdk.out --org $(ORG)
	blueprint bootstrap-template cdk.out
	blueprint audit cdk.out --org $(ORG)

# The auditor's report of an existing cdk.out: cdk.out/audit/{index.html,audit.md,audit.json}.
audit: install
	blueprint audit cdk.out --org $(ORG)

cost: install
	blueprint cost cdk.out

# Every stack of the organization into moto (in-process, 127.0.0.1), then the smoke checks.
deploy-local: synth
	blueprint deploy --local cdk.out

lint: install
	ruff check .
	ruff format --check .
	mypy

# Synth speed, org size and deploy depth on this machine -> docs/BENCHMARKS.md (tens of
# minutes; not part of make test). BENCH_ARGS="--sizes example,10 --runs 1" for a quick look.
bench: install
	python -m bench.run $(BENCH_ARGS)

# Debian's Chromium renders the audit report in a test (needs root, as on CI, or sudo).
browser:
	@command -v chromium >/dev/null || (apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

test: lint browser $(CHECKOV_VENV)/.installed
	HF_HUB_OFFLINE=1 CHECKOV=$(CURDIR)/$(CHECKOV_VENV)/bin/checkov pytest

clean:
	rm -rf cdk.out .pytest_cache .mypy_cache
