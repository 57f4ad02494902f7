# The two commands: `make run` (the quick sweep on the embedded data) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
CONSTRAINTS := requirements/constraints.txt
export HF_HUB_OFFLINE := 1

.PHONY: setup run book slides lint test test-fast bench lab binder-check clean

$(VENV)/.installed: pyproject.toml $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c $(CONSTRAINTS) -e ".[dev]"
	touch $@

setup: $(VENV)/.installed
	@bash tools/install_system_packages.sh

run: setup
	$(VENV)/bin/nml-tutorial notebooks --out results/notebooks

# The executed series as a static web book (results/book/index.html); runs the series first if it has not run.
book: setup
	@test -e results/notebooks/00_quickstart.ipynb || $(MAKE) run
	$(VENV)/bin/nml-tutorial book --notebooks results/notebooks --out results/book

# An offline slide deck for a class (results/slides.html): the study in words, the series' figures; runs the series
# first if it has not run.
slides: setup
	@test -e results/notebooks/00_quickstart.ipynb || $(MAKE) run
	$(VENV)/bin/nml-tutorial slides --notebooks results/notebooks --out results/slides.html

# pytest runs the series once with papermill, then again warm under nbval (check cells' outputs compared) and in
# JupyterLab in Chromium (tests/test_browser.py: the widgets and figures drawn).
LINTED := nml_tutorial tests bench studies data_scripts tools notebooks

lint: setup
	$(VENV)/bin/ruff check $(LINTED)

test: setup lint
	$(PY) -m pytest

# The unit tests without the science guard and the notebook runs: the loop while developing (<= 5 min).
test-fast: setup lint
	$(PY) -m pytest -m "not slow"

lab: setup
	$(PY) -m pip install --quiet -c $(CONSTRAINTS) -e ".[lab]"
	$(VENV)/bin/jupyter lab notebooks/00_quickstart.ipynb

# binder/ checked without Docker: requirements resolve in a fresh venv, postBuild runs, the widget extensions are
# there, the series fits Binder's 2 GB on one core (~15 min; writes results/binder-check).
binder-check:
	bash tools/check_binder.sh

bench: setup
	$(PY) bench/synthetic_generation.py
	$(PY) bench/pretrain_throughput.py
	$(PY) bench/nmtune_cached.py
	$(PY) bench/notebooks.py
	$(PY) bench/notebooks.py --precision fp32

clean:
	rm -rf results .cache test-artifacts
