"""Do the study's claims show in a results table? Paired per-seed effects, t intervals, verdicts.

Every effect is a difference measured *within* a seed (same data, same probe sets, only the noise or the
method changed), averaged over seeds. Its 95 % interval is a t interval with n - 1 degrees of freedom over
the per-seed effects; the exact two-sided sign-flip permutation p-value is given beside it. (A percentile
bootstrap over 4 seeds excludes zero in about 22 % of cases without an effect, the t interval in 5 %;
``tests/test_claims.py`` checks the t interval's rate by simulation.) Verdicts:

- **holds**: the interval excludes zero in the claimed direction; **opposite**: it excludes zero the other way;
- **underpowered**: it includes zero and reaches beyond the effect the lesson is about (:data:`EFFECT_OF_INTEREST`)
  on either side: too few seeds to tell; ``seeds_needed`` says how many would make it that narrow;
- **not resolved**: it includes zero and stays within that effect: any effect is smaller than the study's.

A claim's verdict is its primary measures' common verdict; where they differ it is **mixed** if some hold and
others are opposite, else **underpowered** if any is, else **not resolved**.

With one seed, the interval borrows the seed-to-seed spread of a reference sweep (:func:`reference_effects`, the
quick preset's per-seed effects committed with the package). Each claim names primary measures, fixed before
looking at the numbers; the other rows support them. Tables with a ``protocol`` column (``"tuned"`` and the
study's own, ``"study"``) get one set of rows per protocol. Introduced in notebook 00_quickstart.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from .results import PROTOCOLS, seed_matrix, select, with_protocol

CLAIMS = {
    "C1": "slight pre-training noise raises in-domain accuracy",
    "C2": "pre-training noise lowers out-of-domain accuracy",
    "C3": "pre-training noise raises SVE and LSVR of in-domain features",
    "C4": "NMTune beats the linear probe and the MLP head",
}
LEVEL = 0.95
# The smallest effect each claim is about, in its units (accuracy points; nats for SVE/LSVR). C4: reviewers quote
# NMTune's gain over an MLP head as "about 1 %". C1/C2: the study calls the ID gain "a little" and does not give
# its tables here (../shared/paper-notes.md), so one point is this package's choice; C3: a twentieth of a nat,
# also a choice (the compact models move SVE by 0.1-0.4).
EFFECT_OF_INTEREST = {"C1": 1.0, "C2": 1.0, "C3": 0.05, "C4": 1.0}
SLIGHT = (0.0, 0.1)  # noise ratios in (low, high] count as slight (the study: 5-10 %)
PRIMARY_TASK = "downstream_classes"
ID_TASKS = {"downstream_classes": "photo", "new_classes": "photo", "digits": "mnist", "fashion": "fashion"}
REFERENCE_FILE = Path(__file__).parent / "reference" / "quick_effects.csv"


def t_interval(values, level: float = LEVEL) -> tuple[float, float]:
    """t interval (n - 1 degrees of freedom) of the mean of ``values``, one per seed. Notebook 00_quickstart."""
    values = np.asarray(values, dtype=float)
    if values.size < 2 or not np.isfinite(values).all():
        raise ValueError(f"a t interval needs at least two finite per-seed values, got {values.tolist()}")
    half = stats.t.ppf((1 + level) / 2, values.size - 1) * values.std(ddof=1) / math.sqrt(values.size)
    return float(values.mean() - half), float(values.mean() + half)


def effect_interval(values, reference: tuple[float, int] | None = None, level: float = LEVEL) -> tuple[float, float]:
    """The interval of a mean effect: a t interval over several seeds; for one seed, its value plus or minus
    t(n - 1) times the seed-to-seed sd of a ``reference`` = (sd, n seeds) sweep (NaN without one).
    Notebook 00_quickstart."""
    values = np.asarray(values, dtype=float)
    if values.size > 1:
        return t_interval(values, level)
    if reference is None or values.size == 0:
        return float("nan"), float("nan")
    half = stats.t.ppf((1 + level) / 2, reference[1] - 1) * reference[0]
    return float(values[0] - half), float(values[0] + half)


def signflip_p(values) -> float:
    """Exact two-sided sign-flip permutation p-value of the mean of ``values`` against zero. Notebook 00_quickstart."""
    values = np.asarray(values, dtype=float)
    if values.size < 2:
        return float("nan")
    test = stats.permutation_test((values,), lambda x, axis: np.mean(x, axis=axis), permutation_type="samples",
                                  n_resamples=np.inf, vectorized=True)
    return float(test.pvalue)


def verdict(low: float, high: float, sign: int, effect_of_interest: float) -> str:
    """holds / opposite / underpowered / not resolved, for an interval and the claimed direction ``sign``.
    Notebook 00_quickstart."""
    if sign * low > 0 and sign * high > 0:
        return "holds"
    if sign * low < 0 and sign * high < 0:
        return "opposite"
    return "underpowered" if max(abs(low), abs(high)) > effect_of_interest else "not resolved"


def combined_verdict(verdicts) -> str:
    """One verdict for a claim from its primary measures' verdicts (see the module docstring).
    Notebook 00_quickstart."""
    verdicts = set(verdicts)
    if len(verdicts) == 1:
        return verdicts.pop()
    if {"holds", "opposite"} <= verdicts:
        return "mixed"
    return "underpowered" if "underpowered" in verdicts else "not resolved"


def seeds_needed(sd: float, effect_of_interest: float, level: float = LEVEL, most: int = 1000) -> int | None:
    """Fewest seeds whose t interval, at seed-to-seed spread ``sd``, reaches no more than ``effect_of_interest``
    either side of its mean: enough to rule out an effect of that size if there is none. Notebook 00_quickstart."""
    if not np.isfinite(sd):
        return None
    for n in range(2, most + 1):
        if stats.t.ppf((1 + level) / 2, n - 1) * sd / math.sqrt(n) <= effect_of_interest:
            return n
    return None


def per_seed(table: pd.DataFrame, method: str, task: str, tests, metric: str) -> pd.DataFrame:
    """Seed x noise-ratio matrix of a metric of one method and task, averaged over the test sets named in ``tests``.
    Notebook 00_quickstart."""
    return seed_matrix(select(table, method=method, task=task), tests, metric)


def noise_effect(matrix: pd.DataFrame, which: str) -> pd.Series | None:
    """Per seed: metric at the highest noise (``"max"``) or mean over slight ratios (``"slight"``) minus clean.
    Notebook 00_quickstart."""
    ratios = [r for r in matrix.columns if r > 0]
    if 0.0 not in matrix.columns or not ratios:
        return None
    chosen = [max(ratios)] if which == "max" else [r for r in ratios if SLIGHT[0] < r <= SLIGHT[1]]
    if not chosen:
        return None
    return (matrix[chosen].mean(axis=1) - matrix[0.0]).dropna()


def ood_sets(table: pd.DataFrame, task: str) -> dict[str, list[str]]:
    """A task's OOD test sets, grouped: ``graded`` (every style mixed into the photo, ``"sketch@0.50"``: fixed by
    the preset, well above chance by design), ``full`` (the full-strength styles whose linear-probe accuracy,
    averaged over every noise ratio and seed, is above twice chance: a set at chance carries no signal, and
    averaging over both arms keeps the choice from favouring either) and ``all`` (every OOD set).
    Notebook 00_quickstart."""
    if "num_classes" not in table:
        raise ValueError("the results table has no num_classes column (written before 2026-11-28); rerun the sweep")
    rows = table[(table["task"] == task) & (table["shift"] == "ood")]
    probe = rows[rows["method"] == "linear_probe"]
    accuracy = probe.groupby("test_domain")["accuracy"].mean()
    chance = 1 / probe.groupby("test_domain")["num_classes"].first()
    above = set(accuracy.index[accuracy > 2 * chance])
    every = sorted(set(rows["test_domain"]))
    return {"graded": [d for d in every if "@" in d],
            "full": [d for d in every if "@" not in d and d in above], "all": every}


def _row(claim: str, measure: str, task: str, effect: pd.Series | None, sign: int, scale: float, primary: bool,
         spread: dict | None = None) -> dict | None:
    """One claim row; ``spread`` maps (claim, measure, task) to a reference (sd, seeds) for one-seed rows."""
    if effect is None or effect.empty:
        return None
    values = effect.to_numpy() * scale
    mean, size = float(values.mean()), int(values.size)
    sd = float(values.std(ddof=1)) if size > 1 else float("nan")
    reference = (spread or {}).get((claim, measure, task))
    low, high = effect_interval(values, reference)
    if size == 1 and reference is not None:
        sd = reference[0]
    interest = EFFECT_OF_INTEREST[claim]
    return {"claim": claim, "primary": primary, "measure": measure, "task": task, "effect": mean,
            "low": low, "high": high, "seeds": size, "seed_sd": sd, "p_signflip": signflip_p(values),
            "seeds_needed": seeds_needed(sd, interest), "per_seed": values.tolist(),
            "seed_ids": [int(s) for s in effect.index], "expected": "+" if sign > 0 else "-",
            "verdict": "one seed, no reference spread" if np.isnan(low) else verdict(low, high, sign, interest)}


def _ood_measures(table: pd.DataFrame, task: str) -> list[tuple[str, list[str], bool]]:
    """(name, test sets, primary) of a task's OOD means: the primary one is the graded shifts, else the
    full-strength styles above twice chance, else every OOD set."""
    sets = ood_sets(table, task)
    if not sets["all"]:
        return []
    primary = next(group for group in ("graded", "full", "all") if sets[group])
    names = {"graded": "graded shifts", "full": "full-strength styles above 2x chance",
             "all": "every OOD set"}
    return [(names[group], sets[group], group == primary) for group in ("graded", "full", "all") if sets[group]]


def _protocol_rows(table: pd.DataFrame, spread: dict) -> list[dict]:
    rows = []
    for task, test in ID_TASKS.items():
        rows.append(_row("C1", f"ID accuracy, {test} (slight)", task,
                         noise_effect(per_seed(table, "linear_probe", task, [test], "accuracy"), "slight"), +1, 100,
                         task == PRIMARY_TASK, spread))
    for task in sorted(set(table["task"])):
        for name, tests, primary in _ood_measures(table, task):
            matrix = per_seed(table, "linear_probe", task, tests, "accuracy")
            for which in ("max", "slight"):
                rows.append(_row("C2", f"OOD accuracy, {name} ({which})", task, noise_effect(matrix, which), -1, 100,
                                 primary and task == PRIMARY_TASK and which == "max", spread))
    if "zero_shot" in set(table["method"]):
        for task in ("downstream_classes", "pretrain_classes"):
            rows.append(_row("C1", "zero-shot ID accuracy, photo (slight)", task,
                             noise_effect(per_seed(table, "zero_shot", task, ["photo"], "accuracy"), "slight"),
                             +1, 100, False, spread))
            oods = ood_sets(table, task)["all"]
            rows.append(_row("C2", "zero-shot OOD accuracy, every OOD set (max)", task,
                             noise_effect(per_seed(table, "zero_shot", task, oods, "accuracy"), "max"), -1, 100,
                             False, spread))
    for metric in ("sve", "lsvr", "sve_row", "lsvr_row"):
        if metric not in table:
            continue
        centring = "row-centred, as the authors' script" if metric.endswith("_row") else "mean-centred"
        rows.append(_row("C3", f"{metric.split('_')[0].upper()} of ID features, {centring} (max)", PRIMARY_TASK,
                         noise_effect(per_seed(table, "linear_probe", PRIMARY_TASK, ["photo"], metric), "max"), +1, 1,
                         not metric.endswith("_row"), spread))
    ood = [(name, tests) for name, tests, primary in _ood_measures(table, PRIMARY_TASK) if primary]
    for shift, tests in [("ID", ["photo"])] + [(f"OOD ({name})", tests) for name, tests in ood]:
        tuned = per_seed(table, "nmtune", PRIMARY_TASK, tests, "accuracy")
        for base in ("linear_probe", "mlp_head"):
            other = per_seed(table, base, PRIMARY_TASK, tests, "accuracy")
            effect = (tuned - other).mean(axis=1).dropna() if not tuned.empty and not other.empty else None
            rows.append(_row("C4", f"NMTune - {base}, {shift} (all noise)", PRIMARY_TASK, effect, +1, 100, True,
                             spread))
    return [r for r in rows if r is not None]


def claim_table(table: pd.DataFrame, objective: str = "supervised", reference: pd.DataFrame | None = None
                ) -> pd.DataFrame:
    """One row per protocol and claim measure: effect (accuracy in points), 95 % t interval, sign-flip p,
    verdict, the seeds an interval as narrow as the effect of interest needs, and the per-seed effects.

    C1: mean over slight ratios of ID accuracy minus clean, per ID dataset. C2: OOD accuracy (mean of a
    task's OOD sets above twice chance: graded shifts, full-strength styles; every set as support) at the
    highest and at slight noise minus clean. C3: SVE and LSVR of ID features at the highest noise minus clean,
    dataset-mean centred (primary) and row-centred. C4: NMTune minus linear probe / MLP head, averaged over
    noise ratios, ID and OOD. Linear-probe rows unless a method is named; a CLIP table adds zero-shot rows to
    C1 and C2 (supporting). ``reference`` (per-seed effects, :func:`reference_effects`) gives one-seed rows an
    interval.
    Notebook 00_quickstart.
    """
    table = table[table["objective"] == objective]
    if table.empty:
        raise ValueError(f"no rows with objective={objective!r} in the results table")
    if not (table["noise_ratio"] == 0).any():
        raise ValueError("the results table has no clean (noise 0) run to compare with; include noise ratio 0")
    table = with_protocol(table)
    out = []
    for protocol in [p for p in PROTOCOLS if p in set(table["protocol"])]:
        spread = {}
        if reference is not None:
            ref = reference[reference["protocol"] == protocol]
            for key, group in ref.groupby(["claim", "measure", "task"]):
                if len(group) > 1:
                    spread[key] = (float(group["effect"].std(ddof=1)), len(group))
        out += [{"protocol": protocol, **r} for r in _protocol_rows(table[table["protocol"] == protocol], spread)]
    return pd.DataFrame(out)


def claim_summary(claims: pd.DataFrame) -> pd.DataFrame:
    """One line per protocol and claim: the combined verdict of its primary measures (:func:`combined_verdict`).
    Notebook 00_quickstart."""
    lines = []
    for protocol in [p for p in PROTOCOLS if p in set(claims["protocol"])]:
        for claim, text in CLAIMS.items():
            primary = claims[(claims["protocol"] == protocol) & (claims["claim"] == claim) & claims["primary"]]
            overall = "not measured" if primary.empty else combined_verdict(primary["verdict"])
            lines.append({"protocol": protocol, "claim": claim, "statement": text, "verdict": overall})
    return pd.DataFrame(lines)


def format_claims(claims: pd.DataFrame) -> str:
    """The claim table as text: effect [low, high] per measure, then one verdict per claim and protocol.
    Notebook 00_quickstart."""
    shown = claims.assign(
        interval=[f"{e:+.2f} [{lo:+.2f}, {hi:+.2f}]" for e, lo, hi in zip(claims["effect"], claims["low"], claims["high"])],
        primary=claims["primary"].map({True: "*", False: ""}),
        p=[f"{p:.3f}" if np.isfinite(p) else "-" for p in claims["p_signflip"]],
        needed=[f"{int(n)}" if pd.notna(n) else "-" for n in claims["seeds_needed"]])
    detail = shown[["protocol", "claim", "primary", "measure", "task", "expected", "interval", "seeds", "p",
                    "needed", "verdict"]].to_string(index=False)
    summary = claim_summary(claims).to_string(index=False)
    return (f"{detail}\n\n(* primary measure; accuracy effects in points, SVE/LSVR in nats; 95 % t interval over "
            f"seeds; p: exact sign-flip test, which cannot go below 2 / 2^n (0.125 with 4 seeds); needed: seeds for an "
            f"interval reaching no more than the effect of interest {EFFECT_OF_INTEREST} either side of its mean; C3 "
            f"rows are the same features under both protocols)\n\n{summary}")


def headline_effects(claims: pd.DataFrame) -> dict[str, float]:
    """The claim table's effects as one flat dict, ``"protocol/claim/task/measure" -> effect``: what a batch run
    gathers from every cell (notebook 07_full_scale)."""
    return {f"{r.protocol}/{r.claim}/{r.task}/{r.measure}": float(r.effect) for r in claims.itertuples()}


def per_seed_effects(claims: pd.DataFrame) -> pd.DataFrame:
    """The claim table's per-seed effects, one row per protocol, measure and seed (the reference file's form).
    Notebook 00_quickstart."""
    return pd.DataFrame([{"protocol": r.protocol, "claim": r.claim, "measure": r.measure, "task": r.task,
                          "seed": seed, "effect": value}
                         for r in claims.itertuples() for seed, value in zip(r.seed_ids, r.per_seed)])


def reference_effects(path=REFERENCE_FILE) -> pd.DataFrame:
    """Per-seed effects of the quick preset (``studies/seed_spread.py`` writes them): the spread one-seed
    checks borrow, and what ``tests/test_science.py`` guards. Notebook 00_quickstart."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no reference effects at {path}; write them with studies/seed_spread.py")
    return pd.read_csv(path)


def reference_seeds(reference: pd.DataFrame, claim: str, measure: str, protocol: str = "tuned") -> pd.Series:
    """The reference sweep's per-seed effects of one claim measure, indexed by seed (notebook 00_quickstart)."""
    rows = reference[(reference["protocol"] == protocol) & (reference["claim"] == claim)
                     & (reference["measure"] == measure)]
    if rows.empty:
        raise ValueError(f"no reference effects for {claim} {measure!r} ({protocol}); see claim_table for the measures")
    return rows.set_index("seed")["effect"].sort_index()


def lesson_check(table: pd.DataFrame, claim: str, objective: str = "supervised", protocol: str = "tuned",
                 reference: pd.DataFrame | None = None) -> tuple[str, str]:
    """Does ``claim`` show in ``table``? Returns (verdict, a sentence that gives the numbers).

    With several seeds the primary measures' t intervals decide; with one, ``reference`` (per-seed effects of
    a sweep of the same preset, e.g. :func:`reference_effects`) lends its seed-to-seed spread.
    Notebook 00_quickstart.
    """
    if claim not in CLAIMS:
        raise ValueError(f"unknown claim {claim!r}; choose one of {list(CLAIMS)}")
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; choose one of {list(PROTOCOLS)}")
    rows = claim_table(table, objective, reference)
    primary = rows[(rows["protocol"] == protocol) & (rows["claim"] == claim) & rows["primary"]] if len(rows) else rows
    head = f"{claim} ({CLAIMS[claim]}), {protocol} protocol"
    if primary.empty:
        return "not measured", f"{head}: not measured in this table (see claim_table for what is needed)"
    summary = claim_summary(primary).set_index(["protocol", "claim"]).loc[(protocol, claim), "verdict"]
    if primary["seeds"].min() > 1:
        how = "95 % t intervals over seeds"
    elif reference is not None:
        how = ("one seed: each interval is the effect ± t(n - 1) · sd, with n and sd the seed count and seed-to-seed "
               "sd of the same effect in the reference sweep")
    else:
        how = "one seed and no reference sweep: no interval"
    lines = [f"{head}: {summary.upper()} ({how})"] + [f"  - {_measure_sentence(claim, row)}"
                                                      for row in primary.itertuples()]
    return summary, "\n".join(lines)


def _measure_sentence(claim: str, row) -> str:
    """One primary measure in words: its effect, interval, the bar it had to clear, and which verdict applies."""
    unit = "nats" if claim == "C3" else "points"
    interest = f"{EFFECT_OF_INTEREST[claim]:g} {unit[:-1] if EFFECT_OF_INTEREST[claim] == 1 else unit}"
    text = f"{row.measure}: effect {row.effect:+.2f} {unit}"
    if not np.isfinite(row.low):
        return f"{text}: no interval (one seed, no reference spread), so no verdict"
    half, sign = (row.high - row.low) / 2, 1 if row.expected == "+" else -1
    bar = f"> {sign * half:+.2f}" if sign > 0 else f"< {sign * half:+.2f}"
    text += (f", 95 % interval [{row.low:+.2f}, {row.high:+.2f}], {row.seeds} seed{'s' * (row.seeds > 1)}; "
             f"to hold it had to be {bar}: ")
    reason = {"holds": "holds (the whole interval lies on the claimed side of zero)",
              "opposite": "opposite (the whole interval lies on the other side of zero)",
              "underpowered": f"underpowered (the interval includes zero and reaches beyond the {interest} effect of "
                              f"interest; more seeds are needed"
                              + (f", about {row.seeds_needed:.0f} for an interval of ±{interest})"
                                 if pd.notna(row.seeds_needed) else ")"),
              "not resolved": f"not resolved (the interval includes zero but stays within ±{interest}: any effect "
                              f"is smaller than the one the lesson is about)"}
    return text + reason.get(row.verdict, row.verdict)


def prediction_half_width(reference_seeds, new_seeds: int, level: float = LEVEL) -> float | np.ndarray:
    """Half-width of the prediction interval for the mean of ``new_seeds`` new seeds around the mean of the
    reference's n seeds: t(n - 1) * sd * sqrt(1/m + 1/n). Under the same code, on any machine (whose rounding makes
    each seed a new draw), the new mean falls outside it with probability 1 - ``level`` (less where the new seeds
    are some of the reference's own, reproduced bit for bit). Seeds lie along the last axis of an array (one
    half-width per leading index). Notebook 00_quickstart."""
    seeds = np.asarray(reference_seeds, dtype=float)
    n = seeds.shape[-1]
    if new_seeds < 1 or n < 2:
        raise ValueError(f"a prediction interval needs at least 1 new seed and 2 reference seeds, got {new_seeds} "
                         f"and {n}; run more seeds")
    half = stats.t.ppf((1 + level) / 2, n - 1) * seeds.std(axis=-1, ddof=1) * math.sqrt(1 / new_seeds + 1 / n)
    return float(half) if np.ndim(half) == 0 else half


def agrees_with_reference(table: pd.DataFrame, claim: str, reference: pd.DataFrame, objective: str = "supervised",
                          protocol: str = "tuned", level: float = LEVEL, checks: int = 1) -> tuple[bool, str]:
    """Is each primary effect of ``claim`` in ``table`` (the mean of m seeds) inside its prediction interval around
    the ``reference`` sweep's n seeds (:func:`prediction_half_width`)? ``level`` holds for all the measures together,
    and for ``checks`` such calls together (a notebook checking four claims passes 4): each measure is checked at
    1 - (1 - level) / (measures x checks) (Bonferroni), so that when nothing changed all of them pass with
    probability ``level`` or more. A failure means the numbers moved from what was measured with this code, not
    that the claim changed verdict. Notebook 00_quickstart."""
    rows = claim_table(table, objective)
    primary = rows[(rows["protocol"] == protocol) & (rows["claim"] == claim) & rows["primary"]]
    ref = reference[reference["protocol"] == protocol]
    if primary.empty:
        return False, f"{claim}: no primary measure in this table"
    per_measure = 1 - (1 - level) / (len(primary) * checks)
    lines, agree = [], True
    for row in primary.itertuples():
        seeds = ref[(ref["claim"] == claim) & (ref["measure"] == row.measure) & (ref["task"] == row.task)]["effect"]
        if len(seeds) < 2:
            agree = False
            lines.append(f"{row.measure}: not in the reference")
            continue
        half = prediction_half_width(seeds, row.seeds, per_measure)
        inside = bool(abs(row.effect - seeds.mean()) <= half)  # a NaN effect is outside
        agree &= inside
        lines.append(f"{row.measure}: {row.effect:+.3f} here, {seeds.mean():+.3f} +- {half:.3f} expected from "
                     f"{len(seeds)} reference seeds ({'inside' if inside else 'OUTSIDE'})")
    return bool(agree), f"{claim}, {protocol} protocol: " + "; ".join(lines)
