"""The committed reference runs: complete, never holding a judged seed, and a calibrated agreement check."""


import numpy as np
import pytest
from scipy import stats as scipy_stats

from nml_tutorial import claims, reference_runs, stats

from fake_results import fake_table


def test_the_committed_reference_has_every_primary_measure_and_none_of_the_judged_seeds():
    reference = reference_runs.reference_effects()
    assert set(reference["protocol"]) == set(claims.PROTOCOLS)
    counts = reference.groupby(["protocol", "claim", "measure", "task"])["seed"].nunique()
    assert counts.min() >= 8
    assert not set(reference["seed"]) & {0, 1, 2, 3}  # the notebooks' and CI's seeds are judged against it
    table = claims.claim_table(fake_table(seeds=(0,), digits=True))
    primary = table[table["primary"]][["protocol", "claim", "measure", "task"]].drop_duplicates()
    for protocol in claims.PROTOCOLS:
        for row in primary.itertuples():
            assert ((reference["protocol"] == protocol) & (reference["claim"] == row.claim)
                    & (reference["measure"] == row.measure) & (reference["task"] == row.task)).any(), row


def test_the_committed_reference_table_gives_exactly_the_committed_reference_effects():
    """The runs the notebooks draw and quote are the runs whose effects judge them: recomputed, not copied."""
    recomputed = claims.per_seed_effects(claims.claim_table(reference_runs.reference_results()))
    committed = reference_runs.reference_effects()
    keys = ["protocol", "claim", "measure", "task", "seed"]
    both = recomputed.merge(committed, on=keys, how="outer", suffixes=("_recomputed", "_committed"), indicator=True)
    assert (both["_merge"] == "both").all(), both[both["_merge"] != "both"][keys]
    assert np.allclose(both["effect_recomputed"], both["effect_committed"], atol=1e-5, equal_nan=True)


def test_agreement_with_the_reference_is_a_prediction_interval_for_new_seeds():
    reference = claims.per_seed_effects(claims.claim_table(fake_table(seeds=range(10, 18), sve_slope=1.0)))
    with pytest.raises(ValueError, match="contains seeds"):
        claims.claim_table(fake_table(seeds=(10,)), reference=reference)
    agree, message = reference_runs.agrees_with_reference(fake_table(seeds=(0,), sve_slope=1.0), "C3", reference)
    assert agree and "inside" in message
    moved = reference_runs.agrees_with_reference(fake_table(seeds=(0,), sve_slope=2.0), "C3", reference)
    assert not moved[0] and "OUTSIDE" in moved[1]
    with pytest.raises(ValueError, match="contains seeds"):
        reference_runs.agrees_with_reference(fake_table(seeds=(10,), sve_slope=1.0), "C3", reference)


def test_agreement_splits_its_level_over_measures_and_checks():
    reference = claims.per_seed_effects(claims.claim_table(fake_table(seeds=range(10, 18), sve_slope=1.0, jitter=0.02)))
    table = fake_table(seeds=(0,), sve_slope=1.0, jitter=0.02)
    half = lambda message: float(message.split("+- ")[1].split()[0])  # noqa: E731
    one, four = (reference_runs.agrees_with_reference(table, "C3", reference, checks=k)[1] for k in (1, 4))
    assert half(four) > half(one)  # four claims checked together: each measure at a stricter level, a wider interval


def test_the_science_guard_false_alarms_at_most_5_percent_of_the_time_when_nothing_changed():
    """tests/test_science.py's rule, simulated: 18 measures (its primary measures, both protocols), 8 reference seeds,
    4 new seeds, all drawn from one distribution per measure (the same code on another machine); it alarms when any
    new mean leaves its prediction interval at the per-measure level 1 - 0.05 / 18."""
    rng, sims, measures = np.random.default_rng(0), 20_000, 18
    level = 1 - 0.05 / measures
    reference = rng.normal(size=(sims, measures, 8))
    new = rng.normal(size=(sims, measures, 4)).mean(-1)
    half = stats.prediction_half_width(reference, 4, level)
    alarms = (np.abs(new - reference.mean(-1)) > half).any(-1).mean()
    assert 0.035 < alarms < 0.055, alarms  # Bonferroni's bound, nearly reached: the measures are independent here
    shifted = new.copy()
    shifted[:, 0] += 4.0  # a change that moves one effect by 4 seed-to-seed sd
    caught = (np.abs(shifted - reference.mean(-1)) > half).any(-1).mean()
    assert caught > 0.6, caught
    one = stats.prediction_half_width([1.0, 2.0, 3.0], 1)
    assert one == pytest.approx(scipy_stats.t.ppf(0.975, 2) * 1.0 * np.sqrt(1 + 1 / 3))
