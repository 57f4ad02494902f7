"""The full-scale path on miniature data: another architecture, a memmap dataset with noisy-label files, probe
tasks on data from disk, open_clip's full-size configs and image-text pairs through the CLIP loop."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from nml_tutorial.cli import main
from nml_tutorial.data.classes import imagenet_wnids, variant_classes
from nml_tutorial.data.imagenet import folder_files
from nml_tutorial.data.label_files import write_noisy_labels
from nml_tutorial.data.memmap import write_memmap
from nml_tutorial.presets import get_preset
from nml_tutorial.pretrain import pretrain_clip, pretraining_labels
from nml_tutorial.probe import top1
from nml_tutorial.results import read_table
from nml_tutorial.series import run_notebook
from nml_tutorial.sweep import run_sweep
from nml_tutorial.tasks import build_probe_tasks

import miniatures
from miniatures import TINY_PRESET

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


@pytest.fixture(scope="module")
def memmap_set(tmp_path_factory):
    """5 ImageNet classes x 12 images as a memmap dataset at 16 px, with flip-noise files at 0 and 30 %."""
    root = tmp_path_factory.mktemp("in5")
    miniatures.imagenet_folder(root / "train", imagenet_wnids()[:5], per_class=12, size=24)
    write_memmap(folder_files(root / "train"), root / "mm", image_size=16, progress=False)
    labels = np.load(root / "mm" / "labels.npy")
    for ratio in (0.0, 0.3):
        write_noisy_labels(labels, 5, ratio, "flip", 0, root / "mm" / "noisy")
    return root / "mm"


def test_cli_sweep_pretrains_resnet18_on_a_memmap_with_its_noisy_label_files(memmap_set, tmp_path):
    data = {"name": "memmap", "root": str(memmap_set), "noisy_labels": "noisy/flip_{ratio:g}_seed{seed}.npy"}
    code = main(["sweep", "--preset", TINY_PRESET, "--arch", "resnet18", "--pretrain-data", json.dumps(data),
                 "--noise-type", "file", "--methods", "linear_probe", "--protocols", "tuned", "--out",
                 str(tmp_path / "out"), "--cache", str(tmp_path / "cache"), "--no-progress", "--no-png"])
    assert code == 0
    table = pd.read_csv(tmp_path / "out" / "results.csv")
    assert sorted(table["noise_ratio"].unique()) == [0.0, 0.3] and set(table["arch"]) == {"resnet18"}
    configs = [json.loads(p.read_text()) for p in (tmp_path / "cache" / "pretrain").glob("*/config.json")]
    assert sorted(c["arch"] for c in configs) == ["resnet18", "resnet18"]
    noisy = next(c for c in configs if c["noise_ratio"] == 0.3)
    assert noisy["data"]["noisy_labels"] == "noisy/flip_0.3_seed0.npy"
    _, labels = pretraining_labels(noisy)
    assert int(labels.corrupted.sum()) == 18  # 30 % of 60, read from the file, not drawn
    history = torch.load(tmp_path / "cache" / "pretrain" / _key(tmp_path, 0.3) / "model.pt", weights_only=False)
    assert "noisy_fitted" in history["history"][-1]  # the loop saw which labels the file corrupted


def _key(tmp_path, ratio):
    return next(p.parent.name for p in (tmp_path / "cache" / "pretrain").glob("*/config.json")
                if json.loads(p.read_text())["noise_ratio"] == ratio)


def test_a_file_noise_type_without_a_label_file_says_how_to_give_one():
    config = get_preset(TINY_PRESET, noise_type="file").run_config(0.1, 0)
    with pytest.raises(ValueError, match="noisy-label file.*noisy_labels"):
        pretraining_labels(config)


def test_a_label_file_for_another_ratio_or_a_mismatched_noise_type_is_refused(memmap_set):
    data = {"name": "memmap", "root": str(memmap_set), "noisy_labels": "noisy/flip_0.3_seed0.npy"}  # no placeholder
    config = get_preset(TINY_PRESET, noise_type="file", pretrain_data=data).run_config(0.0, 0)
    with pytest.raises(ValueError, match="ratio 0.3, seed 0, but this run is ratio 0.0.*placeholders"):
        pretraining_labels(config)
    config = get_preset(TINY_PRESET, pretrain_data=data).run_config(0.3, 0)  # symmetric noise drawn, file ignored?
    with pytest.raises(ValueError, match="noise_type='file'"):
        pretraining_labels(config)
    with pytest.raises(ValueError, match="unknown noise_type 'flip'"):
        get_preset(TINY_PRESET, noise_type="flip")


def test_a_dataset_task_probes_on_data_from_disk(tmp_path):
    miniatures.cifar(tmp_path, "cifar10", per_class=3)
    cifar = {"name": "cifar10", "root": str(tmp_path), "image_size": 16}
    preset = get_preset(TINY_PRESET, tasks=["cifar10"], methods=["linear_probe", "nmtune"], method_tasks=["cifar10"],
                        noise_ratios=[0.0], protocols=["tuned"],
                        dataset_tasks={"cifar10": {"train": {**cifar, "split": "train"},
                                                   "tests": {"cifar10": {**cifar, "split": "test"}}}})
    table = run_sweep(preset, cache_dir=tmp_path / "cache", progress=False).table
    assert set(table["task"]) == {"cifar10"} and set(table["test_domain"]) == {"cifar10"}
    assert set(table["method"]) == {"linear_probe", "nmtune"}
    assert (table["n_test"] == 30).all() and ((table["accuracy"] * 30).round(6) % 1 == 0).all()
    with pytest.raises(ValueError, match="unknown tasks.*dataset_tasks"):
        get_preset(TINY_PRESET, tasks=["cifar100"])


@pytest.mark.slow
@pytest.mark.parametrize("name, dim", [("RN50", 1024), ("ViT-B-16", 512)])
def test_open_clip_full_size_configs_build_untrained_and_encode(name, dim):
    from nml_tutorial.clip import ClipModel, train_contrastive
    from nml_tutorial.features import extract

    model = ClipModel(name)
    assert model.feature_dim == dim
    images = torch.randint(0, 256, (4, 3, 224, 224), dtype=torch.uint8)
    feats = extract(model, images, amp="fp32")
    assert feats.shape == (4, dim) and torch.isfinite(feats).all()
    before = model.clip.visual.state_dict()
    before = {k: v.clone() for k, v in before.items()}
    tokens = model.tokenize(["a red circle", "two blue squares", "a sketch of a star", "three green triangles"])
    history = train_contrastive(model, images, tokens, {"epochs": 1, "batch_size": 4, "amp": "fp32"}, progress=False)
    assert len(history) == 1 and history[0]["loss"] > 0  # one step of the package's contrastive loop at 224 px
    assert any(not torch.equal(v, model.clip.visual.state_dict()[k]) for k, v in before.items())


def test_image_text_pairs_pretrain_a_clip_with_their_own_captions(tmp_path):
    miniatures.image_text(tmp_path / "pairs", count=12)
    config = {"data": {"name": "image_text", "root": str(tmp_path / "pairs"), "image_size": 32},
              "noise_ratio": 0.5, "epochs": 2, "batch_size": 4}
    run = pretrain_clip(config, cache_dir=tmp_path / "cache", progress=False)
    assert len(run.history) == 2 and run.history[-1]["noisy_fitted"] >= 0
    assert pretrain_clip(config, cache_dir=tmp_path / "cache", progress=False).source == "cache"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU: on a CPU the data are always resident")
def test_a_set_too_large_for_the_device_streams_batch_by_batch_with_the_same_result(monkeypatch):
    from nml_tutorial import training
    from nml_tutorial.models import build_model

    g = torch.Generator().manual_seed(0)
    images, labels = torch.randint(0, 256, (256, 3, 16, 16), dtype=torch.uint8, generator=g), torch.arange(256) % 4
    hp = {"epochs": 2, "batch_size": 64, "amp": "fp32"}
    histories = []
    for limit in ("40", "0"):  # resident on the GPU, then streamed from pinned host memory, one batch ahead
        monkeypatch.setenv("NML_RESIDENT_GB", limit)
        torch.manual_seed(0)
        histories.append(training.train_classifier(build_model("resnet_small", 4, width=8), images, labels, hp,
                                                   device="cuda", progress=False))
    assert [r["loss"] for r in histories[0]] == pytest.approx([r["loss"] for r in histories[1]], rel=1e-5)


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    """A data root as data_scripts/ lays it out, every dataset of the full-scale presets in its real format."""
    return miniatures.full_scale_root(tmp_path_factory.mktemp("data-root"))


def test_full_scale_presets_read_everything_from_one_data_root_and_score_r_and_a_at_their_classes(data_root):
    for name in ("imagenette", "imagenet100", "imagenet1k"):
        with pytest.raises(ValueError, match="data_root="):
            get_preset(name)
        preset = get_preset(name, data_root=data_root)
        roots = [preset.pretrain["data"]["root"]] + [spec["root"] for task in preset.dataset_tasks.values()
                                                     for spec in [task["train"], *task["tests"].values()]]
        assert all(root.startswith(str(data_root.resolve()) + "/") for root in roots), roots
        assert (preset.pretrain["arch"], preset.noise_type, preset.lesson_task) == ("resnet50", "file", "domainnet")
    with pytest.raises(FileNotFoundError, match="no data root"):
        get_preset("imagenette", data_root=data_root / "absent")
    with pytest.raises(ValueError, match="reads no data from disk"):
        get_preset("quick", data_root=data_root)
    preset = get_preset(str(miniatures.full_scale_preset_file(data_root.parent / "tiny.json")), data_root=data_root,
                        tasks=["imagenet_variants"])
    task = build_probe_tasks(preset, "cpu", seed=0)[0]
    assert task.id_test == "imagenet" and task.columns["imagenet"] is None
    assert task.columns["imagenet_sketch"] is not None  # 1,000 classes named, the five trained on kept
    r_wnids, _ = variant_classes("imagenet_r")
    train, r = task.train.class_names, task.tests["imagenet_r"]  # R holds four of the five trained on, not tench
    assert [train[c] for c in task.columns["imagenet_r"].tolist()] == r.class_names
    assert r.class_names == sorted(set(train) & set(r_wnids)) and "n01440764" not in r.class_names
    logits = torch.zeros(len(r), len(train))
    logits[:, train.index("n01440764")] = 2.0  # the largest logit at a class R does not hold: never predicted
    logits[torch.arange(len(r)), task.columns["imagenet_r"][r.labels]] = 1.0
    assert (logits.argmax(1) == train.index("n01440764")).all()  # read at every column, tench would win
    assert top1(logits, r.labels, task.columns["imagenet_r"]) == 1.0


@pytest.mark.slow
def test_notebooks_run_unchanged_at_full_scale_on_a_fabricated_data_root(data_root, tmp_path):
    """Notebooks 00, 03, 04 and 05 with PRESET and DATA_ROOT only (the full-scale preset with its schedule cut to
    seconds): every dataset read from disk, the claims judged exploratory."""
    preset = miniatures.full_scale_preset_file(tmp_path / "imagenette-tiny.json")
    common = {"PRESET": str(preset), "DATA_ROOT": str(data_root), "NOISE_RATIOS": [0.0, 0.05, 0.3]}
    for name in ("00_quickstart", "03_id_ood", "04_spectrum", "05_nmtune"):
        parameters = {**common, **({"UMAP_POINTS": 24} if name == "04_spectrum" else {})}
        result = run_notebook(NOTEBOOKS / f"{name}.ipynb", tmp_path / "out", tmp_path / "cache", parameters)
        assert result.status == "ok", result.error
    table = read_table(tmp_path / "out" / "figures" / "00_results.csv")
    shifts = table.groupby(["task", "test_domain"])["shift"].first().to_dict()
    assert shifts == {("cifar10", "cifar10"): "id", ("cifar100", "cifar100"): "id", ("domainnet", "real"): "id",
                      **{("domainnet", d): "ood" for d in ("sketch", "painting", "clipart")},
                      ("imagenet_variants", "imagenet"): "id",
                      **{("imagenet_variants", v): "ood" for v in ("imagenet_v2", "imagenet_sketch", "imagenet_r",
                                                                   "imagenet_a")}}
    claims_table = read_table(tmp_path / "out" / "figures" / "00_claims.csv")
    assert set(claims_table["role"]) == {"exploratory"}
    assert {"cifar10", "cifar100", "domainnet", "imagenet_variants"} == set(
        claims_table[(claims_table["claim"] == "C1") & claims_table["primary"]]["task"])
