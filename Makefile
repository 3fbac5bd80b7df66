# Everything installs on first use: only Python 3.11+ is needed on the machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SAM_VENV := .venv-sam
SAM := $(SAM_VENV)/bin/sam
PIP_FLAGS := --quiet --disable-pip-version-check

.PHONY: dev test lint validate build bench contract deploy clean

# Every venv is made and filled by uv (pinned, with its hashes, in infra/uv-requirements.lock, and
# installed with pip into a venv of its own, .venv-uv): it installs a lock in seconds where pip takes
# a minute. It never downloads a Python (the machine's $(PYTHON) is used).
UV_VENV := .venv-uv
UV := $(UV_VENV)/bin/uv
UV_LOCK := infra/uv-requirements.lock
export UV_PYTHON_DOWNLOADS := never
# The dev environment's modules are compiled to bytecode as they install (on every core: the test
# workers all start at once), and everything run from here writes the bytecode of what it imports
# (the package, the tests as pytest rewrites them, the tools' modules on their first run),
# whatever PYTHONDONTWRITEBYTECODE says outside: otherwise every process of a test run (each
# worker, each local stack's servers, each tool) compiles all it imports again.
UV_INSTALL = $(UV) pip install --quiet --require-hashes --python
UV_INSTALL_COMPILED = $(UV) pip install --quiet --require-hashes --compile-bytecode --python
export PYTHONDONTWRITEBYTECODE :=

$(UV): $(UV_LOCK)
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required" if sys.version_info < (3, 11) else 0)'
	test -x $(UV_VENV)/bin/python || $(PYTHON) -m venv $(UV_VENV)
	$(UV_VENV)/bin/python -m pip install $(PIP_FLAGS) --require-hashes --no-deps -r $(UV_LOCK)
	touch $@

# The dev environment installs from requirements-dev.lock (pyproject's dependencies and its dev and
# local extras, every package pinned with its hashes), then the project itself; `make lock` writes
# the lock files anew.
DEV_LOCK := requirements-dev.lock
BENCH_LOCK := requirements-bench.lock

$(BIN)/.installed: pyproject.toml $(DEV_LOCK) $(UV)
	test -x $(BIN)/python || $(UV) venv --quiet --python $(PYTHON) $(VENV)
	$(UV_INSTALL_COMPILED) $(BIN)/python -r $(DEV_LOCK)
	$(UV) pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $@

# aws-sam-cli pins its own dependency versions (cfn-lint among them), so it lives in a venv of its own;
# the linters and tools that are no dependency of the package (actionlint, checkov, uv) share another.
# Both install from their locks in infra/, with hashes (a lock names every package, hence --no-deps).
SAM_LOCK := infra/sam-requirements.lock
TOOLS_LOCK := infra/tools-requirements.lock
TOOLS_VENV := .venv-tools
ACTIONLINT := $(TOOLS_VENV)/bin/actionlint
WORKFLOWS := $(wildcard .github/workflows/*.yml .github/workflows/*.yaml)

$(SAM_VENV)/.installed: $(SAM_LOCK) $(UV)
	test -x $(SAM_VENV)/bin/python || $(UV) venv --quiet --python $(PYTHON) $(SAM_VENV)
	$(UV_INSTALL) $(SAM_VENV)/bin/python --no-deps -r $(SAM_LOCK)
	touch $@

$(TOOLS_VENV)/.installed: $(TOOLS_LOCK) $(UV)
	test -x $(TOOLS_VENV)/bin/python || $(UV) venv --quiet --python $(PYTHON) $(TOOLS_VENV)
	$(UV_INSTALL) $(TOOLS_VENV)/bin/python -r $(TOOLS_LOCK)
	touch $@

# The GitHub Actions workflows; their run: scripts are checked too where shellcheck is installed.
.PHONY: actionlint
actionlint: $(TOOLS_VENV)/.installed
	$(ACTIONLINT) $(WORKFLOWS)

# The local stack keeps its data in .proactive/data across restarts; RESET=1 starts empty.
dev: $(BIN)/.installed
	$(BIN)/proactive dev $(if $(RESET),--reset)

# Test files are shared out among WORKERS processes (a file's tests stay together: they share
# fixtures and servers). Files go out in the order tests/conftest.py gives them, the longest waits
# first (real minutes of the local stack, a whole sam build): those hold a worker each while
# hardly using a core, so more workers than cores pays; each worker also collects the whole suite,
# so too many costs more than it gains (on two cores, 4 did as well as 6 with less work).
WORKERS ?= 4
test: $(BIN)/.installed $(SAM_VENV)/.installed $(TOOLS_VENV)/.installed browser
	SAM_CLI=$(abspath $(SAM)) CFN_LINT=$(abspath $(SAM_VENV)/bin/cfn-lint) ACTIONLINT=$(abspath $(ACTIONLINT)) \
		$(BIN)/python -m pytest -n $(WORKERS) --dist loadfile --no-loadscope-reorder

# The console's browser tests drive an installed Chromium (Playwright never downloads one): Debian's
# chromium package, installed here when no Chromium or Chrome is found and make runs as root with
# apt-get; otherwise the tests name what to install (or PROACTIVE_CHROMIUM names one).
.PHONY: browser
browser:
	@if [ -z "$$PROACTIVE_CHROMIUM" ] && ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null \
		&& ! command -v google-chrome >/dev/null; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "Installing Chromium for the console's browser tests (apt-get install chromium)"; \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null \
				|| { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; }; \
		else \
			echo "No Chromium or Chrome found: install one (Debian: apt-get install chromium) or set PROACTIVE_CHROMIUM" >&2; \
			exit 1; \
		fi; \
	fi

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy layers/proactive/proactive functions

# The API against its OpenAPI document, with many more generated requests than `make test` sends.
contract: $(BIN)/.installed
	CONTRACT_EXAMPLES=$${CONTRACT_EXAMPLES:-200} $(BIN)/python -m pytest -q tests/integration/test_api_contract.py

# Coverage-guided fuzzing (atheris) of webhook signatures and bodies, monitor conditions and cron
# in time zones: each target for FUZZ_SECONDS; crash inputs are saved in build/fuzz/crashes/.
FUZZ_SECONDS ?= 60
.PHONY: fuzz
fuzz: $(BIN)/.installed
	$(BIN)/python -m tests.fuzz --seconds $(FUZZ_SECONDS)

# A deploy rehearsal that needs no account: the linters, then the template as CloudFormation gets it
# (expanded by the SAM translator) checked for dependency cycles and by checkov, whose findings are
# each fixed or skipped with a reason in the template's Metadata (offline: --skip-download); then
# the CI workflows.
EXPANDED := build/template.expanded.json
validate: $(SAM_VENV)/.installed $(TOOLS_VENV)/.installed
	$(SAM_VENV)/bin/cfn-lint template.yaml
	SAM_CLI_TELEMETRY=0 $(SAM) validate --lint --region us-east-1
	$(SAM_VENV)/bin/python infra/template_check.py --template template.yaml --expanded $(EXPANDED)
	$(TOOLS_VENV)/bin/checkov --quiet --compact --skip-download --framework cloudformation --file $(EXPANDED)
	$(ACTIONLINT) $(WORKFLOWS)

build: $(SAM_VENV)/.installed $(UV)
	SAM_CLI_TELEMETRY=0 $(SAM) build

$(BIN)/.bench-installed: $(BIN)/.installed $(BENCH_LOCK)
	$(UV_INSTALL_COMPILED) $(BIN)/python -r $(BENCH_LOCK)
	touch $@

# Every lock file, from pyproject.toml, infra/*.in and the layers' requirements.in: the tools' venvs
# and the dev environment's for any platform (Python 3.11+), the bench extra's on top of it (the
# same versions), and each Lambda layer's for the runtime (python3.13, arm64). Versions already locked stay unless UPGRADE=1.
UV_COMPILE = $(UV) pip compile --quiet --generate-hashes --custom-compile-command 'make lock' $(if $(UPGRADE),--upgrade)

.PHONY: lock
lock: $(UV)
	$(UV_COMPILE) --universal --python-version 3.11 infra/uv-requirements.in -o $(UV_LOCK)
	$(UV_COMPILE) --universal --python-version 3.11 infra/sam-requirements.in -o $(SAM_LOCK)
	$(UV_COMPILE) --universal --python-version 3.11 infra/tools-requirements.in -o $(TOOLS_LOCK)
	$(UV_COMPILE) --universal --python-version 3.11 --extra dev pyproject.toml -o $(DEV_LOCK)
	$(UV_COMPILE) --universal --python-version 3.11 --extra dev --extra bench -c $(DEV_LOCK) \
		pyproject.toml -o $(BENCH_LOCK)
	$(MAKE) -C layers/full lock UV=$(abspath $(UV)) LOCK_FLAGS='$(if $(UPGRADE),--upgrade)'
	$(MAKE) -C layers/light lock UV=$(abspath $(UV)) LOCK_FLAGS='$(if $(UPGRADE),--upgrade)'

bench: $(BIN)/.bench-installed
	$(BIN)/python -m tests.bench

# STAGE picks samconfig.toml's section (dev or prod); PARAMETERS adds parameters, Stage kept.
STAGE ?= dev
deploy: build
	SAM_CLI_TELEMETRY=0 $(SAM) deploy --config-env $(STAGE) \
		$(if $(PARAMETERS),--parameter-overrides Stage=$(STAGE) $(PARAMETERS))

# A short check of a deployed stack (or of `make dev`): health, then a builtin agent created, run
# and deleted. The token reaches the check through the environment, so make never echoes it.
ifneq ($(filter smoke,$(MAKECMDGOALS)),)
ifeq ($(and $(URL),$(TOKEN)),)
$(error usage: make smoke URL=<the stack's ApiUrl> TOKEN=<bearer token> [WORKSPACE=<id>] [SMOKE_TIMEOUT=<seconds>])
endif
endif

.PHONY: smoke
smoke: $(BIN)/.installed
	PROACTIVE_TOKEN="$$TOKEN" $(BIN)/python -m proactive.dev.smoke --url '$(URL)' \
		$(if $(WORKSPACE),--workspace '$(WORKSPACE)') $(if $(SMOKE_TIMEOUT),--timeout '$(SMOKE_TIMEOUT)')

clean:
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache
