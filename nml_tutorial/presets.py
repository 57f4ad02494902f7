"""Named presets (quick, extended, fidelity, tiny): everything a sweep needs, and the protocols' settings.

A preset is a plain dict: pre-training data and model, the noise grid, seeds, probe tasks, methods and evaluation
protocols. ``get_preset(name, objective, **overrides)`` returns a checked deep copy; ``run_config`` the
pre-training config of one run; ``resolve_settings`` the hyper-parameters each protocol trains its heads with.
"""

from __future__ import annotations

import copy

from .data import DOMAINS
from .models import ARCHITECTURES
from .noise import NOISE_TYPES, check_ratio
from .nmtune import HEAD_DEFAULTS, METHODS, PE_DEFAULTS, PE_METHODS, STUDY_HEAD_DEFAULTS, resolve_weights
from .pretrain import CLIP_DEFAULTS, PRETRAIN_DEFAULTS
from .probe import STUDY_PROBE_DEFAULTS
from .results import PROTOCOLS

VIEWS = 8  # augmented views of each training image the study protocol's heads draw their pairs from
SUPERVISED_METHODS = ("linear_probe",) + METHODS + PE_METHODS
ALL_METHODS = SUPERVISED_METHODS + ("zero_shot",)  # zero-shot needs a text encoder (objective "clip")
# Methods that train nothing tunable: no hyper-parameters in their cache key, and every task gets them.
PROBE_METHODS = ("linear_probe", "zero_shot")
OBJECTIVES = ("supervised", "clip")
TASKS = ("downstream_classes", "pretrain_classes", "new_classes", "digits", "fashion")
SYNTHETIC_TASKS = TASKS[:3]  # class names the captions speak of: zero-shot makes sense there


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
        # --objective clip: a tiny open_clip model on noisy captions; one seed takes ~6 min on 2 CPU cores
        # (docs/fidelity.md section 5: 3 seeds, exploratory)
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
                     "width": 8, "epochs": 2, "batch_size": 32},
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
# (docs/fidelity.md section 3, exploratory); more ID datasets.
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


def get_preset(name: str, objective: str = "supervised", arch: str | None = None, pretrain_data: dict | None = None,
               **overrides) -> dict:
    """A deep copy of a named preset for an objective, with top-level ``overrides`` (e.g. ``seeds=[0, 1]``).

    ``objective="clip"`` applies the preset's ``clip`` section (contrastive pre-training, caption noise).
    ``arch`` replaces the pre-trained model (``"resnet50"``; for CLIP an open_clip config such as ``"RN50"``),
    ``pretrain_data`` the pre-training data (a :func:`~nml_tutorial.data.load_dataset` dict, e.g. a memmap
    ImageNet subset whose ``noisy_labels`` may name ``{ratio:g}`` and ``{seed}``, with ``noise_type="file"``).
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
    unknown = set(overrides) - set(preset) - {"dataset_tasks"}
    if unknown:
        raise ValueError(f"unknown preset keys {sorted(unknown)}; known: {sorted(preset)}")
    preset.update({k: v for k, v in overrides.items() if v is not None})
    if arch is not None:
        if objective == "clip":
            preset["pretrain"]["model"] = arch
        elif arch not in ARCHITECTURES:
            raise ValueError(f"unknown arch {arch!r}; choose one of {list(ARCHITECTURES)}")
        else:
            preset["pretrain"]["arch"] = arch
    if pretrain_data is not None:
        if "name" not in pretrain_data:
            raise ValueError("pretrain_data needs a 'name' (a load_dataset name such as 'memmap') and its arguments")
        preset.setdefault("probe_data", preset["pretrain"]["data"])  # the synthetic probe tasks keep their data
        preset["pretrain"]["data"] = dict(pretrain_data)
    noise_types = ("caption",) if preset["objective"] == "clip" else (*NOISE_TYPES, "file")
    if preset["noise_type"] not in noise_types:
        raise ValueError(f"unknown noise_type {preset['noise_type']!r} for objective {preset['objective']!r}; choose "
                         f"one of {list(noise_types)}")
    for ratio in preset["noise_ratios"]:
        check_ratio(ratio)
    unknown_protocols = set(preset["protocols"]) - set(PROTOCOLS)
    if unknown_protocols:
        raise ValueError(f"unknown protocols {sorted(unknown_protocols)}; choose from {list(PROTOCOLS)}")
    unknown_methods = set(preset["methods"]) - set(ALL_METHODS)
    if unknown_methods:
        raise ValueError(f"unknown methods {sorted(unknown_methods)}; choose from {list(ALL_METHODS)}")
    unknown_tasks = set(preset["tasks"]) - set(TASKS) - set(preset.get("dataset_tasks", {}))
    if unknown_tasks:
        raise ValueError(f"unknown tasks {sorted(unknown_tasks)}; choose from {list(TASKS)} or define them in "
                         "the preset's dataset_tasks")
    if "zero_shot" in preset["methods"] and preset["objective"] != "clip":
        raise ValueError("zero_shot needs a text encoder: use it with objective 'clip'")
    return preset


def run_config(preset: dict, noise_ratio: float, seed: int) -> dict:
    """The pre-training config of one run of a sweep; ``{ratio:g}`` and ``{seed}`` in the data's ``noisy_labels``
    (a noisy-label file per run) are filled in."""
    noise_ratio = check_ratio(noise_ratio)
    config = copy.deepcopy(preset["pretrain"])
    if isinstance(config.get("data", {}).get("noisy_labels"), str):
        config["data"]["noisy_labels"] = config["data"]["noisy_labels"].format(ratio=noise_ratio, seed=int(seed))
    return {**config, "noise_type": preset["noise_type"], "noise_ratio": noise_ratio,
            "seed": int(seed)}


def task_methods(preset: dict, task: str) -> list[str]:
    """The preset's methods a task gets: all on ``method_tasks``, the probe methods elsewhere; zero-shot only
    where the class names are words the captions used (the synthetic tasks)."""
    methods = (preset["methods"] if task in preset["method_tasks"]
               else [m for m in preset["methods"] if m in PROBE_METHODS])
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


