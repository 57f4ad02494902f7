"""The study's figures in plotly: accuracy, spectra and SVE/LSVR against noise, methods side by side, training
curves, images with their noisy labels, transition matrices, UMAP embeddings (notebooks 00-05).

Every figure reads its per-seed means and spreads from :mod:`nml_tutorial.results`, the one place they are computed.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from ..results import over_seeds, per_seed, select

DOMAIN_COLOURS = {
    "photo": "#1f77b4", "sketch": "#7f7f7f", "painting": "#2ca02c", "clipart": "#ff7f0e", "corrupted": "#d62728",
    "mnist": "#9467bd", "uci_digits": "#8c564b", "fashion": "#e377c2",
}
METHOD_NAMES = {"linear_probe": "linear probe", "linear_head": "linear head", "mlp_head": "MLP head",
                "nmtune": "NMTune", "finetune_pe": "last-block fine-tuning", "nmtune_pe": "last-block NMTune",
                "zero_shot": "zero-shot"}
PROTOCOL_NAMES = {"tuned": "tuned protocol", "study": "the study's protocol"}
_TASK_TITLES = {
    "downstream_classes": "held-out classes (DomainNet protocol)",
    "pretrain_classes": "pre-training classes (ImageNet-variants protocol)",
    "new_classes": "new classes of the generator",
    "digits": "real digits: MNIST -> UCI",
    "fashion": "real Fashion-MNIST",
}


def _error_bars(std: pd.Series, seeds: pd.Series, scale: float) -> dict:
    """Error bars of one standard deviation over seeds, drawn only where there are several seeds."""
    return {"type": "data", "array": (std.fillna(0) * scale).tolist(), "visible": bool((seeds > 1).any())}


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' * (n != 1)}"


def _seeds_note(rows: pd.DataFrame) -> str:
    """How many seeds a figure averages, and what its error bars are."""
    seeds = rows["seed"].nunique()
    return f"{seeds} seeds, bars: ±1 sd over seeds" if seeds > 1 else "1 seed: no spread to draw"


def _noise_label(rows: pd.DataFrame) -> str:
    """The noise axis in words: captions swapped for CLIP runs, labels flipped otherwise."""
    kind = "caption" if "noise_type" in rows and (rows["noise_type"] == "caption").all() else "label"
    return f"pre-training {kind} noise (%)"


def _chance_line(fig: go.Figure, rows: pd.DataFrame, col: int | None = None) -> None:
    """A dotted grey line at chance accuracy (1 / classes) when every row of the panel has the same class count."""
    if "num_classes" not in rows or rows["num_classes"].nunique() != 1:
        return
    chance = 100 / rows["num_classes"].iloc[0]
    where = {} if col is None else {"row": 1, "col": col}
    fig.add_hline(y=chance, line={"dash": "dot", "color": "#999", "width": 1}, annotation_text=f"chance {chance:g} %",
                  annotation_position="bottom right", annotation_font={"size": 10, "color": "#777"}, **where)


GRADED_DASHES = ("dot", "dashdot", "longdashdot", "longdash")  # graded shifts, the weakest mix first
DASH_WORDS = {"dot": "dotted", "dashdot": "dash-dot", "longdashdot": "long dash-dot", "longdash": "long-dashed"}


def _strength(domain: str) -> float | None:
    """A graded shift's mixing strength (``"sketch@0.25"`` -> 0.25); None for any other test set."""
    try:
        return float(domain.rsplit("@", 1)[1]) if "@" in domain else None
    except ValueError:
        return None


def _graded_dashes(rows: pd.DataFrame) -> dict[float, str]:
    """Each graded strength in ``rows`` -> its line dash, by rank (the strongest styles share the last dash)."""
    strengths = sorted({s for s in map(_strength, rows["test_domain"]) if s is not None})
    return {s: GRADED_DASHES[min(i, len(GRADED_DASHES) - 1)] for i, s in enumerate(strengths)}


def _dash(domain: str, shift: str, graded: dict[float, str]) -> str:
    """Solid in-domain, dashed out-of-domain at full strength, a graded shift by its strength (``graded``)."""
    if shift == "id":
        return "solid"
    return graded.get(_strength(domain), "dash")


def _line_key(rows: pd.DataFrame) -> str:
    """What each line style means, for the styles the rows draw."""
    parts = ["solid: in-domain"] if (rows["shift"] == "id").any() else []
    full = (rows["shift"] != "id") & rows["test_domain"].map(lambda d: _strength(d) is None)
    parts += ["dashed: out-of-domain"] if full.any() else []
    parts += [f"{DASH_WORDS[dash]}: a style mixed in at {s:.2f}" for s, dash in _graded_dashes(rows).items()]
    return ", ".join(parts)


def _domain_lines(fig: go.Figure, rows: pd.DataFrame, metric: str, scale: float, col: int, shown: set,
                  width: float = 2, graded: dict[float, str] | None = None) -> None:
    """One line per test domain of ``metric`` against noise (mean ± std over seeds) into panel ``col``; a domain
    enters the legend once (``shown``); ``graded`` gives the graded shifts' dashes (default: from ``rows``)."""
    graded = _graded_dashes(rows) if graded is None else graded
    keys = ["test_domain", "shift", "noise_ratio"]
    stats = over_seeds(per_seed(rows, keys, metric), keys, metric)
    for (domain, shift), line in stats.groupby(["test_domain", "shift"], sort=False):
        colour = DOMAIN_COLOURS.get(domain.split("@")[0])  # graded shifts share their style's colour
        fig.add_trace(go.Scatter(
            x=line["noise_ratio"] * 100, y=line["mean"] * scale, error_y=_error_bars(line["std"], line["seeds"], scale),
            mode="lines+markers", name=f"{domain} ({'in-domain' if shift == 'id' else 'out-of-domain'})",
            legendgroup=domain, showlegend=domain not in shown, marker={"color": colour, "size": 4 + width},
            line={"dash": _dash(domain, shift, graded), "color": colour, "width": width},
        ), row=1, col=col)
        shown.add(domain)
    fig.update_xaxes(title_text=_noise_label(rows), row=1, col=col)


def _reference_seed_lines(fig: go.Figure, reference: pd.DataFrame, metric: str, scale: float, col: int,
                          shown: set) -> set:
    """Each reference seed's in-domain line, thin and pale, behind this run's lines in panel ``col``; returns the
    seeds drawn."""
    rows = reference[reference["shift"] == "id"]
    lines = per_seed(rows, ["test_domain", "noise_ratio"], metric).groupby(["test_domain", "seed"], sort=False)
    for (domain, seed), line in lines:
        fig.add_trace(go.Scatter(
            x=line["noise_ratio"] * 100, y=line[metric] * scale, mode="lines", opacity=0.35, hoverinfo="text",
            text=f"{domain}, reference seed {seed}", name=f"reference seeds ({rows['seed'].nunique()}, thin)",
            legendgroup="reference", showlegend="reference" not in shown,
            line={"color": DOMAIN_COLOURS.get(domain, "#999"), "width": 1},
        ), row=1, col=col)
        shown.add("reference")
    return set(rows["seed"])


def _reference_note(seeds: set) -> str:
    """The subtitle's words for the reference seeds drawn (none: nothing)."""
    if not seeds:
        return ""
    seeds = sorted(seeds)
    return f" · thin: each of the {len(seeds)} reference seeds ({seeds[0]}-{seeds[-1]}), in-domain; bold: this run"


def _listed(names: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


NOTE_LINE = 95  # characters of a subtitle line: fits a 1,000 px plot area (JupyterLab's column at a 1,400 px window)


def _title(main: str, note: str) -> dict:
    """What the figure shows, then how to read it in smaller type: the note's ' · '-separated parts on lines of at
    most about NOTE_LINE characters."""
    lines = [""]
    for part in note.split(" · "):
        joined = f"{lines[-1]} · {part}" if lines[-1] else part
        if len(joined) <= NOTE_LINE or not lines[-1]:
            lines[-1] = joined
        else:
            lines.append(part)
    return {"text": main + "".join(f"<br><sup>{line}</sup>" for line in lines), "x": 0.02, "xanchor": "left",
            "yref": "container", "y": 1, "yanchor": "top", "pad": {"t": 18}}


def _legend_below(fig: go.Figure) -> None:
    """Legend in rows under the panels, where it cannot cover or be cut by them; room above the panels for every
    line of the title."""
    extra = max(0, (fig.layout.title.text or "").count("<br>") - 1)  # title lines beyond two
    fig.update_layout(legend={"orientation": "h", "yanchor": "top", "y": -0.22, "xanchor": "left", "x": 0},
                      margin={"b": 140, "t": 100 + 20 * extra})
    if extra and fig.layout.height:
        fig.update_layout(height=fig.layout.height + 20 * extra)


def accuracy_vs_noise(table: pd.DataFrame, method: str = "linear_probe", protocol: str = "tuned",
                      reference: pd.DataFrame | None = None) -> go.Figure:
    """Probe accuracy against pre-training noise, one panel per task, one line per test domain.

    Solid lines are in-domain, dashed out-of-domain, a style mixed into the photo dotted, dash-dot, ... from the
    weakest mix up (the subtitle names each); error bars are the standard deviation over seeds. With ``reference``
    (a results table of other seeds of the same preset, e.g. :func:`nml_tutorial.claims.reference_results`), each of
    its seeds' in-domain lines is drawn thin behind this run's, drawn bold.
    """
    rows = select(table, protocol=protocol, method=method)
    if rows.empty:
        raise ValueError(f"no rows for method {method!r} in the results table")
    tasks = list(dict.fromkeys(rows["task"]))
    fig = make_subplots(rows=1, cols=len(tasks), subplot_titles=[_TASK_TITLES.get(t, t) for t in tasks],
                        horizontal_spacing=0.06)
    shown, drawn, graded = set(), set(), _graded_dashes(rows)
    for col, task in enumerate(tasks, start=1):
        if reference is not None:
            drawn |= _reference_seed_lines(fig, select(reference, protocol=protocol, method=method, task=task),
                                           "accuracy", 100, col, shown)
        _domain_lines(fig, rows[rows["task"] == task], "accuracy", 100, col, shown,
                      width=3 if drawn else 2, graded=graded)
        _chance_line(fig, rows[rows["task"] == task], col)
    fig.update_yaxes(title_text=f"{METHOD_NAMES.get(method, method)}: top-1 accuracy (%)", row=1, col=1)
    panel_titles = {_TASK_TITLES.get(t, t) for t in tasks}
    fig.for_each_annotation(lambda a: a.update(font_size=13) if a.text in panel_titles else None)  # 3 fit 1,000 px
    fig.update_layout(title=_title("Downstream accuracy against pre-training noise",
                                   f"{_seeds_note(rows)} · {_line_key(rows)}{_reference_note(drawn)}"),
                      height=520, width=min(1300, max(560, 450 * len(tasks))), template="plotly_white")
    _legend_below(fig)
    return fig


METHOD_COLOURS = {"linear_probe": "#7f7f7f", "linear_head": "#bcbd22", "mlp_head": "#17becf", "nmtune": "#d62728",
                  "finetune_pe": "#9467bd", "nmtune_pe": "#e377c2", "zero_shot": "#2ca02c"}


def spectra(spectra_table: pd.DataFrame, method: str = "linear_probe", task: str = "downstream_classes",
            protocol: str = "tuned", domain: str = "photo") -> go.Figure:
    """The singular-value shares sigma_i / sum(sigma) of one test set's features, one line per noise ratio (mean
    over seeds): left against the direction index on a log scale, right divided by the share at the lowest noise
    ratio (the clean model's), where a flatter spectrum reads as below 1 for the first directions and above 1 in the
    tail."""
    rows = select(spectra_table, protocol=protocol, method=method, task=task, test_domain=domain)
    if rows.empty:
        raise ValueError(f"no spectra for method {method!r}, task {task!r}, test set {domain!r}")
    mean = over_seeds(per_seed(rows, ["noise_ratio", "index"], "share"), ["noise_ratio", "index"], "share")
    ratios = sorted(mean["noise_ratio"].unique())
    clean = mean[mean["noise_ratio"] == ratios[0]].set_index("index")["mean"]
    base = "the clean model" if ratios[0] == 0 else f"the {ratios[0] * 100:g} %-noise model"
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1, subplot_titles=[
        "share of each direction (log scale)", f"share relative to {base}"])
    for ratio, colour in zip(ratios, _ramp(len(ratios))):
        line = mean[mean["noise_ratio"] == ratio]
        for col, y in ((1, line["mean"]), (2, line["mean"].to_numpy() / clean.loc[line["index"]].to_numpy())):
            fig.add_trace(go.Scatter(x=line["index"], y=y, mode="lines", line={"color": colour, "width": 2.5},
                                     name=f"{ratio * 100:g} % noise", legendgroup=str(ratio), showlegend=col == 1),
                          row=1, col=col)
    fig.add_hline(y=1, line={"dash": "dot", "color": "#999", "width": 1}, row=1, col=2)
    fig.update_xaxes(title_text="direction i (largest first)")
    fig.update_yaxes(type="log", exponentformat="power", dtick=1, row=1, col=1)  # ticks at 10^-1, 10^-2, ...
    fig.update_yaxes(title_text="σᵢ / Σσ", row=1, col=1)
    fig.update_yaxes(title_text=f"share ÷ the share of {base}", row=1, col=2)
    fig.update_layout(title=_title(f"Feature spectrum of the {domain} test set by pre-training noise",
                                   f"{METHOD_NAMES.get(method, method)} features, {_TASK_TITLES.get(task, task)}; "
                                   f"mean over {_count(rows['seed'].nunique(), 'seed')} · right: below 1 = the "
                                   f"direction lost share, above 1 = it gained"),
                      template="plotly_white", height=460, width=1050)
    _legend_below(fig)
    return fig


def _ramp(n: int) -> list[str]:
    """n colours from light to dark red: darker = more noise."""
    return [f"rgb({int(250 - 150 * t)}, {int(180 * (1 - t))}, {int(120 * (1 - t))})"
            for t in ([0.0] if n == 1 else [i / (n - 1) for i in range(n)])]


def sve_lsvr_vs_noise(table: pd.DataFrame, method: str = "linear_probe", task: str = "downstream_classes",
                      protocol: str = "tuned", reference: pd.DataFrame | None = None) -> go.Figure:
    """SVE and LSVR of the features against pre-training noise, one line per test domain (mean ± std); with
    ``reference``, each of its seeds' in-domain line thin behind this run's (bold)."""
    rows = select(table, protocol=protocol, method=method, task=task)
    if rows.empty:
        raise ValueError(f"no rows for method {method!r} on task {task!r}")
    fig = make_subplots(rows=1, cols=2, subplot_titles=["SVE: higher = the spectrum spread over more directions",
                                                        "LSVR: higher = the largest direction holds less"])
    shown, drawn = set(), set()
    for col, metric in enumerate(("sve", "lsvr"), start=1):
        if reference is not None:
            drawn |= _reference_seed_lines(fig, select(reference, protocol=protocol, method=method, task=task),
                                           metric, 1, col, shown)
        _domain_lines(fig, rows, metric, 1, col, shown, width=3 if drawn else 2)
    fig.update_yaxes(title_text="SVE = −Σ pᵢ log pᵢ (nats)", row=1, col=1)
    fig.update_yaxes(title_text="LSVR = −log p₁ (nats)", row=1, col=2)
    fig.update_layout(title=_title("Spectrum summaries against pre-training noise",
                                   f"{METHOD_NAMES.get(method, method)} features, {_TASK_TITLES.get(task, task)}; "
                                   f"{_seeds_note(rows)}{_reference_note(drawn)}"), template="plotly_white",
                      height=500, width=1050)
    _legend_below(fig)
    return fig


def method_comparison(table: pd.DataFrame, task: str = "downstream_classes", protocol: str = "tuned") -> go.Figure:
    """Accuracy of each method in the table, in-domain and averaged over the out-of-domain sets, per noise ratio;
    the title names the methods."""
    rows = select(table, protocol=protocol, task=task)
    if rows.empty:
        raise ValueError(f"no rows for task {task!r}")
    keys = ["method", "noise_ratio", "shift"]
    stats = over_seeds(per_seed(rows, keys), keys)
    fig = make_subplots(rows=1, cols=2, subplot_titles=["in-domain", "out-of-domain (mean over shifted domains)"])
    methods = [m for m in METHOD_COLOURS if m in set(stats["method"])]
    for col, shift in enumerate(("id", "ood"), start=1):
        for method in methods:
            part = stats[(stats["method"] == method) & (stats["shift"] == shift)]
            fig.add_trace(go.Bar(x=[f"{r * 100:g} %" for r in part["noise_ratio"]], y=part["mean"] * 100,
                                 error_y=_error_bars(part["std"], part["seeds"], 100),
                                 name=METHOD_NAMES[method], marker_color=METHOD_COLOURS[method], legendgroup=method,
                                 showlegend=col == 1), row=1, col=col)
        fig.update_xaxes(title_text=_noise_label(rows), row=1, col=col)
        _chance_line(fig, rows, col)
    fig.update_yaxes(title_text="top-1 accuracy (%)", row=1, col=1)
    fig.update_layout(barmode="group", template="plotly_white", height=500, width=1100,
                      title=_title(_capitalised(_listed([METHOD_NAMES[m] for m in methods])),
                                   f"{_TASK_TITLES.get(task, task)}, {PROTOCOL_NAMES[protocol]}; {_seeds_note(rows)}"))
    _legend_below(fig)
    return fig


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


def id_ood_curve(table: pd.DataFrame, task: str = "downstream_classes", method: str = "linear_probe",
                 marker: float | None = None, protocol: str = "tuned") -> go.Figure:
    """ID accuracy and mean OOD accuracy against noise (mean ± std over seeds), with a marker at ``marker``."""
    rows = select(table, protocol=protocol, method=method, task=task)
    if rows.empty:
        raise ValueError(f"no rows for method {method!r} on task {task!r}")
    keys = ["shift", "noise_ratio"]
    stats = over_seeds(per_seed(rows, keys), keys)
    fig = go.Figure()
    for shift, colour in (("id", "#1f77b4"), ("ood", "#d62728")):
        line = stats[stats["shift"] == shift]
        fig.add_trace(go.Scatter(x=line["noise_ratio"] * 100, y=line["mean"] * 100, mode="lines+markers",
                                 name="in-domain" if shift == "id" else "out-of-domain (mean)",
                                 line={"color": colour, "dash": "solid" if shift == "id" else "dash"},
                                 error_y=_error_bars(line["std"], line["seeds"], 100)))
    if marker is not None:
        at = stats[stats["noise_ratio"] == marker]
        fig.add_trace(go.Scatter(x=at["noise_ratio"] * 100, y=at["mean"] * 100, mode="markers", name="selected",
                                 marker={"size": 16, "color": "rgba(0,0,0,0)", "line": {"width": 3, "color": "black"}}))
    _chance_line(fig, rows)
    fig.update_layout(title=f"{METHOD_NAMES.get(method, method)}, {_TASK_TITLES.get(task, task).split(' (')[0]}"
                            + (f": {marker:.1%} noise" if marker is not None else ""),
                      xaxis_title=_noise_label(rows), yaxis_title="top-1 accuracy (%)",
                      template="plotly_white", width=540, height=480)
    _legend_below(fig)
    return fig


def spectrum_at(spectra_table: pd.DataFrame, ratio: float, task: str = "downstream_classes",
                method: str = "linear_probe", domain: str = "photo", protocol: str = "tuned") -> go.Figure:
    """The ID feature spectrum at one noise ratio against the clean model's (log scale)."""
    rows = select(spectra_table, protocol=protocol, method=method, task=task, test_domain=domain)
    if rows.empty:
        raise ValueError(f"no spectra for method {method!r}, task {task!r}, domain {domain!r}")
    mean = over_seeds(per_seed(rows, ["noise_ratio", "index"], "share"), ["noise_ratio", "index"], "share")
    fig = go.Figure()
    for r, colour, name in ((0.0, "#7f7f7f", "clean"), (ratio, "#d62728", f"{ratio:.1%} noise")):
        line = mean[mean["noise_ratio"] == r]
        fig.add_trace(go.Scatter(x=line["index"], y=line["mean"], mode="lines", name=name, line={"color": colour}))
    fig.update_yaxes(type="log", exponentformat="power", dtick=1, title_text="share of the spectrum, σᵢ / Σσ (log)")
    fig.update_layout(title=f"Spectrum of {domain} features: {ratio:.1%} noise against clean",
                      xaxis_title="direction i (largest first)", template="plotly_white", width=540, height=480)
    _legend_below(fig)
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
    colours = dict(zip([n for n in names if n != highlight], _ramp(len(histories) - (highlight is not None))))
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
    _legend_below(fig)
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
    fig.update_layout(title=_title("Batch run: each cell's metrics", f"{metrics['cell'].nunique()} cells; colour: "
                                   + (", ".join(varying) if varying else "cell")),
                      height=max(320, 60 + 28 * metric_count), width=900, template="plotly_white",
                      margin={"l": 20, "r": 20, "t": 70, "b": 40}, yaxis={"automargin": True})
    fig.update_xaxes(title_text="value (accuracy effects in points, SVE/LSVR in nats)")
    _legend_below(fig)
    return fig
