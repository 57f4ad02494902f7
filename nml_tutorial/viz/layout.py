"""What every figure shares: names and colours of methods, domains and tasks, a title with its reading note, the
legend below the panels, error bars over seeds, the chance line, a colour ramp."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

DOMAIN_COLOURS = {
    "photo": "#1f77b4", "sketch": "#7f7f7f", "painting": "#2ca02c", "clipart": "#ff7f0e", "corrupted": "#d62728",
    "mnist": "#9467bd", "uci_digits": "#8c564b", "fashion": "#e377c2",
}
METHOD_NAMES = {"linear_probe": "linear probe", "linear_head": "linear head", "mlp_head": "MLP head",
                "nmtune": "NMTune", "finetune_pe": "last-block fine-tuning", "nmtune_pe": "last-block NMTune",
                "zero_shot": "zero-shot"}
PROTOCOL_NAMES = {"tuned": "tuned protocol", "study": "the study's protocol"}
TASK_TITLES = {
    "downstream_classes": "held-out classes (DomainNet protocol)",
    "pretrain_classes": "pre-training classes (ImageNet-variants protocol)",
    "new_classes": "new classes of the generator",
    "digits": "real digits: MNIST -> UCI",
    "fashion": "real Fashion-MNIST",
}
METHOD_COLOURS = {"linear_probe": "#7f7f7f", "linear_head": "#bcbd22", "mlp_head": "#17becf", "nmtune": "#d62728",
                  "finetune_pe": "#9467bd", "nmtune_pe": "#e377c2", "zero_shot": "#2ca02c"}


def error_bars(std: pd.Series, seeds: pd.Series, scale: float) -> dict:
    """Error bars of one standard deviation over seeds, drawn only where there are several seeds."""
    return {"type": "data", "array": (std.fillna(0) * scale).tolist(), "visible": bool((seeds > 1).any())}


def seeds_note(rows: pd.DataFrame) -> str:
    """How many seeds a figure averages, and what its error bars are."""
    seeds = rows["seed"].nunique()
    return f"{seeds} seeds, bars: ±1 sd over seeds" if seeds > 1 else "1 seed: no spread to draw"


def noise_label(rows: pd.DataFrame) -> str:
    """The noise axis in words: captions swapped for CLIP runs, labels flipped otherwise."""
    kind = "caption" if "noise_type" in rows and (rows["noise_type"] == "caption").all() else "label"
    return f"pre-training {kind} noise (%)"


def chance_line(fig: go.Figure, rows: pd.DataFrame, col: int | None = None) -> None:
    """A dotted grey line at chance accuracy (1 / classes) when every row of the panel has the same class count."""
    if "num_classes" not in rows or rows["num_classes"].nunique() != 1:
        return
    chance = 100 / rows["num_classes"].iloc[0]
    where = {} if col is None else {"row": 1, "col": col}
    fig.add_hline(y=chance, line={"dash": "dot", "color": "#999", "width": 1}, annotation_text=f"chance {chance:g} %",
                  annotation_position="bottom right", annotation_font={"size": 10, "color": "#777"}, **where)


NOTE_LINE = 95  # characters of a subtitle line: fits a 1,000 px plot area (JupyterLab's column at a 1,400 px window)


def titled(main: str, note: str) -> dict:
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


def legend_below(fig: go.Figure) -> None:
    """Legend in rows under the panels, where it cannot cover or be cut by them; room above the panels for every
    line of the title."""
    extra = max(0, (fig.layout.title.text or "").count("<br>") - 1)  # title lines beyond two
    fig.update_layout(legend={"orientation": "h", "yanchor": "top", "y": -0.22, "xanchor": "left", "x": 0},
                      margin={"b": 140, "t": 100 + 20 * extra})
    if extra and fig.layout.height:
        fig.update_layout(height=fig.layout.height + 20 * extra)


def ramp(n: int) -> list[str]:
    """n colours from light to dark red: darker = more noise."""
    return [f"rgb({int(250 - 150 * t)}, {int(180 * (1 - t))}, {int(120 * (1 - t))})"
            for t in ([0.0] if n == 1 else [i / (n - 1) for i in range(n)])]
