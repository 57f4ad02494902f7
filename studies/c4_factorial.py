"""What moves C4? A factorial of heads on cached features: head x input x budget (docs/preregistration.md).

On the confirmatory quick runs (seeds 10-17, 0 % and 30 % noise; read from the run cache, trained if missing),
held-out-class task, raw features as the study's heads read them. Cells: head {linear, MLP, NMTune, NMTune with
the covariance weight rescaled for D = 64} x input {the training images' features, 8 augmented views a image} x
budget {the study's 30 epochs, 100 epochs with the epoch chosen on validation}. Every cell and the two probes
train on the same stratified 90 % of the training images; the other 10 % validates the converged budget.

    python studies/c4_factorial.py --out results/c4_factorial             # run (resumes), then analyse
    python studies/c4_factorial.py --out results/c4_factorial --analyse   # analyse what cells.csv holds
"""

import argparse
import itertools
import time
from pathlib import Path

import pandas as pd
import torch

from nml_tutorial import stats
from nml_tutorial.config import NMTUNE_WEIGHTS, STUDY_HEAD_DEFAULTS, STUDY_PROBE_DEFAULTS, VIEWS
from nml_tutorial.data.common import stratified_split
from nml_tutorial.evaluate import view_features
from nml_tutorial.features import extract
from nml_tutorial.nmtune import train_head_on_views
from nml_tutorial.presets import get_preset
from nml_tutorial.pretrain import pretrain_supervised
from nml_tutorial.probe import fit_linear_probe, fit_study_probe
from nml_tutorial.results import read_table, write_table
from nml_tutorial.runtime import cpu_capability
from nml_tutorial.tasks import build_probe_tasks

SEEDS = list(range(10, 18))
RATIOS = [0.0, 0.3]
STUDY_DIM = 2048  # ResNet-50's feature width
HEADS = {  # name -> (method, loss weights)
    "linear": ("linear_head", None),
    "MLP": ("mlp_head", None),
    "NMTune": ("nmtune", NMTUNE_WEIGHTS),
    "NMTune rescaled": ("nmtune", {**NMTUNE_WEIGHTS, "cov": NMTUNE_WEIGHTS["cov"] * (STUDY_DIM - 1) / (64 - 1)}),
}
BUDGETS = {"study": {"epochs": 30, "validate": False}, "converged": {"epochs": 100, "validate": True}}
INPUTS = ("features", "views")


def cells_of_run(seed: int, ratio: float, cache: str) -> list[dict]:
    preset = get_preset("quick", tasks=["downstream_classes"])
    run = pretrain_supervised(preset.run_config(ratio, seed), cache_dir=cache, progress=False)
    task = build_probe_tasks(preset, "cpu", seed=seed)[0]
    labels = task.train.labels
    fit, val = stratified_split(labels, 0.1, seed)
    train_f = extract(run.model, task.train.images, amp=run.config["amp"])
    views = view_features(run.model, task.train.images, VIEWS, seed)
    tests = {name: (extract(run.model, ds.images, amp=run.config["amp"]), ds.labels) for name, ds in task.tests.items()
             if name == "photo" or "@" in name}

    def scores(accuracy) -> dict:
        graded = [accuracy(*tests[name]) for name in tests if "@" in name]
        return {"id": 100 * accuracy(*tests["photo"]), "ood": 100 * sum(graded) / len(graded)}

    base = {"seed": seed, "noise_ratio": ratio}
    rows = [{**base, "cell": "study probe",
             **scores(fit_study_probe(train_f[fit], labels[fit], {**STUDY_PROBE_DEFAULTS, "seed": seed}).accuracy)},
            {**base, "cell": "tuned probe", **scores(fit_linear_probe(train_f[fit], labels[fit], seed=seed).accuracy)}]
    inputs = {"features": torch.stack([train_f[fit], train_f[fit]]), "views": views[:, fit]}
    for (head, (method, weights)), source, (budget, spec) in itertools.product(HEADS.items(), INPUTS,
                                                                                BUDGETS.items()):
        hp = {**STUDY_HEAD_DEFAULTS, "epochs": spec["epochs"], "seed": seed}
        tuned = train_head_on_views(method, inputs[source], labels[fit], hp, weights=weights,
                                    validation=(train_f[val], labels[val]) if spec["validate"] else None)
        rows.append({**base, "cell": f"{head} | {source} | {budget}", "head": head, "input": source,
                     "budget": budget, "epoch": tuned.best_epoch, **scores(tuned.accuracy)})
    return rows


def run(out: Path, cache: str) -> pd.DataFrame:
    """Every seed and ratio, resuming from cells.csv (rewritten atomically after each run)."""
    path = out / "cells.csv"
    done = read_table(path) if path.exists() else pd.DataFrame()
    tables = [done] if len(done) else []
    for seed, ratio in itertools.product(SEEDS, RATIOS):
        if len(done) and ((done["seed"] == seed) & (done["noise_ratio"] == ratio)).any():
            continue
        started = time.perf_counter()
        tables.append(pd.DataFrame(cells_of_run(seed, ratio, cache)))
        write_table(pd.concat(tables, ignore_index=True), path)
        print(f"seed {seed}, noise {ratio:.0%}: {time.perf_counter() - started:.0f} s ({cpu_capability()})", flush=True)
    return pd.concat(tables, ignore_index=True)


def per_seed(table: pd.DataFrame) -> pd.DataFrame:
    """Accuracy per seed and cell, averaged over the noise ratios: columns (shift, cell). Only seeds with every
    ratio count (a run cut between ratios would otherwise average one ratio only)."""
    complete = table.groupby("seed")["noise_ratio"].nunique() == len(RATIOS)
    table = table[table["seed"].isin(complete.index[complete])]
    return table.pivot_table(index="seed", columns="cell", values=["id", "ood"], aggfunc="mean").dropna()


def contrasts(wide: pd.DataFrame) -> pd.DataFrame:
    """The pre-registered contrasts (and the exploratory Q5), each a 95 % t interval over seeds (unadjusted) with its
    two-sided p; a factor moves an outcome where the p, Holm-adjusted within its question, is <= 0.05."""
    pairs = []
    for head, budget in itertools.product(HEADS, BUDGETS):
        pairs.append(("Q1 views - features", f"{head}, {budget}", f"{head} | views | {budget}",
                      f"{head} | features | {budget}"))
    for head, source in itertools.product(HEADS, INPUTS):
        pairs.append(("Q2 converged - study budget", f"{head}, {source}", f"{head} | {source} | converged",
                      f"{head} | {source} | study"))
    for source, budget in itertools.product(INPUTS, BUDGETS):
        pairs.append(("Q3 NMTune - MLP", f"{source}, {budget}", f"NMTune | {source} | {budget}",
                      f"MLP | {source} | {budget}"))
        pairs.append(("Q4 rescaled - default NMTune", f"{source}, {budget}",
                      f"NMTune rescaled | {source} | {budget}", f"NMTune | {source} | {budget}"))
    # exploratory, added after the review of the pre-registration: does a factor move C4's NMTune - MLP gap (an
    # interaction)? (NMTune - study probe moves exactly as NMTune does in Q1 and Q2: the probe is the same)
    for level, (a, b) in {"views - features": ("views", "features"), "converged - study": ("converged", "study")
                          }.items():
        for other in (BUDGETS if level.startswith("views") else INPUTS):
            cell = (lambda head, x, other=other: f"{head} | {x} | {other}") if level.startswith("views") else (
                lambda head, x, other=other: f"{head} | {other} | {x}")
            pairs.append(("Q5 (exploratory) NMTune - MLP gap, " + level, other,
                          (cell("NMTune", a), cell("MLP", a)), (cell("NMTune", b), cell("MLP", b))))
    rows = []
    for question, where, a, b in pairs:
        for shift in ("id", "ood"):
            column = (lambda c, shift=shift: wide[(shift, c[0])] - wide[(shift, c[1])]) if isinstance(a, tuple) else (
                lambda c, shift=shift: wide[(shift, c)])
            values = (column(a) - column(b)).to_numpy()
            low, high = stats.t_interval(values)
            p = 2 * min(stats.one_sided_p(values, alternative="greater"), stats.one_sided_p(values, alternative="less"))
            rows.append({"question": question, "where": where, "shift": shift.upper(), "effect": values.mean(),
                         "low95": low, "high95": high, "p": min(1.0, p), "seeds": len(values)})
    table = pd.DataFrame(rows)
    table["p_holm"] = table.groupby("question")["p"].transform(lambda p: stats.holm(p.to_numpy()))
    table["moves"] = table["p_holm"] <= 0.05
    return table


def cell_summary(wide: pd.DataFrame) -> pd.DataFrame:
    """Every cell's mean accuracy and its gaps to the study probe, with 95 % t intervals."""
    rows = []
    for cell in sorted({c for _, c in wide.columns}):
        row = {"cell": cell}
        for shift in ("id", "ood"):
            row[shift.upper()] = wide[(shift, cell)].mean()
            gap = (wide[(shift, cell)] - wide[(shift, "study probe")]).to_numpy()
            low, high = stats.t_interval(gap)
            row[f"{shift.upper()} - study probe"] = f"{gap.mean():+.2f} [{low:+.2f}, {high:+.2f}]"
        rows.append(row)
    return pd.DataFrame(rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="results/c4_factorial")
    parser.add_argument("--cache", default=".cache")
    parser.add_argument("--analyse", action="store_true", help="only analyse the cells.csv already written")
    args = parser.parse_args()
    torch.set_num_threads(2)
    out = Path(args.out)
    table = read_table(out / "cells.csv") if args.analyse else run(out, args.cache)
    wide = per_seed(table)
    summary, tests = cell_summary(wide), contrasts(wide)
    write_table(summary, out / "cells_summary.csv")
    write_table(tests, out / "contrasts.csv")
    pd.set_option("display.width", 220)
    print(f"capability {cpu_capability()}, {len(wide)} seeds")
    print(summary.round(2).to_string(index=False))
    print(tests.round(3).to_string(index=False))


if __name__ == "__main__":
    main()
