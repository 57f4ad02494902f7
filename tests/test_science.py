"""CI guards the science: the quick preset's claim effects must stay where they were measured.

The quick preset's held-out-class and MNIST tasks run for seeds 0-3 under both protocols in the repository's run cache
(seed 0's models from the model zoo, which tests/test_zoo.py checks against a retrained one; seeds 1-3 trained here).
Each primary measure's mean effect over the 4 seeds must lie in the prediction interval of the 8 seeds (10-17, none
of the 4) recorded in ``nml_tutorial/reference/quick_effects.csv`` (the confirmatory sweep of
docs/preregistration.md, written by ``studies/seed_spread.py``, see docs/quick-results.md):
reference mean +- t(7) * sd * sqrt(1/4 + 1/8), at the per-measure level 1 - 0.05 / m for m measures (Bonferroni), so
that when nothing changed the whole test alarms at most 5 % of the time. That holds on any machine: where the CPU
rounds differently each seed trains into another draw of the same distribution, which is what the interval is for.
tests/test_claims.py simulates the rule: 5 % false alarms, a shift of 4 sd caught in most runs. A verdict may change
either way; the test fails only when a number has moved out of its interval.
"""

import pytest

from nml_tutorial import claims, stats
from nml_tutorial.presets import get_preset
from nml_tutorial.sweep import run_sweep

SEEDS = [0, 1, 2, 3]


@pytest.fixture(scope="module")
def quick_claims(run_cache):
    # every primary measure is on these tasks: the others (supporting rows only) are left out for time
    preset = get_preset("quick", seeds=SEEDS, tasks=list(claims.C1_PRIMARY_TASKS))
    table = run_sweep(preset, cache_dir=run_cache, progress=False, zoo=True).table
    return claims.claim_table(table)


FAMILY_LEVEL = 0.95  # all primary measures of both protocols together


@pytest.mark.slow
def test_primary_effects_stay_inside_their_prediction_intervals(quick_claims):
    reference = claims.reference_effects()
    primary = quick_claims[quick_claims["primary"]]
    for protocol in claims.PROTOCOLS:
        assert set(primary[primary["protocol"] == protocol]["claim"]) == set(claims.CLAIMS), protocol
    level = 1 - (1 - FAMILY_LEVEL) / len(primary)
    outside = []
    for row in primary.itertuples():
        assert row.seeds == len(SEEDS)
        key = (reference["protocol"] == row.protocol) & (reference["claim"] == row.claim) & (
            reference["measure"] == row.measure) & (reference["task"] == row.task)
        recorded = reference[key]["effect"]
        assert len(recorded) >= 8, f"{row.protocol} {row.claim} {row.measure}: not in the reference"
        assert not set(reference[key]["seed"]) & set(SEEDS), "the reference must not contain the seeds it judges"
        half = stats.prediction_half_width(recorded, row.seeds, level)
        if not abs(row.effect - recorded.mean()) <= half:  # a NaN effect fails too
            outside.append(f"{row.protocol} {row.claim} {row.measure}: {row.effect:+.3f} over seeds {SEEDS}, "
                           f"{recorded.mean():+.3f} +- {half:.3f} expected ({row.verdict})")
    assert not outside, f"effects left their intervals (per-measure level {level:.4f}): " + "; ".join(outside)
