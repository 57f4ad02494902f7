"""The five styles the synthetic scenes are rendered in (:mod:`nml_tutorial.data.synthetic`): each turns one
chunk's rasterised scenes (shape masks, pattern, geometry) into RGB images, drawing its randomness from ``g``.

- ``photo``: coloured, shaded objects on gradient backgrounds with clutter and sensor noise;
- ``sketch``: dark pencil strokes of the outline and the pattern, light shading, on paper, grey;
- ``painting``: hues mirrored, soft edges, brush texture, posterised colours on canvas;
- ``clipart``: flat palette colours, thin black outlines, plain pale background, no clutter;
- ``corrupted``: the photo rendering at low contrast with Gaussian noise.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

_CLIPART_PALETTE = torch.tensor([
    [0.90, 0.10, 0.10], [0.10, 0.45, 0.90], [0.10, 0.70, 0.20], [0.95, 0.80, 0.05],
    [0.60, 0.15, 0.75], [0.95, 0.50, 0.05], [0.05, 0.70, 0.70], [0.90, 0.30, 0.60],
])


def _hsv_to_rgb(h: torch.Tensor, s: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """(...,) hue, saturation, value in [0, 1] to (..., 3) RGB."""
    k = torch.stack([(5 + h * 6) % 6, (3 + h * 6) % 6, (1 + h * 6) % 6], -1)
    return v[..., None] - v[..., None] * s[..., None] * torch.clamp(torch.minimum(k, 4 - k), 0, 1)


def _blur(img: torch.Tensor, passes: int = 1) -> torch.Tensor:
    for _ in range(passes):
        img = F.avg_pool2d(img, 3, stride=1, padding=1, count_include_pad=False)
    return img


def _random_colour(n: int, g, sat, val) -> torch.Tensor:
    u = lambda: torch.rand(n, generator=g)  # noqa: E731
    return _hsv_to_rgb(u(), sat[0] + (sat[1] - sat[0]) * u(), val[0] + (val[1] - val[0]) * u())


def _gradient_background(r, g, device) -> torch.Tensor:
    n = r["sdf"].shape[0]
    c1 = _random_colour(n, g, (0.0, 0.5), (0.2, 1.0)).to(device)
    c2 = _random_colour(n, g, (0.0, 0.5), (0.2, 1.0)).to(device)
    angle = (torch.rand(n, generator=g) * 2 * math.pi).to(device)[:, None, None]
    t = ((r["gx"] * angle.cos() + r["gy"] * angle.sin()) + 1.5) / 3
    return c1[:, :, None, None] * (1 - t[:, None]) + c2[:, :, None, None] * t[:, None]


def _clutter(img: torch.Tensor, r, g, device, blobs: int = 4) -> torch.Tensor:
    n = img.shape[0]
    size = img.shape[-1]
    for _ in range(blobs):
        c = ((torch.rand(n, 2, generator=g) * 2 - 1) * 0.95).to(device)
        rad = (0.04 + 0.08 * torch.rand(n, generator=g)).to(device)
        colour = _random_colour(n, g, (0.0, 1.0), (0.1, 1.0)).to(device)
        d = torch.sqrt((r["gx"] - c[:, 0, None, None]) ** 2 + (r["gy"] - c[:, 1, None, None]) ** 2)
        a = (0.5 - (d - rad[:, None, None]) * size / 2).clamp(0, 1)[:, None]
        img = img * (1 - a) + colour[:, :, None, None] * a
    return img


def _photo(r, g, device) -> torch.Tensor:
    geo, n = r["geo"], r["sdf"].shape[0]
    img = _clutter(_gradient_background(r, g, device), r, g, device)
    fg = _hsv_to_rgb(geo["hue"], geo["saturation"], geo["value"])[:, :, None, None]
    dark = _hsv_to_rgb(geo["hue"], geo["saturation"], geo["value"] * 0.3)[:, :, None, None]
    pale = _hsv_to_rgb(geo["hue"], geo["saturation"] * 0.3, torch.ones_like(geo["value"]))[:, :, None, None]
    u = lambda: torch.rand(n, generator=g).to(device)[:, None, None, None]  # noqa: E731
    second = torch.where(u() < 0.5, dark, pale)
    m = r["pattern"][:, None]
    light = (torch.rand(n, generator=g) * 2 * math.pi).to(device)[:, None, None]
    shade = (1 + 0.2 * (r["gx"] * light.cos() + r["gy"] * light.sin()))[:, None]
    obj = (fg * (1 - m) + second * m) * shade
    a = r["alpha"][:, None]
    img = img * (1 - a) + obj * a
    img = torch.where(u() < 0.15, img.mean(1, keepdim=True).expand_as(img), img)  # black-and-white photos
    return img + 0.03 * torch.randn(img.shape, generator=g).to(device)


def _sketch(r, g, device) -> torch.Tensor:
    n, size = r["sdf"].shape[0], r["sdf"].shape[-1]
    u = lambda *s: torch.rand(*s, generator=g).to(device)  # noqa: E731
    width = (0.6 + 0.5 * u(n))[:, None, None]
    outline = (1 - r["sdf"].abs() / width).clamp(0, 1)
    strokes = torch.maximum(outline, 0.8 * r["alpha"] * r["pattern_edge"])
    for _ in range(1):  # a stray stroke
        angle, offset = u(n)[:, None, None] * math.pi, (u(n)[:, None, None] * 2 - 1)
        dist = (r["gx"] * angle.cos() + r["gy"] * angle.sin() - offset).abs() * size / 2
        strokes = torch.maximum(strokes, 0.35 * (1 - dist / 0.6).clamp(0, 1))
    paper = (0.7 + 0.28 * u(n))[:, None, None]
    darkness = (0.6 + 0.35 * u(n))[:, None, None]
    shading = (0.3 + 0.35 * u(n))[:, None, None] * r["alpha"]  # light pencil shading inside the object
    img = (paper * (1 - torch.maximum(darkness * strokes, shading)))[:, None].expand(-1, 3, -1, -1)
    return img + 0.02 * torch.randn(img.shape, generator=g).to(device)


def _painting(r, g, device) -> torch.Tensor:
    geo, n = r["geo"], r["sdf"].shape[0]
    u = lambda *s: torch.rand(*s, generator=g).to(device)  # noqa: E731
    canvas = _hsv_to_rgb(0.08 + 0.06 * u(n), 0.15 + 0.2 * u(n), 0.75 + 0.2 * u(n))[:, :, None, None]
    hue = (1.15 - geo["hue"]) % 1.0
    fg = _hsv_to_rgb(hue, (geo["saturation"] + 0.2).clamp(max=1), geo["value"])[:, :, None, None]
    light = _hsv_to_rgb(hue, geo["saturation"] * 0.4, (geo["value"] * 0.5 + 0.5))[:, :, None, None]
    m = r["pattern"][:, None]
    a = _blur(r["alpha"][:, None], 1)
    img = canvas * (1 - a) + (fg * (1 - m) + light * m) * a
    strokes = torch.randn(n, 1, img.shape[-2], img.shape[-1], generator=g).to(device)
    horizontal = u(n)[:, None, None, None] < 0.5
    brush = torch.where(horizontal, F.avg_pool2d(strokes, (1, 5), 1, (0, 2)), F.avg_pool2d(strokes, (5, 1), 1, (2, 0)))
    img = img * (1 + 0.08 * brush)
    return torch.round(img.clamp(0, 1) * 5) / 5


def _clipart(r, g, device) -> torch.Tensor:
    n = r["sdf"].shape[0]
    u = lambda *s: torch.rand(*s, generator=g)  # noqa: E731
    palette = _CLIPART_PALETTE
    fg = palette[torch.randint(len(palette), (n,), generator=g)].to(device)[:, :, None, None]
    second = torch.where(u(n, 1) < 0.5, torch.ones(n, 3), torch.zeros(n, 3) + 0.25).to(device)[:, :, None, None]
    bg = _hsv_to_rgb(u(n), 0.3 * u(n), 0.75 + 0.25 * u(n)).to(device)[:, :, None, None]
    m = (r["pattern"] > 0.5).float()[:, None]
    a = r["alpha"][:, None]
    width = (0.5 + 0.5 * u(n)).to(device)[:, None, None]
    outline = (1 - r["sdf"].abs() / width).clamp(0, 1)[:, None]
    img = (bg * (1 - a) + (fg * (1 - m) + second * m) * a) * (1 - outline)
    return img + 0.02 * torch.randn(img.shape, generator=g).to(device)


def _corrupted(r, g, device) -> torch.Tensor:
    img = _photo(r, g, device)
    n = img.shape[0]
    u = lambda: torch.rand(n, generator=g).to(device)[:, None, None, None]  # noqa: E731
    mean = img.mean((1, 2, 3), keepdim=True)
    img = mean + (img - mean) * (0.55 + 0.2 * u())
    return img + (0.04 + 0.04 * u()) * torch.randn(img.shape, generator=g).to(device)


RENDER = {"photo": _photo, "sketch": _sketch, "painting": _painting, "clipart": _clipart, "corrupted": _corrupted}
DOMAINS = tuple(RENDER)
