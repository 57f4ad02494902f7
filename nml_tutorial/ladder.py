"""The ladder from the notebooks' scale to the study's: rungs of pre-training data, model and schedule, and what
each costs on this machine.

Every model's pre-training throughput is measured here, at the smallest image size a rung uses it; a rung at a
larger size scales that by the forward FLOPs per image (counted, not assumed) and is marked as an estimate.
"""

from __future__ import annotations

import time

import pandas as pd
import torch

from .models import build_model
from .runtime import cpu_capability, resolve_device
from .training import train_classifier

# Full-scale rungs: train images (Imagenette 2: 9,469; ImageNet-100 of CMC: 126,689; ILSVRC-2012: 1,281,167),
# image size, model and epochs (90: torchvision's ResNet-50 recipe; the study did not publish its schedule).
RUNGS = [
    {"rung": "Imagenette (10 classes)", "images": 9_469, "size": 64, "arch": "resnet50", "epochs": 90},
    {"rung": "ImageNet-100 (CMC list)", "images": 126_689, "size": 64, "arch": "resnet50", "epochs": 90},
    {"rung": "ImageNet-1K, downsampled 64 px", "images": 1_281_167, "size": 64, "arch": "resnet50", "epochs": 90},
    {"rung": "ImageNet-1K (the study)", "images": 1_281_167, "size": 224, "arch": "resnet50", "epochs": 90},
]


def forward_flops(arch: str, size: int, width: int = 16) -> int:
    """FLOPs of one image's forward pass (counted by torch's FlopCounterMode)."""
    from torch.utils.flop_counter import FlopCounterMode

    model = build_model(arch, 1000, width=width).eval()
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(torch.zeros(1, 3, size, size, dtype=torch.uint8))
    return counter.get_total_flops()


def training_throughput(arch: str, size: int, width: int = 16, batch: int = 64, steps: int = 4, device=None,
                        amp: str = "fp32", compiled: bool = False) -> float:
    """Images/s of pre-training ``arch`` at ``size`` px through the package's loop: ``steps`` steps on random uint8
    images already on the device, after one warm-up step (``compiled``: the encoder under ``torch.compile``), the
    device synchronised on both ends. ``bench/gpu.py`` measures with it too."""
    device = resolve_device(device)
    model = build_model(arch, 10, width=width)
    if compiled:
        model.encoder = torch.compile(model.encoder)
    images = torch.randint(0, 256, ((steps + 1) * batch, 3, size, size), dtype=torch.uint8, device=device)
    labels = torch.randint(0, 10, ((steps + 1) * batch,), device=device)
    hp = {"epochs": 1, "batch_size": batch, "amp": amp}
    train_classifier(model, images[:batch], labels[:batch], hp, device=device, progress=False)  # warm-up
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    started = time.perf_counter()
    train_classifier(model, images[batch:], labels[batch:], hp, device=device, progress=False)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return steps * batch / (time.perf_counter() - started)


def _duration(seconds: float) -> str:
    for unit, length in (("years", 365 * 86400), ("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= length:
            return f"{seconds / length:,.1f} {unit}"
    return f"{seconds:.0f} s"


def ladder_costs(here: dict, width: int = 16, device=None) -> pd.DataFrame:
    """What every rung's pre-training costs on this machine: ``here`` (``rung``, ``images``, ``size``, ``arch``,
    ``epochs``: the rung a notebook ran) and :data:`RUNGS`. Each model's throughput is measured now at the smallest
    size a rung uses it; a rung at a larger size is scaled from it by the FLOPs per image (counted), and marked as an
    estimate."""
    rungs = [here, *RUNGS]
    measured = {}
    for rung in sorted(rungs, key=lambda r: r["size"]):
        if rung["arch"] not in measured:
            batch = 64 if rung["arch"] == "resnet_small" else 8
            measured[rung["arch"]] = (rung["size"], training_throughput(rung["arch"], rung["size"], width=width,
                                                                        batch=batch, steps=2, device=device))
    rows = []
    for rung in rungs:
        size, rate = measured[rung["arch"]]
        scale = 1.0 if rung["size"] == size else (
            forward_flops(rung["arch"], rung["size"], width) / forward_flops(rung["arch"], size, width))
        seconds = rung["images"] * rung["epochs"] * scale / rate
        rows.append({**{k: rung[k] for k in ("rung", "images", "size", "arch", "epochs")},
                     "pre-training here": _duration(seconds),
                     "how": (f"{rate:,.0f} images/s measured" if scale == 1.0 else
                             f"estimate: {rate:,.0f} images/s at {size} px x {scale:.1f} (FLOPs)")})
    table = pd.DataFrame(rows)
    table.attrs["note"] = (f"{resolve_device(device)}, CPU capability {cpu_capability()}, {torch.get_num_threads()} "
                           "threads, fp32; each model's throughput measured just now at its smallest size")
    return table
