"""Evaluating one pre-trained run on one probe task: every method, every test set, cached.

Each method is trained on the task's training images (or their frozen features) and measured on each test set:
accuracy, and the spectrum (SVE, LSVR) of what its classifier reads. Under the ``"tuned"`` protocol the L-BFGS
probe and heads read standardised features, epochs picked on held-out data; under ``"study"`` the study's recipe:
the AdamW probe and heads on raw features, heads on two augmented views per image, the last epoch kept. Features
and finished rows are cached by run, task, method, settings and the code that computes them, each file sealed with
its checksum (a damaged one is recomputed), so an interrupted sweep resumes where it stopped. A lock per run and
task stops two processes evaluating one run at once: the second waits, then reads the rows.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from . import spectrum
from .atomic import atomic_write_json, intact, seal
from .augment import crop_with, resized_crop_flip, resized_crop_params
from .cache import config_key, lock
from .clip import zero_shot_accuracy, zero_shot_weights
from .config import ALL_METHODS, HEAD_METHODS, PE_METHODS, PROBE_METHODS, VIEWS, protocol_methods
from .features import cached_features, extract, extract_cached
from .nmtune import train_head, train_head_on_views, tune_encoder
from .presets import protocol_settings
from .probe import fit_linear_probe, fit_study_probe, top1
from .tasks import ProbeTask


def augmented_views(images: torch.Tensor, count: int, seed: int = 0) -> torch.Tensor:
    """``count`` random-resized-crop + flip views of every image, stacked view-major: (count * N, C, H, W)."""
    g = torch.Generator().manual_seed(seed)
    return torch.cat([resized_crop_flip(images, g) for _ in range(count)])


def view_features(model, images: torch.Tensor, count: int = VIEWS, seed: int = 0, amp: str = "auto",
                  batch_size: int = 256) -> torch.Tensor:
    """Features of ``count`` augmented views of every image, as the study's heads read them: (count, N, D). The
    views are made a batch at a time (never all in memory), the features those of :func:`augmented_views`."""
    g = torch.Generator().manual_seed(seed)
    theta = torch.cat([resized_crop_params(len(images), g) for _ in range(count)])  # view-major, as stacked
    source = torch.arange(len(theta)) % len(images)
    feats = [extract(model, crop_with(images[source[s:s + batch_size].to(images.device)], theta[s:s + batch_size]),
                     batch_size=batch_size, amp=amp) for s in range(0, len(theta), batch_size)]
    return torch.cat(feats).reshape(count, len(images), -1)


def _method_rows(method: str, run, task: ProbeTask, feats, settings: dict, device):
    """Accuracy and the representation the method's classifier reads, on every test set of a task.

    ``feats(name, images)`` gives the cached features of a named image set (``images`` may be a function that
    makes them, called only when they are not cached)."""
    weights = settings["nmtune_weights"]
    precision, seed = run.config["amp"], run.config["seed"]
    if method in PE_METHODS:
        model = tune_encoder(run.model, task.train.images, task.train.labels, method,
                             hp={**settings["pe_hp"], "amp": precision},
                             weights={k: weights[k] for k in ("cov", "svd")}, device=device)
        out = {}
        for domain, ds in task.tests.items():
            f = extract(model, ds.images, amp=precision)
            with torch.no_grad():
                out[domain] = (top1(model.head(f), ds.labels, task.columns[domain]), f)
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
            return {d: (probe.accuracy(f, y, task.columns[d]), f) for d, (f, y) in tests.items()}, {}
        probe = fit_linear_probe(train_f, task.train.labels, seed=seed)
        return {d: (probe.accuracy(f, y, task.columns[d]), f) for d, (f, y) in tests.items()}, {"probe_l2": probe.l2}
    if method in HEAD_METHODS and settings["protocol"] == "study":
        count, seed = settings["views"], settings["head_hp"]["seed"]
        views = feats(f"train-views{count}-seed{seed}", lambda: view_features(
            run.model, task.train.images, count, seed, amp=precision).flatten(0, 1), computes_features=True)
        tuned = train_head_on_views(method, views.reshape(count, len(task.train), -1), task.train.labels,
                                    settings["head_hp"],
                                    weights=weights if method == "nmtune" else None)
        return {d: (tuned.accuracy(f, y, task.columns[d]), tuned.transform(f)) for d, (f, y) in tests.items()}, {}
    if method in HEAD_METHODS:
        tuned = train_head(method, train_f, task.train.labels, settings["head_hp"],
                           weights=weights if method == "nmtune" else None)
        return {d: (tuned.accuracy(f, y, task.columns[d]), tuned.transform(f)) for d, (f, y) in tests.items()}, {}
    raise ValueError(f"unknown method {method!r}; choose from {list(ALL_METHODS)}")


def evaluate_run(run, task: ProbeTask, cache_dir, methods=("linear_probe",), settings: dict | None = None,
                 device=None) -> list[dict]:
    """Rows for every method on one pre-trained run and task; cached by run, task, method, settings and code.

    ``settings`` as :meth:`~nml_tutorial.presets.Preset.settings` gives them (default: the tuned protocol's
    defaults); they name the protocol. Every probe and head is seeded with the run's seed.
    """
    cfg = run.config
    if task.seed is not None and task.seed != cfg["seed"]:
        raise ValueError(f"the {task.name} task was drawn for seed {task.seed} but the run has seed {cfg['seed']}; "
                         f"build its tasks with build_probe_tasks(preset, device, seed={cfg['seed']})")
    settings = _with_run_seed(settings or protocol_settings(), cfg["seed"])
    protocol = settings["protocol"]
    task_key = _task_key(task)
    loaded = {}  # every method of this task reads the same feature files: load each once

    def feats(name: str, images, computes_features: bool = False) -> torch.Tensor:
        path = _feature_path(run, task, task_key, name, cache_dir)
        if path not in loaded and computes_features:  # ``images()`` gives the features themselves
            loaded[path] = cached_features(path, images, next(run.model.parameters()).device,
                                           settings["views"] * len(task.train))
        elif path not in loaded:
            if callable(images) and intact(path):  # made on demand: skip making them when cached
                loaded[path] = torch.load(path, map_location=next(run.model.parameters()).device)
            else:
                loaded[path] = extract_cached(run.model, images() if callable(images) else images, path,
                                              amp=cfg["amp"])
        return loaded[path]

    rows = []
    eval_dir = Path(cache_dir) / "eval" / run.key
    with lock(eval_dir / f"{task.name}-{task_key}.lock", f"the evaluation of run {run.key} on {task.name}"):
        for method in protocol_methods(methods, protocol):
            rows.extend(_cached_rows(method, run, task, feats, settings, device,
                                     eval_dir / f"{task.name}-{task_key}-{method}-"
                                                f"{_method_key(method, settings)}.json"))
    return rows


def _task_key(task: ProbeTask) -> str:
    return config_key(task.spec, code=("nml_tutorial.tasks",))  # the task's images, and all the features read


def _feature_path(run, task: ProbeTask, task_key: str, name: str, cache_dir) -> Path:
    return Path(cache_dir) / "features" / run.key / f"{task.name}-{task_key}-{name}.pt"


def task_features(run, task: ProbeTask, images: str, cache_dir) -> torch.Tensor:
    """A run's frozen features of a task's ``images`` (``"train"`` or a test set's name), as the results table's
    methods read them: from the cache a sweep filled, else extracted at the run's precision and cached."""
    data = task.train if images == "train" else task.tests.get(images)
    if data is None:
        raise ValueError(f"the {task.name} task has no image set {images!r}; choose 'train' or one of "
                         f"{sorted(task.tests)}")
    name = "train" if images == "train" else f"test-{images}"
    path = _feature_path(run, task, _task_key(task), name, cache_dir)
    return extract_cached(run.model, data.images, path, amp=run.config["amp"])


def _with_run_seed(settings: dict, seed: int) -> dict:
    """``settings`` whose probe and head hyper-parameters carry the run's seed (their splits, initialisation, order
    and augmented views are drawn anew with every run seed)."""
    return {key: {**value, "seed": int(seed)} if key in ("head_hp", "probe_hp", "pe_hp") else value
            for key, value in settings.items()}


def _method_key(method: str, settings: dict) -> str:
    """What a method's rows depend on besides run and task: its settings (a probe: only its own) and its code."""
    probe_settings = {k: v for k, v in settings.items() if k in ("protocol", "probe_hp")}
    return config_key(probe_settings if method in PROBE_METHODS else settings, code=("nml_tutorial.evaluate",))


def _cached_rows(method: str, run, task: ProbeTask, feats, settings: dict, device, path: Path):
    """One method's rows, read from ``path`` when intact there, else computed and written there."""
    cfg, protocol = run.config, settings["protocol"]
    last = run.history[-1] if run.history else {}
    if intact(path):
        return json.loads(path.read_text())  # pd.read_json would round 0.3 to 0.30000000000000004
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
    seal(atomic_write_json(method_rows, path))
    return method_rows
