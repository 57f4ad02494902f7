"""Do the study's claims show in a results table? Paired effects per seed, bootstrap intervals, verdicts.

Every effect is a difference measured *within* a seed (same data, same probe sets, only the noise or
the method changed), averaged over seeds; its 95 % interval is a percentile bootstrap over seeds.
A claim *holds* when the interval excludes zero in the claimed direction, is *opposite* when it
excludes zero the other way, and is *not resolved* otherwise. Each claim names one primary measure,
fixed before looking at the numbers (the held-out-class task); the other rows support it.
Introduced in notebook 00_quickstart; the notebooks' last cells and ``nml-tutorial claims`` call it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CLAIMS = {
    "C1": "slight pre-training noise raises in-domain accuracy",
    "C2": "pre-training noise lowers out-of-domain accuracy",
    "C3": "pre-training noise raises SVE and LSVR of in-domain features",
    "C4": "NMTune beats the linear probe and the MLP head",
}
SLIGHT = (0.0, 0.1)  # noise ratios in (low, high] count as slight (the study: 5-10 %)
MIN_SEEDS = 4  # with 3 seeds a percentile bootstrap is little more than [min, max]: too narrow
PRIMARY_TASK = "downstream_classes"
# One seed-to-seed standard deviation of each claim's primary effect (the largest over its measures), from the
# quick preset over seeds 0-3 in fp32 (docs/quick-results.md): a one-seed run must beat it to count as showing a claim.
QUICK_BANDS = {"C1": 4.87, "C2": 3.16, "C3": 0.097, "C4": 1.38}
ID_TASKS = {"downstream_classes": "photo", "new_classes": "photo", "digits": "mnist", "fashion": "fashion"}
OOD_TASKS = {"downstream_classes": None, "graded_shift": None, "pretrain_classes": None,
             "digits": "uci_digits"}  # None: mean of OOD sets


def bootstrap_interval(values, level: float = 0.95, resamples: int = 10_000, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``values`` (one per seed)."""
    values = np.asarray(values, dtype=float)
    if values.size == 0 or np.isnan(values).any():
        raise ValueError(f"bootstrap needs finite per-seed values, got {values.tolist()}")
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, values.size, size=(resamples, values.size))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    return float(np.percentile(means, tail)), float(np.percentile(means, 100 - tail))


def verdict(low: float, high: float, sign: int, seeds: int) -> str:
    if seeds < MIN_SEEDS:
        return f"too few seeds ({seeds} < {MIN_SEEDS})"
    if sign * low > 0 and sign * high > 0:
        return "holds"
    if sign * low < 0 and sign * high < 0:
        return "opposite"
    return "not resolved"


def per_seed(table: pd.DataFrame, method: str, task: str, test: str | None, metric: str) -> pd.DataFrame:
    """Seed x noise-ratio matrix of a metric; ``test=None`` averages the task's OOD test sets."""
    rows = table[(table["method"] == method) & (table["task"] == task)]
    rows = rows[rows["shift"] == "ood"] if test is None else rows[rows["test_domain"] == test]
    return rows.groupby(["seed", "noise_ratio"])[metric].mean().unstack("noise_ratio")


def noise_effect(matrix: pd.DataFrame, which: str) -> pd.Series | None:
    """Per seed: metric at the highest noise (``"max"``) or mean over slight ratios (``"slight"``) minus clean."""
    ratios = [r for r in matrix.columns if r > 0]
    if 0.0 not in matrix.columns or not ratios:
        return None
    chosen = [max(ratios)] if which == "max" else [r for r in ratios if SLIGHT[0] < r <= SLIGHT[1]]
    if not chosen:
        return None
    return (matrix[chosen].mean(axis=1) - matrix[0.0]).dropna()


def _row(claim: str, measure: str, task: str, effect: pd.Series | None, sign: int, scale: float,
         primary: bool) -> dict | None:
    if effect is None or effect.empty:
        return None
    values = effect.to_numpy() * scale
    low, high = bootstrap_interval(values) if values.size > 1 else (values[0], values[0])
    return {"claim": claim, "primary": primary, "measure": measure, "task": task, "effect": float(values.mean()),
            "low": low, "high": high, "seeds": int(values.size),
            "seed_sd": float(values.std(ddof=1)) if values.size > 1 else float("nan"), "per_seed": values.tolist(),
            "expected": "+" if sign > 0 else "-", "verdict": verdict(low, high, sign, values.size)}


def claim_table(table: pd.DataFrame, objective: str = "supervised") -> pd.DataFrame:
    """One row per claim measure: effect (accuracy in points), 95 % bootstrap interval, verdict, and the
    per-seed effects behind them (``per_seed``, ``seed_sd``).

    C1: mean over slight ratios of ID accuracy minus clean, per ID dataset. C2: OOD accuracy (mean of a
    task's shifted test sets) at slight and at the highest noise minus clean. C3: SVE and LSVR of ID
    features at the highest noise minus clean. C4: NMTune minus linear probe / MLP head, averaged over
    noise ratios, ID and OOD. Linear-probe rows unless a method is named; a CLIP table adds zero-shot
    rows to C1 and C2 (supporting, not primary).
    """
    table = table[table["objective"] == objective]
    if table.empty:
        raise ValueError(f"no rows with objective={objective!r} in the results table")
    if not (table["noise_ratio"] == 0).any():
        raise ValueError("the results table has no clean (noise 0) run to compare with; include noise ratio 0")
    rows = []
    for task, test in ID_TASKS.items():
        rows.append(_row("C1", f"ID accuracy, {test} (slight)", task,
                         noise_effect(per_seed(table, "linear_probe", task, test, "accuracy"), "slight"), +1, 100,
                         primary=task == PRIMARY_TASK))
    for task, test in OOD_TASKS.items():
        name = "mean of OOD sets" if test is None else test
        matrix = per_seed(table, "linear_probe", task, test, "accuracy")
        for which in ("max", "slight"):
            rows.append(_row("C2", f"OOD accuracy, {name} ({which})", task, noise_effect(matrix, which), -1, 100,
                             primary=task == PRIMARY_TASK and which == "max"))
    if "zero_shot" in set(table["method"]):
        for task in ("downstream_classes", "pretrain_classes"):
            matrix = per_seed(table, "zero_shot", task, "photo", "accuracy")
            rows.append(_row("C1", "zero-shot ID accuracy, photo (slight)", task, noise_effect(matrix, "slight"),
                             +1, 100, primary=False))
            rows.append(_row("C2", "zero-shot OOD accuracy, mean of OOD sets (max)", task,
                             noise_effect(per_seed(table, "zero_shot", task, None, "accuracy"), "max"), -1, 100,
                             primary=False))
    for metric in ("sve", "lsvr"):
        rows.append(_row("C3", f"{metric.upper()} of ID features (max)", PRIMARY_TASK,
                         noise_effect(per_seed(table, "linear_probe", PRIMARY_TASK, "photo", metric), "max"), +1, 1,
                         primary=True))
    shifts = (("ID", "photo"), ("OOD", None))
    tuned = {shift: per_seed(table, "nmtune", PRIMARY_TASK, test, "accuracy") for shift, test in shifts}
    for base in ("linear_probe", "mlp_head"):
        for shift, test in shifts:
            other = per_seed(table, base, PRIMARY_TASK, test, "accuracy")
            effect = (tuned[shift] - other).mean(axis=1).dropna() if not tuned[shift].empty and not other.empty else None
            rows.append(_row("C4", f"NMTune - {base}, {shift} (all noise)", PRIMARY_TASK, effect, +1, 100,
                             primary=True))
    return pd.DataFrame([r for r in rows if r is not None])


def claim_summary(claims: pd.DataFrame) -> pd.DataFrame:
    """One line per claim: the verdict of its primary measures (all must hold for the claim to hold)."""
    lines = []
    for claim, text in CLAIMS.items():
        primary = claims[(claims["claim"] == claim) & claims["primary"]]
        if primary.empty:
            lines.append({"claim": claim, "statement": text, "verdict": "not measured"})
            continue
        verdicts = set(primary["verdict"])
        overall = verdicts.pop() if len(verdicts) == 1 else "not resolved"
        lines.append({"claim": claim, "statement": text, "verdict": overall})
    return pd.DataFrame(lines)


def format_claims(claims: pd.DataFrame) -> str:
    """The claim table as text: effect [low, high] per measure, then one verdict per claim."""
    shown = claims.assign(
        interval=[f"{e:+.2f} [{lo:+.2f}, {hi:+.2f}]" for e, lo, hi in zip(claims["effect"], claims["low"], claims["high"])],
        primary=claims["primary"].map({True: "*", False: ""}))
    detail = shown[["claim", "primary", "measure", "task", "expected", "interval", "seeds", "verdict"]].to_string(index=False)
    summary = claim_summary(claims).to_string(index=False)
    return (f"{detail}\n\n(* primary measure; accuracy effects in points, SVE/LSVR in nats; 95 % bootstrap "
            f"interval over seeds)\n\n{summary}")


def lesson_check(table: pd.DataFrame, claim: str, objective: str = "supervised",
                 band: float = 0.0) -> tuple[bool, str]:
    """Does ``claim`` show in ``table``? Returns (shows, a message that gives the numbers).

    With >= MIN_SEEDS seeds the primary measures' bootstrap intervals decide; with fewer, each primary
    effect must exceed ``band`` in the claimed direction (the notebooks pass the seed-to-seed spread
    measured in docs/fidelity.md, so one lucky or unlucky seed is not read as a finding).
    """
    if claim not in CLAIMS:
        raise ValueError(f"unknown claim {claim!r}; choose one of {list(CLAIMS)}")
    rows = claim_table(table, objective)
    primary = rows[(rows["claim"] == claim) & rows["primary"]]
    if primary.empty:
        return False, f"{claim} ({CLAIMS[claim]}): not measured in this table (see claim_table for what is needed)"
    sign = primary["expected"].map({"+": 1, "-": -1})
    if primary["seeds"].min() >= MIN_SEEDS:
        shows = bool((primary["verdict"] == "holds").all())
        how = "95 % bootstrap interval over seeds excludes zero"
    else:
        shows = bool((sign * primary["effect"] > band).all())
        how = f"one-seed check: effect beyond the band {band:g} in the claimed direction"
    numbers = "; ".join(f"{m}: {e:+.2f} [{lo:+.2f}, {hi:+.2f}], {n} seed{'s' * (n > 1)}" for m, e, lo, hi, n in zip(
        primary["measure"], primary["effect"], primary["low"], primary["high"], primary["seeds"]))
    return shows, f"{claim} ({CLAIMS[claim]}): {'SHOWS' if shows else 'does NOT show'} here ({how}). {numbers}"
