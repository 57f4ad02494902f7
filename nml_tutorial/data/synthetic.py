"""The embedded, procedurally generated image dataset (SYNTHETIC: no real photographs).

A class is a combination of a shape (10), a fill pattern (4) and a count of copies (1-3), so 120
classes exist and any subset shares its attributes with the rest: held-out classes are new tasks
from the pre-training distribution. Each image draws a random pose, size, colour, background and
clutter. The same scene can be rendered in five *domains* (:mod:`nml_tutorial.data.styles`: photo, sketch,
painting, clipart, corrupted) that keep the classes and change the style, standing in for DomainNet /
ImageNet-R / -Sketch / -C.

Everything is rendered with batched tensor ops (on the GPU when ``device`` is one). All randomness
comes from seeded CPU generators, so the same seed gives the same images on any device up to
float rounding.
"""

from __future__ import annotations

import hashlib
import math

import torch

from .common import LabeledImages
from .styles import DOMAINS, RENDER

SHAPES = ("circle", "square", "triangle", "diamond", "cross", "star", "hexagon", "ring", "crescent", "ellipse")
FILLS = ("solid", "striped", "checkered", "dotted")
COUNTS = (1, 2, 3)
SPLITS = ("train", "val", "test")
MAX_CLASSES = len(SHAPES) * len(FILLS) * len(COUNTS)
_COUNT_WORDS = {1: "one", 2: "two", 3: "three"}
BASE_SIZE = (0.0, 0.55, 0.33, 0.27)  # typical object size (fraction of the image) for 1, 2, 3 copies
_CHUNK_PIXELS = 512 * 32 * 32  # images rendered at once, sized to stay in cache



def class_table(num_classes: int) -> list[tuple[str, str, int]]:
    """The first ``num_classes`` (shape, fill, count) combinations, in a fixed shuffled order."""
    if not 2 <= num_classes <= MAX_CLASSES:
        raise ValueError(f"num_classes must be between 2 and {MAX_CLASSES}, got {num_classes}")
    combos = [(s, f, c) for s in SHAPES for f in FILLS for c in COUNTS]
    order = torch.randperm(len(combos), generator=torch.Generator().manual_seed(20240311))
    return [combos[i] for i in order[:num_classes].tolist()]


def class_name(shape: str, fill: str, count: int) -> str:
    return f"{_COUNT_WORDS[count]} {fill} {shape}{'s' if count > 1 else ''}"


def _seed(*parts) -> int:
    return int.from_bytes(hashlib.sha256(repr(parts).encode()).digest()[:8], "little") >> 1


def _shape_sdf(shape: str, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Approximate signed distance (negative inside) of a unit-sized shape at local coordinates."""
    ax, ay = x.abs(), y.abs()
    r = torch.sqrt(x * x + y * y)
    if shape == "circle":
        return r - 0.9
    if shape == "square":
        return torch.maximum(ax, ay) - 0.75
    if shape == "triangle":
        return torch.maximum(ax * 0.866 + y * 0.5, -y) - 0.5
    if shape == "diamond":
        return (ax + ay - 1.05) * 0.707
    if shape == "cross":
        return torch.minimum(torch.maximum(ax - 0.95, ay - 0.3), torch.maximum(ax - 0.3, ay - 0.95))
    if shape == "star":
        return r - (0.7 + 0.3 * torch.cos(5 * torch.atan2(y, x)))
    if shape == "hexagon":
        return torch.maximum(ax * 0.866 + ay * 0.5, ay) - 0.8
    if shape == "ring":
        return (r - 0.72).abs() - 0.24
    if shape == "crescent":
        return torch.maximum(r - 0.95, 0.75 - torch.sqrt((x - 0.5) ** 2 + y * y))
    if shape == "ellipse":
        return torch.sqrt(x * x + (y / 0.5) ** 2) * 0.5 - 0.47
    raise ValueError(f"unknown shape {shape!r}")


def _sample_geometry(labels: torch.Tensor, table, g: torch.Generator) -> dict[str, torch.Tensor]:
    """Per-image scene parameters on the CPU: shape/fill/count codes, copy placement, colour."""
    n = labels.numel()
    shape_code = torch.tensor([SHAPES.index(table[c][0]) for c in range(len(table))])[labels]
    fill_code = torch.tensor([FILLS.index(table[c][1]) for c in range(len(table))])[labels]
    count = torch.tensor([table[c][2] for c in range(len(table))])[labels]
    u = lambda *shape: torch.rand(*shape, generator=g)  # noqa: E731
    base = torch.tensor(BASE_SIZE)[count]
    size = base * (0.8 + 0.35 * u(n))
    spread = torch.tensor([0.0, 0.0, 0.42, 0.45])[count]
    layout = u(n, 1) * 2 * math.pi + torch.tensor([0.0, 2.094, 4.189]) * (count[:, None] == 3) \
        + torch.tensor([0.0, math.pi, 0.0]) * (count[:, None] == 2)
    center = (u(n, 2) - 0.5) * 0.5
    offsets = spread[:, None, None] * torch.stack([layout.cos(), layout.sin()], -1)
    return {
        "shape": shape_code, "fill": fill_code, "count": count,
        "center": center, "copy_xy": center[:, None, :] + offsets,
        "copy_size": size[:, None] * (0.9 + 0.2 * u(n, 3)), "copy_angle": u(n, 3) * 2 * math.pi,
        "pattern_freq": 2.2 * (0.9 + 0.2 * u(n)), "pattern_phase": u(n) * 2 * math.pi,
        "hue": u(n), "saturation": 0.55 + 0.45 * u(n), "value": 0.55 + 0.45 * u(n), "size": size,
    }


def _rasterise(geo: dict[str, torch.Tensor], size: int, device) -> dict[str, torch.Tensor]:
    """Signed distance in pixels, pattern field and pixel grid for every image.

    Only the copies an image really has are evaluated, each shape on its own subset.
    """
    geo = {k: v.to(device) for k, v in geo.items()}
    n = geo["count"].numel()
    coords = (torch.arange(size, device=device, dtype=torch.float32) + 0.5) / size * 2 - 1
    gy, gx = torch.meshgrid(coords, coords, indexing="ij")
    image, copy = torch.nonzero(torch.arange(3, device=device)[None] < geo["count"][:, None], as_tuple=True)
    dx = gx - geo["copy_xy"][image, copy, 0, None, None]
    dy = gy - geo["copy_xy"][image, copy, 1, None, None]
    angle, scale = geo["copy_angle"][image, copy], geo["copy_size"][image, copy, None, None]
    cos, sin = angle.cos()[:, None, None], angle.sin()[:, None, None]
    lx, ly = (cos * dx + sin * dy) / scale, (-sin * dx + cos * dy) / scale  # (copies, H, W)
    shape = geo["shape"][image]
    sdf = torch.empty_like(lx)
    for code, name in enumerate(SHAPES):
        idx = torch.nonzero(shape == code).flatten()
        if idx.numel():
            sdf[idx] = _shape_sdf(name, lx[idx], ly[idx])
    def per_copy(values: torch.Tensor, fill: float) -> torch.Tensor:
        out = torch.full((n, 3, size, size), fill, device=device)
        out[image, copy] = values
        return out

    sdf, nearest = per_copy(sdf * scale * (size / 2), 1e4).min(1, keepdim=True)
    lx, ly = per_copy(lx, 0.0).gather(1, nearest)[:, 0], per_copy(ly, 0.0).gather(1, nearest)[:, 0]
    sdf = sdf[:, 0]

    freq, phase = geo["pattern_freq"][:, None, None] * math.pi, geo["pattern_phase"][:, None, None]
    field = torch.zeros(n, size, size, device=device)
    for code, fill in enumerate(FILLS[1:], start=1):
        idx = torch.nonzero(geo["fill"] == code).flatten()
        if idx.numel():
            field[idx] = _pattern_field(fill, freq[idx] * lx[idx] + phase[idx], freq[idx] * ly[idx])
    has_pattern = (geo["fill"] > 0).float()[:, None, None]
    return {
        "sdf": sdf, "alpha": (0.5 - sdf).clamp(0, 1),
        "pattern": torch.sigmoid(6 * field) * has_pattern,
        "pattern_edge": torch.exp(-(field / 0.3) ** 2) * has_pattern,
        "gx": gx, "gy": gy, "geo": geo,
    }


def _pattern_field(fill: str, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """A field whose sign marks the pattern's second colour and whose zero set marks its edges."""
    if fill == "striped":
        return torch.sin(a)
    if fill == "checkered":
        return torch.sin(a) * torch.sin(b)
    return torch.cos(a) * torch.cos(b) - 0.35


def _render_graded(raster, stream, domain: str, start: int, strength: float, device) -> torch.Tensor:
    """One chunk in ``domain``, mixed with its photo rendering when ``strength`` < 1; uint8."""

    def render(name: str) -> torch.Tensor:
        style = torch.Generator().manual_seed(_seed("style", *stream, name, start))
        return RENDER[name](raster, style, device).clamp(0, 1)

    image = render(domain)
    if strength < 1.0 and domain != "photo":
        image = strength * image + (1.0 - strength) * render("photo")
    return (image * 255).round().to(torch.uint8)


def load_synthetic(split: str = "train", domain: str = "photo", num_classes: int = 60, classes=None,
                   samples_per_class: int = 100, image_size: int = 32, seed: int = 0,
                   strength: float = 1.0, device=None) -> LabeledImages:
    """Render ``samples_per_class`` images of each requested class in one domain.

    ``classes`` picks a subset of the ``num_classes`` class table (labels are re-indexed 0..k-1 in
    that order); splits use disjoint random streams; the same (seed, split) gives the same scenes in
    every domain, so one object can be shown in all five styles. ``strength`` < 1 grades the shift:
    each image is ``(1 - strength) * photo + strength * domain`` of the same scene (domain name
    ``"sketch@0.50"``), so an OOD test can be made as hard as wanted. Introduced in 03_id_ood.
    """
    if domain not in RENDER:
        raise ValueError(f"unknown domain {domain!r}; choose one of {list(DOMAINS)}")
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {list(SPLITS)}")
    if samples_per_class < 1 or image_size < 8:
        raise ValueError("samples_per_class must be >= 1 and image_size >= 8")
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength must be in [0, 1] (0 = photo, 1 = the full {domain} style), got {strength}")
    table = class_table(num_classes)
    classes = list(range(num_classes)) if classes is None else [int(c) for c in classes]
    if not classes or min(classes) < 0 or max(classes) >= num_classes or len(set(classes)) != len(classes):
        raise ValueError(f"classes must be distinct indices in [0, {num_classes - 1}], got {classes}")
    device = torch.device(device or "cpu")
    subset = [table[c] for c in classes]
    stream = (seed, split, tuple(classes), samples_per_class)
    labels = torch.arange(len(classes)).repeat(samples_per_class)
    labels = labels[torch.randperm(labels.numel(), generator=torch.Generator().manual_seed(_seed("labels", *stream)))]

    chunks, attributes = [], {"count": [], "hue": [], "size": [], "center": []}
    chunk = max(1, _CHUNK_PIXELS // (image_size * image_size))
    for start in range(0, labels.numel(), chunk):
        part = labels[start:start + chunk]
        geo = _sample_geometry(part, subset, torch.Generator().manual_seed(_seed("geo", *stream, start)))
        for key in attributes:
            attributes[key].append(geo[key])
        raster = _rasterise(geo, image_size, device)
        chunks.append(_render_graded(raster, stream, domain, start, strength, device))
    return LabeledImages(
        images=torch.cat(chunks), labels=labels.to(device),
        class_names=[class_name(*combo) for combo in subset],
        domain=domain if strength == 1.0 or domain == "photo" else f"{domain}@{strength:.2f}",
        attributes={k: torch.cat(v).to(device) for k, v in attributes.items()},
    )
