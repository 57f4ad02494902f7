#!/usr/bin/env python
"""Write deterministic noisy-label files for a memmap dataset (into <dataset>/noisy/), one per ratio, each with a
report of its realised flip rate and transition matrix; or convert Noisy Imagenette's published labels."""

import argparse
import json
from pathlib import Path

import numpy as np
from _common import run

from nml_tutorial.data.label_files import MODES, report_line, write_noisy_imagenette, write_noisy_label_files


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", required=True, help="a memmap dataset folder (build_memmap.py)")
    parser.add_argument("--ratios", type=float, nargs="+", default=[0.05, 0.1, 0.2, 0.3],
                        help="noise ratios, fractions in [0, 1] (default: the study's 5, 10, 20, 30 %%)")
    parser.add_argument("--mode", default="flip", choices=sorted(MODES),
                        help="flip: always another class (the package); uniform: any class (the official code)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="one file per ratio and seed")
    parser.add_argument("--noisy-imagenette", help="noisy_imagenette.csv: write its labels instead of drawing")
    parser.add_argument("--column", default="noisy_labels_5", help="its column (noisy_labels_{0,1,5,25,50})")
    args = parser.parse_args(argv)
    root = Path(args.dataset)
    meta_file = root / "meta.json"
    if not meta_file.is_file():
        raise FileNotFoundError(f"{root} is not a finished memmap dataset (no meta.json); run build_memmap.py first")
    if args.noisy_imagenette:
        path = write_noisy_imagenette(args.noisy_imagenette, root, args.column)
        report = json.loads(path.with_suffix(".json").read_text())
        print(f"{path.relative_to(root)}: {report['realised_flip_rate']:.2%} of labels differ from the clean ones")
        return 0
    labels, classes = np.load(root / "labels.npy"), len(json.loads(meta_file.read_text())["classes"])
    for report in write_noisy_label_files(labels, classes, args.ratios, args.mode, args.seeds, root / "noisy"):
        print(f"noisy/{report_line(report)}")
    return 0


if __name__ == "__main__":
    run(main)
