"""Multi-process training with DistributedDataParallel on gloo (CPU): the same sample order per global step as
one process, the same parameters after k steps, a resumed run on the same loss curve, and torchrun through the CLI.

gloo has no SyncBatchNorm, so the equivalence is asserted on a model without BatchNorm; on GPUs (nccl) the
package's models get SyncBatchNorm and the same argument holds for them."""

import json
import os
import socket
import subprocess
import sys

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

from nml_tutorial.config import TRAIN_DEFAULTS
from nml_tutorial.training import fit, train_classifier

from miniatures import TINY_PRESET

HP = {**TRAIN_DEFAULTS, "epochs": 3, "batch_size": 16, "lr": 0.05, "amp": "fp32", "seed": 3}


class NoNorm(nn.Module):
    """A small convolutional classifier without BatchNorm, behind the package's features/head interface."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.encoder = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(8, 4)

    def features(self, x):
        return self.encoder(x.float() / 255)

    def forward(self, x):
        return self.head(self.features(x))


def data():
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (64, 3, 12, 12), dtype=torch.uint8, generator=g)
    return images, torch.randint(0, 4, (64,), generator=g)


def train(checkpoint=None, stop_after=None):
    """Train NoNorm; return its parameters, its history and the samples each global step drew."""
    images, labels = data()
    model, order = NoNorm(), []

    def stop(record):
        if stop_after is not None and record["epoch"] == stop_after:
            raise KeyboardInterrupt

    history = train_classifier(model, images, labels, HP, checkpoint_path=checkpoint, progress=False,
                               on_epoch_end=stop)

    def record(idx, g, span):  # fit's sampler alone: which samples this process gets at each step
        order.append(idx.clone())
        return (model.head.weight * 0).sum().requires_grad_(), {"correct": torch.tensor(0)}

    fit(NoNorm(), len(labels), record, {**HP, "epochs": 1}, progress=False)
    return {k: v.detach().clone() for k, v in model.state_dict().items()}, history, order


def worker(rank, world, port, out, checkpoint, stop_after):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    torch.set_num_threads(1)
    try:
        torch.save(train(checkpoint, stop_after), f"{out}.{rank}")
    except KeyboardInterrupt:
        pass
    finally:
        dist.destroy_process_group()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_world(tmp_path, name, world=2, checkpoint=None, stop_after=None):
    out = tmp_path / name
    mp.spawn(worker, args=(world, free_port(), str(out), checkpoint, stop_after), nprocs=world)
    return [torch.load(f"{out}.{r}", weights_only=False) for r in range(world)] if stop_after is None else None


def test_two_processes_draw_the_same_global_batches_and_reach_the_same_parameters(tmp_path):
    single_params, single_history, single_order = train()
    ranks = run_world(tmp_path, "two")
    (params0, history0, order0), (params1, _, order1) = ranks
    for step, idx in enumerate(single_order):  # rank 0 holds the first half of each global batch, rank 1 the rest
        assert torch.equal(torch.cat([order0[step], order1[step]]), idx)
    for name, value in single_params.items():
        assert torch.equal(params0[name], params1[name])  # DDP keeps the replicas identical
        torch.testing.assert_close(params0[name], value, rtol=1e-4, atol=1e-5)
    for mine, theirs in zip(history0, single_history):  # counts summed over processes: the same epoch records
        assert mine["train_acc"] == theirs["train_acc"]
        assert mine["loss"] == pytest.approx(theirs["loss"], rel=1e-5)


def test_an_interrupted_two_process_run_resumes_on_the_same_loss_curve(tmp_path):
    (params, history, _), _ = run_world(tmp_path, "whole")
    checkpoint = tmp_path / "checkpoint.pt"
    run_world(tmp_path, "cut", checkpoint=str(checkpoint), stop_after=2)
    assert len(torch.load(checkpoint, weights_only=False)["history"]) == 2  # rank 0 wrote it, atomically
    (resumed_params, resumed_history, _), _ = run_world(tmp_path, "resumed", checkpoint=str(checkpoint))
    assert [r["loss"] for r in resumed_history] == [r["loss"] for r in history]
    for name, value in params.items():
        assert torch.equal(resumed_params[name], value)


def test_a_batch_that_does_not_split_over_the_processes_is_refused(tmp_path):
    with pytest.raises(Exception, match="does not split over 3 processes"):
        mp.spawn(_uneven, args=(free_port(),), nprocs=3)


def _uneven(rank, port):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=3)
    try:
        images, labels = data()
        train_classifier(NoNorm(), images, labels, HP, progress=False)
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_torchrun_pretrains_a_preset_run_on_two_cpu_processes(tmp_path):
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-port",
               str(free_port()), "-m", "nml_tutorial", "pretrain", "--preset", TINY_PRESET, "--noise", "0.3", "--cache",
               str(tmp_path), "--device", "cpu", "--no-progress"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    assert "trained:" in done.stdout and "2 process(es), 2 epochs" in done.stdout
    folders = [p for p in (tmp_path / "pretrain").iterdir() if p.is_dir()]  # beside them: each run's lock file
    assert len(folders) == 1 and not (folders[0] / "checkpoint.pt").exists()
    config = json.loads((folders[0] / "config.json").read_text())
    assert config["noise_ratio"] == 0.3 and (folders[0] / "model.pt").is_file()
