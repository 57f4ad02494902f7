"""Datasets by name: ``load_dataset(name, ...)`` returns :class:`LabeledImages` (uint8 NCHW, int64 labels), or
:class:`ImageTextPairs` for ``"image_text"``."""

from __future__ import annotations

from functools import partial

from .cifar import load_cifar
from .common import LabeledImages
from .domainnet import load_domainnet
from .image_text import ImageTextPairs, load_image_text
from .imagenet import VARIANTS, load_image_folder, load_imagenet_variant, load_tiny_imagenet
from .memmap import load_memmap
from .real import load_digits, load_fashion_mnist, load_mnist5k
from .styles import DOMAINS
from .synthetic import load_synthetic

_LOADERS = {
    # embedded: nothing to download
    "synthetic": load_synthetic,
    "digits": load_digits,
    "mnist5k": load_mnist5k,
    "fashion_mnist": load_fashion_mnist,
    # full scale: data you have on disk (data_scripts/ prepares them)
    "memmap": load_memmap,
    "image_folder": load_image_folder,
    "tiny_imagenet": load_tiny_imagenet,
    "cifar10": partial(load_cifar, variant="cifar10"),
    "cifar100": partial(load_cifar, variant="cifar100"),
    "domainnet": load_domainnet,
    **{variant: partial(load_imagenet_variant, variant=variant) for variant in VARIANTS},
    "image_text": load_image_text,
}


def load_dataset(name: str, **kwargs) -> LabeledImages | ImageTextPairs:
    """Load a dataset by name; see each loader for its keyword arguments."""
    if name not in _LOADERS:
        raise ValueError(f"unknown dataset {name!r}; available: {sorted(_LOADERS)}")
    return _LOADERS[name](**kwargs)


def loader_module(name: str) -> str:
    """The module whose code loads dataset ``name`` (part of a pre-training run's cache key)."""
    if name not in _LOADERS:
        raise ValueError(f"unknown dataset {name!r}; available: {sorted(_LOADERS)}")
    loader = _LOADERS[name]
    return getattr(loader, "func", loader).__module__


__all__ = ["DOMAINS", "ImageTextPairs", "LabeledImages", "load_dataset", "loader_module"]
