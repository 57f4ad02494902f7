"""The labelled-image container every loader returns, and what all of them share: resizing, stratified splits."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F


@dataclass
class LabeledImages:
    """uint8 images (N, C, H, W), int64 labels (N,), class names, and per-image attributes when known.

    Unpacks as ``images, labels, class_names = load_dataset(...)``.
    """

    images: torch.Tensor
    labels: torch.Tensor
    class_names: list[str]
    domain: str = "photo"
    attributes: dict[str, torch.Tensor] = field(default_factory=dict)

    def __post_init__(self):
        if self.images.dtype != torch.uint8 or self.images.dim() != 4:
            raise ValueError(f"images must be uint8 (N, C, H, W), got {self.images.dtype} {tuple(self.images.shape)}")
        if self.labels.shape != (self.images.shape[0],):
            raise ValueError(f"labels shape {tuple(self.labels.shape)} does not match {self.images.shape[0]} images")

    def __iter__(self):
        return iter((self.images, self.labels, self.class_names))

    def __len__(self) -> int:
        return self.labels.numel()

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def to(self, device) -> "LabeledImages":
        return LabeledImages(self.images.to(device), self.labels.to(device), self.class_names, self.domain,
                             {k: v.to(device) for k, v in self.attributes.items()})


def stratified_split(labels: torch.Tensor, fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Boolean (kept, held-out) masks holding out ``fraction`` of every class (at least one sample each)."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.as_tensor(labels).cpu()
    held = torch.zeros(labels.numel(), dtype=torch.bool)
    for c in torch.unique(labels).tolist():
        members = torch.nonzero(labels == c).flatten()
        members = members[torch.randperm(members.numel(), generator=g)]
        held[members[: max(1, int(round(members.numel() * fraction)))]] = True
    return ~held, held


def to_rgb_uint8(images: torch.Tensor, size: int) -> torch.Tensor:
    """Float images in [0, 1], (N, C, H, W) with C in {1, 3}, to uint8 RGB at ``size`` x ``size``."""
    if images.shape[1] == 1:
        images = images.expand(-1, 3, -1, -1)
    if images.shape[-1] != size or images.shape[-2] != size:
        images = F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    return (images.clamp(0, 1) * 255).round().to(torch.uint8).contiguous()
