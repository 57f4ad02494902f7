# The two commands: `make run` (the quick sweep on the embedded data) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
CONSTRAINTS := requirements/constraints.txt
export HF_HUB_OFFLINE := 1

.PHONY: setup run test test-fast bench lab clean

$(VENV)/.installed: pyproject.toml $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c $(CONSTRAINTS) -e ".[dev]"
	touch $@

setup: $(VENV)/.installed
	@bash tools/install_system_packages.sh

run: setup
	$(VENV)/bin/nml-tutorial notebooks --out results/notebooks

test: setup
	$(PY) -m pytest
	$(PY) -m pytest --nbval-lax --nbval-current-env -p no:cacheprovider notebooks/

# The unit tests without the science guard and the notebook runs: the loop while developing (<= 5 min).
test-fast: setup
	$(PY) -m pytest -m "not slow"

lab: setup
	$(PY) -m pip install --quiet -c $(CONSTRAINTS) -e ".[lab]"
	$(VENV)/bin/jupyter lab notebooks/00_quickstart.ipynb

bench: setup
	$(PY) bench/synthetic_generation.py
	$(PY) bench/pretrain_throughput.py
	$(PY) bench/nmtune_cached.py
	$(PY) bench/notebooks.py
	$(PY) bench/notebooks.py --precision fp32

clean:
	rm -rf results .cache test-artifacts
