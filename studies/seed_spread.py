"""Per-seed effects of every claim measure in a results table, their mean, spread and t interval; optionally
written as the reference file that one-seed notebook checks and tests/test_science.py read.

    nml-tutorial sweep --preset quick --seeds 0 1 2 3 4 5 6 7 --out results/quick8
    python studies/seed_spread.py results/quick8/results.csv --write nml_tutorial/reference/quick_effects.csv
"""

import argparse

import pandas as pd

from nml_tutorial import claims
from nml_tutorial.io import atomic_write_text


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results")
    parser.add_argument("--objective", default="supervised")
    parser.add_argument("--write", help="write the per-seed effects to this CSV (the reference file)")
    args = parser.parse_args()
    table = claims.claim_table(pd.read_csv(args.results), objective=args.objective)
    for row in table.itertuples():
        print(f"{row.protocol:<6} {row.claim} {'*' if row.primary else ' '} {row.measure:<62} {row.task:<18} "
              f"per seed {[round(v, 3) for v in row.per_seed]}  mean {row.effect:+.3f}  sd {row.seed_sd:.3f}  "
              f"[{row.low:+.3f}, {row.high:+.3f}]  {row.verdict}")
    if args.write:
        atomic_write_text(claims.per_seed_effects(table).to_csv(index=False), args.write)
        print(f"wrote {args.write}")


if __name__ == "__main__":
    main()
