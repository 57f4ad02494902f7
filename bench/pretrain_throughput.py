"""Pre-training throughput: the package's tensor-resident loop against a torchvision DataLoader + PIL loop.

Same model (compact ResNet), same images, same batch size, in one process. The conventional
pipeline keeps the images as PIL images and runs RandomCrop/RandomHorizontalFlip/ToTensor/Normalize
per sample in a DataLoader, in fp32. The package keeps uint8 tensors on the device, augments whole
batches there and trains under bf16 autocast; its fp32 row separates the data-pipeline gain from
the precision gain. Target: >= 3x.

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
from nml_tutorial.runtime import resolve_device
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
    args = parser.parse_args()
    device = resolve_device("auto")
    ds = load_dataset("synthetic", classes=range(40), samples_per_class=args.images // 40, device="cpu")
    steps = len(ds) // args.batch_size
    hp = {"epochs": args.epochs, "batch_size": args.batch_size, "lr": 0.05}

    def package(amp):
        """A fresh model trained by the package's loop; returns the number of images it saw."""
        torch.manual_seed(0)
        model = build_model("resnet_small", 40, width=args.width)

        def train():
            train_classifier(model, ds.images, ds.labels, {**hp, "amp": amp}, device=device, progress=False)
            return args.epochs * steps * args.batch_size

        return train

    torch.manual_seed(0)
    baseline_model = build_model("resnet_small", 40, width=args.width)
    package(True)()  # warm-up: first calls pay one-off allocation costs
    def rate(fn):
        seen, seconds = timed(fn)
        return seen / seconds

    rates = {
        "DataLoader + PIL transforms, fp32 (baseline)": rate(lambda: conventional(
            baseline_model, ds.images, ds.labels, args.epochs, args.batch_size, args.workers, device)),
        "tensor-resident, on-device augmentation, fp32": rate(package(False)),
        "tensor-resident, on-device augmentation, bf16 autocast": rate(package(True)),
    }
    base = rates["DataLoader + PIL transforms, fp32 (baseline)"]
    print(f"device {device}, {torch.get_num_threads()} threads, {len(ds)} images of 32 px, batch {args.batch_size}")
    for name, rate in rates.items():
        print(f"{name:<58} {rate:8.0f} images/s   x{rate / base:.2f}")


if __name__ == "__main__":
    main()
