import math
import shutil
import subprocess
import sys

import pandas as pd
import pytest

from nml_tutorial.cli import main
from nml_tutorial.results import COLUMNS, summarise

from miniatures import TINY_PRESET


def test_tiny_sweep_end_to_end(tmp_path, capsys):
    out, cache = tmp_path / "out", tmp_path / "cache"
    assert main(["sweep", "--preset", TINY_PRESET, "--out", str(out), "--cache", str(cache), "--no-progress"]) == 0
    table = pd.read_csv(out / "results.csv")
    assert list(table.columns) == COLUMNS
    # 2 noise ratios x (tuned: 6 methods x 3 test sets of downstream_classes (photo, sketch, sketch@0.50) + the
    # linear probe x 2 of pretrain_classes; study: the same without the 2 parameter-efficient methods)
    assert len(table) == 2 * ((6 * 3 + 2) + (4 * 3 + 2)) and set(table["noise_ratio"]) == {0.0, 0.3}
    methods = table.groupby("protocol")["method"].agg(set)
    assert methods["tuned"] == {"linear_probe", "linear_head", "mlp_head", "nmtune", "finetune_pe", "nmtune_pe"}
    assert methods["study"] == {"linear_probe", "linear_head", "mlp_head", "nmtune"}
    assert set(table.loc[table["task"] == "downstream_classes", "test_domain"]) == {"photo", "sketch", "sketch@0.50"}
    assert table[["sve", "lsvr", "sve_row", "lsvr_row"]].notna().all().all() and (table["sve"] > 0).all()
    assert set(table["shift"]) == {"id", "ood"}
    # the tiny preset's probe sets: 10 images a class of 3 held-out classes (downstream) or 5 pre-training classes;
    # every accuracy is a count of correct test images over that number
    per_task = {"downstream_classes": 30, "pretrain_classes": 50}
    assert (table["n_test"] == table["task"].map(per_task)).all() and (table["n_train"] == table["n_test"]).all()
    correct = table["accuracy"] * table["n_test"]
    assert ((correct - correct.round()).abs() < 1e-4).all()
    for figure in ("accuracy_vs_noise", "spectra", "sve_lsvr_vs_noise", "methods"):
        assert "plotly" in (out / f"{figure}.html").read_text(), figure
    printed = capsys.readouterr().out
    assert "downstream_classes" in printed and "wrote" in printed

    # A rerun reads every run, feature and probe row from the cache and gives the same table.
    assert main(["sweep", "--preset", TINY_PRESET, "--out", str(out), "--cache", str(cache), "--no-progress"]) == 0
    rerun = pd.read_csv(out / "results.csv")
    pd.testing.assert_frame_equal(rerun, table)
    assert set(rerun["noise_ratio"]) == {0.0, 0.3}  # exactly: cached rows must not pick up float noise
    spectra = pd.read_csv(out / "spectra.csv")
    sums = spectra.groupby(["protocol", "method", "noise_ratio", "task", "test_domain"])["share"].sum()
    assert ((sums - 1).abs() < 1e-6).all()  # shares of each spectrum add up to one


def test_summary_has_one_row_per_cell():
    table = pd.DataFrame([
        {"objective": "supervised", "protocol": "tuned", "method": "linear_probe", "task": "t", "train_domain": "photo",
         "test_domain": "photo", "shift": "id", "noise_ratio": 0.1, "seed": s, "accuracy": a}
        for s, a in enumerate([0.5, 0.7])])
    row = summarise(table).iloc[0]
    assert row["mean"] == pytest.approx(0.6) and row["seeds"] == 2 and row["std"] == pytest.approx(0.1414, abs=1e-3)


def test_noise_profile_averages_within_then_over_seeds():
    from nml_tutorial.results import noise_profile

    table = pd.DataFrame([{"protocol": "tuned", "method": "linear_probe", "test_domain": "mnist", "noise_ratio": r,
                           "seed": s, "accuracy": a, "sve": v}
                          for r, s, a, v in [(0.0, 0, 0.5, 2.0), (0.0, 1, 0.7, 3.0), (0.3, 0, 0.9, 1.0),
                                             (0.3, 1, 0.9, 1.0), (0.3, 1, 0.7, 1.0)]])
    profile = noise_profile(table, test_domain="mnist")
    # seed 1 at 30 % has two rows: averaged within the seed first (0.8), then over seeds: (0.9 + 0.8) / 2
    assert profile["accuracy"].tolist() == pytest.approx([0.6, 0.85])
    assert profile["directions_used"].tolist() == pytest.approx([math.exp(2.5), math.exp(1.0)])


def test_a_sweep_of_the_study_protocol_alone_draws_its_figures(tmp_path):
    out = tmp_path / "out"
    assert main(["sweep", "--preset", TINY_PRESET, "--protocols", "study", "--out", str(out), "--cache", str(tmp_path),
                 "--no-progress", "--no-png"]) == 0
    assert set(pd.read_csv(out / "results.csv")["protocol"]) == {"study"}
    assert "the study's protocol" in (out / "methods.html").read_text()  # the figures show the protocol that ran


def test_bad_noise_ratio_is_a_clear_cli_error(tmp_path, capsys):
    code = main(["sweep", "--preset", TINY_PRESET, "--noise", "15", "--out", str(tmp_path), "--cache", str(tmp_path),
                 "--no-progress"])
    assert code == 2 and "[0, 1]" in capsys.readouterr().err


def test_figures_are_written_as_png_at_twice_their_layout_size(tmp_path):
    if not (shutil.which("chromium") or shutil.which("google-chrome")):
        pytest.skip("no Chromium or Chrome for kaleido: PNG export cannot run here (apt-get install chromium)")
    from PIL import Image

    from nml_tutorial import noise, viz

    fig = viz.transition_heatmap(noise.symmetric_matrix(3, 0.2), ["a", "b", "c"])  # laid out at 680 x 640
    written = viz.save_figure(fig, tmp_path / "t")
    assert written == [tmp_path / "t.html", tmp_path / "t.png", tmp_path / "t.svg"]  # SVG for slides
    assert Image.open(tmp_path / "t.png").size == (1360, 1280)  # width, height at scale 2
    assert (tmp_path / "t.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in (tmp_path / "t.svg").read_text()[:500]


def test_module_entry_point_prints_help():
    result = subprocess.run([sys.executable, "-m", "nml_tutorial", "sweep", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "--preset" in result.stdout
