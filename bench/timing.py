"""Wall-clock timing with the device synchronised, shared by the benchmarks."""

import time

import torch


def timed(fn):
    """Run ``fn()`` and return (its result, seconds), waiting for queued GPU work on both ends."""
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    out = fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return out, time.perf_counter() - start
