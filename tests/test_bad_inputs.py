"""Bad input across the package, one table: every case is a mistake a user can make (a library call, a command, a
data script, a grid file, notebook parameters), and the error it meets must name the problem and the fix.
docs/troubleshooting.md lists the same cases by id; the second test keeps the two in step."""

import contextlib
import errno
import io
import os
import re
import runpy
import sys
import tarfile
import tempfile
from pathlib import Path

import nbformat
import pytest
import torch

from nml_tutorial import noise
from nml_tutorial.data.classes import imagenet_wnids

import miniatures
from miniatures import TINY_PRESET

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "data_scripts"
TROUBLESHOOTING = ROOT / "docs" / "troubleshooting.md"


class Exit(Exception):
    """A command ended: its exit status, and its message is what it printed to stderr."""

    def __init__(self, code, stderr: str):
        super().__init__(stderr)
        self.code = code


def _command(run) -> None:
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            code = run()
        except SystemExit as exit:
            code = exit.code
    raise Exit(code, err.getvalue())


def cli(*args) -> None:
    """``nml-tutorial ARGS`` in this process."""
    from nml_tutorial.cli import main

    _command(lambda: main([str(a) for a in args]))


def script(mp, name: str, *args) -> None:
    """``python data_scripts/NAME.py ARGS`` in this process."""
    path = SCRIPTS / f"{name}.py"
    mp.syspath_prepend(str(SCRIPTS))
    mp.setattr(sys, "argv", [str(path), *map(str, args)])
    _command(lambda: runpy.run_path(str(path), run_name="__main__"))


def refuse(mp, module, name: str, code: int) -> None:
    """Make ``module.name`` fail as a read-only (EROFS) or full (ENOSPC) filesystem would."""
    def fail(*args, **kwargs):
        raise OSError(code, os.strerror(code))

    mp.setattr(module, name, fail)


def labels(*values, dtype=torch.long):
    return torch.tensor(values, dtype=dtype)


def features(n=8, d=4):
    return torch.randn(n, d, generator=torch.Generator().manual_seed(0))


def with_nan():
    x = features()
    x[3, 1] = float("nan")
    return x


def tiny_notebook(folder: Path) -> Path:
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    params = nbformat.v4.new_code_cell("SEEDS = [0]\nOUT_DIR = '.'\nCACHE_DIR = '.'\nPROGRESS = True")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("print(SEEDS)")]
    nbformat.write(nb, folder / "tiny.ipynb")
    return folder / "tiny.ipynb"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def grid(tmp, text: str):
    from nml_tutorial.batch import load_grid

    return load_grid(write(tmp / "grid.yaml", text))


def domainnet_listing(tmp, broken_line: str):
    from nml_tutorial.data import load_dataset

    miniatures.domainnet(tmp / "dn", "real", ["cat", "dog"], per_class=1)
    listing = tmp / "dn" / "real_train.txt"
    listing.write_text(listing.read_text() + broken_line + "\n")
    load_dataset("domainnet", root=tmp / "dn", domain="real")


def tiny_imagenet_val(tmp, annotations: str | None):
    from nml_tutorial.data import load_dataset

    miniatures.tiny_imagenet(tmp / "tin", imagenet_wnids()[:2], per_class=1)
    notes = tmp / "tin" / "val" / "val_annotations.txt"
    if annotations is None:
        notes.unlink()
    else:
        notes.write_text(annotations)
    load_dataset("tiny_imagenet", root=tmp / "tin", split="val")


def cut_train_tar(tmp) -> Path:
    """ILSVRC-2012's train tar cut inside its third member, as an interrupted download leaves it."""
    miniatures.ilsvrc(tmp, imagenet_wnids()[20:24])
    whole = tmp / "ILSVRC2012_img_train.tar"
    with tarfile.open(whole) as tar:
        third = tar.getmembers()[2]
    (tmp / "cut.tar").write_bytes(whole.read_bytes()[:third.offset_data + 700])
    return tmp / "cut.tar"


def shard(tmp, *names: str):
    """A webdataset shard of the members ``names`` (images a JPEG, captions a line), loaded as image-text pairs."""
    from nml_tutorial.data import load_dataset

    (tmp / "shards").mkdir()
    picture = miniatures.jpeg(miniatures.hwc(miniatures.scenes(1, 1))[0])
    with tarfile.open(tmp / "shards" / "shard-00000.tar", "w") as tar:
        for name in names:
            miniatures.add_to_tar(tar, name, b"a caption" if name.endswith(".txt") else picture)
    load_dataset("image_text", root=tmp / "shards")


def pairs_memmap(tmp, image_size: int) -> Path:
    """Six image-text pairs converted to the memmap form at ``image_size`` px."""
    from nml_tutorial.data.image_text import write_pairs_memmap

    miniatures.image_text(tmp / "pairs")
    return write_pairs_memmap(tmp / "pairs", tmp / "mm", image_size=image_size, progress=False)


def one_of_three_processes(mp, batch_size: int):
    """The rows of a global batch that this process takes when it is one of three under torchrun."""
    from nml_tutorial import training

    mp.setattr(training, "rank_and_world", lambda: (0, 3))
    return training._global_batch(1000, batch_size)


def preset(*args, **kwargs):
    from nml_tutorial.presets import get_preset

    return get_preset(*args, **kwargs)


def api(module: str, name: str):
    """``nml_tutorial.<module>.<name>``, imported when a case runs (not when the table is built)."""
    import importlib

    return getattr(importlib.import_module(f"nml_tutorial.{module}"), name)


def case(id: str, what, error, problem: str, fix: str):
    return pytest.param(what, error, problem, fix, id=id)


# id, what the user does (tmp_path, monkeypatch), the error it meets, a regex on the problem, a regex on the fix
CASES = [
    # label noise
    case("noise-ratio-above-1", lambda tmp, mp: noise.apply_label_noise(labels(0, 1, 2), 3, "symmetric", 1.5),
         ValueError, r"must lie in \[0, 1\], got 1\.5", r"pass a fraction \(0\.1 for 10 %\)"),
    case("noise-ratio-negative", lambda tmp, mp: noise.apply_label_noise(labels(0, 1, 2), 3, "pair", -0.1),
         ValueError, r"must lie in \[0, 1\], got -0\.1", r"pass a fraction"),
    case("noise-ratio-nan", lambda tmp, mp: noise.apply_label_noise(labels(0, 1, 2), 3, "uniform", float("nan")),
         ValueError, r"must lie in \[0, 1\], got nan", r"pass a fraction"),
    case("labels-out-of-range", lambda tmp, mp: noise.symmetric_noise(labels(0, 1, 5), 3, 0.1),
         ValueError, r"must lie in \[0, 2\] for num_classes=3, found values in \[0, 5\]",
         r"check num_classes or remap the labels"),
    case("labels-of-float-dtype", lambda tmp, mp: noise.symmetric_noise(labels(0, 1, 2, dtype=torch.float32), 3, 0.1),
         ValueError, r"must be an integer tensor, got torch\.float32", r"convert with labels\.long\(\)"),
    case("transition-rows-not-summing-to-1",
         lambda tmp, mp: noise.transition_noise(labels(0, 1), torch.tensor([[0.9, 0.2], [0.0, 1.0]])),
         ValueError, r"rows \[0\] of the transition matrix sum to \[1\.1\], not 1", r"normalise them"),
    case("transition-matrix-not-square",
         lambda tmp, mp: noise.transition_noise(labels(0, 1), torch.full((2, 3), 1 / 3)),
         ValueError, r"must be square \(C, C\), got shape \(2, 3\)", r"one row and one column per class"),
    case("unknown-noise-type", lambda tmp, mp: noise.apply_label_noise(labels(0, 1), 2, "gaussian", 0.1),
         ValueError, r"unknown noise_type 'gaussian'", r"choose one of \['pair', 'symmetric', 'uniform'\]"),
    case("caption-noise-swapping-one-caption", lambda tmp, mp: noise.caption_noise(10, 0.1),
         ValueError, r"swaps exactly one caption", r"use a ratio that swaps 0 or at least 2"),
    # presets and run configs
    case("preset-noise-ratio-as-percentage", lambda tmp, mp: preset(TINY_PRESET, noise_ratios=[0.0, 30]),
         ValueError, r"must lie in \[0, 1\], got 30\.0", r"not a percentage"),
    case("run-config-noise-ratio-nan", lambda tmp, mp: preset(TINY_PRESET).run_config(float("nan"), 0),
         ValueError, r"got nan", r"pass a fraction"),
    case("unknown-preset", lambda tmp, mp: preset("quik"),
         ValueError, r"unknown preset 'quik'", r"available: \[.*'quick'"),
    case("unknown-preset-key", lambda tmp, mp: preset(TINY_PRESET, epochs=3),
         ValueError, r"unknown preset keys \['epochs'\]", r"known: \[.*'noise_ratios'"),
    case("unknown-arch", lambda tmp, mp: preset(TINY_PRESET, arch="resnet19"),
         ValueError, r"unknown arch 'resnet19'", r"choose one of \['resnet_small', 'resnet18', 'resnet50'\]"),
    case("unknown-method", lambda tmp, mp: preset(TINY_PRESET, methods=["linear_probe", "svm"]),
         ValueError, r"unknown methods \['svm'\]", r"choose from \[.*'nmtune'"),
    case("unknown-protocol", lambda tmp, mp: preset(TINY_PRESET).settings("studdy"),
         ValueError, r"unknown protocol 'studdy'", r"choose from \['tuned', 'study'\]"),
    # features, probes, heads, spectra
    case("features-empty", lambda tmp, mp: api("features", "check_features")(torch.empty(0, 4)),
         ValueError, r"non-empty \(N, D\) tensor, got \(0, 4\)", r"one row .* per sample"),
    case("features-with-nan", lambda tmp, mp: api("features", "check_features")(with_nan()),
         ValueError, r"contain NaN or infinite values", r"check the encoder or drop those rows"),
    case("probe-features-and-labels-of-different-length",
         lambda tmp, mp: api("probe", "fit_linear_probe")(features(8), labels(*range(7))),
         ValueError, r"8 rows but labels of shape \(7,\)", r"one label per row"),
    case("probe-negative-labels", lambda tmp, mp: api("probe", "fit_study_probe")(features(3), labels(0, -1, 1)),
         ValueError, r"class indices 0 \.\.\. C-1, found -1", r"remap them"),
    case("head-labels-of-float-dtype",
         lambda tmp, mp: api("nmtune", "train_head")("mlp_head", features(4), labels(0, 1, 0, 1, dtype=torch.float)),
         ValueError, r"integer class indices, got torch\.float32", r"convert them with labels\.long\(\)"),
    case("head-views-and-labels-of-different-length",
         lambda tmp, mp: api("nmtune", "train_head_on_views")("nmtune", torch.randn(2, 5, 4), labels(0, 1, 0, 1)),
         ValueError, r"views of 5 images but labels of shape \(4,\)", r"pass one label per image"),
    case("unknown-head-method", lambda tmp, mp: api("nmtune", "train_head")("nmtunee", features(4), labels(0, 1, 0, 1)),
         ValueError, r"unknown method 'nmtunee'", r"choose one of \['linear_head', 'mlp_head', 'nmtune'\]"),
    case("spectrum-of-identical-rows", lambda tmp, mp: api("spectrum", "sve")(torch.ones(5, 4)),
         ValueError, r"all singular values are zero", r"at least two different feature rows"),
    # devices and precision
    case("device-that-does-not-exist", lambda tmp, mp: api("runtime", "resolve_device")("tpu"),
         ValueError, r"unknown device 'tpu'", r"use 'auto', 'cpu', 'cuda' or 'cuda:N'"),
    case("precision-environment-variable", lambda tmp, mp: (mp.setenv("NML_PRECISION", "fp16"),
                                                            api("runtime", "resolve_precision")("auto")),
         ValueError, r"NML_PRECISION='fp16'", r"set it to 'bf16' or 'fp32', or unset it"),
    # datasets on disk
    case("unknown-dataset", lambda tmp, mp: api("data", "load_dataset")("imagenett"),
         ValueError, r"unknown dataset 'imagenett'", r"available: \[.*'image_folder'"),
    case("dataset-folder-missing", lambda tmp, mp: api("data", "load_dataset")("image_folder", root=tmp / "nowhere"),
         FileNotFoundError, r"no image folder at .*nowhere", r"point root at a folder holding one sub-folder"),
    case("image-folder-without-class-folders",
         lambda tmp, mp: api("data", "load_dataset")("image_folder", root=write(tmp / "flat" / "a.txt", "").parent),
         FileNotFoundError, r"holds no class folders", r"put each class's images in a folder of its own"),
    case("memmap-folder-without-meta-json",
         lambda tmp, mp: api("data", "load_dataset")("memmap", root=write(tmp / "mm" / "labels.npy", "").parent),
         FileNotFoundError, r"has no meta\.json: the conversion did not finish", r"rerun data_scripts/build_memmap"),
    case("domainnet-split-file-missing",
         lambda tmp, mp: api("data", "load_dataset")("domainnet", root=write(tmp / "dn" / "x", "").parent),
         FileNotFoundError, r"no DomainNet split file at .*real_train\.txt", r"download real_train\.txt"),
    case("domainnet-malformed-listing-line", lambda tmp, mp: domainnet_listing(tmp, "real/cat/extra.jpg one"),
         ValueError, r"line 3 is not '<domain>/<class>/<file> <label>'", r"fix the line or download the split file"),
    case("tiny-imagenet-val-annotations-missing", lambda tmp, mp: tiny_imagenet_val(tmp, None),
         FileNotFoundError, r"no val_annotations\.txt at", r"unzip tiny-imagenet-200\.zip again"),
    case("tiny-imagenet-val-annotation-of-unknown-class",
         lambda tmp, mp: tiny_imagenet_val(tmp, "val_0.JPEG\tn99999999\n"),
         ValueError, r"line 1 is not 'file<TAB>wnid\.\.\.' with a wnid of wnids\.txt", r"unzip tiny-imagenet-200\.zip"),
    case("image-text-shard-sample-without-caption", lambda tmp, mp: shard(tmp, "a.jpg", "a.txt", "b.jpg"),
         ValueError, r"shard-00000\.tar: sample 'b' \(jpg\) lacks a caption",
         r"each sample needs an image \(.*\) and a caption \(txt, caption, json\)"),
    case("image-text-shard-sample-with-two-images", lambda tmp, mp: shard(tmp, "a.jpg", "a.JPG", "a.txt"),
         ValueError, r"sample 'a' has two \.jpg members \(extensions compare case-insensitively\)", r"keep one"),
    case("image-text-memmap-of-another-size",
         lambda tmp, mp: api("data", "load_dataset")("image_text", root=pairs_memmap(tmp, 16), image_size=24),
         ValueError, r"holds pairs converted with image_size=16, not 24",
         r"pass image_size=16 or convert them again with that setting"),
    case("image-text-memmap-conversion-unfinished",
         lambda tmp, mp: api("data", "load_dataset")("image_text",
                                                     root=write(tmp / "mm" / "images.npy.partial", "").parent),
         FileNotFoundError, r"has no meta\.json: the conversion did not finish",
         r"rerun data_scripts/build_pairs_memmap\.py with the same arguments"),
    # the cache
    case("cache-folder-read-only",
         lambda tmp, mp: (refuse(mp, tempfile, "mkstemp", errno.EROFS),
                          api("atomic", "atomic_write_json")({"a": 1}, tmp / "cache" / "run.json")),
         OSError, r"cannot write .*run\.json: the filesystem is read-only",
         r"point the cache \(cache_dir=, --cache\) .* at a writable folder"),
    case("cache-disk-full",
         lambda tmp, mp: (refuse(mp, os, "fsync", errno.ENOSPC),
                          api("atomic", "atomic_torch_save")(torch.zeros(3), tmp / "cache" / "feats.pt")),
         OSError, r"cannot write .*feats\.pt: the disk is full", r"free some space, or point the cache"),
    # notebook parameters
    case("notebook-unknown-parameter",
         lambda tmp, mp: api("series", "run_series")(tmp / "out", parameters={"SEEDZ": [0, 1]},
                                                        paths=[tiny_notebook(tmp)], say=None),
         ValueError, r"\['SEEDZ'\] are not parameters of tiny", r"did you mean 'SEEDS' for 'SEEDZ'\?; fix or remove"),
    # the batch runner's grid file
    case("grid-file-missing", lambda tmp, mp: api("batch", "load_grid")(tmp / "grid.yaml"),
         FileNotFoundError, r"no grid file at .*grid\.yaml", r"see docs/full-scale\.md for an example"),
    case("grid-key-with-a-typo", lambda tmp, mp: grid(tmp, "sweep: true\nout: o\ngird:\n  seeds: [[0]]\n"),
         ValueError, r"unknown keys \['gird'\]", r"did you mean 'grid' for 'gird'\?"),
    case("grid-value-of-the-wrong-type", lambda tmp, mp: grid(tmp, "sweep: true\nout: o\nparameters:\n  noise: 0.1\n"),
         ValueError, r"noise should be list, got 0\.1", r"'seeds: \[0, 1\]' in parameters"),
    case("grid-value-not-a-list", lambda tmp, mp: grid(tmp, "sweep: true\nout: o\ngrid:\n  noise: 0.1\n"),
         ValueError, r"grid values must be non-empty lists .* fix \['noise'\]", r"e\.g\. 'SEEDS: \[\[0\], \[1\]\]'"),
    case("grid-torchrun-more-processes-than-gpus",
         lambda tmp, mp: (mp.setenv("CUDA_VISIBLE_DEVICES", "0"),
                          grid(tmp, f"sweep: true\nout: o\nlauncher: torchrun\nnproc: 2\nparameters:\n"
                                    f"  preset: {TINY_PRESET}\n")),
         ValueError, r"a cell of 2 processes needs 2 GPUs and 1 are visible", r"set 'nproc' to at most 1"),
    case("grid-notebook-under-torchrun",
         lambda tmp, mp: grid(tmp, f"notebook: {tiny_notebook(tmp).name}\nout: o\nlauncher: torchrun\nnproc: 2\n"),
         ValueError, r"a notebook runs in one process, not under torchrun",
         r"grid the sweep \('sweep: true'.*or drop 'launcher' and 'nproc'"),
    case("grid-clip-preset-under-torchrun",
         lambda tmp, mp: grid(tmp, "sweep: true\nout: o\nlauncher: torchrun\nnproc: 2\nparameters:\n"
                                   "  objective: clip\n"),
         ValueError, r"'clip' pre-training runs in one process, not under torchrun",
         r"drop 'launcher' and 'nproc' from the grid, or grid supervised presets only"),
    case("torchrun-global-batch-not-splitting", lambda tmp, mp: one_of_three_processes(mp, 256),
         ValueError, r"the global batch of 256 does not split over 3 processes",
         r"choose a batch_size divisible by 3"),
    # the command line
    case("cli-noise-as-percentage",
         lambda tmp, mp: cli("sweep", "--preset", TINY_PRESET, "--noise", "0", "15", "--out", tmp, "--cache", tmp,
                             "--no-progress"),
         Exit, r"must lie in \[0, 1\], got 15\.0", r"pass a fraction \(0\.1 for 10 %\), not a percentage"),
    case("cli-gpu-that-does-not-exist",
         lambda tmp, mp: cli("sweep", "--preset", TINY_PRESET, "--device", f"cuda:{max(7, torch.cuda.device_count())}",
                             "--out", tmp, "--cache", tmp, "--no-progress"),
         Exit, r"device 'cuda:\d+' does not exist: this machine sees \d+ CUDA GPU", r"use 'auto' .* or 'cpu'"),
    case("cli-unknown-preset", lambda tmp, mp: cli("sweep", "--preset", "quik"),
         Exit, r"unknown preset 'quik'", r"available: \[.*'quick'.*or a preset file"),
    case("cli-unknown-noise-type", lambda tmp, mp: cli("pretrain", "--preset", TINY_PRESET, "--noise-type", "gaussian",
                                                       "--cache", tmp),
         Exit, r"unknown noise_type 'gaussian' for objective 'supervised'", r"choose one of \[.*'file'\]"),
    case("cli-pretrain-data-not-json", lambda tmp, mp: cli("sweep", "--pretrain-data", "{name: memmap}"),
         Exit, r"argument --pretrain-data: not JSON", r"""quote it: '\{"name": "memmap", \.\.\.\}'"""),
    case("cli-claims-without-results", lambda tmp, mp: cli("claims", tmp / "results.csv"),
         Exit, r"no results table at .*results\.csv", r"nml-tutorial sweep --out"),
    case("cli-notebook-parameters-not-json",
         lambda tmp, mp: cli("notebooks", tiny_notebook(tmp), "--parameters", write(tmp / "p.json", "SEEDS = [0, 1]")),
         Exit, r"p\.json is not JSON", r"write one JSON object, e\.g\. \{\"SEEDS\": \[0, 1\]"),
    case("cli-book-before-the-series-ran", lambda tmp, mp: cli("book", "--notebooks", tmp / "results" / "notebooks"),
         Exit, r"no executed notebooks at .*results/notebooks", r"run the series first \(`make run`"),
    case("cli-book-of-unexecuted-notebooks",
         lambda tmp, mp: cli("book", "--notebooks", tiny_notebook(tmp).rename(tmp / "00_tiny.ipynb").parent,
                             "--out", tmp / "book"),
         Exit, r"have no outputs", r"pass the folder of executed notebooks \(`make run` writes results/notebooks\)"),
    case("cli-batch-output-read-only",
         lambda tmp, mp: (refuse(mp, tempfile, "mkstemp", errno.EROFS),
                          cli("batch", write(tmp / "grid.yaml", "sweep: true\nout: out\ngrid:\n  seeds: [[0]]\n"))),
         Exit, r"cannot write .*parameters\.json: the filesystem is read-only", r"--out\) at a writable folder"),
    # data_scripts/
    case("script-make-subset-root-missing", lambda tmp, mp: script(mp, "make_subset", "--root", tmp / "nowhere",
                                                                   "--count", 2, "--out", tmp / "m.json"),
         Exit, r"no image folder at .*nowhere", r"point root at a folder holding one sub-folder of images per class"),
    case("script-build-memmap-manifest-missing",
         lambda tmp, mp: script(mp, "build_memmap", "--manifest", tmp / "m.json", "--out", tmp / "mm"),
         Exit, r"no subset manifest at .*m\.json", r"make one with data_scripts/make_subset\.py"),
    case("script-noisy-labels-unknown-column",
         lambda tmp, mp: script(mp, "noisy_labels", "--dataset", write(tmp / "mm" / "meta.json", "{}").parent,
                                "--noisy-imagenette", tmp / "noisy_imagenette.csv", "--column", "labels5"),
         Exit, r"got 'labels5'", r"column must be one of noisy_labels_0, _1, _5, _25, _50"),
    case("script-build-memmap-half-a-downsampled-release",
         lambda tmp, mp: (miniatures.downsampled_parts(tmp / "r"),
                          script(mp, "build_memmap", "--downsampled", tmp / "r" / "Imagenet64_train_part1",
                                 "--map-clsloc", tmp / "r" / "map_clsloc.txt", "--out", tmp / "mm")),
         Exit, r"6 train images in 1 batch files \(train_data_batch_1\.npz\) .*not ImageNet-1K's 1,281,167",
         r"pass every folder of the release .*--expect 6 to convert this subset deliberately"),
    case("script-prepare-ilsvrc-truncated-tar",
         lambda tmp, mp: script(mp, "prepare_ilsvrc", "--train", cut_train_tar(tmp), "--val",
                                tmp / "ILSVRC2012_img_val.tar", "--devkit", tmp / "devkit", "--out", tmp / "out"),
         Exit, r"cut\.tar \(its member n\d+\.tar\) is truncated or not a tar", r"download it again and check its md5"),
    case("script-prepare-ilsvrc-classes-missing",
         lambda tmp, mp: (miniatures.ilsvrc(tmp, imagenet_wnids()[20:24]),
                          script(mp, "prepare_ilsvrc", "--train", miniatures.ilsvrc_train_parts(tmp)[0], "--val",
                                 tmp / "ILSVRC2012_img_val.tar", "--devkit", tmp / "devkit", "--out", tmp / "out")),
         Exit, r"4 training images in 2 classes under .*out/train, not 1,281,167 in 1,000 \(missing e\.g\. \[",
         r"pass every part of the train release \(--train A B\)"),
]
IDS = [c.id for c in CASES]


@pytest.mark.parametrize("what, error, problem, fix", CASES)
def test_bad_input_names_the_problem_and_the_fix(tmp_path, monkeypatch, what, error, problem, fix):
    torch.manual_seed(0)
    with pytest.raises(error) as raised:
        what(tmp_path, monkeypatch)
    message = str(raised.value)
    if error is Exit:  # a command: exit status 2 and one line `prog: error: <problem>; <fix>`, no traceback
        assert raised.value.code == 2 and "Traceback" not in message, message
        message = message.strip().splitlines()[-1]
        assert re.match(r"[\w. -]+: error: ", message), message
    assert re.search(problem, message), f"the problem is not named: {message}"
    assert re.search(fix, message), f"the fix is not named: {message}"


def test_the_troubleshooting_table_lists_every_case():
    rows = re.findall(r"^\| `([^`]+)` \|", TROUBLESHOOTING.read_text(), flags=re.MULTILINE)
    assert len(rows) == len(set(rows)), "a case is listed twice"
    assert set(rows) == set(IDS) and len(IDS) == len(set(IDS))
