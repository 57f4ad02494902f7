"""Reliability: killed, concurrent and repeated sweeps end with the same results table; stale and damaged cache
files are never served.

The slow tests run real processes (``python -m nml_tutorial``) on the tiny preset. A kill is SIGKILL to the whole
process group the moment a chosen file appears in the cache (mid-training, a run just finished, mid-evaluation,
a feature file not yet sealed): nothing in the package knows a test is watching.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pandas as pd
import pytest

from nml_tutorial.atomic import atomic_write_json, intact, seal

from miniatures import TINY_PRESET

REPO = Path(__file__).resolve().parent.parent
SWEEP = ["sweep", "--preset", TINY_PRESET, "--methods", "linear_probe", "nmtune", "--protocols", "tuned", "study",
         "--no-progress", "--no-png", "--threads", "1"]
CLIP_SWEEP = ["sweep", "--objective", "clip", "--preset", TINY_PRESET, "--methods", "zero_shot", "linear_probe",
              "--protocols", "tuned", "--no-progress", "--no-png", "--threads", "1"]


def start(args: list[str], log: Path, package_root: Path = REPO) -> subprocess.Popen:
    """``python -m nml_tutorial ARGS`` in a process group of its own, importing the package from ``package_root``."""
    env = {**os.environ, "PYTHONPATH": str(package_root), "HF_HUB_OFFLINE": "1"}
    with log.open("a") as out:
        return subprocess.Popen([sys.executable, "-m", "nml_tutorial", *args], stdout=out, stderr=subprocess.STDOUT,
                                env=env, cwd=log.parent, start_new_session=True)


def finish(args: list[str], log: Path, package_root: Path = REPO) -> str:
    process = start(args, log, package_root)
    assert process.wait(timeout=600) == 0, log.read_text()[-3000:]
    return log.read_text()


def sweep_table(root: Path, args=SWEEP, package_root: Path = REPO) -> tuple[pd.DataFrame, str]:
    root.mkdir(parents=True, exist_ok=True)
    log = finish([*args, "--cache", str(root / "cache"), "--out", str(root / "out")], root / "log.txt", package_root)
    return pd.read_csv(root / "out" / "results.csv"), log


def kill_when(process: subprocess.Popen, folder: Path, pattern: str, timeout: float = 300) -> Path:
    """SIGKILL ``process`` and its children as soon as a new file matching ``pattern`` appears under ``folder``."""
    before = set(folder.glob(pattern))
    deadline = time.time() + timeout
    while time.time() < deadline:
        new = set(folder.glob(pattern)) - before
        if new:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            return new.pop()
        if process.poll() is not None:
            pytest.fail(f"the run finished before {pattern} appeared: the kill point was never reached")
        time.sleep(0.005)
    pytest.fail(f"no {pattern} within {timeout} s")


def killed_and_resumed(root: Path, args: list[str],
                       kill_points: list[tuple[str, str]]) -> tuple[pd.DataFrame, list[Path]]:
    """Start the sweep, kill it at each ``(folder, pattern)`` in turn (each restart resumes), then let it finish."""
    root.mkdir(parents=True, exist_ok=True)
    args = [*args, "--cache", str(root / "cache"), "--out", str(root / "out")]
    hit = []
    for folder, pattern in kill_points:
        (root / folder).mkdir(parents=True, exist_ok=True)
        hit.append(kill_when(start(args, root / "log.txt"), root / folder, pattern))
    finish(args, root / "log.txt")
    return pd.read_csv(root / "out" / "results.csv"), hit


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> pd.DataFrame:
    """The tiny sweep's table, run once without interruption."""
    return sweep_table(tmp_path_factory.mktemp("reference"))[0]


@pytest.mark.slow
def test_a_sweep_killed_at_four_points_resumes_to_the_same_table(tmp_path, reference):
    table, hit = killed_and_resumed(tmp_path, SWEEP, [
        ("cache/pretrain", "*/checkpoint.pt.sha256"),  # the first run mid-training (its first epoch saved)
        ("cache/features", "*/*.pt"),  # a feature file written, very likely not yet sealed
        ("cache/eval", "*/*.json.sha256"),  # evaluation under way: some methods' rows written
        ("cache/pretrain", "*/config.json.sha256"),  # the second run just finished
    ])
    assert len(hit) == 4
    pd.testing.assert_frame_equal(table, reference, check_exact=True)


@pytest.mark.slow
def test_a_clip_sweep_killed_at_three_points_resumes_to_the_same_table(tmp_path, tmp_path_factory):
    uninterrupted = sweep_table(tmp_path_factory.mktemp("clip-reference"), CLIP_SWEEP)[0]
    table, hit = killed_and_resumed(tmp_path, CLIP_SWEEP, [
        ("cache/clip", "*/checkpoint.pt.sha256"),  # mid-training
        ("cache/clip", "*/model/open_clip_pytorch_model.bin"),  # the model being saved
        ("cache/eval", "*/*.json.sha256"),  # mid-evaluation
    ])
    assert len(hit) == 3
    pd.testing.assert_frame_equal(table, uninterrupted, check_exact=True)


@pytest.mark.slow
def test_a_batch_killed_at_three_points_resumes_without_rerunning_finished_cells(tmp_path, reference):
    """A grid of the reference sweep's two protocols, one cell each: every cell's table is the reference's rows."""
    from nml_tutorial.batch import load_grid

    path = tmp_path / "grid.yaml"
    path.write_text("sweep: true\nout: out\ncache: cache\njobs: 1\nparameters:\n  preset: " + TINY_PRESET + "\n"
                    "  methods: [linear_probe, nmtune]\n  threads: 1\ngrid:\n  protocols: [[tuned], [study]]\n")
    command, log = ["batch", str(path)], tmp_path / "log.txt"
    (tmp_path / "cache").mkdir()
    (tmp_path / "out" / "cells").mkdir(parents=True)
    kill_when(start(command, log), tmp_path / "cache", "pretrain/*/checkpoint.pt.sha256")  # the first cell training
    kill_when(start(command, log), tmp_path / "out" / "cells", "*/status.json.sha256")  # the first cell just done
    grid = load_grid(path)
    assert [c.state for c in grid.cells] == ["done", "new"]
    stamp = (grid.cells[0].folder / "status.json").stat().st_mtime_ns
    kill_when(start(command, log), tmp_path / "cache", "eval/*/*.json.sha256")  # the second cell evaluating
    assert "1 done, 1 to run" in finish(command, log)
    assert [c.state for c in grid.cells] == ["done", "done"]
    assert (grid.cells[0].folder / "status.json").stat().st_mtime_ns == stamp  # the finished cell did not run again
    for cell in grid.cells:
        expected = reference[reference["protocol"] == cell.parameters["protocols"][0]].reset_index(drop=True)
        pd.testing.assert_frame_equal(pd.read_csv(cell.folder / "results.csv"), expected, check_exact=True)
    assert len(pd.read_csv(tmp_path / "out" / "metrics.csv")) > 0


@pytest.mark.slow
def test_two_sweeps_at_once_on_one_cache_both_finish_and_train_each_run_once(tmp_path, reference):
    logs = [tmp_path / "a.txt", tmp_path / "b.txt"]
    processes = [start([*SWEEP, "--cache", str(tmp_path / "cache"), "--out", str(tmp_path / name)], log)
                 for name, log in zip(("out-a", "out-b"), logs)]
    assert [p.wait(timeout=600) for p in processes] == [0, 0], [log.read_text()[-2000:] for log in logs]
    for name in ("out-a", "out-b"):
        pd.testing.assert_frame_equal(pd.read_csv(tmp_path / name / "results.csv"), reference, check_exact=True)
    text = "".join(log.read_text() for log in logs)
    runs = len(reference["run_key"].unique())
    assert text.count("trained here") == runs  # each run trained by one sweep, read from the cache by the other
    assert text.count("from the run cache") == runs
    assert not list((tmp_path / "cache").rglob("*.tmp"))  # no half-written file left behind


@pytest.mark.slow
def test_the_same_sweep_in_a_fresh_clone_and_cache_gives_an_identical_table(tmp_path, reference):
    """Computed a second time from nothing: the code of a fresh clone of the repository, an empty cache."""
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout: no fresh clone to run")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
    in_clone, _ = sweep_table(tmp_path / "from-clone", package_root=clone)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "nml_tutorial"], cwd=REPO,
                           capture_output=True, text=True, check=True).stdout
    # the run keys hash the code: compared only when the working tree's code is the clone's (always, in CI)
    columns = [c for c in reference.columns if not (dirty and c == "run_key")]
    pd.testing.assert_frame_equal(in_clone[columns], reference[columns], check_exact=True)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} is not once in {path}"
    path.write_text(text.replace(old, new))


@pytest.mark.slow
def test_editing_a_computing_function_is_never_served_from_the_cache(tmp_path):
    """In a copy of the package: a docstring or a module outside the computation edited, the cache serves; the
    spectrum edited, the rows are recomputed from the cached runs; training edited, the runs train again."""
    package = tmp_path / "copy"
    shutil.copytree(REPO / "nml_tutorial", package / "nml_tutorial",
                    ignore=shutil.ignore_patterns("__pycache__", "zoo"))
    args = [*SWEEP[:3], "--methods", "linear_probe", "--protocols", "tuned", *SWEEP[8:],
            "--cache", str(tmp_path / "cache"), "--out", str(tmp_path / "out")]
    log = tmp_path / "log.txt"

    def sweep() -> tuple[str, set[Path]]:
        before = len(log.read_text()) if log.exists() else 0
        text = finish(args, log, package)[before:]
        return text, set((tmp_path / "cache").rglob("*"))

    text, files = sweep()
    assert text.count("trained here") == 2
    edit(package / "nml_tutorial" / "training.py", "Learning-rate multiplier:", "The learning-rate multiplier:")
    figures = package / "nml_tutorial" / "viz" / "figures.py"  # a module the sweep uses, not its computation
    figures.write_text(figures.read_text() + "\nEDITED_IN_A_TEST = True\n")
    text, now = sweep()
    assert text.count("from the run cache") == 2 and now == files  # nothing recomputed
    edit(package / "nml_tutorial" / "spectrum.py", "p = p[p > 0]", "p = p[p > 1e-300]")  # evaluation only
    text, now = sweep()
    assert text.count("from the run cache") == 2
    new = now - files
    assert {p.parent.name for p in new} >= {p.parent.name for p in files if p.parent.parent.name == "eval"}
    edit(package / "nml_tutorial" / "training.py", "return (step + 1) / warmup", "return (step + 1.0) / warmup")
    text, _ = sweep()
    assert text.count("trained here") == 2


def damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if how == "truncated" else
                     data[:len(data) // 2] + bytes([data[len(data) // 2] ^ 1]) + data[len(data) // 2 + 1:])


@pytest.mark.parametrize("how", ["truncated", "flipped"])
def test_a_damaged_checkpoint_feature_or_results_file_is_recomputed_never_loaded(tmp_path, how):
    import torch

    from nml_tutorial.config import TRAIN_DEFAULTS
    from nml_tutorial.data import load_dataset
    from nml_tutorial.evaluate import evaluate_run
    from nml_tutorial.models import build_model
    from nml_tutorial.presets import get_preset
    from nml_tutorial.pretrain import pretrain_supervised
    from nml_tutorial.results import read_table, write_table
    from nml_tutorial.runtime import seed_everything
    from nml_tutorial.tasks import build_probe_tasks
    from nml_tutorial.training import train_classifier

    def fresh_model(data):
        seed_everything(0)
        return build_model(run.config["arch"], data.num_classes, width=run.config["width"], depth=run.config["depth"])

    preset = get_preset(TINY_PRESET, methods=["linear_probe"], protocols=["tuned"])
    config = preset.run_config(0.3, 0)
    run = pretrain_supervised(config, cache_dir=tmp_path, progress=False, device="cpu")  # bit-identical reruns
    task = build_probe_tasks(preset, "cpu", seed=0)[0]
    rows = evaluate_run(run, task, tmp_path, device="cpu")
    files = {kind: next((tmp_path / kind).rglob(pattern)) for kind, pattern in
             (("pretrain", "model.pt"), ("eval", "*.json"), ("features", "*-train.pt"))}
    for kind, path in files.items():
        damage(path, how)
        if kind == "features":  # features are read only when rows are computed
            shutil.rmtree(tmp_path / "eval")
        with pytest.warns(UserWarning, match=f"{path.name} is damaged.*recomputing"):
            again = (pretrain_supervised(config, cache_dir=tmp_path, progress=False, device="cpu") if kind == "pretrain"
                     else evaluate_run(run, task, tmp_path, device="cpu"))
        assert intact(path)  # recomputed and sealed again
        if kind == "pretrain":
            assert again.source == "trained"
            assert all(torch.equal(a, b) for a, b in zip(again.model.state_dict().values(),
                                                          run.model.state_dict().values()))
        else:
            assert again == rows
    # a damaged checkpoint is not resumed from: training starts afresh and ends where an uninterrupted run does
    data = load_dataset(**config["data"])
    hp = {**{k: run.config[k] for k in TRAIN_DEFAULTS}, "epochs": 1}
    checkpoint = tmp_path / "checkpoint.pt"
    train_classifier(fresh_model(data), data.images, data.labels, hp, checkpoint_path=checkpoint, progress=False,
                     device="cpu")
    damage(checkpoint, how)
    hp["epochs"] = 2
    with pytest.warns(UserWarning, match="checkpoint.pt is damaged"):
        resumed = fresh_model(data)
        history = train_classifier(resumed, data.images, data.labels, hp, checkpoint_path=checkpoint, progress=False,
                                   device="cpu")
    uninterrupted = fresh_model(data)
    train_classifier(uninterrupted, data.images, data.labels, hp, progress=False, device="cpu")
    assert [r["epoch"] for r in history] == [1, 2]
    assert all(torch.equal(a, b) for a, b in zip(resumed.state_dict().values(), uninterrupted.state_dict().values()))
    table = tmp_path / "results.csv"
    write_table(pd.DataFrame({"accuracy": [0.5, 0.25]}), table)
    damage(table, how)
    with pytest.raises(ValueError, match="results.csv is damaged.*run the sweep again"):
        read_table(table)


def test_a_file_whose_writer_was_stopped_before_sealing_is_not_trusted(tmp_path):
    path = atomic_write_json({"rows": 1}, tmp_path / "rows.json")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert not intact(path)
    assert "no rows.json.sha256" in str(caught[0].message)
    seal(path)
    assert intact(path)


@pytest.mark.parametrize("change", ["noisy-label file", "memmap rebuilt from another source", "nothing"])
def test_a_cache_key_changes_with_the_data_files_a_config_names(tmp_path, change):
    import numpy as np

    from nml_tutorial.atomic import atomic_save_npy, atomic_write_json
    from nml_tutorial.cache import config_key

    root = tmp_path / "memmap"
    atomic_save_npy(np.zeros((4, 2, 2, 3), np.uint8), root / "images.npy")
    atomic_write_json({"count": 4, "source_checksum": "a", "settings": {"image_size": 2}}, root / "meta.json")
    atomic_save_npy(np.array([0, 1, 0, 1]), root / "noisy.npy")
    config = {"data": {"name": "memmap", "root": str(root), "noisy_labels": "noisy.npy"}, "noise_ratio": 0.5}
    before = config_key(config)
    if change == "noisy-label file":  # the same size, other labels
        atomic_save_npy(np.array([1, 1, 0, 1]), root / "noisy.npy")
    elif change == "memmap rebuilt from another source":  # the tools write meta.json last, with the source's checksum
        atomic_save_npy(np.ones((4, 2, 2, 3), np.uint8), root / "images.npy")
        atomic_write_json({"count": 4, "source_checksum": "b", "settings": {"image_size": 2}}, root / "meta.json")
    assert (config_key(config) != before) == (change != "nothing")
