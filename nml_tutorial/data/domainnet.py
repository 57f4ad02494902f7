"""DomainNet (345 classes, six domains) from its split files ``<domain>_train.txt`` / ``<domain>_test.txt``, whose
lines read ``clipart/aircraft_carrier/clipart_001_000001.jpg 0``."""

from __future__ import annotations

import numpy as np

from .common import LabeledImages
from .files import ImageFiles, load_files, require_dir, require_file

DOMAINNET_DOMAINS = ("clipart", "infograph", "painting", "quickdraw", "real", "sketch")


def domainnet_files(root, domain: str, split: str = "train", per_class: int | None = None) -> ImageFiles:
    """The images one split file lists, labels as written there, class names from the paths."""
    if domain not in DOMAINNET_DOMAINS:
        raise ValueError(f"unknown DomainNet domain {domain!r}; choose one of {list(DOMAINNET_DOMAINS)}")
    if split not in ("train", "test"):
        raise ValueError(f"DomainNet split must be 'train' or 'test', got {split!r}")
    root = require_dir(root, "DomainNet folder", "extract each domain's zip and its split files into one folder")
    listing = require_file(root / f"{domain}_{split}.txt", "DomainNet split file",
                           f"download {domain}_{split}.txt from the DomainNet page into {root}")
    paths, labels, names = [], [], {}
    for n, line in enumerate(listing.read_text().splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2 or not parts[1].isdigit() or len(parts[0].split("/")) < 3:
            raise ValueError(f"{listing} line {n} is not '<domain>/<class>/<file> <label>': {line!r}; fix the line "
                             "or download the split file again")
        label, name = int(parts[1]), parts[0].split("/")[1]
        if names.setdefault(label, name) != name:
            raise ValueError(f"{listing} line {n}: label {label} names both {names[label]!r} and {name!r}")
        paths.append(root / parts[0])
        labels.append(label)
    if sorted(names) != list(range(len(names))):
        raise ValueError(f"{listing}: labels are not 0 ... {len(names) - 1} without gaps")
    labels = np.array(labels)
    keep = np.ones(len(labels), dtype=bool)
    if per_class is not None:  # the first per_class images of each class, in the file's order
        seen = np.zeros(len(names), dtype=np.int64)
        for i, y in enumerate(labels):
            seen[y] += 1
            keep[i] = seen[y] <= per_class
    missing = [p for p in paths[:50] if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"{listing} lists images that are not there, e.g. {missing[0]}; extract {domain}.zip "
                                f"into {root}")
    return ImageFiles([p for p, k in zip(paths, keep) if k], labels[keep], [names[i] for i in range(len(names))],
                      domain)


def load_domainnet(root, domain: str = "real", split: str = "train", per_class: int | None = None,
                   image_size: int = 64, device=None) -> LabeledImages:
    """One DomainNet domain's split in memory, at most ``per_class`` images a class."""
    return load_files(domainnet_files(root, domain, split, per_class), image_size, "center", device)
