import pytest
import torch

from nml_tutorial.augment import resized_crop_flip
from nml_tutorial.config import resolve_weights
from nml_tutorial.models import build_model
from nml_tutorial.nmtune import NMTuneHead, nmtune_losses, train_head, train_head_on_views

from miniatures import TINY_PRESET


def test_mse_term_by_hand():
    f = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    z = torch.tensor([[0.0, 1.0], [0.0, 3.0]])
    # normalised f = I, normalised z = [[0, 1], [0, 1]]: squared differences 1, 1, 0, 0 -> mean 0.5
    assert nmtune_losses(f, z)["mse"].item() == pytest.approx(0.5)


def test_cov_term_by_hand():
    z = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 0.0]])
    # centred rows (-2, 0), (0, 2), (2, -2); unbiased covariance [[4, -2], [-2, 4]];
    # off-diagonal squares 4 + 4 = 8, divided by D = 2
    assert nmtune_losses(z, z)["cov"].item() == pytest.approx(4.0)


def test_svd_term_by_hand():
    z = torch.tensor([[3.0, 0.0], [0.0, 1.0]])  # singular values 3, 1: shares 0.75, 0.25
    assert nmtune_losses(z, z, k=1)["svd"].item() == pytest.approx(-0.75)
    assert nmtune_losses(z, z, k=5)["svd"].item() == pytest.approx(-0.5)  # top-k capped at rank 2


def test_mse_does_not_push_gradients_into_f():
    f = torch.randn(8, 4, requires_grad=True)
    z = torch.randn(8, 4, requires_grad=True)
    nmtune_losses(f, z)["mse"].backward()
    assert f.grad is None and z.grad is not None


def blobs(seed, n=60, classes=3, dim=8):
    centres = torch.randn(classes, dim, generator=torch.Generator().manual_seed(0)) * 2
    y = torch.arange(classes).repeat_interleave(n)
    return centres[y] + torch.randn(len(y), dim, generator=torch.Generator().manual_seed(seed + 1)), y


def test_evaluating_every_method_leaves_the_pretrained_model_bit_identical(tmp_path):
    """Black-box heads read cached features and the parameter-efficient methods tune a copy: after a run is
    evaluated by every method under both protocols its weights, BatchNorm statistics and modes are unchanged."""
    from nml_tutorial.evaluate import evaluate_run
    from nml_tutorial.presets import get_preset
    from nml_tutorial.pretrain import PretrainedRun
    from nml_tutorial.tasks import build_probe_tasks

    preset = get_preset(TINY_PRESET, tasks=["downstream_classes"])
    model = build_model("resnet_small", 5, width=8).eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    config = {"amp": "fp32", "noise_type": "symmetric", "noise_ratio": 0.0, "seed": 0, "arch": "resnet_small"}
    run = PretrainedRun(model, config, "k", [])
    task = build_probe_tasks(preset, seed=0)[0]
    for protocol in ("tuned", "study"):
        rows = evaluate_run(run, task, tmp_path, preset.methods, preset.settings(protocol))
        assert {r["method"] for r in rows} >= {"linear_probe", "mlp_head", "nmtune"}
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert not model.training and all(p.grad is None for p in model.parameters())


def test_nmtune_with_every_term_off_is_the_mlp_baseline():
    x, y = blobs(0)
    hp = {"epochs": 3, "batch_size": 32}
    plain = train_head("mlp_head", x, y, hp)
    ablated = train_head("nmtune", x, y, hp, weights={"mse": 0.0, "cov": 0.0, "svd": 0.0})
    for a, b in zip(plain.head.state_dict().values(), ablated.head.state_dict().values()):
        assert torch.equal(a, b)
    assert not torch.equal(train_head("nmtune", x, y, hp).head.scale, plain.head.scale)


@pytest.mark.parametrize("method", ["linear_head", "mlp_head", "nmtune"])
def test_each_method_learns_separable_blobs(method):
    (x, y), (xt, yt) = blobs(0), blobs(1)
    tuned = train_head(method, x, y, {"epochs": 20, "batch_size": 32, "lr": 1e-2})
    assert tuned.accuracy(xt, yt) > 0.9 and 1 <= tuned.best_epoch <= 20


def test_head_shapes_and_initial_scale():
    head = NMTuneHead(6, 4)
    logits, z = head(torch.randn(5, 6))
    assert logits.shape == (5, 4) and z.shape == (5, 6) and torch.equal(head.scale, torch.ones(6))


def test_weights_are_checked():
    assert resolve_weights("nmtune") == {"mse": 1.0, "cov": 0.04, "svd": 0.001}
    assert resolve_weights("nmtune", {"svd": 0.0})["svd"] == 0.0
    with pytest.raises(ValueError, match="unknown NMTune loss terms"):
        resolve_weights("nmtune", {"ortho": 1.0})
    with pytest.raises(ValueError, match="cross-entropy only"):
        resolve_weights("mlp_head", {"cov": 0.1})
    with pytest.raises(ValueError, match="unknown method"):
        resolve_weights("lora", None)


def test_parameter_efficient_tuning_trains_only_the_last_block_and_head():
    from nml_tutorial.models import last_block
    from nml_tutorial.nmtune import tune_encoder

    model = build_model("resnet_small", 5, width=8)
    images = torch.randint(0, 256, (32, 3, 16, 16), dtype=torch.uint8)
    labels = torch.arange(2).repeat(16)
    for method in ("finetune_pe", "nmtune_pe"):
        tuned = tune_encoder(model, images, labels, method, hp={"epochs": 1, "batch_size": 16})
        assert tuned.head.out_features == 2
        block = {id(p) for p in last_block(tuned).parameters()}
        for (name, before), (_, after) in zip(model.encoder.named_parameters(), tuned.encoder.named_parameters()):
            changed = not torch.equal(before, after)
            assert changed == (id(after) in block), name
        # frozen BatchNorm statistics outside the block are untouched too
        assert torch.equal(model.encoder[2].running_mean, tuned.encoder[2].running_mean)
    with pytest.raises(ValueError, match="parameter-efficient"):
        tune_encoder(model, images, labels, "lora")


@pytest.mark.parametrize("method", ["linear_head", "mlp_head", "nmtune"])
def test_study_protocol_heads_learn_from_views_of_raw_features(method):
    (x, y), (xt, yt) = blobs(0), blobs(1)
    views = torch.stack([x + 0.1 * torch.randn(x.shape, generator=torch.Generator().manual_seed(k)) for k in range(4)])
    tuned = train_head_on_views(method, views, y, {"epochs": 20, "lr": 1e-2})
    assert tuned.accuracy(xt, yt) > 0.9
    assert len(tuned.history) == 20  # no held-out data: every epoch trains, the last one is kept
    assert torch.equal(tuned.mean, torch.zeros(x.shape[1])) and torch.equal(tuned.std, torch.ones(x.shape[1]))


def test_study_protocol_pairs_each_image_with_a_different_view_of_itself(monkeypatch):
    from nml_tutorial import nmtune

    x, y = blobs(0)
    views = torch.stack([x.clone() for _ in range(3)])
    views[:, :, 0] = torch.arange(3.0)[:, None]  # coordinate 0 names the view
    views[:, :, 1] = torch.arange(len(y), dtype=torch.float)  # coordinate 1 names the image
    seen = []
    step = nmtune._step
    monkeypatch.setattr(nmtune, "_step", lambda head, opt, sched, f_in, f_target, labels, *rest: (
        seen.append((f_in.clone(), f_target.clone(), labels.clone())), step(head, opt, sched, f_in, f_target, labels,
                                                                             *rest))[1])
    train_head_on_views("nmtune", views, y, {"epochs": 2})
    for f_in, f_target, labels in seen:
        half = len(f_in) // 2
        first, second = f_in[:half], f_in[half:]
        assert torch.equal(first[:, 1], second[:, 1])  # the two halves are the same images ...
        assert (first[:, 0] != second[:, 0]).all()  # ... seen through two different views
        assert torch.equal(f_target, torch.cat([second, first]))  # z of one view is held to f of the other
        assert torch.equal(labels, y[first[:, 1].long()].repeat(2))
    with pytest.raises(ValueError, match="K >= 2"):
        train_head_on_views("nmtune", x[None], y)
    with pytest.raises(ValueError, match="labels"):
        train_head_on_views("nmtune", views, y[:-1])


def test_augmented_views_are_stacked_view_major():
    from nml_tutorial.evaluate import augmented_views

    images = torch.randint(0, 256, (5, 3, 16, 16), dtype=torch.uint8)
    views = augmented_views(images, 3, seed=0)
    assert views.shape == (15, 3, 16, 16)
    g = torch.Generator().manual_seed(0)
    expected = [resized_crop_flip(images, g) for _ in range(3)]
    assert all(torch.equal(views[k * 5:(k + 1) * 5], expected[k]) for k in range(3))


def test_view_features_made_a_batch_at_a_time_equal_those_of_all_views_at_once():
    from nml_tutorial.evaluate import augmented_views, view_features
    from nml_tutorial.features import extract
    from nml_tutorial.models import build_model

    images = torch.randint(0, 256, (70, 3, 16, 16), dtype=torch.uint8, generator=torch.Generator().manual_seed(2))
    model = build_model("resnet_small", 4, width=8)
    at_once = extract(model, augmented_views(images, 3, seed=5), batch_size=64, amp="fp32").reshape(3, 70, -1)
    assert torch.equal(view_features(model, images, 3, seed=5, amp="fp32", batch_size=64), at_once)


def test_resized_crop_flip_makes_full_size_views_that_differ():
    images = torch.randint(0, 256, (6, 3, 16, 16), dtype=torch.uint8)
    g = torch.Generator().manual_seed(0)
    first, second = resized_crop_flip(images, g), resized_crop_flip(images, g)
    assert first.shape == images.shape and first.dtype == torch.uint8 and not torch.equal(first, second)
    # the whole image at aspect 1, mirrored or not: the identity up to the flip
    whole = resized_crop_flip(images, torch.Generator().manual_seed(1), scale=(1.0, 1.0), ratio=(1.0, 1.0))
    assert all(torch.equal(w, i) or torch.equal(w, i.flip(2)) for w, i in zip(whole, images))
