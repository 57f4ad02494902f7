"""The package's names and defaults: objectives, protocols, methods, tasks, domains, the settings every trainer
starts from, and the named presets' settings (:func:`nml_tutorial.presets.get_preset` checks and freezes them). It
imports nothing from the package, so any module can read it without climbing up the layers.

Run keys hold the merged settings of each run, so changing a default here gives new keys (a new model, trained
again), as changing the code that trains them does.
"""

OBJECTIVES = ("supervised", "clip")
PROTOCOLS = ("tuned", "study")  # evaluation protocols (nml_tutorial.evaluate): ours, and the study's recipe

HEAD_METHODS = ("linear_head", "mlp_head", "nmtune")  # heads trained on frozen features
PE_METHODS = ("finetune_pe", "nmtune_pe")  # parameter-efficient: the encoder's last block is trained too
SUPERVISED_METHODS = ("linear_probe",) + HEAD_METHODS + PE_METHODS
ALL_METHODS = SUPERVISED_METHODS + ("zero_shot",)  # zero-shot needs a text encoder (objective "clip")
# Methods that train nothing tunable: no hyper-parameters in their cache key, and every task gets them.
PROBE_METHODS = ("linear_probe", "zero_shot")

TASKS = ("downstream_classes", "pretrain_classes", "new_classes", "digits", "fashion")
SYNTHETIC_TASKS = TASKS[:3]  # class names the captions speak of: zero-shot makes sense there
PRIMARY_TASK = "downstream_classes"  # the lessons' task and that of the pre-registered C2-C4 measures
ID_TASKS = {"downstream_classes": "photo", "digits": "mnist", "new_classes": "photo", "fashion": "fashion"}  # ID tests
VIEWS = 8  # augmented views of each training image the study protocol's heads draw their pairs from


def protocol_methods(methods, protocol: str) -> list[str]:
    """The methods a protocol runs: the study's has no recipe here for the parameter-efficient ones."""
    return [m for m in methods if protocol == "tuned" or m not in PE_METHODS]


# Supervised training (nml_tutorial.training): SGD with warm-up and cosine decay, crop + flip augmentation.
TRAIN_DEFAULTS = {
    "epochs": 10,
    "batch_size": 128,
    "optimizer": "sgd",  # or "adamw"
    "lr": 0.1,
    "momentum": 0.9,
    "weight_decay": 5e-4,
    "warmup_fraction": 0.05,
    "label_smoothing": 0.0,
    "augment": True,
    "padding": 4,
    "amp": "auto",  # bf16 autocast where native, else fp32 (runtime.resolve_precision)
    "seed": 0,
}

# The quick preset's pre-training, so pretrain_supervised({"noise_ratio": 0.1}) in a notebook reuses the model the
# quick sweep cached (or the package's model zoo holds). It trains in fp32 on every machine, so its numbers and its
# zoo are the same wherever it runs.
PRETRAIN_DEFAULTS = {
    "data": {"name": "synthetic", "split": "train", "domain": "photo", "num_classes": 60,
             "classes": list(range(40)), "samples_per_class": 100, "image_size": 32, "seed": 0},
    "noise_type": "symmetric",
    "noise_ratio": 0.0,
    "arch": "resnet_small",
    "width": 16,
    "depth": 1,
    **TRAIN_DEFAULTS,
    "epochs": 15,
    "amp": "fp32",
}

# Contrastive training (nml_tutorial.clip): AdamW with warm-up and cosine decay.
CLIP_TRAIN_DEFAULTS = {
    "epochs": 10,
    "batch_size": 64,
    "optimizer": "adamw",
    "lr": 5e-3,
    "weight_decay": 0.1,
    "warmup_fraction": 0.1,
    "augment": True,
    "padding": 2,
    "amp": "auto",
    "seed": 0,
}

# The quick CLIP pre-training: photo images of the 40 pre-training classes with generated captions.
CLIP_DEFAULTS = {
    "data": {**PRETRAIN_DEFAULTS["data"], "samples_per_class": 100},
    "model": "nml-tiny-rn",
    "noise_type": "caption",
    "noise_ratio": 0.0,
    "caption_seed": 0,
    **CLIP_TRAIN_DEFAULTS,
    "amp": "fp32",  # as the supervised quick preset: the same numbers (and zoo) on every machine
}

# NMTune's loss terms: feature reconstruction, covariance (off-diagonal) and the top singular values.
NMTUNE_WEIGHTS = {"mse": 1.0, "cov": 0.04, "svd": 0.001}


def resolve_weights(method: str, weights: dict | None = None) -> dict[str, float]:
    """Regulariser weights of a method: NMTune's defaults (overridable, 0 switches a term off), else none."""
    if method not in HEAD_METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {list(HEAD_METHODS)}")
    if method != "nmtune":
        if weights and any(weights.values()):
            raise ValueError(f"{method} trains with cross-entropy only; regulariser weights apply to 'nmtune'")
        return {k: 0.0 for k in NMTUNE_WEIGHTS}
    unknown = set(weights or {}) - set(NMTUNE_WEIGHTS)
    if unknown:
        raise ValueError(f"unknown NMTune loss terms {sorted(unknown)}; known: {sorted(NMTUNE_WEIGHTS)}")
    return {**NMTUNE_WEIGHTS, **(weights or {})}


# The tuned protocol's heads: lr, epochs and batch chosen on validation data by studies/select_head_defaults.py (the
# quick preset's clean seed-0 model, an 80 / 20 split of the held-out-class *training* features; no test image read),
# as docs/preregistration.md fixed before the confirmatory runs. The study's 30 epochs at 1e-3 under-fit a downstream
# set of ~1,000 features (~500 steps).
HEAD_DEFAULTS = {
    "epochs": 80,
    "batch_size": 128,
    "lr": 3e-3,
    "weight_decay": 1e-4,
    "warmup_fraction": 0.0,
    "val_fraction": 0.1,  # held out of the training features to pick the best epoch
    "top_k": 5,
    "seed": 0,
}

# The study's protocol (its official script): raw features, AdamW lr 1e-3, weight decay 1e-4, batch 64, 30 epochs,
# cosine, no held-out data (the last epoch is kept), two augmented views of every image in each step.
STUDY_HEAD_DEFAULTS = {"epochs": 30, "batch_size": 64, "lr": 1e-3, "weight_decay": 1e-4, "top_k": 5, "seed": 0}
# The study's linear probe: AdamW on raw features, the last epoch kept.
STUDY_PROBE_DEFAULTS = {"epochs": 30, "batch_size": 64, "lr": 0.01, "weight_decay": 1e-4, "seed": 0}

# Last-block tuning. 10 epochs at 1e-3 left the fresh head under-fitted (49 % ID vs 67 % for the linear probe on the
# quick preset); 30 epochs at 3e-3 reach the probe's level (69 %).
PE_DEFAULTS = {"epochs": 30, "batch_size": 128, "optimizer": "adamw", "lr": 3e-3, "weight_decay": 1e-4,
               "warmup_fraction": 0.0, "seed": 0}


# The named presets' settings (nml_tutorial.presets makes them a checked, frozen Preset).
# The quick preset: 40 classes of 32 px synthetic images, a width-16 ResNet, 15 epochs with augmentation; one seed.
_QUICK = {
    "objective": "supervised",
    "pretrain": {"data": PRETRAIN_DEFAULTS["data"], "width": 16, "epochs": 15},
    "noise_type": "symmetric",
    "noise_ratios": [0.0, 0.05, 0.1, 0.3],  # clean, slight (the study's 5 and 10 %), heavy
    "seeds": [0],
    "tasks": ["downstream_classes", "pretrain_classes", "digits"],
    "shift_strengths": [0.25, 0.5],  # graded shifts: how much of each style is mixed into the photo
    "methods": ["linear_probe", "linear_head", "mlp_head", "nmtune"],
    # objective clip: a tiny open_clip model on noisy captions; one seed ~6 min on 2 cores (AVX512)
    "clip": {"pretrain": {"data": CLIP_DEFAULTS["data"], "model": CLIP_DEFAULTS["model"]},
             "noise_type": "caption", "noise_ratios": [0.0, 0.05, 0.1, 0.2, 0.3],
             "tasks": ["downstream_classes", "pretrain_classes"], "shift_strengths": [],
             "methods": ["zero_shot", "linear_probe", "mlp_head", "nmtune"]},
}


def _imagenet_rung(memmap: str, size: int, epochs: int, batch_size: int, lr: float) -> dict:
    """A full-scale preset on ImageNet-format data under one ``{data_root}`` as ``data_scripts/`` lays it out
    (docs/full-scale.md): ResNet-50 pre-trained on the memmap ``memmap`` with noisy-label files per ratio and seed,
    probed on CIFAR-10/100 (in-domain), DomainNet (trained on real, tested on real, sketch, painting and clipart,
    the four domains the study reads) and ImageNet (a
    100-images-a-class probe tested on its validation set, V2, Sketch, R and A; R and A read at their 200 classes)."""

    def data(name: str, folder: str, **args) -> dict:
        return {"name": name, "root": f"{{data_root}}/{folder}", "image_size": size, **args}

    domainnet = {domain: data("domainnet", "domainnet", domain=domain, split="test")
                 for domain in ("real", "sketch", "painting", "clipart")}
    variants = {variant: data(variant, variant.replace("_", "-")) for variant in
                ("imagenet_v2", "imagenet_sketch", "imagenet_r", "imagenet_a")}
    tasks = {
        "cifar10": {"train": data("cifar10", "cifar", split="train"),
                    "tests": {"cifar10": data("cifar10", "cifar", split="test")}},
        "cifar100": {"train": data("cifar100", "cifar", split="train"),
                     "tests": {"cifar100": data("cifar100", "cifar", split="test")}},
        "domainnet": {"train": data("domainnet", "domainnet", domain="real", split="train"), "tests": domainnet},
        "imagenet_variants": {"train": data("image_folder", "imagenet/train", per_class=100, domain="imagenet"),
                              "tests": {"imagenet": data("image_folder", "imagenet/val", domain="imagenet"),
                                        **variants}},
    }
    return {
        "objective": "supervised",
        "pretrain": {"data": {"name": "memmap", "root": f"{{data_root}}/{memmap}",
                              "noisy_labels": "noisy/flip_{ratio:g}_seed{seed}.npy"},
                     "arch": "resnet50", "epochs": epochs, "batch_size": batch_size, "lr": lr, "weight_decay": 1e-4,
                     "amp": "auto"},
        "noise_type": "file",
        "noise_ratios": [0.0, 0.05, 0.1, 0.2, 0.3],  # the study's grid
        "seeds": [0],
        "tasks": list(tasks),
        "method_tasks": list(tasks),
        "shift_strengths": [],
        "methods": ["linear_probe", "linear_head", "mlp_head", "nmtune"],
        "dataset_tasks": tasks,
    }


# The study's rungs: "{data_root}" is the folder given as get_preset(..., data_root=...) (the notebooks' DATA_ROOT).
# Schedules: the standard ImageNet recipe's 90 epochs of SGD, lr 0.1 a batch of 256 (scaled with the batch), weight
# decay 1e-4; its augmentation is not: the package's pad-crop + flip stands in for the random-resized crop.
FULL_SCALE = {
    "imagenette": _imagenet_rung("imagenette-64", 64, epochs=90, batch_size=256, lr=0.1),
    "imagenet100": _imagenet_rung("imagenet100-64", 64, epochs=90, batch_size=256, lr=0.1),
    "imagenet1k": _imagenet_rung("imagenet1k-224", 224, epochs=90, batch_size=1024, lr=0.4),
}

PRESETS = {
    "quick": _QUICK,
    # The quick data and model trained 40 epochs with augmentation: clean quality well above quick's
    # (docs/fidelity.md section 3, exploratory); more ID datasets. 8 seeds x 3 ratios (the study's slight 5 %,
    # and 30 %): ~72 min on 2 CPU cores (capability AVX512).
    "extended": {
        **{key: value for key, value in _QUICK.items() if key != "clip"},
        "pretrain": {"data": PRETRAIN_DEFAULTS["data"], "width": 16, "epochs": 40},
        "noise_ratios": [0.0, 0.05, 0.3],
        "seeds": list(range(8)),
        "tasks": ["downstream_classes", "new_classes", "digits", "fashion"],
        "shift_strengths": [0.25, 0.5, 0.75],
        "new_classes": list(range(60, 80)),
    },
    # docs/fidelity.md: the memorisation regime (no augmentation, 40 epochs, 200 images a class), the fine noise
    # grid, 4 seeds, test sets of 2,000 images, other ID datasets and graded shifts. ~2 h on 2 cores (AVX512).
    "fidelity": {
        "objective": "supervised",
        "pretrain": {"data": {**PRETRAIN_DEFAULTS["data"], "samples_per_class": 200}, "width": 16, "epochs": 40,
                     "augment": False, "amp": "auto"},
        "noise_type": "symmetric",
        "noise_ratios": [0.0, 0.025, 0.05, 0.075, 0.1, 0.2, 0.3],
        "seeds": [0, 1, 2, 3],
        "probe_train_per_class": 100,
        "probe_test_per_class": 100,
        "tasks": ["downstream_classes", "new_classes", "digits", "fashion"],
        "shift_strengths": [0.25, 0.5, 0.75],
        "new_classes": list(range(60, 80)),
        "methods": ["linear_probe", "linear_head", "mlp_head", "nmtune"],
    },
    **FULL_SCALE,
}
