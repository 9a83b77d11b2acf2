# Two commands on a fresh machine: `make test` and `make findings`. Both set everything up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
MIRROR ?= $(abspath ../shared/datasets)

.PHONY: install install-runtime install-offline wheelhouse test test-browser app findings findings-page lab readme-charts bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

RUNTIME_STAMP := $(VENV)/.installed-runtime
# Wheels of everything the runtime needs (and the build backend), for machines without network.
WHEELHOUSE ?= wheelhouse

# Reinstall only when the package metadata changed; the package itself is installed editable.
# The runtime (fits, study, notebooks, findings) and the test extras (pytest, playwright, voila,
# dask, ...) are separate: `make findings` needs only the first.
$(RUNTIME_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUNTIME_STAMP)

$(STAMP): pyproject.toml $(RUNTIME_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

install-runtime: $(RUNTIME_STAMP)

# On a connected machine: `make wheelhouse`, then copy the repository with wheelhouse/ to the
# machines of a room without network and run `make install-offline` there (docs/install.md).
wheelhouse: | $(BIN)/python
	$(BIN)/python -m pip wheel --quiet -w $(WHEELHOUSE) . 'setuptools>=77' wheel

install-offline: | $(BIN)/python
	$(BIN)/python -m pip install --quiet --no-index --find-links $(WHEELHOUSE) -e .
	touch $(RUNTIME_STAMP)

# The browser tests (tests/browser/) are part of `make test`; they need chromium (.ci/run
# installs it) and write screenshots to test-artifacts/browser/. `make test` runs every test; the
# quick loop while developing leaves out the slow ones (CLI subprocesses, README examples, Dask,
# installs, notebook runs, coverage sweeps; marker `slow`) and the browser:
#   .venv/bin/python -m pytest -n 2 -q -m "not slow and not browser"
test: install
	SCALING_TOOLKIT_MIRROR=$${SCALING_TOOLKIT_MIRROR:-$(wildcard $(MIRROR))} $(BIN)/python -m pytest -n 2 -q

test-browser: install
	SCALING_TOOLKIT_MIRROR=$${SCALING_TOOLKIT_MIRROR:-$(wildcard $(MIRROR))} $(BIN)/python -m pytest -q -m browser

# The compute-optimal notebook as a web app (widgets and charts, no code) on 127.0.0.1:8866.
app: install
	SCALING_TOOLKIT_MIRROR=$${SCALING_TOOLKIT_MIRROR:-$(wildcard $(MIRROR))} $(BIN)/voila notebooks/10_compute_optimal.ipynb --Voila.ip=127.0.0.1

# The study, every notebook (papermill, headless), the charts as SVG/PNG and findings/index.html.
findings: install-runtime
	SCALING_TOOLKIT_MIRROR=$${SCALING_TOOLKIT_MIRROR:-$(wildcard $(MIRROR))} $(BIN)/scaling-toolkit fetch --quiet
	SCALING_TOOLKIT_MIRROR=$${SCALING_TOOLKIT_MIRROR:-$(wildcard $(MIRROR))} $(BIN)/scaling-toolkit findings --out findings

# The verdicts of docs/findings.md and README.md, written from the last `make findings` (findings/verdicts.json).
findings-page: install-runtime
	$(BIN)/python -m toolkit.findings.page findings/verdicts.json docs/findings.md README.md

# JupyterLab on the notebooks, from the project's environment (kernel python3 = this venv).
lab: install-runtime
	SCALING_TOOLKIT_MIRROR=$${SCALING_TOOLKIT_MIRROR:-$(wildcard $(MIRROR))} $(BIN)/jupyter lab --notebook-dir=notebooks

# The two charts docs/notebooks.md shows, regenerated from the findings.
readme-charts: findings
	mkdir -p docs/img
	cp findings/charts/02_fit_a_law/loss_curves.png docs/img/fit_a_law.png
	cp findings/charts/08_meta_analysis/heatmap.png docs/img/meta_analysis_heatmap.png

# BOOTSTRAP: resamples of the training runs per predicting cell timed by `make bench`
# (`scaling-toolkit study --bootstrap B` fills the interval columns of the study's table).
BOOTSTRAP ?= 100

bench: install
	SCALING_TOOLKIT_MIRROR=$${SCALING_TOOLKIT_MIRROR:-$(wildcard $(MIRROR))} $(BIN)/python benchmarks/bench_fit.py
	SCALING_TOOLKIT_MIRROR=$${SCALING_TOOLKIT_MIRROR:-$(wildcard $(MIRROR))} $(BIN)/python benchmarks/bench_study.py \
		--bootstrap $(BOOTSTRAP)
	$(BIN)/python benchmarks/bench_points.py

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts
