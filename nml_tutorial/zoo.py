"""The model zoo: the quick preset's pre-trained models, shipped with the package (a few MB).

Training them takes minutes on a laptop CPU, so the notebooks start from these by default, as
foundation-model courses start from released checkpoints; ``RETRAIN = True`` in a notebook's parameters
trains them live instead. They are not downloaded and not hand-made: ``nml-tutorial zoo build`` trains
them with the package's own code (fp32, so the same on every machine) and writes this folder, laid out
like the run cache (``pretrain/<key>/``, ``clip/<key>/``) plus ``manifest.json`` with a SHA-256 of every
file and the machine that trained them. ``tests/test_zoo.py`` retrains one and checks that it matches.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

ZOO_DIR = Path(__file__).parent / "zoo"
MANIFEST = "manifest.json"


def sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def manifest(zoo_dir=ZOO_DIR) -> dict:
    """The zoo's manifest (``{"runs": []}`` when the zoo is empty)."""
    path = Path(zoo_dir) / MANIFEST
    return json.loads(path.read_text()) if path.exists() else {"runs": []}


def find(kind: str, key: str, zoo_dir=ZOO_DIR) -> Path | None:
    """The zoo's folder of a finished run (``kind`` ``"pretrain"`` or ``"clip"``), checksums verified; else None."""
    for run in manifest(zoo_dir)["runs"]:
        if run["kind"] == kind and run["key"] == key:
            for name, digest in run["files"].items():
                path = Path(zoo_dir) / name
                if not path.exists() or sha256(path) != digest:
                    raise RuntimeError(f"the model zoo's file {path} is missing or corrupted (checksum mismatch); "
                                       "reinstall nml_tutorial, or rebuild the zoo with `nml-tutorial zoo build`, "
                                       "or pass RETRAIN = True to train the model here")
            return Path(zoo_dir) / kind / key
    return None


def describe(run_config: dict) -> str:
    """One line saying where the zoo's models came from and how to train them here instead."""
    built = manifest()["built_with"]
    return (f"models from the package's zoo: trained by `{built['command']}` on {built['cpu']}, torch "
            f"{built['torch']}, {built['date']}, {run_config['amp']}; RETRAIN = True trains them here instead")
