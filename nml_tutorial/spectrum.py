"""The singular-value spectrum of a feature matrix, and the study's two summaries of it.

F is an (M, D) matrix of features of a downstream set, sigma its singular values, p = sigma / sum(sigma):

- SVE (singular value entropy) = -sum p_i log p_i: how evenly the dimensions share the variance;
  pre-training noise raises it (more dimensions used);
- LSVR = -log p_1: how little of the spectrum the largest singular value holds; noise raises it
  (the dominant direction loses its share).

Rows are L2-normalised, then centred by the dataset mean (``center="mean"``, the conventional choice).
``center="row"`` subtracts each row's own mean, as the authors' analysis script does; ``None`` skips it.
All sums run in float64, on whatever device the features are.
"""

from __future__ import annotations

import torch

from .features import check_features

CENTERS = ("mean", "row", None)


def _prepare(features: torch.Tensor, center) -> torch.Tensor:
    if center not in CENTERS:
        raise ValueError(f"center must be one of {CENTERS}, got {center!r}")
    check_features(features)
    x = features.double()
    x = x / x.norm(dim=1, keepdim=True).clamp_min(1e-12)
    if center == "mean":
        x = x - x.mean(0, keepdim=True)
    elif center == "row":
        x = x - x.mean(1, keepdim=True)
    return x


def singular_values(features: torch.Tensor, center="mean") -> torch.Tensor:
    """Singular values (float64, descending) of the normalised, centred feature matrix."""
    return torch.linalg.svdvals(_prepare(features, center))


def shares(features: torch.Tensor, center="mean") -> torch.Tensor:
    """p = sigma / sum(sigma): each direction's share of the spectrum, descending."""
    s = singular_values(features, center)
    total = s.sum()
    if total <= 0:
        raise ValueError("all singular values are zero (identical rows after centring); nothing to measure: pass at "
                         "least two different feature rows")
    return s / total


def sve_of_shares(p: torch.Tensor) -> float:
    p = p[p > 0]
    return float(-(p * p.log()).sum())


def lsvr_of_shares(p: torch.Tensor) -> float:
    return float(-p[0].log())


def sve(features: torch.Tensor, center="mean") -> float:
    """Singular value entropy: -sum p_i log p_i with p = sigma / sum(sigma)."""
    return sve_of_shares(shares(features, center))


def lsvr(features: torch.Tensor, center="mean") -> float:
    """Largest singular value ratio, as the study reports it: -log(sigma_1 / sum(sigma))."""
    return lsvr_of_shares(shares(features, center))
