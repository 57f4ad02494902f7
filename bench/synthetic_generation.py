"""Embedded-data generation speed per domain, against rendering one image at a time (the same code).

Target: >= 5,000 images/s for every domain on a 2-core CPU.

    python bench/synthetic_generation.py [--per-class 100]
"""

import argparse
import time

import torch

from nml_tutorial.data import DOMAINS, synthetic
from nml_tutorial.runtime import cpu_capability

from record import Recorder


def rate(domain, per_class, image_size=32):
    start = time.perf_counter()
    ds = synthetic.load_synthetic(domain=domain, samples_per_class=per_class, num_classes=60, image_size=image_size)
    return len(ds) / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, default=100)
    parser.add_argument("--record", action="store_true", help="also write the result into docs/benchmarks.md")
    args = parser.parse_args()
    out = Recorder("synthetic_generation")
    rate("photo", 2)  # warm-up
    chunk = synthetic._CHUNK_PIXELS
    synthetic._CHUNK_PIXELS = 32 * 32  # baseline: one image per call
    baseline = rate("photo", 4)
    synthetic._CHUNK_PIXELS = chunk
    out.print(f"CPU capability {cpu_capability()}, {torch.get_num_threads()} threads; "
          f"baseline one image at a time (photo): {baseline:.0f} images/s")
    for domain in DOMAINS:
        r = rate(domain, args.per_class)
        out.print(f"{domain:<10} {r:8.0f} images/s   x{r / baseline:.1f} vs one at a time   "
              f"{'ok' if r >= 5000 else 'BELOW 5,000 target'}")
    if args.record:
        out.save()


if __name__ == "__main__":
    main()
