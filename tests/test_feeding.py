"""Feeding the device: streamed batches (gathered ahead in a thread) train exactly as resident ones."""

import threading

import pytest
import torch

from nml_tutorial.feeding import Feeder, resident_bytes
from nml_tutorial.models import build_model
from nml_tutorial.training import train_classifier


def test_the_resident_limit_is_a_setting_or_free_device_memory(monkeypatch):
    monkeypatch.delenv("NML_RESIDENT_GB", raising=False)
    assert resident_bytes("cpu") is None  # host memory: the images stay where they are
    monkeypatch.setenv("NML_RESIDENT_GB", "1.5")
    assert resident_bytes("cpu") == int(1.5 * 2**30)
    monkeypatch.setenv("NML_RESIDENT_GB", "lots")
    with pytest.raises(ValueError, match="not a number of GiB"):
        resident_bytes("cpu")


def test_a_feeder_streams_when_told_and_gathers_the_next_batch_ahead(monkeypatch):
    images = torch.arange(20 * 3 * 2 * 2, dtype=torch.uint8).reshape(20, 3, 2, 2)
    monkeypatch.setenv("NML_RESIDENT_GB", "0")
    feeder = Feeder(images, "cpu")
    assert feeder.streams
    gathered = []
    original = feeder._gather
    monkeypatch.setattr(feeder, "_gather", lambda idx: gathered.append(idx.tolist()) or original(idx))
    feeder.ahead(torch.tensor([3, 1]))
    assert torch.equal(feeder(torch.tensor([3, 1])), images[[3, 1]]) and gathered == [[3, 1]]  # read once, ahead
    assert torch.equal(feeder(torch.tensor([5])), images[[5]]) and gathered[-1] == [5]  # not ahead: read now
    feeder.close()
    monkeypatch.delenv("NML_RESIDENT_GB")
    assert not Feeder(images, "cpu").streams


def test_streamed_training_equals_resident_training_and_reads_every_batch_ahead_once(monkeypatch):
    g = torch.Generator().manual_seed(0)
    images, labels = torch.randint(0, 256, (64, 3, 12, 12), dtype=torch.uint8, generator=g), torch.arange(64) % 4
    readers, original = [], Feeder._gather
    monkeypatch.setattr(Feeder, "_gather", lambda self, idx: readers.append(threading.current_thread().name)
                        or original(self, idx))
    results = []
    for setting in (None, "0"):  # resident, then every batch gathered in host memory one step ahead
        if setting is None:
            monkeypatch.delenv("NML_RESIDENT_GB", raising=False)
        else:
            monkeypatch.setenv("NML_RESIDENT_GB", setting)
        torch.manual_seed(0)
        model = build_model("resnet_small", 4, width=8)
        history = train_classifier(model, images, labels, {"epochs": 2, "batch_size": 16, "amp": "fp32"},
                                   progress=False)
        results.append((history, model.state_dict()))
    assert results[0][0] == results[1][0]
    assert len(readers) == 2 * 4 and all(name.startswith("nml-feeder") for name in readers)  # 2 epochs of 4 steps
    for name, value in results[0][1].items():
        assert torch.equal(value, results[1][1][name]), name
