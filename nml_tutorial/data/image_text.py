"""Image-text pairs for contrastive pre-training, in three forms: a folder of ``<key>.jpg`` + ``<key>.txt`` files,
webdataset ``.tar`` shards, or the memmap form converted from either (``images.npy``, an (N, H, W, 3) uint8 memory
map; ``captions.json``; ``meta.json``, written last). The first two are read into one uint8 array allocated once;
the memmap form is mapped, not read."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..atomic import atomic_write_json
from .files import CROPS, IMAGE_SUFFIXES, read_image, require_dir

CAPTION_SUFFIXES = (".txt", ".caption", ".json")  # the first one a sample has is its caption
IMAGES, CAPTIONS, META, PROGRESS = "images.npy", "captions.json", "meta.json", "progress.json"
FORMAT = "image_text"  # meta.json's "format": tells this form from a labelled memmap (data/memmap.py)


@dataclass
class ImageTextPairs:
    """uint8 images (N, 3, H, W) and one caption each."""

    images: torch.Tensor
    captions: list[str]
    domain: str = "photo"

    def __post_init__(self):
        if self.images.dtype != torch.uint8 or self.images.dim() != 4 or len(self.captions) != self.images.shape[0]:
            raise ValueError(f"need uint8 (N, C, H, W) images and N captions, got {tuple(self.images.shape)} images "
                             f"and {len(self.captions)} captions")

    def __len__(self) -> int:
        return len(self.captions)

    def to(self, device) -> "ImageTextPairs":
        return ImageTextPairs(self.images.to(device), self.captions, self.domain)


def _caption(text: str, suffix: str, where: str) -> str:
    """The caption of a ``.txt`` or ``.caption`` file (its text) or of a ``.json`` one (its "caption" or "text")."""
    if suffix != ".json":
        return text.strip()
    try:
        record = json.loads(text)
    except ValueError as err:
        raise ValueError(f"{where} is not JSON ({err}); fix or delete it") from err
    found = record.get("caption", record.get("text")) if isinstance(record, dict) else None
    if not isinstance(found, str):
        raise ValueError(f'{where} has no "caption" or "text" string; give the sample a .txt caption')
    return found.strip()


def webdataset_key(name: str) -> tuple[str, str] | None:
    """A shard member's sample key and extension as webdataset splits them: the path up to the first dot of the
    base name, and the rest lower-cased (``"dir/abc.def.JPG"`` -> ``("dir/abc", "def.jpg")``). None for the
    members webdataset skips: a base name without a dot or starting with one, top-level ``__*__`` metadata."""
    if "/" not in name and name.startswith("__") and name.endswith("__"):
        return None
    folder, _, base = name.rpartition("/")
    stem, dot, extension = base.partition(".")
    if not stem or not dot:
        return None
    return f"{folder}/{stem}" if folder else stem, extension.lower()


class _Pairs:
    """The samples of a folder of pairs or of webdataset shards in order (sorted paths; sorted keys shard by
    shard), the first ``limit`` of them: where each image lies, its caption, and a digest of names, image sizes and
    captions."""

    def __init__(self, root: Path, limit: int | None = None):
        self.shards = sorted(root.glob("*.tar"))
        self.images: list = []  # image paths, or (shard number, member name)
        self.captions: list[str] = []
        self.digest = hashlib.sha256()
        if self.shards:
            self._index_shards(limit)
        else:
            self._index_folder(root, limit)

    def __len__(self) -> int:
        return len(self.captions)

    def _add(self, image, name: str, size: int, caption: str) -> None:
        self.images.append(image)
        self.captions.append(caption)
        self.digest.update(json.dumps([name, size, caption]).encode() + b"\n")

    def _index_folder(self, root: Path, limit: int | None) -> None:
        """Every image (suffix in any case) with the first of ``<stem>.txt``, ``.caption``, ``.json`` beside it."""
        paths = sorted(root.rglob("*"))
        captions = {}
        for path in paths:
            if path.suffix.lower() in CAPTION_SUFFIXES:
                captions.setdefault(path.with_suffix(""), {}).setdefault(path.suffix.lower(), path)
        for image in (path for path in paths if path.suffix.lower() in IMAGE_SUFFIXES):
            if limit is not None and len(self) >= limit:
                return
            found = captions.get(image.with_suffix(""), {})
            caption = next((found[s] for s in CAPTION_SUFFIXES if s in found), None)
            if caption is None:
                raise FileNotFoundError(f"{image} has no caption file; every image needs <key>.txt (or .caption, "
                                        ".json) beside it")
            self._add(image, str(image.relative_to(root)), image.stat().st_size,
                      _caption(caption.read_text(encoding="utf-8"), caption.suffix.lower(), str(caption)))

    def _index_shards(self, limit: int | None) -> None:
        """Per shard, the members grouped into samples by :func:`webdataset_key`; each needs an image (the first
        extension of ``IMAGE_SUFFIXES`` it has) and a caption (the first of ``CAPTION_SUFFIXES``)."""
        images = [s.lstrip(".") for s in IMAGE_SUFFIXES]
        captions = [s.lstrip(".") for s in CAPTION_SUFFIXES]
        for number, shard in enumerate(self.shards):
            with tarfile.open(shard) as tar:
                samples = {}
                for member in tar.getmembers():
                    split = webdataset_key(member.name) if member.isfile() else None
                    if split is None:
                        continue
                    key, extension = split
                    if extension in samples.setdefault(key, {}):
                        raise ValueError(f"{shard}: sample {key!r} has two .{extension} members (extensions compare "
                                         "case-insensitively); keep one")
                    samples[key][extension] = member
                for key in sorted(samples):
                    if limit is not None and len(self) >= limit:
                        return
                    found = samples[key]
                    image = next((found[e] for e in images if e in found), None)
                    caption = next((e for e in captions if e in found), None)
                    if image is None or caption is None:
                        raise ValueError(f"{shard}: sample {key!r} ({', '.join(sorted(found))}) lacks "
                                         f"{'an image' if image is None else 'a caption'}; each sample needs an image "
                                         f"({', '.join(images)}) and a caption ({', '.join(captions)})")
                    where = f"{shard}: {found[caption].name}"
                    text = tar.extractfile(found[caption]).read().decode("utf-8")
                    self._add((number, image.name), f"{shard.name}/{image.name}", image.size,
                              _caption(text, "." + caption, where))

    def pixels(self, begin: int, end: int, size: int, crop: str):
        """The uint8 (size, size, 3) images of samples ``begin`` to ``end``, in order."""
        if not self.shards:
            yield from (read_image(path, size, crop) for path in self.images[begin:end])
            return
        tar, opened, members = None, None, {}
        try:
            for number, name in self.images[begin:end]:
                if number != opened:
                    if tar is not None:
                        tar.close()
                    tar, opened = tarfile.open(self.shards[number]), number
                    members = {m.name: m for m in tar.getmembers()}
                try:
                    pixels = read_image(io.BytesIO(tar.extractfile(members[name]).read()), size, crop)
                except ValueError as err:
                    why = type(err.__cause__ or err).__name__
                    raise ValueError(f"{self.shards[number]}: cannot read image {name} ({why}); replace or remove "
                                     "the sample") from err
                yield pixels
        finally:
            if tar is not None:
                tar.close()


def write_pairs_memmap(root, out, image_size: int = 64, crop: str = "center", chunk: int = 512,
                       progress: bool = True) -> Path:
    """Convert a folder of pairs or webdataset shards to the memmap form at ``out``: ``images.npy`` filled
    ``chunk`` images at a time through a ``.partial`` file, how far it got recorded after every chunk (an
    interrupted conversion resumes there), then ``captions.json``, then ``meta.json``. Holds one chunk of images
    in memory. A finished conversion of the same source and settings is kept; of another, refused."""
    from tqdm.auto import tqdm

    if crop not in CROPS:
        raise ValueError(f"unknown crop {crop!r}; choose one of {list(CROPS)}")
    root, out = _pairs_dir(root), Path(out)
    pairs = _Pairs(root)
    if not len(pairs):
        raise FileNotFoundError(f"no image-caption pairs under {root}")
    meta = {"format": FORMAT, "count": len(pairs), "domain": "photo", "source": str(root),
            "source_checksum": pairs.digest.hexdigest(),
            "settings": {"image_size": image_size, "crop": crop, "resize": "bilinear, shorter side"}}
    if (out / META).exists():
        done = json.loads((out / META).read_text())
        if done.get("settings") != meta["settings"] or done.get("source_checksum") != meta["source_checksum"]:
            raise FileExistsError(f"{out} already holds another conversion ({done.get('settings')}, source "
                                  f"{done.get('source')}); choose another --out or delete it")
        return out
    out.mkdir(parents=True, exist_ok=True)
    partial, record = out / (IMAGES + ".partial"), out / PROGRESS
    state = json.loads(record.read_text()) if record.exists() and partial.exists() else {}
    start = state.get("done", 0) if state.get("meta") == meta else 0
    if not start:
        # created at full size (sparse) and closed: each chunk maps it again
        np.lib.format.open_memmap(partial, mode="w+", dtype=np.uint8, shape=(len(pairs), image_size, image_size, 3))
    for begin in tqdm(range(start, len(pairs), chunk), desc="convert", disable=not progress):
        end = min(len(pairs), begin + chunk)
        images = np.lib.format.open_memmap(partial, mode="r+")  # mapped one chunk at a time: its pages leave after
        for i, pixels in enumerate(pairs.pixels(begin, end, image_size, crop), begin):
            images[i] = pixels
        images.flush()
        del images
        atomic_write_json({"done": end, "meta": meta}, record)
    partial.rename(out / IMAGES)
    atomic_write_json(pairs.captions, out / CAPTIONS)
    atomic_write_json(meta, out / META)
    record.unlink(missing_ok=True)
    return out


def _pairs_dir(root) -> Path:
    return require_dir(root, "image-text folder", "put <key>.jpg + <key>.txt pairs (or webdataset .tar shards) there")


def _load_memmap(root: Path, image_size: int | None, crop: str | None, limit: int | None) -> ImageTextPairs:
    """The memmap form, mapped: the images are an (N, 3, H, W) view of the (N, H, W, 3) file, paged in as read."""
    meta = json.loads((root / META).read_text())
    if meta.get("format") != FORMAT:
        raise ValueError(f"{root} is a labelled memmap dataset, not image-text pairs; load it as 'memmap', or convert"
                         " pairs with data_scripts/build_pairs_memmap.py")
    for name, given in (("image_size", image_size), ("crop", crop)):
        if given is not None and given != meta["settings"][name]:
            raise ValueError(f"{root} holds pairs converted with {name}={meta['settings'][name]!r}, not {given!r}; "
                             f"pass {name}={meta['settings'][name]!r} or convert them again with that setting")
    images = np.load(root / IMAGES, mmap_mode="c")
    captions = json.loads((root / CAPTIONS).read_text())
    if not images.shape[0] == len(captions) == meta["count"]:
        raise ValueError(f"{root}: {images.shape[0]} images, {len(captions)} captions, meta says {meta['count']}; "
                         "the folder is damaged: delete it and convert again")
    count = len(captions) if limit is None else min(limit, len(captions))
    return ImageTextPairs(torch.from_numpy(images[:count]).permute(0, 3, 1, 2), captions[:count], meta["domain"])


def load_image_text(root, image_size: int | None = None, crop: str | None = None, limit: int | None = None,
                    device=None) -> ImageTextPairs:
    """Image-caption pairs (at most ``limit``) from a folder of pairs or of webdataset shards, read at
    ``image_size`` (default 32) and ``crop`` (default "center") into one uint8 array on ``device``; or from the
    memmap form, whose images stay mapped in host memory whatever the device (training sends them batch by batch)
    and whose size and crop are those it was converted with."""
    root = _pairs_dir(root)
    if (root / META).is_file() and (root / IMAGES).is_file():
        return _load_memmap(root, image_size, crop, limit)
    if (root / (IMAGES + ".partial")).exists():
        raise FileNotFoundError(f"{root} has no {META}: the conversion did not finish; rerun data_scripts/"
                                "build_pairs_memmap.py with the same arguments to resume it")
    size, crop = 32 if image_size is None else image_size, crop or "center"
    pairs = _Pairs(root, limit)
    if not len(pairs):
        raise FileNotFoundError(f"no image-caption pairs under {root}")
    images = torch.empty((len(pairs), 3, size, size), dtype=torch.uint8)
    filled = images.numpy()  # the same memory
    for i, pixels in enumerate(pairs.pixels(0, len(pairs), size, crop)):
        filled[i] = pixels.transpose(2, 0, 1)
    data = ImageTextPairs(images, pairs.captions)
    return data.to(device) if device is not None else data
