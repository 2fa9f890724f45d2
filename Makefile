# Case Review Workbench: `make run` serves the dashboard on the demo cohort, `make test` runs every test.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV ?= .venv
PORT ?= 8501
HOST ?= 127.0.0.1
PY := $(VENV)/bin/python
STAMP_HASH := $(shell cat pyproject.toml 2>/dev/null | sha256sum | cut -c1-12)
export OPENBLAS_NUM_THREADS ?= 1
export TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS ?=
export HF_HUB_OFFLINE ?= 1
export MPLBACKEND ?= Agg

.PHONY: help run test lab demo bench lint system-deps clean

help:
	@echo "make run    set up .venv, create var/workbench.db with the demo cohort, serve the dashboard on http://$(HOST):$(PORT)"
	@echo "make test   set up .venv with dev extras and Debian test packages, run the whole test suite"
	@echo "make lab    start JupyterLab on the notebooks"
	@echo "make bench  run the benchmarks (prints figures)"
	@echo "make lint   ruff and mypy"

# The venv is rebuilt when pyproject.toml changes (the stamp carries its hash).
$(VENV)/.stamp-base-$(STAMP_HASH):
	@py=$$(scripts/find-python.sh) || exit 1; \
	  [ -x $(PY) ] || { echo "creating $(VENV) with $$py"; "$$py" -m venv $(VENV); }
	$(PY) -m pip install -q --upgrade pip 2>&1 | grep -v "is ignored" || true
	$(PY) -m pip install -q -e . 2>&1 | grep -v "is ignored" || true
	$(PY) -c "import workbench, pymc, streamlit, presidio_analyzer" || { echo "installation failed"; exit 1; }
	@touch $@

$(VENV)/.stamp-dev-$(STAMP_HASH): $(VENV)/.stamp-base-$(STAMP_HASH)
	$(PY) -m pip install -q -e '.[dev]' 2>&1 | grep -v "is ignored" || true
	$(PY) -c "import pytest, playwright, nbmake" || { echo "installation of dev extras failed"; exit 1; }
	@touch $@

$(VENV)/.stamp-lab-$(STAMP_HASH): $(VENV)/.stamp-dev-$(STAMP_HASH)
	$(PY) -m pip install -q -e '.[dev,lab]' 2>&1 | grep -v "is ignored" || true
	@touch $@

system-deps:
	@scripts/system-deps.sh

run: $(VENV)/.stamp-base-$(STAMP_HASH)
	$(VENV)/bin/workbench init --demo
	@echo "Case Review Workbench: http://$(HOST):$(PORT)"
	$(VENV)/bin/streamlit run app.py --server.headless true --server.address $(HOST) \
	  --server.port $(PORT) --browser.gatherUsageStats false --client.toolbarMode viewer

test: system-deps $(VENV)/.stamp-dev-$(STAMP_HASH)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest $(PYTEST_ARGS)

lab: $(VENV)/.stamp-lab-$(STAMP_HASH)
	@echo "notebooks run in their own temporary WORKBENCH_HOME (a parameter cell switches it)"
	cd notebooks && ../$(VENV)/bin/jupyter lab --ip 127.0.0.1 --no-browser $$( [ "$$(id -u)" = 0 ] && echo --allow-root )

bench: $(VENV)/.stamp-dev-$(STAMP_HASH)
	$(PY) benchmarks/deid_bench.py
	$(PY) benchmarks/models_bench.py --save var/validation.json
	$(PY) benchmarks/dashboard_bench.py $$( [ -f var/workbench.db ] && echo --home $(CURDIR) )

lint: $(VENV)/.stamp-dev-$(STAMP_HASH)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy workbench ui pages app.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
