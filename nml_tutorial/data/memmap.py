"""The fast on-disk form of a large image set: resized uint8 images in one ``.npy`` memory map (N, H, W, 3),
``labels.npy`` and ``meta.json`` (class order, source checksum, resize and crop settings), written last as the
finished marker. Loading maps the file instead of reading it; training pages in each batch it draws.
"""

from __future__ import annotations

import filecmp
import hashlib
import json
import os
import pickle
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import closing
from pathlib import Path

import numpy as np
import torch

from ..atomic import atomic_write_json, atomic_write_text
from .classes import devkit_classes, imagenet_wnids
from .common import LabeledImages
from .files import ImageFiles, listing_checksum, read_images, require_dir, require_file

IMAGES, LABELS, META, PROGRESS = "images.npy", "labels.npy", "meta.json", "progress.json"
FILES = "files.txt"  # the source path of each image, relative to the source root (folder conversions)
IMAGENET_COUNTS = {"train": 1_281_167, "val": 50_000}  # ImageNet-1K's images per split


def _write(out: Path, n: int, size: int, chunks: Callable[[range], Iterable[np.ndarray]], labels: np.ndarray,
           meta: dict, chunk: int, progress: bool, files_txt: str | None = None) -> Path:
    """Fill ``images.npy`` chunk by chunk through a ``.partial`` file (``chunks(begins)``: the images of each chunk
    beginning there, in order), recording how far it got after every chunk, so an interrupted conversion resumes
    there; ``meta.json`` last. A finished conversion of the same source and settings is kept; of another, refused."""
    from tqdm.auto import tqdm

    if (out / META).exists():
        done = json.loads((out / META).read_text())
        if done["settings"] != meta["settings"] or done["source_checksum"] != meta["source_checksum"]:
            raise FileExistsError(f"{out} already holds another conversion ({done['settings']}, source "
                                  f"{done['source']}); choose another --out or delete it")
        return out
    out.mkdir(parents=True, exist_ok=True)
    if files_txt is not None:
        atomic_write_text(files_txt, out / FILES)
    partial, record = out / (IMAGES + ".partial"), out / PROGRESS
    state = json.loads(record.read_text()) if record.exists() and partial.exists() else {}
    same = {**(state.get("meta") or {}), "source": meta["source"]} == meta  # by content: sources may be listed anew
    start = state.get("done", 0) if same else 0
    images = np.lib.format.open_memmap(partial, mode="r+" if start else "w+", dtype=np.uint8, shape=(n, size, size, 3))
    begins = range(start, n, chunk)
    with closing(iter(chunks(begins))) as blocks:
        for begin, block in zip(begins, tqdm(blocks, total=len(begins), desc="convert", disable=not progress)):
            images[begin:begin + chunk] = block
            images.flush()
            atomic_write_json({"done": min(n, begin + chunk), "meta": meta}, record)
    del images
    np.save(out / LABELS, labels.astype(np.int64))
    partial.rename(out / IMAGES)
    atomic_write_json(meta, out / META)
    record.unlink(missing_ok=True)
    return out


def _decoded(paths: list[Path], begins: range, chunk: int, size: int, crop: str, draft: bool,
             workers: int) -> Iterator[np.ndarray]:
    """The images of ``paths[a:a + chunk]`` for each ``a`` of ``begins``, in order: decoded here, or by ``workers``
    processes, one chunk each, at most ``workers + 1`` chunks ahead of the writer."""
    if workers == 1:
        for a in begins:
            yield read_images(paths[a:a + chunk], size, crop, draft)
        return
    pool, pending = ProcessPoolExecutor(workers), deque()
    try:
        for a in begins:
            pending.append(pool.submit(read_images, paths[a:a + chunk], size, crop, draft))
            if len(pending) > workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        pool.shutdown(cancel_futures=True)


def write_memmap(files: ImageFiles, out, image_size: int = 64, crop: str = "center", source_root=None,
                 chunk: int = 512, progress: bool = True, workers: int = 1, draft: bool = False) -> Path:
    """Convert listed image files (a folder, a subset manifest, ...) to the memmap form at ``out``, decoded by
    ``workers`` processes (the same bytes as one; resumable alike). ``draft``: JPEGs decoded at a reduced scale
    (see :func:`~nml_tutorial.data.files.read_image`), recorded in the settings."""
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    root = Path(source_root) if source_root is not None else Path(os.path.commonpath([str(p) for p in files.paths]))
    settings = {"image_size": image_size, "crop": crop, "resize": "bilinear, shorter side"}
    meta = {"classes": list(files.class_names), "count": len(files), "domain": files.domain,
            "source": str(root), "source_checksum": listing_checksum(files, root),
            "settings": settings | ({"decode": "JPEG draft (reduced scale)"} if draft else {})}
    return _write(Path(out), len(files), image_size,
                  lambda begins: _decoded(files.paths, begins, chunk, image_size, crop, draft, workers),
                  files.labels, meta, chunk, progress,
                  files_txt="".join(f"{Path(p).relative_to(root)}\n" for p in files.paths))


def _read_downsampled(path: Path, key: str) -> np.ndarray:
    """One array (``data`` or ``labels``) of a downsampled-ImageNet batch file (``.npz``: only that array is read)."""
    if path.suffix == ".npz":
        with np.load(path) as f:
            return np.asarray(f[key])
    with path.open("rb") as f:
        return np.asarray(pickle.load(f)[key])


class _Rows:
    """Rows ``a:b`` of the images of consecutive batch files, holding one file's pixels in memory at a time."""

    def __init__(self, batches: list[Path], counts: list[int], size: int):
        self.batches, self.size = batches, size
        self.starts = np.concatenate([[0], np.cumsum(counts)])
        self.loaded = (None, None)

    def _file(self, i: int) -> np.ndarray:
        if self.loaded[0] != i:
            self.loaded = (None, None)  # free the previous file first
            self.loaded = (i, _read_downsampled(self.batches[i], "data").reshape(-1, 3, self.size, self.size))
        return self.loaded[1]

    def __call__(self, a: int, b: int) -> np.ndarray:
        parts = []
        for i in range(len(self.batches)):
            lo, hi = max(a, self.starts[i]), min(b, self.starts[i + 1])
            if lo < hi:
                parts.append(self._file(i)[lo - self.starts[i]:hi - self.starts[i]])
        return np.concatenate(parts).transpose(0, 2, 3, 1)


def _batch_files(sources: list[Path], split: str) -> list[Path]:
    """The split's batch files anywhere under ``sources``, in batch order, each batch once: a batch found twice is
    taken once where both copies hold the same bytes, else refused."""
    stem = "train_data_batch_" if split == "train" else "val_data"
    name = re.compile(re.escape(stem) + r"(\d*)(?:\.npz)?")
    found: dict[int, set[Path]] = {}
    for source in sources:
        for path in source.rglob(stem + "*"):
            match = name.fullmatch(path.name)
            if match and path.is_file():
                found.setdefault(int(match.group(1) or 0), set()).add(path.resolve())
    batches = []
    for number in sorted(found):
        first, *others = sorted(found[number])
        differ = [p for p in others if not filecmp.cmp(first, p, shallow=False)]
        if differ:
            raise ValueError(f"{first} and {differ[0]} are two different copies of the same {split} batch; pass one "
                             "copy of the release (its .npz files or its pickles, not both)")
        batches.append(first)
    return batches


_NUMBERING_FIX = ("pass map_clsloc.txt (--map-clsloc; in the data/ folder of the ILSVRC 2015 or 2017 devkit, or beside "
                 "the downsampled release's code) or the extracted ILSVRC2012_devkit_t12 (--devkit; its meta.mat "
                 "numbers the classes in the same order)")


def _class_ids(numbering) -> dict[int, str]:
    """The downsampled release's class numbers (1 ... 1,000) -> WordNet ids, from ``map_clsloc.txt`` or from the
    ILSVRC-2012 devkit (its folder or ``data/meta.mat``), whose ``ILSVRC2012_ID`` numbers the classes alike."""
    path = Path(numbering) / "data" / "meta.mat" if Path(numbering).is_dir() else Path(numbering)
    path = require_file(path, "class numbering (map_clsloc.txt or the devkit's data/meta.mat)", _NUMBERING_FIX)
    if path.suffix == ".mat":
        return devkit_classes(path)
    wnid_of = {}
    for n, line in enumerate(path.read_text().splitlines(), 1):
        parts = line.split()
        if len(parts) < 2 or not parts[1].isdigit():
            raise ValueError(f"{path} line {n} is not '<wnid> <id> <name>': {line!r}; {_NUMBERING_FIX}")
        wnid_of[int(parts[1])] = parts[0]
    return wnid_of


def convert_downsampled(src, class_ids, out, split: str = "train", expect: int | None = None, chunk: int = 8192,
                        progress: bool = True) -> Path:
    """The downsampled ImageNet release (Chrabaszcz et al. 2017; 32x32 or 64x64; ``train_data_batch_*`` and
    ``val_data``, ``.npz`` or pickles) to the memmap form, its labels remapped to sorted WordNet ids. ``src``: a
    folder or several (the 64x64 train split comes as two archives), searched recursively; each batch is taken once,
    in batch order. ``class_ids``: the release's class numbering, ``map_clsloc.txt`` or the ILSVRC-2012 devkit (its
    folder or ``data/meta.mat``). The images must number ``expect`` (default: ImageNet-1K's, 1,281,167 train or
    50,000 val). Reads one batch file at a time."""
    if split not in IMAGENET_COUNTS:
        raise ValueError(f"split must be 'train' or 'val', got {split!r}")
    sources = [require_dir(s, "downsampled ImageNet folder", "extract Imagenet64_train_part1.zip (or 32x32, or the "
                           "val zip) there") for s in ([src] if isinstance(src, (str, os.PathLike)) else src)]
    where = ", ".join(str(s) for s in sources)
    batches = _batch_files(sources, split)
    if not batches:
        raise FileNotFoundError(f"no {'train_data_batch_*' if split == 'train' else 'val_data'} files under {where}; "
                                "is it the extracted downsampled ImageNet release?")
    wnid_of = _class_ids(class_ids)
    raw = [_read_downsampled(p, "labels").astype(np.int64) for p in batches]
    count = sum(len(r) for r in raw)
    if count != (IMAGENET_COUNTS[split] if expect is None else expect):
        wanted = (f"ImageNet-1K's {IMAGENET_COUNTS[split]:,}: pass every folder of the release (the 64x64 train "
                  "split comes as Imagenet64_train_part1 and _part2: --downsampled DIR DIR), or --expect "
                  f"{count} to convert this subset deliberately" if expect is None else f"the {expect:,} expected "
                  "(--expect)")
        raise ValueError(f"{count:,} {split} images in {len(batches)} batch files "
                         f"({', '.join(p.name for p in batches)}) under {where}, not {wanted}")
    index = {w: i for i, w in enumerate(imagenet_wnids())}
    unknown = sorted({int(y) for y in np.concatenate(raw)} - {k for k, w in wnid_of.items() if w in index})
    if unknown:
        raise ValueError(f"labels {unknown[:5]} of {where} are not ImageNet-1K classes in {class_ids}; "
                         f"{_NUMBERING_FIX}")
    labels = np.array([index[wnid_of[int(y)]] for part in raw for y in part], dtype=np.int64)
    first = _read_downsampled(batches[0], "data")
    size = int(round((first.shape[1] / 3) ** 0.5))
    if 3 * size * size != first.shape[1]:
        raise ValueError(f"rows of {first.shape[1]} values in {batches[0]} are not 3 x s x s images")
    del first
    digest = hashlib.sha256()
    for p in batches:
        with p.open("rb") as f:
            for block in iter(lambda: f.read(1 << 24), b""):
                digest.update(block)
    meta = {"classes": imagenet_wnids(), "count": len(labels), "domain": "photo", "source": where,
            "source_checksum": digest.hexdigest(),
            "settings": {"image_size": size, "crop": "as released", "resize": "box (Chrabaszcz et al. 2017)",
                         "labels": "map_clsloc ids remapped to sorted wnids"}}
    rows = _Rows(batches, [len(r) for r in raw], size)
    return _write(Path(out), len(labels), size, lambda begins: (rows(a, min(len(labels), a + chunk)) for a in begins),
                  labels, meta, chunk, progress)


def noisy_label_path(root, name) -> Path:
    """Where a memmap dataset's noisy-label file is: ``name`` itself when absolute, else under ``root``."""
    return Path(name) if Path(name).is_absolute() else Path(root) / name


def load_memmap(root, noisy_labels=None, device=None) -> LabeledImages:
    """A memmap-form dataset. The images stay mapped in host memory, never read whole: training moves them to the
    device at once when they fit, else batch by batch (:class:`~nml_tutorial.feeding.Feeder`); the labels go
    to ``device``. ``noisy_labels``: a ``.npy`` of labels (a path, or a name under ``root``, e.g. from
    ``data_scripts/noisy_labels.py``), kept as ``attributes["noisy_labels"]`` for ``noise_type="file"``."""
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
        path = noisy_label_path(root, noisy_labels)
        noisy = torch.from_numpy(np.load(require_file(path, "noisy-label file", "write one with "
                                                      "data_scripts/noisy_labels.py"))).long()
        if noisy.shape != labels.shape or int(noisy.min()) < 0 or int(noisy.max()) >= len(meta["classes"]):
            raise ValueError(f"{path}: {tuple(noisy.shape)} labels in [{int(noisy.min())}, {int(noisy.max())}] do not "
                             f"fit {labels.numel()} images of {len(meta['classes'])} classes; "
                             "was it made for this set?")
        attributes["noisy_labels"] = noisy
    if device is not None:
        labels = labels.to(device)
        attributes = {k: v.to(device) for k, v in attributes.items()}
    return LabeledImages(torch.from_numpy(images).permute(0, 3, 1, 2), labels, meta["classes"], meta["domain"],
                         attributes)
