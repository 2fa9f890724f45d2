"""Compare fitted runs on the same cohort by how well they predict outcomes they did not see.

Why: the shipped models have different structures (additive modifiers; a flexible basis with a
prognostic score and a residual effect term), and a data scientist choosing between runs wants to
know which structure the observed outcomes support.  PSIS-LOO (Vehtari, Gelman & Gabry 2017, as
ArviZ computes it) answers that from each run's own posterior: no refit, no ground truth.  The
advice keeps the preferred (simpler) run unless another predicts clearly better.  What it does not
answer, measured on ACIC 2016 (``docs/models.md``, "Comparing runs"): whether a run's *effect*
intervals are calibrated.  Held-out outcome fit is mostly the prognosis, so it is a diagnostic
beside the model card's coverage figures, not a model selector.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr

from workbench.models.base import TreatmentEffectModel

#: A model is called clearly better when its elpd exceeds the other's by this many standard errors
#: of the difference (the usual reading of LOO differences; below it the comparison is noise).
CLEAR_DIFFERENCE_SE = 2.0

#: Pareto k above which PSIS cannot be trusted for an observation (Vehtari et al. 2024).
PARETO_K_LIMIT = 0.7


def loo(model: TreatmentEffectModel) -> Any:
    """PSIS-LOO of one fitted run (ArviZ's ``ELPDData``, pointwise values included)."""
    ll = model.pointwise_log_likelihood()
    tree = xr.DataTree.from_dict(
        {
            "posterior": xr.Dataset({"_draw": (("chain", "draw"), np.zeros(ll.shape[:2]))}),
            "log_likelihood": xr.Dataset({"outcome": (("chain", "draw", "patient"), ll)}),
        }
    )
    return az.loo(tree, pointwise=True, var_name="outcome")


def _same_cohort(models: Mapping[str, TreatmentEffectModel]) -> None:
    # the data hash covers the patient keys as well as every value
    seen = {name: m.provenance.get("data_hash") for name, m in models.items()}
    if len(set(seen.values())) > 1:
        raise ValueError(f"runs {sorted(seen)} were fitted to different data; LOO compares runs on the same cohort")


@dataclass(frozen=True)
class Comparison:
    """The table ArviZ's ``compare`` gives, the advice read from it, and why."""

    table: pd.DataFrame
    recommended: str
    reason: str
    high_pareto_k: dict[str, float]

    def summary(self) -> pd.DataFrame:
        """The columns a reader needs, rounded: elpd and its SE, the difference to the best and its SE."""
        cols = {
            "elpd": "elpd",
            "se": "SE",
            "elpd_diff": "difference to best",
            "dse": "SE of difference",
            "p": "effective parameters",
            "weight": "stacking weight",
        }
        return self.table[list(cols)].rename(columns=cols).astype(float).round(2)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the full table, the advice and its reason (benchmark records)."""
        rows = {str(name): {str(k): _plain(v) for k, v in row.items()} for name, row in self.table.iterrows()}
        return {
            "table": rows,
            "recommended": self.recommended,
            "reason": self.reason,
            "high_pareto_k": self.high_pareto_k,
        }


def compare_runs(models: Mapping[str, TreatmentEffectModel], *, prefer: str) -> Comparison:
    """Rank fitted runs of the same cohort by elpd (PSIS-LOO) and say which one the data support.

    ``prefer`` names the run to keep unless another predicts held-out outcomes better by more than
    :data:`CLEAR_DIFFERENCE_SE` standard errors of the difference (the simpler model, usually).
    """
    if prefer not in models:
        raise ValueError(f"prefer={prefer!r} is not one of the runs {sorted(models)}")
    if len(models) < 2:
        raise ValueError("compare needs at least two runs")
    _same_cohort(models)
    loos = {name: loo(m) for name, m in models.items()}
    table = az.compare(loos, round_to="none")
    high = {name: float(np.mean(np.asarray(res.pareto_k) > PARETO_K_LIMIT)) for name, res in loos.items()}
    best = str(table.index[0])
    if best == prefer:
        return Comparison(table, prefer, f"{prefer} predicts held-out outcomes best", high)
    # ArviZ's difference to the best run and its standard error from the paired pointwise values
    diff, se = -float(table.loc[prefer, "elpd_diff"]), float(table.loc[prefer, "dse"])  # elpd_diff <= 0
    if diff > CLEAR_DIFFERENCE_SE * se:
        reason = (
            f"{best} predicts held-out outcomes better than {prefer} by {diff:.1f} elpd "
            f"({diff / se:.1f} SE of the difference)"
        )
        return Comparison(table, best, reason, high)
    reason = (
        f"{best} is ahead of {prefer} by {diff:.1f} elpd, within {CLEAR_DIFFERENCE_SE:g} SE of the "
        f"difference ({se:.1f}): {prefer} kept"
    )
    return Comparison(table, prefer, reason, high)


def _plain(value: Any) -> float | str | None:
    """A table cell as strict JSON: numbers as floats, NaN as null, the rest as text."""
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value) if np.isfinite(value) else None
    return str(value)
