"""Datasets stored as image files: listing, reading (resize + crop), checking folders, and writing class folders
(the fabricated ImageNet-format data of notebook 07_full_scale and the tests)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .common import LabeledImages

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
CROPS = ("center", "none")  # resize the shorter side and centre-crop, or squash the whole image to a square


@dataclass
class ImageFiles:
    """Image paths, their int64 labels and the class names the labels index."""

    paths: list[Path]
    labels: np.ndarray
    class_names: list[str]
    domain: str = "photo"

    def __post_init__(self):
        self.labels = np.asarray(self.labels, dtype=np.int64)
        if len(self.paths) != len(self.labels):
            raise ValueError(f"{len(self.paths)} images but {len(self.labels)} labels")
        if len(self.labels) and (self.labels.min() < 0 or self.labels.max() >= len(self.class_names)):
            raise ValueError(f"labels must lie in [0, {len(self.class_names) - 1}] for {len(self.class_names)} classes")

    def __len__(self) -> int:
        return len(self.paths)


def require_dir(path, what: str, fix: str) -> Path:
    """``path`` as an absolute Path, or a FileNotFoundError naming what was expected there and how to get it."""
    path = Path(path).expanduser().resolve()
    if not path.is_dir():
        raise FileNotFoundError(f"no {what} at {path}: {fix}")
    return path


def require_file(path, what: str, fix: str) -> Path:
    path = Path(path).expanduser().resolve()
    if not path.is_file():
        raise FileNotFoundError(f"no {what} at {path}: {fix}")
    return path


def image_files(folder: Path) -> list[Path]:
    """Every image under ``folder`` (recursively), sorted."""
    return sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def read_image(path: Path, size: int, crop: str = "center", draft: bool = False) -> np.ndarray:
    """One image file as uint8 (size, size, 3) RGB: the shorter side resized to ``size`` and centre-cropped
    (``crop="center"``), or the whole image resized to a square (``"none"``). ``draft``: a JPEG much larger than
    ``size`` is decoded at 1/2, 1/4 or 1/8 scale (never below ``size`` on either side) before the same resize:
    about twice as fast for 64 px from a 500 x 375 photo, pixels ~1 grey level from the full decoding's on average;
    other formats are unaffected."""
    from PIL import Image, UnidentifiedImageError

    if crop not in CROPS:
        raise ValueError(f"unknown crop {crop!r}; choose one of {list(CROPS)}")
    if isinstance(path, (str, Path)) and not Path(path).is_file():
        raise FileNotFoundError(f"image {path} is listed but not there; extract the dataset again or fix its listing")
    try:
        with Image.open(path) as img:
            if draft:
                img.draft("RGB", (size, size))
            img = img.convert("RGB")
            if crop == "center":
                w, h = img.size
                scale = size / min(w, h)
                img = img.resize((max(size, round(w * scale)), max(size, round(h * scale))), Image.BILINEAR,
                                 reducing_gap=3.0)
                left, top = (img.width - size) // 2, (img.height - size) // 2
                img = img.crop((left, top, left + size, top + size))
            else:
                img = img.resize((size, size), Image.BILINEAR, reducing_gap=3.0)
            return np.asarray(img, dtype=np.uint8)
    except (UnidentifiedImageError, OSError) as err:
        raise ValueError(f"cannot read image {path} ({err}); delete or replace the file") from err


def read_images(paths, size: int, crop: str = "center", draft: bool = False) -> np.ndarray:
    """Image files as one uint8 (N, size, size, 3) array (see :func:`read_image`)."""
    out = np.empty((len(paths), size, size, 3), dtype=np.uint8)
    for i, path in enumerate(paths):
        out[i] = read_image(path, size, crop, draft)
    return out


def load_files(files: ImageFiles, image_size: int, crop: str = "center", device=None) -> LabeledImages:
    """Read listed image files into memory as :class:`LabeledImages` (uint8 NCHW), one at a time into the one
    array allocated for all of them: the peak is the images' size, not twice it."""
    if len(files) == 0:
        raise ValueError("no images were found to load; check the folder and the class list")
    images = torch.empty((len(files), 3, image_size, image_size), dtype=torch.uint8)
    filled = images.numpy()  # the same memory
    for i, path in enumerate(files.paths):
        filled[i] = read_image(path, image_size, crop).transpose(2, 0, 1)
    data = LabeledImages(images, torch.from_numpy(files.labels), list(files.class_names), files.domain)
    return data.to(device) if device is not None else data


def listing_checksum(files: ImageFiles, root) -> str:
    """SHA-256 of the listing (relative path, byte size, label of every file): changes when any file is added,
    removed, relabelled or rewritten with another size, without reading every image."""
    digest = hashlib.sha256()
    for path, label in zip(files.paths, files.labels.tolist()):
        digest.update(f"{Path(path).relative_to(root)}\t{Path(path).stat().st_size}\t{label}\n".encode())
    return digest.hexdigest()


def save_image_folder(data: LabeledImages, root, folder_names: list[str] | None = None, suffix: str = ".JPEG",
                      quality: int = 95) -> Path:
    """Write images as ``root/<class folder>/<class folder>_<i>.JPEG``: the ImageNet train layout.
    ``folder_names`` name the class folders (default: the class names)."""
    from PIL import Image

    root = Path(root)
    names = folder_names or data.class_names
    if len(names) != data.num_classes:
        raise ValueError(f"{len(names)} folder names for {data.num_classes} classes")
    counts = [0] * data.num_classes
    pixels = data.images.permute(0, 2, 3, 1).cpu().numpy()
    for img, label in zip(pixels, data.labels.tolist()):
        folder = root / names[label]
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(folder / f"{names[label]}_{counts[label]}{suffix}", quality=quality)
        counts[label] += 1
    return root
