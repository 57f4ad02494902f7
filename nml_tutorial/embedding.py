"""2-D embeddings of features for plots: seeded UMAP on a bounded number of points."""

from __future__ import annotations

import numpy as np
import torch

from .features import check_features

MAX_POINTS = 3000  # UMAP's cost grows with points; a few thousand show the structure


def umap_2d(features: torch.Tensor, seed: int = 0, n_neighbors: int = 15) -> np.ndarray:
    """(N, 2) UMAP embedding of row-normalised features; refuses more than :data:`MAX_POINTS` rows."""
    import umap  # imported here: ~20 s the first time, and only the plots need it

    if features.shape[0] > MAX_POINTS:
        raise ValueError(f"{features.shape[0]} points; embed at most {MAX_POINTS} (subsample first)")
    check_features(features)
    x = torch.nn.functional.normalize(features.float(), dim=1).cpu().numpy()
    return umap.UMAP(n_neighbors=n_neighbors, random_state=seed, n_jobs=1).fit_transform(x)
