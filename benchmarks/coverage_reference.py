"""What one cohort's coverage of individual effects looks like when the posterior is exactly calibrated.

Usage::

    python benchmarks/coverage_reference.py [--n 2000] [--seed 20240601] [--cohorts 400]
        [--shared ../shared/data] [--acic-rows 1000]

The recovery benchmark scores each (seed, alternative) pair by the share of patients whose true
effect lies inside their 90 % interval, against a 85-97 % window.  That share is itself random: the
patients' interval errors share the error of the average effect and of each modifier, so a whole
cohort's intervals move together.  This prints how often a posterior that is calibrated *by
construction* lands outside the window, on the demo cohort's own covariates and treatment mix:
outcomes are drawn from the prior of a conjugate Gaussian model (prognosis, average effects and
alternative-by-covariate modifiers on the standardised covariates, known noise SD 1, prior scales
those of the hierarchical model), and each draw's exact posterior gives the intervals.  Averaged
over cohorts the coverage is 90 % (Bayesian calibration); the spread around it is the yardstick for
the per-pair counts in ``models_bench.py``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.models.data import Design
from workbench.models.hierarchical import HierarchicalEffectModel
from workbench.testing import DEMO_ALTERNATIVES, demo_effect_data


def calibrated_coverage(
    Z: np.ndarray,
    t: np.ndarray,
    K: int,
    *,
    cohorts: int,
    rng: np.random.Generator,
    tau_sd: float = 0.5,
    modifier_sd: float = 0.2,
    truth_modifier_sd: float | None = None,
) -> np.ndarray:
    """Coverage of the true effects (vs arm 0) by exact 90 % intervals, per simulated cohort and alternative.

    ``truth_modifier_sd`` draws the true modifiers from another scale than the prior's (a
    mis-specified, no longer calibrated posterior); by default the truth comes from the prior.
    """
    n, p = Z.shape
    E = np.column_stack([np.ones(n), Z])  # effect of alternative k for patient i = E_i . w_k
    onehot = t[:, None] == np.arange(1, K)[None, :]
    D = np.column_stack([E, *(onehot[:, [k]] * E for k in range(K - 1))])

    def scales(modifier: float) -> np.ndarray:
        return np.concatenate([[2.5], np.full(p, 1 / np.sqrt(p)), *([[tau_sd], np.full(p, modifier)] * (K - 1))])

    prior_sd = scales(modifier_sd)
    truth_sd = scales(modifier_sd if truth_modifier_sd is None else truth_modifier_sd)
    post_cov = np.linalg.inv(D.T @ D + np.diag(1 / prior_sd**2))
    blocks = [slice((1 + p) * (k + 1), (1 + p) * (k + 2)) for k in range(K - 1)]
    sds = [np.sqrt(np.einsum("ij,jk,ik->i", E, post_cov[b, b], E)) for b in blocks]
    out = np.empty((cohorts, K - 1))
    for c in range(cohorts):
        w = rng.normal(size=D.shape[1]) * truth_sd
        y = D @ w + rng.normal(size=n)
        m = post_cov @ (D.T @ y)
        for k, b in enumerate(blocks):
            out[c, k] = np.mean(np.abs(E @ (w[b] - m[b])) <= 1.6449 * sds[k])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--cohorts", type=int, default=400)
    ap.add_argument("--shared", type=Path, default=Path("../shared/data"), help="for ACIC 2016's design, if there")
    ap.add_argument("--acic-rows", type=int, default=1000, help="rows subsampled as in models_bench.py")
    args = ap.parse_args()
    _, data, _ = demo_effect_data(args.n, args.seed)
    model = HierarchicalEffectModel()
    model._prepare(data)  # its design only (no sampling): the covariates and their spline terms
    t = data.treatment_index
    K = len(data.alternatives)
    for label, Z in (("linear", model._Z), ("with spline terms", model._B)):
        cov = calibrated_coverage(Z, t, K, cohorts=args.cohorts, rng=np.random.default_rng(args.seed))
        mix = np.round(np.bincount(t, minlength=K) / len(t), 3)
        print(
            f"\nExactly calibrated posterior on the demo cohort's design, {label} (N={args.n}, {Z.shape[1]} "
            f"columns, K={K}, treatment mix {mix}; {args.cohorts} cohorts)"
        )
        _report(cov, DEMO_ALTERNATIVES[1:], pairs=18)
    root = args.shared / "acic2016"
    if not (root / "x.csv").exists():
        print(f"\nACIC 2016 design: skipped, {root} not found")
        return
    X = pd.read_csv(root / "x.csv")
    idx = np.sort(np.random.default_rng(args.seed).choice(len(X), size=min(args.acic_rows, len(X)), replace=False))
    Z = Design.fit(X.iloc[idx].reset_index(drop=True)).transform(X.iloc[idx].reset_index(drop=True))
    for s in (1, 5, 9, 10):
        t = (pd.read_csv(root / f"zymu_{s}.csv")["z"].to_numpy()[idx] == 1).astype(np.int64)
        cov = calibrated_coverage(Z, t, 2, cohorts=args.cohorts, rng=np.random.default_rng(args.seed))
        print(
            f"\nExactly calibrated posterior on ACIC 2016's design, setting {s}'s assignment ({len(Z)} rows, "
            f"{Z.shape[1]} columns, {t.mean():.0%} treated; {args.cohorts} cohorts)"
        )
        _report(cov, ("treated",), pairs=1)
    # settings 2 and 3: one true effect for every patient (SD of mu1 - mu0 ~1e-14); the posterior is
    # still the heterogeneity-shrinking one, the truth sits at its shrinkage target
    t = (pd.read_csv(root / "zymu_2.csv")["z"].to_numpy()[idx] == 1).astype(np.int64)
    cov = calibrated_coverage(
        Z, t, 2, cohorts=args.cohorts, rng=np.random.default_rng(args.seed), truth_modifier_sd=0.0
    )
    print(
        f"\nSame posterior on ACIC 2016's design, setting 2's assignment, a CONSTANT true effect "
        f"({t.mean():.0%} treated; {args.cohorts} cohorts, modifiers still shrunk with the fixed prior scale)"
    )
    _report(cov, ("treated",), pairs=1)


def _report(cov: np.ndarray, alternatives: tuple[str, ...], pairs: int) -> None:
    outside = (cov < 0.85) | (cov > 0.97)
    for k, a in enumerate(alternatives):
        lo, mid, hi = np.quantile(cov[:, k], [0.05, 0.5, 0.95])
        print(
            f"  {a:>14}: mean coverage {cov[:, k].mean():.1%}, median {mid:.1%}, 5-95 % of cohorts "
            f"{lo:.1%}-{hi:.1%}, 1 % of cohorts below {np.quantile(cov[:, k], 0.01):.1%}; "
            f"outside 85-97 %: {outside[:, k].mean():.1%} of cohorts"
        )
    if pairs > 1:
        print(
            f"  all pairs: {outside.mean():.1%} outside 85-97 % (expected misses in {pairs} pairs: "
            f"{pairs * outside.mean():.1f}; P(all {pairs} inside) ~ {(1 - outside.mean()) ** pairs:.3f} if independent)"
        )


if __name__ == "__main__":
    main()
