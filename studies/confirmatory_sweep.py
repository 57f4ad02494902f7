"""The confirmatory quick sweep of docs/preregistration.md: seeds 10-17, both protocols, the quick preset's tasks
plus the held-out classes 100-119 that the C1 scaling study probes at every K.

    python studies/confirmatory_sweep.py --out results/confirmatory
    nml-tutorial claims results/confirmatory/results.csv
    python studies/seed_spread.py results/confirmatory/results.csv --write nml_tutorial/reference/quick_effects.csv
"""

import argparse
import time

from nml_tutorial.presets import get_preset
from nml_tutorial.runtime import cpu_capability
from nml_tutorial.sweep import run_sweep

SEEDS = list(range(10, 18))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="results/confirmatory")
    parser.add_argument("--cache", default=".cache")
    args = parser.parse_args()
    preset = get_preset("quick", seeds=SEEDS, new_classes=list(range(100, 120)))
    preset = preset.override(tasks=[*preset.tasks, "new_classes"])
    started = time.perf_counter()
    run_sweep(preset, cache_dir=args.cache, out_dir=args.out, progress=False)
    print(f"{time.perf_counter() - started:.0f} s on a CPU of capability {cpu_capability()}")


if __name__ == "__main__":
    main()
