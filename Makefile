# Everything installs on first use: only Python 3.11+ is needed on the machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SAM_VENV := .venv-sam
SAM := $(SAM_VENV)/bin/sam
PIP_FLAGS := --quiet --disable-pip-version-check
SAM_CLI_VERSION := 1.170.0

.PHONY: dev test lint validate build bench contract deploy clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required" if sys.version_info < (3, 11) else 0)'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install $(PIP_FLAGS) --upgrade pip
	$(BIN)/python -m pip install $(PIP_FLAGS) -e '.[dev]'
	touch $@

# aws-sam-cli pins its own dependency versions (cfn-lint among them), so it lives in a venv of its own.
$(SAM_VENV)/.installed:
	test -x $(SAM_VENV)/bin/python || $(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install $(PIP_FLAGS) --upgrade pip
	$(SAM_VENV)/bin/python -m pip install $(PIP_FLAGS) aws-sam-cli==$(SAM_CLI_VERSION)
	touch $@

# The local stack keeps its data in .proactive/data across restarts; RESET=1 starts empty.
dev: $(BIN)/.installed
	$(BIN)/proactive dev $(if $(RESET),--reset)

test: $(BIN)/.installed $(SAM_VENV)/.installed
	SAM_CLI=$(abspath $(SAM)) CFN_LINT=$(abspath $(SAM_VENV)/bin/cfn-lint) $(BIN)/python -m pytest

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy layers/proactive/proactive functions

# The API against its OpenAPI document, with many more generated requests than `make test` sends.
contract: $(BIN)/.installed
	CONTRACT_EXAMPLES=$${CONTRACT_EXAMPLES:-200} $(BIN)/python -m pytest -q tests/integration/test_api_contract.py

validate: $(SAM_VENV)/.installed
	$(SAM_VENV)/bin/cfn-lint template.yaml
	SAM_CLI_TELEMETRY=0 $(SAM) validate --lint --region us-east-1

build: $(SAM_VENV)/.installed
	SAM_CLI_TELEMETRY=0 $(SAM) build

$(BIN)/.bench-installed: $(BIN)/.installed
	$(BIN)/python -m pip install $(PIP_FLAGS) -e '.[dev,bench]'
	touch $@

bench: $(BIN)/.bench-installed
	$(BIN)/python -m tests.bench

deploy: build
	SAM_CLI_TELEMETRY=0 $(SAM) deploy --guided

clean:
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache
