"""CI guards the science: the quick preset's claim effects must stay where they were measured.

The quick preset's held-out-class task runs for seeds 0-3 under both protocols in this session's own temporary cache (seed 0's
models from the model zoo, which tests/test_zoo.py checks against a retrained one; seeds 1-3 trained here).
Each primary measure's mean effect must lie inside the 95 % t interval of the same seeds' effects recorded in
``nml_tutorial/reference/quick_effects.csv`` (written by ``studies/seed_spread.py``, see docs/quick-results.md).
A verdict may change either way; the test fails only when a number has moved out of its recorded interval.
"""

import pytest

from nml_tutorial import claims
from nml_tutorial.presets import get_preset
from nml_tutorial.sweep import run_sweep

SEEDS = [0, 1, 2, 3]


@pytest.fixture(scope="module")
def quick_claims(run_cache):
    # every primary measure is on the held-out-class task: the other tasks (supporting rows) are left out for time
    preset = get_preset("quick", seeds=SEEDS, tasks=[claims.PRIMARY_TASK])
    table = run_sweep(preset, cache_dir=run_cache, progress=False, zoo=True).table
    return claims.claim_table(table)


def recorded_intervals():
    reference = claims.reference_effects()
    reference = reference[reference["seed"].isin(SEEDS)]
    return {key: claims.t_interval(group.sort_values("seed")["effect"])
            for key, group in reference.groupby(["protocol", "claim", "measure", "task"])}


@pytest.mark.slow
@pytest.mark.parametrize("protocol", claims.PROTOCOLS)
def test_primary_effects_stay_inside_their_recorded_intervals(quick_claims, protocol):
    intervals = recorded_intervals()
    primary = quick_claims[(quick_claims["protocol"] == protocol) & quick_claims["primary"]]
    assert set(primary["claim"]) == set(claims.CLAIMS), primary["claim"].tolist()
    for row in primary.itertuples():
        assert row.seeds == len(SEEDS)
        low, high = intervals[(protocol, row.claim, row.measure, row.task)]
        assert low <= row.effect <= high, (f"{protocol} {row.claim} {row.measure}: {row.effect:+.3f} left its "
                                           f"recorded interval [{low:+.3f}, {high:+.3f}] ({row.verdict})")
