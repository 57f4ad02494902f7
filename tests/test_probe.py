import pytest
import torch

from nml_tutorial.config import STUDY_PROBE_DEFAULTS
from nml_tutorial.probe import fit_linear_probe, fit_study_probe, linear_probe


def blobs(n_per_class=100, classes=5, dim=16, spread=0.5, seed=0):
    centres = torch.randn(classes, dim, generator=torch.Generator().manual_seed(0)) * 3
    g = torch.Generator().manual_seed(seed + 1)
    y = torch.arange(classes).repeat_interleave(n_per_class)
    return centres[y] + spread * torch.randn(len(y), dim, generator=g), y


def test_probe_is_far_above_chance_on_separable_data():
    (x, y), (xt, yt) = blobs(), blobs(seed=1)
    acc = linear_probe(x, y, {"test": (xt, yt)})
    assert acc["test"] > 0.95  # chance is 0.2


def test_probe_is_near_chance_on_random_labels():
    x, _ = blobs()
    y = torch.randint(0, 5, (len(x),), generator=torch.Generator().manual_seed(3))
    xt, _ = blobs(seed=1)
    yt = torch.randint(0, 5, (len(xt),), generator=torch.Generator().manual_seed(4))
    assert linear_probe(x, y, {"t": (xt, yt)})["t"] < 0.35


def test_probe_l2_ties_go_to_the_stronger_penalty_and_a_given_l2_is_kept():
    x, y = blobs(spread=0.05)  # so well separated that every L2 of the grid classifies the validation split perfectly
    assert fit_linear_probe(x, y, l2_grid=(1e-5, 1e-3, 1e-1)).l2 == 1e-1
    assert fit_linear_probe(x, y, l2_grid=(1e-4, 1e-2)).l2 == 1e-2
    assert fit_linear_probe(x, y, l2=0.5).l2 == 0.5


def test_nan_features_are_rejected():
    x, y = blobs()
    x[3, 2] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        linear_probe(x, y, {})


def test_study_probe_reads_raw_features_and_learns_separable_data():
    (x, y), (xt, yt) = blobs(), blobs(seed=1)
    probe = fit_study_probe(x, y)
    assert probe.accuracy(xt, yt) > 0.95
    assert torch.equal(probe.mean, torch.zeros(x.shape[1])) and torch.equal(probe.std, torch.ones(x.shape[1]))
    assert probe.l2 == STUDY_PROBE_DEFAULTS["weight_decay"]
    assert torch.equal(fit_study_probe(x, y).weight, probe.weight)  # seeded
    with pytest.raises(ValueError, match="NaN"):
        fit_study_probe(torch.full_like(x, float("nan")), y)
    with pytest.raises(ValueError, match="unknown hyper-parameters"):
        fit_study_probe(x, y, {"momentum": 0.9})
