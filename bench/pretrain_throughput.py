"""Pre-training throughput: the package's tensor-resident loop against a torchvision DataLoader + PIL loop,
in fp32 and under bf16 autocast, and which precision ``amp="auto"`` picks on this machine.

Same model (compact ResNet), same images, same batch size, in one process. The conventional
pipeline keeps the images as PIL images and runs RandomCrop/RandomHorizontalFlip/ToTensor/Normalize
per sample in a DataLoader, in fp32. The package keeps uint8 tensors on the device and augments whole
batches there; its fp32 and bf16 rows separate the data-pipeline gain from the precision's. bf16 pays
only where the hardware computes it natively: an AVX2-only CPU ran it 11x slower than fp32.

    python bench/pretrain_throughput.py [--images 2048] [--epochs 2] [--workers 0]
"""

import argparse

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

from nml_tutorial.data import load_dataset
from nml_tutorial.models import build_model
from nml_tutorial.pretrain import train_classifier
from nml_tutorial.runtime import cpu_capability, resolve_device, resolve_precision

from record import Recorder
from timing import timed


class PILDataset(Dataset):
    def __init__(self, images, labels):
        self.images = [transforms.functional.to_pil_image(img) for img in images]
        self.labels = labels.tolist()
        self.transform = transforms.Compose([
            transforms.RandomCrop(images.shape[-1], padding=4), transforms.RandomHorizontalFlip(),
            transforms.ToTensor(), transforms.Normalize([0.5] * 3, [0.25] * 3)])

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return self.transform(self.images[i]), self.labels[i]


def conventional(model, images, labels, epochs, batch_size, workers, device):
    """The textbook loop: DataLoader of PIL images, per-sample transforms, fp32."""
    loader = DataLoader(PILDataset(images, labels), batch_size=batch_size, shuffle=True, drop_last=True,
                        num_workers=workers)
    model.to(device).train()
    model.encoder[0] = torch.nn.Identity()  # inputs arrive already normalised
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)
    seen = 0
    for _ in range(epochs):
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            seen += len(y)
    return seen




def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2048)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--no-bf16", action="store_true",
                        help="skip the bf16 row (where bf16 is emulated it can take many minutes)")
    parser.add_argument("--record", action="store_true", help="also write the result into docs/benchmarks.md")
    args = parser.parse_args()
    out = Recorder("pretrain_throughput")
    device = resolve_device("auto")
    ds = load_dataset("synthetic", classes=range(40), samples_per_class=args.images // 40, device="cpu")
    steps = len(ds) // args.batch_size
    hp = {"epochs": args.epochs, "batch_size": args.batch_size, "lr": 0.05}

    def package(precision):
        """A fresh model trained by the package's loop; returns the number of images it saw."""
        torch.manual_seed(0)
        model = build_model("resnet_small", 40, width=args.width)

        def train():
            train_classifier(model, ds.images, ds.labels, {**hp, "amp": precision}, device=device, progress=False)
            return args.epochs * steps * args.batch_size

        return train

    torch.manual_seed(0)
    baseline_model = build_model("resnet_small", 40, width=args.width)
    precisions = ["fp32"] + ([] if args.no_bf16 else ["bf16"])
    for precision in precisions:  # warm-up: first calls pay one-off allocation costs
        package(precision)()

    def rate(fn):
        seen, seconds = timed(fn)
        return seen / seconds

    rates = {
        "DataLoader + PIL transforms, fp32 (baseline)": rate(lambda: conventional(
            baseline_model, ds.images, ds.labels, args.epochs, args.batch_size, args.workers, device)),
        **{f"tensor-resident, on-device augmentation, {'bf16 autocast' if p == 'bf16' else p}": rate(package(p))
           for p in precisions},
    }
    base = rates["DataLoader + PIL transforms, fp32 (baseline)"]
    out.print(f"device {device}, CPU capability {cpu_capability()}, {torch.get_num_threads()} threads, "
          f"{len(ds)} images of 32 px, batch {args.batch_size}")
    for name, r in rates.items():
        out.print(f"{name:<58} {r:8.0f} images/s   x{r / base:.2f}")
    if not args.no_bf16:
        compare_precisions(out, rates, device)
    if args.record:
        out.save()


def compare_precisions(out, rates, device):
    fp32, bf16 = rates["tensor-resident, on-device augmentation, fp32"], rates[
        "tensor-resident, on-device augmentation, bf16 autocast"]
    picked = resolve_precision("auto", device)
    faster = "bf16" if bf16 > fp32 else "fp32"
    out.print(f"bf16 / fp32 = {bf16 / fp32:.2f}; amp='auto' picks {picked} here; the faster one measured: {faster}"
          + ("" if picked == faster else " (auto disagrees with this measurement: please report it)"))


if __name__ == "__main__":
    main()
