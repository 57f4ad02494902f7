"""Presets: everything a sweep needs, as one typed, frozen :class:`Preset`.

``get_preset(name_or_file, objective, ...)`` gives a checked preset (``quick``, ``extended``, ``fidelity``, or a
JSON file of the same fields); ``preset.override(...)`` a changed copy, checked again. A preset answers for
itself: ``run_config`` the pre-training config of one run, ``methods_for`` the methods a task gets, ``settings``
the hyper-parameters a protocol trains its heads with.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .config import (
    ALL_METHODS,
    FULL_SCALE,
    HEAD_DEFAULTS,
    OBJECTIVES,
    PE_DEFAULTS,
    PRESETS,
    PROBE_METHODS,
    PROTOCOLS,
    STUDY_HEAD_DEFAULTS,
    STUDY_PROBE_DEFAULTS,
    SYNTHETIC_TASKS,
    TASKS,
    VIEWS,
    resolve_weights,
)
from .data.styles import DOMAINS
from .models import ARCHITECTURES
from .noise import NOISE_TYPES, check_ratio


class FrozenDict(dict):
    """A dict that refuses changes, so a preset's settings cannot be edited in place; still a dict to JSON, to
    ``{**d}``, to pickle and to copy."""

    def _refuse(self, *args, **kwargs):
        raise TypeError("a preset is frozen: make a changed copy with preset.override(...), e.g. "
                        "preset.override(pretrain={'epochs': 40})")

    __setitem__ = __delitem__ = __ior__ = update = pop = popitem = clear = setdefault = _refuse

    def __reduce__(self):
        return FrozenDict, (dict(self),)

    def __hash__(self):
        return hash(tuple(sorted(self.items(), key=repr)))


def _freeze(value):
    """Mappings frozen and lists tuples, all the way down."""
    if isinstance(value, Mapping):
        return FrozenDict({key: _freeze(item) for key, item in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(item) for item in value)
    return value


def thaw(value):
    """A frozen value as plain, mutable dicts and lists (what configs and JSON hold)."""
    if isinstance(value, Mapping):
        return {key: thaw(item) for key, item in value.items()}
    if isinstance(value, tuple):
        return [thaw(item) for item in value]
    return value


@dataclass(frozen=True)
class Preset:
    """One objective's sweep: pre-training, the noise grid and seeds, probe tasks, methods and protocols.

    ``pretrain`` is the pre-training config without noise and seed (``PRETRAIN_DEFAULTS`` fill the rest);
    ``method_tasks`` get every method, the other tasks the probe methods only; ``head_hp`` / ``pe_hp`` override the
    tuned protocol's head and last-block settings; ``probe_data`` is the synthetic data the probe tasks render from
    when pre-training reads other data; ``dataset_tasks`` defines probe tasks read from disk.
    """

    name: str
    objective: str
    pretrain: Mapping
    noise_type: str
    noise_ratios: tuple
    seeds: tuple
    tasks: tuple
    methods: tuple
    protocols: tuple = PROTOCOLS
    method_tasks: tuple = ("downstream_classes",)
    downstream_classes: tuple = tuple(range(40, 60))
    new_classes: tuple = ()
    probe_train_per_class: int = 50
    probe_test_per_class: int = 40
    domains: tuple = DOMAINS
    shift_strengths: tuple = ()
    head_hp: Mapping = field(default_factory=dict)
    pe_hp: Mapping = field(default_factory=dict)
    nmtune_weights: Mapping = field(default_factory=dict)
    probe_data: Mapping | None = None
    dataset_tasks: Mapping = field(default_factory=dict)

    def __post_init__(self):
        for f in dataclasses.fields(self):
            object.__setattr__(self, f.name, _freeze(getattr(self, f.name)))
        _check(self)

    def override(self, **changes) -> Preset:
        """A copy with ``changes``; ``pretrain`` is merged into the pre-training config (``pretrain={"epochs": 40}``).
        ``None`` values change nothing."""
        changes = {key: value for key, value in changes.items() if value is not None}
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ValueError(f"unknown preset keys {sorted(unknown)}; known: "
                             f"{sorted(f.name for f in dataclasses.fields(self))}")
        if "pretrain" in changes:
            changes["pretrain"] = {**self.pretrain, **changes["pretrain"]}
        return dataclasses.replace(self, **changes)

    def run_config(self, noise_ratio: float, seed: int) -> dict:
        """The pre-training config of one run; ``{ratio:g}`` and ``{seed}`` in the data's ``noisy_labels`` (a
        noisy-label file per run) are filled in."""
        noise_ratio = check_ratio(noise_ratio)
        config = thaw(self.pretrain)
        if isinstance(config.get("data", {}).get("noisy_labels"), str):
            config["data"]["noisy_labels"] = config["data"]["noisy_labels"].format(ratio=noise_ratio, seed=int(seed))
        return {**config, "noise_type": self.noise_type, "noise_ratio": noise_ratio, "seed": int(seed)}

    @property
    def probe_source(self) -> dict:
        """The synthetic data the probe tasks render from: ``probe_data``, else the pre-training data."""
        return thaw(self.probe_data if self.probe_data is not None else self.pretrain["data"])

    @property
    def lesson_task(self) -> str:
        """The task the lessons (notebooks 03-05) and the primary C3 / C4 measures read: the held-out classes, or
        on data from disk the first task with several test sets (the full-scale presets: DomainNet); a results
        table names the same one (:func:`~nml_tutorial.results.lesson_task`)."""
        if "downstream_classes" in self.tasks or not self.dataset_tasks:
            return "downstream_classes"
        return next((task for task in self.tasks if len(self.dataset_tasks.get(task, {}).get("tests", ())) > 1),
                    self.tasks[0])

    def methods_for(self, task: str) -> list[str]:
        """The methods a task gets: all on ``method_tasks``, the probe methods elsewhere; zero-shot only where the
        class names are words the captions used (the synthetic tasks)."""
        methods = self.methods if task in self.method_tasks else [m for m in self.methods if m in PROBE_METHODS]
        return [m for m in methods if m != "zero_shot" or task in SYNTHETIC_TASKS]

    def settings(self, protocol: str = "tuned") -> dict:
        """The hyper-parameters every trained method runs with under a protocol: under ``"tuned"`` the defaults
        updated by ``head_hp`` / ``pe_hp``; under ``"study"`` the study's fixed recipe."""
        return protocol_settings(protocol, self.head_hp, self.pe_hp, self.nmtune_weights)


def protocol_settings(protocol: str = "tuned", head_hp=None, pe_hp=None, nmtune_weights=None) -> dict:
    """The settings of a protocol (see :meth:`Preset.settings`), from overrides of the defaults."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; choose from {list(PROTOCOLS)}")
    weights = resolve_weights("nmtune", thaw(nmtune_weights or {}))
    if protocol == "study":
        return {"protocol": protocol, "head_hp": STUDY_HEAD_DEFAULTS, "probe_hp": STUDY_PROBE_DEFAULTS,
                "views": VIEWS, "nmtune_weights": weights}
    return {"protocol": protocol, "head_hp": {**HEAD_DEFAULTS, **thaw(head_hp or {})},
            "pe_hp": {**PE_DEFAULTS, **thaw(pe_hp or {})}, "nmtune_weights": weights}


def _check(preset: Preset) -> None:
    """Refuse a preset whose names or values nothing would understand, naming the fix."""
    if preset.objective not in OBJECTIVES:
        raise ValueError(f"unknown objective {preset.objective!r}; choose one of {list(OBJECTIVES)}")
    noise_types = ("caption",) if preset.objective == "clip" else (*NOISE_TYPES, "file")
    if preset.noise_type not in noise_types:
        raise ValueError(f"unknown noise_type {preset.noise_type!r} for objective {preset.objective!r}; choose "
                         f"one of {list(noise_types)}")
    for ratio in preset.noise_ratios:
        check_ratio(ratio)
    for kind, names, known in (("protocols", preset.protocols, PROTOCOLS), ("methods", preset.methods, ALL_METHODS),
                               ("domains", preset.domains, DOMAINS)):
        unknown = set(names) - set(known)
        if unknown:
            raise ValueError(f"unknown {kind} {sorted(unknown)}; choose from {list(known)}")
    unknown_tasks = set(preset.tasks) - set(TASKS) - set(preset.dataset_tasks)
    if unknown_tasks:
        raise ValueError(f"unknown tasks {sorted(unknown_tasks)}; choose from {list(TASKS)} or define them in "
                         "the preset's dataset_tasks")
    if "zero_shot" in preset.methods and preset.objective != "clip":
        raise ValueError("zero_shot needs a text encoder: use it with objective 'clip'")
    arch = preset.pretrain.get("arch")
    if preset.objective == "supervised" and arch is not None and arch not in ARCHITECTURES:
        raise ValueError(f"unknown arch {arch!r}; choose one of {list(ARCHITECTURES)}")
    if not isinstance(preset.pretrain.get("data"), Mapping) or "name" not in preset.pretrain["data"]:
        raise ValueError("the preset's pre-training data (pretrain={'data': ...}) needs a 'name' (a load_dataset name "
                         "such as 'memmap') and its arguments")
    protocol_settings("tuned", preset.head_hp, preset.pe_hp, preset.nmtune_weights)


def get_preset(preset: str | Path | Preset = "quick", objective: str | None = None, *, arch: str | None = None,
               pretrain_data: dict | None = None, data_root=None, **overrides) -> Preset:
    """A preset, named (:data:`PRESETS`), read from a JSON file of its fields, or given, for an objective
    (default: the preset's own; the named ones are supervised), with ``overrides`` of its fields (e.g. ``seeds=[0, 1]``;
    ``None`` changes nothing): the one place a sweep's settings are changed.

    ``objective="clip"`` applies a named preset's ``clip`` section (contrastive pre-training, caption noise).
    ``arch`` replaces the pre-trained model (``"resnet50"``; for CLIP an open_clip config such as ``"RN50"``),
    ``pretrain_data`` the pre-training data (a :func:`~nml_tutorial.data.load_dataset` dict, e.g. a memmap
    ImageNet subset whose ``noisy_labels`` may name ``{ratio:g}`` and ``{seed}``, with ``noise_type="file"``);
    the synthetic probe tasks keep rendering from the preset's own data. ``data_root`` is the folder that
    ``{data_root}`` in a preset's paths names (the full-scale presets :data:`FULL_SCALE`, or a preset file).
    """
    if objective is not None and objective not in OBJECTIVES:
        raise ValueError(f"unknown objective {objective!r}; choose one of {list(OBJECTIVES)}")
    if isinstance(preset, Preset):
        if data_root is not None:
            raise ValueError(f"data_root is read when a preset is named or read from a file; the paths of the given "
                             f"preset {preset.name!r} are already set (get_preset({preset.name!r}, data_root=...))")
        if objective not in (None, preset.objective):
            raise ValueError(f"preset {preset.name!r} is for objective {preset.objective!r}, not {objective!r}; "
                             f"get it with get_preset({preset.name!r}, {objective!r})")
    else:
        preset = _named_preset(preset, objective, data_root)
    pretrain = dict(overrides.pop("pretrain", None) or {})
    if arch is not None:
        pretrain["model" if preset.objective == "clip" else "arch"] = arch
    if pretrain_data is not None:
        if "data" in pretrain:
            raise ValueError("the pre-training data is given twice (pretrain_data and pretrain={'data': ...}); "
                             "give it once")
        pretrain["data"] = dict(pretrain_data)
        overrides.setdefault("probe_data", preset.probe_source)
    return preset.override(pretrain=pretrain or None, **overrides)


def _named_preset(name, objective: str | None, data_root=None) -> Preset:
    """A named preset or a preset file for ``objective`` (default: its own): a ``clip`` section turns a supervised
    preset into its CLIP one; ``{data_root}`` in its paths becomes ``data_root``."""
    settings = _with_data_root(_preset_settings(name), name, data_root)
    clip = settings.pop("clip", None)
    own = settings.get("objective", "supervised")
    if objective not in (None, own):
        if clip is None or objective != "clip":
            raise ValueError(f"preset {str(name)!r} is for objective {own!r} and has no {objective!r} settings; "
                             f"use it with objective {own!r}, or add a 'clip' section")
        settings.update(clip, objective="clip")
    known = {f.name for f in dataclasses.fields(Preset)} - {"name"}
    unknown = set(settings) - known
    if unknown:
        raise ValueError(f"unknown preset keys {sorted(unknown)} in {str(name)!r}; known: {sorted(known)}")
    return Preset(name=Path(name).stem if _is_file(name) else str(name), **settings)


def _with_data_root(settings: dict, name, data_root) -> dict:
    """``settings`` with ``{data_root}`` in every string replaced by the folder ``data_root``; refused when the
    preset reads from a data root and none is given, or one is given to a preset that reads none."""
    text = json.dumps(settings)
    if "{data_root}" not in text:
        if data_root is not None:
            raise ValueError(f"preset {str(name)!r} reads no data from disk, so data_root={str(data_root)!r} would be "
                             f"ignored; use a full-scale preset ({sorted(FULL_SCALE)}) or leave data_root out")
        return settings
    if data_root is None:
        raise ValueError(f"preset {str(name)!r} reads its data from a data root: pass data_root= (the notebooks' "
                         "DATA_ROOT, the CLI's --data-root), the folder data_scripts/ filled as docs/full-scale.md "
                         "lays it out")
    root = Path(data_root).expanduser().resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"no data root at {root}: prepare the data with data_scripts/ (docs/full-scale.md) "
                                "and point data_root at that folder")
    return json.loads(text.replace("{data_root}", json.dumps(str(root))[1:-1]))


def _is_file(name) -> bool:
    return str(name).endswith(".json")


def _preset_settings(name) -> dict:
    if _is_file(name):
        path = Path(name)
        if not path.is_file():
            raise FileNotFoundError(f"no preset file at {path}; give a preset name ({sorted(PRESETS)}) or a JSON file")
        try:
            return json.loads(path.read_text())
        except json.JSONDecodeError as error:
            raise ValueError(f"the preset file {path} is not valid JSON ({error}); fix it") from None
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; available: {sorted(PRESETS)} or a preset file (.json)")
    return copy.deepcopy(PRESETS[name])


def write_preset(preset: Preset, path) -> Path:
    """``preset``'s fields as a JSON preset file that :func:`get_preset` reads back."""
    fields = thaw({f.name: getattr(preset, f.name) for f in dataclasses.fields(preset) if f.name != "name"})
    Path(path).write_text(json.dumps(fields, indent=1) + "\n")
    return Path(path)
