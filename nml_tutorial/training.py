"""The training scaffold of every model trained on images: optimiser, warm-up + cosine schedule, seeded epochs,
atomic checkpoints and resume.

``fit`` runs the epochs; a loop only says what one step does (:func:`train_classifier` here, the contrastive
loop in :mod:`nml_tutorial.clip`, last-block tuning in :mod:`nml_tutorial.nmtune`). Shuffling and augmentation
draw from a generator seeded per epoch, so a run resumed from its last checkpoint finishes with the same weights as
an uninterrupted one. The probes and heads on cached features train in loops of their own (:mod:`nml_tutorial.probe`,
:mod:`nml_tutorial.nmtune`): seconds long, never checkpointed, with the held-out epoch choice and paired views
their protocols need.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .atomic import atomic_torch_save, intact, seal
from .augment import crop_flip
from .config import TRAIN_DEFAULTS
from .feeding import Feeder
from .runtime import autocast, barrier, is_main_process, rank_and_world, resolve_device, resolve_precision


def with_defaults(hp: dict | None, defaults: dict) -> dict:
    """``defaults`` updated by ``hp``; a key that ``defaults`` lacks is an error (a typo, usually)."""
    unknown = set(hp or {}) - set(defaults)
    if unknown:
        raise ValueError(f"unknown hyper-parameters {sorted(unknown)}; known: {sorted(defaults)}")
    return {**defaults, **(hp or {})}


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


def _optimizer(model: torch.nn.Module, hp: dict) -> torch.optim.Optimizer:
    """SGD (Nesterov) or AdamW over the trainable parameters; no weight decay on biases and norms."""
    trainable = [p for p in model.parameters() if p.requires_grad]
    groups = [{"params": [p for p in trainable if p.dim() > 1], "weight_decay": hp["weight_decay"]},
              {"params": [p for p in trainable if p.dim() <= 1], "weight_decay": 0.0}]
    if hp["optimizer"] == "sgd":
        return torch.optim.SGD(groups, lr=hp["lr"], momentum=hp["momentum"], nesterov=True)
    if hp["optimizer"] == "adamw":
        return torch.optim.AdamW(groups, lr=hp["lr"])
    raise ValueError(f"unknown optimizer {hp['optimizer']!r}; choose 'sgd' or 'adamw'")


def _checkpoint(checkpoint_path, model, opt, sched, history: list[dict], within: dict | None = None) -> None:
    """Rank 0 writes model, optimiser, schedule and history atomically, sealed with a checksum; ``within`` an
    unfinished epoch's place (its steps done, their summed counts, the epoch generator's state)."""
    if checkpoint_path is not None and is_main_process():
        atomic_torch_save({"model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                           "history": history, "within": within}, checkpoint_path)
        seal(checkpoint_path)


def _resume(checkpoint_path, model, opt, sched, device) -> tuple[list[dict], dict | None]:
    """The history of the epochs an interrupted run finished and its place within the next (None: at its start),
    its model, optimiser and schedule restored from an intact checkpoint (a damaged one: start afresh); ``([],
    None)`` when there is none. Under torchrun every process must see the checkpoint, or none."""
    if checkpoint_path is None:
        return [], None
    if rank_and_world()[1] > 1:  # two counts of the processes that see it (nccl: on the GPU)
        fewest, most = (torch.tensor(int(Path(checkpoint_path).exists()), device=device) for _ in range(2))
        torch.distributed.all_reduce(fewest, op=torch.distributed.ReduceOp.MIN)
        torch.distributed.all_reduce(most, op=torch.distributed.ReduceOp.MAX)
        if fewest != most:
            raise RuntimeError(f"only some processes see the checkpoint {checkpoint_path}: put the cache on a "
                               "filesystem every node shares")
    if not intact(checkpoint_path):
        return [], None
    state = torch.load(checkpoint_path, map_location=device, weights_only=False)
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["optimizer"])
    sched.load_state_dict(state["scheduler"])
    return state["history"], state.get("within")


def checkpoint_steps(every: int | None = None) -> int | None:
    """Steps between checkpoints inside an epoch: ``every``, else ``NML_CHECKPOINT_STEPS`` (None: at epoch ends only;
    not part of a run's key, since a resumed run ends with the same weights however often it was saved)."""
    every = every if every is not None else os.environ.get("NML_CHECKPOINT_STEPS") or None
    if every is None:
        return None
    if not str(every).isdigit() or int(every) < 1:
        raise ValueError(f"checkpoint steps must be a positive whole number, got {every!r} (NML_CHECKPOINT_STEPS)")
    return int(every)


def _global_batch(num_samples: int, batch_size: int) -> tuple[int, slice]:
    """The global batch size and this process's rows of each batch (all of them outside torchrun)."""
    bs = min(batch_size, num_samples)
    rank, world = rank_and_world()
    if bs % world:
        raise ValueError(f"the global batch of {bs} does not split over {world} processes; choose a batch_size "
                         f"divisible by {world}")
    return bs, slice(rank * bs // world, (rank + 1) * bs // world)


def _summed(totals: dict) -> dict:
    """The counts so far summed over processes (every process calls it): what a checkpoint inside an epoch keeps."""
    if rank_and_world()[1] == 1:
        return totals
    summed = {name: value.clone() for name, value in totals.items()}
    for value in summed.values():
        torch.distributed.all_reduce(value)
    return summed


def _own_share(saved: dict) -> dict:
    """A resumed epoch's counts: the saved sums on rank 0, zeros elsewhere (the epoch's all-reduce counts each once)."""
    return saved if is_main_process() else {name: torch.zeros_like(value) for name, value in saved.items()}


def _epoch_record(epoch: int, totals: dict, seen: int, lr: float) -> dict:
    """One epoch's means (loss, train_acc, and the noisy-label fractions when corrupted samples were seen), its
    counts summed over processes first: one device sync an epoch."""
    summed = torch.stack([v.float() for v in totals.values()])
    if rank_and_world()[1] > 1:
        torch.distributed.all_reduce(summed)
    t = dict(zip(totals, summed.tolist()))
    noisy = t.pop("noisy", 0)
    record = {"epoch": epoch + 1, "loss": t.pop("loss") / seen, "train_acc": t.pop("correct") / seen, "lr": lr}
    if noisy > 0:
        record.update({name: value / noisy for name, value in t.items()})
    return record


def fit(model: torch.nn.Module, num_samples: int, step: Callable, hp: dict, *, checkpoint_path=None, device=None,
        progress: bool = True, desc: str = "train", on_epoch_end=None, after_step=None, ahead=None,
        checkpoint_every: int | None = None) -> list[dict]:
    """Run ``hp["epochs"]`` epochs of ``step(idx, generator, span) -> (loss, counts)`` over shuffled batches.

    Drops the ragged last batch (BatchNorm dislikes tiny ones); steps the optimiser and schedule after each
    ``step`` (which returns its loss, not yet backpropagated, and its counts), then calls ``after_step()`` if
    given (e.g. to clamp a parameter); ``ahead(idx)`` hears the next step's indices first (a :class:`Feeder`
    gathers them meanwhile). Checkpoints atomically after every epoch, and every ``checkpoint_every`` steps
    (:func:`checkpoint_steps`), and resumes from ``checkpoint_path`` when an interrupted run left an intact
    checkpoint there: the epoch's order is drawn again from the seed, and its generator restored, so the resumed run
    ends with an uninterrupted one's weights. Returns one record per epoch: loss, train_acc, lr, and noisy_fitted /
    noisy_predicted_true when corrupted samples were seen.

    In a distributed run (torchrun) the global batch ``hp["batch_size"]`` and the order of samples stay those of
    one process: each of the W processes steps on its 1/W share (``span`` says which rows of the global batch,
    for :func:`~nml_tutorial.augment.crop_flip`), the epoch's counts are summed over processes and rank 0 writes
    the checkpoint. The ``step`` must run its model through :func:`distributed` (as :func:`train_classifier`
    does), or the processes' gradients are never averaged.
    """
    bs, share = _global_batch(num_samples, hp["batch_size"])
    steps = num_samples // bs
    opt = _optimizer(model, hp)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, warmup_cosine(hp["epochs"] * steps, hp["warmup_fraction"]))
    history, within = _resume(checkpoint_path, model, opt, sched, device)
    every = checkpoint_steps(checkpoint_every)
    bar = tqdm(range(len(history), hp["epochs"]), desc=desc, disable=not progress, leave=False)
    for epoch in bar:
        g = torch.Generator().manual_seed(hp["seed"] * 1_000_003 + epoch)  # shuffling and augmentation
        order = torch.randperm(num_samples, generator=g).to(device)
        train_mode(model)
        start, totals = (0, {}) if within is None else (within["step"], _own_share(within["totals"]))
        if within is not None:  # the order drawn again; the generator where the interrupted epoch left it
            g.set_state(within["generator"].cpu())
            within = None
        if ahead is not None and start < steps:
            ahead(order[start * bs:(start + 1) * bs][share])
        for i in range(start, steps):
            idx = order[i * bs:(i + 1) * bs][share]
            if ahead is not None and i + 1 < steps:
                ahead(order[(i + 1) * bs:(i + 2) * bs][share])
            loss, counts = step(idx, g, (share.start, bs))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            if after_step is not None:
                after_step()
            for name, value in {"loss": loss.detach() * len(idx), **counts}.items():
                totals[name] = totals.get(name, 0) + value
            if every is not None and (i + 1) % every == 0 and i + 1 < steps:
                _checkpoint(checkpoint_path, model, opt, sched, history,
                            {"step": i + 1, "totals": _summed(totals), "generator": g.get_state()})
        history.append(_epoch_record(epoch, totals, steps * bs, sched.get_last_lr()[0]))
        bar.set_postfix(loss=f"{history[-1]['loss']:.3f}", acc=f"{history[-1]['train_acc']:.3f}")
        _checkpoint(checkpoint_path, model, opt, sched, history)
        barrier()
        if on_epoch_end is not None:
            on_epoch_end(history[-1])
    model.eval()
    return history


class FeaturesAndLogits(nn.Module):
    """A classifier's forward returning its features and its logits: one call, so DistributedDataParallel sees it."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x):
        feats = self.model.features(x)
        return feats, self.model.head(feats)


def distributed(module: nn.Module, device) -> nn.Module:
    """``module`` wrapped in DistributedDataParallel when a process group runs (BatchNorm synchronised across GPUs;
    on CPUs, gloo has no SyncBatchNorm and each process normalises its own share), else ``module`` itself."""
    if rank_and_world()[1] == 1:
        return module
    device = torch.device(device)
    if device.type == "cuda":
        module = nn.SyncBatchNorm.convert_sync_batchnorm(module)
    return nn.parallel.DistributedDataParallel(module, device_ids=[device] if device.type == "cuda" else None)


def train_classifier(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor, hp: dict | None = None, *,
                     clean_labels: torch.Tensor | None = None, checkpoint_path=None, device=None,
                     progress: bool = True, on_epoch_end=None, feature_loss=None) -> list[dict]:
    """Train ``model`` (``.features`` then ``.head``) on (possibly noisy) ``labels``; one record per epoch.

    The data live on the device as uint8 tensors; each step slices a batch, augments it there (pad-crop + flip)
    and runs in the precision ``hp["amp"]`` resolves to, channels_last (faster on CPUs as on GPUs). With
    ``clean_labels`` each record also says how many corrupted samples the model fits: the memorisation regime.
    Parameters with ``requires_grad=False`` stay frozen; ``feature_loss(features)`` is added to the
    cross-entropy when given (NMTune's parameter-efficient form).
    """
    hp = with_defaults(hp, TRAIN_DEFAULTS)
    device = resolve_device(device)
    precision = resolve_precision(hp["amp"], device)
    model.to(device=device, memory_format=torch.channels_last)  # 1.3-1.7x faster on CPUs too (bench/)
    take, labels = Feeder(images, device), labels.to(device)
    clean = clean_labels.to(device) if clean_labels is not None else labels
    corrupted = labels != clean
    net = distributed(FeaturesAndLogits(model), device)

    def step(idx: torch.Tensor, g: torch.Generator, span: tuple[int, int]):
        x, y = take(idx), labels[idx]
        if hp["augment"]:
            x = crop_flip(x, g, padding=hp["padding"], span=span)
        with autocast(device, precision):
            feats, logits = net(x.contiguous(memory_format=torch.channels_last))
        loss = F.cross_entropy(logits.float(), y, label_smoothing=hp["label_smoothing"])
        if feature_loss is not None:
            loss = loss + feature_loss(feats.float())
        with torch.no_grad():
            pred, noisy = logits.argmax(1), corrupted[idx]
            counts = {"correct": (pred == y).sum(), "noisy": noisy.sum(), "noisy_fitted": (noisy & (pred == y)).sum(),
                      "noisy_predicted_true": (noisy & (pred == clean[idx])).sum()}
        return loss, counts

    try:
        return fit(model, labels.numel(), step, hp, checkpoint_path=checkpoint_path, device=device,
                   progress=progress, desc="pre-train", on_epoch_end=on_epoch_end, ahead=take.ahead)
    finally:
        take.close()
