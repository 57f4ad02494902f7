"""C1 along the study's axes: the slight-noise ID effect against the number of pre-training classes.

Pre-registered in docs/preregistration.md: K in {10, 20, 40, 80} pre-training classes (100 images a class, the quick
recipe otherwise; K = 40 is the quick preset's run), noise 0 % and 5 %, seeds 10-17, probed at every K on the same
held-out classes 100-119 and on MNIST, both protocols' probes. Runs go seed by seed (every K and ratio of a seed
before the next), and the table is rewritten atomically after each seed, so a cut leaves whole seeds and a rerun
resumes from the run cache.

    python studies/c1_scaling.py --out results/c1_scaling             # run (resumes), then analyse
    python studies/c1_scaling.py --out results/c1_scaling --analyse   # analyse what results.csv holds
"""

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from nml_tutorial import stats
from nml_tutorial.presets import Preset, get_preset
from nml_tutorial.results import read_table, write_table
from nml_tutorial.runtime import cpu_capability
from nml_tutorial.sweep import run_sweep
from nml_tutorial.viz.export import save_figure

CLASSES = [10, 20, 40, 80]
RATIOS = [0.0, 0.05]
SEEDS = list(range(10, 18))
HELD_OUT = list(range(100, 120))
TESTS = {"new_classes": "photo", "digits": "mnist"}  # task -> its ID test set
DELTA = 1.0  # points, C1's effect of interest


def preset_for(classes: int) -> Preset:
    """The quick preset pre-trained on the first ``classes`` classes, probed on classes 100-119 and MNIST."""
    preset = get_preset("quick", tasks=list(TESTS), new_classes=HELD_OUT, methods=["linear_probe"],
                        noise_ratios=RATIOS)
    data = {**preset.pretrain["data"], "classes": list(range(classes)),
            "num_classes": 60 if classes <= 40 else 120}  # the 120 table starts with the 60
    return preset.override(pretrain={"data": data})


def run(out: Path, cache: str) -> pd.DataFrame:
    path = out / "results.csv"
    done = read_table(path) if path.exists() else pd.DataFrame()
    tables = [done] if len(done) else []
    for seed in SEEDS:
        if len(done) and (done["seed"] == seed).any():
            continue
        started = time.perf_counter()
        for classes in CLASSES:
            table = run_sweep(preset_for(classes), seeds=[seed], cache_dir=cache, progress=False).table
            tables.append(table.assign(pretrain_classes=classes))
        write_table(pd.concat(tables, ignore_index=True), path)
        print(f"seed {seed} done in {time.perf_counter() - started:.0f} s ({cpu_capability()})", flush=True)
    return pd.concat(tables, ignore_index=True)


def effects(table: pd.DataFrame) -> pd.DataFrame:
    """Per seed, K, task and protocol: ID accuracy at 5 % minus clean, in points."""
    rows = table[[TESTS.get(t) == d for t, d in zip(table["task"], table["test_domain"])]]
    wide = rows.pivot_table(index=["protocol", "task", "pretrain_classes", "seed"], columns="noise_ratio",
                            values="accuracy")
    return (100 * (wide[0.05] - wide[0.0])).rename("effect").reset_index().dropna()


def analyse(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The C1 verdict at every K (both tasks, kind 'any') and the per-seed slope of the effect on log2 K."""
    per_seed = effects(table)
    verdicts, trends = [], []
    for (protocol, classes), group in per_seed.groupby(["protocol", "pretrain_classes"]):
        tests = {task: stats.measure_tests(g.sort_values("seed")["effect"].to_numpy(), +1, DELTA)
                 for task, g in group.groupby("task")}
        state, states, adjusted = stats.claim_verdicts(list(tests.values()), "any")
        for (task, t), measure_state in zip(tests.items(), states):
            verdicts.append({"protocol": protocol, "pretrain_classes": classes, "task": task, "seeds": t["n"],
                             "effect": t["effect"], "low90": t["low"], "high90": t["high"], "sd": t["sd"],
                             "measure_state": measure_state, "C1 at this K": state})
    for (protocol, task), group in per_seed.groupby(["protocol", "task"]):
        wide = group.pivot(index="seed", columns="pretrain_classes", values="effect").dropna()
        if wide.shape[1] < 2 or len(wide) < 2:
            continue
        x = np.log2(wide.columns.to_numpy(dtype=float))
        xc = x - x.mean()
        slopes = (wide.to_numpy() - wide.to_numpy().mean(1, keepdims=True)) @ xc / (xc @ xc)
        intercepts = wide.to_numpy().mean(1) - slopes * x.mean()
        low, high = stats.t_interval(slopes)
        slope, intercept = slopes.mean(), intercepts.mean()
        crossing = 2 ** (-intercept / slope) if low > 0 or high < 0 else float("nan")  # only for a clear trend
        trends.append({"protocol": protocol, "task": task, "primary": protocol == "study" and task == "new_classes",
                       "seeds": len(wide), "slope per doubling": slope, "low95": low, "high95": high,
                       "zero crossing K": crossing,
                       "crossing extrapolated": bool(np.isfinite(crossing) and not min(CLASSES) <= crossing
                                                     <= max(CLASSES))})
    return pd.DataFrame(verdicts), pd.DataFrame(trends)


def figure(verdicts: pd.DataFrame) -> go.Figure:
    """C1's effect (5 % - clean, points) against the number of pre-training classes, one panel per protocol, one
    line per task, with 90 % t intervals (their ends the one-sided 95 % bounds)."""
    protocols = sorted(set(verdicts["protocol"]))
    fig = make_subplots(rows=1, cols=len(protocols), shared_yaxes=True,
                        subplot_titles=[f"{p} protocol" for p in protocols])
    colours = {"new_classes": "#1f77b4", "digits": "#d62728"}
    names = {"new_classes": "held-out classes 100-119 (photo)", "digits": "MNIST"}
    for col, protocol in enumerate(protocols, start=1):
        for task, group in verdicts[verdicts["protocol"] == protocol].groupby("task"):
            group = group.sort_values("pretrain_classes")
            fig.add_trace(go.Scatter(
                x=group["pretrain_classes"], y=group["effect"], mode="lines+markers", name=names.get(task, task),
                line={"color": colours.get(task)}, showlegend=col == 1, legendgroup=task,
                error_y={"type": "data", "symmetric": False, "array": group["high90"] - group["effect"],
                         "arrayminus": group["effect"] - group["low90"]}), row=1, col=col)
        fig.add_hline(y=0, line={"color": "grey", "dash": "dot"}, row=1, col=col)
        fig.add_hline(y=DELTA, line={"color": "green", "dash": "dash"}, row=1, col=col)
        fig.update_xaxes(type="log", tickvals=CLASSES, title_text="pre-training classes K", row=1, col=col)
    fig.update_yaxes(title_text="ID accuracy, 5 % noise - clean (points)", row=1, col=1)
    fig.update_layout(title=f"C1 against the number of pre-training classes ({verdicts['seeds'].max()} seeds a point; "
                            "dashed: the one-point effect of interest)", width=900, height=420)
    return fig


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="results/c1_scaling")
    parser.add_argument("--cache", default=".cache")
    parser.add_argument("--analyse", action="store_true", help="only analyse the results.csv already written")
    args = parser.parse_args()
    out = Path(args.out)
    table = read_table(out / "results.csv") if args.analyse else run(out, args.cache)
    verdicts, trends = analyse(table)
    write_table(verdicts, out / "verdicts.csv")
    write_table(trends, out / "trend.csv")
    save_figure(figure(verdicts), out / "c1_scaling")
    pd.set_option("display.width", 200)
    print(f"capability {cpu_capability()}")
    print(verdicts.round(3).to_string(index=False))
    print(trends.round(3).to_string(index=False))


if __name__ == "__main__":
    main()
