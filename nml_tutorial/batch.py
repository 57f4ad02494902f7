"""Batch runs over a parameter grid (``nml-tutorial batch GRID.yaml``): notebooks through papermill, or the sweep.

A grid file names what to run, fixed parameters and a grid of values; every combination is a *cell* that runs in
``<out>/cells/<key>/`` (``key``: a hash of what runs and its parameters) in processes of its own, several at once
(one per GPU where there are GPUs: ``CUDA_VISIBLE_DEVICES`` set per cell; with ``launcher: torchrun`` and
``nproc: N`` a sweep cell pre-trains on N processes, :mod:`nml_tutorial.launch`). ``status.json``, written last,
marks a finished cell: finished cells are skipped, failed and interrupted ones run again. The metrics every cell records
(a notebook's ``*.metrics.json``, a sweep's claim effects) are gathered into ``<out>/metrics.csv`` and a report
figure.
"""

from __future__ import annotations

import difflib
import itertools
import json
import os
import queue
import shlex
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from . import claims
from .atomic import atomic_write_json, file_sha256, intact, seal
from .cache import config_key
from .launch import cell_commands, gpu_groups, pretraining_commands, visible_gpus
from .results import read_table, write_table
from .series import check_parameter_names, notebook_parameters

GRID_KEYS = {"notebook", "sweep", "out", "cache", "parameters", "grid", "jobs", "launcher", "nproc"}
# The sweep's parameters: nml-tutorial sweep options (value types as its command line takes them).
SWEEP_PARAMETERS = {"preset": str, "objective": str, "seeds": list, "noise": list, "methods": list, "protocols": list,
                    "arch": str, "noise_type": str, "pretrain_data": dict, "data_root": str, "device": str,
                    "threads": int}


@dataclass
class Cell:
    """One combination of the grid: its parameters, folder and state (``"done"``, ``"failed"`` or ``"new"``)."""

    key: str
    parameters: dict
    folder: Path

    @property
    def state(self) -> str:
        status = self.folder / "status.json"
        return json.loads(status.read_text())["status"] if intact(status) else "new"  # damaged: run it again


@dataclass
class Grid:
    """A checked grid file: what runs (a notebook path or ``"sweep"``), where, its cells, how many at once and the
    processes each pre-training run of a cell takes under torchrun (``nproc``; ``None``: no torchrun)."""

    target: str
    out: Path
    cache: Path
    cells: list[Cell]
    jobs: int
    nproc: int | None = None

    def commands(self, cell: Cell) -> list[list[str]]:
        """The processes ``cell`` runs, in order (:func:`~nml_tutorial.launch.cell_commands`)."""
        return cell_commands(self.target, cell.parameters, cell.folder, self.cache, self.nproc)


def load_grid(path) -> Grid:
    """Read and check a grid file; every mistake is named with its fix."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no grid file at {path}; see docs/full-scale.md for an example")
    try:
        spec = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ValueError(f"{path} is not valid YAML: {err}") from err
    if not isinstance(spec, dict):
        raise ValueError(f"{path} must be a mapping with 'notebook' or 'sweep', 'out', 'parameters' and 'grid'")
    unknown = set(spec) - GRID_KEYS
    if unknown:
        hints = {k: difflib.get_close_matches(k, GRID_KEYS, n=1) for k in unknown}
        raise ValueError(f"{path}: unknown keys {sorted(unknown)}"
                         + "".join(f"; did you mean {h[0]!r} for {k!r}?" for k, h in hints.items() if h)
                         + f" (known: {sorted(GRID_KEYS)})")
    if ("notebook" in spec) == ("sweep" in spec):
        raise ValueError(f"{path}: name exactly one of 'notebook: path/to/notebook.ipynb' or 'sweep: true'")
    if "out" not in spec:
        raise ValueError(f"{path}: say where the cells go with 'out: results/my-grid'")
    fixed, grid = spec.get("parameters") or {}, spec.get("grid") or {}
    for name, value in (("parameters", fixed), ("grid", grid)):
        if not isinstance(value, dict):
            raise ValueError(f"{path}: '{name}' must be a mapping of parameter names to values")
    not_lists = [k for k, v in grid.items() if not isinstance(v, list) or not v]
    if not_lists:
        raise ValueError(f"{path}: grid values must be non-empty lists of the values to try; fix {not_lists} "
                         "(e.g. 'SEEDS: [[0], [1]]')")
    base = path.parent
    if "notebook" in spec:
        notebook = (base / spec["notebook"]).resolve()
        if not notebook.is_file():
            raise FileNotFoundError(f"{path}: no notebook at {notebook}")
        known, target = notebook_parameters(notebook), str(notebook)
    else:
        known, target = set(SWEEP_PARAMETERS), "sweep"
    try:
        check_parameter_names(set(fixed) | set(grid), known, Path(target).name)
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from None
    if target == "sweep":
        wrong = [f"{k} should be {SWEEP_PARAMETERS[k].__name__}, got {v!r}" for combo in _combinations(fixed, grid)
                 for k, v in combo.items() if not isinstance(v, SWEEP_PARAMETERS[k])]
        if wrong:
            raise ValueError(f"{path}: {sorted(set(wrong))}; give each value as the sweep's option takes it, e.g. "
                             "'seeds: [[0], [0, 1]]' in grid (a list of lists) or 'seeds: [0, 1]' in parameters")
    nproc = _launcher(path, spec, target)
    jobs = spec.get("jobs", len(visible_gpus()) // (nproc or 1) or 1)
    if not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"{path}: 'jobs' must be a positive integer (cells at once), got {jobs!r}")
    out = (base / spec["out"]).resolve()
    cache = (base / spec.get("cache", ".cache")).resolve()
    cells = []
    for combo in _combinations(fixed, grid):
        combo = {name: _preset_file(value, base) if name in ("preset", "PRESET") else value
                 for name, value in combo.items()}
        # keyed by the notebook's and a preset file's content and the package's code too: after any of them changes,
        # cells run again. Not by launcher and nproc, as the run cache's keys leave the world size out (the same
        # global batches in the same order, docs/full-scale.md): a cell finished on 8 GPUs stays finished on 4
        presets = [value for name, value in combo.items() if name in ("preset", "PRESET") and value.endswith(".json")]
        what = {"target": Path(target).name, "parameters": combo,
                "notebook": None if target == "sweep" else file_sha256(target),
                **({"preset_files": [file_sha256(value) for value in presets]} if presets else {})}
        key = config_key(what, code=("nml_tutorial.sweep",) if target == "sweep" else ("nml_tutorial",))
        cells.append(Cell(key, combo, out / "cells" / key))
    try:  # refused now rather than when a cell runs: more processes a cell than GPUs, a preset of another objective
        if nproc:
            gpu_groups(visible_gpus(), 1, nproc)
            for cell in cells:
                pretraining_commands(cell.parameters, cache, nproc)
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from None
    return Grid(target, out, cache, cells, jobs, nproc)


def _launcher(path: Path, spec: dict, target: str) -> int | None:
    """``nproc`` of a grid whose sweep cells pre-train under torchrun (``launcher: torchrun``), else ``None``."""
    launcher, nproc = spec.get("launcher"), spec.get("nproc")
    if launcher is None and nproc is None:
        return None
    if launcher != "torchrun":
        raise ValueError(f"{path}: cells run on several processes with 'launcher: torchrun' and 'nproc: N' "
                         f"(processes a cell); got launcher {launcher!r}")
    if target != "sweep":
        raise ValueError(f"{path}: a notebook runs in one process, not under torchrun; grid the sweep ('sweep: true', "
                         "whose pre-training runs go under torchrun) or drop 'launcher' and 'nproc'")
    if isinstance(nproc, bool) or not isinstance(nproc, int) or nproc < 1:
        raise ValueError(f"{path}: 'nproc' must be a positive integer (processes a cell under torchrun, e.g. "
                         f"'nproc: 2'), got {nproc!r}")
    return nproc


def _preset_file(value, base: Path):
    """A preset named by a file (``.json``) as an absolute path, read relative to the grid file; a name as it is."""
    if not str(value).endswith(".json"):
        return value
    path = (base / value).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"no preset file at {path} (relative paths are read from the grid file's folder)")
    return str(path)


def _combinations(fixed: dict, grid: dict) -> list[dict]:
    return [{**fixed, **dict(zip(grid, values))} for values in itertools.product(*grid.values())]


def run_cell(grid: Grid, cell: Cell, gpu: str | None = None) -> str:
    """Run one cell's processes in turn on the GPUs ``gpu`` names (``"2,3"``), each command and its output in
    ``log.txt``, stopping at the first that fails; write ``status.json`` last. Returns its status."""
    cell.folder.mkdir(parents=True, exist_ok=True)
    (cell.folder / "status.json").unlink(missing_ok=True)
    atomic_write_json(cell.parameters, cell.folder / "parameters.json")
    env = {**os.environ, **({"CUDA_VISIBLE_DEVICES": str(gpu)} if gpu is not None else {})}
    if grid.nproc and gpu is None:  # CPU processes train under their own key (gloo): the sweep must ask for it
        env["NML_TRAINED_BY_PROCESSES"] = str(grid.nproc)
    started, code = time.perf_counter(), 0
    with (cell.folder / "log.txt").open("w") as log:
        for command in grid.commands(cell):
            print("$", *command, file=log, flush=True)
            code = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, env=env).returncode
            if code:
                break
    status = "done" if code == 0 else "failed"
    seal(atomic_write_json({"status": status, "exit_code": code,
                            "seconds": round(time.perf_counter() - started, 1)}, cell.folder / "status.json"))
    return status


def run_grid(grid: Grid, say=print) -> pd.DataFrame:
    """Run every cell that is not done, ``grid.jobs`` at once, then gather the metrics (see :func:`gather`)."""
    todo = [c for c in grid.cells if c.state != "done"]
    gpus = gpu_groups(visible_gpus(), grid.jobs, grid.nproc or 1)
    on = f" on GPUs {' | '.join(dict.fromkeys(gpus))}" if gpus[0] is not None else ""
    say(f"{len(grid.cells)} cells: {len(grid.cells) - len(todo)} done, {len(todo)} to run, {grid.jobs} at once{on}")
    free = queue.Queue()  # job slots: slot i runs its cells on its group of GPUs
    for slot in range(grid.jobs):
        free.put(slot)

    def work(cell: Cell) -> str:
        slot = free.get()
        try:
            status = run_cell(grid, cell, gpus[slot])
        finally:
            free.put(slot)
        where = f" (see {cell.folder / 'log.txt'})" if status != "done" else ""
        say(f"  {cell.key} {status}: {cell.parameters}{where}")
        return status

    with ThreadPoolExecutor(grid.jobs) as pool:
        list(pool.map(work, todo))
    return gather(grid)


def cell_metrics(grid: Grid, cell: Cell) -> dict[str, float]:
    """What a finished cell measured: the ``*.metrics.json`` its notebook wrote, or its sweep's claim effects."""
    if grid.target == "sweep":
        results = read_table(cell.folder / "results.csv")
        table = claims.claim_table(results, objective=results["objective"].iloc[0])
        return claims.headline_effects(table)
    metrics = {}
    for path in sorted(cell.folder.rglob("*.metrics.json")):
        metrics.update(json.loads(path.read_text()))
    return metrics


def gather(grid: Grid) -> pd.DataFrame:
    """One row per finished cell and metric (with the cell's parameters), written to ``<out>/metrics.csv`` with
    a report figure ``<out>/report.html``."""
    from . import viz

    rows = [{"cell": c.key, **{k: json.dumps(v) if isinstance(v, (list, dict)) else v for k, v in c.parameters.items()},
             "metric": name, "value": value}
            for c in grid.cells if c.state == "done" for name, value in cell_metrics(grid, c).items()]
    table = pd.DataFrame(rows)
    if not table.empty:
        write_table(table, grid.out / "metrics.csv")
        viz.save_figure(viz.batch_report(table), grid.out / "report", png=False)
    return table


def describe(grid: Grid) -> str:
    """What ``--dry-run`` prints: each cell's key, state, parameters and command."""
    each = f", pre-training under torchrun on {grid.nproc} processes each" if grid.nproc else ""
    lines = [f"{len(grid.cells)} cells of {Path(grid.target).name} into {grid.out}, {grid.jobs} at once{each}:"]
    for cell in grid.cells:
        lines.append(f"  {cell.key} [{cell.state}] {cell.parameters}")
        lines += [f"      {shlex.join(command)}" for command in grid.commands(cell)]
    return "\n".join(lines)
