"""Statistics for claims measured over seeds: each measure is a vector of per-seed paired effects.

A claim has a direction ``sign`` (+1 or -1) and an effect of interest ``delta > 0`` in the measure's units. Effects
are oriented, e = sign * values, so the claim predicts mean(e) > 0, and "of the claimed size" means mean(e) >= delta.
Each measure gets three one-sided t-tests (n - 1 df): mean(e) > 0 (p_claimed), mean(e) < 0 (p_opposite) and
mean(e) < delta (p_smaller). Which p-value decides depends on the claim's kind, and the measures' states and the
claim's state read the same ones:

- a conjunction ("all": every measure must hold) holds by the intersection-union test, every *unadjusted* p_claimed
  <= alpha; showing any measure opposite or smaller than delta is a union of hypotheses: Holm-adjusted;
- a union ("any": the claim shows on some dataset) holds if some *Holm-adjusted* p_claimed <= alpha; it is refuted
  by Holm-adjusted p_opposite; it is ruled out at the claimed size only if every *unadjusted* p_smaller <= alpha.

So, whatever the correlation between measures, a claim with no effect comes out "holds" (with or without "smaller")
at most alpha of the time, "refuted" at most alpha, and a claim whose every effect is delta comes out "no effect of
the claimed size" or "holds, smaller than claimed" at most alpha (tests/test_stats.py simulates these rates).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

MEASURE_STATES = ("holds", "holds, smaller than claimed", "no effect of the claimed size", "underpowered", "opposite")
CLAIM_STATES = ("holds", "holds, smaller than claimed", "no effect of the claimed size", "underpowered", "refuted",
                "mixed")
KINDS = ("all", "any")
FAMILIES = ("p_claimed", "p_opposite", "p_smaller")
ALTERNATIVES = ("greater", "less")


def _seeds(values, vector=False) -> np.ndarray:
    """Values as a float array with seeds along the last axis, checked: at least 2 seeds, all finite."""
    x = np.asarray(values, dtype=float)
    if x.ndim == 0 or (vector and x.ndim != 1):
        raise ValueError(f"expected {'a 1-D sequence' if vector else 'an array'} of per-seed values, "
                         f"got shape {x.shape}")
    if x.shape[-1] < 2:
        raise ValueError(f"{x.shape[-1]} seed(s) per measure: a t statistic needs at least 2; run more seeds")
    if not np.isfinite(x).all():
        raise ValueError("values contain NaN or inf (a failed or missing run?): rerun the failed seeds, or drop "
                         "them and run more seeds")
    return x


def _check_level(level: float, name="level") -> None:
    if not 0 < level < 1:
        raise ValueError(f"{name} must lie strictly between 0 and 1, got {level!r}")


def t_interval(values, level=0.95) -> tuple[float, float]:
    """Two-sided t interval (n - 1 df) at ``level`` for the mean of ``values``."""
    _check_level(level)
    x = _seeds(values, vector=True)
    n = x.size
    half = stats.t.ppf((1 + level) / 2, n - 1) * x.std(ddof=1) / math.sqrt(n)
    return float(x.mean() - half), float(x.mean() + half)


def _t_pvalues(values, null=0.0, alternative="greater") -> np.ndarray:
    """One-sided one-sample t-test p-values along the last axis (see one_sided_p); one per leading index."""
    if alternative not in ALTERNATIVES:
        raise ValueError(f"alternative must be one of {ALTERNATIVES}, got {alternative!r}")
    if not math.isfinite(null):
        raise ValueError(f"null must be a finite number, got {null!r}")
    x = _seeds(values)
    n = x.shape[-1]
    side = 1.0 if alternative == "greater" else -1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        t = side * (x.mean(-1) - null) * math.sqrt(n) / x.std(-1, ddof=1)
    constant = (x == x[..., :1]).all(-1)
    on_alternative_side = side * (x[..., 0] - null) > 0
    return np.where(constant, np.where(on_alternative_side, 0.0, 1.0), stats.t.sf(t, n - 1))


def one_sided_p(values, null=0.0, alternative="greater") -> float:
    """One-sample t-test p-value of H0: mean <= null against mean > null (``alternative="greater"``), or of
    H0: mean >= null against mean < null (``"less"``). When every value is the same (sd exactly 0) the t statistic
    is undefined: the p-value is then 0.0 if that value lies strictly on the alternative side of null, else 1.0."""
    return float(_t_pvalues(_seeds(values, vector=True), null, alternative))


def holm(pvalues) -> np.ndarray:
    """Holm step-down adjusted p-values, in the input's order: the k-th smallest of m is multiplied by m - k + 1,
    made non-decreasing in rank and capped at 1. An array is adjusted one family per leading index, along its last
    axis."""
    p = np.atleast_1d(np.asarray(pvalues, dtype=float))
    if np.isnan(p).any():
        raise ValueError("p-values contain NaN: compute every measure's test before adjusting")
    if ((p < 0) | (p > 1)).any():
        raise ValueError("p-values must lie in [0, 1]")
    m = p.shape[-1]
    order = np.argsort(p, axis=-1, kind="stable")
    ranked = np.take_along_axis(p, order, axis=-1) * (m - np.arange(m))
    adjusted = np.minimum(np.maximum.accumulate(ranked, axis=-1), 1.0)
    out = np.empty_like(adjusted)
    np.put_along_axis(out, order, adjusted, axis=-1)
    return out


def _check_claim(sign, delta) -> None:
    if sign not in (1, -1):
        raise ValueError(f"sign must be +1 or -1 (the claimed direction), got {sign!r}")
    if not (math.isfinite(delta) and delta > 0):
        raise ValueError(f"delta (the effect of interest) must be a positive finite number, got {delta!r}")


def _summary_pvalues(mean, se, df, sign, delta) -> dict[str, np.ndarray]:
    """The FAMILIES p-values of oriented means ``sign * mean`` with standard errors ``se`` and ``df`` degrees of
    freedom: oriented mean <= 0 (p_claimed), >= 0 (p_opposite) and >= delta (p_smaller) as the null hypotheses.
    A zero standard error decides by the side of the null the mean lies on."""
    e = sign * np.asarray(mean, dtype=float)
    se = np.asarray(se, dtype=float)

    def p(null, side):
        with np.errstate(divide="ignore", invalid="ignore"):
            t = side * (e - null) / se
        return np.where(se == 0, np.where(side * (e - null) > 0, 0.0, 1.0), stats.t.sf(t, df))

    return {"p_claimed": p(0.0, 1.0), "p_opposite": p(0.0, -1.0), "p_smaller": p(delta, -1.0)}


def _family_pvalues(values, sign, delta) -> dict[str, np.ndarray]:
    """The FAMILIES p-values of each measure from its per-seed values (seeds along the last axis)."""
    _check_claim(sign, delta)
    x = _seeds(values)
    n = x.shape[-1]
    constant = (x == x[..., :1]).all(-1)  # an exact zero sd, whatever the rounding of std
    se = np.where(constant, 0.0, x.std(-1, ddof=1) / math.sqrt(n))
    return _summary_pvalues(x.mean(-1), se, n - 1, sign, delta)


def measure_tests(values, sign, delta, level=0.95, spread: tuple[float, int] | None = None) -> dict:
    """One measure's summary: the mean effect (raw, not oriented), the two-sided interval whose ends are the
    one-sided ``level`` bounds (low, high; raw units), the p-values of FAMILIES, the sd and the number of seeds.

    One seed needs ``spread`` = (sd, n) of the same effect over n other seeds (a reference sweep): its value is
    then tested with standard error sd and n - 1 degrees of freedom (valid when those seeds exclude this one)."""
    if not 0.5 < level < 1:
        raise ValueError(f"level is a one-sided confidence: it must lie strictly between 0.5 and 1, got {level!r}")
    _check_claim(sign, delta)
    x = np.atleast_1d(np.asarray(values, dtype=float))
    if x.size == 1 and spread is not None:
        if not np.isfinite(x).all():
            raise ValueError("the value is NaN or inf (a failed run?): rerun that seed")
        sd, reference_seeds = spread
        mean, se, df, n = float(x[0]), float(sd), reference_seeds - 1, 1
        p = _summary_pvalues(mean, se, df, sign, delta)
        half = stats.t.ppf(level, df) * se
        low, high = mean - half, mean + half
    else:
        x = _seeds(x, vector=True)
        mean, sd, n = float(x.mean()), float(x.std(ddof=1)), int(x.size)
        low, high = t_interval(x, 1 - 2 * (1 - level))
        p = _family_pvalues(x, sign, delta)
    return {"effect": mean, "low": float(low), "high": float(high), **{k: float(v) for k, v in p.items()},
            "sd": float(sd), "n": n}


def _decisive(p: dict, kind: str) -> dict[str, np.ndarray]:
    """The p-values that decide each family for a claim of ``kind`` (measures along the last axis): Holm-adjusted
    where the family is read as a union over the measures, unadjusted where it is an intersection-union test."""
    if kind not in KINDS:
        raise ValueError(f"kind must be 'all' (every measure must hold) or 'any' (the claim shows on some measure), "
                         f"got {kind!r}")
    unadjusted = {"all": ("p_claimed",), "any": ("p_smaller",)}[kind]
    return {k: np.asarray(p[k], dtype=float) if k in unadjusted else holm(p[k]) for k in FAMILIES}


def _measure_codes(decisive: dict, alpha: float) -> np.ndarray:
    """Index into MEASURE_STATES of each measure, from its decisive p-values."""
    claimed, opposite, smaller = (decisive[k] <= alpha for k in FAMILIES)
    conditions = [opposite, claimed & ~smaller, claimed & smaller, smaller]
    states = ["opposite", "holds", "holds, smaller than claimed", "no effect of the claimed size"]
    return np.select(conditions, [MEASURE_STATES.index(s) for s in states],
                     default=MEASURE_STATES.index("underpowered"))


def _claim_codes(decisive: dict, kind: str, alpha: float) -> np.ndarray:
    """Index into CLAIM_STATES of a claim of ``kind`` from its measures' decisive p-values (measures along the last
    axis; one verdict per leading index). Each claim state follows from its measures' states."""
    shown = {k: decisive[k] <= alpha for k in FAMILIES}
    some_opposite = shown["p_opposite"].any(-1)
    if kind == "all":
        every_claimed = shown["p_claimed"].all(-1)
        some_smaller = shown["p_smaller"].any(-1)
        conditions = [some_opposite, every_claimed & ~some_smaller, every_claimed & some_smaller, some_smaller]
        states = ["refuted", "holds", "holds, smaller than claimed", "no effect of the claimed size"]
    else:
        some_claimed = shown["p_claimed"].any(-1)
        some_full_size = (shown["p_claimed"] & ~shown["p_smaller"]).any(-1)
        every_smaller = shown["p_smaller"].all(-1)
        conditions = [some_claimed & some_opposite, some_opposite, some_full_size, some_claimed, every_smaller]
        states = ["mixed", "refuted", "holds", "holds, smaller than claimed", "no effect of the claimed size"]
    return np.select(conditions, [CLAIM_STATES.index(s) for s in states], default=CLAIM_STATES.index("underpowered"))


def claim_verdicts(tests: list[dict], kind: str, alpha=0.05) -> tuple[str, list[str], dict[str, list[float]]]:
    """(claim state, one state per measure, the decisive p-values per family) of a claim whose primary measures
    gave ``tests`` (outputs of measure_tests). ``kind`` is "all" for a conjunction, "any" for a union over datasets;
    the rules are in the module docstring."""
    if not tests:
        raise ValueError("a claim needs at least one primary measure: pass one measure_tests result per measure")
    _check_level(alpha, "alpha")
    p = {k: np.array([t[k] for t in tests], dtype=float) for k in FAMILIES}
    decisive = _decisive(p, kind)
    claim = CLAIM_STATES[int(_claim_codes(decisive, kind, alpha))]
    measures = [MEASURE_STATES[i] for i in _measure_codes(decisive, alpha)]
    return claim, measures, {k: decisive[k].tolist() for k in FAMILIES}


def simulated_claim_states(effect: float, kind: str, rho: float = 0.0, measures: int = 4, n: int = 8,
                           delta: float = 1.0, sims: int = 20_000, alpha: float = 0.05, seed: int = 0) -> np.ndarray:
    """The states (names from :data:`CLAIM_STATES`) of ``sims`` simulated claims of ``kind``: ``measures`` measures
    correlated ``rho``, each of ``n`` seeds with true effect ``effect`` and sd 1, judged at effect of interest
    ``delta``: how the claim-level error rates and power are checked."""
    cov = (1 - rho) * np.eye(measures) + rho
    draws = np.random.default_rng(seed).multivariate_normal(np.full(measures, effect), cov, size=(sims, n))
    codes = _claim_codes(_decisive(_family_pvalues(draws.transpose(0, 2, 1), 1, delta), kind), kind, alpha)
    return np.array(CLAIM_STATES)[codes]


def power(n, delta_over_sd, alpha=0.05) -> float:
    """Power of the one-sided one-sample t-test at level ``alpha`` with ``n`` seeds when the true mean is
    ``delta_over_sd`` standard deviations beyond the null (noncentral t with n - 1 df)."""
    _check_level(alpha, "alpha")
    if n < 2:
        raise ValueError(f"the t-test needs at least 2 seeds, got n={n}")
    if not math.isfinite(delta_over_sd):
        raise ValueError(f"delta_over_sd must be finite, got {delta_over_sd!r}")
    return float(stats.nct.sf(stats.t.ppf(1 - alpha, n - 1), n - 1, delta_over_sd * math.sqrt(n)))


def seeds_needed(sd, delta, alpha=0.05, target=0.8, most=1000) -> int | None:
    """The fewest seeds (at least 2) that give the one-sided test ``target`` power to see an effect of exactly
    ``delta`` when the per-seed spread is ``sd``; None if sd is not finite or more than ``most`` seeds are needed.
    ``alpha`` is the per-measure level: pass alpha / m to plan for m measures (Bonferroni)."""
    _check_level(alpha, "alpha")
    _check_level(target, "target")
    if not (math.isfinite(delta) and delta > 0):
        raise ValueError(f"delta (the effect of interest) must be a positive finite number, got {delta!r}")
    if not math.isfinite(sd):
        return None
    if sd < 0:
        raise ValueError(f"sd must be non-negative, got {sd!r}")
    if sd == 0:
        return 2
    n = np.arange(2, most + 1)
    reached = stats.nct.sf(stats.t.ppf(1 - alpha, n - 1), n - 1, delta / sd * np.sqrt(n)) >= target
    return int(n[reached.argmax()]) if reached.any() else None


def prediction_half_width(reference_seeds, new_seeds, level=0.95):
    """Half-width t * sd * sqrt(1/new_seeds + 1/n) of the ``level`` prediction interval for the mean of
    ``new_seeds`` new seeds around the mean of the n reference seeds (t with n - 1 df). Seeds lie along the last
    axis: one half-width per leading index, a float for 1-D input."""
    _check_level(level)
    if new_seeds < 1:
        raise ValueError(f"new_seeds is how many new seeds are averaged: pass at least 1, got {new_seeds!r}")
    x = _seeds(reference_seeds)
    n = x.shape[-1]
    width = stats.t.ppf((1 + level) / 2, n - 1) * x.std(-1, ddof=1) * math.sqrt(1 / new_seeds + 1 / n)
    return float(width) if x.ndim == 1 else width
