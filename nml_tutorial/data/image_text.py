"""Image-text pairs for contrastive pre-training: a folder of ``<key>.jpg`` + ``<key>.txt`` files, or webdataset
tar shards (``*.tar`` whose members are ``<key>.jpg`` and ``<key>.txt``), read with the standard library."""

from __future__ import annotations

import io
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .files import IMAGE_SUFFIXES, read_image, require_dir


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


def _pairs_in_folder(root: Path, size: int, crop: str):
    for image in sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES):
        caption = image.with_suffix(".txt")
        if not caption.is_file():
            raise FileNotFoundError(f"{image} has no caption file {caption.name}; "
                                    "every image needs <key>.txt beside it")
        yield read_image(image, size, crop), caption.read_text().strip()


def _pairs_in_shards(shards: list[Path], size: int, crop: str):
    for shard in shards:
        with tarfile.open(shard) as tar:
            members = {m.name: m for m in tar.getmembers() if m.isfile()}
            keys = sorted({name.rsplit(".", 1)[0] for name in members})
            for key in keys:
                image = next((members[key + s] for s in IMAGE_SUFFIXES if key + s in members), None)
                caption = members.get(key + ".txt")
                if image is None or caption is None:
                    raise ValueError(f"{shard}: sample {key!r} lacks an image or a .txt caption; each key needs both")
                pixels = read_image(io.BytesIO(tar.extractfile(image).read()), size, crop)
                yield pixels, tar.extractfile(caption).read().decode().strip()


def load_image_text(root, image_size: int = 32, crop: str = "center", limit: int | None = None,
                    device=None) -> ImageTextPairs:
    """Image-caption pairs from a folder of pairs or of webdataset ``.tar`` shards (sorted keys; at most ``limit``)."""
    root = require_dir(root, "image-text folder", "put <key>.jpg + <key>.txt pairs (or webdataset .tar shards) there")
    shards = sorted(root.glob("*.tar"))
    pairs = _pairs_in_shards(shards, image_size, crop) if shards else _pairs_in_folder(root, image_size, crop)
    images, captions = [], []
    for pixels, caption in pairs:
        images.append(pixels)
        captions.append(caption)
        if limit is not None and len(captions) >= limit:
            break
    if not captions:
        raise FileNotFoundError(f"no image-caption pairs under {root}")
    data = ImageTextPairs(torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous(), captions)
    return data.to(device) if device is not None else data
