"""Run the notebook series with papermill: the package's main job (``nml-tutorial notebooks``, ``make run``).

Each notebook is executed top to bottom with its quick parameters (or the overrides given), from the
``notebooks/`` folder, into ``out_dir``; figures go to ``out_dir/figures``, runs to the shared cache.
"""

from __future__ import annotations

import time
from pathlib import Path

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"  # present in a source checkout


def series(folder=NOTEBOOK_DIR) -> list[Path]:
    """The notebooks in reading order (``00_...`` to ``07_...``)."""
    notebooks = sorted(Path(folder).glob("[0-9][0-9]_*.ipynb"))
    if not notebooks:
        raise FileNotFoundError(f"no notebooks in {folder}; run from a source checkout of nml_tutorial")
    return notebooks


def run_notebook(path, out_dir, cache_dir=".cache", parameters: dict | None = None) -> float:
    """Execute one notebook with papermill into ``out_dir``; returns its wall time in seconds."""
    import papermill

    path, out_dir = Path(path), Path(out_dir).resolve()
    (out_dir / "figures").mkdir(parents=True, exist_ok=True)
    params = {"CACHE_DIR": str(Path(cache_dir).resolve()), "OUT_DIR": str(out_dir / "figures"), "PROGRESS": False,
              **(parameters or {})}
    started = time.perf_counter()
    papermill.execute_notebook(str(path), str(out_dir / path.name), parameters=params, cwd=str(path.parent),
                               progress_bar=False, kernel_name="python3")
    return time.perf_counter() - started


def run_series(out_dir, cache_dir=".cache", only=None, parameters: dict | None = None) -> dict[str, float]:
    """Execute the notebooks in order (``only``: name prefixes such as ``["00", "03"]``); wall time per notebook."""
    times = {}
    for path in series():
        if only and not any(path.name.startswith(prefix) for prefix in only):
            continue
        times[path.stem] = run_notebook(path, out_dir, cache_dir, parameters)
        print(f"{path.stem}: {times[path.stem]:.0f} s", flush=True)
    return times
