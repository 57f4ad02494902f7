"""Miniature copies of public datasets in their exact on-disk formats, written from the synthetic generator
(a few images a class): what the loaders and data_scripts are tested on. Nothing is downloaded."""

from __future__ import annotations

import io
import pickle
import tarfile
from pathlib import Path

import numpy as np
from PIL import Image

from nml_tutorial.data import load_dataset
from nml_tutorial.data.classes import imagenet_wnids
from nml_tutorial.data.files import save_image_folder

TINY_PRESET = str(Path(__file__).parent / "presets" / "tiny.json")  # the tests' preset: seconds, not science


def scenes(classes: int, per_class: int, size: int = 32, split: str = "train"):
    """Synthetic photos: ``per_class`` images of each of ``classes`` classes."""
    return load_dataset("synthetic", split=split, num_classes=max(classes, 2), classes=list(range(classes)),
                        samples_per_class=per_class, image_size=size)


def jpeg(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


def hwc(data) -> np.ndarray:
    return data.images.permute(0, 2, 3, 1).numpy()


def imagenet_folder(root: Path, wnids: list[str], per_class: int = 3, size: int = 32):
    """``root/<wnid>/<wnid>_<i>.JPEG``; returns the source images."""
    data = scenes(len(wnids), per_class, size)
    save_image_folder(data, root, folder_names=wnids)
    return data


def add_to_tar(tar: tarfile.TarFile, name: str, payload: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(payload)
    tar.addfile(info, io.BytesIO(payload))


def ilsvrc(root: Path, wnids: list[str], per_class: int = 2):
    """ILSVRC-2012 as released: ``ILSVRC2012_img_train.tar`` of per-class tars, ``ILSVRC2012_img_val.tar`` of flat
    JPEGs, and a devkit whose ids follow a *reversed* order of the classes (meta.mat, as in the real devkit, is not
    sorted by wnid). Returns the true wnid of each validation image."""
    from scipy.io import savemat

    train, val = scenes(len(wnids), per_class), scenes(len(wnids), per_class, split="test")
    with tarfile.open(root / "ILSVRC2012_img_train.tar", "w") as outer:
        for c, wnid in enumerate(wnids):
            inner = io.BytesIO()
            with tarfile.open(fileobj=inner, mode="w") as tar:
                for i, img in enumerate(hwc(train)[train.labels.numpy() == c]):
                    add_to_tar(tar, f"{wnid}_{i}.JPEG", jpeg(img))
            add_to_tar(outer, f"{wnid}.tar", inner.getvalue())
    order = np.random.default_rng(0).permutation(len(val))
    truth = [wnids[int(val.labels[i])] for i in order]
    with tarfile.open(root / "ILSVRC2012_img_val.tar", "w") as tar:
        for n, i in enumerate(order, 1):
            add_to_tar(tar, f"ILSVRC2012_val_{n:08d}.JPEG", jpeg(hwc(val)[i]))
    ids = {w: len(wnids) - k for k, w in enumerate(wnids)}  # devkit ids: reversed class order
    synsets = np.array([(ids[w], w, w, 0) for w in wnids] + [(len(wnids) + 1, "n00001740", "entity", 3)],
                       dtype=[("ILSVRC2012_ID", "O"), ("WNID", "O"), ("words", "O"), ("num_children", "O")])
    (root / "devkit" / "data").mkdir(parents=True)
    savemat(root / "devkit" / "data" / "meta.mat", {"synsets": synsets})
    (root / "devkit" / "data" / "ILSVRC2012_validation_ground_truth.txt").write_text(
        "".join(f"{ids[w]}\n" for w in truth))
    return truth


def tiny_imagenet(root: Path, wnids: list[str], per_class: int = 2):
    train, val = scenes(len(wnids), per_class), scenes(len(wnids), per_class, split="test")
    (root).mkdir(parents=True, exist_ok=True)
    (root / "wnids.txt").write_text("\n".join(reversed(wnids)) + "\n")  # the real file is not sorted either
    for c, wnid in enumerate(wnids):
        folder = root / "train" / wnid / "images"
        folder.mkdir(parents=True)
        for i, img in enumerate(hwc(train)[train.labels.numpy() == c]):
            Image.fromarray(img).save(folder / f"{wnid}_{i}.JPEG")
    (root / "val" / "images").mkdir(parents=True)
    lines = []
    for i, (img, label) in enumerate(zip(hwc(val), val.labels.tolist())):
        Image.fromarray(img).save(root / "val" / "images" / f"val_{i}.JPEG")
        lines.append(f"val_{i}.JPEG\t{wnids[label]}\t0\t0\t63\t63")
    (root / "val" / "val_annotations.txt").write_text("\n".join(lines) + "\n")
    return train, val


def cifar(root: Path, variant: str, per_class: int = 2):
    """The python version's pickles, a few images a class (10 or 100 classes)."""
    classes = 10 if variant == "cifar10" else 100
    data = {split: scenes(classes, per_class, split=split) for split in ("train", "test")}
    rows = {split: (d.images.reshape(len(d), -1).numpy(), d.labels.tolist()) for split, d in data.items()}
    names = [f"class{c}".encode() for c in range(classes)]
    if variant == "cifar10":
        folder = root / "cifar-10-batches-py"
        folder.mkdir(parents=True)
        x, y = rows["train"]
        for b, part in enumerate(np.array_split(np.arange(len(y)), 5), 1):
            _pickle(folder / f"data_batch_{b}", {b"data": x[part], b"labels": [y[i] for i in part]})
        _pickle(folder / "test_batch", {b"data": rows["test"][0], b"labels": rows["test"][1]})
        _pickle(folder / "batches.meta", {b"label_names": names})
    else:
        folder = root / "cifar-100-python"
        folder.mkdir(parents=True)
        for split in ("train", "test"):
            _pickle(folder / split, {b"data": rows[split][0], b"fine_labels": rows[split][1],
                                     b"coarse_labels": [0] * len(rows[split][1])})
        _pickle(folder / "meta", {b"fine_label_names": names, b"coarse_label_names": [b"all"]})
    return data


def _pickle(path: Path, obj) -> None:
    with path.open("wb") as f:
        pickle.dump(obj, f)


def domainnet(root: Path, domain: str, names: list[str], per_class: int = 2):
    data = {split: scenes(len(names), per_class, split=split) for split in ("train", "test")}
    for split, d in data.items():
        lines = []
        for i, (img, label) in enumerate(zip(hwc(d), d.labels.tolist())):
            rel = f"{domain}/{names[label]}/{domain}_{split}_{i:03d}.jpg"
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(img).save(root / rel, quality=95)
            lines.append(f"{rel} {label}")
        (root / f"{domain}_{split}.txt").write_text("\n".join(lines) + "\n")
    return data


def downsampled(root: Path, per_class: int = 2, classes: int = 6, size: int = 32):
    """Downsampled ImageNet: two ``train_data_batch_*.npz`` and ``val_data.npz`` (rows of 3 x s x s planar pixels,
    labels 1 ... 1,000 in map_clsloc order) and a ``map_clsloc.txt`` whose order is a permutation of sorted wnids."""
    wnids = imagenet_wnids()
    root.mkdir(parents=True, exist_ok=True)
    order = np.random.default_rng(1).permutation(1000)  # map_clsloc id k + 1 -> wnids[order[k]]
    (root / "map_clsloc.txt").write_text("".join(f"{wnids[j]} {k + 1} name{k}\n" for k, j in enumerate(order)))
    data = scenes(classes, per_class, size)
    ids = np.array([k + 1 for k in range(classes)])  # the scenes' class c is map_clsloc id c + 1
    rows = data.images.reshape(len(data), -1).numpy()
    halves = np.array_split(np.arange(len(data)), 2)
    for b, part in enumerate(halves, 1):
        np.savez(root / f"train_data_batch_{b}.npz", data=rows[part], labels=ids[data.labels.numpy()[part]].tolist(),
                 mean=np.zeros(rows.shape[1]))
    true = [order[c] for c in data.labels.tolist()]  # sorted-wnid index of each image's class
    return data, np.array(true)


def image_text(root: Path, count: int = 6, shards: bool = False):
    data = scenes(3, count // 3)
    captions = [f"a picture of {data.class_names[y]} number {i}" for i, y in enumerate(data.labels.tolist())]
    root.mkdir(parents=True, exist_ok=True)
    if shards:
        for s, part in enumerate(np.array_split(np.arange(count), 2)):
            with tarfile.open(root / f"shard-{s:05d}.tar", "w") as tar:
                for i in part:
                    add_to_tar(tar, f"{i:06d}.jpg", jpeg(hwc(data)[i]))
                    add_to_tar(tar, f"{i:06d}.txt", captions[i].encode())
    else:
        for i in range(count):
            Image.fromarray(hwc(data)[i]).save(root / f"{i:06d}.jpg", quality=95)
            (root / f"{i:06d}.txt").write_text(captions[i])
    return data, captions


def pairs_in_every_spelling(root: Path, shards: bool = False):
    """Four image-text pairs spelled each another way the loader accepts: ``.JPG``, ``.jpeg``, ``.png``, ``.webp``
    images; captions in ``.txt``, ``.caption`` (over a ``.json``), ``.json`` "caption" and "text" fields; a member
    ``<key>.meta.json`` that webdataset files under its key. One shard adds members webdataset skips (``__meta__``,
    ``._<key>.jpeg``). Returns the images and captions in loading order."""
    import json

    data = scenes(4, 1)
    captions = ['caption 0 "quoted"', "caption 1, één", "caption 2\nits second line", "caption 3 \\ [x]"]
    files = {"a/k1.meta.json": json.dumps({"caption": "not the caption"}).encode(),
             "k2.json": json.dumps({"caption": "not the caption either"}).encode()}
    spellings = [("a/k1", ".JPG", ".txt"), ("k2", ".jpeg", ".caption"), ("k3", ".png", ".json"),
                 ("k4", ".webp", ".json")]
    for i, ((key, image, caption), pixels) in enumerate(zip(spellings, hwc(data))):
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format=Image.registered_extensions()[image.lower()], quality=95)
        files[key + image] = buffer.getvalue()
        field = "caption" if i == 2 else "text"
        files[key + caption] = (json.dumps({field: captions[i], "url": "x"}) if caption == ".json"
                                else captions[i]).encode()
    root.mkdir(parents=True, exist_ok=True)
    if shards:
        with tarfile.open(root / "shard-00000.tar", "w") as tar:
            for name, payload in {**files, "__meta__": b"shard notes", "._k2.jpeg": b"resource fork"}.items():
                add_to_tar(tar, name, payload)
    else:
        for name, payload in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(payload)
    return data, captions


def repeated_sets(root: Path, count: int) -> None:
    """``count`` 32-px images, six scenes repeated (the memory tests read many, whatever they show), as a folder of
    pairs (``folder/``), one webdataset shard (``shards/``) and CIFAR-10's train pickles (``cifar/``)."""
    data = scenes(3, 2)
    pixels = hwc(data)
    encoded = [jpeg(img) for img in pixels]
    (root / "folder").mkdir(parents=True)
    (root / "shards").mkdir()
    with tarfile.open(root / "shards" / "shard-00000.tar", "w") as tar:
        for i in range(count):
            for suffix, payload in ((".jpg", encoded[i % 6]), (".txt", f"copy {i}".encode())):
                (root / "folder" / f"{i:06d}{suffix}").write_bytes(payload)
                add_to_tar(tar, f"{i:06d}{suffix}", payload)
    folder = root / "cifar" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rows = data.images.reshape(6, -1).numpy()[np.arange(count) % 6]
    labels = data.labels.numpy()[np.arange(count) % 6].tolist()
    for b, part in enumerate(np.array_split(np.arange(count), 5), 1):
        _pickle(folder / f"data_batch_{b}", {b"data": rows[part], b"labels": [labels[i] for i in part]})
    _pickle(folder / "batches.meta", {b"label_names": [f"class{c}".encode() for c in range(10)]})


# four classes of both ImageNet-R and -A, and one of neither (tench): R and A must not be scored at its column
FULL_SCALE_WNIDS = ["n01440764", "n01498041", "n01531178", "n01534433", "n01614925"]
DOMAINNET_DOMAINS = ("real", "sketch", "painting", "clipart")


def full_scale_root(root: Path, size: int = 32, ratios=(0.0, 0.05, 0.1, 0.3)) -> Path:
    """A data root as data_scripts/ lays it out for the full-scale presets (docs/full-scale.md), five ImageNet
    classes a few images each: ImageNet class folders, the pre-training memmap with its noisy-label files,
    CIFAR-10/100 pickles, DomainNet's four domains with split files, ImageNet-V2 / -Sketch / -R / -A folders."""
    from nml_tutorial.data.classes import variant_classes
    from nml_tutorial.data.imagenet import folder_files
    from nml_tutorial.data.label_files import write_noisy_label_files
    from nml_tutorial.data.memmap import write_memmap

    wnids, every = FULL_SCALE_WNIDS, imagenet_wnids()
    for variant in ("imagenet_r", "imagenet_a"):
        assert set(wnids) - set(variant_classes(variant)[0]) == {wnids[0]}
    imagenet_folder(root / "imagenet" / "train", wnids, per_class=8, size=size)
    imagenet_folder(root / "imagenet" / "val", wnids, per_class=3, size=size)
    write_memmap(folder_files(root / "imagenet" / "train"), root / "imagenette-64", image_size=size, progress=False)
    labels = np.load(root / "imagenette-64" / "labels.npy")
    write_noisy_label_files(labels, len(wnids), list(ratios), "flip", [0], root / "imagenette-64" / "noisy")
    for variant in ("cifar10", "cifar100"):
        cifar(root / "cifar", variant)
    for domain in DOMAINNET_DOMAINS:
        domainnet(root / "domainnet", domain, ["apple", "bee", "cat"])
    imagenet_folder(root / "imagenet-v2", [str(every.index(w)) for w in wnids], per_class=2, size=size)
    for folder in ("imagenet-sketch", "imagenet-r", "imagenet-a"):
        imagenet_folder(root / folder, wnids[1:3], per_class=2, size=size)
    return root


def full_scale_preset_file(path: Path, name: str = "imagenette", size: int = 32) -> Path:
    """The full-scale preset ``name`` as a preset file, ``{data_root}`` kept, its images at ``size`` px and its
    schedule cut to seconds (a compact model, two epochs, short heads, every method on DomainNet only): the same
    tasks, data and formats."""
    import copy
    import json

    from nml_tutorial.config import FULL_SCALE

    settings = copy.deepcopy(FULL_SCALE[name])
    settings["pretrain"].update(arch="resnet_small", width=8, epochs=2, batch_size=16, amp="fp32")
    settings.update(head_hp={"epochs": 3}, pe_hp={"epochs": 1, "batch_size": 8}, method_tasks=["domainnet"])
    text = json.dumps(settings, indent=1)
    for original in ("64", "224"):
        text = text.replace(f'"image_size": {original}', f'"image_size": {size}')
    path.write_text(text + "\n")
    return path


def downsampled_parts(root: Path, **kwargs):
    """:func:`downsampled` as the 64x64 release comes: its train batches in two folders, ``Imagenet64_train_part1``
    (batch 1) and ``Imagenet64_train_part2`` (batch 2), ``map_clsloc.txt`` beside them. Returns the same."""
    parts = [root / "Imagenet64_train_part1", root / "Imagenet64_train_part2"]
    made = downsampled(parts[0], **kwargs)
    parts[1].mkdir()
    (parts[0] / "train_data_batch_2.npz").rename(parts[1] / "train_data_batch_2.npz")
    (parts[0] / "map_clsloc.txt").rename(root / "map_clsloc.txt")
    return made


def devkit_numbering(root: Path, map_clsloc: Path) -> Path:
    """An ILSVRC-2012 devkit folder whose ``data/meta.mat`` numbers the 1,000 classes as ``map_clsloc`` does (its
    ILSVRC2012_ID), an internal synset among them as in the real one."""
    from scipy.io import savemat

    rows = [line.split()[:2] for line in map_clsloc.read_text().splitlines()]
    synsets = np.array([(1001, "n00001740", "entity", 3)] + [(int(i), w, w, 0) for w, i in rows],
                       dtype=[("ILSVRC2012_ID", "O"), ("WNID", "O"), ("words", "O"), ("num_children", "O")])
    (root / "data").mkdir(parents=True)
    savemat(root / "data" / "meta.mat", {"synsets": synsets})
    return root


def ilsvrc_train_parts(root: Path, parts: int = 2) -> list[Path]:
    """The per-class tars of :func:`ilsvrc`'s ``ILSVRC2012_img_train.tar`` split over ``parts`` folders
    ``train_part<k>/`` (a release that comes in parts)."""
    folders = [root / f"train_part{k + 1}" for k in range(parts)]
    with tarfile.open(root / "ILSVRC2012_img_train.tar") as outer:
        members = outer.getmembers()
        for i, member in enumerate(members):
            folder = folders[i * parts // len(members)]
            folder.mkdir(exist_ok=True)
            (folder / member.name).write_bytes(outer.extractfile(member).read())
    return folders
