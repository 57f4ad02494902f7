"""CIFAR-10 and CIFAR-100 from their python pickles (``cifar-10-batches-py/``, ``cifar-100-python/``)."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import torch

from .common import LabeledImages, to_rgb_uint8
from .files import require_dir

_CHUNK_BYTES = 1 << 21  # float pixels resized at once: 2 MiB, three 224-px images

_LAYOUT = {  # folder, train files, test files, label key, names file, names key
    "cifar10": ("cifar-10-batches-py", [f"data_batch_{i}" for i in range(1, 6)], ["test_batch"], b"labels",
                "batches.meta", b"label_names"),
    "cifar100": ("cifar-100-python", ["train"], ["test"], b"fine_labels", "meta", b"fine_label_names"),
}


def _unpickle(path: Path) -> dict:
    if not path.is_file():
        raise FileNotFoundError(f"no {path.name} in {path.parent}: the CIFAR folder is incomplete; extract the "
                                "python version's tar.gz again")
    with path.open("rb") as f:
        return pickle.load(f, encoding="bytes")


def _resized(pixels: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 images resized to ``size`` as :func:`to_rgb_uint8` resizes them, a few at a time (about
    :data:`_CHUNK_BYTES` of float pixels) into the one uint8 output: no float copy of the whole set."""
    out = torch.empty((len(pixels), 3, size, size), dtype=torch.uint8)
    step = max(1, _CHUNK_BYTES // (4 * 3 * size * size))
    for begin in range(0, len(pixels), step):
        out[begin:begin + step] = to_rgb_uint8(pixels[begin:begin + step].float() / 255, size)
    return out


def load_cifar(root, variant: str = "cifar10", split: str = "train", image_size: int = 32,
               device=None) -> LabeledImages:
    """CIFAR-10 or -100 (fine labels) from the python pickles under ``root`` (the extracted folder or its parent)."""
    if variant not in _LAYOUT:
        raise ValueError(f"unknown CIFAR variant {variant!r}; choose 'cifar10' or 'cifar100'")
    if split not in ("train", "test"):
        raise ValueError(f"CIFAR split must be 'train' or 'test', got {split!r}")
    folder, train, test, label_key, meta, names_key = _LAYOUT[variant]
    root = require_dir(root, f"{variant} folder", f"extract the python version ({folder}.tar.gz) and point root there")
    if (root / folder).is_dir():
        root = root / folder
    batches = [_unpickle(root / name) for name in (train if split == "train" else test)]
    pixels = torch.from_numpy(np.concatenate([b.pop(b"data") for b in batches]).reshape(-1, 3, 32, 32))
    labels = np.concatenate([b[label_key] for b in batches]).astype(np.int64)
    names = [n.decode() for n in _unpickle(root / meta)[names_key]]
    if image_size != 32:
        pixels = _resized(pixels, image_size)
    data = LabeledImages(pixels, torch.from_numpy(labels), names, variant)
    return data.to(device) if device is not None else data
