"""Tiny CLIP models on open_clip: configs registered at run time, open_clip's own save format, zero-shot.

Two model configs ship with the package (``nml-tiny-rn``: a small ModifiedResNet image tower;
``nml-tiny-vit``: a 3-layer ViT on 4-px patches; both with a 2-layer text transformer and open_clip's
BPE tokenizer) and are added to open_clip's registry, so ``open_clip.create_model("nml-tiny-rn",
pretrained=None)`` works; nothing is downloaded. open_clip's own configs (``"RN50"``, ``"ViT-B-16"``, 224-px
images) build the same way, randomly initialised, for full-scale runs.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import open_clip
import torch
import torch.nn.functional as F
from open_clip import ClipLoss
from torch import nn

from .atomic import atomic_torch_save, atomic_write_json, seal
from .augment import crop_flip
from .config import CLIP_TRAIN_DEFAULTS
from .data.captions import PROMPTS
from .feeding import Feeder
from .models import Normalise
from .probe import top1
from .runtime import autocast, rank_and_world, resolve_device, resolve_precision
from .training import fit, with_defaults

CONFIG_DIR = Path(__file__).parent / "clip_configs"
CLIP_MODELS = tuple(sorted(p.stem for p in CONFIG_DIR.glob("*.json")))
# Images reach the towers through the package's Normalise ((x - 0.5) / 0.25): say so in the saved config.
PREPROCESS = {"mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25], "size": 32}
WEIGHTS_FILE = "open_clip_pytorch_model.bin"


def register_configs() -> None:
    """Add the package's tiny model configs to open_clip's registry (idempotent)."""
    if not set(CLIP_MODELS) <= set(open_clip.list_models()):
        open_clip.add_model_config(CONFIG_DIR)


def _untrained(name: str) -> nn.Module:
    """``open_clip.create_model(name, pretrained=None)`` without its warning that no weights were loaded."""
    logging.disable(logging.WARNING)
    try:
        return open_clip.create_model(name, pretrained=None)
    finally:
        logging.disable(logging.NOTSET)


class ClipModel(nn.Module):
    """An open_clip CLIP behind the package's encoder interface.

    ``features(images)`` is the image embedding (what probes, spectra and NMTune read); uint8 or
    [0, 1] images in. ``tokenize(texts)`` uses open_clip's tokenizer at this model's context length;
    ``encode_text(tokens)`` embeds the result.
    """

    def __init__(self, name: str, clip: nn.Module | None = None, config: dict | None = None):
        super().__init__()
        register_configs()
        if clip is None and name not in CLIP_MODELS + tuple(open_clip.list_models()):
            raise ValueError(f"unknown CLIP model {name!r}; choose one of {list(CLIP_MODELS)} or an open_clip config "
                             "such as 'RN50' or 'ViT-B-16' (open_clip.list_models())")
        self.name = name
        self.config = config or open_clip.get_model_config(name)
        self.clip = clip if clip is not None else _untrained(name)
        self.tokenizer = open_clip.tokenizer.SimpleTokenizer(context_length=self.config["text_cfg"]["context_length"])
        self.normalise = Normalise()
        self.feature_dim = self.config["embed_dim"]

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.clip.encode_image(self.normalise(x))

    def tokenize(self, texts: list[str]) -> torch.Tensor:
        return self.tokenizer(texts)

    def encode_text(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.clip.encode_text(tokens.to(self.clip.logit_scale.device))

    @property
    def logit_scale(self) -> torch.Tensor:
        return self.clip.logit_scale


def save_clip(model: ClipModel, folder) -> Path:
    """Write ``folder`` as open_clip reads it: ``open_clip_config.json`` and the weights (each sealed with its
    checksum, :func:`~nml_tutorial.atomic.seal`).

    ``open_clip.create_model_and_transforms("local-dir:" + folder)`` loads it back.
    """
    folder = Path(folder)
    seal(atomic_torch_save({k: v.cpu() for k, v in model.clip.state_dict().items()}, folder / WEIGHTS_FILE))
    seal(atomic_write_json({"model_cfg": model.config, "preprocess_cfg": PREPROCESS, "nml_tutorial_model": model.name},
                           folder / "open_clip_config.json"))
    return folder


def load_clip(folder, device=None) -> ClipModel:
    """A model saved by :func:`save_clip`, loaded through open_clip's own ``local-dir:`` API."""
    folder = Path(folder)
    config_path = folder / "open_clip_config.json"
    if not config_path.exists():
        raise FileNotFoundError(f"no open_clip_config.json in {folder}; save the model with save_clip() first")
    saved = json.loads(config_path.read_text())
    clip, _, _ = open_clip.create_model_and_transforms(f"local-dir:{folder}", device=device)
    return ClipModel(saved.get("nml_tutorial_model", folder.name), clip=clip, config=saved["model_cfg"]).eval()


@torch.no_grad()
def zero_shot_weights(model: ClipModel, class_names: list[str], prompts=PROMPTS) -> torch.Tensor:
    """(C, D) unit text embeddings, one per class, averaged over the prompt templates."""
    model.eval()
    per_prompt = [F.normalize(model.encode_text(model.tokenize([p.format(n) for n in class_names])).float(), dim=-1)
                  for p in prompts]
    return F.normalize(torch.stack(per_prompt).mean(0), dim=-1)


@torch.no_grad()
def zero_shot_accuracy(model: ClipModel, features: torch.Tensor, labels: torch.Tensor, class_names: list[str],
                       prompts=PROMPTS, weights: torch.Tensor | None = None) -> float:
    """Top-1 accuracy of nearest class prompt to each image embedding (``features`` from ``extract``).

    ``weights``: :func:`zero_shot_weights` computed once for several test sets of the same classes.
    """
    weights = (zero_shot_weights(model, class_names, prompts) if weights is None else weights).to(features.device)
    return top1(F.normalize(features.float(), dim=-1) @ weights.T, labels)


def train_contrastive(model: ClipModel, images: torch.Tensor, tokens: torch.Tensor, hp: dict | None = None, *,
                      swapped: torch.Tensor | None = None, checkpoint_path=None, device=None,
                      progress: bool = True) -> list[dict]:
    """Train a :class:`ClipModel` with open_clip's ``ClipLoss`` on (image, caption tokens), on the package's
    training scaffold (:func:`~nml_tutorial.training.fit`: same checkpoint and resume rules).

    ``swapped`` marks the pairs whose caption belongs to another image; each epoch record then says how many of
    them the model fits (``noisy_fitted``: the image retrieves its wrong caption within its batch).
    """
    hp = with_defaults(hp, CLIP_TRAIN_DEFAULTS)
    if rank_and_world()[1] > 1:
        raise NotImplementedError("contrastive pre-training runs in one process; multi-GPU CLIP (features gathered "
                                  "across processes for the loss) is not written yet: run it without torchrun")
    device = resolve_device(device)
    precision = resolve_precision(hp["amp"], device)
    model.to(device)
    take, tokens = Feeder(images, device), tokens.to(device)
    swapped = swapped.to(device) if swapped is not None else torch.zeros(len(images), dtype=torch.bool, device=device)
    loss_fn = ClipLoss()

    def step(idx: torch.Tensor, g: torch.Generator, span: tuple[int, int]):
        x = crop_flip(take(idx), g, padding=hp["padding"], span=span) if hp["augment"] else take(idx)
        with autocast(device, precision):
            image_f = F.normalize(model.features(x).float(), dim=-1)
            text_f = F.normalize(model.encode_text(tokens[idx]).float(), dim=-1)
        loss = loss_fn(image_f, text_f, model.logit_scale.exp())
        with torch.no_grad():
            matched = (image_f @ text_f.T).argmax(1) == torch.arange(len(idx), device=image_f.device)
            return loss, {"correct": matched.sum(), "noisy": swapped[idx].sum(),
                          "noisy_fitted": (matched & swapped[idx]).sum()}

    @torch.no_grad()
    def clamp_temperature():
        model.logit_scale.clamp_(0, math.log(100))  # CLIP's cap on the temperature

    try:
        return fit(model, len(images), step, hp, checkpoint_path=checkpoint_path, device=device, progress=progress,
                   desc="pre-train CLIP", after_step=clamp_temperature, ahead=take.ahead)
    finally:
        take.close()
