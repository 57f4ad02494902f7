"""Claims in a results table: paired effects, one-sided states, conjunctions and unions, Holm, protocols."""


import numpy as np
import pandas as pd
import pytest

from nml_tutorial import claims, stats

from fake_results import fake_table


def verdicts(table):
    summary = claims.claim_summary(claims.claim_table(table))
    return dict(zip(summary["claim"], summary["verdict"]))


def test_effects_are_paired_differences_in_points():
    table = claims.claim_table(fake_table(id_slope=0.2, ood_slope=-0.2, jitter=0.0))
    c1 = table[(table["claim"] == "C1") & table["primary"]].iloc[0]
    assert c1["effect"] == pytest.approx(100 * 0.2 * 0.075)  # mean of 5 % and 10 %, in points
    c2 = table[(table["claim"] == "C2") & table["primary"]].iloc[0]
    assert "relative robustness" in c2["measure"]
    assert c2["effect"] == pytest.approx(100 * (-0.2 - 0.2) * 0.3)  # OOD - ID accuracy, 30 % minus clean
    literal = table[table["measure"] == "OOD accuracy, graded shifts (max)"].iloc[0]
    assert literal["effect"] == pytest.approx(100 * -0.2 * 0.3) and not literal["primary"]


def test_claim_states_follow_the_sign_and_the_size_of_the_effect():
    assert verdicts(fake_table(id_slope=0.2, ood_slope=-0.2, nmtune_gain=0.02)) == {
        "C1": "holds", "C2": "holds", "C3": "holds", "C4": "holds"}
    assert verdicts(fake_table(id_slope=-0.2, ood_slope=0.2, sve_slope=-1.0, nmtune_gain=-0.02)) == {
        "C1": "refuted", "C2": "refuted", "C3": "refuted", "C4": "refuted"}
    wide = verdicts(fake_table(id_slope=0.0, ood_slope=0.0, sve_slope=0.0, jitter=0.05))
    assert wide["C1"] == wide["C2"] == wide["C4"] == "underpowered"  # 5-point noise over 4 seeds: too wide to tell
    tight = verdicts(fake_table(id_slope=0.0, ood_slope=0.0, sve_slope=0.0, jitter=0.0005))
    assert tight["C1"] == tight["C2"] == tight["C4"] == "no effect of the claimed size"  # resolved: no point of effect
    small = verdicts(fake_table(id_slope=0.04, ood_slope=-0.2, jitter=0.0002))  # +0.3 points, tightly measured
    assert small["C1"] == "holds, smaller than claimed"


def test_a_conjunction_is_refuted_by_one_measure_against_it():
    table = claims.claim_table(fake_table(nmtune_gain=0.02, mlp_gain=0.04))  # beats the probe, loses to the MLP
    c4 = table[(table["claim"] == "C4") & table["primary"]]
    assert set(c4[c4["measure"].str.contains("linear_probe")]["verdict"]) == {"holds"}
    assert set(c4[c4["measure"].str.contains("mlp_head")]["verdict"]) == {"opposite"}
    assert set(c4["claim_verdict"]) == {"refuted"}


def test_holm_adjusts_within_a_claims_primary_measures_and_power_plans_for_them():
    table = claims.claim_table(fake_table(id_slope=0.1, jitter=0.01, digits=True))
    c1 = table[(table["claim"] == "C1") & table["primary"]]
    assert sorted(c1["task"]) == ["digits", "downstream_classes"]
    assert np.allclose(c1["p_claimed_decisive"], stats.holm(c1["p_claimed"].to_numpy()))  # a union: Holm
    assert c1["claim_verdict"].nunique() == 1
    row = c1.iloc[0]  # a union of two measures: 80 % power at alpha / 2
    assert row["seeds_needed"] == stats.seeds_needed(row["seed_sd"], claims.EFFECT_OF_INTEREST["C1"], 0.025)
    c4 = table[(table["claim"] == "C4") & table["primary"]]  # a conjunction: unadjusted, each measure at 0.8^(1/4)
    assert np.allclose(c4["p_claimed_decisive"], c4["p_claimed"])
    assert c4.iloc[0]["seeds_needed"] == stats.seeds_needed(c4.iloc[0]["seed_sd"], 1.0, 0.05, 0.8 ** 0.25)


def test_ood_sets_are_fixed_by_the_preset_not_chosen_by_accuracy():
    table = fake_table()
    table.loc[table["test_domain"] == "sketch", "accuracy"] = 0.1  # at chance: still a full-strength set
    assert claims.ood_sets(table, "downstream_classes") == {
        "graded": ["painting@0.50"], "full": ["sketch"], "all": ["painting@0.50", "sketch"]}


def test_protocols_get_rows_of_their_own_their_contrast_and_a_missing_clean_run_is_said():
    table = fake_table(jitter=0.01)
    study = table.assign(protocol="study", accuracy=table["accuracy"] + 0.01 * table["noise_ratio"])
    rows = claims.claim_table(pd.concat([table.assign(protocol="tuned"), study]))
    summary = claims.claim_summary(rows)
    assert sorted(set(summary["protocol"])) == ["study", "tuned"] and len(summary) == 8
    assert set(rows[rows["protocol"] == "study"]["role"]) == {"confirmatory"}
    contrasts = claims.protocol_contrasts(rows).set_index("claim")
    by_seed = rows[rows["primary"] & (rows["claim"] == "C1")].set_index("protocol")["per_seed"]
    expected = np.subtract(by_seed["study"], by_seed["tuned"])
    assert contrasts.loc["C1", "study - tuned"] == pytest.approx(expected.mean())
    assert (contrasts.loc["C1", "low"], contrasts.loc["C1", "high"]) == pytest.approx(stats.t_interval(expected))
    with pytest.raises(ValueError, match="noise ratio 0"):
        claims.claim_table(table[table["noise_ratio"] > 0])


def test_one_seed_tested_against_a_reference_spread_is_calibrated():
    rng = np.random.default_rng(1)
    decided = 0
    for _ in range(4000):
        reference = rng.normal(0, 1, 8)  # the effect over 8 other seeds: no effect
        tests = stats.measure_tests([rng.normal(0, 1)], +1, 1.0, 0.95, spread=(reference.std(ddof=1), 8))
        decided += tests["p_claimed"] <= 0.05
    assert decided / 4000 <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / 4000), decided / 4000
