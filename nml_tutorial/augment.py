"""Batched data augmentation on the device: random crop with padding and horizontal flip."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def crop_flip(images: torch.Tensor, generator: torch.Generator, padding: int = 4, flip: bool = True) -> torch.Tensor:
    """Random ``padding``-pixel translate (zero padded) and random horizontal flip of a whole batch.

    Offsets are drawn from a CPU ``generator`` so a seeded run is identical on every device.
    """
    n, _, h, w = images.shape
    device = images.device
    if padding:
        padded = F.pad(images, (padding,) * 4)
        oy, ox = (torch.randint(0, 2 * padding + 1, (2, n), generator=generator)).to(device)
        rows = (oy[:, None] + torch.arange(h, device=device))[:, None, :, None]
        cols = (ox[:, None] + torch.arange(w, device=device))[:, None, None, :]
        images = padded[torch.arange(n, device=device)[:, None, None, None],
                        torch.arange(images.shape[1], device=device)[None, :, None, None], rows, cols]
    if flip:
        mask = (torch.rand(n, generator=generator) < 0.5).to(device)[:, None, None, None]
        images = torch.where(mask, images.flip(3), images)
    return images
