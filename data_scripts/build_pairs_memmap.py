#!/usr/bin/env python
"""Build the memmap form of image-text pairs (images.npy memory map, captions.json, meta.json) from a folder of
<key>.jpg + <key>.txt pairs or of webdataset .tar shards; load it with data={"name": "image_text", "root": OUT}.
Rerun with the same arguments to resume."""

import argparse

from _common import run

from nml_tutorial.data.files import CROPS
from nml_tutorial.data.image_text import write_pairs_memmap


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pairs", required=True, help="a folder of image-caption pairs or of webdataset .tar shards")
    parser.add_argument("--size", type=int, default=64, help="images are resized to size x size (default 64)")
    parser.add_argument("--crop", default="center", choices=CROPS, help="centre-crop after resizing the shorter side")
    parser.add_argument("--out", required=True, help="folder to write the memmap form into")
    args = parser.parse_args(argv)
    if args.size < 8:
        raise ValueError(f"--size must be at least 8 pixels, got {args.size}")
    out = write_pairs_memmap(args.pairs, args.out, image_size=args.size, crop=args.crop)
    print(f"wrote the memmap form of the pairs to {out}")
    return 0


if __name__ == "__main__":
    run(main)
