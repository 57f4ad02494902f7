import pandas as pd
import pytest
import torch

from nml_tutorial import noise, viz
from nml_tutorial.data import load_dataset
from nml_tutorial.viz import export


def test_noise_explorer_shows_a_default_and_redraws_on_the_slider():
    data = load_dataset("synthetic", classes=list(range(6)), samples_per_class=20)
    box = viz.noise_explorer(data, ratio=0.2, n_images=12)
    grid, matrix = box.figures["noise_images"], box.figures["noise_matrix"]
    red = lambda: sum(a.font.color == "#d62728" for a in grid.layout.annotations)  # noqa: E731  flipped labels
    assert "20%" in grid.layout.title.text and red() > 0
    slider, kind = box.children[0].children
    slider.value = 0.0
    assert red() == 0 and "0%" in grid.layout.title.text
    assert torch.allclose(torch.tensor(matrix.data[0].z), torch.eye(6, dtype=torch.float64))
    kind.value, slider.value = "pair", 0.5
    row = list(matrix.data[0].z[0])  # pair noise sends class 0 only to class 1
    assert row[1] > 0.2 and sum(row[2:]) == 0 and "50.0% flipped" in matrix.layout.title.text


def test_noise_sweep_explorer_moves_its_marker():
    rows = [{"protocol": "tuned", "method": "linear_probe", "task": "downstream_classes", "noise_ratio": r, "seed": 0,
             "shift": shift,
             "test_domain": domain, "accuracy": acc}
            for r, (a_id, a_ood) in {0.0: (0.7, 0.2), 0.3: (0.5, 0.1)}.items()
            for domain, shift, acc in (("photo", "id", a_id), ("sketch", "ood", a_ood))]
    spectra = pd.DataFrame([{"protocol": "tuned", "method": "linear_probe", "task": "downstream_classes",
                             "test_domain": "photo", "noise_ratio": r, "seed": 0, "index": i, "share": s}
                            for r in (0.0, 0.3)
                            for i, s in enumerate((0.6, 0.3, 0.1) if r == 0 else (0.4, 0.35, 0.25), 1)])
    box = viz.noise_sweep_explorer(pd.DataFrame(rows), spectra)
    accuracy, spectrum = box.figures["id_ood_marker"], box.figures["spectrum_at_noise"]
    assert list(accuracy.data[-1].y) == pytest.approx([50.0, 10.0])  # marker at the highest noise by default
    box.children[0].value = 0.0
    assert list(accuracy.data[-1].y) == pytest.approx([70.0, 20.0])
    assert list(spectrum.data[1].y) == pytest.approx([0.6, 0.3, 0.1])


def test_an_explorer_displays_its_current_figures_as_html_for_pages_without_a_kernel():
    data = load_dataset("synthetic", classes=list(range(4)), samples_per_class=10)
    box = viz.noise_explorer(data, ratio=0.2, n_images=8)
    bundle = box._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle  # JupyterLab draws the live widget
    html = bundle["text/html"]
    assert html.count("Plotly.newPlot") == 2 and "20%" in html
    assert "controls need a running kernel" in html
    box.children[0].children[0].value = 0.5
    assert "50%" in box._repr_mimebundle_()["text/html"]  # what it shows now, not what it was built with


def test_figures_fall_back_to_html_with_a_warning_when_png_export_fails(tmp_path, monkeypatch):
    def no_chrome(fig, format):
        raise RuntimeError("no Chrome found")

    monkeypatch.setattr(export, "_image", no_chrome)
    fig = viz.transition_heatmap(noise.symmetric_matrix(3, 0.2), ["a", "b", "c"])
    with pytest.warns(UserWarning, match="PNG export skipped.*no Chrome found.*apt-get install chromium"):
        written = viz.save_figure(fig, tmp_path / "t")
    assert written == [tmp_path / "t.html"] and not (tmp_path / "t.png").exists() and not (tmp_path / "t.svg").exists()
    assert "plotly" in (tmp_path / "t.html").read_text()


def test_static_figures_can_be_switched_off_for_small_machines(tmp_path, monkeypatch):
    monkeypatch.setattr(export, "_image", lambda fig, format: pytest.fail("no Chrome may start"))
    monkeypatch.setenv("NML_STATIC_FIGURES", "0")  # binder/start sets it
    fig = viz.transition_heatmap(noise.symmetric_matrix(3, 0.2), ["a", "b", "c"])
    assert viz.save_figure(fig, tmp_path / "t") == [tmp_path / "t.html"]


def _table(values: dict) -> pd.DataFrame:
    """A results table of the linear probe on photo: {(seed, noise): accuracy}."""
    return pd.DataFrame([{"protocol": "tuned", "method": "linear_probe", "task": "downstream_classes", "seed": seed,
                          "noise_ratio": r, "shift": "id", "test_domain": "photo", "num_classes": 20, "accuracy": a,
                          "sve": a, "lsvr": a} for (seed, r), a in values.items()])


def test_reference_seeds_are_drawn_thin_behind_this_run_drawn_bold():
    run = _table({(0, 0.0): 0.7, (0, 0.3): 0.5})
    reference = _table({(s, r): 0.6 + s / 100 - r for s in (10, 11, 12) for r in (0.0, 0.3)})
    for fig in (viz.accuracy_vs_noise(run, reference=reference), viz.sve_lsvr_vs_noise(run, reference=reference)):
        thin = [t for t in fig.data if t.legendgroup == "reference"]
        bold = [t for t in fig.data if t.legendgroup == "photo"]
        assert len(thin) == 3 * len(bold) and all(t.line.width < b.line.width for t in thin for b in bold)
        for panel in bold:  # drawn on top of its panel's reference lines
            order = [i for i, t in enumerate(fig.data) if t.xaxis == panel.xaxis]
            assert order[-1] == fig.data.index(panel)
        assert "3 reference seeds (10-12)" in fig.layout.title.text
    assert [round(y, 3) for y in thin[0].y] == [0.7, 0.4]  # seed 10's own line (last figure: SVE, unscaled)
    assert not any(t.legendgroup == "reference" for t in viz.accuracy_vs_noise(run).data)


def test_a_small_transition_probability_is_tinted_and_printed_not_white():
    fig = viz.transition_heatmap(noise.symmetric_matrix(10, 0.2), [str(i) for i in range(10)])
    scale = fig.data[0].colorscale
    assert scale[0][1] == "white" and scale[1][0] <= 0.2 / 9 and scale[1][1] != "white"  # 0.022 lies past the tint
    assert fig.data[0].texttemplate == "%{z:.2f}"


def test_the_highlighted_training_run_is_drawn_last_and_distinct():
    history = [{"epoch": e, "train_acc": 0.1 * e, "noisy_fitted": 0.01} for e in (1, 2, 3)]
    fig = viz.training_curves({"live": history, "0% noise": history, "30% noise": history}, highlight="live")
    assert fig.data[-1].name == "live" and fig.data[-1].line.dash == "dash" and fig.data[-1].line.color == "black"
    assert all(t.line.dash is None for t in fig.data if t.name != "live")
    with pytest.raises(ValueError, match="not one of the runs"):
        viz.training_curves({"a": history}, highlight="b")


def test_the_spectrum_figure_divides_each_noise_ratio_by_the_clean_model():
    spectra = pd.DataFrame([{"protocol": "tuned", "method": "linear_probe", "task": "downstream_classes",
                             "test_domain": "photo", "noise_ratio": r, "seed": 0, "index": i, "share": s}
                            for r, shares in {0.0: (0.5, 0.3, 0.2), 0.3: (0.4, 0.3, 0.3)}.items()
                            for i, s in enumerate(shares, 1)])
    fig = viz.spectra(spectra)
    relative = [t for t in fig.data if t.xaxis == "x2"]
    assert list(relative[0].y) == pytest.approx([1, 1, 1]) and list(relative[1].y) == pytest.approx([0.8, 1, 1.5])
    with pytest.raises(ValueError, match="test set 'sketch'"):
        viz.spectra(spectra, domain="sketch")


def test_select_takes_a_value_or_a_list_of_values():
    from nml_tutorial.results import select
    table = _table({(s, r): 0.5 for s in (0, 1) for r in (0.0, 0.1, 0.3)})
    assert sorted(select(table, noise_ratio=[0.0, 0.3])["noise_ratio"].unique()) == [0.0, 0.3]
    assert list(select(table, noise_ratio=0.1, seed=1)["seed"]) == [1]
    assert select(table, method=("nmtune",)).empty


def test_the_method_comparison_title_names_the_methods_drawn():
    rows = _table({(0, 0.3): 0.5})
    rows = pd.concat([rows.assign(method=m) for m in ("linear_probe", "finetune_pe", "nmtune_pe")])
    title = viz.method_comparison(rows).layout.title.text
    assert title.startswith("Linear probe, last-block fine-tuning and last-block NMTune")


def test_the_accuracy_figure_explains_only_the_line_styles_it_draws():
    rows = _table({(0, 0.0): 0.7, (0, 0.3): 0.5})
    assert "solid: in-domain" in viz.accuracy_vs_noise(rows).layout.title.text
    assert "dashed" not in viz.accuracy_vs_noise(rows).layout.title.text
    shifted = pd.concat([rows, rows.assign(test_domain="sketch@0.25", shift="ood")])
    note = viz.accuracy_vs_noise(shifted).layout.title.text.replace("<br>", " ")
    assert "dotted: a style mixed in at 0.25" in note and "dash-dot" not in note


def test_each_graded_strength_gets_its_own_dash_and_its_own_words():
    rows = _table({(0, 0.0): 0.7, (0, 0.3): 0.5})
    graded = pd.concat([rows] + [rows.assign(test_domain=f"sketch@{s}", shift="ood") for s in ("0.25", "0.50", "0.75")]
                       + [rows.assign(test_domain="my@set", shift="ood")])  # a test set named with '@', not graded
    fig = viz.accuracy_vs_noise(graded)
    dashes = {t.name.split(" ")[0]: t.line.dash for t in fig.data}
    assert len({dashes[f"sketch@{s}"] for s in ("0.25", "0.50", "0.75")}) == 3 and dashes["my@set"] == "dash"
    note = fig.layout.title.text.replace("<br>", " ")
    assert all(f"mixed in at {s}" in note for s in ("0.25", "0.50", "0.75"))


def test_no_reference_seed_note_when_none_was_drawn():
    run = _table({(0, 0.0): 0.7, (0, 0.3): 0.5})
    elsewhere = _table({(10, 0.0): 0.6, (10, 0.3): 0.5}).assign(task="digits")  # the reference has other tasks
    fig = viz.accuracy_vs_noise(run, reference=elsewhere)
    assert "reference seeds" not in fig.layout.title.text and {t.line.width for t in fig.data} == {2}


def test_a_saved_figure_is_shown_at_the_page_width_and_exported_at_its_own(tmp_path, monkeypatch):
    monkeypatch.setenv("NML_STATIC_FIGURES", "0")
    fig = viz.transition_heatmap(noise.symmetric_matrix(3, 0.2), ["a", "b", "c"])
    shown = viz.saved(fig, tmp_path / "t")
    assert shown.layout.width is None and shown.layout.autosize and fig.layout.width == 680
    assert '"width":680' in (tmp_path / "t.html").read_text().replace(" ", "")


def test_a_long_subtitle_is_broken_into_lines_and_the_title_given_room():
    rows = _table({(0, 0.0): 0.7, (0, 0.3): 0.5})
    reference = _table({(s, r): 0.6 for s in (10, 11) for r in (0.0, 0.3)})
    short, long = viz.accuracy_vs_noise(rows), viz.accuracy_vs_noise(rows, reference=reference)
    lines = long.layout.title.text.split("<br>")[1:]
    assert len(lines) > 1 and all(len(line) <= 95 + len("<sup></sup>") for line in lines)
    assert long.layout.margin.t > short.layout.margin.t and long.layout.height > short.layout.height


def test_training_curves_name_what_a_contrastive_run_measures():
    history = [{"epoch": 1, "train_acc": 0.1, "noisy_fitted": 0.01}]
    fig = viz.training_curves({"clean": history}, objective="clip")
    assert "retrieval" in fig.layout.annotations[0].text and "captions" in fig.layout.title.text
    with pytest.raises(ValueError, match="objective must be one of"):
        viz.training_curves({"clean": history}, objective="mae")
