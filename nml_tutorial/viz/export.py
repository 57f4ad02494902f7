"""Figures as static files beside the notebooks: HTML always, PNG and SVG through kaleido where a Chrome is found.

Static export (PNG for pages and handouts, SVG for slides) goes through kaleido, which needs a Chrome or Chromium
(Debian's ``chromium`` works). Where none is found the HTML is still written and a warning says so.
"""

from __future__ import annotations

import atexit
import functools
import os
import warnings
from pathlib import Path

import plotly.graph_objects as go

from ..atomic import atomic_write_bytes, atomic_write_text

# "0": HTML only, no headless Chrome (its ~0.6 GB beside a kernel would not fit Binder's 2 GB; binder/start sets it)
STATIC_FIGURES_ENV = "NML_STATIC_FIGURES"


def saved(fig: go.Figure, stem, png: bool = True) -> go.Figure:
    """Write ``fig`` as static files (:func:`save_figure`, at its own width) and return a copy that fills the width
    of the page showing it (JupyterLab's column, the book's), so that a notebook cell can end with it."""
    save_figure(fig, stem, png=png)
    return go.Figure(fig).update_layout(width=None, autosize=True)


@functools.cache
def _start_png_server() -> None:
    """Keep one headless Chrome for kaleido in this process: 0.3 s a PNG instead of 3-4 s for a fresh one."""
    import kaleido

    kaleido.start_sync_server(silence_warnings=True)
    atexit.register(kaleido.stop_sync_server, silence_warnings=True)


def _image(fig: go.Figure, format: str) -> bytes:
    _start_png_server()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The kopts argument is ignored")  # plotly's, harmless
        return fig.to_image(format=format, scale=2 if format == "png" else 1)


def save_figure(fig: go.Figure, stem, png: bool = True) -> list[Path]:
    """Write ``stem.html`` (always), and with ``png`` the static images ``stem.png`` and ``stem.svg`` (when a Chrome
    for kaleido is available and ``NML_STATIC_FIGURES`` is not ``0``)."""
    stem = Path(stem)
    written = [atomic_write_text(fig.to_html(include_plotlyjs=True, full_html=True), stem.with_suffix(".html"))]
    if png and os.environ.get(STATIC_FIGURES_ENV, "1").lower() not in ("0", "false", "no", "off"):
        for format in ("png", "svg"):
            try:
                written.append(atomic_write_bytes(_image(fig, format), stem.with_suffix(f".{format}")))
            except Exception as err:  # kaleido without a Chrome raises several error types
                warnings.warn(f"static {format.upper()} export skipped ({type(err).__name__}: {err}); the HTML at "
                              f"{written[0]} has the figure. Install Chromium (apt-get install chromium) for PNGs and "
                              "SVGs.", stacklevel=2)
                break
    return written
