"""Per-seed effects of every claim measure in a results table, with their mean and seed-to-seed spread.

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
    table = claims.claim_table(pd.read_csv(args.results), objective=args.objective)
    for row in table.itertuples():
        print(f"{row.claim} {row.measure:<48} {row.task:<18} per seed {[round(v, 3) for v in row.per_seed]}  "
              f"mean {row.effect:+.3f}  sd {row.seed_sd:.3f}")


if __name__ == "__main__":
    main()
