import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from nml_tutorial import stats

SIMS = 20_000
ALPHA = 0.05
# a false-positive rate may exceed alpha by Monte-Carlo noise only: 3 standard errors of a rate of alpha
BOUND = ALPHA + 3 * math.sqrt(ALPHA * (1 - ALPHA) / SIMS)
# eight seeds, mean exactly 0, sd about 1
BASE = np.array([-1.5, -1.0, -0.5, -0.2, 0.2, 0.5, 1.0, 1.5])


def state(values, sign=1, delta=1.0):
    """The state of a claim made of one measure, as the measure sees it."""
    return stats.claim_verdicts([stats.measure_tests(values, sign, delta)], "all")[1][0]


def test_t_interval_and_one_sided_p_agree_with_scipy():
    x = np.random.default_rng(0).normal(0.3, 1.0, 9)
    assert np.allclose(stats.t_interval(x, 0.9), scipy_stats.ttest_1samp(x, 0).confidence_interval(0.9))
    for null in (-0.5, 0.0, 0.4):
        for alternative in ("greater", "less"):
            expected = scipy_stats.ttest_1samp(x, null, alternative=alternative).pvalue
            assert stats.one_sided_p(x, null, alternative) == pytest.approx(expected, rel=1e-10)


def test_measure_interval_ends_are_the_one_sided_bounds():
    x = np.random.default_rng(1).normal(0.3, 1.0, 8)
    result = stats.measure_tests(x, 1, 1.0, level=0.95)
    assert result["low"] == pytest.approx(scipy_stats.ttest_1samp(x, 0, alternative="greater")
                                          .confidence_interval(0.95).low)
    assert result["high"] == pytest.approx(scipy_stats.ttest_1samp(x, 0, alternative="less")
                                           .confidence_interval(0.95).high)


@pytest.mark.parametrize("function", [stats.t_interval, stats.one_sided_p])
@pytest.mark.parametrize("values", [[1.0], [1.0, float("nan"), 2.0], [1.0, float("inf")]])
def test_too_few_or_broken_seeds_name_the_fix(function, values):
    with pytest.raises(ValueError, match="run more seeds"):
        function(values)


def test_identical_values_decide_by_their_side_of_the_null():
    assert stats.one_sided_p([2.0, 2.0, 2.0], 1.0, "greater") == 0.0
    assert stats.one_sided_p([2.0, 2.0, 2.0], 2.0, "greater") == 1.0
    assert stats.one_sided_p([2.0, 2.0, 2.0], 1.0, "less") == 1.0
    assert stats.one_sided_p([2.0, 2.0, 2.0], 3.0, "less") == 0.0


def test_holm_matches_a_hand_worked_example():
    assert np.allclose(stats.holm([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02])
    assert np.allclose(stats.holm([0.5, 0.4, 0.01]), [0.8, 0.8, 0.03])  # capped and monotone
    assert np.allclose(stats.holm([0.9, 0.6]), [1.0, 1.0])


def test_holm_is_monotone_in_rank_and_adjusts_rows_separately():
    p = np.random.default_rng(2).uniform(0, 0.2, (50, 6))
    adjusted = stats.holm(p)
    assert np.allclose(adjusted, [stats.holm(row) for row in p])
    assert (adjusted >= p).all() and (adjusted <= 1).all()
    ranked = np.take_along_axis(adjusted, np.argsort(p, axis=-1), axis=-1)
    assert (np.diff(ranked, axis=-1) >= 0).all()


def test_holm_rejects_nan():
    with pytest.raises(ValueError, match="NaN"):
        stats.holm([0.01, float("nan")])


@pytest.mark.parametrize("values, expected", [
    (3.0 + 0.3 * BASE, "holds"),
    (0.2 + 0.05 * BASE, "holds, smaller than claimed"),
    (0.05 * BASE, "no effect of the claimed size"),
    (2.0 * BASE, "underpowered"),
    (-3.0 + 0.3 * BASE, "opposite"),
])
def test_measure_states_of_clear_cases(values, expected):
    assert state(values) == expected
    assert state(-values, sign=-1) == expected


def test_sign_minus_one_flips_the_claimed_direction():
    values = 0.2 + 0.05 * BASE
    plus, minus = stats.measure_tests(values, 1, 1.0), stats.measure_tests(-values, -1, 1.0)
    assert minus["effect"] == pytest.approx(-plus["effect"])
    assert (minus["low"], minus["high"]) == pytest.approx((-plus["high"], -plus["low"]))
    assert all(minus[k] == pytest.approx(plus[k]) for k in stats.FAMILIES)
    assert state(values, sign=-1) == "opposite"
    assert state(-3.0 + 0.3 * BASE, sign=-1) == "holds"


def test_conjunction_and_union_read_the_same_measures_differently():
    strong, unclear, negative = (stats.measure_tests(v, 1, 1.0) for v in (3.0 + 0.3 * BASE, 2.0 * BASE,
                                                                          -3.0 + 0.3 * BASE))
    assert stats.claim_verdicts([strong, unclear], "all")[0] == "underpowered"
    assert stats.claim_verdicts([strong, unclear], "any")[0] == "holds"
    assert stats.claim_verdicts([strong, negative], "all")[0] == "refuted"
    assert stats.claim_verdicts([strong, negative], "any")[0] == "mixed"
    assert stats.claim_verdicts([strong, strong], "all")[0] == "holds"
    with pytest.raises(ValueError, match="kind must be"):
        stats.claim_verdicts([strong], "both")


def test_a_single_measure_claim_reads_the_same_for_both_kinds():
    seen = set()
    for mean in np.linspace(-3, 3, 25):
        for spread in (0.02, 0.3, 2.0):
            for sign in (1, -1):
                tests = [stats.measure_tests(mean + spread * BASE, sign, 1.0)]
                conjunction, (measure,), _ = stats.claim_verdicts(tests, "all")
                union = stats.claim_verdicts(tests, "any")[0]
                expected = "refuted" if measure == "opposite" else measure
                assert conjunction == union == expected, (mean, spread, sign)
                seen.add(measure)
    assert seen == set(stats.MEASURE_STATES)


def simulated_claims(seed, effect, rho, kind):
    """States of SIMS simulated claims of 4 correlated measures of 8 seeds each, every true effect ``effect``."""
    return stats.simulated_claim_states(effect, kind, rho, sims=SIMS, alpha=ALPHA, seed=seed)


def rate(states, *names):
    return float(np.isin(states, names).mean())


@pytest.mark.parametrize("kind", stats.KINDS)
@pytest.mark.parametrize("rho", [0.0, 0.7])
def test_claim_verdicts_keep_their_error_rates(kind, rho):
    null = simulated_claims(10, 0.0, rho, kind)
    holds = rate(null, "holds")
    shows = rate(null, "holds", "holds, smaller than claimed", "mixed")
    refuted = rate(null, "refuted", "mixed")
    at_delta = simulated_claims(11, 1.0, rho, kind)
    no_effect = rate(at_delta, "no effect of the claimed size")
    says_smaller = rate(at_delta, "no effect of the claimed size", "holds, smaller than claimed")
    report = (f"kind={kind} rho={rho}: true effect 0 -> holds {holds:.4f}, shows the claimed direction {shows:.4f}, "
              f"refuted {refuted:.4f}; true effect delta -> no effect of the claimed size {no_effect:.4f}, "
              f"smaller than delta in all {says_smaller:.4f}; bound {BOUND:.4f}")
    assert shows <= BOUND, report
    assert refuted <= BOUND, report
    assert says_smaller <= BOUND, report


@pytest.mark.parametrize("kind", stats.KINDS)
def test_a_claims_state_follows_from_its_measures_states(kind):
    draws = np.random.default_rng(12).normal(0.6, 1.0, (3000, 3, 8)) * np.array([1.0, 0.5, 2.0])[:, None]
    p = stats._family_pvalues(draws, 1, 1.0)
    decisive = stats._decisive(p, kind)
    claims = [stats.CLAIM_STATES[c] for c in stats._claim_codes(decisive, kind, ALPHA)]
    measures = np.array(stats.MEASURE_STATES)[stats._measure_codes(decisive, ALPHA)]
    holding = np.isin(measures, ["holds", "holds, smaller than claimed"])
    for claim, states, holds in zip(claims, measures, holding):
        if "opposite" in states:
            assert claim in ("refuted", "mixed"), (claim, states)
        elif kind == "all":
            assert (claim in ("holds", "holds, smaller than claimed")) == holds.all(), (claim, states)
            assert (claim == "holds, smaller than claimed") == (holds.all() and "holds, smaller than claimed" in states)
        else:
            assert (claim == "holds") == ("holds" in states), (claim, states)
            assert (claim == "no effect of the claimed size") == (states == "no effect of the claimed size").all()


def simulated_power(seed, n, delta_over_sd):
    draws = np.random.default_rng(seed).normal(delta_over_sd, 1.0, (SIMS, n))
    return float((stats._t_pvalues(draws, 0.0, "greater") <= ALPHA).mean())


@pytest.mark.parametrize("n, delta_over_sd", [(7, 1.0), (4, 0.5), (12, 0.8), (30, 0.3)])
def test_power_formula_matches_simulation(n, delta_over_sd):
    formula, simulated = stats.power(n, delta_over_sd), simulated_power(n, n, delta_over_sd)
    assert simulated == pytest.approx(formula, abs=0.02), f"n={n}: formula {formula:.4f}, simulated {simulated:.4f}"


def test_seeds_needed_gives_the_target_power_and_no_fewer_seeds_do():
    n = stats.seeds_needed(1.0, 1.0)
    assert stats.power(n - 1, 1.0) < 0.8 <= stats.power(n, 1.0)
    simulated = simulated_power(20, n, 1.0)
    assert simulated >= 0.78 and simulated == pytest.approx(stats.power(n, 1.0), abs=0.02), \
        f"n={n}: formula {stats.power(n, 1.0):.4f}, simulated {simulated:.4f}"
    # the two-sided 95 % interval at n - 1 seeds is narrower than +-1 sd, yet the power falls short of 0.8
    assert scipy_stats.t.ppf(0.975, n - 2) / math.sqrt(n - 1) < 1.0


def test_seeds_needed_plans_for_several_measures_and_gives_up_when_it_must():
    assert stats.seeds_needed(1.0, 1.0, alpha=ALPHA / 4) > stats.seeds_needed(1.0, 1.0)
    assert stats.seeds_needed(float("nan"), 1.0) is None
    assert stats.seeds_needed(10.0, 0.1, most=50) is None


def test_prediction_half_width_is_vectorised():
    reference = np.random.default_rng(30).normal(0, 1, (5, 3, 8))
    widths = stats.prediction_half_width(reference, 4)
    assert widths.shape == (5, 3)
    assert np.allclose(widths, [[stats.prediction_half_width(row, 4) for row in block] for block in reference])
    assert isinstance(stats.prediction_half_width(reference[0, 0], 4), float)


def test_prediction_interval_covers_the_mean_of_new_seeds():
    draws = np.random.default_rng(31).normal(0, 1, (SIMS, 12))
    reference, new = draws[:, :8], draws[:, 8:]
    covered = np.abs(new.mean(-1) - reference.mean(-1)) <= stats.prediction_half_width(reference, 4)
    assert covered.mean() == pytest.approx(0.95, abs=0.01), f"coverage {covered.mean():.4f}"


@pytest.mark.parametrize("reference, new_seeds, message", [([1.0, 2.0], 0, "at least 1"),
                                                           ([1.0], 4, "run more seeds")])
def test_prediction_half_width_rejects_what_it_cannot_use(reference, new_seeds, message):
    with pytest.raises(ValueError, match=message):
        stats.prediction_half_width(reference, new_seeds)
