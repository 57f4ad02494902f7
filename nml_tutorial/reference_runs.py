"""The committed reference runs: the quick preset's 8 confirmatory seeds (10-17), their results and per-seed
effects (``studies/seed_spread.py`` writes both), the report the notebooks quote from them, and the check that a
new table of other seeds agrees with them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from . import stats
from .claim_text import chosen_protocol, format_claims
from .claims import CONFIRMATORY_PROTOCOL, PRIMARY_TASK, claim_table, protocol_contrasts

REFERENCE_FILE = Path(__file__).parent / "reference" / "quick_effects.csv"
REFERENCE_RESULTS = Path(__file__).parent / "reference" / "quick_results.csv.gz"

def reference_effects(path=REFERENCE_FILE) -> pd.DataFrame:
    """Per-seed effects of the quick preset (``studies/seed_spread.py`` writes them): the spread one-seed
    checks borrow, and what ``tests/test_science.py`` guards."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no reference effects at {path}; write them with studies/seed_spread.py")
    return pd.read_csv(path)


def reference_results(path=REFERENCE_RESULTS) -> pd.DataFrame:
    """The results table of the quick preset's 8 reference seeds (10-17) whose effects :func:`reference_effects`
    holds: what the notebooks draw as thin lines and quote. ``studies/seed_spread.py --write-table`` writes it."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no reference results at {path}; write them with studies/seed_spread.py")
    return pd.read_csv(path)


def reference_report(table: pd.DataFrame | None = None) -> str:
    """What the notebooks quote from the reference runs (:func:`reference_results` unless ``table`` is given): the
    claim table, the protocols' paired contrasts, and the linear probe's mean accuracy (%) by noise ratio on each
    ID test set and on the graded shifts. A notebook's folded check cell prints it, so every quoted number is one
    the notebook shows (``nml_tutorial.prose``)."""
    table = reference_results() if table is None else table
    claims = claim_table(table)
    contrasts = protocol_contrasts(claims).round(2).to_string(index=False)
    primary = claims[claims["primary"]]
    spread = primary[["protocol", "claim", "measure", "task", "seed_sd"]].round(3).to_string(index=False)
    probe = table[table["method"] == "linear_probe"]
    test_set = np.where(probe["shift"] == "id", "ID", np.where(probe["test_domain"].str.contains("@"), "graded",
                                                                 "full-strength"))
    accuracy = (probe.assign(test_set=test_set)
                .groupby(["protocol", "task", "test_set", "seed", "noise_ratio"])["accuracy"].mean()
                .groupby(["protocol", "task", "test_set", "noise_ratio"]).mean().unstack("noise_ratio") * 100)
    seeds = sorted(table["seed"].unique())
    return (f"reference runs: seeds {seeds[0]}-{seeds[-1]} ({len(seeds)})\n\n{format_claims(claims)}\n\n"
            f"seed-to-seed sd of each primary measure:\n{spread}\n\n"
            f"study - tuned, paired by seed (95 % t interval):\n{contrasts}\n\n"
            f"linear probe accuracy (%), mean over seeds (graded, full-strength: the mean over those OOD sets):\n"
            f"{accuracy.round(1).to_string()}")


def reference_seeds(reference: pd.DataFrame, claim: str, measure: str, protocol: str = CONFIRMATORY_PROTOCOL,
                    task: str = PRIMARY_TASK) -> pd.Series:
    """The reference sweep's per-seed effects of one claim measure, indexed by seed."""
    rows = reference[(reference["protocol"] == protocol) & (reference["claim"] == claim)
                     & (reference["measure"] == measure) & (reference["task"] == task)]
    if rows.empty:
        raise ValueError(f"no reference effects for {claim} {measure!r} ({protocol}); see claim_table for the measures")
    return rows.set_index("seed")["effect"].sort_index()


def agrees_with_reference(table: pd.DataFrame, claim: str, reference: pd.DataFrame, objective: str = "supervised",
                          protocol: str | None = None, level: float = 0.95, checks: int = 1) -> tuple[bool, str]:
    """Is each primary effect of ``claim`` in ``table`` (the mean of m seeds) inside its prediction interval around
    the ``reference`` sweep's n seeds (:func:`~nml_tutorial.stats.prediction_half_width`)? ``level`` holds for all
    the measures together, and for ``checks`` such calls together (a notebook checking four claims passes 4): each
    measure is checked at 1 - (1 - level) / (measures x checks) (Bonferroni), so that when nothing changed all of
    them pass with probability ``level`` or more; ``protocol`` as in :func:`~nml_tutorial.claim_text.lesson_check`.
    The reference's seeds must not include the table's. A failure means the numbers moved from what was measured
    with this code, not that the claim changed verdict."""
    rows = claim_table(table, objective)
    protocol = chosen_protocol(rows, protocol)
    primary = rows[(rows["protocol"] == protocol) & (rows["claim"] == claim) & rows["primary"]]
    ref = reference[reference["protocol"] == protocol]
    if primary.empty:
        return False, f"{claim}: no primary measure in this table"
    overlap = set(ref["seed"]) & {s for ids in primary["seed_ids"] for s in ids}
    if overlap:
        raise ValueError(f"the reference contains seeds {sorted(overlap)} of the table it judges; judge other seeds "
                         "or record the reference on seeds the table does not use")
    per_measure = 1 - (1 - level) / (len(primary) * checks)
    lines, agree = [], True
    for row in primary.itertuples():
        seeds = ref[(ref["claim"] == claim) & (ref["measure"] == row.measure) & (ref["task"] == row.task)]["effect"]
        if len(seeds) < 2:
            agree = False
            lines.append(f"{row.measure}: not in the reference")
            continue
        half = stats.prediction_half_width(seeds, row.seeds, per_measure)
        inside = bool(abs(row.effect - seeds.mean()) <= half)  # a NaN effect is outside
        agree &= inside
        lines.append(f"{row.measure}: {row.effect:+.3f} here, {seeds.mean():+.3f} +- {half:.3f} expected from "
                     f"{len(seeds)} reference seeds ({'inside' if inside else 'OUTSIDE'})")
    return bool(agree), f"{claim}, {protocol} protocol: " + "; ".join(lines)
