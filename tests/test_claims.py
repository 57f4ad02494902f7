from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from nml_tutorial import claim_text, claims, reference_runs, stats
from nml_tutorial.cli import main


def fake_table(seeds=(0, 1, 2, 3), id_slope=0.0, ood_slope=-0.2, sve_slope=1.0, nmtune_gain=0.0, mlp_gain=0.0,
               jitter=0.002, digits=False):
    """Linear-probe, MLP and NMTune rows whose accuracy moves with noise at the given slopes (per unit ratio); with
    ``digits`` a second ID task (MNIST, tested OOD on UCI digits) moving like the first."""
    rng = np.random.default_rng(0)
    tasks = [("downstream_classes", "photo", ("sketch", "painting@0.50"))] + (
        [("digits", "mnist", ("uci_digits",))] if digits else [])
    rows = []
    for seed in seeds:
        for ratio in (0.0, 0.05, 0.1, 0.3):
            for task, id_set, ood in tasks:
                for method, gain in (("linear_probe", 0.0), ("mlp_head", mlp_gain), ("nmtune", nmtune_gain)):
                    for domain, shift, slope in [(id_set, "id", id_slope)] + [(d, "ood", ood_slope) for d in ood]:
                        rows.append({"objective": "supervised", "protocol": "tuned", "method": method,
                                     "noise_ratio": ratio, "seed": seed, "task": task, "test_domain": domain,
                                     "shift": shift, "num_classes": 10,
                                     "accuracy": 0.6 + slope * ratio + gain + rng.normal(0, jitter),
                                     "sve": 3.0 + sve_slope * ratio + rng.normal(0, 0.01),
                                     "lsvr": 2.0 + sve_slope * ratio + rng.normal(0, 0.01)})
    return pd.DataFrame(rows)


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


def test_claims_command_prints_the_table(tmp_path, capsys):
    path = tmp_path / "results.csv"
    fake_table(id_slope=0.2, nmtune_gain=0.02).to_csv(path, index=False)
    assert main(["claims", str(path), "--out", str(tmp_path / "claims.csv")]) == 0
    out = capsys.readouterr().out
    assert "C3" in out and "holds" in out and "one-sided" in out
    written = pd.read_csv(tmp_path / "claims.csv")
    assert written["verdict"].tolist() == claims.claim_table(pd.read_csv(path))["verdict"].tolist()
    assert main(["claims", str(tmp_path / "missing.csv")]) == 2


def test_lesson_check_names_the_state_and_uses_a_reference_spread_with_one_seed():
    verdict, message = claim_text.lesson_check(fake_table(sve_slope=1.0), "C3")
    assert verdict == "holds" and "HOLDS" in message and "one-sided t tests" in message and "conjunction" in message
    row = claims.claim_table(fake_table(sve_slope=1.0)).query("claim == 'C3' and primary").iloc[0]
    assert f"effect {row['effect']:+.2f} nats" in message and f"[{row['low']:+.2f}, {row['high']:+.2f}]" in message
    one_seed = fake_table(seeds=(0,), sve_slope=1.0)  # SVE and LSVR rise by 0.3 at 30 % noise
    verdict, message = claim_text.lesson_check(one_seed, "C3")
    assert verdict == "one seed, no reference spread" and "no interval" in message
    reference = claims.per_seed_effects(claims.claim_table(fake_table(seeds=range(10, 18), sve_slope=1.0)))
    verdict, message = claim_text.lesson_check(one_seed, "C3", reference=reference)
    assert verdict == "holds" and "one seed" in message
    wide = reference.assign(effect=reference["effect"] * np.resize([1.0, -1.0], len(reference)))
    verdict, message = claim_text.lesson_check(one_seed, "C3", reference=wide)
    assert verdict == "underpowered" and "UNDERPOWERED" in message and "80 % power" in message
    with pytest.raises(ValueError, match="unknown claim"):
        claim_text.lesson_check(one_seed, "C9")
    with pytest.raises(ValueError, match="unknown protocol"):
        claim_text.lesson_check(one_seed, "C3", protocol="mine")


def test_one_seed_tested_against_a_reference_spread_is_calibrated():
    rng = np.random.default_rng(1)
    decided = 0
    for _ in range(4000):
        reference = rng.normal(0, 1, 8)  # the effect over 8 other seeds: no effect
        tests = stats.measure_tests([rng.normal(0, 1)], +1, 1.0, 0.95, spread=(reference.std(ddof=1), 8))
        decided += tests["p_claimed"] <= 0.05
    assert decided / 4000 <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / 4000), decided / 4000


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


def test_the_readme_claim_table_is_the_one_the_committed_reference_gives(capsys):
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    start = "<!-- claims: nml-tutorial claims --reference --markdown -->\n"
    block = readme.split(start)[1].split("<!-- /claims -->")[0]
    assert main(["claims", "--reference", "--markdown"]) == 0
    assert block.strip() == capsys.readouterr().out.strip(), "regenerate README's table with the command in its marker"


def test_claims_reads_the_sweeps_default_output_or_the_reference_not_both(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["claims"]) == 2 and "results/quick/results.csv" in capsys.readouterr().err
    assert main(["claims", "results.csv", "--reference"]) == 2 and "not both" in capsys.readouterr().err
    out = tmp_path / "claims.csv"
    assert main(["claims", "--reference", "--markdown", "--out", str(out)]) == 0
    assert "| C1 " in capsys.readouterr().out and len(pd.read_csv(out)) > 0


def test_a_clip_claim_table_is_marked_exploratory():
    """Only the supervised analysis was pre-registered: a CLIP table must not call any protocol confirmatory."""
    table = claims.claim_table(fake_table())
    assert "the study protocol is confirmatory" in claim_text.format_claims(table)
    clip = claim_text.format_claims(table, "clip")
    assert "EXPLORATORY" in clip and "confirmatory" not in clip.replace("EXPLORATORY", "")
