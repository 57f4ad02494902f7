"""The claim table in words: as text, as Markdown, beside what the study reports, and as a lesson's sentence.

:func:`nml_tutorial.claims.claim_table` computes the table; this module only renders it for readers (the CLI,
the README, docs/quick-results.md and the notebooks' check cells).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .claims import (
    CLAIMS,
    CONFIRMATORY_PROTOCOL,
    EFFECT_OF_INTEREST,
    KIND,
    claim_summary,
    claim_table,
    protocol_contrasts,
)
from .config import PROTOCOLS


def format_claims(claims: pd.DataFrame, objective: str = "supervised") -> str:
    """The claim table as text: effect [low, high] per measure, then one verdict per claim and protocol. Only the
    supervised analysis of the package's tasks was pre-registered: a CLIP table's verdicts, and those of tasks read
    from disk, are marked exploratory."""
    p = (claims["p_claimed_decisive"].fillna(claims["p_claimed"]) if "p_claimed_decisive" in claims
         else claims["p_claimed"])
    shown = claims.assign(
        interval=[f"{e:+.2f} [{lo:+.2f}, {hi:+.2f}]"
                  for e, lo, hi in zip(claims["effect"], claims["low"], claims["high"])],
        primary=claims["primary"].map({True: "*", False: ""}),
        p=[f"{v:.3f}" if np.isfinite(v) else "-" for v in p],
        needed=[f"{int(n)}" if pd.notna(n) else "-" for n in claims["seeds_needed"]])
    detail = shown[["protocol", "claim", "primary", "measure", "task", "expected", "interval", "seeds", "p",
                    "needed", "verdict"]].to_string(index=False)
    summary = claim_summary(claims).to_string(index=False)
    standing = ("EXPLORATORY: no CLIP analysis was pre-registered, so no verdict below confirms or refutes a claim"
                if objective == "clip" else
                "EXPLORATORY: no analysis of these tasks was pre-registered, so no verdict below confirms or refutes a "
                "claim" if _exploratory(claims) else "the study protocol is confirmatory, the tuned one secondary")
    return (f"{detail}\n\n(* primary measure, judged with the claim's other primary measures; accuracy effects in "
            f"points, SVE/LSVR in nats; 90 % t interval over seeds (one seed: the reference sweep's spread), its ends "
            f"the one-sided 95 % bounds, not adjusted for the claim's other measures; p: one-sided in the claimed "
            f"direction, as the claim's rule read it (Holm-adjusted for C1, unadjusted for the conjunctions C2-C4); "
            f"needed: seeds for 80 % power of the claim at the effect of interest {EFFECT_OF_INTEREST}; {standing}; "
            f"C3 rows are the same features under both)\n\n{summary}")


def claims_markdown(claims: pd.DataFrame, detail: bool = False, objective: str = "supervised") -> str:
    """The claim table as Markdown. By default the README's summary: per claim its primary measures under both
    protocols with their 90 % intervals and the claim's verdict. With ``detail`` what docs/quick-results.md shows:
    every row of ``claims`` with its one-sided p, seeds needed and state, the claims' verdicts, and the study -
    tuned contrasts. A CLIP table's protocols are headed exploratory (no CLIP analysis was pre-registered)."""
    if not detail:
        study, tuned = (("study protocol (exploratory)", "tuned protocol (exploratory)")
                        if objective == "clip" or _exploratory(claims)
                        else ("study protocol (confirmatory)", "tuned protocol (secondary)"))
        lines = [f"| claim | primary measures | {study} | {tuned} |",
                 "|---|---|---|---|"]
        for claim, text in CLAIMS.items():
            cells, measures = {}, "-"
            for protocol in ("study", "tuned"):
                rows = claims[(claims["claim"] == claim) & claims["primary"] & (claims["protocol"] == protocol)]
                cells[protocol] = (f"{'; '.join(_interval(r) for r in rows.itertuples())}: "
                                   f"**{rows['claim_verdict'].dropna().iloc[0]}**" if len(rows) else "-")
                measures = "; ".join(rows["measure"]) or measures
            lines.append(f"| {claim} {text} | {measures} | {cells['study']} | {cells['tuned']} |")
        return "\n".join(lines)
    p = claims["p_claimed_decisive"].fillna(claims["p_claimed"])
    shown = claims.assign(**{
        "effect [90 % interval]": [_interval(r) for r in claims.itertuples()],
        "p (one-sided)": [f"{v:.3g}" for v in p],
        "needed": [f"{int(n)}" if pd.notna(n) else "-" for n in claims["seeds_needed"]],
        "state": claims["verdict"], "claim": claims["claim"] + np.where(claims["primary"], "*", "")})
    contrasts = protocol_contrasts(claims)
    contrasts = contrasts.assign(**{"study - tuned [95 % interval]": [
        f"{d:+.2f} [{lo:+.2f}, {hi:+.2f}]" for d, lo, hi in zip(contrasts["study - tuned"], contrasts["low"],
                                                              contrasts["high"])]})
    return "\n\n".join([
        _markdown(shown, ["protocol", "claim", "measure", "task", "effect [90 % interval]", "p (one-sided)", "needed",
                          "state"]),
        _markdown(claim_summary(claims), ["protocol", "claim", "statement", "verdict"]),
        _markdown(contrasts, ["claim", "measure", "task", "seeds", "study - tuned [95 % interval]"])])


def _exploratory(claims: pd.DataFrame) -> bool:
    """True for a table whose measures were not pre-registered (tasks from disk: the full-scale presets)."""
    return "role" in claims and (claims["role"] == "exploratory").any()


def _interval(row) -> str:
    return f"{row.effect:+.2f} [{row.low:+.2f}, {row.high:+.2f}]"


def _markdown(rows: pd.DataFrame, columns: list[str]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in rows[columns].itertuples(index=False)]
    return "\n".join(lines)


STUDY_REPORTS = {"C1": "5-10 % noise raises ID linear-probe accuracy a little (14 datasets, ResNet-50 on ImageNet-1K)",
                 "C2": "OOD accuracy falls with any noise (DomainNet, ImageNet variants); judged here as OOD relative "
                       "to ID",
                 "C3": "noise raises SVE and LSVR of the features",
                 "C4": "NMTune beats the linear probe and the MLP head in-domain and OOD (about 1 point over the MLP)"}


def study_vs_here(claims: pd.DataFrame, protocol: str = CONFIRMATORY_PROTOCOL) -> pd.DataFrame:
    """One row per claim: what the study reports, this package's primary measures (effect [90 % interval], seeds)
    under ``protocol``, and the claim's verdict: the four-row summary notebook 00 opens with."""
    rows = claims[claims["primary"] & (claims["protocol"] == protocol)]
    column = f"this package ({'/'.join(map(str, sorted(set(rows['seeds']))))} seeds, {protocol} protocol)"
    out = []
    for claim, group in rows.groupby("claim", sort=False):
        measured = "; ".join(f"{r.measure} ({r.task}): {r.effect:+.2f} [{r.low:+.2f}, {r.high:+.2f}]"
                             for r in group.itertuples())
        out.append({"claim": f"{claim}: {CLAIMS[claim]}", "the study": STUDY_REPORTS[claim], column: measured,
                    "verdict": group["claim_verdict"].iloc[0]})
    return pd.DataFrame(out)


def lesson_check(table: pd.DataFrame, claim: str, objective: str = "supervised", protocol: str | None = None,
                 reference: pd.DataFrame | None = None) -> tuple[str, str]:
    """Does ``claim`` show in ``table``? Returns (verdict, a sentence that gives the numbers).

    With several seeds the primary measures' t tests decide; with one, ``reference`` (per-seed effects of a sweep
    of the same preset on other seeds, e.g. :func:`nml_tutorial.reference_runs.reference_effects`) lends its
    seed-to-seed spread. ``protocol`` defaults to the confirmatory one where the table has it.
    """
    if claim not in CLAIMS:
        raise ValueError(f"unknown claim {claim!r}; choose one of {list(CLAIMS)}")
    if protocol is not None and protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; choose one of {list(PROTOCOLS)}")
    rows = claim_table(table, objective, reference)
    protocol = chosen_protocol(rows, protocol)
    primary = rows[(rows["protocol"] == protocol) & (rows["claim"] == claim) & rows["primary"]] if len(rows) else rows
    head = f"{claim} ({CLAIMS[claim]}), {protocol} protocol"
    if primary.empty:
        return "not measured", f"{head}: not measured in this table (see claim_table for what is needed)"
    summary = claim_summary(primary).set_index(["protocol", "claim"]).loc[(protocol, claim), "verdict"]
    if primary["seeds"].min() > 1:
        how = "one-sided t tests over seeds"
    elif reference is not None:
        how = ("one seed: each measure is tested against the seed-to-seed sd of the same effect in the reference "
               "sweep, with that sweep's seeds - 1 degrees of freedom")
    else:
        how = "one seed and no reference sweep: no test"
    kind = ("a conjunction: every measure must hold (each at 5 %), one against refutes it" if KIND[claim] == "all"
            else "a union: it must hold on some measure, Holm-adjusted over its measures")
    lines = [f"{head}: {summary.upper()} ({how}; {kind})"] + [
        f"  - {_measure_sentence(claim, row)}" for row in primary.itertuples()]
    return summary, "\n".join(lines)


def chosen_protocol(rows: pd.DataFrame, protocol: str | None) -> str:
    """``protocol``, or by default the confirmatory one where the claim table has it, else the one it has."""
    if protocol is not None:
        return protocol
    present = set(rows["protocol"]) if len(rows) else set()
    return CONFIRMATORY_PROTOCOL if CONFIRMATORY_PROTOCOL in present or not present else sorted(present)[0]


def _measure_sentence(claim: str, row) -> str:
    """One primary measure in words: its effect, interval, the bar it had to clear, and which state applies."""
    unit = "nats" if claim == "C3" else "points"
    interest = f"{EFFECT_OF_INTEREST[claim]:g} {unit[:-1] if EFFECT_OF_INTEREST[claim] == 1 else unit}"
    text = f"{row.measure} ({row.task}): effect {row.effect:+.2f} {unit}"
    if not np.isfinite(row.low):
        return f"{text}: no interval (one seed, no reference spread), so no verdict"
    side = "above" if row.expected == "+" else "below"
    text += f", 90 % interval [{row.low:+.2f}, {row.high:+.2f}], {row.seeds} seed{'s' * (row.seeds > 1)}: "
    reason = {"holds": f"holds (the effect is shown {side} zero and not shown smaller than {interest})",
              "holds, smaller than claimed": f"holds, smaller than claimed (shown {side} zero, and shown smaller "
                                             f"than the {interest} effect of interest)",
              "opposite": "opposite (shown on the other side of zero)",
              "no effect of the claimed size": f"no effect of the claimed size (an effect of {interest} or more is "
                                               f"ruled out)",
              "underpowered": f"underpowered (too few seeds to tell; about {row.seeds_needed:.0f} give 80 % power "
                              f"at {interest})" if pd.notna(row.seeds_needed) else "underpowered (too few seeds)"}
    return text + reason.get(row.verdict, row.verdict)
