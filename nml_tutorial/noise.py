"""Label noise and caption noise for pre-training data.

Every function draws its randomness from a seeded CPU generator and moves the result to the
device of its input, so the same seed gives the same corruption on CPU and GPU. Noise is
*exact-count*: a ratio of 0.1 on 1,000 labels corrupts exactly 100 of them, so the realised
noise rate equals the requested one instead of scattering around it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class NoisyLabels:
    """Noisy labels (same shape, dtype and device as the clean ones) and the mask of corrupted samples."""

    labels: torch.Tensor
    corrupted: torch.Tensor

    @property
    def realised_ratio(self) -> float:
        return int(self.corrupted.sum()) / self.corrupted.numel() if self.corrupted.numel() else 0.0


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(seed))


def check_ratio(ratio: float) -> float:
    """``ratio`` as a float; a clear error unless it is a fraction in [0, 1] (every noise ratio)."""
    ratio = float(ratio)
    if not 0.0 <= ratio <= 1.0:
        raise ValueError(
            f"noise ratio must lie in [0, 1], got {ratio}; pass a fraction (0.1 for 10 %), not a percentage"
        )
    return ratio


def _check_labels(labels: torch.Tensor, num_classes: int) -> None:
    if not isinstance(labels, torch.Tensor) or labels.dim() != 1:
        raise ValueError("labels must be a 1-D tensor of class indices; flatten them or convert with torch.as_tensor")
    if labels.dtype.is_floating_point or labels.dtype == torch.bool:
        raise ValueError(f"labels must be an integer tensor, got {labels.dtype}; convert with labels.long()")
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2 to flip a label, got {num_classes}")
    if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= num_classes):
        raise ValueError(
            f"labels must lie in [0, {num_classes - 1}] for num_classes={num_classes}, "
            f"found values in [{int(labels.min())}, {int(labels.max())}]; check num_classes or remap the labels"
        )


def _flip(labels: torch.Tensor, ratio: float, seed: int, new_label) -> NoisyLabels:
    """Pick exactly round(ratio * N) samples uniformly and give them ``new_label(old, generator)``."""
    n = labels.numel()
    k = round(check_ratio(ratio) * n)
    g = _generator(seed)
    chosen = torch.randperm(n, generator=g)[:k]
    clean_cpu = labels.detach().cpu()
    noisy = clean_cpu.clone()
    noisy[chosen] = new_label(clean_cpu[chosen], g).to(labels.dtype)
    corrupted = torch.zeros(n, dtype=torch.bool)
    corrupted[chosen] = True
    return NoisyLabels(noisy.to(labels.device), corrupted.to(labels.device))


def symmetric_noise(labels: torch.Tensor, num_classes: int, ratio: float, seed: int = 0) -> NoisyLabels:
    """Give exactly round(ratio * N) uniformly chosen samples a label drawn uniformly from the other classes."""
    _check_labels(labels, num_classes)
    return _flip(
        labels, ratio, seed,
        lambda old, g: (old + torch.randint(1, num_classes, old.shape, generator=g)) % num_classes,
    )


def pair_noise(labels: torch.Tensor, num_classes: int, ratio: float, seed: int = 0) -> NoisyLabels:
    """Asymmetric 'pair-flip' noise: exactly round(ratio * N) samples move from class c to class (c + 1) mod C."""
    _check_labels(labels, num_classes)
    return _flip(labels, ratio, seed, lambda old, g: (old + 1) % num_classes)


def uniform_noise(labels: torch.Tensor, num_classes: int, ratio: float, seed: int = 0) -> NoisyLabels:
    """The official downstream code's noise: exactly round(ratio * N) samples draw a new label from *all* classes,
    so about 1/C of them keep theirs and the flip rate is ratio * (1 - 1/C); ``corrupted`` marks the changed ones."""
    _check_labels(labels, num_classes)
    drawn = _flip(labels, ratio, seed, lambda old, g: torch.randint(0, num_classes, old.shape, generator=g))
    return NoisyLabels(drawn.labels, drawn.labels != labels)


def _check_transition(T: torch.Tensor) -> torch.Tensor:
    T = torch.as_tensor(T, dtype=torch.float64).cpu()
    if T.dim() != 2 or T.shape[0] != T.shape[1]:
        raise ValueError(f"transition matrix must be square (C, C), got shape {tuple(T.shape)}; give it one row and "
                         "one column per class, T[i, j] = P(noisy = j | true = i)")
    if torch.isnan(T).any() or (T < 0).any():
        raise ValueError("transition matrix entries must be non-negative numbers (no NaN)")
    sums = T.sum(1)
    bad = torch.nonzero(~torch.isclose(sums, torch.ones_like(sums), atol=1e-6)).flatten()[:5].tolist()
    if bad:
        raise ValueError(f"rows {bad} of the transition matrix sum to {[round(float(sums[i]), 6) for i in bad]}, "
                         "not 1; normalise them (T / T.sum(1, keepdim=True)): T[i, j] = P(noisy = j | true = i)")
    return T


def _largest_remainder(probs: torch.Tensor, total: int) -> torch.Tensor:
    """Integer counts proportional to ``probs`` that sum exactly to ``total``."""
    raw = probs * total
    counts = raw.floor().long()
    short = total - int(counts.sum())
    if short > 0:
        counts[torch.argsort(raw - counts, descending=True, stable=True)[:short]] += 1
    return counts


def transition_noise(labels: torch.Tensor, T: torch.Tensor, seed: int = 0) -> NoisyLabels:
    """Relabel by a transition matrix T[i, j] = P(noisy = j | true = i), exactly per class.

    Of the n_i samples of class i, round(T[i, j] * n_i) (largest-remainder rounding) chosen uniformly
    get label j, so the empirical transition matrix matches T up to rounding.
    """
    T = _check_transition(T)
    num_classes = T.shape[0]
    _check_labels(labels, num_classes)
    g = _generator(seed)
    clean = labels.detach().cpu()
    noisy = clean.clone()
    for c in range(num_classes):
        members = torch.nonzero(clean == c).flatten()
        if members.numel() == 0:
            continue
        members = members[torch.randperm(members.numel(), generator=g)]
        counts = _largest_remainder(T[c], members.numel())
        noisy[members] = torch.repeat_interleave(torch.arange(num_classes), counts).to(labels.dtype)
    return NoisyLabels(noisy.to(labels.device), (noisy != clean).to(labels.device))


def symmetric_matrix(num_classes: int, ratio: float) -> torch.Tensor:
    """Transition matrix of symmetric noise: 1 - ratio on the diagonal, ratio spread over the rest of each row."""
    ratio = check_ratio(ratio)
    T = torch.full((num_classes, num_classes), ratio / (num_classes - 1), dtype=torch.float64)
    T.fill_diagonal_(1.0 - ratio)
    return T


def pair_matrix(num_classes: int, ratio: float) -> torch.Tensor:
    """Transition matrix of pair-flip noise: class c keeps 1 - ratio and sends ratio to c + 1."""
    ratio = check_ratio(ratio)
    T = torch.eye(num_classes, dtype=torch.float64) * (1.0 - ratio)
    T[torch.arange(num_classes), (torch.arange(num_classes) + 1) % num_classes] += ratio
    return T


def uniform_matrix(num_classes: int, ratio: float) -> torch.Tensor:
    """Transition matrix of uniform noise: ratio / C everywhere, plus 1 - ratio on the diagonal."""
    ratio = check_ratio(ratio)
    return torch.full((num_classes, num_classes), ratio / num_classes, dtype=torch.float64) + \
        torch.eye(num_classes, dtype=torch.float64) * (1.0 - ratio)


def empirical_transition(clean: torch.Tensor, noisy: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Row-normalised counts: entry [i, j] is the fraction of class-i samples that carry label j."""
    _check_labels(clean, num_classes)
    _check_labels(noisy, num_classes)
    if clean.shape != noisy.shape:
        raise ValueError(f"clean and noisy labels differ in shape: {tuple(clean.shape)} vs {tuple(noisy.shape)}")
    flat = clean.cpu().long() * num_classes + noisy.cpu().long()
    counts = torch.bincount(flat, minlength=num_classes**2).reshape(num_classes, num_classes).double()
    return counts / counts.sum(1, keepdim=True).clamp_min(1)


# noise type -> (sampler, its designed transition matrix)
NOISE_TYPES = {"symmetric": (symmetric_noise, symmetric_matrix), "pair": (pair_noise, pair_matrix),
               "uniform": (uniform_noise, uniform_matrix)}


def _kind(noise_type: str):
    if noise_type not in NOISE_TYPES:
        raise ValueError(f"unknown noise_type {noise_type!r}; choose one of {sorted(NOISE_TYPES)}")
    return NOISE_TYPES[noise_type]


def apply_label_noise(labels: torch.Tensor, num_classes: int, noise_type: str, ratio: float,
                      seed: int = 0) -> NoisyLabels:
    """Dispatch by name: ``"symmetric"`` (every chosen label flips), ``"pair"`` or ``"uniform"``."""
    return _kind(noise_type)[0](labels, num_classes, ratio, seed=seed)


def transition_matrix(noise_type: str, num_classes: int, ratio: float) -> torch.Tensor:
    """The transition matrix a named noise type is designed to have."""
    return _kind(noise_type)[1](num_classes, ratio)


def caption_noise(num_samples: int, ratio: float, seed: int = 0, device=None) -> torch.Tensor:
    """Caption index for each sample: exactly round(ratio * N) samples get another sample's caption.

    The result is a permutation of range(N): the chosen samples trade captions in one random cycle,
    so none keeps its own and every caption is still used once.
    """
    ratio = check_ratio(ratio)
    if num_samples < 0:
        raise ValueError(f"num_samples must be >= 0, got {num_samples}")
    k = round(ratio * num_samples)
    if k == 1:
        raise ValueError(
            f"ratio {ratio} of {num_samples} samples swaps exactly one caption, which no permutation can do; "
            "use a ratio that swaps 0 or at least 2 captions"
        )
    g = _generator(seed)
    chosen = torch.randperm(num_samples, generator=g)[:k]
    index = torch.arange(num_samples)
    index[chosen] = chosen.roll(1)
    return index.to(device) if device is not None else index
