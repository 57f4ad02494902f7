"""Per-notebook wall time and peak memory of the quick series, against the budgets in the README.

Each notebook runs in its own process (papermill + its kernel), so the peak resident set size of that
process tree is the notebook's own. The first run trains and caches; later notebooks reuse the cache, as a
student's session does. Budgets: the whole series <= 6 min on a 2-core CPU; each notebook <= 2 GB (Binder).

    python bench/notebooks.py [--cache .cache-bench] [--out results/bench-notebooks]
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path

from nml_tutorial.io import atomic_write_json
from nml_tutorial.notebooks import series

# Runs one notebook and reports the largest child RSS (the kernel) next to this process's own.
CHILD = """
import json, resource, sys
from nml_tutorial.notebooks import run_notebook
seconds = run_notebook(sys.argv[1], sys.argv[2], cache_dir=sys.argv[3])
kib = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
print(json.dumps({"seconds": seconds, "peak_mib": kib / 1024}))
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", default=".cache-bench", help="a fresh folder measures training too")
    parser.add_argument("--out", default="results/bench-notebooks")
    args = parser.parse_args()
    rows = []
    for path in series():
        done = subprocess.run([sys.executable, "-c", CHILD, str(path), args.out, args.cache],
                              capture_output=True, text=True, check=True)
        rows.append({"notebook": path.stem, **json.loads(done.stdout.strip().splitlines()[-1])})
        print(f"{path.stem:<16} {rows[-1]['seconds']:6.1f} s   peak RSS {rows[-1]['peak_mib']:6.0f} MiB", flush=True)
    total = sum(r["seconds"] for r in rows)
    peak = max(r["peak_mib"] for r in rows)
    print(f"{'series':<16} {total:6.1f} s   ({total / 360:.2f} of the 6-min budget); "
          f"largest peak {peak:.0f} MiB ({peak / 2048:.2f} of Binder's 2 GB)")
    atomic_write_json(rows, Path(args.out) / "bench.json")


if __name__ == "__main__":
    main()
