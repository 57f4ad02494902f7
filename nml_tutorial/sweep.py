"""Sweeps: pre-train at every noise ratio and seed of a preset, evaluate every method on every task, and the
model zoo's build, which trains the quick preset's runs.

Prints one line per run saying where its model came from and how long it took; the tables are written atomically.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch

from . import zoo as model_zoo
from .evaluate import evaluate_run
from .io import atomic_write_json
from .presets import get_preset, resolve_settings, run_config, task_methods
from .pretrain import pretrain_clip, pretrain_supervised
from .results import COLUMNS, spectra_table, write_table
from .runtime import cpu_capability, resolve_device
from .tasks import build_probe_tasks


# What the model zoo holds: the quick preset's seed-0 runs at the noise ratios the notebooks use.
ZOO_RUNS = {"supervised": [0.0, 0.05, 0.1, 0.3], "clip": [0.0, 0.3]}


def build_zoo(out_dir=model_zoo.ZOO_DIR, device="cpu", progress: bool = True) -> Path:
    """Train the zoo's runs (:data:`ZOO_RUNS`) afresh and write them with a manifest to ``out_dir``.

    Training goes into ``<out_dir>.building`` (an interrupted build resumes there), which then replaces
    ``out_dir``. ``nml-tutorial zoo build`` calls this.
    """
    out_dir = Path(out_dir)
    building = out_dir.with_name(out_dir.name + ".building")
    runs = []
    for objective, ratios in ZOO_RUNS.items():
        preset = get_preset("quick", objective)
        pretrain, kind = (pretrain_clip, "clip") if objective == "clip" else (pretrain_supervised, "pretrain")
        for ratio in ratios:
            run = pretrain(run_config(preset, ratio, 0), cache_dir=building, device=device, progress=progress)
            files = sorted(p for p in (building / kind / run.key).rglob("*") if p.is_file())
            runs.append({"kind": kind, "key": run.key, "objective": objective, "noise_ratio": ratio, "seed": 0,
                         "files": {str(p.relative_to(building)): model_zoo.sha256(p) for p in files}})
    built_with = {"command": "nml-tutorial zoo build", "torch": torch.__version__, "cpu": cpu_capability(),
                  "date": time.strftime("%Y-%m-%d")}
    atomic_write_json({"built_with": built_with, "runs": runs}, building / model_zoo.MANIFEST)
    for lock in building.glob("*/*.lock"):  # the runs' locks (nml_tutorial.cache) are not part of the zoo
        lock.unlink()
    if out_dir.exists():
        shutil.rmtree(out_dir)
    building.rename(out_dir)
    return out_dir


@dataclass
class Sweep:
    """The tidy results table and the long table of feature spectra behind it."""

    table: pd.DataFrame
    spectra: pd.DataFrame


def run_sweep(preset: str | dict = "quick", seeds=None, noise_ratios=None, methods=None, protocols=None,
              cache_dir=".cache",
              out_dir=None, device=None, progress: bool = True, objective: str = "supervised",
              zoo: bool = False, arch: str | None = None, pretrain_data: dict | None = None,
              noise_type: str | None = None) -> Sweep:
    """Pre-train at every noise ratio and seed, evaluate every method on every task; a seed draws the pre-training
    run, its probe and test data and the seeds of every probe and head (the whole pipeline is the unit of
    replication).

    Prints one line per run saying where its model came from and how long it took, and once where the zoo's models
    were built. With ``zoo`` the
    models the package ships (:mod:`nml_tutorial.zoo`) are used instead of training them. With
    ``out_dir`` both tables are written atomically to ``results.csv`` and ``spectra.csv`` there.
    """
    if isinstance(preset, str):
        preset = get_preset(preset, objective, arch=arch, pretrain_data=pretrain_data, seeds=seeds,
                            noise_ratios=noise_ratios, methods=methods, protocols=protocols, noise_type=noise_type)
    device = resolve_device(device)
    started = time.perf_counter()
    settings = [resolve_settings(preset, protocol) for protocol in preset["protocols"]]
    pretrain = pretrain_clip if preset["objective"] == "clip" else pretrain_supervised
    rows, zoo_config = [], None
    for seed in preset["seeds"]:
        tasks = build_probe_tasks(preset, device, seed=seed)  # each seed draws its own probe and test data
        for ratio in preset["noise_ratios"]:
            config = run_config(preset, ratio, seed)
            run_started = time.perf_counter()
            run = pretrain(config, cache_dir=cache_dir, device=device, progress=progress, zoo=zoo)
            for task in tasks:
                for protocol_settings in settings:
                    rows.extend(evaluate_run(run, task, cache_dir, task_methods(preset, task.name), protocol_settings,
                                             device))
            source = {"zoo": "from the zoo", "trained": f"trained here ({run.config['amp']})",
                      "cache": "from the run cache"}[run.source]
            print(f"seed {seed}, noise {ratio:.1%}: model {source}; evaluated "
                  f"({time.perf_counter() - run_started:.0f} s, {time.perf_counter() - started:.0f} s in all)",
                  flush=True)
            zoo_config = run.config if run.source == "zoo" else zoo_config
    if zoo_config is not None:
        print(model_zoo.describe(zoo_config), flush=True)
    sweep = Sweep(pd.DataFrame(rows, columns=COLUMNS), spectra_table(rows))
    if out_dir is not None:
        write_table(sweep.table, Path(out_dir) / "results.csv")
        write_table(sweep.spectra, Path(out_dir) / "spectra.csv")
    return sweep
