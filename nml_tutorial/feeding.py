"""Feeding training images to the device: kept there when they fit, else gathered batch by batch in host memory
(pages of a memory map), one batch ahead in a background thread, pinned and sent without blocking.

How much may stay on the device: ``NML_RESIDENT_GB`` when set (``0`` streams every batch, on any device); on a GPU
half of the memory free when training starts (the rest is for activations); on other accelerators 4 GiB. On the CPU
the images are already in host memory and stay where they are.
"""

from __future__ import annotations

import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor

import torch

DEFAULT_RESIDENT_BYTES = 4 * 2**30  # accelerators that do not report their free memory


def resident_bytes(device) -> int | None:
    """The bytes of training images that may live on ``device`` (None: no limit)."""
    setting = os.environ.get("NML_RESIDENT_GB")
    if setting:
        try:
            return int(float(setting) * 2**30)
        except ValueError:
            raise ValueError(f"NML_RESIDENT_GB={setting!r} is not a number of GiB; set it to e.g. 40, or unset "
                             "it") from None
    device = torch.device(device)
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return free // 2
    return None if device.type == "cpu" else DEFAULT_RESIDENT_BYTES


class Feeder:
    """``feeder(idx) -> images[idx]`` on ``device``; ``feeder.ahead(idx)`` queues a batch to gather while earlier
    ones train (streamed data only; a batch asked for out of turn is read at once). The batches are the same either
    way: only where they are read from changes."""

    def __init__(self, images: torch.Tensor, device):
        self.device, self.images = torch.device(device), images
        limit = resident_bytes(self.device)
        on_device = images.device == self.device and self.device.type != "cpu"  # already there: nothing to stream
        fits = on_device or limit is None or images.numel() * images.element_size() <= limit
        self.resident = images.to(self.device) if fits else None
        self._pool = None if fits else ThreadPoolExecutor(1, thread_name_prefix="nml-feeder")
        self._pending = deque()  # (indices, future) of the batches queued ahead, oldest first

    @property
    def streams(self) -> bool:
        return self.resident is None

    def _gather(self, idx: torch.Tensor) -> torch.Tensor:
        batch = self.images[idx.to(self.images.device)]
        return batch.pin_memory() if self.device.type == "cuda" and batch.device.type == "cpu" else batch

    def ahead(self, idx: torch.Tensor) -> None:
        if self.streams:
            idx = idx.cpu()
            self._pending.append((idx, self._pool.submit(self._gather, idx)))

    def __call__(self, idx: torch.Tensor) -> torch.Tensor:
        if not self.streams:
            return self.resident[idx]
        idx = idx.cpu()
        if self._pending and torch.equal(self._pending[0][0], idx):
            batch = self._pending.popleft()[1].result()
        else:  # out of turn: what was queued is not what training reads next
            self._pending.clear()
            batch = self._gather(idx)
        return batch.to(self.device, non_blocking=True)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
