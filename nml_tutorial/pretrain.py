"""Pre-training runs of both objectives on noisy data, cached: a finished run is read, an interrupted one resumed.

``pretrain_supervised`` (noisy labels) and ``pretrain_clip`` (swapped captions) share one cached-run mechanism: a
run's folder ``<cache>/<kind>/<key>`` is named by a hash of its whole config, of the package code that trains it and
of the data files it reads (:func:`~nml_tutorial.cache.config_key`), so a run is never served for code or data that
would train another. Training checkpoints there every epoch (:mod:`nml_tutorial.training`); every file is sealed
with its checksum, and ``config.json`` is written last: a folder with it and without a checkpoint holds a finished
run, and one whose files are damaged is trained again. A lock stops two processes training one run at once: the
second waits, then reads it. With ``zoo=True`` a run the package ships (:mod:`nml_tutorial.zoo`) is read instead of
trained.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from .atomic import SEAL, atomic_torch_save, atomic_write_json, intact, seal
from .cache import config_key, lock
from .clip import ClipModel, load_clip, save_clip, train_contrastive
from .config import CLIP_DEFAULTS, CLIP_TRAIN_DEFAULTS, PRETRAIN_DEFAULTS, TRAIN_DEFAULTS
from .data import ImageTextPairs, LabeledImages, load_dataset, loader_module
from .data.captions import synthetic_captions
from .data.label_files import check_label_file
from .data.memmap import noisy_label_path
from .models import build_model
from .noise import NoisyLabels, apply_label_noise, caption_noise
from .runtime import barrier, is_main_process, rank_and_world, resolve_device, resolve_precision, seed_everything
from .training import train_classifier, with_defaults
from .zoo import find as zoo_lookup


@dataclass
class PretrainedRun:
    """A pre-trained model in eval mode, the config that made it, its cache key and training history.

    ``source``: ``"trained"`` (just now), ``"cache"`` (an earlier run here) or ``"zoo"`` (shipped with the
    package, :mod:`nml_tutorial.zoo`); ``folder``: where the finished run's files are.
    """

    model: torch.nn.Module
    config: dict
    key: str
    history: list[dict]
    objective: str = "supervised"
    source: str = "trained"
    folder: Path | None = None


def _cached_run(kind: str, config: dict | None, defaults: dict, device, cache_dir, zoo: bool,
                train: Callable[[dict, Path], tuple[torch.nn.Module, list[dict]]],
                load: Callable[[Path, dict], tuple[torch.nn.Module, list[dict]]], objective: str) -> PretrainedRun:
    """The one cached-run mechanism: read a finished run (the cache, then with ``zoo`` the package's zoo), else
    ``train(config, folder)`` there (resuming its checkpoint) and write ``config.json`` last, under the run's lock.

    The config's precision is resolved for ``device`` first, so the key says what ran."""
    config = with_defaults(config, defaults)
    config["amp"] = resolve_precision(config["amp"], device)
    key = process_run_key(config, kind, device)
    folder = Path(cache_dir) / kind / key
    with lock(folder.with_name(key + ".lock"), f"the {kind} run {key}"):
        if _finished(folder):
            model, history = load(folder, config)
            return PretrainedRun(model, config, key, history, objective, "cache", folder)
        shipped = zoo_lookup(kind, key) if zoo else None
        if shipped is not None:
            model, history = load(shipped, config)
            return PretrainedRun(model, config, key, history, objective, "zoo", shipped)
        model, history = train(config, folder)
        if is_main_process():  # in a distributed run, rank 0 writes
            seal(atomic_write_json(config, folder / "config.json"))  # written last: marks the run finished
            for name in ("checkpoint.pt", "checkpoint.pt" + SEAL):
                (folder / name).unlink(missing_ok=True)
        barrier()
    return PretrainedRun(model.eval(), config, key, history, objective, "trained", folder)


# The code that trains a run: a run's key hashes these modules (not what they import: evaluation code such as the
# probe, which clip.py borrows top1 from, must not make the shipped zoo stale) and its data loader's module.
TRAINING_CODE = ("nml_tutorial.pretrain", "nml_tutorial.training", "nml_tutorial.feeding", "nml_tutorial.models",
                 "nml_tutorial.noise", "nml_tutorial.augment", "nml_tutorial.runtime", "nml_tutorial.data.label_files")
CLIP_TRAINING_CODE = ("nml_tutorial.clip", "nml_tutorial.data.captions", "nml_tutorial.data.image_text")


def run_key(config: dict, kind: str = "pretrain") -> str:
    """The cache key of a pre-training run: its config, the data files it names, the training code
    (:data:`TRAINING_CODE`, and :data:`CLIP_TRAINING_CODE` for ``kind="clip"``) and the code of its data loader
    with what that imports."""
    only = TRAINING_CODE + (CLIP_TRAINING_CODE if kind == "clip" else ())
    return config_key(config, code=(loader_module(config["data"]["name"]),), only=only)


def process_run_key(config: dict, kind: str, device) -> str:
    """:func:`run_key` as this process trains the run: several CPU processes (gloo, which has no SyncBatchNorm)
    normalise each their own share of a batch, which trains another model than one process does, so their number
    joins the key; on GPUs (SyncBatchNorm) the world size stays out of it. A single process reading runs that
    several trained (a torchrun batch cell's sweep) is told their number by ``NML_TRAINED_BY_PROCESSES``."""
    world = rank_and_world()[1]
    if world == 1:
        world = int(os.environ.get("NML_TRAINED_BY_PROCESSES", "1"))
    if world > 1 and torch.device(device).type != "cuda":
        return run_key({**config, "unsynchronised_batchnorm_processes": world}, kind)
    return run_key(config, kind)


def warn_if_every_process_decodes(data: dict) -> None:
    """A warning under torchrun when each process would decode its own copy of image files (not a memmap)."""
    world = rank_and_world()[1]
    if world > 1 and data["name"] not in ("memmap", "synthetic"):
        warnings.warn(f"each of the {world} processes decodes its own copy of the {data['name']!r} images: convert "
                      "them once into the memmap form (data_scripts/build_memmap.py), which every process maps from "
                      "one file", stacklevel=3)


def _finished(folder: Path) -> bool:
    """Whether ``folder`` holds a finished run whose every file is intact; a damaged one is unmarked (trained again)."""
    marker = folder / "config.json"
    if not marker.exists() or (folder / "checkpoint.pt").exists():
        return False
    files = [p for p in folder.rglob("*") if p.is_file() and p.suffix != SEAL]
    if all([intact(p) for p in files]):  # a list: every damaged file is named
        return True
    if is_main_process():
        marker.unlink()
    barrier()
    return False


def pretraining_labels(config: dict, device=None) -> tuple[LabeledImages, NoisyLabels]:
    """The images of a supervised run's ``config`` and the noisy labels it trains on (``.corrupted`` marks the
    flipped ones): exactly what :func:`pretrain_supervised` uses.

    ``noise_type="file"`` reads them from the dataset's noisy-label file (``data.noisy_labels`` of a memmap
    dataset, written by ``data_scripts/noisy_labels.py``) instead of drawing them."""
    config = with_defaults(config, PRETRAIN_DEFAULTS)
    data = load_dataset(**config["data"], device=resolve_device(device))
    if config["noise_type"] == "file":
        if "noisy_labels" not in data.attributes:
            raise ValueError("noise_type 'file' needs a dataset with a noisy-label file: data={'name': 'memmap', "
                             "'root': ..., 'noisy_labels': 'noisy/flip_{ratio:g}_seed{seed}.npy'}")
        check_label_file(noisy_label_path(config["data"]["root"], config["data"]["noisy_labels"]),
                         config["noise_ratio"], config["seed"])
        noisy = data.attributes["noisy_labels"].to(data.labels.device)
        return data, NoisyLabels(noisy, noisy != data.labels)
    if "noisy_labels" in data.attributes:
        raise ValueError(f"the data name a noisy-label file but noise_type is {config['noise_type']!r}: set "
                         "noise_type='file' to train on it, or drop noisy_labels to draw the noise")
    return data, apply_label_noise(data.labels, data.num_classes, config["noise_type"], config["noise_ratio"],
                                   seed=config["seed"])


def pretrain_supervised(config: dict | None = None, cache_dir=".cache", device=None, progress: bool = True,
                        zoo: bool = False) -> PretrainedRun:
    """Pre-train on noisy labels as ``config`` says, reusing a finished run and resuming an interrupted one.

    The cache key hashes the whole config (data, noise, model, optimisation, resolved precision), so
    changing anything trains a new model while rerunning a notebook reuses the old one. With ``zoo`` a
    run the package ships (the quick preset's, :mod:`nml_tutorial.zoo`) is loaded instead of trained.
    """
    device = resolve_device(device)

    def train(config: dict, folder: Path):
        warn_if_every_process_decodes(config["data"])
        data, noisy = pretraining_labels(config, device)
        seed_everything(config["seed"])
        model = build_model(config["arch"], data.num_classes, width=config["width"], depth=config["depth"])
        history = train_classifier(model, data.images, noisy.labels, {k: config[k] for k in TRAIN_DEFAULTS},
                                   clean_labels=data.labels, checkpoint_path=folder / "checkpoint.pt", device=device,
                                   progress=progress)
        if is_main_process():
            seal(atomic_torch_save({"model": model.state_dict(), "history": history, "config": config},
                                   folder / "model.pt"))
        return model, history

    def load(folder: Path, config: dict):
        state = torch.load(folder / "model.pt", map_location=device, weights_only=False)
        model = build_model(config["arch"], state["model"]["head.weight"].shape[0], width=config["width"],
                            depth=config["depth"])
        model.load_state_dict(state["model"])
        return model.to(device).eval(), state["history"]

    return _cached_run("pretrain", config, PRETRAIN_DEFAULTS, device, cache_dir, zoo, train, load, "supervised")


def pretrain_clip(config: dict | None = None, cache_dir=".cache", device=None, progress: bool = True,
                  zoo: bool = False) -> PretrainedRun:
    """Pre-train a CLIP on captions of which ``noise_ratio`` are swapped, cached like :func:`pretrain_supervised`.

    The captions are generated for the synthetic images, or read with the images (``data={"name": "image_text",
    ...}``); ``model`` is a package config (``nml-tiny-rn``) or open_clip's (``RN50``, ``ViT-B-16``: 224-px images).

    The finished model is saved in open_clip's ``local-dir:`` format (``<cache>/clip/<key>/model``).
    """
    device = resolve_device(device)

    def train(config: dict, folder: Path):
        data = load_dataset(**config["data"], device=device)
        seed_everything(config["seed"])
        model = ClipModel(config["model"])
        captions = (data.captions if isinstance(data, ImageTextPairs)
                    else synthetic_captions(data, seed=config["caption_seed"]))
        tokens = model.tokenize(captions)
        index = caption_noise(len(data), config["noise_ratio"], seed=config["seed"])
        history = train_contrastive(model, data.images, tokens[index], {k: config[k] for k in CLIP_TRAIN_DEFAULTS},
                                    swapped=index != torch.arange(len(data)), checkpoint_path=folder / "checkpoint.pt",
                                    device=device, progress=progress)
        if is_main_process():
            save_clip(model, folder / "model")
            seal(atomic_write_json(history, folder / "history.json"))
        return model, history

    def load(folder: Path, config: dict):
        return load_clip(folder / "model", device=device), json.loads((folder / "history.json").read_text())

    return _cached_run("clip", config, CLIP_DEFAULTS, device, cache_dir, zoo, train, load, "clip")
