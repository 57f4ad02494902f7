"""Batch runs over a parameter grid (``nml-tutorial batch GRID.yaml``): notebooks through papermill, or the sweep.

A grid file names what to run, fixed parameters and a grid of values; every combination is a *cell* that runs in
``<out>/cells/<key>/`` (``key``: a hash of what runs and its parameters), as its own process, several at once
(one per GPU where there are GPUs: ``CUDA_VISIBLE_DEVICES`` set per cell). ``status.json``, written last, marks a
finished cell: finished cells are skipped, failed and interrupted ones run again. The metrics every cell records
(a notebook's ``*.metrics.json``, a sweep's claim effects) are gathered into ``<out>/metrics.csv`` and a report
figure.
"""

from __future__ import annotations

import difflib
import itertools
import json
import os
import queue
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from . import claims
from .atomic import atomic_write_json, file_sha256, intact, seal
from .cache import config_key
from .results import read_table, write_table
from .series import check_parameter_names, notebook_parameters

GRID_KEYS = {"notebook", "sweep", "out", "cache", "parameters", "grid", "jobs"}
# The sweep's parameters: nml-tutorial sweep options (value types as its command line takes them).
SWEEP_PARAMETERS = {"preset": str, "objective": str, "seeds": list, "noise": list, "methods": list, "protocols": list,
                    "arch": str, "noise_type": str, "pretrain_data": dict, "device": str, "threads": int}


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
    """A checked grid file: what runs (a notebook path or ``"sweep"``), where, and its cells."""

    target: str
    out: Path
    cache: Path
    cells: list[Cell]
    jobs: int


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
    jobs = spec.get("jobs", _gpu_count() or 1)
    if not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"{path}: 'jobs' must be a positive integer (cells at once), got {jobs!r}")
    out = (base / spec["out"]).resolve()
    cache = (base / spec.get("cache", ".cache")).resolve()
    cells = []
    for combo in _combinations(fixed, grid):
        combo = {name: _preset_file(value, base) if name in ("preset", "PRESET") else value
                 for name, value in combo.items()}
        # keyed by the notebook's and a preset file's content and the package's code too: after any of them changes,
        # cells run again
        presets = [value for name, value in combo.items() if name in ("preset", "PRESET") and value.endswith(".json")]
        what = {"target": Path(target).name, "parameters": combo,
                "notebook": None if target == "sweep" else file_sha256(target),
                **({"preset_files": [file_sha256(value) for value in presets]} if presets else {})}
        key = config_key(what, code=("nml_tutorial.sweep",) if target == "sweep" else ("nml_tutorial",))
        cells.append(Cell(key, combo, out / "cells" / key))
    return Grid(target, out, cache, cells, jobs)


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


def _gpu_count() -> int:
    import torch

    return torch.cuda.device_count()


def _gpu_ids() -> list[str]:
    """The GPUs this process may use, as ``CUDA_VISIBLE_DEVICES`` names them (so a cell's setting keeps within them)."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return [g.strip() for g in visible.split(",") if g.strip()]
    return [str(i) for i in range(_gpu_count())]


def _command(grid: Grid, cell: Cell) -> list[str]:
    """The process one cell runs: the notebook runner on one notebook, or the sweep."""
    run = [sys.executable, "-m", "nml_tutorial"]
    if grid.target != "sweep":
        notebook = grid.target
        return run + ["notebooks", str(notebook), "--out", str(cell.folder), "--cache", str(grid.cache),
                      "--parameters", str(cell.folder / "parameters.json")]
    args = []
    for name, value in cell.parameters.items():
        flag = "--" + name.replace("_", "-")
        if isinstance(value, list):
            args += [flag, *map(str, value)]
        else:
            args += [flag, json.dumps(value) if isinstance(value, dict) else str(value)]
    return run + ["sweep", *args, "--out", str(cell.folder), "--cache", str(grid.cache), "--no-progress", "--no-png"]


def run_cell(grid: Grid, cell: Cell, gpu: str | None = None) -> str:
    """Run one cell in its own process; write ``status.json`` last. Returns its status."""
    cell.folder.mkdir(parents=True, exist_ok=True)
    (cell.folder / "status.json").unlink(missing_ok=True)
    atomic_write_json(cell.parameters, cell.folder / "parameters.json")
    env = {**os.environ, **({"CUDA_VISIBLE_DEVICES": str(gpu)} if gpu is not None else {})}
    started = time.perf_counter()
    with (cell.folder / "log.txt").open("w") as log:
        code = subprocess.run(_command(grid, cell), stdout=log, stderr=subprocess.STDOUT, env=env).returncode
    status = "done" if code == 0 else "failed"
    seal(atomic_write_json({"status": status, "exit_code": code,
                            "seconds": round(time.perf_counter() - started, 1)}, cell.folder / "status.json"))
    return status


def run_grid(grid: Grid, say=print) -> pd.DataFrame:
    """Run every cell that is not done, ``grid.jobs`` at once, then gather the metrics (see :func:`gather`)."""
    todo = [c for c in grid.cells if c.state != "done"]
    say(f"{len(grid.cells)} cells: {len(grid.cells) - len(todo)} done, {len(todo)} to run, {grid.jobs} at once")
    gpus = _gpu_ids()
    free = queue.Queue()  # job slots: slot i runs its cells on GPU i (mod the GPUs there are)
    for slot in range(grid.jobs):
        free.put(slot)

    def work(cell: Cell) -> str:
        slot = free.get()
        try:
            status = run_cell(grid, cell, gpus[slot % len(gpus)] if gpus else None)
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
    lines = [f"{len(grid.cells)} cells of {Path(grid.target).name} into {grid.out}, {grid.jobs} at once:"]
    for cell in grid.cells:
        lines.append(f"  {cell.key} [{cell.state}] {cell.parameters}")
        lines.append(f"      {' '.join(_command(grid, cell))}")
    return "\n".join(lines)
