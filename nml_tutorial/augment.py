"""Batched data augmentation on the device: random crop with padding and horizontal flip (pre-training), and
the study's random resized crop with flip (NMTune's views)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def crop_flip(images: torch.Tensor, generator: torch.Generator, padding: int = 4, flip: bool = True,
              span: tuple[int, int] | None = None) -> torch.Tensor:
    """Random ``padding``-pixel translate (zero padded) and random horizontal flip of a whole batch.

    Offsets are drawn from a CPU ``generator`` so a seeded run is identical on every device. ``span = (start,
    total)``: ``images`` are rows ``start:start + N`` of a batch of ``total`` whose draws are made together (one
    process's share of a distributed batch gets the crops a single process would give those images).
    """
    n, _, h, w = images.shape
    start, total = span if span is not None else (0, n)
    rows_of = slice(start, start + n)
    device = images.device
    if padding:
        padded = F.pad(images, (padding,) * 4)
        oy, ox = (torch.randint(0, 2 * padding + 1, (2, total), generator=generator)[:, rows_of]).to(device)
        rows = (oy[:, None] + torch.arange(h, device=device))[:, None, :, None]
        cols = (ox[:, None] + torch.arange(w, device=device))[:, None, None, :]
        images = padded[torch.arange(n, device=device)[:, None, None, None],
                        torch.arange(images.shape[1], device=device)[None, :, None, None], rows, cols]
    if flip:
        mask = (torch.rand(total, generator=generator)[rows_of] < 0.5).to(device)[:, None, None, None]
        images = torch.where(mask, images.flip(3), images)
    return images


def resized_crop_flip(images: torch.Tensor, generator: torch.Generator, scale=(0.8, 1.0),
                      ratio=(3 / 4, 4 / 3)) -> torch.Tensor:
    """Random resized crop (a region of ``scale`` of the area, aspect in ``ratio``, resized back bilinearly)
    and a random horizontal flip of a batch of uint8 images: the two views NMTune trains on in the study."""
    return crop_with(images, resized_crop_params(images.shape[0], generator, scale, ratio))


def resized_crop_params(n: int, generator: torch.Generator, scale=(0.8, 1.0), ratio=(3 / 4, 4 / 3)) -> torch.Tensor:
    """The affine maps (n, 2, 3) of :func:`resized_crop_flip`'s draws for ``n`` images."""
    area = torch.empty(n).uniform_(*scale, generator=generator)
    aspect = torch.empty(n).uniform_(math.log(ratio[0]), math.log(ratio[1]), generator=generator).exp()
    width, height = (area * aspect).sqrt().clamp(max=1.0), (area / aspect).sqrt().clamp(max=1.0)
    centre_x = (torch.rand(n, generator=generator) * 2 - 1) * (1 - width)
    centre_y = (torch.rand(n, generator=generator) * 2 - 1) * (1 - height)
    mirror = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 0, 2], theta[:, 1, 1], theta[:, 1, 2] = width * mirror, centre_x, height, centre_y
    return theta


def crop_with(images: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """uint8 ``images`` resampled bilinearly through the affine maps ``theta``, each image by its own map."""
    grid = F.affine_grid(theta.to(images.device), list(images.shape), align_corners=False)
    out = F.grid_sample(images.float(), grid, mode="bilinear", padding_mode="border", align_corners=False)
    return out.round().clamp(0, 255).to(torch.uint8)
