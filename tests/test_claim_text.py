"""The claim table in words: the CLI's text and Markdown, the README's table, lesson checks, CLIP as exploratory."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nml_tutorial import claim_text, claims
from nml_tutorial.cli import main

from fake_results import fake_table


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


def test_a_clip_markdown_table_heads_its_protocols_exploratory():
    table = claims.claim_table(fake_table())
    assert "(confirmatory)" in claim_text.claims_markdown(table)
    clip = claim_text.claims_markdown(table, objective="clip")
    assert "study protocol (exploratory)" in clip and "confirmatory" not in clip
