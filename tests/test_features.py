"""Features of any encoder: the package's models and ones that are not (timm, torchvision, open_clip, plain modules),
and their cache."""

import copy

import pytest
import torch
from torch import nn

from nml_tutorial.clip import register_configs
from nml_tutorial.features import extract, extract_cached
from nml_tutorial.models import build_model

IMAGES = torch.randint(0, 256, (5, 3, 32, 32), dtype=torch.uint8)


def test_a_plain_sequential_gets_scaled_floats_and_its_maps_pooled():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 6, 3), nn.ReLU())
    feats = extract(net, IMAGES, amp="fp32")
    expected = net(IMAGES.float() / 255).mean((2, 3))
    assert feats.shape == (5, 6)
    torch.testing.assert_close(feats, expected)
    torch.testing.assert_close(extract(net, IMAGES, amp="fp32", pooling="max"), net(IMAGES.float() / 255).amax((2, 3)))


def test_a_torchvision_resnet_reads_the_layer_before_its_logits():
    import torchvision

    net = torchvision.models.resnet18(weights=None, num_classes=7).eval()
    feats = extract(net, IMAGES, amp="fp32", layer="avgpool")
    headless = copy.deepcopy(net)
    headless.fc = nn.Identity()
    assert feats.shape == (5, 512)
    torch.testing.assert_close(feats, headless(IMAGES.float() / 255), rtol=1e-4, atol=1e-5)
    assert extract(net, IMAGES, amp="fp32").shape == (5, 7)  # without layer=: the model's own output


def test_a_timm_model_is_normalised_by_its_own_config_and_read_before_its_head():
    import timm

    net = timm.create_model("resnet18", pretrained=False, num_classes=7).eval()
    mean, std = (torch.tensor(net.pretrained_cfg[k]).view(1, 3, 1, 1) for k in ("mean", "std"))
    expected = net.forward_head(net.forward_features((IMAGES.float() / 255 - mean) / std), pre_logits=True)
    torch.testing.assert_close(extract(net, IMAGES, amp="fp32"), expected, rtol=1e-4, atol=1e-5)


def test_an_open_clip_model_is_read_through_encode_image():
    import open_clip

    register_configs()
    net = open_clip.create_model("nml-tiny-rn", pretrained=None).eval()
    mean, std = (torch.tensor(v).view(1, 3, 1, 1) for v in (net.visual.image_mean, net.visual.image_std))
    expected = net.encode_image((IMAGES.float() / 255 - mean) / std)
    torch.testing.assert_close(extract(net, IMAGES, amp="fp32"), expected, rtol=1e-4, atol=1e-5)


def test_tokens_are_pooled_by_class_token_or_mean():
    class Tokens(nn.Module):
        def __init__(self):
            super().__init__()
            self.proj = nn.Linear(3, 4)

        def forward(self, x):
            return self.proj(x.flatten(2).transpose(1, 2))  # (N, H*W, 4)

    net = Tokens()
    tokens = net(IMAGES.float() / 255)
    torch.testing.assert_close(extract(net, IMAGES, amp="fp32", pooling="cls"), tokens[:, 0])
    torch.testing.assert_close(extract(net, IMAGES, amp="fp32"), tokens.mean(1))


def test_encoders_that_cannot_give_features_fail_with_the_fix():
    class Dict(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 2, 1)

        def forward(self, x):
            return {"out": self.conv(x)}

    with pytest.raises(TypeError, match="layer="):
        extract(Dict(), IMAGES)
    with pytest.raises(ValueError, match="no submodule 'fc'.*conv"):
        extract(Dict(), IMAGES, layer="fc")
    with pytest.raises(ValueError, match="pooling='avg' or 'max'"):
        extract(Dict(), IMAGES, layer="conv", pooling="cls")
    with pytest.raises(ValueError, match=r"\(N, C, H, W\) tensor"):
        extract(Dict(), IMAGES[0])


def test_extract_gives_float_features_and_caches(tmp_path):
    model = build_model("resnet_small", 3, width=8)
    images = torch.randint(0, 256, (10, 3, 16, 16), dtype=torch.uint8)
    feats = extract(model, images, batch_size=4)
    assert feats.shape == (10, model.feature_dim) and feats.dtype == torch.float32
    path = tmp_path / "f.pt"
    first = extract_cached(model, images, path)
    torch.nn.init.constant_(model.encoder[1].weight, 0.0)  # a cache hit must not re-encode
    assert torch.equal(extract_cached(model, images, path), first)
