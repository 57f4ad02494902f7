"""The notebooks' widgets: ipywidgets controls driving plotly ``FigureWidget``s.

Each widget already shows its default state, so papermill records a figure without interaction; each is an
:class:`Explorer` exposing ``.figures`` (name -> ``FigureWidget``) for :func:`~nml_tutorial.viz.save_figure`, and its
display carries those figures as HTML too (plotly divs: the page must load plotly.js, as the book's pages do), which
a page without a kernel shows instead.
"""

from __future__ import annotations

import ipywidgets as widgets
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from ..data import LabeledImages
from ..noise import apply_label_noise, empirical_transition
from ..results import lesson_task, select
from .figures import id_ood_curve, spectrum_at
from .pictures import image_grid, transition_heatmap


def _noisy_view(data: LabeledImages, noise_type: str, ratio: float, n_images: int, seed: int):
    noisy = apply_label_noise(data.labels, data.num_classes, noise_type, ratio, seed=seed)
    shown = slice(0, n_images)
    grid = image_grid(data.images[shown], noisy.labels[shown], data.class_names, flipped=noisy.corrupted[shown],
                      title=f"{noise_type} noise, {ratio:.0%}: red labels were flipped")
    matrix = transition_heatmap(empirical_transition(data.labels, noisy.labels, data.num_classes), data.class_names,
                                title=f"realised transition matrix ({noisy.corrupted.float().mean():.1%} flipped)")
    return grid, matrix


def _refresh(widget: go.FigureWidget, figure: go.Figure) -> None:
    """Show ``figure`` in an existing ``widget`` (same traces, new data, title and annotations) in one update."""
    with widget.batch_update():
        widget.layout.title = figure.layout.title
        widget.layout.annotations = figure.layout.annotations
        for trace, new in zip(widget.data, figure.data):
            trace.update(new.to_plotly_json())


class Explorer(widgets.VBox):
    """Controls and the ``figures`` they redraw; displayed, it also carries the figures' current state as HTML
    (plotly divs needing plotly.js on the page), the static default that a page without a kernel shows."""

    def __init__(self, children, figures: dict[str, go.FigureWidget]):
        super().__init__(children)
        self.figures = figures

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs)
        divs = "".join(pio.to_html(go.Figure(f), full_html=False, include_plotlyjs=False, validate=False)
                       for f in self.figures.values())
        bundle["text/html"] = (f"<div class='nml-static-widget'>{divs}<p><em>The default view of an interactive "
                               "widget: its controls need a running kernel (JupyterLab or Binder).</em></p></div>")
        return bundle


def noise_explorer(data: LabeledImages, ratio: float = 0.2, noise_type: str = "symmetric", n_images: int = 16,
                   seed: int = 0) -> Explorer:
    """A noise-ratio slider and a noise-type selector redrawing labelled images and the transition matrix."""
    slider = widgets.FloatSlider(value=ratio, min=0.0, max=0.8, step=0.05, description="noise ratio",
                                 readout_format=".0%", continuous_update=False)
    kind = widgets.Dropdown(options=["symmetric", "pair"], value=noise_type, description="noise type")
    grid, matrix = (go.FigureWidget(f) for f in _noisy_view(data, noise_type, ratio, n_images, seed))

    def redraw(_=None):
        for widget, figure in zip((grid, matrix), _noisy_view(data, kind.value, slider.value, n_images, seed)):
            _refresh(widget, figure)

    slider.observe(redraw, names="value")
    kind.observe(redraw, names="value")
    return Explorer([widgets.HBox([slider, kind]), grid, matrix], {"noise_images": grid, "noise_matrix": matrix})


def noise_sweep_explorer(table: pd.DataFrame, spectra_table: pd.DataFrame, task: str | None = None,
                         method: str = "linear_probe") -> Explorer:
    """A slider over the sweep's noise ratios moving the ID/OOD accuracy marker and the spectrum shown (default
    task: the lesson's)."""
    task = task or lesson_task(table)
    ratios = sorted(select(table, protocol="tuned", method=method, task=task)["noise_ratio"].unique())
    if not ratios:
        raise ValueError(f"no rows for method {method!r} on task {task!r}")
    accuracy = go.FigureWidget(id_ood_curve(table, task, method, marker=ratios[-1]))
    spectrum = go.FigureWidget(spectrum_at(spectra_table, ratios[-1], task, method))
    slider = widgets.SelectionSlider(options=[(f"{r:.1%}", r) for r in ratios], value=ratios[-1],
                                     description="noise", continuous_update=False)

    def redraw(change):
        _refresh(accuracy, id_ood_curve(table, task, method, marker=change["new"]))
        _refresh(spectrum, spectrum_at(spectra_table, change["new"], task, method))

    slider.observe(redraw, names="value")
    side_by_side = widgets.HBox([accuracy, spectrum], layout=widgets.Layout(flex_flow="row wrap"))  # wraps when narrow
    return Explorer([slider, side_by_side],
                    {"id_ood_marker": accuracy, "spectrum_at_noise": spectrum})
