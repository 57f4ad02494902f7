"""The study's figures in plotly: accuracy, spectra and SVE/LSVR against noise, ID against OOD, methods side by side.
:mod:`.pictures` draws one run's data and training.

Every figure reads its per-seed means and spreads from :mod:`nml_tutorial.results`, the one place they are computed.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..results import id_tests, lesson_task, over_seeds, per_seed, select
from .layout import (
    DOMAIN_COLOURS,
    METHOD_COLOURS,
    METHOD_NAMES,
    PROTOCOL_NAMES,
    TASK_TITLES,
    chance_line,
    error_bars,
    legend_below,
    noise_label,
    ramp,
    seeds_note,
    titled,
)

GRADED_DASHES = ("dot", "dashdot", "longdashdot", "longdash")  # graded shifts, the weakest mix first
DASH_WORDS = {"dot": "dotted", "dashdot": "dash-dot", "longdashdot": "long dash-dot", "longdash": "long-dashed"}


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' * (n != 1)}"


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
            x=line["noise_ratio"] * 100, y=line["mean"] * scale, error_y=error_bars(line["std"], line["seeds"], scale),
            mode="lines+markers", name=f"{domain} ({'in-domain' if shift == 'id' else 'out-of-domain'})",
            legendgroup=domain, showlegend=domain not in shown, marker={"color": colour, "size": 4 + width},
            line={"dash": _dash(domain, shift, graded), "color": colour, "width": width},
        ), row=1, col=col)
        shown.add(domain)
    fig.update_xaxes(title_text=noise_label(rows), row=1, col=col)


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


def accuracy_vs_noise(table: pd.DataFrame, method: str = "linear_probe", protocol: str = "tuned",
                      reference: pd.DataFrame | None = None) -> go.Figure:
    """Probe accuracy against pre-training noise, one panel per task, one line per test domain.

    Solid lines are in-domain, dashed out-of-domain, a style mixed into the photo dotted, dash-dot, ... from the
    weakest mix up (the subtitle names each); error bars are the standard deviation over seeds. With ``reference``
    (a results table of other seeds of the same preset, e.g. :func:`nml_tutorial.reference_runs.reference_results`),
    each of its seeds' in-domain lines is drawn thin behind this run's, drawn bold.
    """
    rows = select(table, protocol=protocol, method=method)
    if rows.empty:
        raise ValueError(f"no rows for method {method!r} in the results table")
    tasks = list(dict.fromkeys(rows["task"]))
    fig = make_subplots(rows=1, cols=len(tasks), subplot_titles=[TASK_TITLES.get(t, t) for t in tasks],
                        horizontal_spacing=0.06)
    shown, drawn, graded = set(), set(), _graded_dashes(rows)
    for col, task in enumerate(tasks, start=1):
        if reference is not None:
            drawn |= _reference_seed_lines(fig, select(reference, protocol=protocol, method=method, task=task),
                                           "accuracy", 100, col, shown)
        _domain_lines(fig, rows[rows["task"] == task], "accuracy", 100, col, shown,
                      width=3 if drawn else 2, graded=graded)
        chance_line(fig, rows[rows["task"] == task], col)
    fig.update_yaxes(title_text=f"{METHOD_NAMES.get(method, method)}: top-1 accuracy (%)", row=1, col=1)
    panel_titles = {TASK_TITLES.get(t, t) for t in tasks}
    fig.for_each_annotation(lambda a: a.update(font_size=13) if a.text in panel_titles else None)  # 3 fit 1,000 px
    fig.update_layout(title=titled("Downstream accuracy against pre-training noise",
                                   f"{seeds_note(rows)} · {_line_key(rows)}{_reference_note(drawn)}"),
                      height=520, width=min(1300, max(560, 450 * len(tasks))), template="plotly_white")
    legend_below(fig)
    return fig


def _lesson(table: pd.DataFrame, task: str | None, domain: str | None = None) -> tuple[str, str]:
    """``task`` and ``domain``, or the table's lesson task and its in-domain test set where they are None."""
    task = task or lesson_task(table)
    return task, domain or id_tests(table).get(task, "photo")


def spectra(spectra_table: pd.DataFrame, method: str = "linear_probe", task: str | None = None,
            protocol: str = "tuned", domain: str | None = None) -> go.Figure:
    """The singular-value shares sigma_i / sum(sigma) of one test set's features, one line per noise ratio (mean
    over seeds): left against the direction index on a log scale, right divided by the share at the lowest noise
    ratio (the clean model's), where a flatter spectrum reads as below 1 for the first directions and above 1 in the
    tail. By default the lesson task's in-domain test set (:func:`~nml_tutorial.results.lesson_task`)."""
    task, domain = _lesson(spectra_table, task, domain)
    rows = select(spectra_table, protocol=protocol, method=method, task=task, test_domain=domain)
    if rows.empty:
        raise ValueError(f"no spectra for method {method!r}, task {task!r}, test set {domain!r}")
    mean = over_seeds(per_seed(rows, ["noise_ratio", "index"], "share"), ["noise_ratio", "index"], "share")
    ratios = sorted(mean["noise_ratio"].unique())
    clean = mean[mean["noise_ratio"] == ratios[0]].set_index("index")["mean"]
    base = "the clean model" if ratios[0] == 0 else f"the {ratios[0] * 100:g} %-noise model"
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1, subplot_titles=[
        "share of each direction (log scale)", f"share relative to {base}"])
    for ratio, colour in zip(ratios, ramp(len(ratios))):
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
    fig.update_layout(title=titled(f"Feature spectrum of the {domain} test set by pre-training noise",
                                   f"{METHOD_NAMES.get(method, method)} features, {TASK_TITLES.get(task, task)}; "
                                   f"mean over {_count(rows['seed'].nunique(), 'seed')} · right: below 1 = the "
                                   f"direction lost share, above 1 = it gained"),
                      template="plotly_white", height=460, width=1050)
    legend_below(fig)
    return fig


def sve_lsvr_vs_noise(table: pd.DataFrame, method: str = "linear_probe", task: str | None = None,
                      protocol: str = "tuned", reference: pd.DataFrame | None = None) -> go.Figure:
    """SVE and LSVR of the features against pre-training noise, one line per test domain (mean ± std); with
    ``reference``, each of its seeds' in-domain line thin behind this run's (bold). Default task: the lesson's."""
    task = _lesson(table, task)[0]
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
    fig.update_layout(title=titled("Spectrum summaries against pre-training noise",
                                   f"{METHOD_NAMES.get(method, method)} features, {TASK_TITLES.get(task, task)}; "
                                   f"{seeds_note(rows)}{_reference_note(drawn)}"), template="plotly_white",
                      height=500, width=1050)
    legend_below(fig)
    return fig


def method_comparison(table: pd.DataFrame, task: str | None = None, protocol: str = "tuned") -> go.Figure:
    """Accuracy of each method in the table, in-domain and averaged over the out-of-domain sets, per noise ratio;
    the title names the methods. Default task: the lesson's."""
    task = _lesson(table, task)[0]
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
                                 error_y=error_bars(part["std"], part["seeds"], 100),
                                 name=METHOD_NAMES[method], marker_color=METHOD_COLOURS[method], legendgroup=method,
                                 showlegend=col == 1), row=1, col=col)
        fig.update_xaxes(title_text=noise_label(rows), row=1, col=col)
        chance_line(fig, rows, col)
    fig.update_yaxes(title_text="top-1 accuracy (%)", row=1, col=1)
    fig.update_layout(barmode="group", template="plotly_white", height=500, width=1100,
                      title=titled(_capitalised(_listed([METHOD_NAMES[m] for m in methods])),
                                   f"{TASK_TITLES.get(task, task)}, {PROTOCOL_NAMES[protocol]}; {seeds_note(rows)}"))
    legend_below(fig)
    return fig


def id_ood_curve(table: pd.DataFrame, task: str | None = None, method: str = "linear_probe",
                 marker: float | None = None, protocol: str = "tuned") -> go.Figure:
    """ID accuracy and mean OOD accuracy against noise (mean ± std over seeds), with a marker at ``marker``.
    Default task: the lesson's."""
    task = _lesson(table, task)[0]
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
                                 error_y=error_bars(line["std"], line["seeds"], 100)))
    if marker is not None:
        at = stats[stats["noise_ratio"] == marker]
        fig.add_trace(go.Scatter(x=at["noise_ratio"] * 100, y=at["mean"] * 100, mode="markers", name="selected",
                                 marker={"size": 16, "color": "rgba(0,0,0,0)", "line": {"width": 3, "color": "black"}}))
    chance_line(fig, rows)
    fig.update_layout(title=f"{METHOD_NAMES.get(method, method)}, {TASK_TITLES.get(task, task).split(' (')[0]}"
                            + (f": {marker:.1%} noise" if marker is not None else ""),
                      xaxis_title=noise_label(rows), yaxis_title="top-1 accuracy (%)",
                      template="plotly_white", width=540, height=480)
    legend_below(fig)
    return fig


def spectrum_at(spectra_table: pd.DataFrame, ratio: float, task: str | None = None,
                method: str = "linear_probe", domain: str | None = None, protocol: str = "tuned") -> go.Figure:
    """The ID feature spectrum at one noise ratio against the clean model's (log scale); by default the lesson
    task's in-domain test set."""
    task, domain = _lesson(spectra_table, task, domain)
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
    legend_below(fig)
    return fig
