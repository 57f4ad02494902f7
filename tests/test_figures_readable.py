"""Every figure rendered to PNG keeps its text inside the canvas: nothing drawn touches the border (a cut title,
tick label, legend or axis title would)."""

import functools
import shutil
from io import BytesIO

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from nml_tutorial import claims, noise, reference_runs, viz
from nml_tutorial.data.synthetic import class_name, class_table

BORDER = 3  # pixels


def fake_tables(seeds=(0, 1)):
    rng = np.random.default_rng(0)
    sets = {"downstream_classes": [("photo", "id", 20), ("sketch", "ood", 20), ("sketch@0.50", "ood", 20)],
            "digits": [("mnist", "id", 10), ("uci_digits", "ood", 10)]}
    rows = [{"objective": "supervised", "protocol": "tuned", "method": method, "task": task, "train_domain": "photo",
             "test_domain": domain, "shift": shift, "num_classes": classes, "noise_type": "symmetric",
             "noise_ratio": ratio, "seed": seed, "accuracy": rng.uniform(0.1, 0.8), "sve": rng.uniform(2, 3),
             "lsvr": rng.uniform(1, 2)}
            for method in ("linear_probe", "mlp_head", "nmtune") for task, tests in sets.items()
            for domain, shift, classes in tests for ratio in (0.0, 0.1, 0.3) for seed in seeds]
    table = pd.DataFrame(rows)
    spectra = pd.DataFrame([{**{k: r[k] for k in ("protocol", "method", "noise_ratio", "seed", "task", "test_domain",
                                                   "shift")}, "index": i, "share": share}
                            for r in rows for i, share in enumerate(np.geomspace(0.3, 0.001, 16), start=1)])
    return table, spectra


@functools.cache
def figures():
    table, spectra = fake_tables()
    names = [class_name(*row) for row in class_table(10)]  # the longest real class names
    history = [{"epoch": e, "train_acc": 0.1 * e, "noisy_fitted": 0.02 * e} for e in range(1, 6)]
    images = torch.randint(0, 256, (16, 3, 32, 32), dtype=torch.uint8)
    xy = np.random.default_rng(0).normal(size=(16, 2))
    return {
        "accuracy_vs_noise": viz.accuracy_vs_noise(table),
        "spectra": viz.spectra(spectra),
        "sve_lsvr_vs_noise": viz.sve_lsvr_vs_noise(table),
        "method_comparison": viz.method_comparison(table),
        "transition_heatmap": viz.transition_heatmap(noise.symmetric_matrix(10, 0.2), names),
        "id_ood_curve": viz.id_ood_curve(table, marker=0.3),
        "spectrum_at": viz.spectrum_at(spectra, 0.3),
        "training_curves": viz.training_curves({"0% noise": history, "30% noise, live (3 epochs)": history}),
        "image_grid": viz.image_grid(images, torch.arange(16) % 10, names, flipped=torch.arange(16) < 3),
        "umap_scatter": viz.umap_scatter({"before": xy, "after": xy}, torch.arange(16) % 4, names),
        "paper_vs_here": viz.paper_vs_here(claims.claim_table(reference_runs.reference_results()),
                                           scale="quick preset, 8 seeds, 40 synthetic classes"),
    }


def render(fig) -> np.ndarray:
    """The figure as kaleido draws it, RGB pixels; a visible skip where no Chrome is installed."""
    if not (shutil.which("chromium") or shutil.which("google-chrome")):
        pytest.skip("no Chromium or Chrome for kaleido: figures cannot be rendered here (apt-get install chromium)")
    from nml_tutorial.viz.export import _image

    return np.array(Image.open(BytesIO(_image(fig, "png"))).convert("RGB"))


def inked_border(pixels: np.ndarray) -> int:
    """How many pixels of the outer frame are drawn on (darker than near-white)."""
    frame = np.concatenate([pixels[:BORDER].reshape(-1, 3), pixels[-BORDER:].reshape(-1, 3),
                            pixels[:, :BORDER].reshape(-1, 3), pixels[:, -BORDER:].reshape(-1, 3)])
    return int((frame < 235).any(axis=1).sum())


@pytest.mark.parametrize("name", list(figures()))
def test_nothing_is_cut_at_the_canvas_border(name, artifacts):
    pixels = render(figures()[name])
    Image.fromarray(pixels).save(artifacts / f"figure_{name}.png")
    assert inked_border(pixels) == 0, f"{name}: border pixels are drawn on: something is cut at the edge"


def test_the_border_check_sees_a_cut_title():
    fig = viz.transition_heatmap(noise.symmetric_matrix(3, 0.2), ["a", "b", "c"])
    fig.update_layout(title={"text": "W" * 200, "x": 0.02, "y": 0.97})  # runs off the right edge
    assert inked_border(render(fig)) > 0


def test_paper_vs_here_draws_each_primary_measure_in_the_claimed_direction_and_names_each_verdict():
    table = claims.claim_table(reference_runs.reference_results())
    fig = viz.paper_vs_here(table)
    primary = table[table["primary"]]
    assert sum(len(trace.x) for trace in fig.data) == len(primary)
    study = next(trace for trace in fig.data if trace.name == "study protocol")
    c2 = primary[(primary["protocol"] == "study") & (primary["claim"] == "C2")].iloc[0]
    at = list(study.y).index(next(y for y in study.y if y.startswith("C2")))
    assert study.x[at] == pytest.approx(-c2["effect"] / claims.EFFECT_OF_INTEREST["C2"])  # C2 claims a fall
    words = " ".join(a.text for a in fig.layout.annotations)
    for row in primary[["protocol", "claim", "claim_verdict"]].drop_duplicates().itertuples():
        assert f"{row.protocol}: {row.claim_verdict}" in words


def test_error_bars_only_with_several_seeds_and_chance_lines_drawn():
    one, _ = fake_tables(seeds=(0,))
    fig = viz.accuracy_vs_noise(one)
    assert not any(trace.error_y.visible for trace in fig.data) and "1 seed" in fig.layout.title.text
    several, _ = fake_tables()
    assert all(trace.error_y.visible for trace in viz.accuracy_vs_noise(several).data)
    chance = sorted(shape.y0 for shape in fig.layout.shapes)
    assert chance == [5.0, 10.0]  # 20 held-out classes, 10 digits
    assert [t.name for t in viz.method_comparison(several).data[:3]] == ["linear probe", "MLP head", "NMTune"]
