"""Per-notebook wall time and peak memory of the quick series, against its budgets (docs/benchmarks.md).

Each notebook runs in its own process (papermill + its kernel); the peak resident set size of the
kernel, and the peak memory of all its processes together (kaleido's Chrome included), are sampled.
The first notebook fills the cache; later ones reuse it, as a student's session does. Budgets: the whole series
<= 6 min on any 2-core CPU; each notebook <= 2 GB (Binder).
``--precision fp32`` forces fp32 wherever the package would pick a precision itself (``NML_PRECISION``):
the slow path of a CPU without native bf16.

    python bench/notebooks.py [--precision auto|fp32] [--cache DIR] [--only 01] [--retrain]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import torch

from nml_tutorial.atomic import atomic_write_json
from nml_tutorial.runtime import cpu_capability, resolve_precision
from nml_tutorial.series import series

# Runs one notebook (papermill starts its kernel as a child process).
CHILD = """
import json, sys
from nml_tutorial.series import run_notebook
params = {"RETRAIN": True} if sys.argv[4] == "1" else None
result = run_notebook(sys.argv[1], sys.argv[2], cache_dir=sys.argv[3], parameters=params)
print(json.dumps({"seconds": result.seconds, "status": result.status, "error": result.error}))
"""


def run_measured(command, env) -> tuple[str, float, float]:
    """Run ``command``; return its stdout, the peak RSS of its largest process (the kernel) and the peak
    proportional set size (PSS: shared pages split between their users) of the whole process tree, papermill
    and kaleido's Chrome included, in MiB, sampled every 0.2 s."""
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    root, largest, tree = psutil.Process(proc.pid), 0, 0
    while proc.poll() is None:
        try:
            infos = [p.memory_full_info() for p in [root, *root.children(recursive=True)]]
        except psutil.Error:  # a process ended between listing and reading
            continue
        largest, tree = max(largest, max(i.rss for i in infos)), max(tree, sum(i.pss for i in infos))
        time.sleep(0.2)
    out, err = proc.communicate()
    if proc.returncode != 0:
        sys.exit(f"{command[-4]} did not run:\n{err[-3000:]}")
    return out, largest / 2**20, tree / 2**20


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--precision", choices=["auto", "fp32"], default="auto")
    parser.add_argument("--cache", help="a run cache to use as it is (warm runs); default: a new empty folder, so "
                                        "that first-run work is measured")
    parser.add_argument("--out", default="results/bench-notebooks")
    parser.add_argument("--only", nargs="+", help="notebook name prefixes, e.g. --only 01")
    parser.add_argument("--retrain", action="store_true", help="pass RETRAIN=True: train instead of the model zoo")
    args = parser.parse_args()
    env = {**os.environ, "NML_PRECISION": "fp32"} if args.precision == "fp32" else dict(os.environ)
    cache = args.cache or tempfile.mkdtemp(prefix="nml-bench-cache-")  # never empties a folder it was given
    picked = resolve_precision("auto") if args.precision == "auto" else "fp32"
    print(f"CPU capability {cpu_capability()}, {torch.get_num_threads()} threads, precision {args.precision} "
          f"(-> {picked}), {'retrain' if args.retrain else 'model zoo'}", flush=True)
    rows = []
    for path in series():
        if args.only and not any(path.name.startswith(p) for p in args.only):
            continue
        out, kernel, tree = run_measured([sys.executable, "-c", CHILD, str(path), args.out, cache,
                                          str(int(args.retrain))], env)
        row = {"notebook": path.stem, **json.loads(out.strip().splitlines()[-1]), "peak_mib": kernel,
               "tree_peak_mib": tree}
        rows.append(row)
        print(f"{path.stem:<16} {row['seconds']:6.1f} s   peak RSS {kernel:6.0f} MiB (kernel); all processes "
              f"{tree:6.0f} MiB PSS   {row['status']} {row['error']}", flush=True)
    total = sum(r["seconds"] for r in rows)
    peak = max(r["peak_mib"] for r in rows)
    print(f"{'series':<16} {total:6.1f} s   ({total / 360:.2f} of the 6-min budget); "
          f"largest peak {peak:.0f} MiB ({peak / 2048:.2f} of Binder's 2 GB)")
    atomic_write_json({"capability": cpu_capability(), "precision": args.precision, "retrain": args.retrain,
                       "notebooks": rows}, Path(args.out) / f"bench-{args.precision}.json")
    if any(r["status"] != "ok" for r in rows):
        sys.exit("a notebook failed")


if __name__ == "__main__":
    main()
