"""nml-tutorial batch: a grid of notebook runs (papermill) or sweeps, cells keyed by their parameters, finished
cells skipped, killed runs resumed, metrics gathered; grid files with mistakes refused with the fix."""

import json
import os
import signal
import subprocess
import sys
import time

import nbformat
import pytest

from nml_tutorial.batch import describe, load_grid, run_grid
from nml_tutorial.cli import main

from miniatures import TINY_PRESET


def write_notebook(path, sleep_per_unit=0.0):
    """A notebook with a parameters cell (A, and the runner's OUT_DIR, CACHE_DIR, PROGRESS) that records 2 A."""
    kernel = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": kernel})
    params = nbformat.v4.new_code_cell("A = 1\nOUT_DIR = '.'\nCACHE_DIR = '.'\nPROGRESS = True")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(
        "import time\nfrom nml_tutorial.series import record_metrics\n"
        f"time.sleep({sleep_per_unit} * A)\nassert A != 13, 'unlucky'\n"
        "record_metrics('tiny', {'twice': 2 * A}, OUT_DIR)")]
    nbformat.write(nb, path)


def write_grid(tmp_path, values, jobs=2, **extra):
    lines = ["notebook: tiny.ipynb", "out: out", f"jobs: {jobs}", "grid:", f"  A: {values}"]
    lines += [f"{k}: {v}" for k, v in extra.items()]
    (tmp_path / "grid.yaml").write_text("\n".join(lines) + "\n")
    return tmp_path / "grid.yaml"


def test_a_notebook_grid_runs_each_cell_once_and_gathers_its_metrics(tmp_path, capsys):
    write_notebook(tmp_path / "tiny.ipynb")
    grid = load_grid(write_grid(tmp_path, [1, 2, 13]))
    assert len({c.key for c in grid.cells}) == 3 and "[new]" in describe(grid)
    table = run_grid(grid)
    assert sorted(table["value"]) == [2.0, 4.0] and set(table["metric"]) == {"twice"}
    assert [c.state for c in grid.cells] == ["done", "done", "failed"]
    assert "unlucky" in (grid.cells[2].folder / "log.txt").read_text()
    assert (grid.out / "metrics.csv").is_file() and "Plotly.newPlot" in (grid.out / "report.html").read_text()
    stamps = [(c.folder / "status.json").stat().st_mtime for c in grid.cells]
    run_grid(grid)  # finished cells are skipped, the failed one runs again
    assert [(c.folder / "status.json").stat().st_mtime for c in grid.cells][:2] == stamps[:2]
    assert "2 done, 1 to run" in capsys.readouterr().out


@pytest.mark.slow
def test_a_killed_batch_resumes_without_rerunning_finished_cells(tmp_path):
    write_notebook(tmp_path / "tiny.ipynb", sleep_per_unit=1.0)
    path = write_grid(tmp_path, [1, 3], jobs=1)
    command = [sys.executable, "-m", "nml_tutorial", "batch", str(path)]
    batch = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    grid = load_grid(path)
    deadline = time.time() + 120
    while grid.cells[0].state != "done" and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)  # the second cell's notebook is running now: killed mid-run, it must run again cleanly
    os.killpg(batch.pid, signal.SIGKILL)
    batch.wait()
    assert [c.state for c in grid.cells] == ["done", "new"]
    first = (grid.cells[0].folder / "status.json").stat().st_mtime
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "1 done, 1 to run" in done.stdout
    assert [c.state for c in grid.cells] == ["done"] * 2
    assert (grid.cells[0].folder / "status.json").stat().st_mtime == first
    metrics = {json.loads((c.folder / "parameters.json").read_text())["A"]:
               json.loads(next(c.folder.rglob("*.metrics.json")).read_text())["twice"] for c in grid.cells}
    assert metrics == {1: 2.0, 3: 6.0}


@pytest.mark.parametrize("text, says", [
    ("notebook: tiny.ipynb\nout: o\ngrdi:\n  A: [1]\n", "unknown keys \\['grdi'\\]; did you mean 'grid'"),
    ("notebook: tiny.ipynb\nout: o\ngrid:\n  AA: [1]\n",
     "\\['AA'\\] are not parameters of tiny.ipynb; did you mean 'A'"),
    ("notebook: tiny.ipynb\nout: o\ngrid:\n  A: 3\n", "grid values must be non-empty lists"),
    ("notebook: missing.ipynb\nout: o\n", "no notebook at"),
    ("sweep: true\nout: o\ngrid:\n  seeds: [0, 1]\n", "seeds should be list"),
    ("notebook: tiny.ipynb\nsweep: true\nout: o\n", "exactly one of"),
    ("notebook: tiny.ipynb\nout: o\njobs: 0\n", "'jobs' must be a positive integer"),
    ("notebook: [tiny.ipynb\n", "not valid YAML"),
    ("notebook: tiny.ipynb\nout: o\nlauncher: torchrun\nnproc: 2\n", "a notebook runs in one process.*'sweep: true'"),
    ("sweep: true\nout: o\nnproc: 2\n", "with 'launcher: torchrun' and 'nproc: N'.*got launcher None"),
    ("sweep: true\nout: o\nlauncher: mpirun\nnproc: 2\n", "got launcher 'mpirun'"),
    ("sweep: true\nout: o\nlauncher: torchrun\n", "'nproc' must be a positive integer .*got None"),
    ("sweep: true\nout: o\nlauncher: torchrun\nnproc: 0\n", "'nproc' must be a positive integer"),
    ("sweep: true\nout: o\nlauncher: torchrun\nnproc: 2\nparameters:\n  objective: clip\n",
     "'clip' pre-training runs in one process, not under torchrun; drop 'launcher' and 'nproc'"),
])
def test_grid_files_with_mistakes_are_refused_with_the_fix(tmp_path, text, says):
    write_notebook(tmp_path / "tiny.ipynb")
    (tmp_path / "grid.yaml").write_text(text)
    with pytest.raises((ValueError, FileNotFoundError), match=says):
        load_grid(tmp_path / "grid.yaml")


@pytest.mark.slow
def test_a_sweep_grid_gathers_each_cells_claim_effects(tmp_path, capsys):
    (tmp_path / "grid.yaml").write_text(
        "sweep: true\nout: out\ncache: cache\nparameters:\n  preset: " + TINY_PRESET + "\n  methods: [linear_probe]\n"
        "  protocols: [tuned]\ngrid:\n  seeds: [[0]]\n")
    assert main(["batch", str(tmp_path / "grid.yaml"), "--dry-run"]) == 0
    assert "--seeds 0" in capsys.readouterr().out
    assert main(["batch", str(tmp_path / "grid.yaml")]) == 0
    table = load_grid(tmp_path / "grid.yaml")
    import pandas as pd

    metrics = pd.read_csv(table.out / "metrics.csv")  # tiny has no slight noise: C2 and C3 rows, no C1
    assert "tuned/C2/downstream_classes/OOD accuracy, every OOD set (max)" in set(metrics["metric"])
    assert set(metrics["preset"]) == {TINY_PRESET} and metrics["value"].notna().all()


def test_the_documented_example_grid_is_valid():
    from pathlib import Path

    grid = load_grid(Path(__file__).resolve().parent.parent / "docs" / "full-scale-grid.yaml")
    assert len(grid.cells) == 4 and {c.parameters["PRESET"] for c in grid.cells} == {"fidelity"}


def test_the_documented_full_scale_notebook_grid_has_a_cell_per_preset_and_seed(capsys):
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "docs" / "full-scale-imagenet-grid.yaml"
    grid = load_grid(path)
    assert Path(grid.target).name == "03_id_ood.ipynb" and grid.nproc is None
    assert sorted((c.parameters["PRESET"], c.parameters["SEEDS"]) for c in grid.cells) == [
        (preset, [seed]) for preset in ("imagenet100", "imagenette") for seed in (0, 1, 2)]
    assert all({k: v for k, v in c.parameters.items() if k not in ("PRESET", "SEEDS")}
               == {"DATA_ROOT": "/data/nml", "DEVICE": "cuda", "NOISE_RATIOS": [0.0, 0.05, 0.1, 0.2, 0.3]}
               for c in grid.cells)
    assert main(["batch", str(path), "--dry-run"]) == 0
    shown = capsys.readouterr().out
    assert "6 cells of 03_id_ood.ipynb" in shown and shown.count("-m nml_tutorial notebooks ") == 6
    assert all(f"  {c.key} [" in shown for c in grid.cells)


def test_the_documented_torchrun_grid_pretrains_imagenet100_under_its_data_root(tmp_path, monkeypatch, capsys):
    from pathlib import Path

    documented = (Path(__file__).resolve().parent.parent / "docs" / "full-scale-torchrun-grid.yaml").read_text()
    assert "  data_root: /data\n" in documented
    (tmp_path / "docs").mkdir()  # the grid as documented, its data root here (the preset's paths resolve under it)
    path = tmp_path / "docs" / "grid.yaml"
    path.write_text(documented.replace("data_root: /data", f"data_root: {tmp_path / 'data'}"))
    (tmp_path / "data").mkdir()
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1,2,3,4,5,6,7")
    grid = load_grid(path)
    assert grid.nproc == 4 and grid.jobs == 2 and len(grid.cells) == 2
    assert {c.parameters["preset"] for c in grid.cells} == {"imagenet100"}
    assert main(["batch", str(path), "--dry-run"]) == 0
    shown = capsys.readouterr().out
    pretraining = [line for line in shown.splitlines() if "torch.distributed.run" in line]
    assert len(pretraining) == 2 * 5  # 2 cells (seeds) x the preset's 5 noise ratios, each under torchrun on 4
    assert all("--nproc-per-node 4 " in line and f"--data-root {tmp_path / 'data'}" in line for line in pretraining)
    sweeps = [line for line in shown.splitlines() if "-m nml_tutorial sweep " in line]
    assert len(sweeps) == 2 and all(f"--data-root {tmp_path / 'data'}" in line for line in sweeps)


def test_a_preset_file_is_read_from_the_grids_folder_and_its_edits_renew_the_cells(tmp_path):
    from nml_tutorial.presets import get_preset, write_preset

    write_preset(get_preset("quick"), tmp_path / "mine.json")
    (tmp_path / "grid.yaml").write_text("sweep: true\nout: out\nparameters:\n  preset: mine.json\ngrid:\n"
                                        "  seeds: [[0], [1]]\n")
    before = load_grid(tmp_path / "grid.yaml").cells
    assert {c.parameters["preset"] for c in before} == {str(tmp_path / "mine.json")}
    write_preset(get_preset("quick", seeds=[5]), tmp_path / "mine.json")
    after = load_grid(tmp_path / "grid.yaml").cells
    assert not {c.key for c in before} & {c.key for c in after}


def torchrun_grid(tmp_path, nproc=2, jobs=None, seeds="[[0], [1]]", launcher=True, preset=TINY_PRESET):
    lines = ["sweep: true", "out: out", "cache: cache", "parameters:", f"  preset: {preset}",
             "  methods: [linear_probe]", "  protocols: [tuned]", "grid:", f"  seeds: {seeds}"]
    lines += ["launcher: torchrun", f"nproc: {nproc}"] if launcher else []
    lines += [f"jobs: {jobs}"] if jobs else []
    (tmp_path / "grid.yaml").write_text("\n".join(lines) + "\n")
    return tmp_path / "grid.yaml"


def test_a_torchrun_grid_takes_one_cell_per_group_of_gpus_and_keeps_the_cells_keys(tmp_path, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1,2,3,4,5,6,7")
    grid = load_grid(torchrun_grid(tmp_path))
    assert grid.nproc == 2 and grid.jobs == 4  # 8 GPUs, 2 a cell
    assert load_grid(torchrun_grid(tmp_path, launcher=False)).jobs == 8
    # launcher and nproc stay out of the cells' keys, as the world size stays out of the run cache's
    assert [c.key for c in grid.cells] == [c.key for c in load_grid(torchrun_grid(tmp_path, launcher=False)).cells]
    shown = describe(grid)
    assert "pre-training under torchrun on 2 processes each" in shown
    assert shown.count("torch.distributed.run --standalone --nproc-per-node 2") == 4  # 2 cells x noise 0, 0.3
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    with pytest.raises(ValueError, match="needs 2 GPUs and 1 are visible; set 'nproc' to at most 1"):
        load_grid(torchrun_grid(tmp_path))


def test_cells_running_at_once_never_share_a_gpu(tmp_path, monkeypatch):
    import threading

    from nml_tutorial import batch

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1,2,3")
    grid = load_grid(torchrun_grid(tmp_path, seeds="[[0], [1], [2], [3], [4], [5]]"))
    busy, seen, most, guard = set(), [], [0], threading.Lock()

    def run_cell(grid, cell, gpu):
        with guard:
            assert gpu not in busy, f"{gpu} given to two cells at once"
            busy.add(gpu)
            seen.append(gpu)
            most[0] = max(most[0], len(busy))
        time.sleep(0.2)
        with guard:
            busy.remove(gpu)
        return "done"

    monkeypatch.setattr(batch, "run_cell", run_cell)
    said = []
    run_grid(grid, say=said.append)
    assert "6 to run, 2 at once on GPUs 0,1 | 2,3" in said[0]
    assert grid.jobs == 2 and most == [2] and len(seen) == 6 and set(seen) == {"0,1", "2,3"}


@pytest.mark.slow
def test_a_torchrun_cell_pretrains_on_two_gloo_processes_and_sweeps_their_runs(tmp_path, monkeypatch):
    from nml_tutorial.presets import get_preset, write_preset

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")  # the CPU: two gloo processes a run
    write_preset(get_preset(TINY_PRESET, tasks=["downstream_classes"]), tmp_path / "lean.json")  # a third quicker
    grid = load_grid(torchrun_grid(tmp_path, seeds="[[0]]", preset="lean.json"))
    table = run_grid(grid)
    log = (grid.cells[0].folder / "log.txt").read_text()
    assert grid.cells[0].state == "done", log[-3000:]
    assert log.count("torch.distributed.run --standalone --nproc-per-node 2") == 2
    assert log.count("(2 process(es), 2 epochs") == 2  # rank 0 of each run: the world size
    assert log.count("model from the run cache") == 2  # the sweep evaluated the torchrun runs, trained none
    runs = [p for p in (grid.cache / "pretrain").iterdir() if p.is_dir()]
    assert len(runs) == 2 and all((p / "config.json").is_file() for p in runs)
    assert "tuned/C2/downstream_classes/OOD accuracy, every OOD set (max)" in set(table["metric"])
