"""Every full-scale loader on a miniature copy in its exact on-disk format (tests/miniatures.py)."""

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch

from nml_tutorial.data import cifar, image_text, load_dataset
from nml_tutorial.data.classes import imagenet_names, imagenet_wnids, named_list, read_class_list, variant_classes
from nml_tutorial.data.common import to_rgb_uint8
from nml_tutorial.data.image_text import load_image_text, webdataset_key, write_pairs_memmap
from nml_tutorial.data.imagenet import folder_files, prepare_ilsvrc, read_manifest, restrict_logits, write_manifest
from nml_tutorial.data.label_files import noisy_imagenette_labels, write_noisy_imagenette, write_noisy_labels
from nml_tutorial.data.memmap import convert_downsampled, write_memmap

import miniatures

WNIDS = imagenet_wnids()
SCRIPTS = Path(__file__).resolve().parent.parent / "data_scripts"


def same_pictures(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Equal up to JPEG loss: the textured scenes lose ~6 grey levels of 255 on average at quality 95, two different
    scenes differ by ~45."""
    return a.shape == b.shape and float((a.float() - b.float()).abs().mean()) < 10


def test_class_lists_come_from_timm_and_the_named_subsets_are_imagenet_classes():
    assert len(WNIDS) == 1000 and WNIDS == sorted(WNIDS) and WNIDS[0] == "n01440764"
    assert imagenet_names()[0] == "tench"
    for variant in ("imagenet_r", "imagenet_a"):
        wnids, indices = variant_classes(variant)
        assert len(wnids) == 200 and [WNIDS[i] for i in indices] == wnids
    assert [len(named_list(n)) for n in ("imagenet100", "imagenette", "imagewoof")] == [100, 10, 10]
    assert named_list("imagenette")[9] == "n03888257"  # parachute
    assert imagenet_names()[WNIDS.index(named_list("imagewoof")[-1])] == "dingo"


def test_a_class_list_file_with_a_wrong_id_is_rejected(tmp_path):
    (tmp_path / "list.txt").write_text("# mine\nn01440764 tench\nn99999999\n")
    with pytest.raises(ValueError, match="not ImageNet-1K classes.*n99999999"):
        read_class_list(tmp_path / "list.txt")


def test_image_folder_and_a_subset_manifest(tmp_path):
    wnids = WNIDS[:4]
    source = miniatures.imagenet_folder(tmp_path / "train", wnids, per_class=3)
    data = load_dataset("image_folder", root=tmp_path / "train", image_size=32)
    assert data.class_names == wnids and torch.equal(data.labels, source.labels.sort().values)
    assert same_pictures(data.images, source.images[source.labels.argsort(stable=True)])
    subset = folder_files(tmp_path / "train", classes=[wnids[2], wnids[0]], per_class=2)
    write_manifest(subset, tmp_path / "train", tmp_path / "subset.json", per_class=2)
    from_manifest = load_dataset("image_folder", manifest=tmp_path / "subset.json", image_size=16)
    assert from_manifest.class_names == [wnids[2], wnids[0]] and from_manifest.labels.tolist() == [0, 0, 1, 1]
    assert tuple(from_manifest.images.shape) == (4, 3, 16, 16)
    assert read_manifest(tmp_path / "subset.json").paths == subset.paths


def test_a_manifest_from_a_relative_root_and_one_whose_files_changed(tmp_path, monkeypatch):
    miniatures.imagenet_folder(tmp_path / "train", WNIDS[:2], per_class=2)
    monkeypatch.chdir(tmp_path)
    files = folder_files("train")
    write_manifest(files, "train", "subset.json")
    assert read_manifest("subset.json").paths == files.paths
    files.paths[0].write_bytes(files.paths[0].read_bytes() + b"changed")
    with pytest.raises(ValueError, match="changed since it was made.*rebuild the manifest"):
        read_manifest("subset.json")
    with pytest.raises(FileNotFoundError, match="class folders missing.*n99"):
        folder_files(tmp_path / "train", classes=["n99"])


def test_ilsvrc_preparation_relabels_validation_by_the_devkit(tmp_path):
    wnids = [WNIDS[5], WNIDS[1], WNIDS[900]]
    truth = miniatures.ilsvrc(tmp_path, wnids)
    counts = prepare_ilsvrc(tmp_path / "ILSVRC2012_img_train.tar", tmp_path / "ILSVRC2012_img_val.tar",
                            tmp_path / "devkit", tmp_path / "out", expect_train=6, expect_val=6, expect_classes=3)
    assert counts == {"train": 6, "val": 6}
    for n, wnid in enumerate(truth, 1):
        assert (tmp_path / "out" / "val" / wnid / f"ILSVRC2012_val_{n:08d}.JPEG").is_file()
    val = load_dataset("image_folder", root=tmp_path / "out" / "val", image_size=32)
    assert val.class_names == sorted(wnids)
    # resuming over a finished preparation changes nothing
    assert prepare_ilsvrc(tmp_path / "ILSVRC2012_img_train.tar", tmp_path / "ILSVRC2012_img_val.tar",
                          tmp_path / "devkit", tmp_path / "out", 6, 6, 3) == counts


def test_tiny_imagenet_train_and_flat_val(tmp_path):
    wnids = [WNIDS[3], WNIDS[7], WNIDS[2]]
    train, val = miniatures.tiny_imagenet(tmp_path / "tiny-imagenet-200", wnids)
    order = sorted(wnids)
    loaded = load_dataset("tiny_imagenet", root=tmp_path / "tiny-imagenet-200", split="val", image_size=32)
    assert loaded.class_names == order
    assert [order[y] for y in loaded.labels.tolist()] == [wnids[y] for y in val.labels.tolist()]
    assert same_pictures(loaded.images, val.images)
    loaded_train = load_dataset("tiny_imagenet", root=tmp_path / "tiny-imagenet-200", split="train", image_size=32)
    by_class = train.labels.argsort(stable=True)  # the loader reads class folders in sorted-wnid order
    assert [order[y] for y in loaded_train.labels.tolist()] == sorted(wnids[y] for y in train.labels.tolist())
    assert same_pictures(loaded_train.images[loaded_train.labels.argsort(stable=True)],
                         train.images[by_class][np.argsort([order.index(wnids[y]) for y in train.labels[by_class]],
                                                           kind="stable")])
    with pytest.raises(ValueError, match="no labels"):
        load_dataset("tiny_imagenet", root=tmp_path / "tiny-imagenet-200", split="test")


@pytest.mark.parametrize("variant", ["cifar10", "cifar100"])
def test_cifar_pickles_load_exactly(tmp_path, variant):
    source = miniatures.cifar(tmp_path, variant)
    for split in ("train", "test"):
        data = load_dataset(variant, root=tmp_path, split=split)
        assert torch.equal(data.images, source[split].images) and torch.equal(data.labels, source[split].labels)
        assert data.class_names[3] == "class3"
    assert tuple(load_dataset(variant, root=tmp_path, image_size=16).images.shape[1:]) == (3, 16, 16)


def test_domainnet_split_files(tmp_path):
    names = ["aircraft_carrier", "zebra", "bird"]
    source = miniatures.domainnet(tmp_path, "clipart", names)
    data = load_dataset("domainnet", root=tmp_path, domain="clipart", split="test", image_size=32)
    assert data.class_names == names and data.domain == "clipart"
    assert torch.equal(data.labels, source["test"].labels) and same_pictures(data.images, source["test"].images)
    assert len(load_dataset("domainnet", root=tmp_path, domain="clipart", per_class=1, image_size=32)) == 3
    with pytest.raises(FileNotFoundError, match="sketch_train.txt"):
        load_dataset("domainnet", root=tmp_path, domain="sketch")


def test_imagenet_variants_and_the_200_class_logit_mask(tmp_path):
    miniatures.imagenet_folder(tmp_path / "v2", ["0", "7", "999"], per_class=1)
    v2 = load_dataset("imagenet_v2", root=tmp_path / "v2", image_size=32)
    assert v2.labels.tolist() == [0, 7, 999] and len(v2.class_names) == 1000
    r_wnids, r_index = variant_classes("imagenet_r")
    miniatures.imagenet_folder(tmp_path / "r", [r_wnids[10], r_wnids[150]], per_class=2)
    r = load_dataset("imagenet_r", root=tmp_path / "r", image_size=32)
    assert r.labels.tolist() == [10, 10, 150, 150] and len(r.class_names) == 200
    # a 1,000-way classifier whose top logit lies outside the 200 classes but is right among them
    logits = torch.zeros(4, 1000)
    logits[:, 0] = 10.0 if 0 not in r_index else 0.0
    logits[torch.arange(4), r_index[r.labels]] = 5.0
    assert torch.equal(restrict_logits(logits, "imagenet_r").argmax(1), r.labels)
    assert restrict_logits(logits, "imagenet_v2") is logits
    miniatures.imagenet_folder(tmp_path / "sketch", [WNIDS[4]], per_class=1)
    assert load_dataset("imagenet_sketch", root=tmp_path / "sketch", image_size=32).labels.tolist() == [4]
    with pytest.raises(ValueError, match="not imagenet_a classes"):
        load_dataset("imagenet_a", root=tmp_path / "sketch")


def test_memmap_form_round_trips_resumes_and_maps(tmp_path):
    wnids = WNIDS[:3]
    miniatures.imagenet_folder(tmp_path / "train", wnids, per_class=4, size=40)
    files = folder_files(tmp_path / "train")
    direct = load_dataset("image_folder", root=tmp_path / "train", image_size=24)
    # interrupt after the first chunk: the second run resumes from the recorded progress
    calls = []

    def fail_second_chunk(*args):
        calls.append(args)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return read(*args)

    import nml_tutorial.data.memmap as memmap

    read = memmap.read_images
    memmap.read_images = fail_second_chunk
    try:
        with pytest.raises(KeyboardInterrupt):
            write_memmap(files, tmp_path / "mm", image_size=24, chunk=5, progress=False)
    finally:
        memmap.read_images = read
    assert json.loads((tmp_path / "mm" / "progress.json").read_text())["done"] == 5
    assert not (tmp_path / "mm" / "meta.json").exists()
    with pytest.raises(FileNotFoundError, match="did not finish.*resume"):
        load_dataset("memmap", root=tmp_path / "mm")
    calls.clear()
    (tmp_path / "train").rename(tmp_path / "moved")  # the source moved meanwhile: the same content, resumed
    memmap.read_images = lambda *args: calls.append(args) or read(*args)
    try:
        write_memmap(folder_files(tmp_path / "moved"), tmp_path / "mm", image_size=24, chunk=5, progress=False)
    finally:
        memmap.read_images = read
        (tmp_path / "moved").rename(tmp_path / "train")
    assert len(calls) == 2  # 12 images in chunks of 5: the resumed run reads only the chunks at 5 and 10
    data = load_dataset("memmap", root=tmp_path / "mm")
    assert torch.equal(data.images, direct.images) and torch.equal(data.labels, direct.labels)
    assert isinstance(np.load(tmp_path / "mm" / "images.npy", mmap_mode="r"), np.memmap)
    assert data.images.stride()[1] == 1  # (N, H, W, 3) on disk: NCHW view in channels_last
    meta = json.loads((tmp_path / "mm" / "meta.json").read_text())
    assert meta["classes"] == wnids and meta["settings"]["image_size"] == 24 and len(meta["source_checksum"]) == 64
    # another conversion into the same folder is refused before anything of the first is touched
    before = (tmp_path / "mm" / "files.txt").read_text()
    with pytest.raises(FileExistsError, match="another conversion"):
        write_memmap(folder_files(tmp_path / "train", classes=wnids[:1]), tmp_path / "mm", image_size=24)
    assert (tmp_path / "mm" / "files.txt").read_text() == before
    # the images stay mapped in host memory whatever the device; the labels go there
    elsewhere = load_dataset("memmap", root=tmp_path / "mm", device="meta")
    assert elsewhere.images.device.type == "cpu" and elsewhere.labels.device.type == "meta"


def test_downsampled_imagenet_labels_are_remapped_from_map_clsloc(tmp_path):
    source, true = miniatures.downsampled(tmp_path / "src")
    convert_downsampled(tmp_path / "src", tmp_path / "src" / "map_clsloc.txt", tmp_path / "mm", expect=12,
                        progress=False)
    data = load_dataset("memmap", root=tmp_path / "mm")
    assert torch.equal(data.images, source.images)
    assert data.labels.tolist() == true.tolist() and len(data.class_names) == 1000


def test_noisy_label_files_flip_and_uniform_with_their_report(tmp_path):
    labels = np.repeat(np.arange(10), 100)
    path, report = write_noisy_labels(labels, 10, 0.2, "flip", 0, tmp_path)
    noisy = np.load(path)
    assert (noisy != labels).sum() == 200 and report["realised_flip_rate"] == pytest.approx(0.2)
    again, _ = write_noisy_labels(labels, 10, 0.2, "flip", 0, tmp_path / "again")
    assert np.array_equal(np.load(again), noisy)  # deterministic
    _, uniform = write_noisy_labels(labels, 10, 0.2, "uniform", 0, tmp_path)
    assert uniform["expected_flip_rate"] == pytest.approx(0.18) and abs(uniform["realised_flip_rate"] - 0.18) < 0.03
    assert np.load(tmp_path / report["transition_file"]).shape == (10, 10)
    # exact count over the set and equal classes: the diagonal averages exactly 0.8; single entries scatter
    # binomially (100 images a class: sd of a diagonal entry 0.04)
    assert report["transition_diagonal_mean"] == pytest.approx(0.8) and 0 < report["transition_max_abs_error"] < 0.2


def test_noisy_labels_reach_a_memmap_dataset_and_noisy_imagenette_csvs_are_read(tmp_path):
    wnids = named_list("imagenette")[:2]
    miniatures.imagenet_folder(tmp_path / "train", wnids, per_class=2)
    write_memmap(folder_files(tmp_path / "train"), tmp_path / "mm", image_size=16, progress=False)
    rows = ["path,noisy_labels_0,noisy_labels_5,is_valid"] + [
        f"train/{w}/{w}_{i}.JPEG,{w},{wnids[1 - k] if i == 0 else w},False"
        for k, w in enumerate(wnids) for i in (0, 1)]
    (tmp_path / "noisy_imagenette.csv").write_text("\n".join(rows) + "\n")
    noisy = noisy_imagenette_labels(tmp_path / "noisy_imagenette.csv", tmp_path / "mm")
    assert noisy.tolist() == [1, 0, 0, 1]
    written = write_noisy_imagenette(tmp_path / "noisy_imagenette.csv", tmp_path / "mm")
    assert written.name == "imagenette_0.05.npy" and np.load(written).tolist() == [1, 0, 0, 1]
    assert json.loads(written.with_suffix(".json").read_text())["realised_flip_rate"] == 0.5
    np.save(tmp_path / "mm" / "noisy.npy", noisy)
    data = load_dataset("memmap", root=tmp_path / "mm", noisy_labels="noisy.npy")
    assert data.attributes["noisy_labels"].tolist() == [1, 0, 0, 1] and data.labels.tolist() == [0, 0, 1, 1]
    np.save(tmp_path / "mm" / "bad.npy", np.array([0, 1, 5, 0]))
    with pytest.raises(ValueError, match="do not fit"):
        load_dataset("memmap", root=tmp_path / "mm", noisy_labels="bad.npy")


@pytest.mark.parametrize("shards", [False, True])
def test_image_text_pairs_from_folders_and_webdataset_shards(tmp_path, shards):
    source, captions = miniatures.image_text(tmp_path / "pairs", shards=shards)
    data = load_dataset("image_text", root=tmp_path / "pairs", image_size=32)
    assert data.captions == captions and same_pictures(data.images, source.images)


@pytest.mark.parametrize("shards", [False, True])
def test_image_text_pairs_in_every_spelling_and_samples_without_a_caption(tmp_path, shards):
    source, captions = miniatures.pairs_in_every_spelling(tmp_path / "pairs", shards=shards)
    data = load_image_text(tmp_path / "pairs", image_size=32)
    assert data.captions == captions and same_pictures(data.images, source.images)
    assert webdataset_key("dir/abc.def.JPG") == ("dir/abc", "def.jpg") and webdataset_key("__meta__") is None
    image = miniatures.jpeg(miniatures.hwc(source)[0])
    uncaptioned = "shard-00001.tar: sample 'k5' .*lacks a caption" if shards else "k5.jpg has no caption"
    for extra, error, says in [({"k5.jpg": image, "k5.json": b'{"url": "x"}'}, ValueError,
                                'k5.json has no "caption" or "text"'),
                               ({"k5.jpg": image}, ValueError if shards else FileNotFoundError, uncaptioned)]:
        if shards:
            with tarfile.open(tmp_path / "pairs" / "shard-00001.tar", "w") as tar:
                for name, payload in extra.items():
                    miniatures.add_to_tar(tar, name, payload)
        else:
            (tmp_path / "pairs" / "k5.json").unlink(missing_ok=True)
            for name, payload in extra.items():
                (tmp_path / "pairs" / name).write_bytes(payload)
        with pytest.raises(error, match=says):
            load_image_text(tmp_path / "pairs")


def test_image_text_memmap_form_resumes_maps_and_equals_the_shards(tmp_path, monkeypatch):
    miniatures.pairs_in_every_spelling(tmp_path / "pairs", shards=True)
    direct = load_image_text(tmp_path / "pairs", image_size=24, crop="none")
    real, reads = image_text._Pairs.pixels, []

    def interrupted(self, begin, *args):
        reads.append(begin)
        if len(reads) == 2:
            raise KeyboardInterrupt
        return real(self, begin, *args)

    monkeypatch.setattr(image_text._Pairs, "pixels", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_pairs_memmap(tmp_path / "pairs", tmp_path / "mm", image_size=24, crop="none", chunk=1, progress=False)
    with pytest.raises(FileNotFoundError, match="did not finish.*resume"):
        load_image_text(tmp_path / "mm")
    reads.clear()
    monkeypatch.setattr(image_text._Pairs, "pixels", lambda self, begin, *args: reads.append(begin) or
                        real(self, begin, *args))
    write_pairs_memmap(tmp_path / "pairs", tmp_path / "mm", image_size=24, crop="none", chunk=1, progress=False)
    assert reads == [1, 2, 3]  # the resumed run reads only the chunks not written before
    data = load_image_text(tmp_path / "mm", device="meta")  # mapped in host memory whatever the device
    assert torch.equal(data.images, direct.images) and data.captions == direct.captions
    assert data.images.device.type == "cpu" and data.images.stride()[1] == 1  # an NCHW view of the NHWC file
    assert isinstance(np.load(tmp_path / "mm" / "images.npy", mmap_mode="r"), np.memmap)
    assert load_image_text(tmp_path / "mm", limit=2).captions == direct.captions[:2]
    with pytest.raises(ValueError, match="image_size=24, not 32; pass image_size=24"):
        load_image_text(tmp_path / "mm", image_size=32)
    with pytest.raises(FileExistsError, match="another conversion"):
        write_pairs_memmap(tmp_path / "pairs", tmp_path / "mm", image_size=16, progress=False)
    (tmp_path / "labelled").mkdir()
    np.save(tmp_path / "labelled" / "images.npy", np.zeros((1, 8, 8, 3), np.uint8))
    (tmp_path / "labelled" / "meta.json").write_text('{"classes": ["a"], "count": 1}')
    with pytest.raises(ValueError, match="labelled memmap dataset"):
        load_image_text(tmp_path / "labelled")
    # the script converts a folder of pairs
    miniatures.pairs_in_every_spelling(tmp_path / "folder")
    done = subprocess.run([sys.executable, str(SCRIPTS / "build_pairs_memmap.py"), "--pairs", str(tmp_path / "folder"),
                           "--size", "24", "--crop", "none", "--out", str(tmp_path / "mm2")], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert torch.equal(load_image_text(tmp_path / "mm2").images,
                       load_image_text(tmp_path / "folder", image_size=24, crop="none").images)


def test_cifar_resized_a_few_images_at_a_time_equals_resizing_all_at_once(tmp_path, monkeypatch):
    miniatures.cifar(tmp_path, "cifar10")
    raw = load_dataset("cifar10", root=tmp_path).images
    monkeypatch.setattr(cifar, "_CHUNK_BYTES", 4 * 3 * 40 * 40 * 3)  # three images a chunk, the last one shorter
    assert torch.equal(load_dataset("cifar10", root=tmp_path, image_size=40).images, to_rgb_uint8(raw / 255, 40))


# Runs each loader in a fresh process and reports the resident memory it adds at its peak (the kernel's high-water
# mark, reset before each), with the bytes it returns. The memory freed before each goes back to the system first,
# so that one loader's leftovers do not hide the next one's allocations.
PEAKS = r"""
import ctypes, gc, json, sys
from pathlib import Path
import numpy as np
from nml_tutorial.data import load_dataset
from nml_tutorial.data.files import ImageFiles, load_files
from nml_tutorial.data.image_text import load_image_text, write_pairs_memmap

def vm(field):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith(field))

def peak(call):
    gc.collect()
    getattr(ctypes.CDLL(None), "malloc_trim", lambda pad: 0)(0)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    base = vm("VmRSS:")
    out = call()
    return vm("VmHWM:") - base, out.nbytes if isinstance(out, np.ndarray) else out.numel()

tmp = Path(sys.argv[1])
jpgs = sorted((tmp / "folder").glob("*.jpg"))
cases = {
    "load_files": lambda: load_files(ImageFiles(jpgs, np.zeros(len(jpgs)), ["x"]), 224).images,
    "cifar at 224": lambda: load_dataset("cifar10", root=tmp / "cifar", image_size=224).images,
    "pairs folder": lambda: load_image_text(tmp / "folder", image_size=224).images,
    "pairs shards": lambda: load_image_text(tmp / "shards", image_size=224).images,
    "memmap build": lambda: np.load(write_pairs_memmap(tmp / "shards", tmp / "mm", 224, chunk=32, progress=False)
                                    / "images.npy", mmap_mode="r"),
    "memmap load": lambda: load_image_text(tmp / "mm").images,
}
print(json.dumps({name: peak(call) for name, call in cases.items()}))
"""


@pytest.mark.skipif(not os.access("/proc/self/clear_refs", os.W_OK), reason="needs Linux's resettable peak memory")
def test_loaders_hold_one_copy_of_the_images_at_their_peak_and_the_memmap_form_none(tmp_path):
    """About 60 MB of 224-px images: before, load_files peaked at 2.2x that, the pairs at 3x, CIFAR at 12x."""
    miniatures.repeated_sets(tmp_path, 400)
    done = subprocess.run([sys.executable, "-c", PEAKS, str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    peaks, allowance = json.loads(done.stdout), 24 * 2**20  # the interpreter's own allocations, a chunk's floats
    for name in ("load_files", "cifar at 224", "pairs folder", "pairs shards"):
        added, size = peaks[name]
        assert size > 50 * 2**20 and added < 1.3 * size + allowance, (name, added / size)
    assert peaks["memmap build"][0] < allowance  # one chunk of 32 images in memory
    assert peaks["memmap load"][0] < 8 * 2**20  # mapped, not read
