import pytest
import torch

from nml_tutorial import noise


def labels(n=1000, c=10, seed=0):
    return torch.randint(0, c, (n,), generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("ratio", [0.0, 0.05, 0.1, 0.333, 1.0])
def test_symmetric_exact_count_and_other_class(ratio):
    y = labels()
    out = noise.symmetric_noise(y, 10, ratio, seed=3)
    assert out.labels.shape == y.shape and out.labels.dtype == y.dtype
    assert int(out.corrupted.sum()) == round(ratio * len(y))
    assert torch.equal(out.corrupted, out.labels != y)  # every chosen sample really changed class
    assert out.realised_ratio == pytest.approx(round(ratio * len(y)) / len(y))


def test_symmetric_targets_are_uniform_over_other_classes():
    y = torch.zeros(20000, dtype=torch.long)
    out = noise.symmetric_noise(y, 5, 0.5, seed=1)
    counts = torch.bincount(out.labels[out.corrupted], minlength=5).float()
    assert counts[0] == 0
    assert torch.allclose(counts[1:] / counts[1:].sum(), torch.full((4,), 0.25), atol=0.02)


def test_same_seed_same_noise_other_seed_differs():
    y = labels()
    a, b = noise.symmetric_noise(y, 10, 0.2, seed=7), noise.symmetric_noise(y, 10, 0.2, seed=7)
    c = noise.symmetric_noise(y, 10, 0.2, seed=8)
    assert torch.equal(a.labels, b.labels) and not torch.equal(a.labels, c.labels)


def test_dtype_is_preserved():
    y = labels().to(torch.int32)
    assert noise.symmetric_noise(y, 10, 0.1).labels.dtype == torch.int32


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_cpu_and_gpu_give_the_same_noise():
    y = labels()
    cpu = noise.symmetric_noise(y, 10, 0.2, seed=5)
    gpu = noise.symmetric_noise(y.cuda(), 10, 0.2, seed=5)
    assert gpu.labels.is_cuda and torch.equal(cpu.labels, gpu.labels.cpu())
    on_gpu = noise.caption_noise(100, 0.3, seed=1, device="cuda").cpu()
    assert torch.equal(noise.caption_noise(100, 0.3, seed=1), on_gpu)


def test_pair_noise_moves_to_next_class():
    y = labels()
    out = noise.pair_noise(y, 10, 0.3, seed=0)
    assert int(out.corrupted.sum()) == 300
    assert torch.equal(out.labels[out.corrupted], (y[out.corrupted] + 1) % 10)


@pytest.mark.parametrize("make", [noise.symmetric_matrix, noise.pair_matrix])
def test_transition_noise_matches_its_matrix(make):
    y = torch.arange(6).repeat(200)
    T = make(6, 0.25)
    out = noise.transition_noise(y, T, seed=2)
    empirical = noise.empirical_transition(y, out.labels, 6)
    assert torch.allclose(empirical, T, atol=1 / 200 + 1e-9)
    assert torch.allclose(T.sum(1), torch.ones(6, dtype=T.dtype))


def test_empirical_transition_of_symmetric_noise():
    y = torch.arange(4).repeat(1000)
    out = noise.symmetric_noise(y, 4, 0.2, seed=0)
    emp = noise.empirical_transition(y, out.labels, 4)
    assert torch.allclose(emp.diagonal(), torch.full((4,), 0.8, dtype=emp.dtype), atol=0.03)


@pytest.mark.parametrize("ratio", [-0.1, 1.5, 10])
def test_ratio_outside_unit_interval_is_rejected(ratio):
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        noise.symmetric_noise(labels(), 10, ratio)


def test_labels_out_of_range_are_rejected():
    with pytest.raises(ValueError, match="num_classes"):
        noise.symmetric_noise(torch.tensor([0, 1, 10]), 10, 0.1)
    with pytest.raises(ValueError, match="integer"):
        noise.pair_noise(torch.tensor([0.0, 1.0]), 2, 0.1)


def test_bad_transition_matrix_is_rejected():
    with pytest.raises(ValueError, match=r"sum to \[0.7\], not 1"):
        noise.transition_noise(torch.tensor([0, 1]), torch.tensor([[0.5, 0.2], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="square"):
        noise.transition_noise(torch.tensor([0, 1]), torch.ones(2, 3) / 3)


@pytest.mark.parametrize("ratio", [0.0, 0.1, 0.5, 1.0])
def test_caption_noise_is_a_permutation_with_exact_swaps(ratio):
    idx = noise.caption_noise(501, ratio, seed=4)
    assert torch.equal(idx.sort().values, torch.arange(501))
    assert int((idx != torch.arange(501)).sum()) == round(ratio * 501)
    assert torch.equal(idx, noise.caption_noise(501, ratio, seed=4))


def test_caption_noise_single_swap_is_rejected():
    with pytest.raises(ValueError, match="exactly one"):
        noise.caption_noise(10, 0.1)


def test_uniform_noise_redraws_from_all_classes_so_it_flips_ratio_times_one_minus_one_over_c():
    y = torch.arange(4).repeat(5000)  # 20,000 labels, 4 classes
    noisy = noise.uniform_noise(y, 4, 0.4, seed=3)
    # 8,000 redrawn, a quarter of them keep their label: 6,000 +- binomial noise (sd 39) flip
    assert abs(int(noisy.corrupted.sum()) - 6000) < 200
    assert torch.equal(noisy.corrupted, noisy.labels != y)
    T = noise.empirical_transition(y, noisy.labels, 4)
    assert torch.allclose(T, noise.uniform_matrix(4, 0.4), atol=0.02)
    assert torch.allclose(noise.uniform_matrix(4, 0.4).sum(1), torch.ones(4, dtype=torch.float64))
    assert torch.equal(noise.apply_label_noise(y, 4, "uniform", 0.4, seed=3).labels, noisy.labels)


def test_each_named_noise_type_has_the_matrix_its_definition_gives():
    r, c = 0.2, 4
    symmetric, pair, uniform = (noise.transition_matrix(kind, c, r) for kind in ("symmetric", "pair", "uniform"))
    off = ~torch.eye(c, dtype=torch.bool)
    assert torch.allclose(symmetric.diagonal(), torch.full((c,), 1 - r, dtype=torch.float64))
    assert torch.allclose(symmetric[off], torch.full((c * (c - 1),), r / (c - 1), dtype=torch.float64))
    neighbour = pair[torch.arange(c), (torch.arange(c) + 1) % c]
    assert torch.allclose(pair.diagonal(), torch.full((c,), 1 - r, dtype=torch.float64))
    assert torch.allclose(neighbour, torch.full((c,), r, dtype=torch.float64)) and (pair > 0).sum() == 2 * c
    assert torch.allclose(uniform.diagonal(), torch.full((c,), 1 - r + r / c, dtype=torch.float64))
    assert torch.allclose(uniform[off], torch.full((c * (c - 1),), r / c, dtype=torch.float64))
    for T in (symmetric, pair, uniform):
        assert torch.allclose(T.sum(1), torch.ones(c, dtype=torch.float64))
    with pytest.raises(ValueError, match="unknown noise_type"):
        noise.transition_matrix("open_set", c, r)
