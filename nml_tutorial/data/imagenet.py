"""The ImageNet family on disk: class folders and subsets of them (manifests), ILSVRC-2012 preparation,
Tiny-ImageNet-200, and the evaluation sets ImageNet-V2, -Sketch, -R and -A.

Every loader labels classes by the sorted WordNet ids of the classes it holds; the 200-class sets (R, A) come
with :func:`restrict_logits`, which reads a 1,000-way classifier's logits at their 200 columns.
"""

from __future__ import annotations

import json
import os
import shutil
import tarfile
from pathlib import Path

import numpy as np
import torch

from ..atomic import atomic_write_json
from .classes import imagenet_wnids, variant_classes
from .common import LabeledImages
from .files import IMAGE_SUFFIXES, ImageFiles, image_files, listing_checksum, load_files, require_dir, require_file

VARIANTS = ("imagenet_v2", "imagenet_sketch", "imagenet_r", "imagenet_a")


def folder_files(root, classes: list[str] | None = None, per_class: int | None = None) -> ImageFiles:
    """Images in class folders ``root/<class>/...``: all folders (sorted) or ``classes`` in their given order,
    at most ``per_class`` images each (the first ones in sorted order)."""
    root = require_dir(root, "image folder", "point root at a folder holding one sub-folder of images per class "
                       "(ImageNet's train/ or val/ after data_scripts/prepare_ilsvrc.py)")
    present = sorted(p.name for p in root.iterdir() if p.is_dir())
    if not present:
        raise FileNotFoundError(f"{root} holds no class folders; put each class's images in a folder of its own, "
                                "root/<class>/<image>, as ImageNet's train/ is laid out")
    classes = list(classes) if classes is not None else present
    missing = [c for c in classes if c not in present]
    if missing:
        raise FileNotFoundError(f"{len(missing)} class folders missing under {root}, e.g. {missing[:3]}; "
                                "check the class list against the folder")
    if per_class is not None and per_class < 1:
        raise ValueError(f"per_class must be a positive number of images, got {per_class}")
    paths, labels = [], []
    for label, name in enumerate(classes):
        found = image_files(root / name)[:per_class]
        if not found:
            raise FileNotFoundError(f"class folder {root / name} holds no images ({', '.join(IMAGE_SUFFIXES)}); "
                                    "remove the folder or pass the classes to use")
        paths += found
        labels += [label] * len(found)
    return ImageFiles(paths, np.array(labels), classes)


def write_manifest(files: ImageFiles, root, path, **settings) -> Path:
    """A subset as a manifest (no copies): the root, the classes and every file relative to it, with its label."""
    root = Path(root).resolve()
    entries = [[str(Path(p).resolve().relative_to(root)), int(y)] for p, y in zip(files.paths, files.labels)]
    return atomic_write_json({"root": str(root), "classes": files.class_names, "settings": settings,
                              "checksum": listing_checksum(files, root), "files": entries}, path)


def read_manifest(path) -> ImageFiles:
    """The files a manifest lists (see :func:`write_manifest`), checked to exist."""
    path = require_file(path, "subset manifest", "make one with data_scripts/make_subset.py")
    try:
        manifest = json.loads(path.read_text())
        root, classes, entries = Path(manifest["root"]), manifest["classes"], manifest["files"]
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise ValueError(f"{path} is not a subset manifest ({err}); "
                         "rebuild it with data_scripts/make_subset.py") from err
    paths = [root / rel for rel, _ in entries]
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"the manifest {path} lists {len(missing)} files that are gone, e.g. {missing[0]}; "
                                "rebuild the manifest where the data now are")
    files = ImageFiles(paths, np.array([y for _, y in entries]), classes)
    if manifest.get("checksum") not in (None, listing_checksum(files, root)):
        raise ValueError(f"the files {path} lists changed since it was made (sizes differ); rebuild the manifest")
    return files


def load_image_folder(root=None, manifest=None, classes=None, per_class: int | None = None, image_size: int = 64,
                      crop: str = "center", device=None) -> LabeledImages:
    """ImageNet-format class folders (or a subset ``manifest``) read into memory at ``image_size``."""
    if (root is None) == (manifest is None):
        raise ValueError("pass either root (a folder of class folders) or manifest (from make_subset.py)")
    files = read_manifest(manifest) if manifest is not None else folder_files(root, classes, per_class)
    return load_files(files, image_size, crop, device)


def tiny_imagenet_files(root, split: str = "train") -> ImageFiles:
    """Tiny-ImageNet-200: ``train/<wnid>/images/*.JPEG``, and the flat ``val/images`` labelled by
    ``val/val_annotations.txt``; classes are ``wnids.txt`` sorted."""
    root = require_dir(root, "Tiny-ImageNet-200 folder",
                       "unzip tiny-imagenet-200.zip and point root at tiny-imagenet-200/")
    wnids = sorted(require_file(root / "wnids.txt", "wnids.txt", "point root at the unzipped tiny-imagenet-200/ "
                                "folder").read_text().split())
    index = {w: i for i, w in enumerate(wnids)}
    if split == "train":
        files = folder_files(root / "train", wnids)
        return ImageFiles(files.paths, files.labels, wnids)
    if split != "val":
        raise ValueError(f"Tiny-ImageNet split must be 'train' or 'val' (its test set has no labels), got {split!r}")
    notes = require_file(root / "val" / "val_annotations.txt", "val_annotations.txt", "the val/ folder is incomplete; "
                         "unzip tiny-imagenet-200.zip again")
    paths, labels = [], []
    for n, line in enumerate(notes.read_text().splitlines(), 1):
        parts = line.split("\t")
        if len(parts) < 2 or parts[1] not in index:
            raise ValueError(f"{notes} line {n} is not 'file<TAB>wnid...' with a wnid of wnids.txt: {line!r}; "
                             "unzip tiny-imagenet-200.zip again (val/ and wnids.txt from the same release)")
        paths.append(root / "val" / "images" / parts[0])
        labels.append(index[parts[1]])
    return ImageFiles(paths, np.array(labels), wnids)


def load_tiny_imagenet(root, split: str = "train", image_size: int = 64, device=None) -> LabeledImages:
    """Tiny-ImageNet-200 (64 px, 200 classes) in memory."""
    return load_files(tiny_imagenet_files(root, split), image_size, "center", device)


def variant_files(root, variant: str) -> ImageFiles:
    """An ImageNet evaluation set: ImageNet-V2 (folders ``0`` ... ``999``, indices into the sorted 1,000 classes),
    ImageNet-Sketch (1,000 WordNet-id folders), ImageNet-R or -A (200 WordNet-id folders: labels index the 200
    sorted ids; see :func:`restrict_logits`)."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown ImageNet variant {variant!r}; choose one of {list(VARIANTS)}")
    root = require_dir(root, f"{variant} folder",
                       "download and extract it, then point root at the folder of class folders")
    if variant == "imagenet_v2":
        folders = [str(i) for i in range(1000)]
        present = [f for f in folders if (root / f).is_dir()]
        if not present:
            raise FileNotFoundError(f"{root} has no integer class folders 0 ... 999: is it ImageNet-V2's "
                                    "imagenetv2-matched-frequency-format-val/?")
        files = folder_files(root, present)
        return ImageFiles(files.paths, np.array([int(present[y]) for y in files.labels]), imagenet_wnids(),
                          "imagenet_v2")
    wnids = imagenet_wnids() if variant == "imagenet_sketch" else variant_classes(variant)[0]
    present = {p.name for p in root.iterdir() if p.is_dir()}
    strangers = sorted(present - set(wnids))
    if strangers:
        raise ValueError(f"{root} holds folders that are not {variant} classes, e.g. {strangers[:3]}; "
                         "point root at the folder of WordNet-id class folders")
    files = folder_files(root, [w for w in wnids if w in present])
    position = {w: i for i, w in enumerate(wnids)}
    labels = np.array([position[c] for c in files.class_names])[files.labels]
    return ImageFiles(files.paths, labels, wnids, variant)


def load_imagenet_variant(root, variant: str, image_size: int = 64, device=None) -> LabeledImages:
    """An ImageNet evaluation set in memory (see :func:`variant_files`)."""
    return load_files(variant_files(root, variant), image_size, "center", device)


def restrict_logits(logits: torch.Tensor, variant: str) -> torch.Tensor:
    """A 1,000-way classifier's logits as the 200-class set ``variant`` scores them (its columns only);
    other variants' logits are returned unchanged."""
    if logits.shape[-1] != 1000:
        raise ValueError(f"expected 1,000-class logits, got {logits.shape[-1]} columns")
    if variant in ("imagenet_v2", "imagenet_sketch"):
        return logits
    return logits[:, variant_classes(variant)[1].to(logits.device)]


def _devkit_labels(devkit: Path) -> list[str]:
    """The WordNet id of each of the 50,000 validation images, from the ILSVRC-2012 devkit."""
    from scipy.io import loadmat

    meta = require_file(devkit / "data" / "meta.mat", "devkit meta.mat", "extract ILSVRC2012_devkit_t12.tar.gz")
    truth = require_file(devkit / "data" / "ILSVRC2012_validation_ground_truth.txt", "validation ground truth",
                         "extract ILSVRC2012_devkit_t12.tar.gz")
    synsets = loadmat(meta, squeeze_me=True)["synsets"]
    wnid_of = {int(s["ILSVRC2012_ID"]): str(s["WNID"]) for s in synsets if int(s["num_children"]) == 0}
    ids = [int(line) for line in truth.read_text().split()]
    unknown = sorted(set(ids) - set(wnid_of))
    if unknown:
        raise ValueError(f"{truth} names class ids {unknown[:5]} that {meta} does not define; are both from the "
                         "same ILSVRC2012_devkit_t12?")
    return [wnid_of[i] for i in ids]


def _extract(archive, out: Path) -> None:
    """Extract a tar (a path or an open file) into ``out`` through a temporary folder, so an interrupted run leaves
    no half-filled one."""
    tmp = out.with_name(out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    with (tarfile.open(archive) if isinstance(archive, Path) else tarfile.open(fileobj=archive)) as tar:
        tar.extractall(tmp, filter="data")
    tmp.rename(out)


def _place(image: Path, target: Path) -> None:
    """``image`` at ``target``: a hard link where the filesystem allows one, else a copy (atomic either way)."""
    partial = target.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    try:
        os.link(image, partial)
    except OSError:
        shutil.copy2(image, partial)
    partial.rename(target)


def prepare_ilsvrc(train, val, devkit, out) -> dict[str, int]:
    """ILSVRC-2012 as class folders ``out/train/<wnid>/`` and ``out/val/<wnid>/``.

    ``train``: ``ILSVRC2012_img_train.tar`` (its per-class tars are read from it, never written out) or a folder of
    those ``n*.tar``; ``val``: ``ILSVRC2012_img_val.tar`` or the folder of its 50,000 flat JPEGs, relabelled by the
    devkit's ground truth (``devkit``: the extracted ``ILSVRC2012_devkit_t12``; its ids follow ``meta.mat``, not
    sorted wnids) and hard-linked where possible. Classes already prepared are skipped, so an interrupted run
    resumes. Returns images per split.
    """
    out, devkit = Path(out), require_dir(devkit, "ILSVRC-2012 devkit", "extract ILSVRC2012_devkit_t12.tar.gz")
    train, val = Path(train), Path(val)
    wnids = _devkit_labels(devkit)
    (out / "train").mkdir(parents=True, exist_ok=True)
    if train.is_file():
        with tarfile.open(train) as outer:
            for member in outer:
                name = Path(member.name)
                if member.isfile() and name.suffix == ".tar" and not (out / "train" / name.stem).is_dir():
                    _extract(outer.extractfile(member), out / "train" / name.stem)
    else:
        tars = sorted(require_dir(train, "ILSVRC-2012 train tars", "pass ILSVRC2012_img_train.tar or its extracted "
                                  "folder of n*.tar").glob("n*.tar"))
        if not tars:
            raise FileNotFoundError(f"no per-class n*.tar files in {train}; pass ILSVRC2012_img_train.tar")
        for tar in tars:
            if not (out / "train" / tar.stem).is_dir():
                _extract(tar, out / "train" / tar.stem)
    if val.is_file():
        if not (out / "val-flat").is_dir():
            _extract(val, out / "val-flat")
        val = out / "val-flat"
    flat = sorted(require_dir(val, "ILSVRC-2012 val images", "pass ILSVRC2012_img_val.tar or its extracted folder")
                  .glob("ILSVRC2012_val_*.JPEG"))
    if len(flat) != len(wnids):
        raise ValueError(f"{len(flat)} validation images in {val} but {len(wnids)} ground-truth labels; "
                         "is the val folder complete?")
    for image, wnid in zip(flat, wnids):
        target = out / "val" / wnid / image.name
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            _place(image, target)
    return {split: len(image_files(out / split)) for split in ("train", "val")}

