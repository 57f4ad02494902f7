"""Atomic result files and stable config hashes: an interrupted run never leaves a half-written file."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import torch


# Bump when a change to data generation, training or evaluation makes old cached results stale.
CACHE_VERSION = 5


def config_key(config: dict, length: int = 16) -> str:
    """A stable hash of a JSON-serialisable config and ``CACHE_VERSION`` (key order does not matter)."""
    text = json.dumps({"config": config, "cache_version": CACHE_VERSION}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def _atomic(path, write) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def atomic_torch_save(obj, path) -> Path:
    return _atomic(path, lambda f: torch.save(obj, f))


def atomic_write_bytes(data: bytes, path) -> Path:
    return _atomic(path, lambda f: f.write(data))


def atomic_write_text(text: str, path) -> Path:
    return atomic_write_bytes(text.encode(), path)


def atomic_save_npy(array, path) -> Path:
    """``numpy.save`` to ``path``, atomically."""
    import io

    import numpy as np

    buffer = io.BytesIO()
    np.save(buffer, array)
    return atomic_write_bytes(buffer.getvalue(), path)


def atomic_write_json(obj, path) -> Path:
    return atomic_write_text(json.dumps(obj, indent=2, sort_keys=True, default=str), path)
