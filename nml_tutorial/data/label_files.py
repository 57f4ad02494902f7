"""Noisy-label files: deterministic noisy labels for a dataset written once to ``.npy`` with a report of the
realised rate and transition matrix, and the public Noisy Imagenette label CSVs.

Pre-training reads such a file (``noise_type="file"``), so every process of a multi-GPU run, and every rerun,
trains on the same labels without drawing them again.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import torch

from ..atomic import atomic_save_npy, atomic_write_json
from ..noise import apply_label_noise, empirical_transition, transition_matrix
from .files import require_file

MODES = {"flip": "symmetric", "uniform": "uniform"}  # file mode -> noise type of nml_tutorial.noise


def label_file_name(mode: str, ratio: float, seed: int | None) -> str:
    """``flip_0.1_seed0.npy``: the name a noisy-label file gets, and what ``noisy/{mode}_{ratio:g}_seed{seed}.npy``
    in a pre-training config resolves to for each run."""
    return f"{mode}_{ratio:g}" + (f"_seed{seed}" if seed is not None else "") + ".npy"


def check_label_file(path, ratio: float, seed: int) -> None:
    """Refuse a noisy-label file whose report says it was written for another ratio or seed than the run that is
    about to train on it (a file name without ``{ratio:g}`` and ``{seed}`` would give every run the same labels)."""
    report = Path(path).with_suffix(".json")
    if not report.is_file():
        return  # a file from elsewhere: the run's noise_ratio is what its config says
    written = json.loads(report.read_text())
    if abs(written["ratio"] - ratio) > 1e-9 or written.get("seed") not in (None, seed):
        raise ValueError(f"{path} holds labels for ratio {written['ratio']}, seed {written.get('seed')}, but this run "
                         f"is ratio {ratio}, seed {seed}: name the file with placeholders, e.g. "
                         "'noisy/flip_{ratio:g}_seed{seed}.npy'")


def write_noisy_labels(labels, num_classes: int, ratio: float, mode: str, seed: int, out_dir) -> tuple[Path, dict]:
    """``<out_dir>/<mode>_<ratio>_seed<seed>.npy`` and a ``.json`` report beside it: ``flip`` moves exactly
    round(ratio N) labels to another class (the package's symmetric noise); ``uniform`` redraws them from all classes
    (the official downstream code), so about ratio (1 - 1/C) of them change."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; choose 'flip' (always another class) or 'uniform' (any class)")
    clean = torch.as_tensor(np.asarray(labels)).long()
    noisy = apply_label_noise(clean, num_classes, MODES[mode], ratio, seed=seed)
    out_dir = Path(out_dir)
    path = out_dir / label_file_name(mode, ratio, seed)
    T = empirical_transition(clean, noisy.labels, num_classes)
    designed = transition_matrix(MODES[mode], num_classes, ratio)
    present = torch.bincount(clean, minlength=num_classes) > 0
    report = {"file": path.name, "mode": mode, "ratio": ratio, "seed": seed, "num_classes": num_classes,
              "count": clean.numel(), "realised_flip_rate": noisy.realised_ratio,
              "expected_flip_rate": ratio if mode == "flip" else ratio * (1 - 1 / num_classes),
              "transition_diagonal_mean": float(T.diagonal()[present].mean()),
              "transition_max_abs_error": float((T - designed)[present].abs().max()),
              "transition_file": path.with_suffix(".transition.npy").name}
    atomic_save_npy(T.numpy(), path.with_suffix(".transition.npy"))
    atomic_write_json(report, path.with_suffix(".json"))
    atomic_save_npy(noisy.labels.numpy(), path)
    return path, report


def write_noisy_imagenette(csv_path, memmap_root, column: str = "noisy_labels_5") -> Path:
    """Noisy Imagenette's labels of ``column`` as ``<memmap_root>/noisy/imagenette_<ratio>.npy`` with a report
    (its realised flip rate against the memmap's clean labels)."""
    if not column.startswith("noisy_labels_") or not column.rsplit("_", 1)[1].isdigit():
        raise ValueError(f"column must be one of noisy_labels_0, _1, _5, _25, _50, got {column!r}")
    ratio = int(column.rsplit("_", 1)[1]) / 100
    noisy = noisy_imagenette_labels(csv_path, memmap_root, column)
    clean = np.load(Path(memmap_root) / "labels.npy")
    path = Path(memmap_root) / "noisy" / label_file_name("imagenette", ratio, None)
    atomic_write_json({"file": path.name, "mode": "noisy imagenette", "ratio": ratio, "seed": None,
                       "source": str(csv_path), "column": column, "count": len(noisy),
                       "realised_flip_rate": float((noisy != clean).mean())}, path.with_suffix(".json"))
    atomic_save_npy(noisy, path)
    return path


def write_noisy_label_files(labels, num_classes: int, ratios, mode: str, seeds, out_dir) -> list[dict]:
    """One noisy-label file per ratio and seed (:func:`write_noisy_labels`); their reports, in that order.
    ``data_scripts/noisy_labels.py`` uses it."""
    return [write_noisy_labels(labels, num_classes, ratio, mode, seed, out_dir)[1]
            for seed in seeds for ratio in ratios]


def report_line(report: dict) -> str:
    """A noisy-label file's report in one line: its realised and expected flip rates and transition diagonal."""
    return (f"{report['file']}: {report['realised_flip_rate']:.2%} flipped (expected "
            f"{report['expected_flip_rate']:.2%}), transition diagonal mean {report['transition_diagonal_mean']:.3f}")


def noisy_imagenette_labels(csv_path, memmap_root, column: str = "noisy_labels_5") -> np.ndarray:
    """Noisy Imagenette's published labels (``noisy_imagenette.csv``: ``path``, ``noisy_labels_{0,1,5,25,50}``) for
    a memmap dataset built from Imagenette's ``train`` folder, aligned by file path, as class indices."""
    path = require_file(csv_path, "Noisy Imagenette CSV", "it ships in imagenette2.tgz as noisy_imagenette.csv")
    root = Path(memmap_root)
    meta = json.loads(require_file(root / "meta.json", "memmap meta.json", "build it with build_memmap.py").read_text())
    index = {w: i for i, w in enumerate(meta["classes"])}
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows or column not in rows[0] or "path" not in rows[0]:
        raise ValueError(f"{path} has no 'path' and {column!r} columns; columns are {list(rows[0]) if rows else []}")
    by_name = {Path(r["path"]).name: r[column] for r in rows}
    names = [Path(line).name for line in (root / "files.txt").read_text().splitlines()]
    missing = [n for n in names if n not in by_name]
    if missing:
        raise ValueError(f"{len(missing)} images of {root} are not in {path}, e.g. {missing[0]}; was the memmap built "
                         "from Imagenette's train folder?")
    unknown = {by_name[n] for n in names} - set(index)
    if unknown:
        raise ValueError(f"{path} labels {sorted(unknown)[:3]} are not classes of {root}")
    return np.array([index[by_name[n]] for n in names], dtype=np.int64)
