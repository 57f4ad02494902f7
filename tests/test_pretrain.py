import warnings

import pytest
import torch
import torch.nn.functional as F

from nml_tutorial.augment import crop_flip
from nml_tutorial.config import PRETRAIN_DEFAULTS
from nml_tutorial.models import build_model
from nml_tutorial.pretrain import pretrain_supervised, train_classifier

TINY_DATA = {"name": "synthetic", "split": "train", "domain": "photo", "num_classes": 6, "classes": list(range(4)),
             "samples_per_class": 16, "image_size": 16, "seed": 0}
TINY = {"data": TINY_DATA, "width": 8, "epochs": 3, "batch_size": 16, "noise_ratio": 0.25}


def _crops_of(image: torch.Tensor, padding: int) -> list[torch.Tensor]:
    """Every crop of ``image`` zero-padded by ``padding``, and its mirror image."""
    padded = torch.nn.functional.pad(image, (padding,) * 4)
    size = image.shape[-1]
    crops = [padded[:, dy:dy + size, dx:dx + size] for dy in range(2 * padding + 1) for dx in range(2 * padding + 1)]
    return crops + [c.flip(-1) for c in crops]


def test_crop_flip_shifts_and_mirrors_each_image_by_its_own_seeded_draw():
    x = torch.arange(16 * 3 * 8 * 8, dtype=torch.float32).reshape(16, 3, 8, 8) + 1  # no zero pixel of its own
    a = crop_flip(x, torch.Generator().manual_seed(0), padding=2)
    assert a.shape == x.shape and torch.equal(a, crop_flip(x, torch.Generator().manual_seed(0), padding=2))
    for out, image in zip(a, x):  # each output is one of its own image's padded crops, possibly mirrored
        assert any(torch.equal(out, crop) for crop in _crops_of(image, 2))
    assert sum(not torch.equal(o, i) for o, i in zip(a, x)) >= 8  # most were moved or mirrored (1 draw in 50 is not)
    assert any(any(torch.equal(o, c) for c in _crops_of(i, 2)[25:]) for o, i in zip(a, x))  # some were mirrored
    assert not torch.equal(a, crop_flip(x, torch.Generator().manual_seed(1), padding=2))
    assert torch.equal(crop_flip(x, torch.Generator(), padding=0, flip=False), x)


def test_training_loss_falls_on_clean_labels():
    g = torch.Generator().manual_seed(0)
    labels = torch.arange(2).repeat(64)
    images = torch.randint(0, 128, (128, 3, 16, 16), generator=g, dtype=torch.uint8)
    images[labels == 0, :, :, :8] += 100  # class 0: bright left half, class 1: bright right half (no flips)
    images[labels == 1, :, :, 8:] += 100
    torch.manual_seed(0)
    model = build_model("resnet_small", 2, width=8)
    history = train_classifier(model, images, labels, {"epochs": 6, "batch_size": 32, "lr": 0.05, "augment": False},
                               progress=False)
    assert history[-1]["loss"] < 0.6 * history[0]["loss"]
    assert history[-1]["train_acc"] > 0.9  # chance is 0.5
    assert not model.training


class LookupModel(torch.nn.Module):
    """Predicts a fixed class per image (its index is written in pixel 0): the epoch record can be worked by hand."""

    def __init__(self, predictions: torch.Tensor, num_classes: int):
        super().__init__()
        self.predictions, self.num_classes = predictions, num_classes
        self.bias = torch.nn.Parameter(torch.zeros(num_classes))  # something for the optimiser to step

    def features(self, x):
        return x[:, 0, 0, 0].long()

    def head(self, index):
        return 10.0 * F.one_hot(self.predictions[index], self.num_classes).float() + 0 * self.bias


def test_memorisation_record_by_hand():
    clean = torch.tensor([0, 1, 2, 3, 0, 1, 2, 3])
    noisy = torch.tensor([1, 2, 3, 0, 0, 1, 2, 3])  # the first four flipped
    # predictions: fits the noisy label of samples 0 and 1, the true label of sample 2, neither for sample 3; right
    # on three of the four clean samples
    predictions = torch.tensor([1, 2, 2, 2, 0, 1, 2, 0])
    images = torch.zeros(8, 3, 4, 4, dtype=torch.uint8)
    images[:, 0, 0, 0] = torch.arange(8, dtype=torch.uint8)
    record = train_classifier(LookupModel(predictions, 4), images, noisy, {"epochs": 1, "batch_size": 8,
                                                                           "augment": False},
                              clean_labels=clean, progress=False)[-1]
    assert record["train_acc"] == 5 / 8  # samples 0, 1, 4, 5, 6 predict their (noisy) training label
    assert record["noisy_fitted"] == 2 / 4 and record["noisy_predicted_true"] == 1 / 4


def test_unknown_hyper_parameter_is_rejected():
    with pytest.raises(ValueError, match="unknown hyper-parameters"):
        train_classifier(build_model("resnet_small", 2, width=8), torch.zeros(4, 3, 8, 8, dtype=torch.uint8),
                         torch.tensor([0, 1, 0, 1]), {"epoch": 3})


def test_resume_after_interrupt_gives_the_same_weights(tmp_path):
    uninterrupted = pretrain_supervised(TINY, cache_dir=tmp_path / "a", progress=False)

    class Interrupt(Exception):
        pass

    def stop_after_first_epoch(record):
        if record["epoch"] == 1:
            raise Interrupt

    # Interrupt the same run after its first epoch: the checkpoint must be there, the final model not.
    import nml_tutorial.pretrain as pretrain_module

    original = pretrain_module.train_classifier
    pretrain_module.train_classifier = lambda *a, **k: original(*a, **k, on_epoch_end=stop_after_first_epoch)
    try:
        with pytest.raises(Interrupt):
            pretrain_supervised(TINY, cache_dir=tmp_path / "b", progress=False)
    finally:
        pretrain_module.train_classifier = original
    run_dir = tmp_path / "b" / "pretrain" / uninterrupted.key
    assert (run_dir / "checkpoint.pt").exists() and not (run_dir / "model.pt").exists()

    resumed = pretrain_supervised(TINY, cache_dir=tmp_path / "b", progress=False)
    assert [r["epoch"] for r in resumed.history] == [1, 2, 3]
    for (name, a), b in zip(uninterrupted.model.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.equal(a, b), name
    assert (run_dir / "model.pt").exists() and not (run_dir / "checkpoint.pt").exists()


def test_finished_run_is_reused_not_retrained(tmp_path, monkeypatch):
    first = pretrain_supervised(TINY, cache_dir=tmp_path, progress=False)
    import nml_tutorial.pretrain as pretrain_module

    monkeypatch.setattr(pretrain_module, "train_classifier", lambda *a, **k: pytest.fail("retrained a cached run"))
    again = pretrain_supervised(TINY, cache_dir=tmp_path, progress=False)
    assert again.key == first.key and again.history == first.history
    with pytest.raises(pytest.fail.Exception, match="retrained"):  # a changed config must train, not hit the cache
        pretrain_supervised({**TINY, "noise_ratio": 0.5}, cache_dir=tmp_path, progress=False)


def test_library_defaults_are_the_quick_preset_so_notebooks_reuse_its_cache():
    from nml_tutorial.cache import config_key
    from nml_tutorial.config import PRETRAIN_DEFAULTS
    from nml_tutorial.presets import get_preset

    quick = {**PRETRAIN_DEFAULTS, **get_preset("quick").run_config(0.1, 0)}
    assert config_key(quick) == config_key({**PRETRAIN_DEFAULTS, "noise_ratio": 0.1})


def test_a_run_key_changes_with_training_code_and_not_with_evaluation_code(tmp_path, monkeypatch):
    import shutil

    from nml_tutorial import cache
    from nml_tutorial.config import CLIP_DEFAULTS, PRETRAIN_DEFAULTS
    from nml_tutorial.pretrain import run_key

    package = tmp_path / "nml_tutorial"
    shutil.copytree(cache.PACKAGE, package, ignore=shutil.ignore_patterns("__pycache__", "zoo", "reference"))
    keys = {}

    def key_after(edit: str | None) -> str:
        cache.code_fingerprint.cache_clear()
        if edit:
            (package / edit).write_text((package / edit).read_text() + "\nCHANGED = 1\n")
        original = cache.code_fingerprint.__wrapped__
        with monkeypatch.context() as m:
            m.setattr(cache, "code_fingerprint",
                      lambda *mods, follow_imports=True: original(*mods, package_dir=package,
                                                                  follow_imports=follow_imports))
            return run_key(dict(PRETRAIN_DEFAULTS)), run_key({**CLIP_DEFAULTS}, "clip")

    keys["before"] = key_after(None)
    for evaluation_code in ("probe.py", "evaluate.py", "nmtune.py", "claims.py", "data/real.py"):
        assert key_after(evaluation_code) == keys["before"], evaluation_code
    assert key_after("training.py")[0] != keys["before"][0]
    assert key_after("data/synthetic.py")[0] != keys["before"][0]
    keys["clip"] = key_after(None)
    changed = key_after("clip.py")
    assert changed[0] == keys["clip"][0] and changed[1] != keys["clip"][1]


def test_several_cpu_processes_train_under_their_own_key_and_warn_when_each_decodes_files(monkeypatch):
    import nml_tutorial.pretrain as pretrain_module

    config = {**PRETRAIN_DEFAULTS, **TINY}
    single = pretrain_module.process_run_key(config, "pretrain", "cpu")
    monkeypatch.setattr(pretrain_module, "rank_and_world", lambda: (0, 2))
    assert pretrain_module.process_run_key(config, "pretrain", "cpu") != single  # gloo: BatchNorm not synchronised
    assert pretrain_module.process_run_key(config, "pretrain", "cuda") == single  # nccl + SyncBatchNorm: one model
    with pytest.warns(UserWarning, match="each of the 2 processes decodes its own copy of the 'image_folder'"):
        pretrain_module.warn_if_every_process_decodes({"name": "image_folder", "root": "x"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pretrain_module.warn_if_every_process_decodes({"name": "memmap", "root": "x"})
