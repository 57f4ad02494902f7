"""Linear probing of frozen features, two ways.

- ``fit_linear_probe`` (the *tuned* protocol): multinomial logistic regression on standardised features
  solved to convergence with L-BFGS, its L2 strength chosen on a stratified validation split and then
  refitted on all training data. On a few thousand samples a fixed optimiser budget under-fits by several
  points, which would flatter every richer head; this probe does not.
- ``fit_study_probe`` (the *study's* protocol, as its official code runs it): a linear layer on the raw
  features, AdamW lr 0.01, weight decay 1e-4, batch 64, 30 epochs, cosine schedule, the last epoch kept.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .config import STUDY_PROBE_DEFAULTS
from .data.common import stratified_split
from .features import check_features
from .training import warmup_cosine, with_defaults

L2_GRID = (1e-5, 1e-4, 1e-3, 1e-2, 1e-1)


def top1(logits: torch.Tensor, labels: torch.Tensor, columns: torch.Tensor | None = None) -> float:
    """Top-1 accuracy: the fraction of rows whose largest logit is at their label (every classifier here);
    ``columns`` reads only those logits, the labels indexing them (ImageNet-R/-A: 200 of 1,000 classes)."""
    if columns is not None:
        logits = logits[:, columns.to(logits.device)]
    return (logits.argmax(1) == labels.to(logits.device)).float().mean().item()


def check_labels(y: torch.Tensor) -> None:
    """A clear error unless ``y`` holds integer class indices 0 ... C-1 (every head and probe)."""
    if y.dtype.is_floating_point or y.dtype == torch.bool:
        raise ValueError(f"labels must be integer class indices, got {y.dtype}; convert them with labels.long()")
    if y.numel() and int(y.min()) < 0:
        raise ValueError(f"labels must be class indices 0 ... C-1, found {int(y.min())}; remap them to 0 ... C-1")


@dataclass
class LinearProbe:
    """A fitted linear classifier on features standardised by (mean, std); ``l2`` its penalty (or weight decay)."""

    mean: torch.Tensor
    std: torch.Tensor
    weight: torch.Tensor
    bias: torch.Tensor
    l2: float

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return ((x.float() - self.mean) / self.std) @ self.weight.T + self.bias

    def accuracy(self, x: torch.Tensor, y: torch.Tensor, columns: torch.Tensor | None = None) -> float:
        check_features(x, y)
        return top1(self.logits(x), y, columns)


def _fit(z: torch.Tensor, y: torch.Tensor, num_classes: int, l2: float, max_iter: int, start=None):
    """Minimise the L2-penalised cross-entropy from zero weights, or from ``start=(w, b)`` (a warm start)."""
    if start is None:
        start = (torch.zeros(num_classes, z.shape[1], device=z.device), torch.zeros(num_classes, device=z.device))
    w, b = (t.clone().requires_grad_(True) for t in start)
    opt = torch.optim.LBFGS([w, b], lr=1, max_iter=max_iter, history_size=20, line_search_fn="strong_wolfe",
                            tolerance_grad=1e-6, tolerance_change=1e-9)

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(z @ w.T + b, y) + 0.5 * l2 * (w * w).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return w.detach(), b.detach()


def fit_linear_probe(x: torch.Tensor, y: torch.Tensor, l2: float | None = None, l2_grid=L2_GRID,
                     val_fraction: float = 0.2, max_iter: int = 300, seed: int = 0) -> LinearProbe:
    """Fit the probe; ``l2=None`` picks it from ``l2_grid`` by validation accuracy."""
    check_features(x, y, "training features")
    check_labels(y)
    y = y.to(x.device).long()
    num_classes = int(y.max()) + 1
    mean, std = x.float().mean(0), x.float().std(0).clamp_min(1e-6)
    z = (x.float() - mean) / std
    start = None
    if l2 is None:
        # The regularisation path from strong to weak, each fit warm-started from the previous solution (as
        # glmnet and scikit-learn do): the objective is strictly convex, so the optimum is the same, in fewer steps.
        train, val = stratified_split(y, val_fraction, seed)
        train, val = train.to(x.device), val.to(x.device)
        scores, solutions = {}, {}
        for candidate in sorted(l2_grid, reverse=True):
            solutions[candidate] = _fit(z[train], y[train], num_classes, candidate, max_iter, start)
            start = solutions[candidate]
            w, b = start
            scores[candidate] = top1(z[val] @ w.T + b, y[val])
        l2 = max(l2_grid, key=lambda c: (scores[c], c))
        start = solutions[l2]
    w, b = _fit(z, y, num_classes, l2, max_iter, start)
    return LinearProbe(mean, std, w, b, l2)


def fit_study_probe(x: torch.Tensor, y: torch.Tensor, hp: dict | None = None) -> LinearProbe:
    """The study's probe: AdamW on raw features with a cosine schedule, no held-out data, the last epoch kept."""
    hp = with_defaults(hp, STUDY_PROBE_DEFAULTS)
    check_features(x, y, "training features")
    check_labels(y)
    y = y.to(x.device).long()
    torch.manual_seed(hp["seed"])
    layer = torch.nn.Linear(x.shape[1], int(y.max()) + 1).to(x.device)
    torch.nn.init.zeros_(layer.bias)
    opt = torch.optim.AdamW(layer.parameters(), lr=hp["lr"], weight_decay=hp["weight_decay"])
    steps = math.ceil(len(y) / hp["batch_size"])
    schedule = torch.optim.lr_scheduler.LambdaLR(opt, warmup_cosine(hp["epochs"] * steps, 0.0))
    g = torch.Generator().manual_seed(hp["seed"])
    x = x.float()
    for _ in range(hp["epochs"]):
        order = torch.randperm(len(y), generator=g).to(x.device)
        for start in range(0, len(y), hp["batch_size"]):
            idx = order[start:start + hp["batch_size"]]
            loss = F.cross_entropy(layer(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            schedule.step()
    zero, one = torch.zeros(x.shape[1], device=x.device), torch.ones(x.shape[1], device=x.device)
    return LinearProbe(zero, one, layer.weight.detach(), layer.bias.detach(), hp["weight_decay"])


def linear_probe(train_x: torch.Tensor, train_y: torch.Tensor, tests: dict, **kwargs) -> dict[str, float]:
    """Fit on (train_x, train_y) and return top-1 accuracy on each ``{name: (x, y)}`` test set."""
    probe = fit_linear_probe(train_x, train_y, **kwargs)
    return {name: probe.accuracy(x, y) for name, (x, y) in tests.items()}
