"""Pictures of one run's data and training in plotly: images with their noisy labels, transition matrices, UMAP
embeddings, training curves, and a batch run's metrics.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from .layout import legend_below, ramp, titled


def image_grid(images, labels, class_names: list[str], flipped=None, cols: int = 8, title: str = "") -> go.Figure:
    """Images tiled in a grid, each titled with its (possibly noisy) label; flipped labels in red."""
    images = images.cpu()
    n, _, h, w = images.shape
    rows, label_room, gap = -(-n // cols), h // 2, 2  # label_room: pixels above each image for its two-line label
    pitch_y, pitch_x = h + label_room, w + gap
    canvas = torch.full((3, rows * pitch_y, cols * pitch_x), 255, dtype=torch.uint8)
    for i in range(n):
        r, c = divmod(i, cols)
        canvas[:, r * pitch_y + label_room:(r + 1) * pitch_y, c * pitch_x:c * pitch_x + w] = images[i]
    fig = go.Figure(go.Image(z=canvas.permute(1, 2, 0).numpy(), hoverinfo="skip"))
    flipped = [False] * n if flipped is None else flipped.cpu().tolist()
    for i, (label, bad) in enumerate(zip(labels.cpu().tolist(), flipped)):
        r, c = divmod(i, cols)
        fig.add_annotation(x=c * pitch_x + w / 2, y=r * pitch_y + label_room, yanchor="bottom", showarrow=False,
                           text=class_names[label].replace(" ", "<br>", 1),
                           font={"size": 10, "color": "#d62728" if bad else "#333"})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(title=title, width=110 * cols, height=160 * rows + 70, template="plotly_white",
                      margin={"t": 60, "l": 10, "r": 10, "b": 10})
    return fig


def transition_heatmap(T, class_names: list[str], title: str = "transition matrix") -> go.Figure:
    """Heat map of a label-noise transition matrix T[clean, noisy] (rows sum to one): white only where a probability
    is zero, each value printed in its cell for up to 12 classes."""
    small = len(class_names) <= 12  # few enough cells to print each probability in it
    fig = go.Figure(go.Heatmap(z=T.cpu().numpy(), x=class_names, y=class_names, zmin=0, zmax=1,
                               colorscale=[[0, "white"], [0.001, "#fde3d7"], [1, "#67000d"]],  # any p > 0 is tinted
                               texttemplate="%{z:.2f}" if small else None, textfont={"size": 10},
                               colorbar={"title": {"text": "P(noisy | clean)", "side": "right"}}))
    fig.update_xaxes(title_text="noisy label (what the model is trained on)", tickangle=-45, automargin=True)
    fig.update_yaxes(title_text="clean label", autorange="reversed", automargin=True)
    fig.update_layout(title=title, template="plotly_white", width=680, height=640)
    return fig


def umap_scatter(embeddings: dict, labels, class_names: list[str], marked=None, marked_name: str = "flipped label",
                 title: str = "UMAP of features") -> go.Figure:
    """Side-by-side 2-D embeddings (e.g. before / after NMTune), coloured by class, ``marked`` points as crosses."""
    labels = labels.cpu().numpy()
    fig = make_subplots(rows=1, cols=len(embeddings), subplot_titles=list(embeddings))
    present = sorted(set(labels.tolist()))  # spread the hues over the classes shown, not all classes
    palette = {y: f"hsl({int(360 * i / len(present))}, 65%, 50%)" for i, y in enumerate(present)}
    for col, xy in enumerate(embeddings.values(), start=1):
        fig.add_trace(go.Scatter(x=xy[:, 0], y=xy[:, 1], mode="markers", showlegend=False,
                                 marker={"size": 6, "color": [palette[y] for y in labels], "opacity": 0.8},
                                 text=[class_names[y] for y in labels], hoverinfo="text"), row=1, col=col)
        if marked is not None:
            m = marked.cpu().numpy()
            fig.add_trace(go.Scatter(x=xy[m, 0], y=xy[m, 1], mode="markers", name=marked_name, showlegend=col == 1,
                                     marker={"symbol": "x-thin", "size": 6, "line": {"width": 1.5, "color": "black"}},
                                     opacity=0.6), row=1, col=col)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(title=title + " (colour = class)", template="plotly_white", width=480 * len(embeddings),
                      height=480)
    return fig


CURVE_WORDS = {  # objective -> (left panel, right panel, left axis, right axis, title)
    "supervised": ("accuracy on the training labels (noisy)", "flipped labels the model predicts (memorised)",
                   "training accuracy on the given labels (%)", "flipped labels predicted as flipped (%)",
                   "Pre-training on noisy labels"),
    "clip": ("in-batch retrieval: each image finds its caption", "swapped pairs the model matches (memorised)",
             "images retrieving their own caption in the batch (%)", "swapped pairs retrieved (%)",
             "Contrastive pre-training on noisy captions"),
}


def training_curves(histories: dict, highlight: str | None = None, objective: str = "supervised") -> go.Figure:
    """Per-epoch training accuracy (for ``objective="clip"``: in-batch image-to-caption retrieval) and the fraction
    of noisy samples fitted.

    ``histories`` maps a run name to its history (``PretrainedRun.history``); the run named ``highlight`` is drawn
    last, black, dashed and with markers, so that it shows even where it runs on top of another.
    """
    if highlight is not None and highlight not in histories:
        raise ValueError(f"highlight {highlight!r} is not one of the runs {list(histories)}")
    if objective not in CURVE_WORDS:
        raise ValueError(f"objective must be one of {list(CURVE_WORDS)}, got {objective!r}")
    left, right, left_axis, right_axis, title = CURVE_WORDS[objective]
    fig = make_subplots(rows=1, cols=2, subplot_titles=[left, right])
    names = [n for n in histories if n != highlight] + ([highlight] if highlight is not None else [])
    colours = dict(zip([n for n in names if n != highlight], ramp(len(histories) - (highlight is not None))))
    for name in names:
        history = histories[name]
        epochs = [h["epoch"] for h in history]
        style = ({"mode": "lines+markers", "line": {"color": "black", "dash": "dash", "width": 3}}
                 if name == highlight else {"mode": "lines", "line": {"color": colours[name], "width": 2}})
        fig.add_trace(go.Scatter(x=epochs, y=[100 * h["train_acc"] for h in history], name=name, legendgroup=name,
                                 **style), row=1, col=1)
        if "noisy_fitted" in history[-1]:
            fig.add_trace(go.Scatter(x=epochs, y=[100 * h.get("noisy_fitted", 0) for h in history], name=name,
                                     legendgroup=name, showlegend=False, **style), row=1, col=2)
    fig.update_xaxes(title_text="epoch")
    fig.update_yaxes(title_text=left_axis, range=[0, 100], row=1, col=1)
    fig.update_yaxes(title_text=right_axis, range=[0, 100], row=1, col=2)
    fig.update_layout(template="plotly_white", height=480, width=1050, title=title)
    legend_below(fig)
    return fig


def batch_report(metrics: pd.DataFrame) -> go.Figure:
    """A batch run's metrics (``nml-tutorial batch``): one row per metric, one dot per grid cell, coloured by the
    parameters that vary across cells."""
    fixed = {"cell", "metric", "value"}
    varying = [c for c in metrics.columns if c not in fixed and metrics[c].astype(str).nunique() > 1]
    label = metrics[varying].astype(str).agg(", ".join, axis=1) if varying else metrics["cell"]
    fig = go.Figure()
    for name, rows in metrics.assign(label=label).groupby("label", sort=False):
        fig.add_trace(go.Scatter(x=rows["value"], y=rows["metric"], mode="markers", name=name, marker={"size": 9}))
    metric_count = metrics["metric"].nunique()
    fig.update_layout(title=titled("Batch run: each cell's metrics", f"{metrics['cell'].nunique()} cells; colour: "
                                   + (", ".join(varying) if varying else "cell")),
                      height=max(320, 60 + 28 * metric_count), width=900, template="plotly_white",
                      margin={"l": 20, "r": 20, "t": 70, "b": 40}, yaxis={"automargin": True})
    fig.update_xaxes(title_text="value (accuracy effects in points, SVE/LSVR in nats)")
    legend_below(fig)
    return fig
