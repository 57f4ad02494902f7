"""Atomic result files, sealed with a checksum: an interrupted run never leaves a half-written file, and a file
damaged later (truncated, a flipped bit) is detected before it is read."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import tempfile
import warnings
from pathlib import Path

import torch

# Why a cache or results folder cannot be written, and what to do about it.
_UNWRITABLE = {
    errno.EROFS: "the filesystem is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exceeded",
}


def _unwritable(err: OSError, path: Path) -> OSError:
    full = err.errno in (errno.ENOSPC, errno.EDQUOT)
    return OSError(err.errno, f"cannot write {path}: {_UNWRITABLE[err.errno]}; {'free some space, or ' if full else ''}"
                              "point the cache (cache_dir=, --cache) or the output (out_dir=, --out) at a writable "
                              "folder")


def _atomic(path, write) -> Path:
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(err, OSError) and err.errno in _UNWRITABLE:
            raise _unwritable(err, path) from err
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


SEAL = ".sha256"


def file_sha256(path) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def seal(path) -> Path:
    """Write ``<path>.sha256`` (``sha256sum -c`` reads it) for a finished file; :func:`intact` checks it."""
    path = Path(path)
    return atomic_write_text(f"{file_sha256(path)}  {path.name}\n", path.with_name(path.name + SEAL))


def damage(path) -> str | None:
    """Why an existing file cannot be trusted (truncated or changed since :func:`seal`, or never sealed because its
    writer was stopped), or None when its checksum matches."""
    path = Path(path)
    sealed = path.with_name(path.name + SEAL)
    if not sealed.exists():
        return f"it has no {sealed.name}: its writer was stopped before sealing it"
    if sealed.read_text().split()[0] != file_sha256(path):
        return f"its checksum does not match {sealed.name}: it was truncated or changed"
    return None


def intact(path) -> bool:
    """Whether ``path`` exists with the checksum :func:`seal` recorded; a damaged one gets a warning, and its caller
    recomputes it."""
    path = Path(path)
    if not path.exists():
        return False
    why = damage(path)
    if why:
        warnings.warn(f"{path} is damaged ({why}); recomputing it", stacklevel=2)
    return why is None
