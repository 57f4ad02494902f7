"""Cache keys: data identified by content, not by where it lies or when it was touched."""

import os
import shutil

import numpy as np
import pytest

from nml_tutorial.cache import config_key
from nml_tutorial.data.classes import imagenet_wnids
from nml_tutorial.data.imagenet import folder_files
from nml_tutorial.data.label_files import write_noisy_labels
from nml_tutorial.data.memmap import write_memmap
from nml_tutorial.presets import get_preset
from nml_tutorial.pretrain import pretrain_supervised

import miniatures
from miniatures import TINY_PRESET


@pytest.fixture()
def memmap_set(tmp_path):
    """4 ImageNet classes x 6 images as a memmap at 16 px with a 30 % flip-noise file in ``noisy/``."""
    miniatures.imagenet_folder(tmp_path / "train", imagenet_wnids()[:4], per_class=6, size=24)
    write_memmap(folder_files(tmp_path / "train"), tmp_path / "mm", image_size=16, progress=False)
    write_noisy_labels(np.load(tmp_path / "mm" / "labels.npy"), 4, 0.3, "flip", 0, tmp_path / "mm" / "noisy")
    return tmp_path / "mm"


def _key(root):
    return config_key({"data": {"name": "memmap", "root": str(root), "noisy_labels": "noisy/flip_0.3_seed0.npy"}})


def test_a_memmap_keeps_its_key_when_copied_touched_or_given_another_noisy_file(memmap_set, tmp_path):
    before = _key(memmap_set)
    copy = shutil.copytree(memmap_set, tmp_path / "scratch" / "mm")  # a node's local disk: new path, new mtimes
    assert _key(copy) == before
    write_noisy_labels(np.load(copy / "labels.npy"), 4, 0.1, "flip", 0, copy / "noisy")  # another ratio beside it
    os.utime(copy / "images.npy")
    assert _key(copy) == before
    (copy / "noisy" / "flip_0.3_seed0.npy").write_bytes((copy / "noisy" / "flip_0.1_seed0.npy").read_bytes())
    assert _key(copy) != before  # the label file the run reads has other content


def test_a_folder_is_known_by_its_files_and_sizes_not_its_path_times_or_derived_labels(tmp_path):
    miniatures.imagenet_folder(tmp_path / "a", imagenet_wnids()[:2], per_class=2, size=24)

    def key(root):
        return config_key({"data": {"name": "image_folder", "root": str(root)}})

    before = key(tmp_path / "a")
    copy = shutil.copytree(tmp_path / "a", tmp_path / "b")
    (copy / "noisy").mkdir()
    (copy / "noisy" / "symmetric_0.1_seed0.npy").write_bytes(b"derived")
    assert key(copy) == before
    image = next((copy / imagenet_wnids()[0]).iterdir())
    rebuilt = image.with_suffix(".tmp")
    rebuilt.write_bytes(image.read_bytes() + b"\0")  # an image rebuilt at another size, written in its place
    os.replace(rebuilt, image)
    assert key(copy) != before


def test_a_run_on_a_copied_dataset_is_found_again(memmap_set, tmp_path):
    data = {"name": "memmap", "root": str(memmap_set), "noisy_labels": "noisy/flip_{ratio:g}_seed{seed}.npy"}
    preset = get_preset(TINY_PRESET, noise_type="file", pretrain_data=data)
    first = pretrain_supervised(preset.run_config(0.3, 0), cache_dir=tmp_path / "cache", progress=False)
    copy = shutil.copytree(memmap_set, tmp_path / "scratch")
    write_noisy_labels(np.load(copy / "labels.npy"), 4, 0.1, "flip", 0, copy / "noisy")
    moved = get_preset(TINY_PRESET, noise_type="file", pretrain_data={**data, "root": str(copy)})
    again = pretrain_supervised(moved.run_config(0.3, 0), cache_dir=tmp_path / "cache", progress=False)
    assert first.source == "trained" and again.source == "cache" and again.key == first.key
