"""The notebooks' "Try this" prompts, measured: what a student should see when they try them (docs/teaching.md).

Each prompt is run as the notebook's text says, on the quick preset (seed 0, models from the zoo, the cache shared
with the notebooks), and its outcome printed as one line; a JSON file keeps the numbers.

    python studies/try_this.py --out results/try_this [--cache .cache]
"""

import argparse
import json
import time
from pathlib import Path

import torch

from nml_tutorial import noise
from nml_tutorial.atomic import atomic_write_json
from nml_tutorial.data import load_dataset
from nml_tutorial.presets import get_preset
from nml_tutorial.pretrain import pretrain_supervised
from nml_tutorial.results import select
from nml_tutorial.runtime import cpu_capability
from nml_tutorial.sweep import run_sweep


def noise_01(_cache) -> dict:
    """01: pair noise at 50 %, and the measured-vs-designed gap at 10, 50 and 500 images a class."""
    data = load_dataset("synthetic", classes=list(range(10)), samples_per_class=50, device="cpu")
    noisy = noise.apply_label_noise(data.labels, 10, "pair", 0.5, seed=0)
    measured = noise.empirical_transition(data.labels, noisy.labels, 10)
    off = measured[torch.arange(10), (torch.arange(10) + 1) % 10]
    gaps = {}
    for n in (10, 50, 500):
        data = load_dataset("synthetic", classes=list(range(10)), samples_per_class=n, device="cpu")
        noisy = noise.apply_label_noise(data.labels, 10, "symmetric", 0.2, seed=0)
        gap = noise.empirical_transition(data.labels, noisy.labels, 10) - noise.transition_matrix("symmetric", 10, 0.2)
        gaps[n] = gap.abs().max().item()
    return {"pair 50 %: diagonal mean": measured.diag().mean().item(),
            "pair 50 %: neighbour entry mean": off.mean().item(),
            "pair 50 %: diagonal range": [measured.diag().min().item(), measured.diag().max().item()],
            "symmetric 20 %: largest gap by images a class": gaps}


def memorisation_02(cache) -> dict:
    """02: no augmentation, 40 epochs, 30 % noise: does the compact model memorise its flipped labels?"""
    config = get_preset("quick").run_config(0.3, 0)
    run = pretrain_supervised({**config, "augment": False, "epochs": 40}, cache_dir=cache, progress=False)
    zoo = pretrain_supervised(config, cache_dir=cache, progress=False, zoo=True)
    return {"no augmentation, 40 epochs: flipped labels fitted": run.history[-1]["noisy_fitted"],
            "no augmentation, 40 epochs: train accuracy": run.history[-1]["train_acc"],
            "quick preset (augmented, 15 epochs): flipped labels fitted": zoo.history[-1]["noisy_fitted"]}


def spectrum_ood_04(cache) -> dict:
    """04: SVE and LSVR of the linear probe's features on every test set, clean vs 30 % noise."""
    table = run_sweep("quick", seeds=[0], cache_dir=cache, progress=False, zoo=True).table
    rows = select(table, protocol="tuned", method="linear_probe", task="downstream_classes")
    out = {}
    for domain, group in rows.groupby("test_domain"):
        by_noise = group.groupby("noise_ratio")[["sve", "lsvr"]].mean()
        out[domain] = {m: [round(by_noise.loc[0.0, m], 3), round(by_noise.loc[0.3, m], 3)] for m in ("sve", "lsvr")}
    return out


def nmtune_weights_05(cache) -> dict:
    """05: NMTune with the cov term off and with the svd weight at 0.1: ID accuracy and z's LSVR, clean and 30 %."""
    out = {}
    for name, weights in {"study weights": {}, "cov off": {"cov": 0.0}, "svd 0.1": {"svd": 0.1}}.items():
        preset = get_preset("quick", seeds=[0], noise_ratios=[0.0, 0.3], methods=["linear_probe", "nmtune"],
                            tasks=["downstream_classes"], protocols=["tuned"], nmtune_weights=weights)
        table = run_sweep(preset, cache_dir=cache, progress=False, zoo=True).table
        photo = select(table, test_domain="photo").set_index(["method", "noise_ratio"])
        out[name] = {f"{method} {r:.0%}": {"accuracy": round(100 * photo.loc[(method, r), "accuracy"], 1),
                                            "lsvr": round(photo.loc[(method, r), "lsvr"], 3)}
                     for method in ("linear_probe", "nmtune") for r in (0.0, 0.3)}
    return out


PROMPTS = {"01_noise": noise_01, "02_pretrain": memorisation_02, "04_spectrum": spectrum_ood_04,
           "05_nmtune": nmtune_weights_05}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="results/try_this")
    parser.add_argument("--cache", default=".cache")
    parser.add_argument("--only", nargs="+", choices=sorted(PROMPTS))
    args = parser.parse_args()
    print(f"CPU capability {cpu_capability()}, {torch.get_num_threads()} threads", flush=True)
    measured = {}
    for name, prompt in PROMPTS.items():
        if args.only and name not in args.only:
            continue
        started = time.perf_counter()
        measured[name] = prompt(args.cache)
        print(f"{name} ({time.perf_counter() - started:.0f} s): {json.dumps(measured[name], indent=1)}", flush=True)
    atomic_write_json({"capability": cpu_capability(), "prompts": measured}, Path(args.out) / "try_this.json")


if __name__ == "__main__":
    main()
