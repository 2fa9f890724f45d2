"""Bayesian treatment-effect models: base class, registry, models, diagnostics, persistence.

Compiled-model caches live under ``$WORKBENCH_CACHE_DIR`` (default ``~/.cache/workbench``) so the
next process start reuses PyTensor's C modules instead of recompiling them; set before PyTensor
is imported, and never overriding a compiledir the user chose.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def _configure_caches() -> None:
    root = Path(os.environ.get("WORKBENCH_CACHE_DIR", Path.home() / ".cache" / "workbench"))
    flags = os.environ.get("PYTENSOR_FLAGS", "")
    if "pytensor" not in sys.modules and "compiledir" not in flags:
        os.environ["PYTENSOR_FLAGS"] = ",".join(f for f in (flags, f"base_compiledir={root / 'pytensor'}") if f)
    os.environ.setdefault("NUMBA_CACHE_DIR", str(root / "numba"))


_configure_caches()

from workbench.models.base import ModelLoadError, TreatmentEffectModel  # noqa: E402
from workbench.models.data import Design, EffectData  # noqa: E402
from workbench.models.diagnostics import Diagnostics  # noqa: E402
from workbench.models.posterior import EffectPosterior, PatientEffects  # noqa: E402
from workbench.models.registry import available_models, get_model, register_model  # noqa: E402

__all__ = [
    "Design",
    "Diagnostics",
    "EffectData",
    "EffectPosterior",
    "ModelLoadError",
    "PatientEffects",
    "TreatmentEffectModel",
    "available_models",
    "get_model",
    "register_model",
]
