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
FRESH := $(if $(filter-out 0,$(FULL)),--fresh)
# The app runs as `python -O` (cdk.json). pip writes only the plain bytecode and, where
# PYTHONDONTWRITEBYTECODE is set, nothing writes the optimized one, so every synthesis (and
# each of its workers) would compile the CDK's 100 MB of Python again (8 s): the libraries the
# app imports, and theirs (the SageMaker SDK's pandas and numpy), are compiled once, at
# install. A library that a later release no longer brings is left out, not an error (the
# CDK itself must be there).
APP_LIBRARIES := aws_cdk constructs cdk_nag jsii pydantic pydantic_core yaml cattrs attr dateutil \
	sagemaker sagemaker_core boto3 botocore s3transfer jmespath urllib3 requests idna \
	charset_normalizer pandas numpy pytz google rich pygments jsonschema referencing \
	platformdirs packaging cloudpickle importlib_metadata zipp typing_inspection \
	smdebug_rulesconfig schema tblib annotated_types typing_extensions.py six.py jsonpointer.py
COMPILE_APP_LIBRARIES = site=$$($(VENV)/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'); \
	test -d "$$site/aws_cdk"; \
	for library in $(APP_LIBRARIES); do [ ! -e "$$site/$$library" ] || echo "$$site/$$library"; done \
	| xargs -r -d '\n' $(VENV)/bin/python -O -m compileall -q -j0 > /dev/null

.PHONY: install install-synth browser validate synth audit cost schema own-org diff deploy \
	deploy-local bench lint test wheel clean

# What synthesis needs (the CDK, cdk-nag, cfn-lint, the SageMaker SDK); the tests add the
# recipe's PyTorch stack, moto, Pulumi and the linters.
install-synth: $(VENV)/.app-compiled node_modules/.installed
install: $(VENV)/.installed $(VENV)/.app-compiled node_modules/.installed

$(VENV)/.synth-installed: pyproject.toml constructs/pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e ./constructs -e .
	touch $@

$(VENV)/.installed: $(VENV)/.synth-installed
	$(VENV)/bin/python -m pip install --quiet torch==2.13.0
	$(VENV)/bin/python -m pip install --quiet -e ./constructs -e '.[dev,training,deploy,prices]'
	rm -f $(VENV)/.app-compiled
	touch $@

# Again after the Makefile changes (APP_LIBRARIES) or the libraries are installed again.
$(VENV)/.app-compiled: $(VENV)/.synth-installed Makefile
	$(COMPILE_APP_LIBRARIES)
	touch $@

$(CHECKOV_VENV)/.installed: Makefile
	python3 -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet '$(CHECKOV)'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

validate: install-synth
	blueprint validate $(ORG)

# Validate first so a bad file leaves cdk.out untouched; the nag packs run inside synth, the
# access catalog (every journey allowed, every attack denied) after cfn-lint. The catalog and
# the audit read the same assembly and write files of their own, so they run side by side
# (the audit's lines after the catalog's; either failing fails the recipe). An LOB whose
# inputs are unchanged since the last synth is read back from cdk.out, cfn-lint shapes and
# lints only the templates it has not seen, and the catalog's answers and the audit's access
# table are given again while nothing they read changed (FULL=1 builds, lints and decides
# everything again).
synth: validate
	cdk synth --quiet 2>&1 | { grep -v '^Supply a stack id' || true; }
	blueprint lint cdk.out $(FRESH)
	blueprint summary cdk.out
	blueprint bootstrap-template cdk.out
	log=$$(mktemp); blueprint audit cdk.out --org $(ORG) $(FRESH) > "$$log" 2>&1 & audit=$$!; \
	  trap 'kill $$audit 2>/dev/null || true; rm -f "$$log"; exit 130' INT TERM; \
	  blueprint access cdk.out --org $(ORG) $(FRESH) \
	    && access=0 || access=$$?; \
	  wait $$audit && audited=0 || audited=$$?; \
	  cat "$$log"; rm -f "$$log"; [ $$access -eq 0 ] && [ $$audited -eq 0 ]

# The auditor's report of an existing cdk.out: cdk.out/audit/{index.html,audit.md,audit.json}.
audit: install-synth
	blueprint audit cdk.out --org $(ORG)

cost: install-synth
	blueprint cost cdk.out

# The organization file's JSON Schema and reference, regenerated from blueprint/model/config.py
# (a test fails while the checked-in copies differ).
schema: install-synth
	blueprint schema --out docs
	python -m blueprint.assembly.access.selectors > docs/catalog-selectors.md

# Your organization only (ORG=path/to/org.yaml, no default), after checking credentials and
# the bootstrap of every target: make diff STACKS='claims-interactive-*'.
STACKS ?=
# BASELINE=path/to/the/deployed/cdk.out: deploy stops (exit 3) when the new assembly would
# delete or replace a stateful resource of it that is not retained (a retained one is listed
# as orphaned) in the stacks STACKS deploys, unless ACCEPT=path/to/reviewed.yaml lists it
# with the review's reason.
BASELINE ?=
ACCEPT ?=
own-org:
	@if [ "$(origin ORG)" = file ]; then echo "ORG is not set: diff and deploy need your organization file (ORG=path/to/org.yaml); the example's accounts are fictional" >&2; exit 2; fi
	@if [ -z "$(STACKS)" ]; then echo "STACKS is not set: name the stacks, e.g. STACKS='claims-interactive-*'" >&2; exit 2; fi

diff: own-org synth
	blueprint preflight --org $(ORG) $(STACKS)
	cdk diff --app cdk.out $(STACKS)

deploy: own-org synth
	$(if $(BASELINE),blueprint audit cdk.out --org $(ORG) --no-lint --baseline $(BASELINE) \
		$(if $(STACKS),--stacks '$(STACKS)') $(if $(ACCEPT),--accept $(ACCEPT)))
	blueprint preflight --org $(ORG) $(STACKS)
	cdk deploy --app cdk.out $(STACKS)

# Every stack of the organization into moto (in-process, 127.0.0.1), then the smoke checks.
# The emulator (moto) is a development dependency: installed first.
deploy-local: install synth
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

# The independent IAM simulator the access evaluator is compared with (AGPL-3.0-or-later): a
# test-time tool in a folder of its own, never part of what the platform ships.
SIMULATOR := tests/simulator
$(SIMULATOR)/node_modules/.installed: $(SIMULATOR)/package.json $(SIMULATOR)/package-lock.json node_modules/.installed
	npm ci --prefix $(SIMULATOR) --no-audit --no-fund --loglevel=error
	touch $@

# Test modules run in parallel, each whole on one worker so its fixtures synthesize once.
PYTEST_WORKERS ?= 2
test: lint browser $(CHECKOV_VENV)/.installed $(SIMULATOR)/node_modules/.installed
	HF_HUB_OFFLINE=1 CHECKOV=$(CURDIR)/$(CHECKOV_VENV)/bin/checkov \
		pytest -n $(PYTEST_WORKERS) --dist loadfile

# The construct library as LOB teams install it: dist/genai_constructs-<version>-py3-none-any.whl
# Only what building a pure-Python wheel needs (no PyTorch, no test tools).
wheel: install-synth
	$(VENV)/bin/python -m pip install --quiet 'build>=1.2,<2'
	python -m build --wheel --no-isolation --outdir dist constructs

clean:
	rm -rf cdk.out .pytest_cache .mypy_cache dist
