"""The study against this package in one figure: per claim, what the study reports and where this package's
primary measures land (notebooks 00 and 07; exported for slides)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..claims import CLAIMS, DIRECTION, EFFECT_OF_INTEREST

VERDICT_COLOURS = {"holds": "#2ca02c", "holds, smaller than claimed": "#98df8a", "refuted": "#d62728",
                   "opposite": "#d62728", "no effect of the claimed size": "#7f7f7f", "underpowered": "#ff7f0e",
                   "mixed": "#ff7f0e"}
PROTOCOL_SYMBOLS = {"study": "circle", "tuned": "diamond-open"}


def paper_vs_here(claims: pd.DataFrame, scale: str = "") -> go.Figure:
    """Each primary measure of ``claims`` (a claim table) as its effect and interval in the claimed direction, in
    units of the claim's effect of interest (shaded at or beyond 1; no effect is 0), coloured by the measure's
    state. Each claim's statement and its verdict per protocol head its rows; ``scale`` names the setting."""
    primary = claims[claims["primary"]].copy()
    sign = primary["claim"].map(DIRECTION)
    unit = primary["claim"].map(EFFECT_OF_INTEREST)
    for column in ("effect", "low", "high"):
        primary[f"{column}_units"] = sign * primary[column] / unit
    flipped = sign < 0  # the interval's ends swap when the direction is negative
    primary.loc[flipped, ["low_units", "high_units"]] = primary.loc[flipped, ["high_units", "low_units"]].values
    primary["label"] = [f"{c} {m} · {t}" for c, m, t in zip(primary["claim"], primary["measure"], primary["task"])]
    labels = list(dict.fromkeys(primary["label"]))[::-1]
    verdicts = {(r.protocol, r.claim): r.claim_verdict for r in primary.itertuples()}
    fig = go.Figure()
    right = float(np.nanmax(primary["high_units"].to_numpy(dtype=float)))
    fig.add_vrect(x0=1, x1=max(right, 1) + 1, fillcolor="#2ca02c", opacity=0.08, line_width=0,
                  annotation_text="≥ the effect of interest", annotation_position="bottom right")
    fig.add_vline(x=0, line={"color": "#444", "width": 1})
    for protocol, rows in primary.groupby("protocol", sort=False):
        colours = [VERDICT_COLOURS.get(v, "#444") for v in rows["verdict"]]  # each measure's own state
        fig.add_trace(go.Scatter(
            x=rows["effect_units"], y=rows["label"], mode="markers", name=f"{protocol} protocol",
            marker={"symbol": PROTOCOL_SYMBOLS.get(protocol, "circle"), "size": 10, "color": colours,
                    "line": {"color": colours, "width": 2}},
            error_x={"type": "data", "symmetric": False, "array": rows["high_units"] - rows["effect_units"],
                     "arrayminus": rows["effect_units"] - rows["low_units"], "thickness": 1.5},
            customdata=np.stack([rows["effect"], rows["low"], rows["high"], rows["verdict"]], axis=1),
            hovertemplate="%{y}<br>effect %{customdata[0]:+.2f} [%{customdata[1]:+.2f}, %{customdata[2]:+.2f}]"
                          "<br>%{customdata[3]}<extra>" + protocol + "</extra>"))
    for claim in [c for c in CLAIMS if c in set(primary["claim"])]:
        top = max(labels.index(lab) for lab in primary.loc[primary["claim"] == claim, "label"])
        said = " · ".join(f"{p}: {verdicts[(p, claim)]}" for p in primary["protocol"].unique()
                          if (p, claim) in verdicts)
        fig.add_annotation(x=0, xref="paper", xanchor="left", y=top + 0.45, yref="y", showarrow=False,
                           text=f"<b>{claim}</b> {CLAIMS[claim]} — here {said}",
                           font={"size": 11})
    fig.update_yaxes(categoryorder="array", categoryarray=labels, showticklabels=True, tickfont={"size": 10})
    fig.update_xaxes(zeroline=False, title="effect in the claimed direction, in units of the effect of interest "
                                           "(1 point; C3 0.05 nats)")
    key = ("colour: each measure's state (green holds, pale green smaller than claimed, red opposite,<br>grey no "
           "effect of the claimed size, orange underpowered); bars: 90 % t interval")
    fig.update_layout(title=f"The study against this package{': ' + scale if scale else ''}<br><sup>{key}</sup>",
                      width=1000, height=160 + 44 * len(labels), template="plotly_white",
                      legend={"orientation": "h", "y": -0.12 - 6 / (160 + 44 * len(labels))},
                      margin={"l": 340, "r": 20, "t": 95, "b": 110})
    return fig
