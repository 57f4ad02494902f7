"""The model zoo: every shipped file is listed with its checksum, served only when asked, and reproducible."""

import shutil

import pytest
import torch

import nml_tutorial.pretrain as pretrain_module
from nml_tutorial import zoo
from nml_tutorial.presets import get_preset
from nml_tutorial.pretrain import pretrain_supervised

RUNS = zoo.manifest()["runs"]


def test_zoo_holds_exactly_the_listed_runs_with_matching_checksums():
    assert sorted((r["objective"], r["noise_ratio"]) for r in RUNS) == sorted(
        (objective, ratio) for objective, ratios in zoo.RUNS.items() for ratio in ratios)
    listed = {name for run in RUNS for name in run["files"]}
    on_disk = {str(p.relative_to(zoo.ZOO_DIR)) for p in zoo.ZOO_DIR.rglob("*") if p.is_file()} - {zoo.MANIFEST}
    assert on_disk == listed
    for run in RUNS:
        assert zoo.find(run["kind"], run["key"]) == zoo.ZOO_DIR / run["kind"] / run["key"]
        assert all(zoo.sha256(zoo.ZOO_DIR / name) == digest for name, digest in run["files"].items())


def test_the_zoo_was_built_by_the_code_as_it_is(tmp_path, monkeypatch):
    """Run keys hash the training code, so a change to it makes the shipped runs unreachable: rebuild them."""
    stale = "the training code changed since the zoo was built: run `nml-tutorial zoo build`, commit nml_tutorial/zoo"
    monkeypatch.setattr(pretrain_module, "train_classifier", lambda *a, **k: pytest.fail(stale))
    monkeypatch.setattr(pretrain_module, "train_contrastive", lambda *a, **k: pytest.fail(stale))
    for objective, ratios in zoo.RUNS.items():
        pretrain = pretrain_module.pretrain_clip if objective == "clip" else pretrain_supervised
        for ratio in ratios:
            run = pretrain(get_preset("quick", objective).run_config(ratio, 0), cache_dir=tmp_path, progress=False,
                           zoo=True)
            assert run.source == "zoo"


def test_zoo_is_used_only_when_asked(tmp_path, monkeypatch):
    monkeypatch.setattr(pretrain_module, "train_classifier", lambda *a, **k: pytest.fail("trained"))
    run = pretrain_supervised({"noise_ratio": 0.1}, cache_dir=tmp_path, progress=False, zoo=True)
    assert run.source == "zoo" and run.config["amp"] == "fp32" and len(run.history) == run.config["epochs"]
    copied = [p for p in (tmp_path / "pretrain").glob("*") if p.suffix != ".lock"]  # the lock alone is made
    assert not copied  # the zoo is read in place, nothing is copied into the cache
    with pytest.raises(pytest.fail.Exception, match="trained"):
        pretrain_supervised({"noise_ratio": 0.1}, cache_dir=tmp_path, progress=False, zoo=False)
    with pytest.raises(pytest.fail.Exception, match="trained"):  # a config the zoo does not hold trains
        pretrain_supervised({"noise_ratio": 0.2}, cache_dir=tmp_path, progress=False, zoo=True)


def test_a_corrupted_zoo_file_is_detected(tmp_path):
    copy = tmp_path / "zoo"
    shutil.copytree(zoo.ZOO_DIR, copy)
    run = RUNS[0]
    name = next(iter(run["files"]))
    data = bytearray((copy / name).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (copy / name).write_bytes(bytes(data))
    with pytest.raises(RuntimeError, match="corrupted.*RETRAIN = True"):
        zoo.find(run["kind"], run["key"], zoo_dir=copy)


@pytest.mark.slow
def test_retraining_a_zoo_model_here_matches_the_shipped_one(tmp_path):
    """The zoo is what the package's own code trains: retrain the 30 %-noise run and compare.

    Where this CPU rounds as the zoo's did (the first epoch's loss equal to the last bit) the weights must be
    bit-identical. Another CPU's fp32 kernels round differently from the first step on, and 15 epochs of SGD carry
    that into another model: on an AMD EPYC (AVX512 +bf16) the retrained model agreed with the shipped one on 55 %
    of held-out images, a model of another seed on 35 % (2026-12-01). There the check is that training started from
    the same data, noise and initial weights (first-epoch loss within 1e-3) and ended in the same place (final
    training accuracy within 3 points; measured 1.4 points apart, seeds 0 and 1 0.7).
    """
    config = get_preset("quick").run_config(0.3, 0)
    shipped = pretrain_supervised(config, cache_dir=tmp_path / "unused", progress=False, zoo=True)
    fresh = pretrain_supervised(config, cache_dir=tmp_path, progress=False, zoo=False)
    assert shipped.source == "zoo" and fresh.source == "trained" and fresh.key == shipped.key
    first, last = (fresh.history[0], shipped.history[0]), (fresh.history[-1], shipped.history[-1])
    images = load_probe_images()
    with torch.no_grad():
        agree = (fresh.model(images).argmax(1) == shipped.model(images).argmax(1)).float().mean().item()
    identical = all(torch.equal(a, b) for a, b in zip(fresh.model.state_dict().values(),
                                                      shipped.model.state_dict().values()))
    same_rounding = first[0]["loss"] == first[1]["loss"]
    print(f"retrained zoo model: first-epoch loss {first[0]['loss']!r} vs shipped {first[1]['loss']!r}; predictions "
          f"agree on {agree:.1%}; weights bit-identical: {identical}")
    if same_rounding:
        assert identical, "this CPU computes the zoo's first epoch to the last bit, so the weights must match"
    assert abs(first[0]["loss"] - first[1]["loss"]) < 1e-3 * first[1]["loss"]  # same data, noise, model, init
    assert abs(last[0]["train_acc"] - last[1]["train_acc"]) < 0.03


def load_probe_images():
    from nml_tutorial.data import load_dataset

    return load_dataset("synthetic", split="test", classes=list(range(40)), samples_per_class=10).images
