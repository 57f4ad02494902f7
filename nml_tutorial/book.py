"""The executed series as a static web book: ``nml-tutorial book``, ``make book``.

One page per executed notebook (nbconvert's JupyterLab template) and a first page with the claim table notebook 00
measured and the contents. nbconvert is Jupyter's own converter: no Node.js or Sphinx toolchain, a build of seconds,
offline. Plotly figures stay interactive, drawn by one copy of plotly.js beside the pages, so pages and figures need
no network (MathJax, for the few formulas, comes from its CDN where one is reachable); a widget shows the figures it
was displayed with (its controls need a kernel: JupyterLab or Binder). A notebook that failed is marked so.
The static figures (PNG, SVG) are copied into ``figures/`` for slides and handouts.
"""

from __future__ import annotations

import html
import os
import re
import shutil
from pathlib import Path
from urllib.parse import quote

import nbformat
import plotly.io as pio
from plotly.offline import get_plotlyjs

from .atomic import atomic_write_text
from .claims import claim_summary
from .results import read_table
from .series import series

PLOTLY = "application/vnd.plotly.v1+json"
WIDGET = "application/vnd.jupyter.widget-view+json"
PLOTLY_JS = "plotly.min.js"
CLAIMS_FILE = "00_claims.csv"  # written by notebook 00_quickstart into its figures folder

STYLE = """<style>
nav.nml-book { font: 14px system-ui, sans-serif; padding: 8px 16px; background: #f3f4f6; display: flex; gap: 24px; }
nav.nml-book a { color: #1f4e9c; text-decoration: none; }
body.nml-index { font: 16px/1.5 system-ui, sans-serif; max-width: 1100px; margin: 0 auto; padding: 0 24px 48px; }
body.nml-index table { border-collapse: collapse; font-size: 14px; margin: 12px 0; }
body.nml-index th, body.nml-index td { border-bottom: 1px solid #ddd; padding: 4px 10px; text-align: left; }
.verdict-holds { color: #1a7f37; font-weight: 600; } .verdict-refuted { color: #b42318; font-weight: 600; }
</style>"""


def _publish(text: str, path: Path) -> Path:
    """Write a page atomically, readable by a web server (atomic writes are private to their owner)."""
    atomic_write_text(text, path)
    os.chmod(path, 0o644)
    return path


def static_outputs(book: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Outputs a page without a kernel can show, in place: plotly figures as plotly.js divs, widgets as the static
    default they carry (:class:`nml_tutorial.viz.widgets.Explorer`); papermill's injected cell (this machine's
    folders) left out."""
    book.cells = [c for c in book.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    for cell in book.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if PLOTLY in data:
                div = pio.to_html(data[PLOTLY], full_html=False, include_plotlyjs=False, validate=False)
                output["data"] = {"text/html": div}
            elif WIDGET in data:
                del data[WIDGET]
    book.metadata.pop("widgets", None)
    return book


def _title(book: nbformat.NotebookNode, fallback: str) -> str:
    for cell in book.cells:
        if cell.cell_type == "markdown":
            match = re.search(r"^#\s+(.+)$", cell.source, flags=re.M)
            if match:
                return match.group(1).strip()
    return fallback


def _nav(pages: list[tuple[str, str]], i: int) -> str:
    links = ['<a href="index.html">Contents</a>']
    if i > 0:
        links.append(f'<a href="{pages[i - 1][0]}">&larr; {html.escape(pages[i - 1][1])}</a>')
    if i + 1 < len(pages):
        links.append(f'<a href="{pages[i + 1][0]}">{html.escape(pages[i + 1][1])} &rarr;</a>')
    return f'<nav class="nml-book">{"".join(links)}</nav>'


def notebook_page(book: nbformat.NotebookNode, title: str, nav: str) -> str:
    """One executed notebook as an HTML page: JupyterLab's look, the code shown, plotly.js from beside the page."""
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter(template_name="lab").from_notebook_node(static_outputs(book),
                                                                  resources={"metadata": {"name": title}})
    body = body.replace("<head>", f'<head>\n<script src="{PLOTLY_JS}"></script>\n{STYLE}', 1)
    body = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + nav, body, count=1)
    head, tail, end = body.rpartition("</body>")  # the page's own, not one inside an output
    return head + nav + tail + end


def _claims_html(claims_file: Path) -> str:
    if not claims_file.is_file():
        return (f"<p>No claim table: {html.escape(str(claims_file))} is missing (notebook 00_quickstart writes it; "
                "run <code>make run</code>).</p>")
    table = read_table(claims_file)
    summary = claim_summary(table)
    rows = "".join(f"<tr><td>{html.escape(r.protocol)}</td><td>{html.escape(r.claim)}</td>"
                   f"<td>{html.escape(r.statement)}</td>"
                   f'<td class="verdict-{r.verdict.split(",")[0].replace(" ", "-")}">{html.escape(r.verdict)}</td></tr>'
                   for r in summary.itertuples())
    primary = table[table["primary"]]
    detail = "".join(f"<tr><td>{html.escape(r.protocol)}</td><td>{html.escape(r.claim)}</td>"
                     f"<td>{html.escape(str(r.measure))}</td>"
                     f"<td>{r.effect:+.2f} [{r.low:+.2f}, {r.high:+.2f}]</td><td>{int(r.seeds)}</td>"
                     f"<td>{html.escape(r.verdict)}</td></tr>" for r in primary.itertuples())
    return (f"<table><tr><th>protocol</th><th>claim</th><th>the study says</th><th>verdict here</th></tr>{rows}</table>"
            "<details><summary>The primary measures: effect and 90 % t interval, its ends the one-sided 95 % bounds "
            "(accuracy in points, SVE/LSVR in nats; one seed borrows the spread of 8 reference seeds)</summary>"
            "<table><tr><th>protocol</th><th>claim</th><th>measure</th><th>effect [90 % interval]</th><th>seeds</th>"
            f"<th>verdict</th></tr>{detail}</table></details>")


def _index(pages: list[tuple[str, str]], books: list[nbformat.NotebookNode], claims_file: Path,
           figures: list[str]) -> str:
    items = []
    for (page, title), book in zip(pages, books):
        run = book.metadata.get("papermill", {})
        took = f" <small>(executed in {run['duration']:.0f} s)</small>" if run.get("duration") else ""
        if run.get("exception"):
            took += " <strong>failed: its page ends at the failing cell</strong>"
        items.append(f'<li><a href="{page}">{html.escape(title)}</a>{took}</li>')
    stems = dict.fromkeys(Path(name).stem for name in figures)
    figure_links = "".join(f"<li>{html.escape(stem)}: " + " · ".join(
        f'<a href="figures/{quote(stem + suffix)}">{suffix[1:].upper()}</a>' for suffix in (".png", ".svg")
        if f"{stem}{suffix}" in figures) + "</li>" for stem in stems)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Noisy Model Learning: the executed series</title>{STYLE}</head>
<body class="nml-index">
<h1>Noisy Model Learning: the executed series</h1>
<p>How label noise in pre-training data shapes a model's feature space, what it does in-domain and out-of-domain,
and how NMTune repairs it without touching the pre-trained weights: the notebooks of <code>nml_tutorial</code>,
executed on the package's <strong>synthetic</strong> data with their quick parameters (<code>make run</code>).
The study: Chen et al., <em>Impact of Noisy Supervision in Foundation Model Learning</em>, TPAMI 2025
(<a href="https://arxiv.org/abs/2309.17002">arXiv:2309.17002</a>).</p>
<h2>The study's claims, as this run measured them</h2>
{_claims_html(claims_file)}
<h2>Contents</h2>
<ol start="0">{"".join(items)}</ol>
<h2>Figures for slides and handouts</h2>
<ul>{figure_links or "<li>none: static figures need a Chromium for kaleido (apt-get install chromium)</li>"}</ul>
</body></html>
"""


def build_book(notebooks_dir="results/notebooks", out_dir="results/book") -> Path:
    """Render the executed series in ``notebooks_dir`` (what ``make run`` writes) into ``out_dir``; returns the
    first page, ``index.html``."""
    notebooks_dir, out_dir = Path(notebooks_dir), Path(out_dir)
    if not notebooks_dir.is_dir():
        raise FileNotFoundError(f"no executed notebooks at {notebooks_dir}; run the series first (`make run`, or "
                                "`nml-tutorial notebooks --out FOLDER`), then pass that folder")
    paths = series(notebooks_dir)
    books = [nbformat.read(p, as_version=4) for p in paths]
    unexecuted = [p.name for p, b in zip(paths, books) if not any(c.get("outputs") for c in b.cells)]
    if unexecuted:
        raise ValueError(f"{unexecuted} in {notebooks_dir} have no outputs: pass the folder of executed notebooks "
                         "(`make run` writes results/notebooks), not notebooks/")
    pages = [(f"{p.stem}.html", _title(b, p.stem)) for p, b in zip(paths, books)]
    old = [*out_dir.glob("[0-9][0-9]_*.html"), *out_dir.glob("figures/*.png"), *out_dir.glob("figures/*.svg")]
    for stale in old:  # an earlier build's pages and figures, which this series may no longer have
        stale.unlink()
    _publish(get_plotlyjs(), out_dir / PLOTLY_JS)
    for i, ((page, title), book) in enumerate(zip(pages, books)):
        _publish(notebook_page(book, title, _nav(pages, i)), out_dir / page)
    figures_dir = notebooks_dir / "figures"
    static = sorted(p for p in figures_dir.glob("*") if p.suffix in (".png", ".svg")) if figures_dir.is_dir() else []
    (out_dir / "figures").mkdir(parents=True, exist_ok=True)
    for path in static:
        shutil.copyfile(path, out_dir / "figures" / path.name)
    return _publish(_index(pages, books, figures_dir / CLAIMS_FILE, [p.name for p in static]), out_dir / "index.html")
