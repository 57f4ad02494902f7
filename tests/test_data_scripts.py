"""data_scripts/: each CLI's --help, the researcher's chain on a miniature ILSVRC (prepare -> subset -> memmap ->
noisy labels), and bad input ending in one line that names the problem and the fix."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nml_tutorial.data import load_dataset
from nml_tutorial.data.classes import imagenet_wnids

import miniatures

SCRIPTS = Path(__file__).resolve().parent.parent / "data_scripts"
NAMES = ["class_lists", "prepare_ilsvrc", "make_subset", "build_memmap", "noisy_labels"]


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
           tmp_path / "ILSVRC2012_img_val.tar", "--devkit", tmp_path / "devkit", "--out", tmp_path / "in1k")
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
    ("build_memmap", ["--downsampled", "{tmp}", "--out", "{tmp}/mm"], "needs --map-clsloc"),
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
