"""Pre-training throughput on a GPU (or any device): the compact ResNet and ResNet-50 through the package's loop,
fp32 against bf16 autocast, with and without torch.compile (channels_last throughout, device synchronised), and
optionally the quick sweep's wall time from an empty cache. Ratios are against fp32 without compile, measured in
the same process.

    python bench/gpu.py                      # on a GPU machine: resnet_small at 32 px, resnet50 at 224 px
    python bench/gpu.py --compile --sweep    # also torch.compile, and time `nml-tutorial sweep --preset quick`
"""

import argparse
import tempfile
import time

import torch

from nml_tutorial.ladder import training_throughput
from nml_tutorial.runtime import cpu_capability, resolve_device


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--archs", nargs="+", default=["resnet_small:32", "resnet50:224"],
                        help="arch:image size pairs")
    parser.add_argument("--precisions", nargs="+", default=["fp32", "bf16"])
    parser.add_argument("--compile", action="store_true", help="also measure with torch.compile")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--sweep", action="store_true", help="also time the quick sweep (seed 0) from an empty cache")
    args = parser.parse_args()
    device = resolve_device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU ({cpu_capability()})"
    print(f"device {name}, torch {torch.__version__}, batch {args.batch_size}, {args.steps} steps")
    for spec in args.archs:
        arch, size = spec.split(":")
        rates = {(precision, compiled): training_throughput(arch, int(size), batch=args.batch_size,
                                                            steps=args.steps, device=device, amp=precision,
                                                            compiled=compiled)
                 for compiled in ([False, True] if args.compile else [False]) for precision in args.precisions}
        base = rates.get(("fp32", False), next(iter(rates.values())))  # the ratios' baseline: fp32, eager
        for (precision, compiled), rate in rates.items():
            print(f"{arch:<13} {size:>4} px  {precision:<5} {'compiled' if compiled else 'eager':<9} "
                  f"{rate:9.0f} images/s   x{rate / base:.2f}")
    if args.sweep:
        from nml_tutorial.sweep import run_sweep

        with tempfile.TemporaryDirectory() as cache:
            started = time.perf_counter()
            run_sweep("quick", seeds=[0], cache_dir=cache, device=device, progress=False)
            print(f"quick sweep, seed 0, empty cache: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
