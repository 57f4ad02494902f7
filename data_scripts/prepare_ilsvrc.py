#!/usr/bin/env python
"""Prepare ILSVRC-2012 as class folders: out/train/<wnid>/ from the train tar(s), out/val/<wnid>/ from the flat
validation images relabelled by the devkit; refused unless the counts are ImageNet-1K's (or the --expect-* given).
Rerun with the same arguments to resume an interrupted run."""

import argparse

from _common import run

from nml_tutorial.data.imagenet import prepare_ilsvrc


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--train", required=True, nargs="+", help="ILSVRC2012_img_train.tar, or folder(s) of its "
                        "n*.tar (several where the release is split)")
    parser.add_argument("--val", required=True, nargs="+", help="ILSVRC2012_img_val.tar, or folder(s) of its JPEGs")
    parser.add_argument("--devkit", required=True, help="the extracted ILSVRC2012_devkit_t12 folder")
    parser.add_argument("--out", required=True, help="folder to write train/ and val/ into")
    parser.add_argument("--expect-train", type=int, default=1_281_167, help="training images (default ImageNet-1K's)")
    parser.add_argument("--expect-classes", type=int, default=1000, help="training classes (default 1,000)")
    parser.add_argument("--expect-val", type=int, default=50_000, help="validation images (default 50,000)")
    args = parser.parse_args(argv)
    counts = prepare_ilsvrc(args.train, args.val, args.devkit, args.out, args.expect_train, args.expect_val,
                            args.expect_classes)
    print(f"{counts['train']:,} training and {counts['val']:,} validation images in class folders under {args.out}")
    return 0


if __name__ == "__main__":
    run(main)
