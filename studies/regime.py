"""Fidelity exploration: does longer training (and no augmentation) push the compact model into the
memorisation regime of the study's large models, and what does that do to ID and OOD transfer?

Each variant is the quick preset with other pre-training epochs / augmentation / images per class;
linear probe only.
Writes one tidy CSV (the sweep's columns plus ``variant``) and the per-epoch fraction of flipped
labels the model fits, for docs/fidelity.md.

    python studies/regime.py --out results/regime [--seeds 0 1] [--cache .cache] [--variants "40 ep, aug"]
"""

import argparse
import json
from pathlib import Path

import pandas as pd
import torch

from nml_tutorial.presets import get_preset
from nml_tutorial.pretrain import pretrain_supervised
from nml_tutorial.results import write_table
from nml_tutorial.sweep import run_sweep

VARIANTS = {
    "quick (15 ep, aug)": {"epochs": 15, "augment": True},
    "40 ep, aug": {"epochs": 40, "augment": True},
    "40 ep, no aug": {"epochs": 40, "augment": False},
    "40 ep, no aug, 200/class": {"epochs": 40, "augment": False, "samples_per_class": 200},
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="results/regime")
    parser.add_argument("--cache", default=".cache")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--noise", type=float, nargs="+", default=[0.0, 0.1, 0.3])
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    args = parser.parse_args()
    torch.set_num_threads(2)
    tables, curves = [], []
    for name in args.variants:
        change = VARIANTS[name]
        preset = get_preset("quick", seeds=args.seeds, noise_ratios=args.noise, methods=["linear_probe"])
        pretrain = {k: v for k, v in change.items() if k != "samples_per_class"}
        if "samples_per_class" in change:
            pretrain["data"] = {**preset.pretrain["data"], "samples_per_class": change["samples_per_class"]}
        preset = preset.override(pretrain=pretrain)
        table = run_sweep(preset, cache_dir=args.cache, progress=False).table
        tables.append(table.assign(variant=name))
        for seed in args.seeds:
            for ratio in args.noise:
                run = pretrain_supervised(preset.run_config(ratio, seed),
                                          cache_dir=args.cache, progress=False)
                curves += [{"variant": name, "seed": seed, "noise_ratio": ratio, **r} for r in run.history]
        print(f"{name}: done", flush=True)
    out = Path(args.out)
    write_table(pd.concat(tables), out / "results.csv")
    write_table(pd.DataFrame(curves), out / "curves.csv")
    print(json.dumps({"written": [str(out / "results.csv"), str(out / "curves.csv")]}))


if __name__ == "__main__":
    main()
