"""ImageNet class lists: the 1,000 sorted WordNet ids and their names, the 200-class subsets of ImageNet-R and
ImageNet-A with their indices into the 1,000, and named subsets (ImageNet-100, Imagenette, Imagewoof).

The 1,000-class lists are read from the files ``timm`` ships (``timm/data/_info``), the named subsets from
``class_lists/`` in this package, each file naming its public source.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from pathlib import Path

import torch

NAMED_LISTS = ("imagenet100", "imagenette", "imagewoof")
SUBSET_VARIANTS = ("imagenet_r", "imagenet_a")  # the variants with 200 of the 1,000 classes


def _timm_info(name: str) -> list[str]:
    text = (files("timm.data") / "_info" / name).read_text()
    return [line for line in text.splitlines() if line.strip()]


def read_class_list(path) -> list[str]:
    """WordNet ids from a text file: the first word of each line; blank lines and ``#`` comments skipped."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no class list at {path}; write one WordNet id (e.g. n01440764) per line")
    ids = [line.split()[0] for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]
    known = set(imagenet_wnids())
    bad = [i for i in ids if i not in known]
    if not ids or bad:
        raise ValueError(f"{path}: {'no class ids' if not ids else f'{len(bad)} ids are not ImageNet-1K classes, e.g. {bad[:3]}'}; "  # noqa: E501
                         "each line must start with a WordNet id such as n01440764")
    if len(set(ids)) != len(ids):
        raise ValueError(f"{path} lists a class twice; remove the duplicates")
    return ids


@cache
def imagenet_wnids() -> list[str]:
    """The 1,000 ImageNet-1K WordNet ids in sorted order: class ``i`` of every ImageNet loader."""
    return _timm_info("imagenet_synsets.txt")


def imagenet_names() -> list[str]:
    """A short name for each of the 1,000 classes (the first lemma of its synset)."""
    lemmas = dict(line.split("\t", 1) for line in _timm_info("imagenet_synset_to_lemma.txt"))
    return [lemmas[w].split(",")[0] for w in imagenet_wnids()]


def variant_classes(variant: str) -> tuple[list[str], torch.Tensor]:
    """The WordNet ids of ImageNet-R or ImageNet-A (200 each, sorted) and their indices into the 1,000 classes:
    a 1,000-way classifier's logits restricted to these columns score the variant."""
    if variant not in SUBSET_VARIANTS:
        raise ValueError(f"unknown 200-class variant {variant!r}; choose one of {list(SUBSET_VARIANTS)}")
    wnids = _timm_info(f"{variant}_synsets.txt")
    indices = torch.tensor([int(i) for i in _timm_info(f"{variant}_indices.txt")])
    assert [imagenet_wnids()[i] for i in indices] == wnids, f"timm's {variant} lists disagree"
    return wnids, indices


def class_list(name_or_path) -> list[str]:
    """A named subset (``"imagenet100"``, ``"imagenette"``, ``"imagewoof"``) or a class-list file."""
    return named_list(name_or_path) if name_or_path in NAMED_LISTS else read_class_list(name_or_path)


def named_list(name: str) -> list[str]:
    """A named class subset's WordNet ids, in their published order."""
    if name not in NAMED_LISTS:
        raise ValueError(f"unknown class list {name!r}; choose one of {list(NAMED_LISTS)} or pass a file")
    return read_class_list(Path(__file__).parent / "class_lists" / f"{name}.txt")


def devkit_classes(meta_mat) -> dict[int, str]:
    """The ILSVRC-2012 devkit's class numbers (``ILSVRC2012_ID``, 1 ... 1,000) -> WordNet ids, from its
    ``data/meta.mat`` (the leaf synsets)."""
    from scipy.io import loadmat

    try:
        synsets = loadmat(meta_mat, squeeze_me=True)["synsets"]
        return {int(s["ILSVRC2012_ID"]): str(s["WNID"]) for s in synsets if int(s["num_children"]) == 0}
    except (KeyError, ValueError, TypeError) as err:
        raise ValueError(f"{meta_mat} is not the ILSVRC-2012 devkit's meta.mat ({err}); extract "
                         "ILSVRC2012_devkit_t12.tar.gz again") from err
