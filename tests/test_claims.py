import numpy as np
import pandas as pd
import pytest
from scipy import stats

from nml_tutorial import claims
from nml_tutorial.cli import main


def fake_table(seeds=(0, 1, 2, 3), id_slope=0.0, ood_slope=-0.2, sve_slope=1.0, nmtune_gain=0.0, jitter=0.002):
    """Linear-probe, MLP and NMTune rows whose accuracy moves with noise at the given slopes (per unit ratio)."""
    rng = np.random.default_rng(0)
    rows = []
    for seed in seeds:
        for ratio in (0.0, 0.05, 0.1, 0.3):
            for method, gain in (("linear_probe", 0.0), ("mlp_head", 0.0), ("nmtune", nmtune_gain)):
                for domain, shift, slope in (("photo", "id", id_slope), ("sketch", "ood", ood_slope),
                                             ("painting@0.50", "ood", ood_slope)):
                    rows.append({"objective": "supervised", "method": method, "noise_ratio": ratio, "seed": seed,
                                 "task": "downstream_classes", "test_domain": domain, "shift": shift,
                                 "num_classes": 10, "accuracy": 0.6 + slope * ratio + gain + rng.normal(0, jitter),
                                 "sve": 3.0 + sve_slope * ratio + rng.normal(0, 0.01),
                                 "lsvr": 2.0 + sve_slope * ratio + rng.normal(0, 0.01)})
    return pd.DataFrame(rows)


def verdicts(table):
    summary = claims.claim_summary(claims.claim_table(table))
    return dict(zip(summary["claim"], summary["verdict"]))


def test_t_interval_brackets_the_mean_and_needs_two_finite_values():
    low, high = claims.t_interval([1.0, 2.0, 3.0, 4.0])
    assert low == pytest.approx(2.5 - stats.t.ppf(0.975, 3) * np.std([1, 2, 3, 4], ddof=1) / 2)
    assert high == pytest.approx(5.0 - low)
    with pytest.raises(ValueError, match="at least two finite"):
        claims.t_interval([1.0, float("nan")])
    with pytest.raises(ValueError, match="at least two finite"):
        claims.t_interval([1.0])


def test_signflip_p_is_exact():
    assert claims.signflip_p([1.0, 2.0, 3.0, 4.0]) == pytest.approx(2 / 16)  # all positive: 2 of 16 sign patterns
    assert claims.signflip_p([1.0, -1.0, 2.0, -2.0]) == pytest.approx(1.0)


def _null_rate(size, draws, rng, effect=0.0, noise=None):
    """Fraction of simulated experiments of ``size`` seeds whose verdict is holds or opposite."""
    noise = noise or (lambda shape: rng.normal(0, 1, shape))
    samples = effect + noise((draws, size))
    return np.mean([claims.verdict(*claims.effect_interval(v), +1, 1.0) in ("holds", "opposite") for v in samples])


@pytest.mark.parametrize("size", [4, 8])
def test_verdicts_false_positive_rate_is_calibrated_and_power_is_as_theory_says(size):
    rng = np.random.default_rng(size)
    normal = _null_rate(size, 4000, rng)
    heavy = _null_rate(size, 4000, rng, noise=lambda shape: rng.standard_t(3, shape))
    power = _null_rate(size, 4000, rng, effect=1.0)  # an effect of one seed-to-seed sd
    crit = stats.t.ppf(0.975, size - 1)
    theory = stats.nct.sf(crit, size - 1, np.sqrt(size)) + stats.nct.cdf(-crit, size - 1, np.sqrt(size))
    print(f"{size} seeds: false positives {normal:.3f} (normal), {heavy:.3f} (t3 noise); "
          f"power at 1 sd {power:.3f} (theory {theory:.3f})")
    assert normal <= 0.06 and heavy <= 0.06
    assert abs(power - theory) < 0.03


def test_one_seed_interval_borrows_a_reference_spread_and_is_calibrated():
    rng = np.random.default_rng(1)
    hits = 0
    for _ in range(4000):
        reference = (rng.normal(0, 1, 8).std(ddof=1), 8)  # the spread of an 8-seed reference sweep
        low, high = claims.effect_interval([rng.normal(0, 1)], reference)
        hits += claims.verdict(low, high, +1, 1.0) in ("holds", "opposite")
    assert hits / 4000 <= 0.06
    assert np.isnan(claims.effect_interval([0.5])[0])  # no reference: no interval


def test_seeds_needed_is_the_fewest_seeds_whose_interval_is_narrow_enough():
    n = claims.seeds_needed(1.0, 1.0)
    half_width = lambda k: stats.t.ppf(0.975, k - 1) / np.sqrt(k)
    assert half_width(n) <= 1.0 < half_width(n - 1)
    assert claims.seeds_needed(float("nan"), 1.0) is None


def test_underpowered_means_the_interval_reaches_an_effect_of_interest():
    assert claims.verdict(-0.9, 0.9, +1, 1.0) == "not resolved"  # rules out a 1-point effect either way
    assert claims.verdict(-0.2, 1.1, +1, 1.0) == "underpowered"
    assert claims.combined_verdict(["holds", "holds"]) == "holds"
    assert claims.combined_verdict(["holds", "opposite", "not resolved"]) == "mixed"
    assert claims.combined_verdict(["holds", "underpowered"]) == "underpowered"
    assert claims.combined_verdict(["holds", "not resolved"]) == "not resolved"


def test_verdicts_follow_the_sign_of_the_effect():
    v = verdicts(fake_table(id_slope=0.2, ood_slope=-0.2, sve_slope=1.0, nmtune_gain=0.02))
    assert v == {"C1": "holds", "C2": "holds", "C3": "holds", "C4": "holds"}
    v = verdicts(fake_table(id_slope=-0.2, ood_slope=0.2, sve_slope=-1.0, nmtune_gain=-0.02))
    assert v == {"C1": "opposite", "C2": "opposite", "C3": "opposite", "C4": "opposite"}
    v = verdicts(fake_table(id_slope=0.0, ood_slope=0.0, sve_slope=0.0, nmtune_gain=0.0, jitter=0.05))
    assert v["C1"] == v["C2"] == v["C4"] == "underpowered"  # 5-point noise over 4 seeds: too wide to tell
    v = verdicts(fake_table(id_slope=0.0, ood_slope=0.0, sve_slope=0.0, nmtune_gain=0.0, jitter=0.0005))
    assert v["C1"] == v["C2"] == "not resolved"  # narrow intervals around zero: no effect of a point


def test_effects_are_paired_differences_in_points():
    table = claims.claim_table(fake_table(id_slope=0.2, jitter=0.0))
    c1 = table[(table["claim"] == "C1") & table["primary"]].iloc[0]
    assert c1["effect"] == pytest.approx(100 * 0.2 * 0.075)  # mean of 5 % and 10 %, in points
    c2 = table[(table["claim"] == "C2") & table["primary"]].iloc[0]
    assert c2["effect"] == pytest.approx(100 * -0.2 * 0.3)
    assert "graded" in c2["measure"]


def test_ood_sets_at_chance_are_left_out_of_the_ood_mean():
    table = fake_table()
    at_chance = table["test_domain"] == "sketch"
    table.loc[at_chance, "accuracy"] = 0.1 + table.loc[at_chance, "noise_ratio"] / 2  # 10 classes: chance is 0.1
    sets = claims.ood_sets(table, "downstream_classes")
    assert sets == {"graded": ["painting@0.50"], "full": [], "all": ["painting@0.50", "sketch"]}
    with pytest.raises(ValueError, match="num_classes"):
        claims.ood_sets(table.drop(columns="num_classes"), "downstream_classes")


def test_protocols_get_rows_of_their_own_and_a_missing_clean_run_is_said():
    table = fake_table()
    both = pd.concat([table.assign(protocol="tuned"), table.assign(protocol="study")])
    summary = claims.claim_summary(claims.claim_table(both))
    assert sorted(set(summary["protocol"])) == ["study", "tuned"] and len(summary) == 8
    with pytest.raises(ValueError, match="noise ratio 0"):
        claims.claim_table(table[table["noise_ratio"] > 0])


def test_claims_command_prints_the_table(tmp_path, capsys):
    path = tmp_path / "results.csv"
    fake_table(id_slope=0.2, nmtune_gain=0.02).to_csv(path, index=False)
    assert main(["claims", str(path), "--out", str(tmp_path / "claims.csv")]) == 0
    out = capsys.readouterr().out
    assert "C3" in out and "holds" in out
    written = pd.read_csv(tmp_path / "claims.csv")
    assert written["verdict"].tolist() == claims.claim_table(pd.read_csv(path))["verdict"].tolist()
    assert main(["claims", str(tmp_path / "missing.csv")]) == 2


def test_lesson_check_names_the_state_and_uses_a_reference_spread_with_one_seed():
    verdict, message = claims.lesson_check(fake_table(sve_slope=1.0), "C3")
    assert verdict == "holds" and "HOLDS" in message and "t intervals" in message
    # each primary measure states its effect, its interval and the bar it had to clear
    row = claims.claim_table(fake_table(sve_slope=1.0)).query("claim == 'C3' and primary").iloc[0]
    half = (row["high"] - row["low"]) / 2
    assert f"effect {row['effect']:+.2f} nats" in message and f"to hold it had to be > {half:+.2f}" in message
    one_seed = fake_table(seeds=(0,), sve_slope=1.0)  # SVE and LSVR rise by 0.3 at 30 % noise
    verdict, message = claims.lesson_check(one_seed, "C3")
    assert verdict == "one seed, no reference spread" and "no interval" in message
    reference = claims.per_seed_effects(claims.claim_table(fake_table(seeds=range(8), sve_slope=1.0)))
    verdict, message = claims.lesson_check(one_seed, "C3", reference=reference)
    assert verdict == "holds" and "one seed" in message
    wide = reference.assign(effect=reference["effect"] * np.resize([1.0, -1.0], len(reference)))
    verdict, message = claims.lesson_check(one_seed, "C3", reference=wide)
    assert verdict == "underpowered" and "UNDERPOWERED" in message and "more seeds" in message
    with pytest.raises(ValueError, match="unknown claim"):
        claims.lesson_check(one_seed, "C9")
    with pytest.raises(ValueError, match="unknown protocol"):
        claims.lesson_check(one_seed, "C3", protocol="mine")


def test_the_committed_reference_has_every_primary_measure_of_both_protocols():
    reference = claims.reference_effects()
    assert set(reference["protocol"]) == set(claims.PROTOCOLS)
    counts = reference.groupby(["protocol", "claim", "measure", "task"])["seed"].nunique()
    assert counts.min() >= 8


def test_agreement_with_the_reference_is_a_prediction_interval_for_new_seeds():
    reference = claims.per_seed_effects(claims.claim_table(fake_table(seeds=range(8), sve_slope=1.0)))
    agree, message = claims.agrees_with_reference(fake_table(seeds=(0,), sve_slope=1.0), "C3", reference)
    assert agree and "inside" in message
    moved = claims.agrees_with_reference(fake_table(seeds=(0,), sve_slope=2.0), "C3", reference)
    assert not moved[0] and "OUTSIDE" in moved[1]


def test_agreement_splits_its_level_over_measures_and_checks():
    reference = claims.per_seed_effects(claims.claim_table(fake_table(seeds=range(8), sve_slope=1.0, jitter=0.02)))
    table = fake_table(seeds=(0,), sve_slope=1.0, jitter=0.02)
    half = lambda message: float(message.split("+- ")[1].split()[0])  # noqa: E731
    one, four = (claims.agrees_with_reference(table, "C3", reference, checks=k)[1] for k in (1, 4))
    assert half(four) > half(one)  # four claims checked together: each measure at a stricter level, a wider interval
    with pytest.raises(ValueError, match="at least 1 new seed and 2 reference seeds"):
        claims.prediction_half_width([1.0], 1)


def test_the_science_guard_false_alarms_at_most_5_percent_of_the_time_when_nothing_changed():
    """tests/test_science.py's rule, simulated: 16 measures (its primary measures, both protocols), 8 reference seeds,
    4 new seeds, all drawn from one distribution per measure (the same code on another machine); it alarms when any
    new mean leaves its prediction interval at the per-measure level 1 - 0.05 / 16."""
    rng, sims, measures = np.random.default_rng(0), 20_000, 16
    level = 1 - 0.05 / measures
    reference = rng.normal(size=(sims, measures, 8))
    new = rng.normal(size=(sims, measures, 4)).mean(-1)
    half = claims.prediction_half_width(reference, 4, level)
    alarms = (np.abs(new - reference.mean(-1)) > half).any(-1).mean()
    assert 0.035 < alarms < 0.055, alarms  # Bonferroni's bound, nearly reached: the measures are independent here
    shifted = new.copy()
    shifted[:, 0] += 4.0  # a change that moves one effect by 4 seed-to-seed sd
    caught = (np.abs(shifted - reference.mean(-1)) > half).any(-1).mean()
    assert caught > 0.6, caught
    one = claims.prediction_half_width([1.0, 2.0, 3.0], 1)
    assert one == pytest.approx(stats.t.ppf(0.975, 2) * 1.0 * np.sqrt(1 + 1 / 3))
