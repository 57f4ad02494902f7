"""Precision by capability: bf16 autocast only where the hardware computes it natively, recorded in every run."""

import pytest
import torch

from nml_tutorial import runtime
from nml_tutorial.models import build_model
from nml_tutorial.pretrain import pretrain_supervised, train_classifier

TINY = {"data": {"name": "synthetic", "split": "train", "domain": "photo", "num_classes": 4, "classes": [0, 1],
                 "samples_per_class": 8, "image_size": 16, "seed": 0},
        "width": 8, "epochs": 1, "batch_size": 8}


def cpu_with(monkeypatch, avx512_bf16: bool, amx: bool):
    monkeypatch.delenv(runtime.PRECISION_ENV, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)


@pytest.mark.parametrize("avx512_bf16, amx, expected", [(False, False, "fp32"), (True, False, "bf16"),
                                                        (False, True, "bf16")])
def test_auto_uses_bf16_only_on_cpus_that_compute_it_natively(monkeypatch, avx512_bf16, amx, expected):
    cpu_with(monkeypatch, avx512_bf16, amx)
    assert runtime.resolve_precision("auto", "cpu") == expected
    assert runtime.cpu_capability().endswith(" +bf16") == (expected == "bf16")


@pytest.mark.parametrize("native, expected", [(True, "bf16"), (False, "fp32")])
def test_auto_on_cuda_uses_bf16_only_where_the_gpu_computes_it_natively(monkeypatch, native, expected):
    """torch.cuda.is_bf16_supported() answers True on GPUs that only emulate bf16 (before Ampere), where autocast
    is slower than fp32: a GPU like that (``native=False``) must train in fp32."""
    monkeypatch.delenv(runtime.PRECISION_ENV, raising=False)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: native or including_emulation)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)  # a machine with one GPU
    assert runtime.resolve_precision("auto", "cuda") == expected


def test_explicit_precision_and_the_environment_override(monkeypatch):
    cpu_with(monkeypatch, avx512_bf16=True, amx=False)
    assert runtime.resolve_precision("fp32", "cpu") == "fp32"
    monkeypatch.setenv(runtime.PRECISION_ENV, "fp32")
    assert runtime.resolve_precision("auto", "cpu") == "fp32"
    assert runtime.resolve_precision("bf16", "cpu") == "bf16"  # an explicit choice wins over the variable
    monkeypatch.setenv(runtime.PRECISION_ENV, "half")
    with pytest.raises(ValueError, match="NML_PRECISION='half'.*'bf16' or 'fp32'"):
        runtime.resolve_precision("auto", "cpu")


@pytest.mark.parametrize("bad", [True, "fp16", None])
def test_unknown_precision_is_a_clear_error(bad):
    with pytest.raises(ValueError, match="unknown precision.*choose one of"):
        runtime.resolve_precision(bad)


@pytest.mark.parametrize("native, expected", [(False, "fp32"), (True, "bf16")])
def test_run_config_records_the_resolved_precision(tmp_path, monkeypatch, native, expected):
    cpu_with(monkeypatch, avx512_bf16=native, amx=False)
    run = pretrain_supervised({**TINY, "amp": "auto"}, cache_dir=tmp_path, progress=False)
    assert run.config["amp"] == expected
    other = pretrain_supervised({**TINY, "amp": "fp32" if native else "bf16"}, cache_dir=tmp_path, progress=False)
    assert other.key != run.key  # a different precision is a different model


def test_training_runs_under_the_resolved_autocast(monkeypatch):
    seen = []
    model = build_model("resnet_small", 2, width=8)
    model.features = lambda x, f=model.features: seen.append(torch.is_autocast_enabled("cpu")) or f(x)
    images, labels = torch.zeros(8, 3, 8, 8, dtype=torch.uint8), torch.tensor([0, 1] * 4)
    for precision, autocast_on in (("fp32", False), ("bf16", True)):
        seen.clear()
        train_classifier(model, images, labels, {"epochs": 1, "batch_size": 8, "amp": precision}, progress=False)
        assert seen == [autocast_on]
