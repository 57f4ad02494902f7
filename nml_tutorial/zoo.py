"""The model zoo: the quick preset's pre-trained models, shipped with the package (a few MB).

Training them takes minutes on a laptop CPU, so the notebooks start from these by default, as
foundation-model courses start from released checkpoints; ``RETRAIN = True`` in a notebook's parameters
trains them live instead. They are not downloaded and not hand-made: ``nml-tutorial zoo build`` trains
them with the package's own code (fp32, so the same on every machine) and writes this folder, laid out
like the run cache (``pretrain/<key>/``, ``clip/<key>/``) plus ``manifest.json`` with a SHA-256 of every
file and the machine that trained them. ``tests/test_zoo.py`` retrains one and checks that it matches.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import torch

from .atomic import atomic_write_json
from .runtime import cpu_capability

ZOO_DIR = Path(__file__).parent / "zoo"
MANIFEST = "manifest.json"
# What the zoo holds: the quick preset's seed-0 runs at the noise ratios the notebooks use.
RUNS = {"supervised": [0.0, 0.05, 0.1, 0.3], "clip": [0.0, 0.3]}


def sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def manifest(zoo_dir=ZOO_DIR) -> dict:
    """The zoo's manifest (``{"runs": []}`` when the zoo is empty)."""
    path = Path(zoo_dir) / MANIFEST
    return json.loads(path.read_text()) if path.exists() else {"runs": []}


def find(kind: str, key: str, zoo_dir=ZOO_DIR) -> Path | None:
    """The zoo's folder of a finished run (``kind`` ``"pretrain"`` or ``"clip"``), checksums verified; else None."""
    for run in manifest(zoo_dir)["runs"]:
        if run["kind"] == kind and run["key"] == key:
            for name, digest in run["files"].items():
                path = Path(zoo_dir) / name
                if not path.exists() or sha256(path) != digest:
                    raise RuntimeError(f"the model zoo's file {path} is missing or corrupted (checksum mismatch); "
                                       "reinstall nml_tutorial, or rebuild the zoo with `nml-tutorial zoo build`, "
                                       "or pass RETRAIN = True to train the model here")
            return Path(zoo_dir) / kind / key
    return None


def describe(run_config: dict) -> str:
    """One line saying where the zoo's models came from and how to train them here instead."""
    built = manifest()["built_with"]
    return (f"models from the package's zoo: trained by `{built['command']}` on {built['cpu']}, torch "
            f"{built['torch']}, {built['date']}, {run_config['amp']}; RETRAIN = True trains them here instead")


def build(train_run: Callable, out_dir=ZOO_DIR) -> Path:
    """Train the zoo's runs (:data:`RUNS`) afresh and write them with a manifest to ``out_dir``.

    ``train_run(objective, noise_ratio, cache_dir)`` trains one run into ``cache_dir`` and returns it
    (:func:`nml_tutorial.sweep.zoo_run`). Training goes into ``<out_dir>.building`` (an interrupted build resumes
    there), which then replaces ``out_dir``. ``nml-tutorial zoo build`` calls this.
    """
    out_dir = Path(out_dir)
    building = out_dir.with_name(out_dir.name + ".building")
    runs = []
    for objective, ratios in RUNS.items():
        for ratio in ratios:
            run = train_run(objective, ratio, building)
            kind = run.folder.parent.name
            files = sorted(p for p in run.folder.rglob("*") if p.is_file())
            runs.append({"kind": kind, "key": run.key, "objective": objective, "noise_ratio": ratio, "seed": 0,
                         "files": {str(p.relative_to(building)): sha256(p) for p in files}})
    built_with = {"command": "nml-tutorial zoo build", "torch": torch.__version__, "cpu": cpu_capability(),
                  "date": time.strftime("%Y-%m-%d")}
    atomic_write_json({"built_with": built_with, "runs": runs}, building / MANIFEST)
    for lock in building.glob("*/*.lock"):  # the runs' locks (nml_tutorial.cache) are not part of the zoo
        lock.unlink()
    if out_dir.exists():
        shutil.rmtree(out_dir)
    building.rename(out_dir)
    return out_dir
