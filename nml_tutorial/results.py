"""The tidy results table: its columns, how it is written, and every aggregate over seeds that figures, summaries
and claims read.

One row per objective x protocol x method x noise ratio x seed x task x test set. Aggregation runs in two steps,
the same everywhere: :func:`per_seed` averages a metric over the test sets a question groups together, within each
seed; :func:`over_seeds` gives the mean, standard deviation and number of seeds of those per-seed values.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from .atomic import SEAL, atomic_write_text, damage, seal
from .config import ID_TASKS, PRIMARY_TASK, TASKS

# sve / lsvr: spectrum of what the method's classifier reads on that test set (dataset-mean centred; sve_row /
# lsvr_row: each row centred on its own mean, as the authors' analysis script does): the raw frozen features
# for linear_probe, the features the head reads (standardised under the tuned protocol, raw under the study's)
# for linear_head, z = s * MLP(f) + f for mlp_head and nmtune, the tuned encoder's features for the
# parameter-efficient methods. Spectra are computed in float64 from features extracted at the run's precision.
COLUMNS = ["objective", "protocol", "method", "arch", "noise_type", "noise_ratio", "seed", "task", "train_domain",
           "test_domain", "shift", "num_classes", "accuracy", "sve", "lsvr", "sve_row", "lsvr_row", "n_train",
           "n_test", "probe_l2", "pretrain_train_acc", "noisy_fitted", "precision", "run_key"]
SPECTRUM_KEYS = ["protocol", "method", "noise_ratio", "seed", "task", "test_domain", "shift"]


def select(table: pd.DataFrame, **equal) -> pd.DataFrame:
    """The rows whose columns equal the given values, or lie in a given list (``method=["nmtune", "mlp_head"]``)."""
    for column, value in equal.items():
        table = table[table[column].isin(value) if isinstance(value, (list, tuple, set)) else table[column] == value]
    return table


def per_seed(table: pd.DataFrame, by: list[str], metric: str = "accuracy") -> pd.DataFrame:
    """Mean of ``metric`` within each seed and group ``by`` (e.g. over the test sets of a shift): one row each."""
    return table.groupby([*by, "seed"], sort=True)[metric].mean().reset_index()


def over_seeds(values: pd.DataFrame, by: list[str], metric: str = "accuracy") -> pd.DataFrame:
    """Mean, standard deviation (NaN for one seed) and number of seeds of per-seed values, per group ``by``."""
    return values.groupby(by, sort=True)[metric].agg(mean="mean", std="std", seeds="count").reset_index()


def seed_matrix(table: pd.DataFrame, tests, metric: str = "accuracy") -> pd.DataFrame:
    """Seed x noise-ratio matrix of ``metric`` averaged over the test sets named in ``tests`` (claims read this)."""
    rows = table[table["test_domain"].isin(list(tests))]
    return per_seed(rows, ["noise_ratio"], metric).pivot(index="seed", columns="noise_ratio", values=metric)


def summarise(table: pd.DataFrame, metric: str = "accuracy") -> pd.DataFrame:
    """Mean, standard deviation and number of seeds of a metric per method, noise, task and test set."""
    keys = ["objective", "protocol", "method", "task", "train_domain", "test_domain", "shift", "noise_ratio"]
    return over_seeds(per_seed(table, keys, metric), keys, metric)


def summary_table(table: pd.DataFrame, method: str = "linear_probe", metric: str = "accuracy",
                  protocol: str = "tuned") -> pd.DataFrame:
    """Wide view for reading: rows task / test set, columns noise %, cells 'mean ± std' (accuracy in %)."""
    stats = summarise(select(table, method=method, protocol=protocol), metric)
    scale, digits = (100, 1) if metric == "accuracy" else (1, 3)
    stats["cell"] = [f"{m * scale:.{digits}f} ± {s * scale:.{digits}f}" if n > 1 else f"{m * scale:.{digits}f}"
                     for m, s, n in zip(stats["mean"], stats["std"].fillna(0), stats["seeds"])]
    stats["noise %"] = (stats["noise_ratio"] * 100).round(1)
    return stats.pivot(index=["task", "shift", "test_domain"], columns="noise %", values="cell").sort_index()


def compare_methods(table: pd.DataFrame, task: str | None = None, shift: str = "id",
                    protocol: str = "tuned") -> pd.DataFrame:
    """Wide view: rows method, columns noise %, cells the mean top-1 accuracy (%) over seeds of the task's test sets
    of one ``shift`` (``"id"`` or ``"ood"``, each seed averaging its sets first); default task: the lesson's."""
    task = task or lesson_task(table)
    rows = select(table, protocol=protocol, task=task, shift=shift)
    stats = over_seeds(per_seed(rows, ["method", "noise_ratio"]), ["method", "noise_ratio"])
    stats["noise %"] = (stats["noise_ratio"] * 100).round(1)
    wide = stats.pivot(index="method", columns="noise %", values="mean") * 100
    return wide.reindex(list(dict.fromkeys(rows["method"]))).round(1)  # the sweep's order of methods


def noise_profile(table: pd.DataFrame, metrics=("accuracy", "sve"), **equal) -> pd.DataFrame:
    """Mean over seeds of ``metrics`` per noise ratio for the rows whose columns equal ``equal``; with ``sve``, also
    ``directions_used`` = e^SVE, the number of evenly used directions with that entropy (notebooks 00, 04)."""
    rows = select(table, **equal)
    profile = pd.DataFrame({m: over_seeds(per_seed(rows, ["noise_ratio"], m), ["noise_ratio"], m)
                           .set_index("noise_ratio")["mean"] for m in metrics})
    return profile.assign(directions_used=np.exp(profile["sve"])) if "sve" in metrics else profile


def spectra_table(rows: list[dict]) -> pd.DataFrame:
    """Long table of spectrum shares sigma_i / sum(sigma): one row per result row and index i (1-based)."""
    return pd.DataFrame([{**{k: r[k] for k in SPECTRUM_KEYS}, "index": i + 1, "share": share}
                         for r in rows for i, share in enumerate(r["spectrum"])])


def write_table(table: pd.DataFrame, path) -> Path:
    """Write ``table`` as CSV atomically (a reader never sees half a file), sealed with its checksum."""
    buffer = io.StringIO()
    table.to_csv(buffer, index=False)
    path = atomic_write_text(buffer.getvalue(), path)
    seal(path)
    return path


def read_table(path) -> pd.DataFrame:
    """A table :func:`write_table` wrote, refused when its checksum no longer matches (a CSV without one, made
    elsewhere, is read as it is)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no results table at {path}; write one with `nml-tutorial sweep --out FOLDER`")
    why = damage(path) if path.with_name(path.name + SEAL).exists() else None
    if why:
        raise ValueError(f"{path} is damaged ({why}); run the sweep again: it rewrites the table from its cache")
    table = pd.read_csv(path)
    if "accuracy" in table and "protocol" not in table:
        raise ValueError(f"{path} has no 'protocol' column: a version before the study's protocol wrote it; run the "
                         "sweep again (its cache keeps the pre-trained runs)")
    return table


def id_tests(table: pd.DataFrame) -> dict[str, str]:
    """Each task's in-domain test set: fixed for the package's tasks (:data:`ID_TASKS`); for a task on data from
    disk, its test set in the training domain."""
    found = dict(ID_TASKS)
    for task in dict.fromkeys(table["task"]):
        if task not in TASKS:
            own = table[(table["task"] == task) & (table["shift"] == "id")]["test_domain"]
            if len(own):
                found[task] = own.iloc[0]
    return found


def lesson_task(table: pd.DataFrame) -> str:
    """The task of the primary C3 and C4 measures, by the rule of :attr:`~nml_tutorial.presets.Preset.lesson_task`:
    the held-out classes; in a table of tasks from disk, the first with several test sets (the full-scale presets:
    DomainNet)."""
    tasks = list(dict.fromkeys(table["task"]))
    if PRIMARY_TASK in tasks or all(task in TASKS for task in tasks):
        return PRIMARY_TASK
    disk = [task for task in tasks if task not in TASKS]
    return next((task for task in disk if table[table["task"] == task]["test_domain"].nunique() > 1), disk[0])
