"""Text for image-text (CLIP) pre-training: captions built from what the generator knows of each image.

A caption names the class (count, fill, shape) and, depending on the template, the object's colour,
size and position, so the text carries more than the label. Real datasets get class-name templates.
"""

from __future__ import annotations

import torch

from .common import LabeledImages
from .synthetic import BASE_SIZE

COLOURS = ("red", "orange", "yellow", "green", "cyan", "blue", "purple", "pink")
TEMPLATES = (
    "a photo of {name}.",
    "{count} {size} {colour} {rest}.",
    "a picture of {name} {position}.",
    "{count} {colour} {rest} {position}.",
    "{name}, {size} and {colour}.",
)
PROMPTS = ("a photo of {}.", "a picture of {}.", "{}.")  # zero-shot prompt ensemble


def colour_word(hue: torch.Tensor) -> list[str]:
    """Hue in [0, 1) to one of eight colour words."""
    return [COLOURS[int(h * len(COLOURS)) % len(COLOURS)] for h in hue.tolist()]


def position_word(center: torch.Tensor) -> list[str]:
    """Object centre offsets in [-0.25, 0.25]^2 (x right, y down) to a phrase."""
    words = []
    for x, y in center.tolist():
        if max(abs(x), abs(y)) < 0.08:
            words.append("in the middle")
        elif abs(x) >= abs(y):
            words.append("on the right" if x > 0 else "on the left")
        else:
            words.append("at the bottom" if y > 0 else "at the top")
    return words


def size_word(size: torch.Tensor, count: torch.Tensor) -> list[str]:
    """Object size relative to the typical size for its number of copies."""
    typical = torch.tensor(BASE_SIZE)[count]
    return ["small" if small else "large" for small in (size < 0.97 * typical).tolist()]


def synthetic_captions(data: LabeledImages, seed: int = 0) -> list[str]:
    """One caption per image from a seeded choice of :data:`TEMPLATES`; needs the generator's attributes."""
    missing = {"count", "hue", "size", "center"} - set(data.attributes)
    if missing:
        raise ValueError(f"captions need the generator's attributes {sorted(missing)}; "
                         "use load_dataset('synthetic', ...) or class_captions() for other datasets")
    names = [data.class_names[i] for i in data.labels.tolist()]
    colour = colour_word(data.attributes["hue"].cpu())
    size = size_word(data.attributes["size"].cpu(), data.attributes["count"].cpu())
    position = position_word(data.attributes["center"].cpu())
    choice = torch.randint(0, len(TEMPLATES), (len(names),), generator=torch.Generator().manual_seed(seed)).tolist()
    return [TEMPLATES[t].format(name=n, count=n.split()[0], rest=n.split(" ", 1)[1], size=s, colour=c, position=p)
            for t, n, s, c, p in zip(choice, names, size, colour, position)]


def class_captions(data: LabeledImages, seed: int = 0) -> list[str]:
    """Class-name captions from the prompt templates, for datasets without scene attributes."""
    choice = torch.randint(0, len(PROMPTS), (len(data),), generator=torch.Generator().manual_seed(seed)).tolist()
    return [PROMPTS[t].format(data.class_names[y]) for t, y in zip(choice, data.labels.tolist())]
