"""CI guards the science: the quick preset, 4 seeds, must keep showing what docs/quick-results.md measured.

The claim that holds at quick scale (C3) is asserted to hold; its effect and C2's are asserted to stay within
three standard errors of the mean around the values measured; claims that do not hold are asserted to be
*reported* as not holding. A change to data, model or training that moves the science
either way fails here. Reference values: `python studies/seed_spread.py` (its docstring says how).
"""

import math

import pytest

from nml_tutorial import claims
from nml_tutorial.experiments import run_sweep

# measure -> (mean effect over seeds 0-3, seed-to-seed standard deviation), measured 2026-11-28 in fp32
# (docs/quick-results.md)
REFERENCE = {
    "C2": {"OOD accuracy, mean of OOD sets (max)": (-3.219, 3.164)},
    "C3": {"SVE of ID features (max)": (0.195, 0.092), "LSVR of ID features (max)": (0.219, 0.097)},
}
HOLDS = ("C3",)  # C2's fall (t interval [-8.3, +1.8]) is not resolved by 4 seeds: only its size is guarded
NOT_HOLDING = ("C1", "C4")


@pytest.fixture(scope="module")
def quick_claims(run_cache):
    # seed 0's three models come from the model zoo (tests/test_zoo.py retrains one and checks it matches);
    # seeds 1-3 are trained here, and every feature, probe and head is computed in this fresh cache
    table = run_sweep("quick", seeds=[0, 1, 2, 3], cache_dir=run_cache, progress=False, zoo=True).table
    return claims.claim_table(table)


@pytest.mark.slow
@pytest.mark.parametrize("claim", sorted(REFERENCE))
def test_claim_effects_stay_where_they_were_measured(quick_claims, claim):
    rows = quick_claims[(quick_claims["claim"] == claim) & (quick_claims["task"] == claims.PRIMARY_TASK)]
    rows = rows.set_index("measure")
    for measure, (mean, sd) in REFERENCE[claim].items():
        row = rows.loc[measure]
        if claim in HOLDS:
            assert row["verdict"] == "holds", f"{claim} {measure}: {row.to_dict()}"
        band = 3 * sd / math.sqrt(row["seeds"])
        assert abs(row["effect"] - mean) <= band, f"{claim} {measure}: {row['effect']:.3f} left {mean} ± {band:.3f}"


@pytest.mark.slow
@pytest.mark.parametrize("claim", NOT_HOLDING)
def test_claims_that_do_not_hold_are_reported_as_such(quick_claims, claim):
    summary = claims.claim_summary(quick_claims).set_index("claim")
    assert summary.loc[claim, "verdict"] in ("not resolved", "opposite"), summary.loc[claim].to_dict()
