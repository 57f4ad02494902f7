"""Cache keys that change with whatever computes an artefact, and a lock so no artefact is computed twice at once.

A key hashes the config, the source of the package code that computes the artefact (the named module and every
package module it imports, followed transitively; comments and docstrings do not count) and the data files the
config names, by content and not by where they lie: a file by its SHA-256, a memmap dataset (labelled or of
image-text pairs) by its ``meta.json`` (source checksum and settings), any other folder by the path and the size
(images) or content (other files) of every file in it, leaving out the derived ``noisy/`` label files; the paths
themselves do not enter the key.
Editing a computing function, or rebuilding a dataset, therefore gives new keys (the old artefacts are never
served), while a dataset copied to a node's scratch disk, or given a new noisy-label file beside it, keeps its
runs. Code is fingerprinted once per process, as first
read: a kernel that keeps running old code after the library is edited must be restarted (Kernel > Restart) to see
it.
"""

from __future__ import annotations

import ast
import contextlib
import fcntl
import functools
import hashlib
import json
import os
from pathlib import Path

from .atomic import file_sha256
from .runtime import barrier, is_main_process

PACKAGE = Path(__file__).resolve().parent
# Files that are code although not Python: the CLIP model configs that clip.py registers with open_clip.
PACKAGE_DATA = {"nml_tutorial.clip": "clip_configs"}
# Config entries that name data on disk: their content (files) or listing (folders) enters the key.
DATA_PATH_KEYS = ("root", "manifest", "noisy_labels", "classes")


def _module_file(name: str, package_dir: Path) -> Path | None:
    parts = name.split(".")[1:]
    base = package_dir.joinpath(*parts)
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                    and isinstance(first.value.value, str)):
                node.body = node.body[1:] or [ast.Pass()]
    return tree


def _imported(name: str, path: Path, tree: ast.AST) -> set[str]:
    """The package modules a module imports (``from .x import y``: ``x``, and ``x.y`` when that is a module)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    top = name.split(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - (node.level - 1)])
                module = f"{base}.{node.module}" if node.module else base
            elif node.module and node.module.split(".")[0] == top:
                module = node.module
            else:
                continue
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.split(".")[0] == top)
    return found


@functools.cache
def code_fingerprint(*modules: str, package_dir: Path = PACKAGE, follow_imports: bool = True) -> str:
    """SHA-256 of the code of ``modules`` (e.g. ``"nml_tutorial.pretrain"``) and, with ``follow_imports``, of every
    package module they import, transitively; ``"nml_tutorial"`` itself: the whole package. Docstrings and comments
    are left out; each module is read once per process."""
    top = package_dir.name
    if top in modules:
        modules = tuple(".".join((top, *p.relative_to(package_dir).with_suffix("").parts)).removesuffix(".__init__")
                        for p in sorted(package_dir.rglob("*.py")))
    digests, todo = {}, list(modules)
    while todo:
        name = todo.pop()
        path = _module_file(name, package_dir) if name not in digests else None
        if path is None:
            continue
        tree = _strip_docstrings(ast.parse(path.read_text()))
        digests[name] = hashlib.sha256(ast.dump(tree).encode()).hexdigest()
        if name in PACKAGE_DATA:
            for data_file in sorted((package_dir / PACKAGE_DATA[name]).iterdir()):
                digests[f"{name}:{data_file.name}"] = file_sha256(data_file)
        if follow_imports:
            todo.extend(_imported(name, path, tree))
    return hashlib.sha256(json.dumps(digests, sort_keys=True).encode()).hexdigest()


# Files derived from a dataset and written beside it (data_scripts/noisy_labels.py): not part of its identity.
DERIVED = ("noisy",)
# The memmap forms, labelled (data/memmap.py) and image-text (data/image_text.py): meta.json holds the source
# checksum (every image's path and size with its label or its caption) and the settings, so it stands for them.
MEMMAP_FORMS = (("images.npy", "labels.npy", "meta.json"), ("images.npy", "captions.json", "meta.json"))
# Image files are known by path and size (an image rebuilt at exactly its old size is not seen; reading 150 GB of
# JPEGs to tell would cost more than the runs it saves); every other file (pickles, captions, lists, tar shards) by
# its content.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff")


@functools.cache
def _folder_digest(path: Path, modified: tuple[int, ...]) -> str:
    """Every file under ``path`` (symbolic links followed, the :data:`DERIVED` folders left out) by its relative
    path and its size (images) or content (the rest); ``modified`` (every folder's mtime) only renews the cache."""
    digest = hashlib.sha256()
    for folder, files in _walk(path):
        for name in files:
            file = os.path.join(folder, name)
            what = os.stat(file).st_size if name.lower().endswith(IMAGE_SUFFIXES) else file_sha256(file)
            digest.update(f"{os.path.relpath(file, path)}\t{what}\n".encode())
    return digest.hexdigest()


def _walk(path: Path):
    """(folder, sorted file names) under ``path``, following links, without the top-level :data:`DERIVED` ones."""
    for folder, dirs, files in os.walk(path, followlinks=True):
        dirs[:] = sorted(d for d in dirs if not (Path(folder) == path and d in DERIVED))
        yield folder, sorted(files)


def data_fingerprint(spec: dict) -> dict[str, str]:
    """A digest of every file or folder a data config names (``root``, ``manifest``, ``noisy_labels`` and a
    ``classes`` file, the relative ones read under ``root`` as the loaders read them), by key; empty for generated
    data. A memmap, labelled or of image-text pairs, is known by its ``meta.json`` (its ``images.npy`` is not read;
    the code that converts it is part of a run's key already)."""
    found = {}
    root = spec.get("root")
    for key in DATA_PATH_KEYS:
        value = spec.get(key)
        if not isinstance(value, (str, os.PathLike)):
            continue
        path = Path(value)
        if key != "root" and root is not None and not path.is_absolute() and (Path(root) / path).exists():
            path = Path(root) / path
        if path.is_file():
            found[key] = file_sha256(path)
        elif any(all((path / name).is_file() for name in form) for form in MEMMAP_FORMS):
            found[key] = "memmap " + file_sha256(path / "meta.json")
        elif path.is_dir():
            modified = tuple(os.stat(folder).st_mtime_ns for folder, _ in _walk(path))
            found[key] = _folder_digest(path.resolve(), modified)
    return found


def _placed_nowhere(config, fingerprints: dict[str, dict[str, str]], where: str = ""):
    """``config`` with every data path that ``fingerprints`` identifies by content replaced by a marker, so that the
    key does not depend on where the data lie."""
    if isinstance(config, dict):
        known = fingerprints.get(where or ".", {})
        return {key: ("<by content>" if key in known else _placed_nowhere(value, fingerprints, f"{where}.{key}"))
                for key, value in config.items()}
    if isinstance(config, (list, tuple)):
        return [_placed_nowhere(value, fingerprints, f"{where}.{i}") for i, value in enumerate(config)]
    return config


def config_key(config: dict, code: tuple[str, ...] = (), length: int = 16, only: tuple[str, ...] = ()) -> str:
    """A stable hash of a JSON-serialisable config (key order does not matter), of the code that computes from it
    (:func:`code_fingerprint` of the ``code`` modules and their imports, and of the ``only`` modules without
    theirs; none: the config alone) and of the data files it names (:func:`data_fingerprint` of every ``data``
    entry, and of the config itself), whose paths it leaves out."""
    data = {name: data_fingerprint(value) for name, value in _data_specs(config)}
    fingerprint = code_fingerprint(*code) if code else None
    if only:
        fingerprint = [fingerprint, code_fingerprint(*only, follow_imports=False)]
    material = {"config": _placed_nowhere(config, data), "code": fingerprint, "data": data}
    return hashlib.sha256(json.dumps(material, sort_keys=True, default=str).encode()).hexdigest()[:length]


def _data_specs(config, path: str = ""):
    """Every dict nested in ``config`` (itself included) that may name data files, with where it sits."""
    if isinstance(config, dict):
        if any(key in config for key in DATA_PATH_KEYS):
            yield path or ".", config
        for key, value in config.items():
            yield from _data_specs(value, f"{path}.{key}")
    elif isinstance(config, (list, tuple)):
        for i, value in enumerate(config):
            yield from _data_specs(value, f"{path}.{i}")


@contextlib.contextmanager
def lock(path, what: str = "this artefact"):
    """Hold an exclusive lock on the file ``path`` (created if missing) while computing ``what``: another process
    asking for it waits, then finds it done. The operating system drops the lock when a process dies. Under
    torchrun, rank 0 takes it and every process of the run waits until it has (one decision for all)."""
    if not is_main_process():
        barrier()
        yield
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"another process is computing {what}; waiting for it to finish", flush=True)
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            barrier()
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
