#!/usr/bin/env python
"""Build the fast on-disk form (images.npy memory map, labels.npy, meta.json) from class folders, a subset
manifest, Tiny-ImageNet-200, or the downsampled ImageNet release. Rerun with the same arguments to resume."""

import argparse

from _common import run

from nml_tutorial.data.files import CROPS
from nml_tutorial.data.imagenet import folder_files, read_manifest, tiny_imagenet_files
from nml_tutorial.data.memmap import convert_downsampled, write_memmap


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--folder", help="a folder of class folders")
    source.add_argument("--manifest", help="a subset manifest from make_subset.py")
    source.add_argument("--tiny-imagenet", help="the tiny-imagenet-200 folder")
    source.add_argument("--downsampled", nargs="+", metavar="DIR",
                        help="the extracted downsampled ImageNet (32x32 or 64x64) folder(s), searched recursively: "
                             "give both Imagenet64_train_part1 and _part2")
    numbering = parser.add_mutually_exclusive_group()
    numbering.add_argument("--map-clsloc", help="with --downsampled: map_clsloc.txt, its class numbering (in the "
                           "ILSVRC 2015/2017 devkit's data/, or beside the release's code)")
    numbering.add_argument("--devkit", help="with --downsampled: the extracted ILSVRC2012_devkit_t12, whose meta.mat "
                           "numbers the classes alike")
    parser.add_argument("--expect", type=int, help="with --downsampled: convert a deliberate subset of this many "
                        "images (default: all of ImageNet-1K's split, 1,281,167 train or 50,000 val, or refuse)")
    parser.add_argument("--split", default="train", help="train or val (--tiny-imagenet, --downsampled)")
    parser.add_argument("--size", type=int, default=64, help="images are resized to size x size (default 64)")
    parser.add_argument("--crop", default="center", choices=CROPS, help="centre-crop after resizing the shorter side")
    parser.add_argument("--workers", type=int, default=1, help="processes decoding images (the same bytes as one)")
    parser.add_argument("--draft", action="store_true", help="decode JPEGs at a reduced scale where much larger than "
                        "--size (~2x faster at 64 px; pixels within ~1 grey level on average)")
    parser.add_argument("--out", required=True, help="folder to write the memmap form into")
    args = parser.parse_args(argv)
    if args.size < 8:
        raise ValueError(f"--size must be at least 8 pixels, got {args.size}")
    if args.downsampled:
        if not (args.map_clsloc or args.devkit):
            raise ValueError("--downsampled needs --map-clsloc map_clsloc.txt or --devkit ILSVRC2012_devkit_t12: the "
                             "release numbers its classes in their order")
        if args.workers != 1 or args.draft:
            raise ValueError("--workers and --draft decode image files; --downsampled holds pixels already")
        out = convert_downsampled(args.downsampled, args.map_clsloc or args.devkit, args.out, split=args.split,
                                  expect=args.expect)
    else:
        if args.map_clsloc or args.devkit or args.expect is not None:
            raise ValueError("--map-clsloc, --devkit and --expect go with --downsampled")
        files = (folder_files(args.folder) if args.folder else read_manifest(args.manifest) if args.manifest
                 else tiny_imagenet_files(args.tiny_imagenet, args.split))
        out = write_memmap(files, args.out, image_size=args.size, crop=args.crop, workers=args.workers,
                           draft=args.draft)
    print(f"wrote the memmap form to {out}")
    return 0


if __name__ == "__main__":
    run(main)
