"""The training scaffold: checkpoints inside an epoch resume to an uninterrupted run's weights."""

import pytest
import torch

from nml_tutorial.models import build_model
from nml_tutorial.training import checkpoint_steps, train_classifier


class Interrupt(Exception):
    pass


def _data():
    g = torch.Generator().manual_seed(0)
    return torch.randint(0, 256, (96, 3, 12, 12), dtype=torch.uint8, generator=g), torch.arange(96) % 3


def _train(checkpoint=None, stop_at_step=None):
    """Two epochs of 6 steps with augmentation; ``stop_at_step`` interrupts after that many optimiser steps."""
    images, labels = _data()
    torch.manual_seed(0)
    model = build_model("resnet_small", 3, width=8)
    steps = []
    if stop_at_step is not None:  # count the optimiser's steps through its schedule hook
        original = torch.optim.SGD.step

        def counted(self, *args, **kwargs):
            out = original(self, *args, **kwargs)
            steps.append(1)
            if len(steps) == stop_at_step:
                raise Interrupt
            return out

        torch.optim.SGD.step = counted
    try:
        history = train_classifier(model, images, labels, {"epochs": 2, "batch_size": 16, "amp": "fp32"},
                                   checkpoint_path=checkpoint, progress=False)
    finally:
        if stop_at_step is not None:
            torch.optim.SGD.step = original
    return model, history


@pytest.mark.parametrize("stop_at_step", [4, 9])  # inside the first epoch; inside the second
def test_a_run_interrupted_inside_an_epoch_resumes_to_the_uninterrupted_weights(tmp_path, monkeypatch,
                                                                                  stop_at_step):
    whole, whole_history = _train()
    monkeypatch.setenv("NML_CHECKPOINT_STEPS", "2")
    checkpoint = tmp_path / "checkpoint.pt"
    with pytest.raises(Interrupt):
        _train(checkpoint, stop_at_step)
    saved = torch.load(checkpoint, weights_only=False)
    assert saved["within"]["step"] == (stop_at_step - 1) // 2 * 2 - 6 * len(saved["history"])  # last even step
    resumed, resumed_history = _train(checkpoint)
    assert resumed_history == whole_history  # the same epoch records, counts summed across the interruption
    for (name, a), b in zip(whole.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), name


def test_checkpoint_steps_come_from_the_argument_or_the_environment(monkeypatch):
    assert checkpoint_steps() is None and checkpoint_steps(50) == 50
    monkeypatch.setenv("NML_CHECKPOINT_STEPS", "1000")
    assert checkpoint_steps() == 1000
    monkeypatch.setenv("NML_CHECKPOINT_STEPS", "0")
    with pytest.raises(ValueError, match="positive whole number"):
        checkpoint_steps()
