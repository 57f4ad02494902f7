import open_clip
import pytest
import torch

from nml_tutorial import training
from nml_tutorial.clip import CLIP_MODELS, ClipModel, load_clip, save_clip, train_contrastive, zero_shot_accuracy
from nml_tutorial.data import load_dataset
from nml_tutorial.data.captions import class_captions, synthetic_captions
from nml_tutorial.features import extract
from nml_tutorial.presets import get_preset
from nml_tutorial.pretrain import pretrain_clip
from nml_tutorial.sweep import run_sweep

from miniatures import TINY_PRESET

TOY = {"name": "synthetic", "num_classes": 60, "classes": [2, 7], "samples_per_class": 96, "image_size": 32}


def test_tiny_models_are_registered_with_open_clip_and_built_offline():
    for name in CLIP_MODELS:
        model = ClipModel(name)
        assert name in open_clip.list_models()
        assert model.features(torch.zeros(2, 3, 32, 32, dtype=torch.uint8)).shape == (2, model.feature_dim)
    with pytest.raises(ValueError, match="unknown CLIP model"):
        ClipModel("ViT-H-14-huge")


def test_captions_carry_class_and_attributes_and_depend_only_on_seed():
    data = load_dataset("synthetic", classes=[0, 1], samples_per_class=20)
    captions = synthetic_captions(data, seed=3)
    assert captions == synthetic_captions(data, seed=3) and captions != synthetic_captions(data, seed=4)
    for caption, label in zip(captions, data.labels.tolist()):
        name = data.class_names[label]
        assert name.split()[-1].rstrip("s") in caption  # the shape is always named
    assert any(word in " ".join(captions) for word in ("left", "right", "middle", "top", "bottom"))
    assert len(set(captions)) > 20
    digits = load_dataset("digits", split="test")
    assert class_captions(digits)[0].count(digits.class_names[digits.labels[0]]) == 1
    with pytest.raises(ValueError, match="attributes"):
        synthetic_captions(digits)


def _toy_clip(epochs):
    data = load_dataset(**TOY, split="train")
    torch.manual_seed(0)
    model = ClipModel("nml-tiny-rn")
    tokens = model.tokenize([f"a photo of {data.class_names[y]}." for y in data.labels.tolist()])
    history = train_contrastive(model, data.images, tokens, {"epochs": epochs, "batch_size": 32, "lr": 2e-3},
                                progress=False)
    return model, history


def test_tiny_clip_loss_falls_and_zero_shot_beats_chance_on_a_two_class_toy():
    model, history = _toy_clip(epochs=30)
    assert history[-1]["loss"] < history[0]["loss"] - 0.3
    test = load_dataset(**{**TOY, "samples_per_class": 100}, split="test")
    accuracy = zero_shot_accuracy(model, extract(model, test.images), test.labels, test.class_names)
    assert accuracy > 0.8, f"zero-shot {accuracy:.2f} on two classes whose captions name them (chance 0.5)"


def test_saved_clip_reloads_through_open_clip_with_equal_weights(tmp_path):
    model = ClipModel("nml-tiny-vit")
    folder = save_clip(model, tmp_path / "tiny")
    clip, _, preprocess = open_clip.create_model_and_transforms(f"local-dir:{folder}")
    for key, value in model.clip.state_dict().items():
        assert torch.equal(value, clip.state_dict()[key]), key
    again = load_clip(folder)
    x = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)
    assert torch.allclose(again.features(x), model.eval().features(x))
    with pytest.raises(FileNotFoundError, match="save_clip"):
        load_clip(tmp_path / "missing")


def test_pretrain_clip_caches_swaps_captions_and_resumes(tmp_path, monkeypatch):
    config = {"data": {**TOY, "split": "train", "domain": "photo", "seed": 0, "samples_per_class": 32},
              "noise_ratio": 0.25, "epochs": 2, "batch_size": 16}
    run = pretrain_clip(config, cache_dir=tmp_path / "whole", progress=False)
    assert run.objective == "clip" and len(run.history) == 2
    # 64 pairs, a quarter of them swapped: every batch of 16 is seen once an epoch (64 / 16 steps), so the rate is
    # a count over the 16 swapped pairs
    fitted = run.history[-1]["noisy_fitted"] * 16
    assert abs(fitted - round(fitted)) < 1e-6
    again = pretrain_clip(config, cache_dir=tmp_path / "whole", progress=False)
    x = torch.randint(0, 256, (3, 3, 32, 32), dtype=torch.uint8)
    assert again.key == run.key and torch.equal(again.model.features(x), run.model.features(x))

    save = training._checkpoint

    def save_then_stop(*args):  # the run is killed right after its first checkpoint
        save(*args)
        raise KeyboardInterrupt

    monkeypatch.setattr(training, "_checkpoint", save_then_stop)
    with pytest.raises(KeyboardInterrupt):
        pretrain_clip(config, cache_dir=tmp_path / "cut", progress=False)
    monkeypatch.setattr(training, "_checkpoint", save)
    resumed = pretrain_clip(config, cache_dir=tmp_path / "cut", progress=False)
    assert [h["loss"] for h in resumed.history] == [h["loss"] for h in run.history]
    assert torch.equal(resumed.model.features(x), run.model.features(x))


def test_clip_sweep_writes_zero_shot_and_probe_rows(tmp_path):
    table = run_sweep(TINY_PRESET, objective="clip", cache_dir=tmp_path, progress=False).table
    assert set(table["objective"]) == {"clip"} and set(table["noise_type"]) == {"caption"}
    assert {"zero_shot", "linear_probe", "nmtune"} <= set(table["method"])
    assert table["sve"].notna().all()
    correct = table["accuracy"] * table["n_test"]  # accuracies are counts of correct test images over n_test
    assert ((correct - correct.round()).abs() < 1e-4).all()
    assert set(table.loc[table["method"] == "zero_shot", "task"]) <= {"downstream_classes", "pretrain_classes"}
    with pytest.raises(ValueError, match="zero_shot needs a text encoder"):
        get_preset("quick", methods=["zero_shot"])
