"""The fast on-disk form of a large image set: resized uint8 images in one ``.npy`` memory map (N, H, W, 3),
``labels.npy`` and ``meta.json`` (class order, source checksum, resize and crop settings), written last as the
finished marker. Loading maps the file instead of reading it; training pages in each batch it draws.
Notebook 07_full_scale.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from ..io import atomic_write_json, atomic_write_text
from .classes import imagenet_wnids
from .common import LabeledImages
from .files import ImageFiles, listing_checksum, read_images, require_dir, require_file

IMAGES, LABELS, META, PROGRESS = "images.npy", "labels.npy", "meta.json", "progress.json"
FILES = "files.txt"  # the source path of each image, relative to the source root (folder conversions)


def _write(out: Path, n: int, size: int, chunks: Callable[[int, int], np.ndarray], labels: np.ndarray, meta: dict,
           chunk: int, progress: bool) -> Path:
    """Fill ``images.npy`` chunk by chunk through a ``.partial`` file, recording how far it got after every chunk,
    so an interrupted conversion resumes there; ``meta.json`` last."""
    from tqdm.auto import tqdm

    out.mkdir(parents=True, exist_ok=True)
    if (out / META).exists():
        done = json.loads((out / META).read_text())
        if done["settings"] != meta["settings"] or done["source_checksum"] != meta["source_checksum"]:
            raise FileExistsError(f"{out} already holds another conversion ({done['settings']}); choose another --out")
        return out
    partial, record = out / (IMAGES + ".partial"), out / PROGRESS
    state = json.loads(record.read_text()) if record.exists() and partial.exists() else {}
    start = state.get("done", 0) if state.get("meta") == meta else 0
    images = np.lib.format.open_memmap(partial, mode="r+" if start else "w+", dtype=np.uint8, shape=(n, size, size, 3))
    for begin in tqdm(range(start, n, chunk), desc="convert", disable=not progress):
        images[begin:begin + chunk] = chunks(begin, min(n, begin + chunk))
        images.flush()
        atomic_write_json({"done": min(n, begin + chunk), "meta": meta}, record)
    del images
    np.save(out / LABELS, labels.astype(np.int64))
    partial.rename(out / IMAGES)
    atomic_write_json(meta, out / META)
    record.unlink(missing_ok=True)
    return out


def write_memmap(files: ImageFiles, out, image_size: int = 64, crop: str = "center", source_root=None,
                 chunk: int = 512, progress: bool = True) -> Path:
    """Convert listed image files (a folder, a subset manifest, ...) to the memmap form at ``out``."""
    root = Path(source_root) if source_root is not None else Path(_common_root(files.paths))
    meta = {"classes": list(files.class_names), "count": len(files), "domain": files.domain,
            "source": str(root), "source_checksum": listing_checksum(files, root),
            "settings": {"image_size": image_size, "crop": crop, "resize": "bilinear, shorter side"}}
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text("".join(f"{Path(p).relative_to(root)}\n" for p in files.paths), out / FILES)
    return _write(out, len(files), image_size, lambda a, b: read_images(files.paths[a:b], image_size, crop),
                  files.labels, meta, chunk, progress)


def _common_root(paths) -> str:
    import os

    return os.path.commonpath([str(p) for p in paths]) if paths else "."


def _read_downsampled(path: Path) -> dict:
    if path.suffix == ".npz":
        with np.load(path) as f:
            return {"data": f["data"], "labels": f["labels"]}
    with path.open("rb") as f:
        return pickle.load(f)


def convert_downsampled(src, map_clsloc, out, split: str = "train", chunk: int = 8192, progress: bool = True) -> Path:
    """The downsampled ImageNet release (Chrabaszcz et al. 2017; 32x32 or 64x64; ``train_data_batch_*`` and
    ``val_data``, ``.npz`` or pickles) to the memmap form, its labels remapped to sorted WordNet ids: the release
    numbers classes 1 ... 1,000 in the devkit's ``map_clsloc.txt`` order."""
    src = require_dir(src, "downsampled ImageNet folder", "extract Imagenet32_train_npz.zip (or 64x64) there")
    pattern = "train_data_batch_*" if split == "train" else "val_data*"
    batches = sorted(src.glob(pattern), key=lambda p: int(p.stem.rsplit("_", 1)[1]) if split == "train" else 0)
    if not batches:
        raise FileNotFoundError(f"no {pattern} files in {src}; is it the extracted downsampled ImageNet release?")
    wnid_of = {}
    for n, line in enumerate(require_file(map_clsloc, "map_clsloc.txt", "it ships with the ILSVRC devkit").read_text()
                             .splitlines(), 1):
        parts = line.split()
        if len(parts) < 2 or not parts[1].isdigit():
            raise ValueError(f"{map_clsloc} line {n} is not '<wnid> <id> <name>': {line!r}")
        wnid_of[int(parts[1])] = parts[0]
    index = {w: i for i, w in enumerate(imagenet_wnids())}
    arrays = [_read_downsampled(p) for p in batches]
    data = np.concatenate([a["data"] for a in arrays])
    size = int(round((data.shape[1] / 3) ** 0.5))
    if 3 * size * size != data.shape[1]:
        raise ValueError(f"rows of {data.shape[1]} values are not 3 x s x s images")
    labels = np.array([index[wnid_of[int(y)]] for a in arrays for y in a["labels"]], dtype=np.int64)
    digest = hashlib.sha256()
    for p in batches:
        digest.update(p.read_bytes())
    meta = {"classes": imagenet_wnids(), "count": len(labels), "domain": "photo", "source": str(src),
            "source_checksum": digest.hexdigest(),
            "settings": {"image_size": size, "crop": "as released", "resize": "box (Chrabaszcz et al. 2017)",
                         "labels": "map_clsloc ids remapped to sorted wnids"}}
    pixels = data.reshape(-1, 3, size, size)
    return _write(Path(out), len(labels), size, lambda a, b: pixels[a:b].transpose(0, 2, 3, 1), labels, meta, chunk,
                  progress)


def load_memmap(root, noisy_labels=None, device=None) -> LabeledImages:
    """A memmap-form dataset, mapped (not read) when ``device`` is the CPU. ``noisy_labels``: a ``.npy`` of labels
    (a path, or a name under ``root``, e.g. from ``data_scripts/noisy_labels.py``), kept as
    ``attributes["noisy_labels"]`` for pre-training with ``noise_type="file"``."""
    root = require_dir(root, "memmap dataset", "build one with data_scripts/build_memmap.py")
    if not (root / META).exists():
        raise FileNotFoundError(f"{root} has no {META}: the conversion did not finish; rerun data_scripts/"
                                "build_memmap.py with the same arguments to resume it")
    meta = json.loads((root / META).read_text())
    images = np.load(root / IMAGES, mmap_mode="c")
    labels = torch.from_numpy(np.load(root / LABELS))
    if images.shape[0] != labels.numel() or images.shape[0] != meta["count"]:
        raise ValueError(f"{root}: {images.shape[0]} images, {labels.numel()} labels, meta says {meta['count']}; "
                         "the folder is damaged: delete it and convert again")
    attributes = {}
    if noisy_labels is not None:
        path = Path(noisy_labels) if Path(noisy_labels).is_absolute() else root / noisy_labels
        noisy = torch.from_numpy(np.load(require_file(path, "noisy-label file", "write one with "
                                                      "data_scripts/noisy_labels.py"))).long()
        if noisy.shape != labels.shape or int(noisy.min()) < 0 or int(noisy.max()) >= len(meta["classes"]):
            raise ValueError(f"{path}: {tuple(noisy.shape)} labels in [{int(noisy.min())}, {int(noisy.max())}] do not "
                             f"fit {labels.numel()} images of {len(meta['classes'])} classes; was it made for this set?")
        attributes["noisy_labels"] = noisy
    data = LabeledImages(torch.from_numpy(images).permute(0, 3, 1, 2), labels, meta["classes"], meta["domain"],
                         attributes)
    return data.to(device) if device is not None and torch.device(device).type != "cpu" else data
