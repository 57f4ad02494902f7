"""Frozen-encoder features: extraction, their on-disk cache, and the check every consumer of features runs."""

from __future__ import annotations

from pathlib import Path

import torch

from .atomic import atomic_torch_save, intact, seal
from .runtime import autocast, resolve_precision


def check_features(x: torch.Tensor, y: torch.Tensor | None = None, name: str = "features") -> None:
    """Raise a clear error for features that are not a finite, non-empty (N, D) tensor matching their labels."""
    if not isinstance(x, torch.Tensor) or x.dim() != 2 or min(x.shape) == 0:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"{name} must be a non-empty (N, D) tensor, got {shape}; pass one row of features per sample")
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} contain NaN or infinite values; check the encoder or drop those rows")
    if y is not None and y.shape != (x.shape[0],):
        raise ValueError(f"{name}: {x.shape[0]} rows but labels of shape {tuple(y.shape)}; pass one label per row")


POOLINGS = ("avg", "max", "cls")


def _pool(out, pooling: str, source: str) -> torch.Tensor:
    """(N, D) features from an encoder's output: maps (N, C, H, W) and tokens (N, T, D) are pooled."""
    if isinstance(out, (tuple, list)) and out and isinstance(out[0], torch.Tensor):
        out = out[0]
    if not isinstance(out, torch.Tensor):
        raise TypeError(f"{source} returned {type(out).__name__}, not a tensor; pass layer= naming a submodule "
                        "whose output is the features")
    if out.dim() == 2:
        return out
    if pooling not in POOLINGS:
        raise ValueError(f"unknown pooling {pooling!r}; choose one of {list(POOLINGS)}")
    if out.dim() == 4:  # (N, C, H, W) feature maps
        if pooling == "cls":
            raise ValueError(f"{source} returns feature maps {tuple(out.shape)}: use pooling='avg' or 'max'")
        return out.mean((2, 3)) if pooling == "avg" else out.amax((2, 3))
    if out.dim() == 3:  # (N, T, D) tokens, the class token first
        return out[:, 0] if pooling == "cls" else out.mean(1) if pooling == "avg" else out.amax(1)
    raise ValueError(f"{source} returned shape {tuple(out.shape)}; expected (N, D), (N, C, H, W) or (N, T, D)")


def _normalisation(model: torch.nn.Module, mean, std):
    """The mean and std a model's own config names (timm's ``pretrained_cfg``, open_clip's ``visual.image_mean``),
    unless given; ``None`` for a model that says nothing (it gets [0, 1] floats)."""
    if mean is not None or std is not None:
        return mean, std
    cfg = getattr(model, "pretrained_cfg", None)
    if isinstance(cfg, dict) and cfg.get("mean") is not None:
        return cfg["mean"], cfg["std"]
    visual = getattr(model, "visual", None)
    if getattr(visual, "image_mean", None) is not None:
        return visual.image_mean, visual.image_std
    return None, None


def encoder(model: torch.nn.Module, layer: str | None = None, pooling: str = "avg", mean=None, std=None):
    """``fn(uint8 batch) -> (N, D) features`` for any image model.

    The package's models (and :class:`~nml_tutorial.clip.ClipModel`) are called through their ``features``, which
    take uint8 images. Any other model gets float images scaled to [0, 1] and normalised by ``mean``/``std``, else
    by its own config (timm's ``pretrained_cfg``, open_clip's ``visual.image_mean``), else left in [0, 1]; then,
    in order: the output of submodule ``layer`` if named (e.g. ``"avgpool"`` of a torchvision ResNet, whose
    ``forward`` returns logits), open_clip's ``encode_image``, timm's ``forward_features`` + ``forward_head(...,
    pre_logits=True)``, else the model's own output. Feature maps and token sequences are pooled by ``pooling``
    (``"avg"``, ``"max"``, or ``"cls"`` for tokens).
    """
    package_model = callable(getattr(model, "features", None)) and not isinstance(model.features, torch.nn.Module)
    if package_model and layer is None:
        return lambda x: _pool(model.features(x), pooling, f"{type(model).__name__}.features")
    mean, std = _normalisation(model, mean, std)

    def scale(x: torch.Tensor) -> torch.Tensor:
        x = x.float() / 255.0 if x.dtype == torch.uint8 else x.float()
        if mean is not None:
            shape = (1, -1, 1, 1)
            x = (x - torch.tensor(mean, device=x.device).view(shape)) / torch.tensor(std, device=x.device).view(shape)
        return x.contiguous(memory_format=torch.channels_last)

    name = type(model).__name__
    if layer is not None:
        modules = dict(model.named_modules())
        if layer not in modules:
            some = [n for n in modules if n][-8:]
            raise ValueError(f"{name} has no submodule {layer!r}; its last ones are {some}")

        def from_layer(x):
            captured = []
            handle = modules[layer].register_forward_hook(lambda m, i, out: captured.append(out))
            try:
                model(scale(x))
            finally:
                handle.remove()
            return _pool(captured[0], pooling, f"{name}.{layer}")
        return from_layer
    if callable(getattr(model, "encode_image", None)):
        return lambda x: _pool(model.encode_image(scale(x)), pooling, f"{name}.encode_image")
    if callable(getattr(model, "forward_features", None)):
        if callable(getattr(model, "forward_head", None)):
            return lambda x: model.forward_head(model.forward_features(scale(x)), pre_logits=True)
        return lambda x: _pool(model.forward_features(scale(x)), pooling, f"{name}.forward_features")
    return lambda x: _pool(model(scale(x)), pooling, name)


def _device(model: torch.nn.Module) -> torch.device:
    param = next(iter(model.parameters()), None)
    return param.device if param is not None else torch.device("cpu")


@torch.no_grad()
def extract(model: torch.nn.Module, images: torch.Tensor, batch_size: int = 256, amp: str = "auto",
            layer: str | None = None, pooling: str = "avg", mean=None, std=None) -> torch.Tensor:
    """Features of every image in eval mode, as float32 (N, D) on the model's device.

    ``model`` is one of the package's models or any image model: a torchvision or timm network, an open_clip CLIP,
    an ``nn.Sequential`` (see :func:`encoder` for ``layer``, ``pooling``, ``mean`` and ``std``). ``amp`` as in
    :func:`~nml_tutorial.runtime.resolve_precision`; the features are returned in fp32 either way.
    Batches of 256 in channels_last format: 2.4x the speed of 512 contiguous on a 2-core CPU.
    """
    if not isinstance(images, torch.Tensor) or images.dim() != 4:
        raise ValueError(f"images must be a (N, C, H, W) tensor, got {getattr(images, 'shape', type(images))}")
    fn = encoder(model, layer=layer, pooling=pooling, mean=mean, std=std)
    device = _device(model)
    precision = resolve_precision(amp, device)
    was_training = model.training
    model.eval().to(memory_format=torch.channels_last)
    out = []
    try:
        for start in range(0, images.shape[0], batch_size):
            x = images[start:start + batch_size].to(device).contiguous(memory_format=torch.channels_last)
            with autocast(device, precision):
                out.append(fn(x).float())
    finally:
        model.train(was_training)
    feats = torch.cat(out) if out else torch.empty(0, getattr(model, "feature_dim", 0), device=device)
    if not torch.isfinite(feats).all():
        raise FloatingPointError("the encoder produced NaN or infinite features; check the model's weights")
    return feats


def extract_cached(model: torch.nn.Module, images: torch.Tensor, cache_path, **kwargs) -> torch.Tensor:
    """``extract`` once and keep the result at ``cache_path`` (a name that identifies model and data), sealed with
    its checksum: a damaged file is extracted again, never loaded."""
    return cached_features(cache_path, lambda: extract(model, images, **kwargs), _device(model), images.shape[0])


def cached_features(cache_path, compute, device, rows: int) -> torch.Tensor:
    """``compute()`` once, kept at ``cache_path`` sealed with its checksum; a damaged file, or one of another
    number of ``rows``, is computed again."""
    path = Path(cache_path)
    if intact(path):
        feats = torch.load(path, map_location=device)
        if feats.shape[0] == rows:
            return feats
    feats = compute()
    atomic_torch_save(feats.cpu(), path)
    seal(path)
    return feats
