# The two commands: `make run` (the quick sweep on the embedded data) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
CONSTRAINTS := requirements/constraints.txt
export HF_HUB_OFFLINE := 1

.PHONY: setup run test bench clean

$(VENV)/.installed: pyproject.toml $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c $(CONSTRAINTS) -e ".[dev]"
	touch $@

setup: $(VENV)/.installed
	@bash tools/install_system_packages.sh

run: setup
	$(VENV)/bin/nml-tutorial sweep --preset quick --out results/quick

test: setup
	$(PY) -m pytest

bench: setup
	$(PY) bench/synthetic_generation.py
	$(PY) bench/pretrain_throughput.py
	$(PY) bench/nmtune_cached.py

clean:
	rm -rf results .cache test-artifacts
