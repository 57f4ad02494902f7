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


@pytest.fixture(scope="session")
def run_cache() -> Path:
    """The repository's run cache, the one the notebooks use: shared by the series run, the science checks and the
    JupyterLab run of tests/test_browser.py (which re-executes the series warm). Nothing an older version of the
    code or data left there can be served: every key hashes the code and data that compute it (nml_tutorial.cache)."""
    return Path(__file__).resolve().parent.parent / ".cache"


@pytest.fixture(scope="session")
def notebook_run(artifacts, run_cache):
    """The whole series executed once with papermill: (output folder, one NotebookResult per notebook)."""
    from nml_tutorial.series import run_series

    out = artifacts / "notebooks"
    return out, run_series(out, cache_dir=run_cache)
