#!/usr/bin/env python
"""Prepare ILSVRC-2012 as class folders: out/train/<wnid>/ from the train tar(s), out/val/<wnid>/ from the flat
validation images relabelled by the devkit. Rerun with the same arguments to resume an interrupted run."""

import argparse

from _common import run

from nml_tutorial.data.imagenet import prepare_ilsvrc


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--train", required=True, help="ILSVRC2012_img_train.tar, or the folder of its n*.tar")
    parser.add_argument("--val", required=True, help="ILSVRC2012_img_val.tar, or the folder of its 50,000 JPEGs")
    parser.add_argument("--devkit", required=True, help="the extracted ILSVRC2012_devkit_t12 folder")
    parser.add_argument("--out", required=True, help="folder to write train/ and val/ into")
    args = parser.parse_args(argv)
    counts = prepare_ilsvrc(args.train, args.val, args.devkit, args.out)
    print(f"{counts['train']:,} training and {counts['val']:,} validation images in class folders under {args.out}")
    return 0


if __name__ == "__main__":
    run(main)
