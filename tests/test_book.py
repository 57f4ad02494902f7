"""The book of the executed series (`nml-tutorial book`): pages, figures, widgets' static views, the claim table.
The browser reads a real book in tests/test_browser.py; here a fabricated two-notebook series is enough."""

import json

import nbformat
import pandas as pd
import torch

from nml_tutorial import claims, results, viz
from nml_tutorial.book import PLOTLY, WIDGET, build_book
from nml_tutorial.cli import main
from nml_tutorial.data import load_dataset


def _display(bundle: dict):
    return nbformat.v4.new_output("display_data", data=bundle)


def executed_series(folder):
    """Two executed notebooks as papermill leaves them: an injected-parameters cell, a plotly figure, a widget."""
    folder.mkdir()
    figure = viz.transition_heatmap(torch.eye(2, dtype=torch.float64), ["a", "b"], title="a heat map")
    explorer = viz.noise_explorer(load_dataset("synthetic", classes=list(range(3)), samples_per_class=6), n_images=4)
    for stem, title, output in (("00_first", "00 · First", _display({PLOTLY: json.loads(figure.to_json()),
                                                                      "text/html": "<div>notebook-only html</div>"})),
                                ("01_second", "01 · Second", _display(explorer._repr_mimebundle_()))):
        injected = nbformat.v4.new_code_cell('CACHE_DIR = "/home/someone/.cache"')
        injected.metadata["tags"] = ["injected-parameters"]
        shown = nbformat.v4.new_code_cell("show()", outputs=[output], execution_count=2)
        book = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"# {title}\n\nText."), injected, shown])
        book.metadata["papermill"] = {"duration": 12.3}
        nbformat.write(book, folder / f"{stem}.ipynb")
    figures = folder / "figures"
    figures.mkdir()
    for suffix in (".png", ".svg", ".html"):
        (figures / f"00_heat{suffix}").write_text("x")
    table = pd.DataFrame([{"protocol": "tuned", "claim": c, "measure": "m", "primary": True, "effect": 1.0, "low": 0.5,
                           "high": 1.5, "seeds": 1, "verdict": "holds"} for c in claims.CLAIMS])
    results.write_table(table, figures / "00_claims.csv")
    return folder


def test_the_book_has_a_page_per_notebook_with_figures_widgets_and_the_claim_table(tmp_path):
    index = build_book(executed_series(tmp_path / "executed"), tmp_path / "book")
    book = index.parent
    assert sorted(p.name for p in book.glob("*.html")) == ["00_first.html", "01_second.html", "index.html"]
    first, second = (book / "00_first.html").read_text(), (book / "01_second.html").read_text()
    assert first.count("Plotly.newPlot") == 1 and "notebook-only html" not in first  # drawn from the figure itself
    assert '<script src="plotly.min.js"></script>' in first and (book / "plotly.min.js").stat().st_size > 1e6
    assert second.count("Plotly.newPlot") == 2 and "controls need a running kernel" in second  # the widget's default
    assert WIDGET not in second and "VBox(" not in second
    assert "/home/someone" not in first + second, "papermill's injected cell (this machine's paths) is left out"
    assert 'href="01_second.html"' in first and 'href="00_first.html"' in second and 'href="index.html"' in second
    page = index.read_text()
    assert page.count('<td class="verdict-holds">holds</td>') == len(claims.CLAIMS)
    assert '<a href="00_first.html">00 · First</a>' in page and "executed in 12 s" in page
    assert 'href="figures/00_heat.png"' in page and 'href="figures/00_heat.svg"' in page
    assert (book / "figures" / "00_heat.svg").exists() and not (book / "figures" / "00_heat.html").exists()
    assert oct(index.stat().st_mode & 0o777) == "0o644", "a web server must be able to read the pages"


def test_a_rebuilt_book_drops_stale_pages_and_marks_a_failed_notebook(tmp_path):
    executed = executed_series(tmp_path / "executed")
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "09_gone.html").write_text("an earlier build's page")
    (tmp_path / "book" / "notes.html").write_text("not the book's: kept")
    failed = nbformat.read(executed / "01_second.ipynb", as_version=4)
    failed.metadata["papermill"]["exception"] = True
    nbformat.write(failed, executed / "01_second.ipynb")
    index = build_book(executed, tmp_path / "book").read_text()
    assert not (tmp_path / "book" / "09_gone.html").exists() and (tmp_path / "book" / "notes.html").exists()
    assert index.count("failed: its page ends at the failing cell") == 1


def test_the_book_says_when_notebook_00_wrote_no_claim_table(tmp_path, capsys):
    executed = executed_series(tmp_path / "executed")
    (executed / "figures" / "00_claims.csv").unlink()
    assert main(["book", "--notebooks", str(executed), "--out", str(tmp_path / "book")]) == 0
    assert "wrote 3 pages" in capsys.readouterr().out
    assert "No claim table" in (tmp_path / "book" / "index.html").read_text()
