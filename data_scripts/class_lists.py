#!/usr/bin/env python
"""Write the ImageNet class lists as text files: the 1,000 sorted WordNet ids and names (from timm's files), the
200 classes of ImageNet-R and -A with their indices into the 1,000, and ImageNet-100, Imagenette and Imagewoof."""

import argparse
from pathlib import Path

from _common import run

from nml_tutorial.data.classes import NAMED_LISTS, imagenet_names, imagenet_wnids, named_list, variant_classes


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", required=True, help="folder for the lists (one file each)")
    out = Path(parser.parse_args(argv).out)
    out.mkdir(parents=True, exist_ok=True)
    wnids = imagenet_wnids()
    (out / "imagenet1k.txt").write_text("".join(f"{w}\t{n}\n" for w, n in zip(wnids, imagenet_names())))
    for variant in ("imagenet_r", "imagenet_a"):
        ids, indices = variant_classes(variant)
        (out / f"{variant}.txt").write_text("".join(f"{w}\t{i}\n" for w, i in zip(ids, indices.tolist())))
    for name in NAMED_LISTS:
        (out / f"{name}.txt").write_text("".join(f"{w}\n" for w in named_list(name)))
    print(f"wrote imagenet1k (wnid, name), imagenet_r / imagenet_a (wnid, index into the 1,000) and "
          f"{', '.join(NAMED_LISTS)} to {out}")
    return 0


if __name__ == "__main__":
    run(main)
