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


def test_folders_apart_in_content_get_apart_keys(tmp_path, monkeypatch):
    """What a path-and-size listing would confuse: a non-image file rewritten at its old size (a relabelled pickle),
    subsets whose class folders are symbolic links, a folder that merely holds a meta.json."""

    def key(root, **extra):
        return config_key({"data": {"name": "image_folder", "root": str(root), **extra}})

    (tmp_path / "cifar").mkdir()
    (tmp_path / "cifar" / "data_batch_1").write_bytes(b"labels 0 1 0 1")
    before = key(tmp_path / "cifar")
    (tmp_path / "cifar" / "data_batch_1").write_bytes(b"labels 1 1 0 1")  # the same size, other labels
    os.utime(tmp_path / "cifar")  # the folder's mtime renews the in-process listing, as a rewrite by the tools does
    assert key(tmp_path / "cifar") != before

    miniatures.imagenet_folder(tmp_path / "all", imagenet_wnids()[:3], per_class=2, size=24)
    for subset, wnids in (("first", imagenet_wnids()[:1]), ("second", imagenet_wnids()[1:2])):
        (tmp_path / subset).mkdir()
        for wnid in wnids:
            (tmp_path / subset / wnid).symlink_to(tmp_path / "all" / wnid)
    assert key(tmp_path / "first") != key(tmp_path / "second")

    (tmp_path / "first" / "meta.json").write_text("{}")  # not a memmap: its images still count
    (tmp_path / "second" / "meta.json").write_text("{}")
    assert key(tmp_path / "first") != key(tmp_path / "second")

    (tmp_path / "cifar" / "noisy").mkdir()
    (tmp_path / "cifar" / "noisy" / "f.npy").write_bytes(b"under root")
    (tmp_path / "elsewhere" / "noisy").mkdir(parents=True)
    (tmp_path / "elsewhere" / "noisy" / "f.npy").write_bytes(b"in the working directory")
    monkeypatch.chdir(tmp_path / "elsewhere")
    read_under_root = key(tmp_path / "cifar", noisy_labels="noisy/f.npy")
    (tmp_path / "elsewhere" / "noisy" / "f.npy").write_bytes(b"changed, but not what the loader reads")
    assert key(tmp_path / "cifar", noisy_labels="noisy/f.npy") == read_under_root


def test_a_pairs_memmap_is_keyed_by_its_meta_json_without_reading_its_images(tmp_path, monkeypatch):
    """The image-text memmap form (images.npy, captions.json, meta.json) is known by meta.json, whose source
    checksum covers every image size and caption: its images.npy, GBs at full scale, is not read for a run key."""
    from nml_tutorial import cache
    from nml_tutorial.data.image_text import write_pairs_memmap
    from nml_tutorial.pretrain import run_key

    miniatures.image_text(tmp_path / "pairs")
    root = write_pairs_memmap(tmp_path / "pairs", tmp_path / "mm", image_size=16, progress=False)
    read, hashed = [], cache.file_sha256
    monkeypatch.setattr(cache, "file_sha256", lambda path: read.append(os.path.basename(path)) or hashed(path))

    def key(root):
        return run_key({"data": {"name": "image_text", "root": str(root)}, "seed": 0}, kind="clip")

    before = key(root)
    assert "meta.json" in read and "images.npy" not in read and "captions.json" not in read
    assert key(shutil.copytree(root, tmp_path / "scratch" / "mm")) == before  # copied elsewhere: the same run
    meta = root / "meta.json"
    meta.write_text(meta.read_text().replace('"image_size": 16', '"image_size": 17'))
    assert key(root) != before
