"""Sweeps: pre-train at every noise ratio and seed of a preset and evaluate every method on every task.

Prints one line per run saying where its model came from and how long it took; the tables are written atomically.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from . import zoo as model_zoo
from .evaluate import evaluate_run
from .presets import Preset, get_preset
from .pretrain import PretrainedRun, pretrain_clip, pretrain_supervised
from .results import COLUMNS, spectra_table, write_table
from .runtime import resolve_device
from .tasks import build_probe_tasks


def pretrain_run(preset: Preset, noise_ratio: float, seed: int, **kwargs) -> PretrainedRun:
    """One pre-training run of a preset, by its objective (``kwargs`` go to the pre-training function)."""
    pretrain = pretrain_clip if preset.objective == "clip" else pretrain_supervised
    return pretrain(preset.run_config(noise_ratio, seed), **kwargs)


def zoo_run(objective: str, noise_ratio: float, cache_dir, device="cpu", progress: bool = True) -> PretrainedRun:
    """A zoo run: the quick preset's seed-0 run of an objective at a noise ratio, trained into ``cache_dir``."""
    return pretrain_run(get_preset("quick", objective), noise_ratio, 0, cache_dir=cache_dir, device=device,
                        progress=progress)


@dataclass
class Sweep:
    """The tidy results table and the long table of feature spectra behind it."""

    table: pd.DataFrame
    spectra: pd.DataFrame


def run_sweep(preset: str | Path | Preset = "quick", *, objective: str | None = None, seeds=None, noise_ratios=None,
              methods=None, protocols=None, noise_type: str | None = None, arch: str | None = None,
              pretrain_data: dict | None = None, data_root=None, cache_dir=".cache", out_dir=None, device=None,
              progress: bool = True, zoo: bool = False) -> Sweep:
    """Pre-train at every noise ratio and seed of ``preset``, evaluate every method on every task; a seed draws the
    pre-training run, its probe and test data and the seeds of every probe and head (the whole pipeline is the unit
    of replication).

    ``preset``: a name, a preset file or a :class:`~nml_tutorial.presets.Preset`; ``objective``, ``seeds``,
    ``noise_ratios``, ``methods``, ``protocols``, ``noise_type``, ``arch`` and ``pretrain_data`` change it through
    :func:`~nml_tutorial.presets.get_preset` (``None``: as the preset has it); ``data_root`` is the folder a
    full-scale preset reads (``"imagenette"``, ``"imagenet100"``, ``"imagenet1k"``). ``cache_dir`` holds runs, features
    and rows (an interrupted sweep resumes there); with ``zoo`` the models the package ships
    (:mod:`nml_tutorial.zoo`) are read instead of trained; with ``out_dir`` both tables are written atomically to
    ``results.csv`` and ``spectra.csv`` there. Prints one line per run saying where its model came from and how
    long it took, and once where the zoo's models were built.
    """
    preset = get_preset(preset, objective, arch=arch, pretrain_data=pretrain_data, data_root=data_root, seeds=seeds,
                        noise_ratios=noise_ratios, methods=methods, protocols=protocols, noise_type=noise_type)
    device = resolve_device(device)
    started = time.perf_counter()
    settings = [preset.settings(protocol) for protocol in preset.protocols]
    rows, zoo_config = [], None
    for seed in preset.seeds:
        tasks = build_probe_tasks(preset, device, seed=seed)  # each seed draws its own probe and test data
        for ratio in preset.noise_ratios:
            run_started = time.perf_counter()
            run = pretrain_run(preset, ratio, seed, cache_dir=cache_dir, device=device, progress=progress, zoo=zoo)
            for task in tasks:
                for protocol_settings in settings:
                    rows.extend(evaluate_run(run, task, cache_dir, preset.methods_for(task.name), protocol_settings,
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
