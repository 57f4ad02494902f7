#!/usr/bin/env bash
# The Binder image, checked as far as a machine without Docker allows (`make binder-check`):
#   1. binder/requirements.txt resolves in a fresh virtual environment (repo2docker's first step);
#   2. binder/postBuild runs in it (installs the package with JupyterLab);
#   3. that JupyterLab has the widget front-ends (ipywidgets' manager, anywidget, plotly's extension);
#   4. the series runs on one core (taskset), a notebook at a time, from an empty cache as a Binder user starts,
#      each notebook's peak memory against Binder's 2 GB (bench/notebooks.py measures it).
# What it cannot check: repo2docker itself and PyTorch's CPU wheel index (download.pytorch.org), which only a
# machine with that address reachable can reach; where it is not, pip says so and takes torch from PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${BINDER_VENV:-/tmp/nml-binder-venv}"
out="${BINDER_OUT:-results/binder-check}"
if [ -e "$venv" ] && [ ! -e "$venv/pyvenv.cfg" ]; then
  echo "BINDER_VENV=$venv exists and is not a virtual environment: point it at a new folder"; exit 2
fi
rm -rf "$venv" "$out"
python3 -m venv "$venv"
export PATH="$venv/bin:$PATH" HF_HUB_OFFLINE=1
# Where PyTorch's CPU index cannot be reached pip would retry it for every package (minutes each): ask once.
export PIP_RETRIES=0
started=$(date +%s)
pip install --quiet --upgrade pip
echo "== 1. pip install -r binder/requirements.txt"
pip install --quiet -r binder/requirements.txt
python -c "import torch, torchvision; print('torch', torch.__version__, 'torchvision', torchvision.__version__)"
echo "== 2. binder/postBuild"
bash binder/postBuild
echo "   installed in $(( $(date +%s) - started )) s"
echo "== 3. JupyterLab's widget extensions"
extensions=$(jupyter labextension list 2>&1)
for name in "@jupyter-widgets/jupyterlab-manager" "anywidget" "jupyterlab-plotly"; do
  if grep -q "$name .*enabled.*OK" <<<"$(sed 's/\x1b\[[0-9;]*m//g' <<<"$extensions")"; then
    echo "   $name: enabled, OK"
  else
    echo "   $name: MISSING"; echo "$extensions"; exit 1
  fi
done
echo "== 4. the series on one core (taskset -c 0), from an empty cache, as binder/start launches it"
binder/start taskset -c 0 python bench/notebooks.py --out "$out"
python - "$out/bench-auto.json" <<'EOF'
import json, sys
rows = json.load(open(sys.argv[1]))["notebooks"]
worst = max(max(r["peak_mib"], r["tree_peak_mib"]) for r in rows)
print(f"   one core: series {sum(r['seconds'] for r in rows):.0f} s; largest peak {worst:.0f} MiB "
      f"({'within' if worst <= 2048 else 'OVER'} Binder's 2 GB)")
sys.exit(0 if worst <= 2048 else "a notebook needs more than Binder's 2 GB")
EOF
