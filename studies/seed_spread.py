"""Per-seed primary effects of each claim in a results table, with their mean and seed-to-seed spread.

The reference values and bands of tests/test_science.py and claims.QUICK_BANDS come from this print-out:

    nml-tutorial sweep --preset quick --seeds 0 1 2 3 --out results/quick4
    python studies/seed_spread.py results/quick4/results.csv [--objective clip]
"""

import argparse

import pandas as pd

from nml_tutorial import claims


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results")
    parser.add_argument("--objective", default="supervised")
    args = parser.parse_args()
    table = pd.read_csv(args.results)
    table = table[table["objective"] == args.objective]
    task = claims.PRIMARY_TASK
    effects = {
        "C1 ID accuracy (slight)": 100 * claims.noise_effect(claims.per_seed(table, "linear_probe", task, "photo", "accuracy"), "slight"),
        "C2 OOD accuracy (max)": 100 * claims.noise_effect(claims.per_seed(table, "linear_probe", task, None, "accuracy"), "max"),
        "C3 SVE (max)": claims.noise_effect(claims.per_seed(table, "linear_probe", task, "photo", "sve"), "max"),
        "C3 LSVR (max)": claims.noise_effect(claims.per_seed(table, "linear_probe", task, "photo", "lsvr"), "max"),
    }
    if {"nmtune", "mlp_head"} <= set(table["method"]):
        for base in ("linear_probe", "mlp_head"):
            for shift, test in (("ID", "photo"), ("OOD", None)):
                tuned, other = (claims.per_seed(table, m, task, test, "accuracy") for m in ("nmtune", base))
                effects[f"C4 NMTune - {base}, {shift}"] = 100 * (tuned - other).mean(axis=1)
    for name, values in effects.items():
        print(f"{name:<30} per seed {[round(v, 3) for v in values.tolist()]}  mean {values.mean():+.3f}  "
              f"sd {values.std():.3f}")


if __name__ == "__main__":
    main()
