"""Encoders with a linear head: a compact ResNet family for CPU-scale runs, torchvision ResNets for full scale.

Every model takes uint8 (or [0, 1] float) images, normalises them itself, and exposes
``features(x)`` (the pooled representation that probes and NMTune see), ``feature_dim`` and
``head``.
"""

from __future__ import annotations

import torch
from torch import nn


class Normalise(nn.Module):
    """uint8 or [0, 1] float images to roughly zero-mean, unit-variance floats."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype == torch.uint8:
            x = x.float() / 255.0
        return (x - 0.5) / 0.25


class BasicBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
            nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False), nn.BatchNorm2d(c_out),
        )
        self.shortcut = nn.Identity() if stride == 1 and c_in == c_out else nn.Sequential(
            nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x):
        return torch.relu(self.body(x) + self.shortcut(x))


class SmallResNet(nn.Module):
    """A ResNet for 32-px images: stem, ``stages`` stages of ``depth`` blocks (width doubling), average pool."""

    def __init__(self, num_classes: int, width: int = 32, depth: int = 1, stages: int = 3):
        super().__init__()
        layers = [Normalise(), nn.Conv2d(3, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
        c = width
        for s in range(stages):
            c_out = width * 2**s
            for b in range(depth):
                layers.append(BasicBlock(c, c_out, 2 if (b == 0 and s > 0) else 1))
                c = c_out
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        self.encoder = nn.Sequential(*layers)
        self.feature_dim = c
        self.head = nn.Linear(c, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class TorchvisionResNet(nn.Module):
    """torchvision's ResNet-18/50 (random init, never downloaded) behind the same interface."""

    def __init__(self, name: str, num_classes: int):
        super().__init__()
        import torchvision

        net = getattr(torchvision.models, name)(weights=None)
        self.feature_dim = net.fc.in_features
        net.fc = nn.Identity()
        self.encoder = nn.Sequential(Normalise(), net)
        self.head = nn.Linear(self.feature_dim, num_classes)

    def features(self, x):
        return self.encoder(x)

    def forward(self, x):
        return self.head(self.features(x))


ARCHITECTURES = ("resnet_small", "resnet18", "resnet50")


def build_model(arch: str, num_classes: int, width: int = 32, depth: int = 1) -> nn.Module:
    """A fresh, randomly initialised model by name (``width``/``depth`` apply to ``resnet_small``)."""
    if arch == "resnet_small":
        return SmallResNet(num_classes, width=width, depth=depth)
    if arch in ("resnet18", "resnet50"):
        return TorchvisionResNet(arch, num_classes)
    raise ValueError(f"unknown arch {arch!r}; choose one of {list(ARCHITECTURES)}")


def last_block(model: nn.Module) -> nn.Module:
    """The last residual block of an encoder: what parameter-efficient tuning unfreezes."""
    from torchvision.models.resnet import BasicBlock as TVBasic
    from torchvision.models.resnet import Bottleneck

    blocks = [m for m in model.encoder.modules() if isinstance(m, (BasicBlock, TVBasic, Bottleneck))]
    if not blocks:
        raise ValueError(f"{type(model).__name__} has no residual block to tune")
    return blocks[-1]


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
