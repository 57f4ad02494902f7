"""Supervised pre-training on noisy labels: a loop you can read in one screen, and a cached runner.

The data live on the device as uint8 tensors; each step slices a batch, augments it there and
runs in the precision ``amp`` resolves to (bf16 autocast where the hardware computes bf16 natively, fp32
elsewhere), in channels_last memory format (faster on CPUs as on GPUs). Every epoch ends with an atomic checkpoint;
an interrupted run resumes from it and, because shuffling and augmentation are seeded per epoch,
finishes with the same weights as an uninterrupted one. Introduced in notebook 02_pretrain.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from open_clip import ClipLoss
from tqdm.auto import tqdm

from .augment import crop_flip
from .clip import ClipModel, contrastive_step, load_clip, save_clip
from .data import load_dataset
from .data.captions import synthetic_captions
from .io import atomic_torch_save, atomic_write_json, config_key
from .models import build_model
from .noise import apply_label_noise, caption_noise
from .runtime import autocast, resolve_device, resolve_precision, seed_everything
from .zoo import find as zoo_lookup

TRAIN_DEFAULTS = {
    "epochs": 10,
    "batch_size": 128,
    "optimizer": "sgd",  # or "adamw"
    "lr": 0.1,
    "momentum": 0.9,
    "weight_decay": 5e-4,
    "warmup_fraction": 0.05,
    "label_smoothing": 0.0,
    "augment": True,
    "padding": 4,
    "amp": "auto",  # bf16 autocast where native, else fp32 (runtime.resolve_precision)
    "seed": 0,
}


def with_defaults(hp: dict | None, defaults: dict) -> dict:
    """``defaults`` updated by ``hp``; a key that ``defaults`` lacks is an error (a typo, usually)."""
    unknown = set(hp or {}) - set(defaults)
    if unknown:
        raise ValueError(f"unknown hyper-parameters {sorted(unknown)}; known: {sorted(defaults)}")
    return {**defaults, **(hp or {})}


def _optimizer(model: torch.nn.Module, hp: dict) -> torch.optim.Optimizer:
    trainable = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in trainable if p.dim() > 1]
    no_decay = [p for p in trainable if p.dim() <= 1]
    groups = [{"params": decay, "weight_decay": hp["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}]
    if hp["optimizer"] == "sgd":
        return torch.optim.SGD(groups, lr=hp["lr"], momentum=hp.get("momentum", TRAIN_DEFAULTS["momentum"]),
                               nesterov=True)
    if hp["optimizer"] == "adamw":
        return torch.optim.AdamW(groups, lr=hp["lr"])
    raise ValueError(f"unknown optimizer {hp['optimizer']!r}; choose 'sgd' or 'adamw'")


def warmup_cosine(total_steps: int, warmup_fraction: float):
    """Learning-rate multiplier: linear warm-up, then cosine decay to zero."""
    warmup = max(1, int(total_steps * warmup_fraction))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total_steps - warmup)))

    return factor


def train_mode(model: torch.nn.Module) -> None:
    """``model.train()``, except BatchNorm layers whose parameters are all frozen keep their statistics."""
    model.train()
    for module in model.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            params = list(module.parameters())
            if params and not any(p.requires_grad for p in params):
                module.eval()


def _start(model, hp: dict, steps: int, checkpoint_path, device):
    """Optimizer and warm-up + cosine schedule for ``steps`` per epoch, resumed from an interrupted run's
    checkpoint when there is one; returns (optimizer, scheduler, history so far, first epoch to run)."""
    opt = _optimizer(model, hp)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, warmup_cosine(hp["epochs"] * steps, hp["warmup_fraction"]))
    if checkpoint_path is None or not Path(checkpoint_path).exists():
        return opt, sched, [], 0
    state = torch.load(checkpoint_path, map_location=device, weights_only=False)
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["optimizer"])
    sched.load_state_dict(state["scheduler"])
    return opt, sched, state["history"], state["epoch"]


def _checkpoint(checkpoint_path, model, opt, sched, history: list[dict]) -> None:
    if checkpoint_path is not None:
        atomic_torch_save({"model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                           "history": history, "epoch": len(history)}, checkpoint_path)


def train_classifier(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor, hp: dict | None = None, *,
                     clean_labels: torch.Tensor | None = None, checkpoint_path=None, device=None,
                     progress: bool = True, on_epoch_end=None, feature_loss=None) -> list[dict]:
    """Train ``model`` on (possibly noisy) ``labels``; returns one record per epoch.

    With ``clean_labels`` each record also says how many of the corrupted samples the model fits
    (predicts their noisy label) and how many it still predicts correctly: the memorisation regime.
    Parameters with ``requires_grad=False`` stay frozen; ``feature_loss(features)`` is added to the
    cross-entropy when given (NMTune's parameter-efficient form).
    """
    hp = with_defaults(hp, TRAIN_DEFAULTS)
    device = resolve_device(device)
    precision = resolve_precision(hp["amp"], device)
    model.to(device=device, memory_format=torch.channels_last)  # 1.3-1.7x faster on CPUs too (bench/)
    images, labels = images.to(device), labels.to(device)
    clean_labels = clean_labels.to(device) if clean_labels is not None else None
    corrupted = (labels != clean_labels) if clean_labels is not None else None
    n, bs = labels.numel(), min(hp["batch_size"], labels.numel())
    steps = n // bs  # drop the ragged last batch: BatchNorm dislikes tiny ones
    opt, sched, history, start = _start(model, hp, steps, checkpoint_path, device)

    bar = tqdm(range(start, hp["epochs"]), desc="pre-train", disable=not progress, leave=False)
    for epoch in bar:
        g = torch.Generator().manual_seed(hp["seed"] * 1_000_003 + epoch)
        order = torch.randperm(n, generator=g).to(device)
        train_mode(model)
        totals = torch.zeros(5, device=device)  # loss, correct, fitted-noisy, true-on-noisy, noisy seen
        for step in range(steps):
            idx = order[step * bs:(step + 1) * bs]
            x, y = images[idx], labels[idx]
            if hp["augment"]:
                x = crop_flip(x, g, padding=hp["padding"])
            x = x.contiguous(memory_format=torch.channels_last)
            with autocast(device, precision):
                feats = model.features(x)
                logits = model.head(feats)
            loss = F.cross_entropy(logits.float(), y, label_smoothing=hp["label_smoothing"])
            if feature_loss is not None:
                loss = loss + feature_loss(feats.float())
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            with torch.no_grad():
                pred = logits.argmax(1)
                totals[0] += loss.detach() * len(y)
                totals[1] += (pred == y).sum()
                if corrupted is not None:
                    noisy = corrupted[idx]
                    totals[2] += (noisy & (pred == y)).sum()
                    totals[3] += (noisy & (pred == clean_labels[idx])).sum()
                    totals[4] += noisy.sum()
        t, seen = totals.tolist(), steps * bs  # one device sync per epoch
        record = {"epoch": epoch + 1, "loss": t[0] / seen, "train_acc": t[1] / seen, "lr": sched.get_last_lr()[0]}
        if t[4] > 0:
            record.update(noisy_fitted=t[2] / t[4], noisy_predicted_true=t[3] / t[4])
        history.append(record)
        bar.set_postfix(loss=f"{record['loss']:.3f}", acc=f"{record['train_acc']:.3f}")
        _checkpoint(checkpoint_path, model, opt, sched, history)
        if on_epoch_end is not None:
            on_epoch_end(record)
    model.eval()
    return history


# The defaults are the quick preset's pre-training, so pretrain_supervised({"noise_ratio": 0.1}) in a
# notebook reuses the model the quick sweep cached (or the package's model zoo holds). The quick preset
# trains in fp32 on every machine, so its numbers and its zoo are the same wherever it runs.
PRETRAIN_DEFAULTS = {
    "data": {"name": "synthetic", "split": "train", "domain": "photo", "num_classes": 60,
             "classes": list(range(40)), "samples_per_class": 100, "image_size": 32, "seed": 0},
    "noise_type": "symmetric",
    "noise_ratio": 0.0,
    "arch": "resnet_small",
    "width": 16,
    "depth": 1,
    **TRAIN_DEFAULTS,
    "epochs": 15,
    "amp": "fp32",
}


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


def _resolved(config: dict | None, defaults: dict, device) -> tuple[dict, str]:
    """The full config with its precision resolved for ``device`` (so the key says what ran), and its key."""
    config = with_defaults(config, defaults)
    config["amp"] = resolve_precision(config["amp"], device)
    return config, config_key(config)


def _finished(kind: str, key: str, cache_dir, marker: str, zoo: bool) -> tuple[Path, str] | None:
    """Folder and source of a finished run: the cache first, then (with ``zoo``) the package's model zoo."""
    run_dir = Path(cache_dir) / kind / key
    if (run_dir / marker).exists():
        return run_dir, "cache"
    found = zoo_lookup(kind, key) if zoo else None
    return (found, "zoo") if found is not None else None


def pretrain_supervised(config: dict | None = None, cache_dir=".cache", device=None, progress: bool = True,
                        zoo: bool = False) -> PretrainedRun:
    """Pre-train on noisy labels as ``config`` says, reusing a finished run and resuming an interrupted one.

    The cache key hashes the whole config (data, noise, model, optimisation, resolved precision), so
    changing anything trains a new model while rerunning a notebook reuses the old one. With ``zoo`` a
    run the package ships (the quick preset's, :mod:`nml_tutorial.zoo`) is loaded instead of trained.
    """
    device = resolve_device(device)
    config, key = _resolved(config, PRETRAIN_DEFAULTS, device)
    run_dir = Path(cache_dir) / "pretrain" / key
    found = _finished("pretrain", key, cache_dir, "model.pt", zoo)
    if found is not None:
        state = torch.load(found[0] / "model.pt", map_location=device, weights_only=False)
        model = build_model(config["arch"], state["model"]["head.weight"].shape[0], width=config["width"],
                            depth=config["depth"])
        model.load_state_dict(state["model"])
        return PretrainedRun(model.to(device).eval(), config, key, state["history"], source=found[1], folder=found[0])

    data = load_dataset(**config["data"], device=device)
    seed_everything(config["seed"])
    model = build_model(config["arch"], data.num_classes, width=config["width"], depth=config["depth"])
    noisy = apply_label_noise(data.labels, data.num_classes, config["noise_type"], config["noise_ratio"],
                              seed=config["seed"])
    atomic_write_json(config, run_dir / "config.json")
    hp = {k: config[k] for k in TRAIN_DEFAULTS}
    history = train_classifier(model, data.images, noisy.labels, hp, clean_labels=data.labels,
                               checkpoint_path=run_dir / "checkpoint.pt", device=device, progress=progress)
    atomic_torch_save({"model": model.state_dict(), "history": history, "config": config}, run_dir / "model.pt")
    (run_dir / "checkpoint.pt").unlink(missing_ok=True)
    return PretrainedRun(model, config, key, history, folder=run_dir)


CLIP_TRAIN_DEFAULTS = {
    "epochs": 10,
    "batch_size": 64,
    "optimizer": "adamw",
    "lr": 5e-3,
    "weight_decay": 0.1,
    "warmup_fraction": 0.1,
    "augment": True,
    "padding": 2,
    "amp": "auto",
    "seed": 0,
}


def train_contrastive(model, images: torch.Tensor, tokens: torch.Tensor, hp: dict | None = None, *,
                      swapped: torch.Tensor | None = None, checkpoint_path=None, device=None,
                      progress: bool = True) -> list[dict]:
    """Train a :class:`~nml_tutorial.clip.ClipModel` with open_clip's ``ClipLoss`` on (image, caption tokens).

    ``swapped`` marks the pairs whose caption belongs to another image; each epoch record then says
    how many of them the model fits (the image retrieves its wrong caption within its batch).
    Same checkpoint/resume rules as :func:`train_classifier`.
    """
    hp = with_defaults(hp, CLIP_TRAIN_DEFAULTS)
    device = resolve_device(device)
    precision = resolve_precision(hp["amp"], device)
    model.to(device)
    images, tokens = images.to(device), tokens.to(device)
    swapped = swapped.to(device) if swapped is not None else None
    n, bs = len(images), min(hp["batch_size"], len(images))
    steps = n // bs
    opt, sched, history, start = _start(model, hp, steps, checkpoint_path, device)
    loss_fn = ClipLoss()
    bar = tqdm(range(start, hp["epochs"]), desc="pre-train CLIP", disable=not progress, leave=False)
    for epoch in bar:
        g = torch.Generator().manual_seed(hp["seed"] * 1_000_003 + epoch)
        order = torch.randperm(n, generator=g).to(device)
        model.train()
        totals = torch.zeros(4, device=device)  # loss, matched, matched-swapped, swapped seen
        for step in range(steps):
            idx = order[step * bs:(step + 1) * bs]
            x = crop_flip(images[idx], g, padding=hp["padding"]) if hp["augment"] else images[idx]
            loss, matched = contrastive_step(model, x, tokens[idx], loss_fn, device, precision)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            with torch.no_grad():
                model.logit_scale.clamp_(0, math.log(100))  # CLIP's cap on the temperature
                totals[0] += loss.detach() * bs
                totals[1] += matched.sum()
                if swapped is not None:
                    totals[2] += (matched & swapped[idx]).sum()
                    totals[3] += swapped[idx].sum()
        t, seen = totals.tolist(), steps * bs
        record = {"epoch": epoch + 1, "loss": t[0] / seen, "train_acc": t[1] / seen, "lr": sched.get_last_lr()[0]}
        if t[3] > 0:
            record["noisy_fitted"] = t[2] / t[3]
        history.append(record)
        bar.set_postfix(loss=f"{record['loss']:.3f}", acc=f"{record['train_acc']:.3f}")
        _checkpoint(checkpoint_path, model, opt, sched, history)
    model.eval()
    return history


# The quick CLIP pre-training: photo images of the 40 pre-training classes with generated captions.
CLIP_DEFAULTS = {
    "data": {**PRETRAIN_DEFAULTS["data"], "samples_per_class": 100},
    "model": "nml-tiny-rn",
    "noise_type": "caption",
    "noise_ratio": 0.0,
    "caption_seed": 0,
    **CLIP_TRAIN_DEFAULTS,
    "amp": "fp32",  # as the supervised quick preset: the same numbers (and zoo) on every machine
}


def pretrain_clip(config: dict | None = None, cache_dir=".cache", device=None, progress: bool = True,
                  zoo: bool = False) -> PretrainedRun:
    """Pre-train a tiny CLIP on captions of which ``noise_ratio`` are swapped, cached like :func:`pretrain_supervised`.

    The finished model is saved in open_clip's ``local-dir:`` format (``<cache>/clip/<key>/model``).
    """
    device = resolve_device(device)
    config, key = _resolved(config, CLIP_DEFAULTS, device)
    run_dir = Path(cache_dir) / "clip" / key
    found = _finished("clip", key, cache_dir, "history.json", zoo)
    if found is not None:
        history = json.loads((found[0] / "history.json").read_text())
        return PretrainedRun(load_clip(found[0] / "model", device=device), config, key, history, "clip", found[1],
                             found[0])

    data = load_dataset(**config["data"], device=device)
    seed_everything(config["seed"])
    model = ClipModel(config["model"])
    tokens = model.tokenize(synthetic_captions(data, seed=config["caption_seed"]))
    index = caption_noise(len(data), config["noise_ratio"], seed=config["seed"])
    atomic_write_json(config, run_dir / "config.json")
    hp = {k: config[k] for k in CLIP_TRAIN_DEFAULTS}
    history = train_contrastive(model, data.images, tokens[index], hp, swapped=index != torch.arange(len(data)),
                                checkpoint_path=run_dir / "checkpoint.pt", device=device, progress=progress)
    save_clip(model, run_dir / "model")
    atomic_write_json(history, run_dir / "history.json")  # written last: marks the run finished
    (run_dir / "checkpoint.pt").unlink(missing_ok=True)
    return PretrainedRun(model.eval(), config, key, history, "clip", folder=run_dir)
