"""Presets: typed and frozen, changed only through checked overrides, answering for their own run configs."""

import dataclasses
import json

import pytest

from nml_tutorial.config import HEAD_DEFAULTS, STUDY_HEAD_DEFAULTS
from nml_tutorial.presets import Preset, get_preset, thaw, write_preset
from nml_tutorial.sweep import run_sweep

from miniatures import TINY_PRESET


def test_a_preset_cannot_be_changed_in_place():
    preset = get_preset("quick")
    with pytest.raises(dataclasses.FrozenInstanceError):
        preset.seeds = (1,)
    with pytest.raises(TypeError):
        preset.pretrain["epochs"] = 40
    with pytest.raises(TypeError):
        preset.pretrain["data"]["classes"] = [0]
    config = preset.run_config(0.1, 0)
    config["data"]["classes"].append(99)  # a run config is the caller's own copy
    assert 99 not in preset.pretrain["data"]["classes"]


def test_overrides_are_checked_merged_into_pretraining_and_none_changes_nothing():
    quick = get_preset("quick")
    longer = quick.override(pretrain={"epochs": 40}, seeds=[3, 4], methods=None)
    assert longer.pretrain["epochs"] == 40 and longer.pretrain["width"] == quick.pretrain["width"]
    assert longer.seeds == (3, 4) and longer.methods == quick.methods and quick.pretrain["epochs"] == 15
    with pytest.raises(ValueError, match=r"unknown preset keys \['epochs'\].*known: \[.*'noise_ratios'"):
        quick.override(epochs=3)
    with pytest.raises(ValueError, match=r"unknown methods \['svm'\]"):
        quick.override(methods=["svm"])
    with pytest.raises(ValueError, match=r"unknown protocols \['mine'\]"):
        get_preset("quick", protocols=["mine"])
    with pytest.raises(ValueError, match="zero_shot needs a text encoder"):
        get_preset("quick", methods=["zero_shot"])


def test_run_config_fills_noise_seed_and_the_label_file_of_each_run():
    preset = get_preset("quick", noise_type="file", pretrain_data={
        "name": "memmap", "root": "data", "noisy_labels": "noisy/symmetric_{ratio:g}_seed{seed}.npy"})
    config = preset.run_config(0.05, 2)
    assert (config["noise_type"], config["noise_ratio"], config["seed"]) == ("file", 0.05, 2)
    assert config["data"]["noisy_labels"] == "noisy/symmetric_0.05_seed2.npy"
    assert preset.probe_source == thaw(get_preset("quick").pretrain["data"])  # probe tasks keep the synthetic data


def test_methods_per_task_and_settings_per_protocol():
    preset = get_preset("quick")
    assert preset.methods_for("downstream_classes") == ["linear_probe", "linear_head", "mlp_head", "nmtune"]
    assert preset.methods_for("digits") == ["linear_probe"]
    clip = get_preset("quick", "clip")
    assert "zero_shot" in clip.methods_for("downstream_classes") and "zero_shot" not in clip.methods_for("digits")
    assert preset.settings("study")["head_hp"] == STUDY_HEAD_DEFAULTS
    tuned = preset.override(head_hp={"epochs": 3}).settings("tuned")
    assert tuned["head_hp"] == {**HEAD_DEFAULTS, "epochs": 3}
    with pytest.raises(ValueError, match="unknown protocol 'studdy'"):
        preset.settings("studdy")


def test_a_preset_file_reads_back_as_the_preset_it_was_written_from(tmp_path):
    preset = get_preset("extended", seeds=[5])
    path = write_preset(preset, tmp_path / "mine.json")
    assert get_preset(path) == dataclasses.replace(preset, name="mine")
    assert get_preset(TINY_PRESET, "clip").pretrain["epochs"] == 2  # a file may carry a clip section too
    (tmp_path / "typo.json").write_text(json.dumps({**json.loads(path.read_text()), "seedz": [1]}))
    with pytest.raises(ValueError, match=r"unknown preset keys \['seedz'\] in .*typo.json"):
        get_preset(tmp_path / "typo.json")
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(ValueError, match="not valid JSON.*fix it"):
        get_preset(tmp_path / "broken.json")
    with pytest.raises(FileNotFoundError, match="no preset file at .*give a preset name"):
        get_preset(tmp_path / "missing.json")


def test_a_given_preset_takes_the_same_overrides_and_refuses_another_objective():
    preset = get_preset("quick")
    assert isinstance(preset, Preset)
    assert get_preset(preset, arch="resnet18").pretrain["arch"] == "resnet18"
    with pytest.raises(ValueError, match="unknown arch 'resnet19'"):
        get_preset(preset, arch="resnet19")
    with pytest.raises(ValueError, match="is for objective 'supervised', not 'clip'.*get_preset\\('quick', 'clip'\\)"):
        run_sweep(preset, objective="clip")


def test_a_frozen_preset_still_travels_like_a_dict():
    """Pickled, copied and hashed as any value; its settings spread into a config give that config's run key."""
    import copy
    import pickle

    from nml_tutorial.config import PRETRAIN_DEFAULTS
    from nml_tutorial.pretrain import run_key

    preset = get_preset("quick")
    assert pickle.loads(pickle.dumps(preset)) == preset == copy.deepcopy(preset)
    assert hash(preset) == hash(get_preset("quick"))
    spread = {**PRETRAIN_DEFAULTS, **preset.pretrain, "noise_ratio": 0.1, "seed": 0}
    assert run_key(spread) == run_key({**PRETRAIN_DEFAULTS, **preset.run_config(0.1, 0)})
    with pytest.raises(TypeError, match=r"preset is frozen.*preset.override"):
        preset.pretrain["data"]["seed"] = 1


def test_a_clip_preset_file_keeps_its_objective_and_data_is_given_once(tmp_path):
    path = write_preset(get_preset("quick", "clip"), tmp_path / "clip.json")
    assert get_preset(path).objective == "clip" and get_preset(path, "clip") == get_preset(path)
    with pytest.raises(ValueError, match="is for objective 'clip' and has no 'supervised' settings"):
        get_preset(path, "supervised")
    with pytest.raises(ValueError, match="given twice"):
        get_preset("quick", pretrain_data={"name": "memmap", "root": "a"}, pretrain={"data": {"name": "memmap"}})
    with pytest.raises(ValueError, match="pre-training data .* needs a 'name'"):
        get_preset("quick").override(pretrain={"data": {"root": "a"}})
