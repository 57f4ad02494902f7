"""Does NMTune beat its baselines with other weights or another training length? (docs/fidelity.md, C4)

On the fidelity preset's pre-trained models (cached), NMTune is retrained on the held-out-class task with
each variant below and compared, seed by seed, with the linear probe and the MLP head of the main sweep
(the C4 rows of ``claims.claim_table``).

    python studies/nmtune_weights.py --out results/nmtune_weights [--noise 0 0.3] [--seeds 0 1 2 3]
"""

import argparse
import json
from pathlib import Path

import pandas as pd
import torch

from nml_tutorial.claims import PRIMARY_TASK, claim_table
from nml_tutorial.presets import get_preset
from nml_tutorial.results import write_table
from nml_tutorial.sweep import run_sweep

VARIANTS = {  # name -> (nmtune_weights, head_hp)
    "study weights (mse 1, cov 0.04, svd 0.001)": ({}, {}),
    "no mse": ({"mse": 0.0}, {}),
    "no cov": ({"cov": 0.0}, {}),
    "no svd": ({"svd": 0.0}, {}),
    "svd x100 (0.1)": ({"svd": 0.1}, {}),
    "cov x10 (0.4)": ({"cov": 0.4}, {}),
    "15 epochs": ({}, {"epochs": 15}),
    "100 epochs": ({}, {"epochs": 100}),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="results/nmtune_weights")
    parser.add_argument("--cache", default=".cache")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    parser.add_argument("--noise", type=float, nargs="+", default=[0.0, 0.3])
    args = parser.parse_args()
    torch.set_num_threads(2)
    common = {"seeds": args.seeds, "noise_ratios": args.noise, "tasks": ["downstream_classes"]}
    base = run_sweep(get_preset("fidelity", methods=["linear_probe", "mlp_head"], **common),
                     cache_dir=args.cache, progress=False).table
    tables, lines = [base.assign(variant="baselines")], []
    for name, (weights, hp) in VARIANTS.items():
        table = run_sweep(get_preset("fidelity", methods=["nmtune"], nmtune_weights=weights, head_hp=hp, **common),
                          cache_dir=args.cache, progress=False).table
        tables.append(table.assign(variant=name))
        c4 = claim_table(pd.concat([base, table]))
        c4 = c4[(c4["claim"] == "C4") & (c4["task"] == PRIMARY_TASK)]
        line = {"variant": name, **{m.replace("NMTune - ", "vs ").replace(" (all noise)", ""):
                                    f"{e:+.2f} [{lo:+.2f}, {hi:+.2f}]"
                                    for m, e, lo, hi in zip(c4["measure"], c4["effect"], c4["low"], c4["high"])}}
        lines.append(line)
        print(json.dumps(line), flush=True)
    out = Path(args.out)
    write_table(pd.concat(tables), out / "results.csv")
    write_table(pd.DataFrame(lines), out / "summary.csv")
    print(pd.DataFrame(lines).to_string(index=False))


if __name__ == "__main__":
    main()
