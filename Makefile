# Two commands on a fresh machine: `make test` and `make findings`. Both set everything up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
MIRROR ?= $(abspath ../shared/datasets)

.PHONY: install test test-browser findings bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the package metadata changed; the package itself is installed editable.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# The browser tests (tests/browser/) are part of `make test`; they need chromium (.ci/run
# installs it) and write screenshots to test-artifacts/browser/.
test: install
	SCALING_TOOLKIT_MIRROR=$${SCALING_TOOLKIT_MIRROR:-$(wildcard $(MIRROR))} $(BIN)/python -m pytest -n 2 -q

test-browser: install
	SCALING_TOOLKIT_MIRROR=$${SCALING_TOOLKIT_MIRROR:-$(wildcard $(MIRROR))} $(BIN)/python -m pytest -q -m browser

findings: install
	SCALING_TOOLKIT_MIRROR=$${SCALING_TOOLKIT_MIRROR:-$(wildcard $(MIRROR))} $(BIN)/scaling-toolkit study --out findings

bench: install
	SCALING_TOOLKIT_MIRROR=$${SCALING_TOOLKIT_MIRROR:-$(wildcard $(MIRROR))} $(BIN)/python benchmarks/bench_fit.py

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts
