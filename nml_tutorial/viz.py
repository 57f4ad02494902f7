"""Plotly figures of the study, each also written as a static file (notebooks 00 and 03).

Static PNG export goes through kaleido, which needs a Chrome or Chromium (Debian's ``chromium``
works). Where none is found the HTML is still written and a warning says so.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .io import atomic_write_bytes, atomic_write_text

DOMAIN_COLOURS = {
    "photo": "#1f77b4", "sketch": "#7f7f7f", "painting": "#2ca02c", "clipart": "#ff7f0e", "corrupted": "#d62728",
    "mnist": "#9467bd", "uci_digits": "#8c564b",
}
_TASK_TITLES = {
    "downstream_classes": "held-out classes (DomainNet protocol)",
    "pretrain_classes": "pre-training classes (ImageNet-variants protocol)",
    "digits": "real digits: MNIST -> UCI",
}


def accuracy_vs_noise(table: pd.DataFrame, method: str = "linear_probe") -> go.Figure:
    """Probe accuracy against pre-training noise, one panel per task, one line per test domain.

    Solid lines are in-domain, dashed out-of-domain; error bars are the standard deviation over seeds.
    """
    rows = table[table["method"] == method]
    if rows.empty:
        raise ValueError(f"no rows for method {method!r} in the results table")
    tasks = list(dict.fromkeys(rows["task"]))
    fig = make_subplots(rows=1, cols=len(tasks), subplot_titles=[_TASK_TITLES.get(t, t) for t in tasks],
                        horizontal_spacing=0.06)
    shown = set()
    for col, task in enumerate(tasks, start=1):
        part = rows[rows["task"] == task]
        stats = part.groupby(["test_domain", "shift", "noise_ratio"])["accuracy"].agg(["mean", "std"]).reset_index()
        for (domain, shift), line in stats.groupby(["test_domain", "shift"], sort=False):
            fig.add_trace(go.Scatter(
                x=line["noise_ratio"] * 100, y=line["mean"] * 100,
                error_y={"type": "data", "array": line["std"].fillna(0) * 100, "visible": True},
                mode="lines+markers", name=f"{domain} ({shift.upper()})", legendgroup=domain,
                showlegend=domain not in shown, marker={"color": DOMAIN_COLOURS.get(domain)},
                line={"dash": "solid" if shift == "id" else "dash", "color": DOMAIN_COLOURS.get(domain)},
            ), row=1, col=col)
            shown.add(domain)
        fig.update_xaxes(title_text="pre-training label noise (%)", row=1, col=col)
    fig.update_yaxes(title_text="linear-probe top-1 accuracy (%)", row=1, col=1)
    seeds = rows["seed"].nunique()
    fig.update_layout(title=f"Pre-training noise vs downstream accuracy ({seeds} seed{'s' * (seeds > 1)}; "
                            "solid = in-domain, dashed = out-of-domain)",
                      height=450, width=max(500, 450 * len(tasks)), template="plotly_white")
    return fig


def save_figure(fig: go.Figure, stem, png: bool = True) -> list[Path]:
    """Write ``stem.html`` (always) and ``stem.png`` (when a Chrome for kaleido is available)."""
    stem = Path(stem)
    written = [atomic_write_text(fig.to_html(include_plotlyjs=True, full_html=True), stem.with_suffix(".html"))]
    if png:
        try:
            written.append(atomic_write_bytes(fig.to_image(format="png", scale=2), stem.with_suffix(".png")))
        except Exception as err:  # kaleido without a Chrome raises several error types
            warnings.warn(f"static PNG export skipped ({type(err).__name__}: {err}); the HTML at "
                          f"{written[0]} has the figure. Install Chromium (apt-get install chromium) for PNGs.",
                          stacklevel=2)
    return written
