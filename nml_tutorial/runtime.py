"""Seeding, device choice and numeric precision, shared by every training loop."""

from __future__ import annotations

import contextlib
import os
import random

import numpy as np
import torch

PRECISIONS = ("auto", "bf16", "fp32")
PRECISION_ENV = "NML_PRECISION"


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and every GPU)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def resolve_device(device=None) -> torch.device:
    """``None`` or ``"auto"``: the GPU when there is one, else the CPU; a device this machine lacks is an error."""
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as err:
        raise ValueError(f"unknown device {device!r}; use 'auto', 'cpu', 'cuda' or 'cuda:N'") from err
    gpus = torch.cuda.device_count()
    if resolved.type == "cuda" and (resolved.index or 0) >= gpus:
        raise ValueError(f"device {str(resolved)!r} does not exist: this machine sees {gpus} CUDA GPU(s); use 'auto' "
                         "(the GPU when there is one) or 'cpu'")
    return resolved


def cpu_capability() -> str:
    """What this CPU computes natively, e.g. ``"AVX2"`` or ``"AVX512 +bf16"``: print it beside every CPU timing."""
    bf16 = " +bf16" if cpu_has_native_bf16() else ""
    return f"{torch.backends.cpu.get_cpu_capability()}{bf16}"


def cpu_has_native_bf16() -> bool:
    """True when the CPU has bf16 instructions (AVX512-BF16 or AMX); without them bf16 is emulated and slow."""
    flags = getattr(torch, "cpu", None)
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(flags, name, lambda: False)() for name in checks)


def resolve_precision(amp="auto", device=None) -> str:
    """``"bf16"`` or ``"fp32"``: what ``amp`` means on ``device``.

    ``"auto"`` picks bf16 autocast where the hardware computes it natively (a CUDA GPU with bf16 units, not one
    that emulates it; a CPU with AVX512-BF16 or AMX) and fp32 everywhere else: on an AVX2-only CPU bf16 autocast
    was measured 11x *slower* than fp32 (bench/pretrain_throughput.py prints both on your machine). The environment
    variable ``NML_PRECISION`` (``bf16`` or ``fp32``) overrides what ``"auto"`` picks.
    """
    if amp not in PRECISIONS:
        raise ValueError(f"unknown precision amp={amp!r}; choose one of {list(PRECISIONS)}")
    if amp != "auto":
        return amp
    forced = os.environ.get(PRECISION_ENV, "")
    if forced:
        if forced not in ("bf16", "fp32"):
            raise ValueError(f"{PRECISION_ENV}={forced!r}; set it to 'bf16' or 'fp32', or unset it")
        return forced
    device = resolve_device(device)
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported(including_emulation=False) else "fp32"
    if device.type == "cpu":
        return "bf16" if cpu_has_native_bf16() else "fp32"
    return "fp32"


def autocast(device: torch.device, precision: str):
    """bf16 autocast on the given device type for ``precision="bf16"``; a no-op for ``"fp32"``."""
    if precision not in ("bf16", "fp32"):
        raise ValueError(f"autocast needs a resolved precision ('bf16' or 'fp32'), got {precision!r}; "
                         "call resolve_precision first")
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def rank_and_world() -> tuple[int, int]:
    """This process's rank and the number of processes: (0, 1) unless a process group is running (torchrun)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def is_main_process() -> bool:
    """True in a single process and in rank 0 of a distributed run: the one that writes files."""
    return rank_and_world()[0] == 0


def barrier() -> None:
    """Wait for every process of a distributed run (nothing in a single process)."""
    import torch.distributed as dist

    if rank_and_world()[1] > 1:
        dist.barrier()


def init_distributed(device=None) -> torch.device:
    """Join the process group torchrun describes (``WORLD_SIZE`` > 1 in the environment): nccl on GPUs, one per
    process (``LOCAL_RANK``), gloo on CPUs. Returns this process's device; without torchrun, ``resolve_device``."""
    import torch.distributed as dist

    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return resolve_device(device)
    device = resolve_device(device)
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return device
