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
    source.add_argument("--downsampled", help="the extracted downsampled ImageNet (32x32 or 64x64) folder")
    parser.add_argument("--map-clsloc", help="the devkit's map_clsloc.txt (with --downsampled: its class numbering)")
    parser.add_argument("--split", default="train", help="train or val (--tiny-imagenet, --downsampled)")
    parser.add_argument("--size", type=int, default=64, help="images are resized to size x size (default 64)")
    parser.add_argument("--crop", default="center", choices=CROPS, help="centre-crop after resizing the shorter side")
    parser.add_argument("--out", required=True, help="folder to write the memmap form into")
    args = parser.parse_args(argv)
    if args.size < 8:
        raise ValueError(f"--size must be at least 8 pixels, got {args.size}")
    if args.downsampled:
        if not args.map_clsloc:
            raise ValueError("--downsampled needs --map-clsloc: the release numbers classes in the devkit's order")
        out = convert_downsampled(args.downsampled, args.map_clsloc, args.out, split=args.split)
    else:
        files = (folder_files(args.folder) if args.folder else read_manifest(args.manifest) if args.manifest
                 else tiny_imagenet_files(args.tiny_imagenet, args.split))
        out = write_memmap(files, args.out, image_size=args.size, crop=args.crop)
    print(f"wrote the memmap form to {out}")
    return 0


if __name__ == "__main__":
    run(main)
