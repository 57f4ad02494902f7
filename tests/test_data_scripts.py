"""data_scripts/: each CLI's --help, the researcher's chain on a miniature ILSVRC (prepare -> subset -> memmap ->
noisy labels), bad input ending in one line that names the problem and the fix, and conversions that cannot
silently take part of a dataset (counts checked, releases in parts, damaged tars) or decode it differently with
several workers."""

import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest

from nml_tutorial.data import load_dataset
from nml_tutorial.data.classes import imagenet_wnids
from nml_tutorial.data.imagenet import folder_files, prepare_ilsvrc
from nml_tutorial.data.memmap import convert_downsampled, write_memmap

import miniatures

SCRIPTS = Path(__file__).resolve().parent.parent / "data_scripts"
NAMES = ["class_lists", "prepare_ilsvrc", "make_subset", "build_memmap", "build_pairs_memmap", "noisy_labels"]


def script(name: str, *args, ok: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, str(SCRIPTS / f"{name}.py"), *map(str, args)], capture_output=True,
                          text=True, timeout=300)
    assert (done.returncode == 0) == ok, done.stderr
    return done


@pytest.mark.parametrize("name", NAMES)
def test_every_script_explains_itself(name):
    assert "usage:" in script(name, "--help").stdout


def test_the_chain_from_ilsvrc_tars_to_noisy_labels(tmp_path):
    wnids = imagenet_wnids()[10:14]
    miniatures.ilsvrc(tmp_path, wnids, per_class=3)
    script("prepare_ilsvrc", "--train", tmp_path / "ILSVRC2012_img_train.tar", "--val",
           tmp_path / "ILSVRC2012_img_val.tar", "--devkit", tmp_path / "devkit", "--out", tmp_path / "in1k",
           "--expect-train", 12, "--expect-val", 12, "--expect-classes", 4)
    script("make_subset", "--root", tmp_path / "in1k" / "train", "--count", 3, "--seed", 1, "--per-class", 2,
           "--out", tmp_path / "sub.json")
    manifest = json.loads((tmp_path / "sub.json").read_text())
    assert len(manifest["classes"]) == 3 and len(manifest["files"]) == 6
    script("build_memmap", "--manifest", tmp_path / "sub.json", "--size", 16, "--out", tmp_path / "mm")
    out = script("noisy_labels", "--dataset", tmp_path / "mm", "--ratios", 0.5, "--mode", "flip").stdout
    assert "50.00% flipped" in out
    data = load_dataset("memmap", root=tmp_path / "mm", noisy_labels="noisy/flip_0.5_seed0.npy")
    assert data.class_names == manifest["classes"] and tuple(data.images.shape) == (6, 3, 16, 16)
    assert int((data.attributes["noisy_labels"] != data.labels).sum()) == 3


@pytest.mark.parametrize("name, args, says", [
    ("build_memmap", ["--folder", "{tmp}/nowhere", "--out", "{tmp}/mm"], "no image folder at .*nowhere: point root"),
    ("build_memmap", ["--downsampled", "{tmp}", "--out", "{tmp}/mm"], "needs --map-clsloc .* or --devkit"),
    ("build_memmap", ["--downsampled", "{tmp}", "--devkit", "{tmp}", "--workers", "2", "--out", "{tmp}/mm"],
     "--workers and --draft decode image files"),
    ("build_memmap", ["--folder", "{tmp}", "--size", "2", "--out", "{tmp}/mm"], "--size must be at least 8"),
    ("make_subset", ["--root", "{tmp}", "--classes", "{tmp}/list.txt", "--out", "{tmp}/m.json"], "no class list at"),
    ("noisy_labels", ["--dataset", "{tmp}"], "not a finished memmap dataset.*build_memmap.py"),
    ("prepare_ilsvrc", ["--train", "{tmp}", "--val", "{tmp}", "--devkit", "{tmp}/dk", "--out", "{tmp}/o"],
     "no ILSVRC-2012 devkit at .*extract ILSVRC2012_devkit_t12"),
])
def test_bad_input_names_the_problem_and_the_fix(tmp_path, name, args, says):
    import re

    done = script(name, *[a.format(tmp=tmp_path) for a in args], ok=False)
    assert done.returncode == 2 and "Traceback" not in done.stderr and re.search(says, done.stderr), done.stderr


def test_a_noise_ratio_outside_the_unit_interval_is_refused(tmp_path):
    miniatures.imagenet_folder(tmp_path / "train", imagenet_wnids()[:2], per_class=2)
    script("build_memmap", "--folder", tmp_path / "train", "--size", 16, "--out", tmp_path / "mm")
    done = script("noisy_labels", "--dataset", tmp_path / "mm", "--ratios", 5, ok=False)
    assert "must lie in [0, 1]" in done.stderr and "not a percentage" in done.stderr
    assert not (tmp_path / "mm" / "noisy").exists() or not list((tmp_path / "mm" / "noisy").glob("*.npy"))
    assert np.load(tmp_path / "mm" / "labels.npy").tolist() == [0, 0, 1, 1]


def same_files(a: Path, b: Path) -> bool:
    return all((a / name).read_bytes() == (b / name).read_bytes() for name in ("images.npy", "labels.npy"))


def test_half_a_downsampled_release_is_refused_and_its_two_folders_make_the_whole(tmp_path):
    miniatures.downsampled_parts(tmp_path / "release")  # 12 images: 6 in each part
    part1, part2 = tmp_path / "release" / "Imagenet64_train_part1", tmp_path / "release" / "Imagenet64_train_part2"
    ids = tmp_path / "release" / "map_clsloc.txt"
    with pytest.raises(ValueError, match=r"6 train images in 1 batch files \(train_data_batch_1.npz\) under "
                       r".*part1, not ImageNet-1K's 1,281,167: .*--expect 6 to convert this subset deliberately"):
        convert_downsampled(part1, ids, tmp_path / "half", progress=False)
    assert not (tmp_path / "half").exists()
    with pytest.raises(ValueError, match="6 train images .* not the 12 expected"):
        convert_downsampled(part1, ids, tmp_path / "half", expect=12, progress=False)
    # both parts: the release folder searched recursively, part1 named again (taken once)
    script("build_memmap", "--downsampled", tmp_path / "release", part1, "--map-clsloc", ids, "--expect", 12,
           "--out", tmp_path / "parts")
    miniatures.downsampled(tmp_path / "whole")  # the same release in one folder
    convert_downsampled(tmp_path / "whole", tmp_path / "whole" / "map_clsloc.txt", tmp_path / "one", expect=12,
                        progress=False)
    assert same_files(tmp_path / "parts", tmp_path / "one")
    meta = [json.loads((tmp_path / d / "meta.json").read_text()) for d in ("parts", "one")]
    assert meta[0]["source_checksum"] == meta[1]["source_checksum"] and meta[0]["count"] == 12
    # the class numbering from the ILSVRC-2012 devkit's meta.mat instead of map_clsloc.txt
    devkit = miniatures.devkit_numbering(tmp_path / "devkit", ids)
    convert_downsampled([part1, part2], devkit, tmp_path / "dk", expect=12, progress=False)
    assert same_files(tmp_path / "dk", tmp_path / "one")
    # a batch found twice with other contents is refused, not counted twice or picked at random
    (part1 / "copy").mkdir()
    shutil.copy(part1 / "train_data_batch_1.npz", part1 / "copy" / "train_data_batch_2.npz")
    with pytest.raises(ValueError, match="two different copies of the same train batch"):
        convert_downsampled([part1, part2], ids, tmp_path / "dup", expect=12, progress=False)


def test_ilsvrc_in_parts_is_whole_and_a_part_or_a_damaged_tar_is_refused(tmp_path):
    miniatures.ilsvrc(tmp_path, imagenet_wnids()[20:24], per_class=2)  # 8 training images of 4 classes, 8 val
    parts = miniatures.ilsvrc_train_parts(tmp_path)
    val, devkit, counts = tmp_path / "ILSVRC2012_img_val.tar", tmp_path / "devkit", (8, 8, 4)
    done = script("prepare_ilsvrc", "--train", parts[0], "--val", val, "--devkit", devkit, "--out", tmp_path / "o",
                  "--expect-train", 8, "--expect-val", 8, "--expect-classes", 4, ok=False)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "4 training images in 2 classes" in done.stderr and "not 8 in 4" in done.stderr, done.stderr
    assert prepare_ilsvrc(parts, val, devkit, tmp_path / "o", *counts) == {"train": 8, "val": 8}
    whole = tmp_path / "ILSVRC2012_img_train.tar"
    prepare_ilsvrc(whole, val, devkit, tmp_path / "w", *counts)
    listing = [sorted((p.relative_to(root), p.read_bytes()) for p in root.rglob("*.JPEG"))
               for root in (tmp_path / "o" / "train", tmp_path / "w" / "train")]
    assert listing[0] == listing[1] and len(listing[0]) == 8
    with pytest.raises(ValueError, match="not 1,281,167 in 1,000"):  # the default: ImageNet-1K's counts
        prepare_ilsvrc(whole, val, devkit, tmp_path / "w", expect_val=8)
    # cut inside a member's data: one line naming the archive; cut at a member's boundary: refused all the same
    with tarfile.open(whole) as tar:
        third = tar.getmembers()[2]
    payload = whole.read_bytes()
    (tmp_path / "cut.tar").write_bytes(payload[:third.offset_data + 700])
    done = script("prepare_ilsvrc", "--train", tmp_path / "cut.tar", "--val", val, "--devkit", devkit, "--out",
                  tmp_path / "c", ok=False)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "cut.tar (its member" in done.stderr and "is truncated or not a tar" in done.stderr, done.stderr
    assert "download it again and check its md5" in done.stderr
    (tmp_path / "cut.tar").write_bytes(payload[:third.offset])
    with pytest.raises(ValueError, match="cut.tar is truncated .*end-of-archive marker"):
        prepare_ilsvrc(tmp_path / "cut.tar", val, devkit, tmp_path / "b", *counts)


def test_several_workers_write_the_same_bytes_and_resume_after_a_bad_image(tmp_path):
    miniatures.imagenet_folder(tmp_path / "train", imagenet_wnids()[:2], per_class=4, size=24)
    files = folder_files(tmp_path / "train")
    write_memmap(files, tmp_path / "one", image_size=16, chunk=2, progress=False)
    done = script("build_memmap", "--folder", tmp_path / "train", "--size", 16, "--workers", 2, "--out",
                  tmp_path / "cli")
    assert same_files(tmp_path / "cli", tmp_path / "one"), done.stdout
    # four chunks over two workers; the third holds an unreadable image: the chunks before it are kept
    original = files.paths[5].read_bytes()
    files.paths[5].write_bytes(bytes(len(original)))
    with pytest.raises(ValueError, match=f"cannot read image {files.paths[5]}"):
        write_memmap(files, tmp_path / "two", image_size=16, chunk=2, progress=False, workers=2)
    assert json.loads((tmp_path / "two" / "progress.json").read_text())["done"] == 4
    files.paths[5].write_bytes(original)
    files.paths[0].write_bytes(bytes(len(files.paths[0].read_bytes())))  # the resumed run never reads chunk 0 again
    write_memmap(files, tmp_path / "two", image_size=16, chunk=2, progress=False, workers=2)
    assert same_files(tmp_path / "two", tmp_path / "one")


def test_draft_decoding_is_close_to_the_full_one_and_recorded(tmp_path):
    miniatures.imagenet_folder(tmp_path / "train", imagenet_wnids()[:2], per_class=2, size=128)
    files = folder_files(tmp_path / "train")
    full = write_memmap(files, tmp_path / "full", image_size=16, progress=False)
    draft = write_memmap(files, tmp_path / "draft", image_size=16, progress=False, draft=True)
    pixels = [np.load(d / "images.npy").astype(int) for d in (full, draft)]
    assert 0 < np.abs(pixels[0] - pixels[1]).mean() < 4  # 128 px decoded at 1/8 scale: close, not equal
    assert json.loads((draft / "meta.json").read_text())["settings"]["decode"].startswith("JPEG draft")
    with pytest.raises(FileExistsError, match="another conversion"):
        write_memmap(files, full, image_size=16, progress=False, draft=True)
