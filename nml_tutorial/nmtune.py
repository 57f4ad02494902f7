"""NMTune: reshape a noisy model's feature space without touching its weights.

Black-box form: the frozen encoder gives f (dim D); a head maps it to

    z = s * MLP(f) + f,    MLP = Linear(D, 4D) -> BatchNorm -> ReLU -> Linear(4D, D),  s init 1,

and a linear classifier reads z. The loss adds three regularisers to the cross-entropy:

- ``mse``: keep z close to f (both row-normalised; f detached): do not forget pre-training;
- ``cov``: sum of squared off-diagonal covariances of z over D: decorrelate the dimensions;
- ``svd``: minus the mean of the top-k shares sigma_i / sum(sigma) of z: give the dominant
  directions back their share (the spectrum pre-training noise flattened).

Weights 1.0 / 0.04 / 0.001, top-5, as in the study. The baselines share the trainer: a linear
head on f, and the same MLP head with cross-entropy only (NMTune with every weight at zero).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from . import spectrum
from .config import HEAD_DEFAULTS, NMTUNE_WEIGHTS, PE_DEFAULTS, PE_METHODS, STUDY_HEAD_DEFAULTS, resolve_weights
from .data.common import stratified_split
from .features import check_features
from .models import last_block
from .probe import check_labels, top1
from .training import train_classifier, warmup_cosine, with_defaults


def covariance_loss(z: torch.Tensor) -> torch.Tensor:
    """Sum of squared off-diagonal entries of the unbiased covariance of z, divided by its dimension."""
    n, d = z.shape
    if n < 2:
        raise ValueError("NMTune's covariance term needs a batch of at least 2 samples")
    centred = z - z.mean(0, keepdim=True)
    cov = centred.T @ centred / (n - 1)
    return (cov.pow(2).sum() - cov.diagonal().pow(2).sum()) / d


def singular_value_loss(z: torch.Tensor, k: int = 5) -> torch.Tensor:
    """Minus the mean of the top-k shares sigma_i / sum(sigma) of the (uncentred) batch z."""
    s = torch.linalg.svdvals(z.float())
    return -(s / s.sum()).topk(min(k, s.numel())).values.mean()


def nmtune_losses(f: torch.Tensor, z: torch.Tensor, k: int = 5) -> dict[str, torch.Tensor]:
    """The three NMTune regularisers of a batch of features ``f`` and their transform ``z``."""
    mse = (F.normalize(z, dim=1) - F.normalize(f.detach(), dim=1)).pow(2).mean()
    return {"mse": mse, "cov": covariance_loss(z), "svd": singular_value_loss(z, k)}


class NMTuneHead(nn.Module):
    """z = s * MLP(f) + f with a learnable per-dimension scale s, and a linear classifier on z."""

    def __init__(self, dim: int, num_classes: int, expansion: int = 4):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(dim, expansion * dim), nn.BatchNorm1d(expansion * dim), nn.ReLU(),
                                 nn.Linear(expansion * dim, dim))
        self.scale = nn.Parameter(torch.ones(dim))
        self.classifier = nn.Linear(dim, num_classes)

    def transform(self, f: torch.Tensor) -> torch.Tensor:
        return self.scale * self.mlp(f) + f

    def forward(self, f: torch.Tensor):
        z = self.transform(f)
        return self.classifier(z), z


class LinearHead(nn.Module):
    """The linear-probe baseline under the same trainer: z = f."""

    def __init__(self, dim: int, num_classes: int):
        super().__init__()
        self.classifier = nn.Linear(dim, num_classes)

    def transform(self, f: torch.Tensor) -> torch.Tensor:
        return f

    def forward(self, f: torch.Tensor):
        return self.classifier(f), f


@dataclass
class TunedHead:
    """A trained head with the feature standardisation it was trained under."""

    head: nn.Module
    mean: torch.Tensor
    std: torch.Tensor
    best_epoch: int
    history: list[dict]

    def reads(self, f: torch.Tensor) -> torch.Tensor:
        """The features the head reads: ``f`` standardised as in training (raw under the study's protocol)."""
        return (f.float() - self.mean) / self.std

    @torch.no_grad()
    def transform(self, f: torch.Tensor) -> torch.Tensor:
        self.head.eval()
        return self.head.transform(self.reads(f))

    @torch.no_grad()
    def accuracy(self, f: torch.Tensor, y: torch.Tensor, columns: torch.Tensor | None = None) -> float:
        check_features(f, y)
        self.head.eval()
        return top1(self.head(self.reads(f))[0], y, columns)

    def spectrum_change(self, f: torch.Tensor) -> dict[str, float]:
        """SVE and LSVR of what the head reads (f, standardised as in training) and of what its classifier reads
        (z): how the head reshaped the spectrum."""
        before, after = self.reads(f), self.transform(f)
        return {"SVE of f": spectrum.sve(before), "SVE of z": spectrum.sve(after),
                "LSVR of f": spectrum.lsvr(before), "LSVR of z": spectrum.lsvr(after)}


def _step(head: nn.Module, opt, sched, f_in: torch.Tensor, f_target: torch.Tensor, y: torch.Tensor,
          weights: dict, top_k: int) -> float:
    """One optimiser step of cross-entropy plus the weighted NMTune terms; returns the loss."""
    logits, z = head(f_in)
    loss = F.cross_entropy(logits, y)
    if any(weights.values()):
        terms = nmtune_losses(f_target, z, k=top_k)
        loss = loss + sum(weights[name] * terms[name] for name in terms if weights[name])
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    sched.step()
    return loss.item()


def train_head(method: str, features: torch.Tensor, labels: torch.Tensor, hp: dict | None = None,
               weights: dict | None = None, progress: bool = False) -> TunedHead:
    """Train a head on cached features (black-box: the encoder is never needed).

    ``method``: ``"linear_head"``, ``"mlp_head"`` (cross-entropy only) or ``"nmtune"``. The epoch with
    the best accuracy on a stratified validation split of the training features is kept (the tuned protocol;
    :func:`train_head_on_views` is the study's).
    """
    hp = with_defaults(hp, HEAD_DEFAULTS)
    weights = resolve_weights(method, weights)
    check_features(features, labels, "training features")
    check_labels(labels)
    device = features.device
    labels = labels.to(device).long()
    num_classes = int(labels.max()) + 1
    mean, std = features.float().mean(0), features.float().std(0).clamp_min(1e-6)
    x = (features.float() - mean) / std
    train, val = stratified_split(labels, hp["val_fraction"], hp["seed"])
    train, val = train.to(device), val.to(device)
    x_train, y_train, x_val, y_val = x[train], labels[train], x[val], labels[val]

    torch.manual_seed(hp["seed"])
    head = (LinearHead if method == "linear_head" else NMTuneHead)(x.shape[1], num_classes).to(device)
    opt = torch.optim.AdamW(head.parameters(), lr=hp["lr"], weight_decay=hp["weight_decay"])
    bs = min(hp["batch_size"], len(y_train))
    steps = max(1, len(y_train) // bs)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, warmup_cosine(hp["epochs"] * steps, hp["warmup_fraction"]))
    g = torch.Generator().manual_seed(hp["seed"])
    best = (-1.0, 0, copy.deepcopy(head.state_dict()))
    history = []
    for epoch in tqdm(range(hp["epochs"]), desc=method, disable=not progress, leave=False):
        head.train()
        order = torch.randperm(len(y_train), generator=g).to(device)
        total = 0.0
        for step in range(steps):
            idx = order[step * bs:(step + 1) * bs]
            total += _step(head, opt, sched, x_train[idx], x_train[idx], y_train[idx], weights, hp["top_k"])
        head.eval()
        with torch.no_grad():
            val_acc = top1(head(x_val)[0], y_val)
        history.append({"epoch": epoch + 1, "loss": total / steps, "val_acc": val_acc})
        if val_acc > best[0]:
            best = (val_acc, epoch + 1, copy.deepcopy(head.state_dict()))
    head.load_state_dict(best[2])
    head.eval()
    return TunedHead(head, mean, std, best[1], history)


def study_head(method: str, dim: int, num_classes: int, num_samples: int, hp: dict, device=None):
    """A fresh head as the study trains it (seeded; kaiming-uniform classifier, zero bias), its AdamW and its cosine
    schedule over ``hp["epochs"]`` epochs of batches (the ragged last one kept): (head, optimiser, scheduler)."""
    torch.manual_seed(hp["seed"])
    head = (LinearHead if method == "linear_head" else NMTuneHead)(dim, num_classes).to(device)
    nn.init.zeros_(head.classifier.bias)
    opt = torch.optim.AdamW(head.parameters(), lr=hp["lr"], weight_decay=hp["weight_decay"])
    steps = -(-num_samples // min(hp["batch_size"], num_samples))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, warmup_cosine(hp["epochs"] * steps, 0.0))
    return head, opt, sched


def train_head_on_views(method: str, views: torch.Tensor, labels: torch.Tensor, hp: dict | None = None,
                        weights: dict | None = None, progress: bool = False, validation=None) -> TunedHead:
    """Train a head as the study does, black-box: on the *raw* features of augmented views.

    ``views``: (K, N, D) features of K >= 2 random-resized-crop + flip views of each training image
    (:func:`~nml_tutorial.augment.resized_crop_flip`), extracted once by the frozen encoder. Each step draws two
    different views of every image in the batch: cross-entropy on both, the ``mse`` term between z of each view
    and f of the other, the covariance and singular-value terms on the 2B stacked rows of z. The classifier
    starts kaiming-uniform with a zero bias; no epoch is selected on held-out data (the last one is kept), unless
    ``validation`` = (features, labels) of held-out images is given: then the epoch with the best accuracy there.
    """
    hp = with_defaults(hp, STUDY_HEAD_DEFAULTS)
    weights = resolve_weights(method, weights)
    if views.dim() != 3 or views.shape[0] < 2:
        raise ValueError(f"views must be (K, N, D) features of K >= 2 views per image, got {tuple(views.shape)}; "
                         "stack each view's (N, D) features with torch.stack")
    k, n, d = views.shape
    check_features(views.reshape(k * n, d), name="view features")
    if labels.shape != (n,):
        raise ValueError(f"views of {n} images but labels of shape {tuple(labels.shape)}; pass one label per image")
    check_labels(labels)
    device = views.device
    labels = labels.to(device).long()
    head, opt, sched = study_head(method, d, int(labels.max()) + 1, n, hp, device)
    bs = min(hp["batch_size"], n)
    steps = -(-n // bs)
    g = torch.Generator().manual_seed(hp["seed"])
    views = views.float()
    history, best = [], None
    for epoch in tqdm(range(hp["epochs"]), desc=method, disable=not progress, leave=False):
        head.train()
        order = torch.randperm(n, generator=g)
        total = 0.0
        for start in range(0, n, bs):
            idx = order[start:start + bs]
            first = torch.randint(k, (len(idx),), generator=g)
            second = (first + torch.randint(1, k, (len(idx),), generator=g)) % k
            f1, f2 = views[first.to(device), idx.to(device)], views[second.to(device), idx.to(device)]
            total += _step(head, opt, sched, torch.cat([f1, f2]), torch.cat([f2, f1]), labels[idx.to(device)].repeat(2),
                           weights, hp["top_k"])
        history.append({"epoch": epoch + 1, "loss": total / steps})
        if validation is not None:
            head.eval()
            with torch.no_grad():
                history[-1]["val_acc"] = top1(head(validation[0].float().to(device))[0], validation[1])
            if best is None or history[-1]["val_acc"] > best[0]:
                best = (history[-1]["val_acc"], epoch + 1, copy.deepcopy(head.state_dict()))
    if best is not None:
        head.load_state_dict(best[2])
    head.eval()
    return TunedHead(head, torch.zeros(d, device=device), torch.ones(d, device=device),
                     hp["epochs"] if best is None else best[1], history)


def tune_encoder(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, method: str = "nmtune_pe",
                 hp: dict | None = None, weights: dict | None = None, device=None,
                 progress: bool = False) -> nn.Module:
    """Parameter-efficient tuning: a copy of the encoder whose *last residual block* and a new linear head train.

    ``"nmtune_pe"`` adds the covariance and singular-value terms on the encoder's own features
    (weights 0.04 / 0.001 by default); ``"finetune_pe"`` is plain cross-entropy on the same parameters.
    The last block rather than LoRA: in a compact ResNet it is a small, self-contained set of
    parameters (about a third of them) right where the features are formed, and needs no adapter code.
    """
    if method not in PE_METHODS:
        raise ValueError(f"unknown parameter-efficient method {method!r}; choose one of {list(PE_METHODS)}")
    check_labels(labels)
    weights = {"cov": NMTUNE_WEIGHTS["cov"], "svd": NMTUNE_WEIGHTS["svd"], **(weights or {})}
    if set(weights) - {"cov", "svd"}:
        raise ValueError("parameter-efficient NMTune takes only the 'cov' and 'svd' weights")
    tuned = copy.deepcopy(model)
    tuned.head = nn.Linear(tuned.feature_dim, int(labels.max()) + 1)
    for p in tuned.parameters():
        p.requires_grad_(False)
    for p in list(last_block(tuned).parameters()) + list(tuned.head.parameters()):
        p.requires_grad_(True)
    top_k = HEAD_DEFAULTS["top_k"]

    def spectrum_terms(feats: torch.Tensor) -> torch.Tensor:
        return weights["cov"] * covariance_loss(feats) + weights["svd"] * singular_value_loss(feats, top_k)

    hp = {**PE_DEFAULTS, **(hp or {})}
    train_classifier(tuned, images, labels, hp, device=device, progress=progress,
                     feature_loss=spectrum_terms if method == "nmtune_pe" else None)
    return tuned.eval()
