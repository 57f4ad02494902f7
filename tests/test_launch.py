"""The processes of a batch cell: disjoint GPU groups for the cells running at once, and a torchrun sweep cell's
pre-training commands (one torchrun launch per seed and noise ratio, the options pretrain takes, CLIP refused)."""

import pytest

from nml_tutorial.launch import cell_commands, gpu_groups, pretraining_commands, visible_gpus

from miniatures import TINY_PRESET

EIGHT = [str(i) for i in range(8)]


@pytest.mark.parametrize("gpus, jobs, nproc, groups", [
    (EIGHT, 4, 2, ["0,1", "2,3", "4,5", "6,7"]),
    (EIGHT, 2, 3, ["0,1,2", "3,4,5"]),  # GPUs 6 and 7 make no group of 3: they idle
    (EIGHT, 1, 8, ["0,1,2,3,4,5,6,7"]),
    (["0", "1"], 3, 1, ["0", "1", "0"]),  # one process a cell: one GPU each, as before torchrun
    (["4", "5", "6", "7"], 2, 2, ["4,5", "6,7"]),  # within what CUDA_VISIBLE_DEVICES gave the batch
    ([], 3, 2, [None, None, None]),  # no GPUs: the CPU (gloo)
])
def test_cells_running_at_once_get_disjoint_groups_of_gpus(gpus, jobs, nproc, groups):
    assert gpu_groups(gpus, jobs, nproc) == groups


def test_more_processes_a_cell_than_gpus_or_more_torchrun_cells_than_groups_are_refused():
    with pytest.raises(ValueError, match="needs 4 GPUs and 2 are visible; set 'nproc' to at most 2"):
        gpu_groups(["0", "1"], 1, 4)
    with pytest.raises(ValueError, match="6 cells at once need 6 groups of 2 GPUs and 4 fit on the 8 visible; set "
                                         "'jobs' to at most 4"):
        gpu_groups(EIGHT, 6, 2)  # two cells would share a group of GPUs


@pytest.mark.parametrize("visible, gpus", [("3, 5", ["3", "5"]), ("", []), ("GPU-a1,GPU-b2", ["GPU-a1", "GPU-b2"])])
def test_the_visible_gpus_are_those_cuda_visible_devices_names(monkeypatch, visible, gpus):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", visible)
    assert visible_gpus() == gpus


def test_a_torchrun_sweep_cell_pretrains_each_run_under_torchrun_then_sweeps(tmp_path):
    parameters = {"preset": TINY_PRESET, "seeds": [0, 1], "noise": [0.0, 0.3], "methods": ["linear_probe"],
                  "device": "cpu", "threads": 2}
    commands = cell_commands("sweep", parameters, tmp_path / "cell", tmp_path / "cache", 2)
    *pretraining, sweep = commands
    assert pretraining == pretraining_commands(parameters, tmp_path / "cache", 2)
    runs = [(c[c.index("--seed") + 1], c[c.index("--noise") + 1]) for c in pretraining]
    assert runs == [("0", "0.0"), ("0", "0.3"), ("1", "0.0"), ("1", "0.3")]
    for command in pretraining:
        assert command[1:8] == ["-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", "-m",
                                "nml_tutorial"]
        assert command[8] == "pretrain" and command[command.index("--preset") + 1] == TINY_PRESET
        assert command[command.index("--device") + 1] == "cpu" and "--methods" not in command  # pretrain's own only
        assert "--threads" not in command and command[command.index("--cache") + 1] == str(tmp_path / "cache")
    assert sweep[2:4] == ["nml_tutorial", "sweep"] and "torch.distributed.run" not in sweep
    assert sweep[sweep.index("--noise") + 1:sweep.index("--noise") + 3] == ["0.0", "0.3"]
    assert cell_commands("sweep", parameters, tmp_path / "cell", tmp_path / "cache", None) == [sweep]


def test_the_preset_decides_the_runs_a_torchrun_cell_pretrains(tmp_path):
    commands = pretraining_commands({"preset": TINY_PRESET}, tmp_path, 4)  # tiny: noise 0 and 0.3, seed 0
    assert [(c[c.index("--noise") + 1], c[c.index("--seed") + 1]) for c in commands] == [("0.0", "0"), ("0.3", "0")]


def test_clip_pretraining_under_torchrun_is_refused_with_the_fix(tmp_path):
    with pytest.raises(ValueError, match="'clip' pre-training runs in one process.*drop 'launcher' and 'nproc'"):
        pretraining_commands({"preset": TINY_PRESET, "objective": "clip"}, tmp_path, 2)
