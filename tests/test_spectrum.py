import math

import pytest
import torch

from nml_tutorial import spectrum


def isotropic(n=4000, d=32, seed=0):
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed))


def rank_one(n=50, d=16):
    g = torch.Generator().manual_seed(1)
    column = torch.randn(n, 1, generator=g, dtype=torch.float64).abs()
    return column @ torch.randn(1, d, generator=g, dtype=torch.float64)


def test_isotropic_cloud_has_near_maximal_entropy():
    assert spectrum.sve(isotropic()) == pytest.approx(math.log(32), abs=0.02)


def test_rank_one_matrix_has_zero_entropy_and_zero_lsvr():
    # Uncentred: every (normalised) row is the same direction, so one singular value holds everything.
    assert spectrum.sve(rank_one(), center=None) == pytest.approx(0.0, abs=1e-6)
    assert spectrum.lsvr(rank_one(), center=None) == pytest.approx(0.0, abs=1e-6)


def test_lsvr_of_isotropic_cloud_is_log_d():
    assert spectrum.lsvr(isotropic()) == pytest.approx(math.log(32), abs=0.1)


def test_singular_values_follow_the_definition():
    x = isotropic(100, 8).double()
    z = x / x.norm(dim=1, keepdim=True)
    expected = torch.linalg.svdvals(z - z.mean(0))
    assert torch.allclose(spectrum.singular_values(x), expected)
    row = torch.linalg.svdvals(z - z.mean(1, keepdim=True))
    assert torch.allclose(spectrum.singular_values(x, center="row"), row)
    assert (spectrum.singular_values(x).diff() <= 1e-12).all()  # descending


def test_flatter_spectrum_means_higher_sve_and_lsvr():
    x = isotropic(2000, 16)
    stretched = x * torch.tensor([8.0] + [1.0] * 15)
    assert spectrum.sve(stretched) < spectrum.sve(x)
    assert spectrum.lsvr(stretched) < spectrum.lsvr(x)


@pytest.mark.parametrize("bad, message", [
    (torch.empty(0, 4), "non-empty"),
    (torch.tensor([[1.0, float("nan")], [0.0, 1.0]]), "NaN"),
    (torch.ones(5), "non-empty"),
])
def test_bad_features_are_rejected(bad, message):
    with pytest.raises(ValueError, match=message):
        spectrum.sve(bad)


def test_unknown_centering_is_rejected():
    with pytest.raises(ValueError, match="center"):
        spectrum.singular_values(isotropic(10, 3), center="median")
