"""The claim table of a results file as Markdown, as docs/quick-results.md shows it: every primary measure under
both protocols with its 90 % interval, the one-sided p its claim's rule read, seeds for 80 % power and state, the
claims' verdicts, and the study - tuned contrasts (the README's shorter summary:
`nml-tutorial claims --reference --markdown`).

    python studies/claims_markdown.py results/confirmatory/results.csv [--supporting]
"""

import argparse

import numpy as np
import pandas as pd

from nml_tutorial import claims


def markdown(rows: pd.DataFrame, columns: list[str]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in rows[columns].itertuples(index=False)]
    return "\n".join(lines)


def interval(row) -> str:
    return f"{row.effect:+.2f} [{row.low:+.2f}, {row.high:+.2f}]"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results")
    parser.add_argument("--objective", default="supervised")
    parser.add_argument("--supporting", action="store_true", help="also list the supporting rows")
    args = parser.parse_args()
    table = claims.claim_table(pd.read_csv(args.results), objective=args.objective)
    shown = table if args.supporting else table[table["primary"]]
    p = shown["p_claimed_decisive"].fillna(shown["p_claimed"])
    shown = shown.assign(**{
        "effect [90 % interval]": [interval(r) for r in shown.itertuples()],
        "p (one-sided)": [f"{v:.3g}" for v in p],
        "needed": [f"{int(n)}" if pd.notna(n) else "-" for n in shown["seeds_needed"]],
        "state": shown["verdict"], "claim": shown["claim"] + np.where(shown["primary"], "*", "")})
    print(markdown(shown, ["protocol", "claim", "measure", "task", "effect [90 % interval]", "p (one-sided)",
                           "needed", "state"]))
    print()
    summary = claims.claim_summary(table)
    print(markdown(summary, ["protocol", "claim", "statement", "verdict"]))
    print()
    contrasts = claims.protocol_contrasts(table)
    contrasts = contrasts.assign(**{"study - tuned [95 % interval]": [
        f"{d:+.2f} [{lo:+.2f}, {hi:+.2f}]" for d, lo, hi in zip(contrasts["study - tuned"], contrasts["low"],
                                                              contrasts["high"])]})
    print(markdown(contrasts, ["claim", "measure", "task", "seeds", "study - tuned [95 % interval]"]))


if __name__ == "__main__":
    main()
