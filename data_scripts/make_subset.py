#!/usr/bin/env python
"""Make a class subset of an ImageNet-format folder as a manifest (a JSON list of files, no copies): the classes of
a list file or a named list (imagenet100, imagenette, imagewoof), or --count classes drawn with --seed."""

import argparse
import random

from _common import run

from nml_tutorial.data.classes import NAMED_LISTS, class_list
from nml_tutorial.data.imagenet import folder_files, write_manifest


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", required=True, help="folder of class folders, e.g. prepared/train")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--classes", help=f"a class-list file (one wnid a line) or one of {', '.join(NAMED_LISTS)}")
    which.add_argument("--count", type=int, help="draw this many classes of the folder at random")
    parser.add_argument("--seed", type=int, default=0, help="seed of the --count draw")
    parser.add_argument("--per-class", type=int, help="at most this many images a class (the first in sorted order)")
    parser.add_argument("--out", required=True, help="the manifest to write (.json)")
    args = parser.parse_args(argv)
    if args.classes:
        classes = class_list(args.classes)
    else:
        present = folder_files(args.root, per_class=1).class_names
        if not 1 <= args.count <= len(present):
            raise ValueError(f"--count must lie in [1, {len(present)}] (the classes in {args.root}), got {args.count}")
        classes = sorted(random.Random(args.seed).sample(present, args.count))
    files = folder_files(args.root, classes, args.per_class)
    write_manifest(files, args.root, args.out, classes=args.classes, count=args.count, seed=args.seed,
                   per_class=args.per_class)
    print(f"{len(files):,} images of {len(classes)} classes listed in {args.out}")
    return 0


if __name__ == "__main__":
    run(main)
