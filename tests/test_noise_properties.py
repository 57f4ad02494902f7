"""Properties of the noise functions over random sizes, class counts, ratios, seeds, dtypes and devices: what
nml_tutorial.noise promises (exact counts, the pair partner, per-class transition counts, caption permutations,
seeding that ignores the global RNG and gives the same corruption on every device)."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nml_tutorial import noise

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
DTYPES = [torch.int64, torch.int32, torch.int16, torch.uint8]
CHECKS = settings(max_examples=150, deadline=None, database=None)  # no example database left in the checkout

ratios = st.floats(0.0, 1.0) | st.sampled_from([0.0, 0.05, 0.1, 0.5, 1.0])
seeds = st.integers(0, 2**32 - 1)


@st.composite
def label_sets(draw, max_classes=50):
    """(labels, num_classes): 1 ... 500 labels of 2 ... 50 classes, often only some of them present."""
    classes = draw(st.integers(2, max_classes))
    n, present = draw(st.integers(1, 500)), draw(st.integers(1, classes))
    g = torch.Generator().manual_seed(draw(seeds))
    values = torch.randperm(classes, generator=g)[:present][torch.randint(0, present, (n,), generator=g)]
    return values.to(draw(st.sampled_from(DTYPES))).to(draw(st.sampled_from(DEVICES))), classes


@st.composite
def row_stochastic(draw, classes: int):
    """A random (C, C) transition matrix, some entries zero, or one of the designed ones."""
    kind = draw(st.sampled_from(["random", "symmetric", "pair", "uniform"]))
    if kind != "random":
        return noise.transition_matrix(kind, classes, draw(ratios))
    g = torch.Generator().manual_seed(draw(seeds))
    weights = torch.rand(classes, classes, generator=g, dtype=torch.float64)
    weights[torch.rand(classes, classes, generator=g) < draw(st.floats(0.0, 0.9))] = 0.0
    weights[torch.arange(classes), torch.randint(0, classes, (classes,), generator=g)] += 0.1  # no empty row
    return weights / weights.sum(1, keepdim=True)


def same_kind(out: noise.NoisyLabels, y: torch.Tensor, classes: int) -> None:
    """Labels of the input's shape, dtype and device in [0, C); the mask a bool of the same shape and device."""
    assert out.labels.shape == y.shape and out.labels.dtype == y.dtype and out.labels.device == y.device
    assert out.corrupted.shape == y.shape and out.corrupted.dtype == torch.bool and out.corrupted.device == y.device
    assert int(out.labels.min()) >= 0 and int(out.labels.max()) < classes


@CHECKS
@given(label_sets(), ratios, seeds, st.sampled_from(["symmetric", "pair"]))
def test_symmetric_and_pair_noise_flip_exactly_round_ratio_n_labels(data, ratio, seed, kind):
    y, classes = data
    out = noise.apply_label_noise(y, classes, kind, ratio, seed=seed)
    same_kind(out, y, classes)
    assert torch.equal(out.corrupted, out.labels != y)  # every chosen label changes, no other does
    assert int(out.corrupted.sum()) == round(ratio * len(y))
    assert out.realised_ratio == round(ratio * len(y)) / len(y)
    if kind == "pair":  # class c moves to its partner (c + 1) mod C
        flipped = out.corrupted
        assert torch.equal(out.labels[flipped].long(), (y[flipped].long() + 1) % classes)


@CHECKS
@given(label_sets(), ratios, seeds)
def test_uniform_noise_redraws_round_ratio_n_labels_and_marks_those_that_changed(data, ratio, seed):
    y, classes = data
    out = noise.uniform_noise(y, classes, ratio, seed=seed)
    same_kind(out, y, classes)
    assert torch.equal(out.corrupted, out.labels != y)
    assert int(out.corrupted.sum()) <= round(ratio * len(y))  # a redrawn label may be its old one


@settings(CHECKS, max_examples=80)
@given(st.data(), seeds)
def test_transition_noise_gives_each_class_its_rows_counts_up_to_rounding(data, seed):
    y, classes = data.draw(label_sets(max_classes=30))
    T = data.draw(row_stochastic(classes))
    out = noise.transition_noise(y, T, seed=seed)
    same_kind(out, y, classes)
    assert torch.equal(out.corrupted, out.labels != y)
    clean, noisy = y.cpu().long(), out.labels.cpu().long()
    for c in clean.unique().tolist():
        members = clean == c
        counts = torch.bincount(noisy[members], minlength=classes)
        expected = T[c] * int(members.sum())
        assert int(counts.sum()) == int(members.sum())
        # largest-remainder rounding: each count is the floor or the ceiling of its share, and the shares rounded up
        # are those with the largest remainders
        floor, ceil = (expected + 1e-9).floor(), (expected - 1e-9).ceil()
        assert ((counts >= floor) & (counts <= ceil)).all(), (counts, expected)
        remainder = expected - expected.floor()
        up = counts > floor
        if up.any() and (~up).any():
            assert remainder[up].min() >= remainder[~up].max() - 1e-9, (counts, expected)


@CHECKS
@given(label_sets(), seeds, st.sampled_from(["symmetric", "pair", "uniform", "transition"]))
def test_ratio_zero_leaves_every_label_as_it_was(data, seed, kind):
    y, classes = data
    out = (noise.transition_noise(y, torch.eye(classes), seed=seed) if kind == "transition"
           else noise.apply_label_noise(y, classes, kind, 0.0, seed=seed))
    assert torch.equal(out.labels, y) and not out.corrupted.any()


@CHECKS
@given(label_sets(), ratios, seeds, st.sampled_from(["symmetric", "pair", "uniform", "transition"]),
       st.integers(0, 2**32 - 1))
def test_the_seed_alone_decides_the_noise_on_every_device(data, ratio, seed, kind, global_seed):
    y, classes = data

    def corrupt(labels):
        if kind == "transition":
            return noise.transition_noise(labels, noise.symmetric_matrix(classes, ratio), seed=seed)
        return noise.apply_label_noise(labels, classes, kind, ratio, seed=seed)

    torch.manual_seed(global_seed)
    state = torch.get_rng_state()
    first = corrupt(y)
    assert torch.equal(torch.get_rng_state(), state)  # the global RNG is neither read nor moved
    torch.manual_seed(global_seed + 1)
    torch.rand(7)
    again = corrupt(y)
    assert torch.equal(first.labels, again.labels) and torch.equal(first.corrupted, again.corrupted)
    for device in DEVICES:  # the same corruption wherever the labels are
        moved = corrupt(y.to(device))
        assert torch.equal(moved.labels.cpu(), first.labels.cpu())
        assert torch.equal(moved.corrupted.cpu(), first.corrupted.cpu())


@CHECKS
@given(st.integers(0, 500), ratios, seeds, st.sampled_from(DEVICES))
def test_caption_noise_is_a_permutation_that_moves_exactly_round_ratio_n_captions(n, ratio, seed, device):
    k = round(ratio * n)
    if k == 1:
        with pytest.raises(ValueError, match="swaps exactly one caption"):
            noise.caption_noise(n, ratio, seed=seed, device=device)
        return
    index = noise.caption_noise(n, ratio, seed=seed, device=device)
    assert index.dtype == torch.int64 and index.shape == (n,) and index.device.type == device
    assert torch.equal(index.sort().values.cpu(), torch.arange(n))
    assert int((index.cpu() != torch.arange(n)).sum()) == k
    assert torch.equal(noise.caption_noise(n, ratio, seed=seed).cpu(), index.cpu())  # same seed, same swaps


@CHECKS
@given(st.integers(2, 50), ratios, st.sampled_from(["symmetric", "pair", "uniform"]))
def test_designed_transition_matrices_are_row_stochastic_and_keep_1_minus_ratio(classes, ratio, kind):
    T = noise.transition_matrix(kind, classes, ratio)
    assert T.shape == (classes, classes) and (T >= 0).all()
    assert torch.allclose(T.sum(1), torch.ones(classes, dtype=T.dtype))
    kept = 1 - ratio + (ratio / classes if kind == "uniform" else 0.0)
    assert torch.allclose(T.diagonal(), torch.full((classes,), kept, dtype=T.dtype))
