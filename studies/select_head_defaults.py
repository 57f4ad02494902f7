"""Choose the tuned protocol's head settings (config.HEAD_DEFAULTS) on validation data, never on a test set.

Pre-registered in docs/preregistration.md: the quick preset's clean model of seed 0 (the model zoo's), the features
of the held-out-class task's *training* images (50 a class, drawn with seed 0), split 80 / 20 by class into fitting
and validation images. Every combination of the grid below trains the linear head, the MLP head and NMTune on
the fitting images (each picks its best epoch on a 10 % split of them, as train_head always does); the combination
with the best validation accuracy averaged over the three heads is chosen (ties: the cheaper one, fewer epochs
then larger batches then the lower rate). No test image is read.

    python studies/select_head_defaults.py --out results/head_selection
"""

import argparse
import itertools
from pathlib import Path

import pandas as pd
import torch

from nml_tutorial.config import HEAD_DEFAULTS, HEAD_METHODS
from nml_tutorial.data.common import stratified_split
from nml_tutorial.features import extract
from nml_tutorial.nmtune import train_head
from nml_tutorial.presets import get_preset
from nml_tutorial.pretrain import pretrain_supervised
from nml_tutorial.results import write_table
from nml_tutorial.runtime import cpu_capability
from nml_tutorial.tasks import build_probe_tasks

GRID = {"lr": [1e-3, 3e-3, 1e-2], "epochs": [20, 40, 80], "batch_size": [64, 128]}
VALIDATION_FRACTION = 0.2


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="results/head_selection")
    parser.add_argument("--cache", default=".cache")
    args = parser.parse_args()
    preset = get_preset("quick", tasks=["downstream_classes"])
    run = pretrain_supervised(preset.run_config(0.0, 0), cache_dir=args.cache, progress=False, zoo=True)
    task = build_probe_tasks(preset, "cpu", seed=0)[0]
    features, labels = extract(run.model, task.train.images, amp=run.config["amp"]), task.train.labels
    fit, validation = stratified_split(labels, VALIDATION_FRACTION, seed=0)
    rows = []
    for lr, epochs, batch_size in itertools.product(*GRID.values()):
        hp = {**HEAD_DEFAULTS, "lr": lr, "epochs": epochs, "batch_size": batch_size}
        for method in HEAD_METHODS:
            head = train_head(method, features[fit], labels[fit], hp)
            rows.append({"lr": lr, "epochs": epochs, "batch_size": batch_size, "method": method,
                         "validation_accuracy": head.accuracy(features[validation], labels[validation])})
        print(rows[-3:], flush=True)
    table = pd.DataFrame(rows)
    mean = table.groupby(["lr", "epochs", "batch_size"])["validation_accuracy"].mean().reset_index()
    mean = mean.sort_values(["validation_accuracy", "epochs", "batch_size", "lr"],
                            ascending=[False, True, False, True])
    write_table(table, Path(args.out) / "validation.csv")
    print(f"capability {cpu_capability()}, torch {torch.__version__}")
    print(mean.to_string(index=False))
    best = mean.iloc[0]
    print(f"chosen: lr {best.lr:g}, epochs {int(best.epochs)}, batch_size {int(best.batch_size)} "
          f"(mean validation accuracy {best.validation_accuracy:.4f})")


if __name__ == "__main__":
    main()
