"""Convergence and fit diagnostics that gate whether a run's numbers may be trusted.

A run that fails is not hidden: it is stored and shown, but marked unreliable with the reasons in
plain words so a clinician can see why.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import arviz as az
import numpy as np
import xarray as xr

DEFAULT_THRESHOLDS: dict[str, float] = {
    "rhat_max": 1.01,
    "ess_bulk_min": 400.0,
    "ess_tail_min": 400.0,
    "divergences_max": 0,
    # Continuous: share of observed outcomes inside their 90% predictive interval.
    "ppc_coverage_min": 0.80,
    "ppc_coverage_max": 0.97,
    # Binary: expected calibration error (10 equal-count bins of predicted risk).
    "ppc_calibration_max": 0.05,
}


@dataclass
class Diagnostics:
    """Summary of a run's convergence and posterior predictive check."""

    rhat_max: float
    ess_bulk_min: float
    ess_tail_min: float
    divergences: int
    n_draws: int
    n_chains: int
    ppc: dict[str, float]
    approximate: bool = False
    passed: bool = False
    reasons: list[str] = field(default_factory=list)
    thresholds: dict[str, float] = field(default_factory=dict)
    #: The gates behind ``reasons``: ``approximate``, ``chains``, ``rhat``, ``ess_bulk``, ``ess_tail``,
    #: ``divergences``, ``ppc`` (what a caller acts on; the reasons are for people).
    failed: list[str] = field(default_factory=list)

    def failed_only_on_ess(self) -> bool:
        """The gate failed on effective sample size alone: Monte Carlo error, which more draws shrink."""
        return bool(self.failed) and set(self.failed) <= {"ess_bulk", "ess_tail"}

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (NaN becomes None)."""
        d = asdict(self)
        for k, v in list(d.items()):
            if isinstance(v, float) and not np.isfinite(v):
                d[k] = None
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Diagnostics:
        """Rebuild from :meth:`to_dict` output."""
        d = dict(d)
        for k in ("rhat_max", "ess_bulk_min", "ess_tail_min"):
            d[k] = float("nan") if d.get(k) is None else float(d[k])
        return cls(**d)

    def label(self) -> str:
        """Short status for any surface that shows this run's numbers."""
        if self.approximate:
            return "approximate (preview fit: not checked for convergence)"
        return "passed" if self.passed else "UNRELIABLE: " + "; ".join(self.reasons)


def _minmax(ds: xr.Dataset, how: str) -> float:
    vals = [np.asarray(v) for v in ds.data_vars.values()]
    vals = [v[np.isfinite(v)] for v in vals if v.size]
    vals = [v for v in vals if v.size]
    if not vals:
        return float("nan")
    flat = np.concatenate([v.ravel() for v in vals])
    return float(flat.max() if how == "max" else flat.min())


def convergence(posterior: xr.Dataset) -> tuple[float, float, float]:
    """(max R-hat, min bulk ESS, min tail ESS) over every variable in a (chain, draw, ...) dataset."""
    return (
        _minmax(az.rhat(posterior), "max"),
        _minmax(az.ess(posterior, method="bulk"), "min"),
        _minmax(az.ess(posterior, method="tail"), "min"),
    )


def ppc_continuous(
    mean_draws: np.ndarray,
    noise_draws: np.ndarray,
    y: np.ndarray,
    rng: np.random.Generator,
    nu_draws: np.ndarray | None = None,
) -> dict[str, float]:
    """Coverage of observed outcomes by their 90% posterior predictive intervals.

    ``mean_draws`` (S, N) is each patient's expected outcome under the alternative received,
    ``noise_draws`` (S,) the residual scale; Student-t noise when ``nu_draws`` is given.
    """
    S = mean_draws.shape[0]
    if nu_draws is None:
        eps = rng.standard_normal(mean_draws.shape)
    else:
        eps = rng.standard_t(nu_draws[:, None], size=mean_draws.shape)
    y_rep = mean_draws + noise_draws.reshape(S, 1) * eps
    lo, hi = np.quantile(y_rep, [0.05, 0.95], axis=0)
    return {"coverage_90": float(np.mean((y >= lo) & (y <= hi)))}


def ppc_binary(prob_draws: np.ndarray, y: np.ndarray, n_bins: int = 10) -> dict[str, float]:
    """Calibration of predicted risk against observed events (expected calibration error)."""
    p = prob_draws.mean(axis=0)
    order = np.argsort(p, kind="stable")
    bins = np.array_split(order, n_bins)
    ece = sum(len(b) * abs(p[b].mean() - y[b].mean()) for b in bins if len(b)) / len(y)
    return {"calibration_error": float(ece), "brier": float(np.mean((p - y) ** 2))}


def evaluate(
    *,
    posterior: xr.Dataset,
    divergences: int,
    ppc: dict[str, float],
    approximate: bool,
    thresholds: dict[str, float] | None = None,
) -> Diagnostics:
    """Compute diagnostics and the pass/fail gate with plain-language reasons."""
    th = DEFAULT_THRESHOLDS | (thresholds or {})
    n_chains = int(posterior.sizes.get("chain", 1))
    n_draws = int(posterior.sizes.get("draw", 0))
    if approximate or n_chains < 2:
        rhat, ess_b, ess_t = float("nan"), float("nan"), float("nan")
        if not approximate:
            ess_b = _minmax(az.ess(posterior, method="bulk"), "min")
            ess_t = _minmax(az.ess(posterior, method="tail"), "min")
    else:
        rhat, ess_b, ess_t = convergence(posterior)
    reasons: list[str] = []
    failed: list[str] = []

    def fail(gate: str, reason: str) -> None:
        failed.append(gate)
        reasons.append(reason)

    if approximate:
        fail("approximate", "approximate preview fit (variational): not an exact posterior")
    else:
        if n_chains < 2:
            fail("chains", "only one chain: R-hat cannot check that chains agree")
        elif not rhat <= th["rhat_max"]:
            fail("rhat", f"R-hat {rhat:.3f} above {th['rhat_max']}: chains disagree")
        if not ess_b >= th["ess_bulk_min"]:
            fail(
                "ess_bulk",
                f"bulk ESS {ess_b:.0f} below {th['ess_bulk_min']:.0f}: too few effective draws for stable averages"
            )
        if not ess_t >= th["ess_tail_min"]:
            fail("ess_tail", f"tail ESS {ess_t:.0f} below {th['ess_tail_min']:.0f}: interval ends are unstable")
        if divergences > th["divergences_max"]:
            fail(
                "divergences",
                f"{divergences} divergent transitions: the sampler could not explore part of "
                "the posterior, so it may be biased"
            )
    if "coverage_90" in ppc:
        c = ppc["coverage_90"]
        if not th["ppc_coverage_min"] <= c <= th["ppc_coverage_max"]:
            fail(
                "ppc",
                f"posterior predictive check: 90% intervals hold {c:.0%} of observed outcomes "
                f"(expected {th['ppc_coverage_min']:.0%}-{th['ppc_coverage_max']:.0%}): the "
                "model misdescribes the outcome spread"
            )
    if "calibration_error" in ppc and ppc["calibration_error"] > th["ppc_calibration_max"]:
        fail(
            "ppc",
            f"posterior predictive check: predicted risks off by {ppc['calibration_error']:.3f} "
            f"on average (limit {th['ppc_calibration_max']}): poorly calibrated"
        )
    return Diagnostics(
        rhat_max=rhat,
        ess_bulk_min=ess_b,
        ess_tail_min=ess_t,
        divergences=int(divergences),
        n_draws=n_draws,
        n_chains=n_chains,
        ppc=ppc,
        approximate=approximate,
        passed=not reasons,
        reasons=reasons,
        thresholds=dict(th),
        failed=failed,
    )
