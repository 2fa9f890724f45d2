"""Case Review Workbench: de-identified import, Bayesian treatment-effect models, governed decisions."""

from __future__ import annotations

import ctypes.util
import os

__version__ = "0.1.0"


def _quiet_offline_defaults() -> None:
    # Set before PyTensor or Presidio are imported anywhere: PyTensor links OpenBLAS only when told to
    # (otherwise it warns and runs slower), more BLAS threads slow a 2-chain run down on 2 cores,
    # and tldextract would try to fetch the public suffix list from a host this deployment cannot reach.
    if ctypes.util.find_library("openblas"):
        os.environ.setdefault("PYTENSOR_FLAGS", "blas__ldflags=-lopenblas")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")


_quiet_offline_defaults()
