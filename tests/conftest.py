import os
from pathlib import Path

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
torch.set_num_threads(min(2, torch.get_num_threads()))


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where tests leave pictures for a human to look at (ignored by git)."""
    path = Path(os.environ.get("NML_TEST_ARTIFACTS", Path(__file__).parent.parent / "test-artifacts"))
    path.mkdir(parents=True, exist_ok=True)
    return path


REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def run_cache() -> Path:
    """The repository's run cache, shared with `make run` and the notebooks' default CACHE_DIR, so the
    notebook series, the quick-preset science checks and `pytest --nbval-lax notebooks/` train each run once."""
    return REPO / ".cache"


@pytest.fixture(scope="session")
def notebook_run(artifacts, run_cache):
    """The whole series executed once with papermill: (output folder, one NotebookResult per notebook)."""
    from nml_tutorial.notebooks import run_series

    out = artifacts / "notebooks"
    return out, run_series(out, cache_dir=run_cache)
