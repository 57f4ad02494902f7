"""The notebook series: committed clean, parameterised, and executed end to end with quick parameters.

The series runs once under papermill (the README's main command does the same) and the executed notebooks
are checked for errors, for the figures they promise and for every number their prose quotes (nml_tutorial.prose);
nbval re-executes them comparing the check cells' outputs; tests/test_browser.py re-executes them in JupyterLab
(cheap: every run is cached by then) and builds the book from this run's executed notebooks.
"""

import json
import math
import subprocess
import sys

import nbformat
import pandas as pd
import psutil
import pytest

from nml_tutorial import claims, prose, reference_runs
from nml_tutorial.series import series, summary

# decimal numbers the prose may quote without the notebook printing them: constants of the lesson, with the reason
CONSTANTS = {"01_noise": {"0.022": "0.2 / 9, worked out in the same sentence", "0.8": "1 - the 20 % noise ratio",
                          "0.5": "two classes confused equally often, the sentence's own example"},
             "03_id_ood": {"0.01": "the study's probe learning rate"},
             "05_nmtune": {"0.04": "the study's cov weight", "0.001": "the study's svd weight"}}
FIGURES = {"00_quickstart": ["00_paper_vs_here", "00_accuracy_vs_noise", "00_sve_lsvr_vs_noise"],
           "01_noise": ["01_noise_images", "01_noise_matrix"],
           "02_pretrain": ["02_training_curves"],
           "03_id_ood": ["03_id_ood_marker", "03_spectrum_at_noise", "03_accuracy_vs_noise"],
           "04_spectrum": ["04_spectra", "04_umap"],
           "05_nmtune": ["05_methods", "05_methods_pe", "05_umap"],
           "06_clip": ["06_training_curves", "06_zero_shot_vs_noise", "06_sve_lsvr_vs_noise"],
           "07_full_scale": ["07_ladder_accuracy_vs_noise", "07_paper_vs_here"]}


@pytest.mark.parametrize("path", series(), ids=lambda p: p.stem)
def test_committed_notebook_is_clean_and_parameterised(path):
    book = nbformat.read(path, as_version=4)
    assert book.metadata["kernelspec"]["name"] == "python3"
    code = [c for c in book.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), "commit notebooks without outputs"
    tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and tagged[0] is code[0], "the first code cell must be the tagged parameters cell"
    for name in ("DEVICE", "CACHE_DIR", "OUT_DIR", "PROGRESS"):
        assert f"{name} =" in tagged[0].source
    source = tagged[0].source
    assert "# full" in source or "full scale" in source, "full-scale values belong beside quick ones"
    loads_models = any("run_sweep(" in c.source or "pretrain_supervised(" in c.source for c in code)
    if loads_models:  # the model zoo is a choice the reader sees and can turn off
        assert "RETRAIN = False" in tagged[0].source and "zoo=not RETRAIN" in "".join(c.source for c in code)
    assert "assert" in code[-1].source, "the last cell checks the lesson against the numbers just computed"
    header = book.cells[0].source
    for part in ("**You will**", "**Before this**", "**Time**", "**The study**", "arxiv.org/abs/2309.17002"):
        assert part in header, f"the header states {part}"
    assert "TIME_" not in header, "the header's time is measured, not a placeholder"
    markdown = "".join(c.source for c in book.cells if c.cell_type == "markdown")
    assert "## Recap" in markdown and markdown.count("<details>") == 1, "a recap and questions with hidden solutions"


@pytest.mark.slow
def test_series_runs_with_quick_parameters(notebook_run):
    out, results = notebook_run
    assert [r.name for r in results] == list(FIGURES)
    assert all(r.status == "ok" for r in results), summary(results)
    for stem, figures in FIGURES.items():
        book = nbformat.read(out / f"{stem}.ipynb", as_version=4)
        errors = [o for c in book.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
        assert not errors, f"{stem}: {errors[:1]}"
        for figure in figures:
            assert "Plotly.newPlot" in (out / "figures" / f"{figure}.html").read_text(), figure
    for stem in ("00_quickstart", "03_id_ood", "05_nmtune", "07_full_scale"):  # what nml-tutorial batch gathers
        metrics = json.loads((out / "figures" / f"{stem}.metrics.json").read_text())
        assert metrics and all(math.isfinite(v) for v in metrics.values()), stem
    # the numbers the notebooks computed, read back: the spectrum claim and CLIP's zero-shot
    quick = pd.read_csv(out / "figures" / "00_results.csv")
    agree, message = reference_runs.agrees_with_reference(quick, "C3", reference_runs.reference_effects(),
                                                          checks=len(claims.CLAIMS))
    assert agree, message
    quick_book = nbformat.read(out / "00_quickstart.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for c in quick_book.cells if c.cell_type == "code" for o in c.outputs)
    assert message in printed  # the notebook told the student exactly this
    clip = pd.read_csv(out / "figures" / "06_results.csv")
    zero_shot = clip[(clip["method"] == "zero_shot") & (clip["shift"] == "id") & (clip["noise_ratio"] == 0)]
    chance = zero_shot["task"].map({"downstream_classes": 1 / 20, "pretrain_classes": 1 / 40})
    assert set(clip["objective"]) == {"clip"} and (zero_shot["accuracy"] > 2 * chance).all()


@pytest.mark.slow
def test_the_executed_series_runs_again_under_nbval_with_the_same_check_outputs(notebook_run):
    """nbval re-executes each executed notebook (warm: every run is cached) and compares the outputs of the cells
    tagged ``nbval-check-output`` (the check cells, whose numbers come from cached runs) with papermill's."""
    out, _ = notebook_run
    books = [str(out / f"{stem}.ipynb") for stem in FIGURES]
    done = subprocess.run([sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env",
                           "-p", "no:cacheprovider",
                           "-q", *books], cwd=out, capture_output=True, text=True, timeout=1500)
    assert done.returncode == 0, done.stdout[-4000:]
    compared = {stem: any("nbval-check-output" in c.metadata.get("tags", [])
                          for c in nbformat.read(out / f"{stem}.ipynb", as_version=4).cells) for stem in FIGURES}
    assert all(compared[stem] for stem in FIGURES if stem != "07_full_scale"), compared  # 07 writes a fresh rung


@pytest.mark.slow
def test_every_number_quoted_in_the_prose_is_one_the_notebook_prints(notebook_run):
    out, _ = notebook_run
    for stem in FIGURES:
        unsupported = prose.unsupported_numbers(out / f"{stem}.ipynb", allowed=CONSTANTS.get(stem))
        assert not unsupported, f"{stem}: numbers in the text that the notebook does not print: {unsupported}"


def test_the_quoted_number_check_fails_on_a_stale_number_and_accepts_a_rounded_one():
    book = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("print(effects)")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="effect -4.62 [-7.21, -2.04]\nLSVR 2.590\n")]
    book.cells = [nbformat.v4.new_markdown_cell("ID falls by 4.6 points, \u22124.62 [\u22127.2, \u22122.0]; "
                                                "LSVR 2.59 (`lr 0.01` in code is not prose)."), cell]
    assert prose.unsupported_numbers(book) == []
    book.cells[0].source += "\nz's LSVR 2.53 clean and 0.66625 of the labels."  # a stale number; a fraction unprinted
    assert [n for n, _ in prose.unsupported_numbers(book)] == ["2.53", "0.66625"]
    assert [n for n, _ in prose.unsupported_numbers(book, allowed={"0.66625": "a constant"})] == ["2.53"]
    cell.outputs[0].text += "accuracy 0.652\n"  # a printed fraction supports the percentage quoted from it
    book.cells[0].source = "photo goes to 65.2 %."
    assert prose.unsupported_numbers(book) == []
    book.cells[0].source = "photo goes to 65.2 points, LSVR \u22122.59."  # no %: no fraction; the wrong sign
    assert [n for n, _ in prose.unsupported_numbers(book)] == ["65.2", "-2.59"]
    book.cells[0].source = "```\npython x.py --ratio 0.33\n```\n1.3-1.7x faster"  # code skipped; a range, a suffix
    assert [n for n, _ in prose.unsupported_numbers(book)] == ["1.3", "1.7"]


def _notebook(folder, name, *sources):
    book = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                              "language": "python"}})
    book.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    book.cells[0].metadata["tags"] = ["parameters"]
    nbformat.write(book, folder / name)


def test_runner_reports_each_cell_names_a_failure_and_keeps_partial_output(tmp_path, capsys):
    from nml_tutorial.cli import main

    books = tmp_path / "books"
    books.mkdir()
    _notebook(books, "00_fails.ipynb", "CACHE_DIR = ''\nOUT_DIR = ''\nPROGRESS = True", "print('before the error')",
              "1 / 0", "print('never reached')")
    _notebook(books, "01_passes.ipynb", "CACHE_DIR = ''\nOUT_DIR = ''\nPROGRESS = True", "x = 41 + 1")
    before = set(psutil.Process().children(recursive=True))  # e.g. kaleido's Chrome, started by earlier tests
    assert main(["notebooks", "--dir", str(books), "--out", str(tmp_path / "out"), "--cache", str(tmp_path)]) == 1
    assert set(psutil.Process().children(recursive=True)) <= before  # every kernel was shut down
    printed = capsys.readouterr().out
    assert "00_fails: running ..." in printed and "01_passes: ok in" in printed  # one failure does not stop the rest
    assert "00_fails [ 3/5]" in printed and "print('before the error')" in printed  # per-cell lines
    # names the cell and the error
    assert "00_fails failed at In [4] `1 / 0`: ZeroDivisionError: division by zero" in printed
    summary_lines = printed[printed.index("notebook ") :].splitlines()
    assert summary_lines[1].split()[2] == "failed" and summary_lines[2].split()[2] == "ok"
    partial = nbformat.read(tmp_path / "out" / "00_fails.ipynb", as_version=4)
    outputs = [o for c in partial.cells for o in c.get("outputs", [])]
    assert any("before the error" in o.get("text", "") for o in outputs)  # written up to the failing cell
    assert any(o.output_type == "error" and o.ename == "ZeroDivisionError" for o in outputs)


def test_a_folder_without_notebooks_says_how_to_point_at_them(tmp_path):
    with pytest.raises(FileNotFoundError, match="--dir"):
        series(tmp_path)


@pytest.mark.slow
def test_the_slide_deck_builds_from_the_executed_series(notebook_run, tmp_path):
    from nml_tutorial.slides import FIGURE_SLIDES, build_slides
    out, _ = notebook_run
    deck = build_slides(out, tmp_path / "slides.html")
    assert deck.read_text().count("data:image/png;base64,") == len(FIGURE_SLIDES) + 1
    assert deck.stat().st_size > 50_000 * len(FIGURE_SLIDES)  # real figures, not placeholders
