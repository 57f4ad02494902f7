"""nml_tutorial: Noisy Model Learning, taught in notebooks.

How label noise in pre-training data shapes a model's features, helps in-domain, hurts
out-of-domain, and how NMTune repairs it. Nothing here downloads from a model hub.
"""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

__version__ = "0.1.0"
