"""Datasets by name: ``load_dataset(name, ...)`` returns :class:`LabeledImages` (uint8 NCHW, int64 labels)."""

from __future__ import annotations

from .common import LabeledImages
from .real import load_digits, load_fashion_mnist, load_mnist5k
from .synthetic import DOMAINS, load_synthetic

_LOADERS = {
    "synthetic": load_synthetic,
    "digits": load_digits,
    "mnist5k": load_mnist5k,
    "fashion_mnist": load_fashion_mnist,
}


def load_dataset(name: str, **kwargs) -> LabeledImages:
    """Load a dataset by name; see each loader for its keyword arguments (notebook 02_pretrain)."""
    if name not in _LOADERS:
        raise ValueError(f"unknown dataset {name!r}; available: {sorted(_LOADERS)}")
    return _LOADERS[name](**kwargs)


__all__ = ["DOMAINS", "LabeledImages", "load_dataset"]
