"""Run the notebook series with papermill: the package's main job (``nml-tutorial notebooks``, ``make run``).

Each notebook is executed top to bottom with its quick parameters (or the overrides given), from its
folder, into ``out_dir``; figures go to ``out_dir/figures``, runs to the shared cache. The terminal shows
each notebook as it starts, one line per executed cell with its time, and a summary table at the end.
A failing notebook is still written (up to the failing cell) and named with its cell and error. Kernels
talk over local IPC sockets rather than TCP (no network port, and no unencrypted-TCP warning).
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .atomic import atomic_write_json

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"  # present in a source checkout


def series(folder=None) -> list[Path]:
    """The notebooks in reading order (``00_...`` to ``07_...``) in ``folder`` (default: the checkout's)."""
    folder = Path(folder) if folder is not None else NOTEBOOK_DIR
    notebooks = sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    if not notebooks:
        raise FileNotFoundError(f"no notebooks (00_*.ipynb ...) in {folder}; pass the folder of a source checkout "
                                "of nml_tutorial with --dir (git clone, then `nml-tutorial notebooks --dir "
                                "nml_tutorial/notebooks`)")
    return notebooks


@dataclass
class NotebookResult:
    """How one notebook ran: seconds, ``"ok"`` or ``"failed"``, the executed file, and the error if any."""

    name: str
    seconds: float
    status: str
    output: Path
    error: str = ""


def record_metrics(notebook: str, metrics: dict, out_dir) -> Path:
    """Write a notebook's headline numbers to ``<out_dir>/<notebook>.metrics.json`` (atomically): what
    ``nml-tutorial batch`` gathers from every cell of a grid."""
    bad = {k: v for k, v in metrics.items() if not isinstance(v, (int, float))}
    if bad:
        raise ValueError(f"metrics must be numbers; convert {sorted(bad)} with float()")
    return atomic_write_json({k: float(v) for k, v in metrics.items()}, Path(out_dir) / f"{notebook}.metrics.json")


def _first_line(source: str) -> str:
    return next((line for line in source.splitlines() if line.strip()), "")


def _cell_lines(name: str, say):
    """A papermill engine that reports every finished code cell (index, seconds, first line of source)."""
    from papermill.engines import NBClientEngine

    class LineEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, **kwargs):
            complete = nb_man.cell_complete
            code = [i for i, c in enumerate(nb_man.nb.cells) if c.cell_type == "code"]

            def cell_complete(cell, cell_index=None, **kw):
                complete(cell, cell_index=cell_index, **kw)
                if cell.cell_type == "code":
                    seconds = cell.metadata.get("papermill", {}).get("duration") or 0.0
                    say(f"  {name} [{code.index(cell_index) + 1:>2}/{len(code)}] {seconds:6.1f} s  "
                        f"{_first_line(cell.source)[:70]}")

            nb_man.cell_complete = cell_complete
            return super().execute_managed_notebook(nb_man, kernel_name, **kwargs)

    return LineEngine


def run_notebook(path, out_dir, cache_dir=".cache", parameters: dict | None = None, say=None) -> NotebookResult:
    """Execute one notebook with papermill into ``out_dir``; ``say`` (e.g. ``print``) gets one line per cell."""
    import papermill
    from papermill.engines import papermill_engines
    from papermill.exceptions import PapermillExecutionError
    from traitlets.config import Config

    path, out_dir = Path(path), Path(out_dir).resolve()
    (out_dir / "figures").mkdir(parents=True, exist_ok=True)
    params = {"CACHE_DIR": str(Path(cache_dir).resolve()), "OUT_DIR": str(out_dir / "figures"), "PROGRESS": False,
              **(parameters or {})}
    engine = None
    if say is not None:
        engine = f"nml_tutorial_lines_{path.stem}"
        papermill_engines.register(engine, _cell_lines(path.stem, say))
    output = out_dir / path.name
    started = time.perf_counter()
    # each kernel's IPC sockets in a folder of its own: kernels started at once (nml-tutorial batch) never share one
    with tempfile.TemporaryDirectory(prefix="nml-kernel-") as sockets:
        try:
            papermill.execute_notebook(str(path), str(output), parameters=params, cwd=str(path.parent),
                                       progress_bar=False, kernel_name="python3", engine_name=engine,
                                       config=Config({"KernelManager": {"transport": "ipc",
                                                                        "ip": str(Path(sockets) / "kernel")}}))
        except PapermillExecutionError as err:
            error = f"In [{err.exec_count}] `{_first_line(err.source)[:60]}`: {err.ename}: {err.evalue}"
            return NotebookResult(path.stem, time.perf_counter() - started, "failed", output, error)
    return NotebookResult(path.stem, time.perf_counter() - started, "ok", output)


def notebook_parameters(path) -> set[str]:
    """The names a notebook's ``parameters`` cell defines (what papermill may set)."""
    import papermill

    return set(papermill.inspect_notebook(str(path)))


def check_parameter_names(names, known: set[str], target: str) -> None:
    """Refuse a parameter name that ``target`` (notebooks, the sweep) does not have, suggesting the closest known one:
    papermill would inject it and the run would ignore it."""
    import difflib

    typos = sorted(set(names) - known)
    if typos:
        hints = {t: difflib.get_close_matches(t, known, n=1) for t in typos}
        raise ValueError(f"{typos} are not parameters of {target}"
                         + "".join(f"; did you mean {h[0]!r} for {t!r}?" for t, h in hints.items() if h)
                         + f"; fix or remove them (their parameters: {sorted(known)})")


def run_series(out_dir, cache_dir=".cache", only=None, parameters: dict | None = None, folder=None,
               say=print, paths=None) -> list[NotebookResult]:
    """Execute the notebooks in order (``only``: name prefixes such as ``["00", "03"]``; ``paths``: these notebook
    files instead of the series); one result each.

    Every notebook runs even when an earlier one failed (each reads the shared cache, not the others).
    """
    notebooks = [Path(p) for p in paths] if paths else series(folder)
    notebooks = [p for p in notebooks if not only or any(p.name.startswith(prefix) for prefix in only)]
    if parameters:
        known = set().union(*map(notebook_parameters, notebooks))
        check_parameter_names(parameters, known, ", ".join(p.stem for p in notebooks))
    results = []
    for path in notebooks:
        if say is not None:
            say(f"{path.stem}: running ...")
        result = run_notebook(path, out_dir, cache_dir, parameters, say=say)
        results.append(result)
        if say is not None:
            error = f": {result.error}" if result.error else ""
            say(f"{path.stem}: {result.status} in {result.seconds:.0f} s{error}")
    return results


def summary(results: list[NotebookResult]) -> str:
    """A table of the series: notebook, seconds, status, executed file; then the total."""
    lines = [f"{'notebook':<16} {'seconds':>8}  {'status':<7} output"]
    lines += [f"{r.name:<16} {r.seconds:8.1f}  {r.status:<7} {r.output}" for r in results]
    failed = [r for r in results if r.status != "ok"]
    lines.append(f"{'total':<16} {sum(r.seconds for r in results):8.1f}  "
                 f"{'ok' if not failed else f'{len(failed)} failed':<7}")
    lines += [f"  {r.name} failed at {r.error}; its output up to that cell is in {r.output}" for r in failed]
    return "\n".join(lines)
