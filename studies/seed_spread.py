"""Per-seed effects of every claim measure in a results table, their mean, spread and t interval; optionally
written as the reference file that one-seed notebook checks and tests/test_science.py read.

    python studies/confirmatory_sweep.py --out results/confirmatory     # seeds 10-17, never the judged 0-3
    python studies/seed_spread.py results/confirmatory/results.csv --write nml_tutorial/reference/quick_effects.csv \
        --write-table nml_tutorial/reference/quick_results.csv.gz
"""

import argparse
import os
import tempfile
from pathlib import Path

import pandas as pd

from nml_tutorial import claims
from nml_tutorial.atomic import atomic_write_text


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results")
    parser.add_argument("--objective", default="supervised")
    parser.add_argument("--write", help="write the per-seed effects to this CSV (the reference file)")
    parser.add_argument("--write-table", help="write the results table itself (without run keys) to this .csv.gz: "
                                               "the reference runs the notebooks draw and quote")
    args = parser.parse_args()
    table = claims.claim_table(pd.read_csv(args.results), objective=args.objective)
    for row in table.itertuples():
        print(f"{row.protocol:<6} {row.claim} {'*' if row.primary else ' '} {row.measure:<62} {row.task:<18} "
              f"per seed {[round(v, 3) for v in row.per_seed]}  mean {row.effect:+.3f}  sd {row.seed_sd:.3f}  "
              f"[{row.low:+.3f}, {row.high:+.3f}]  {row.verdict}")
    if args.write:
        atomic_write_text(claims.per_seed_effects(table).to_csv(index=False), args.write)
        print(f"wrote {args.write}")
    if args.write_table:
        results = pd.read_csv(args.results).drop(columns=["run_key"])
        with tempfile.NamedTemporaryFile(suffix=".csv.gz", delete=False, dir=Path(args.write_table).parent) as tmp:
            try:
                results.to_csv(tmp.name, index=False, float_format="%.8g", compression={"method": "gzip", "mtime": 0})
            except BaseException:
                os.unlink(tmp.name)
                raise
        os.replace(tmp.name, args.write_table)
        print(f"wrote {args.write_table}")


if __name__ == "__main__":
    main()
