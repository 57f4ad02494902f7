import numpy as np
import pandas as pd
import pytest

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
                                             ("painting", "ood", ood_slope)):
                    rows.append({"objective": "supervised", "method": method, "noise_ratio": ratio, "seed": seed,
                                 "task": "downstream_classes", "test_domain": domain, "shift": shift,
                                 "accuracy": 0.6 + slope * ratio + gain + rng.normal(0, jitter),
                                 "sve": 3.0 + sve_slope * ratio + rng.normal(0, 0.01),
                                 "lsvr": 2.0 + sve_slope * ratio + rng.normal(0, 0.01)})
    return pd.DataFrame(rows)


def verdicts(table):
    summary = claims.claim_summary(claims.claim_table(table))
    return dict(zip(summary["claim"], summary["verdict"]))


def test_bootstrap_interval_brackets_the_mean_and_shrinks_with_agreement():
    low, high = claims.bootstrap_interval([1.0, 2.0, 3.0, 4.0])
    assert low < 2.5 < high
    tight = claims.bootstrap_interval([2.4, 2.5, 2.6, 2.5])
    assert tight[1] - tight[0] < high - low
    with pytest.raises(ValueError, match="finite"):
        claims.bootstrap_interval([1.0, float("nan")])


def test_verdicts_follow_the_sign_of_the_effect():
    v = verdicts(fake_table(id_slope=0.2, ood_slope=-0.2, sve_slope=1.0, nmtune_gain=0.02))
    assert v == {"C1": "holds", "C2": "holds", "C3": "holds", "C4": "holds"}
    v = verdicts(fake_table(id_slope=-0.2, ood_slope=0.2, sve_slope=-1.0, nmtune_gain=-0.02))
    assert v == {"C1": "opposite", "C2": "opposite", "C3": "opposite", "C4": "opposite"}
    v = verdicts(fake_table(id_slope=0.0, ood_slope=0.0, sve_slope=0.0, nmtune_gain=0.0, jitter=0.05))
    assert v["C1"] == v["C2"] == v["C4"] == "not resolved"


def test_effects_are_paired_differences_in_points():
    table = claims.claim_table(fake_table(id_slope=0.2, jitter=0.0))
    c1 = table[(table["claim"] == "C1") & table["primary"]].iloc[0]
    assert c1["effect"] == pytest.approx(100 * 0.2 * 0.075)  # mean of 5 % and 10 %, in points
    c2 = table[(table["claim"] == "C2") & table["primary"]].iloc[0]
    assert c2["effect"] == pytest.approx(100 * -0.2 * 0.3)


def test_too_few_seeds_and_missing_clean_run_are_said():
    assert set(verdicts(fake_table(seeds=(0, 1))).values()) == {"too few seeds (2 < 4)"}
    table = fake_table()
    with pytest.raises(ValueError, match="noise ratio 0"):
        claims.claim_table(table[table["noise_ratio"] > 0])


def test_claims_command_prints_the_table(tmp_path, capsys):
    path = tmp_path / "results.csv"
    fake_table(id_slope=0.2, nmtune_gain=0.02).to_csv(path, index=False)
    assert main(["claims", str(path), "--out", str(tmp_path / "claims.csv")]) == 0
    out = capsys.readouterr().out
    assert "C3" in out and "holds" in out
    assert pd.read_csv(tmp_path / "claims.csv")["verdict"].notna().all()
    assert main(["claims", str(tmp_path / "missing.csv")]) == 2


def test_lesson_check_uses_intervals_with_seeds_and_the_band_with_one():
    shows, message = claims.lesson_check(fake_table(sve_slope=1.0), "C3")
    assert shows and "SHOWS" in message and "bootstrap" in message
    one_seed = fake_table(seeds=(0,), sve_slope=1.0)  # SVE rises by 0.3 at 30 % noise
    assert claims.lesson_check(one_seed, "C3", band=0.1)[0]
    shows, message = claims.lesson_check(one_seed, "C3", band=0.5)
    assert not shows and "does NOT show" in message and "band 0.5" in message
    with pytest.raises(ValueError, match="unknown claim"):
        claims.lesson_check(one_seed, "C9")
