"""The processes of one batch cell (:mod:`nml_tutorial.batch`) and the GPUs it gets.

A cell runs the notebook runner on a notebook, or the sweep. Under torchrun (a grid's ``launcher: torchrun``,
``nproc: N``) a sweep cell first pre-trains each of its runs with ``nml-tutorial pretrain`` on N processes, then the
sweep reads them from the run cache and evaluates in one process. Cells running at once get disjoint groups of N
GPUs through ``CUDA_VISIBLE_DEVICES``; without GPUs the N processes run on the CPU (gloo).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

# The sweep's parameters that `nml-tutorial pretrain` does not take: the runs' seeds and noise ratios become one
# command each, the rest shape the evaluation. Every other one (the preset, arch, data, data root, device) goes to
# both.
NOT_PRETRAIN_OPTIONS = ("seeds", "noise", "objective", "methods", "protocols", "threads")


def visible_gpus() -> list[str]:
    """The GPUs this process may use, as ``CUDA_VISIBLE_DEVICES`` names them (so a cell's setting keeps within them)."""
    import torch

    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return [g.strip() for g in visible.split(",") if g.strip()]
    return [str(i) for i in range(torch.cuda.device_count())]


def gpu_groups(gpus: list[str], jobs: int, nproc: int = 1) -> list[str | None]:
    """Each of ``jobs`` slots' ``CUDA_VISIBLE_DEVICES``: disjoint groups of ``nproc`` of ``gpus`` in order (GPUs left
    over idle; one-GPU slots beyond the GPUs share them in turn, torchrun cells never); ``None`` for every slot without
    GPUs."""
    if not gpus:
        return [None] * jobs
    if nproc > len(gpus):
        raise ValueError(f"a cell of {nproc} processes needs {nproc} GPUs and {len(gpus)} are visible; set 'nproc' "
                         f"to at most {len(gpus)}")
    groups = [",".join(gpus[i:i + nproc]) for i in range(0, len(gpus) - nproc + 1, nproc)]
    if nproc > 1 and jobs > len(groups):
        raise ValueError(f"{jobs} cells at once need {jobs} groups of {nproc} GPUs and {len(groups)} fit on the "
                         f"{len(gpus)} visible; set 'jobs' to at most {len(groups)}")
    return [groups[slot % len(groups)] for slot in range(jobs)]


def options(parameters: dict) -> list[str]:
    """Sweep parameters as command-line options: ``--noise 0 0.3``, ``--pretrain-data '{...}'``."""
    args = []
    for name, value in parameters.items():
        flag = "--" + name.replace("_", "-")
        if isinstance(value, list):
            args += [flag, *map(str, value)]
        else:
            args += [flag, json.dumps(value) if isinstance(value, dict) else str(value)]
    return args


def pretraining_commands(parameters: dict, cache: Path, nproc: int) -> list[list[str]]:
    """A sweep cell's pre-training runs under torchrun: one ``nml-tutorial pretrain`` on ``nproc`` processes per seed
    and noise ratio of its preset (``--standalone``: each on a free port, so cells running at once never collide).
    A preset for another objective than supervised is refused: CLIP pre-training runs in one process."""
    from .presets import get_preset

    shaping = {("noise_ratios" if k == "noise" else k): v for k, v in parameters.items()
               if k not in ("preset", "objective", "device", "threads")}
    preset = get_preset(parameters.get("preset", "quick"), parameters.get("objective"), **shaping)
    if preset.objective != "supervised":
        raise ValueError(f"{preset.objective!r} pre-training runs in one process, not under torchrun; drop 'launcher' "
                         "and 'nproc' from the grid, or grid supervised presets only")
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(nproc),
                "-m", "nml_tutorial", "pretrain"]
    shared = options({k: v for k, v in parameters.items() if k not in NOT_PRETRAIN_OPTIONS}) + ["--cache", str(cache)]
    return [torchrun + ["--noise", str(ratio), "--seed", str(seed), *shared, "--no-progress"]
            for seed in preset.seeds for ratio in preset.noise_ratios]


def cell_commands(target: str, parameters: dict, folder: Path, cache: Path, nproc: int | None) -> list[list[str]]:
    """The processes a cell runs, in order: the notebook runner on the notebook ``target`` (its parameters from
    ``folder/parameters.json``), or the sweep (``target="sweep"``; with ``nproc``, after its pre-training runs)."""
    run = [sys.executable, "-m", "nml_tutorial"]
    if target != "sweep":
        return [run + ["notebooks", target, "--out", str(folder), "--cache", str(cache),
                       "--parameters", str(folder / "parameters.json")]]
    sweep = run + ["sweep", *options(parameters), "--out", str(folder), "--cache", str(cache), "--no-progress",
                   "--no-png"]
    return [*(pretraining_commands(parameters, cache, nproc) if nproc else []), sweep]
