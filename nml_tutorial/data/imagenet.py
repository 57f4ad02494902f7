"""The ImageNet family on disk: class folders and subsets of them (manifests), ILSVRC-2012 preparation,
Tiny-ImageNet-200, and the evaluation sets ImageNet-V2, -Sketch, -R and -A.

Every loader labels classes by the sorted WordNet ids of the classes it holds; the 200-class sets (R, A) come
with :func:`restrict_logits`, which reads a 1,000-way classifier's logits at their 200 columns.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import tarfile
import zlib
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

from ..atomic import atomic_write_json
from .classes import devkit_classes, imagenet_wnids, variant_classes
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
                      crop: str = "center", domain: str = "photo", device=None) -> LabeledImages:
    """ImageNet-format class folders (or a subset ``manifest``) read into memory at ``image_size``, named
    ``domain`` (a probe task's test sets in its training domain are its in-domain ones)."""
    if (root is None) == (manifest is None):
        raise ValueError("pass either root (a folder of class folders) or manifest (from make_subset.py)")
    files = read_manifest(manifest) if manifest is not None else folder_files(root, classes, per_class)
    files.domain = domain
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
    meta = require_file(devkit / "data" / "meta.mat", "devkit meta.mat", "extract ILSVRC2012_devkit_t12.tar.gz")
    truth = require_file(devkit / "data" / "ILSVRC2012_validation_ground_truth.txt", "validation ground truth",
                         "extract ILSVRC2012_devkit_t12.tar.gz")
    wnid_of = devkit_classes(meta)
    ids = [int(line) for line in truth.read_text().split()]
    unknown = sorted(set(ids) - set(wnid_of))
    if unknown:
        raise ValueError(f"{truth} names class ids {unknown[:5]} that {meta} does not define; are both from the "
                         "same ILSVRC2012_devkit_t12?")
    return [wnid_of[i] for i in ids]


@contextmanager
def _tar_errors(name: str):
    """A damaged tar read inside as one ValueError naming ``name`` and the fix."""
    try:
        yield
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as err:
        raise ValueError(f"{name} is truncated or not a tar ({' '.join(str(err).split())}); download it again and "
                         "check its md5") from err


def _complete(tar: tarfile.TarFile) -> None:
    """Refuse a tar read to its end that lacks the end-of-archive marker (two zero blocks): one cut at a member's
    boundary otherwise reads as a shorter, whole archive."""
    tar.fileobj.seek(tar.offset)
    if tar.fileobj.read(2 * tarfile.BLOCKSIZE) != bytes(2 * tarfile.BLOCKSIZE):
        raise tarfile.ReadError("it ends without the end-of-archive marker")


def _extract(archive, out: Path, name: str) -> None:
    """Extract a tar (a path or an open file; ``name`` in errors) into ``out`` through a temporary folder, so an
    interrupted or failed run leaves no half-filled one."""
    tmp = out.with_name(out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    with _tar_errors(name), (tarfile.open(archive) if isinstance(archive, Path) else
                             tarfile.open(fileobj=archive)) as tar:
        tar.extractall(tmp, filter="data")
        _complete(tar)
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


def _train_classes(source: Path, out: Path) -> None:
    """Each per-class tar of ``source`` (``ILSVRC2012_img_train.tar`` or a folder of its ``n*.tar``) extracted into
    ``out/<wnid>/``, classes already there skipped."""
    if source.is_file():
        with _tar_errors(source), tarfile.open(source) as outer:
            for member in outer:
                name = Path(member.name)
                if member.isfile() and name.suffix == ".tar" and not (out / name.stem).is_dir():
                    _extract(outer.extractfile(member), out / name.stem, f"{source} (its member {member.name})")
            _complete(outer)
        return
    tars = sorted(require_dir(source, "ILSVRC-2012 train tars", "pass ILSVRC2012_img_train.tar or its extracted "
                              "folder of n*.tar").glob("n*.tar"))
    if not tars:
        raise FileNotFoundError(f"no per-class n*.tar files in {source}; pass ILSVRC2012_img_train.tar")
    for tar in [t for t in tars if not (out / t.stem).is_dir()]:
        _extract(tar, out / tar.stem, str(tar))


def _val_images(sources: list[Path], out: Path) -> dict[int, Path]:
    """The flat validation images by number (the first of each kept): tars extracted under ``out/val-flat/``."""
    images: dict[int, Path] = {}
    for source in sources:
        if source.is_file():
            folder = out / "val-flat" / source.stem
            if not folder.is_dir():
                folder.parent.mkdir(parents=True, exist_ok=True)
                _extract(source, folder, str(source))
            source = folder
        for image in sorted(require_dir(source, "ILSVRC-2012 val images", "pass ILSVRC2012_img_val.tar or its "
                                        "extracted folder").glob("ILSVRC2012_val_*.JPEG")):
            images.setdefault(int(image.stem.rsplit("_", 1)[1]), image)
    return images


def _paths(given) -> list[Path]:
    return [Path(given)] if isinstance(given, (str, os.PathLike)) else [Path(p) for p in given]


def prepare_ilsvrc(train, val, devkit, out, expect_train: int = 1_281_167, expect_val: int = 50_000,
                   expect_classes: int = 1000) -> dict[str, int]:
    """ILSVRC-2012 as class folders ``out/train/<wnid>/`` and ``out/val/<wnid>/``. ``train``: one or several of
    ``ILSVRC2012_img_train.tar`` (its per-class tars read from it, never written out) or folders of its ``n*.tar``;
    ``val``: ``ILSVRC2012_img_val.tar`` or folders of its JPEGs, relabelled by the devkit's ground truth (``devkit``:
    ``ILSVRC2012_devkit_t12``; ids follow ``meta.mat``, not sorted wnids), hard-linked where possible. Classes done
    are skipped: an interrupted run resumes. A damaged tar, or counts other than ``expect_*`` (ImageNet-1K's by
    default), is a ValueError naming it. Returns images per split."""
    out, devkit = Path(out), require_dir(devkit, "ILSVRC-2012 devkit", "extract ILSVRC2012_devkit_t12.tar.gz")
    wnids = _devkit_labels(devkit)
    (out / "train").mkdir(parents=True, exist_ok=True)
    for source in _paths(train):
        _train_classes(source, out / "train")
    classes, count = sorted(p.name for p in (out / "train").iterdir() if p.is_dir()), len(image_files(out / "train"))
    missing = sorted(set(wnids) - set(classes))
    if (count, len(classes)) != (expect_train, expect_classes):
        raise ValueError(f"{count:,} training images in {len(classes):,} classes under {out / 'train'}, not "
                         f"{expect_train:,} in {expect_classes:,}{f' (missing e.g. {missing[:3]})' if missing else ''}"
                         ": pass every part of the train release (--train A B), or download it again and check its "
                         "md5, or pass --expect-train N --expect-classes K for a deliberate subset")
    images = _val_images(_paths(val), out)
    if len(images) != expect_val:
        raise ValueError(f"{len(images):,} validation images in {', '.join(map(str, _paths(val)))}, not "
                         f"{expect_val:,}: pass all of ILSVRC2012_img_val.tar, or --expect-val N for a subset")
    for number, image in sorted(images.items()):
        if number > len(wnids):
            raise ValueError(f"{image} has no label among the devkit's {len(wnids):,}; are the val images and the "
                             "devkit both ILSVRC-2012's?")
        target = out / "val" / wnids[number - 1] / image.name
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            _place(image, target)
    return {"train": count, "val": len(image_files(out / "val"))}
