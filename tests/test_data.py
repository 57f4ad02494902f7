import gzip

import numpy as np
import pytest
import torch

from nml_tutorial.data import DOMAINS, load_dataset
from nml_tutorial.data.synthetic import MAX_CLASSES, class_name, class_table


def synth(**kw):
    args = {"num_classes": 12, "samples_per_class": 5, "image_size": 32, "seed": 0} | kw
    return load_dataset("synthetic", **args)


def test_shapes_dtypes_and_balanced_labels():
    ds = synth()
    assert ds.images.shape == (60, 3, 32, 32) and ds.images.dtype == torch.uint8
    assert ds.labels.dtype == torch.int64 and torch.equal(torch.bincount(ds.labels), torch.full((12,), 5))
    images, labels, names = ds
    assert len(names) == 12 and len(set(names)) == 12


def test_default_has_at_least_50_classes_and_five_domains():
    assert len(load_dataset("synthetic", samples_per_class=1).class_names) >= 50
    assert {"photo", "sketch", "painting", "clipart", "corrupted"} <= set(DOMAINS)


def test_deterministic_by_seed_and_split():
    assert torch.equal(synth().images, synth().images)
    assert not torch.equal(synth().images, synth(seed=1).images)
    assert not torch.equal(synth().images, synth(split="test").images)


def test_domains_render_the_same_scenes_differently():
    per_domain = {d: synth(domain=d) for d in DOMAINS}
    photo = per_domain["photo"]
    for domain, ds in per_domain.items():
        assert torch.equal(ds.labels, photo.labels) and torch.equal(ds.attributes["hue"], photo.attributes["hue"])
        if domain != "photo":
            diff = (ds.images.float() - photo.images.float()).abs().mean()
            assert diff > 10, f"{domain} looks too much like photo ({diff:.1f} grey levels)"


def test_class_subset_is_reindexed_and_keeps_names():
    full = class_table(20)
    ds = synth(num_classes=20, classes=[3, 7, 19])
    assert ds.labels.unique().tolist() == [0, 1, 2]
    assert ds.class_names == [class_name(*full[c]) for c in (3, 7, 19)]


def test_grid_png_for_human_eyes(artifacts):
    from PIL import Image
    from torchvision.utils import save_image

    rows = [synth(domain=d, split="test", samples_per_class=1).images[:12] for d in DOMAINS]
    path = artifacts / "synthetic_domains.png"
    grid = torch.cat(rows)
    save_image(grid.float() / 255, path, nrow=12, padding=1)
    written = torch.from_numpy(np.array(Image.open(path).convert("RGB"))).permute(2, 0, 1)
    size = grid.shape[-1]  # 12 tiles a row, one pixel of padding around each: 12 * (size + 1) + 1 wide
    assert written.shape == (3, len(DOMAINS) * (size + 1) + 1, 12 * (size + 1) + 1)
    assert torch.equal(written[:, 1:1 + size, 1:1 + size], grid[0])  # the first tile is the first image, exactly


@pytest.mark.parametrize("kwargs, message", [
    ({"domain": "cartoon"}, "unknown domain"),
    ({"split": "holdout"}, "unknown split"),
    ({"num_classes": MAX_CLASSES + 1}, "num_classes"),
    ({"classes": [0, 99]}, "classes"),
])
def test_bad_arguments_say_what_is_wrong(kwargs, message):
    with pytest.raises(ValueError, match=message):
        synth(**kwargs)


def test_unknown_dataset_lists_the_known_ones():
    with pytest.raises(ValueError, match="synthetic"):
        load_dataset("imagenet-99")


@pytest.mark.parametrize("name, n_total", [("digits", 1797), ("mnist5k", 5000)])
def test_real_digit_sets_have_fixed_disjoint_splits(name, n_total):
    train, test = load_dataset(name, split="train", image_size=32), load_dataset(name, split="test", image_size=32)
    assert len(train) + len(test) == n_total
    assert train.images.shape[1:] == (3, 32, 32) and train.images.dtype == torch.uint8
    assert set(train.labels.tolist()) == set(range(10))
    assert torch.equal(train.images, load_dataset(name, split="train", image_size=32).images)
    assert train.images.float().mean() > 5  # not blank


def _write_idx(path, array):
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def test_fashion_mnist_reads_idx_files_from_a_root(tmp_path):
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 30), ("t10k", 12)):
        _write_idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        _write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte.gz", np.arange(n) % 10)
    ds = load_dataset("fashion_mnist", split="test", root=tmp_path, image_size=28)
    assert ds.images.shape == (12, 3, 28, 28) and ds.labels.tolist() == list(np.arange(12) % 10)
    assert ds.class_names[9] == "Ankle boot"
    assert len(load_dataset("fashion_mnist", split="train", root=tmp_path, limit=7)) == 7


def test_missing_fashion_mnist_says_how_to_get_it(tmp_path, monkeypatch):
    from nml_tutorial.data import real

    monkeypatch.setattr(real, "FASHION_DEBIAN_DIR", tmp_path / "nowhere")
    monkeypatch.delenv("NML_FASHION_MNIST", raising=False)
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        load_dataset("fashion_mnist", root=tmp_path / "empty")
