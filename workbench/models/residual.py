"""The residual effect term: the part of a patient's effect that a model's effect structure cannot express.

A model's effect function (a finite basis in ``bcf``, additive splines in ``hierarchical``) cannot
express every effect surface: steps on a product, three-way interactions.  Without a term for what
it misses, its posterior is confidently wrong there.  The term is ``r_k(x) ~ N(0, s_resid_k^2)``,
white noise per patient on top of the effect of alternative ``k`` against the reference.  It shows
up only in the outcomes of patients who received ``k`` (their noise variance is ``sigma^2 +
s_resid_k^2``), so the arms' residual variances identify ``s_resid_k``.  If a treatment itself
changes the noise variance, ``s_resid_k`` is over-estimated: intervals get wider, not narrower.

Its prior (``resid_prior``): ``"pc"``, the penalised-complexity prior of Simpson et al. (2017),
exponential with ``P(s_resid_k > resid_pc_upper) = resid_pc_tail`` (outcome SDs; R-INLA's default
tail 0.01 above 1, taken as it is), which shrinks towards the model without the term at a constant
rate; or ``"half_normal"``, ``HalfNormal(resid_scale)``, flat near zero.  Both are sampled *folded*
(``|z|``) so that NUTS meets no boundary at zero (docs/model-validation-log.md, bcf sessions 15 and 18).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from workbench.models.data import row_hash

#: Prefix of the signed variable behind a folded scale; its sign carries no information.
SIGNED_PREFIX = "signed_"
RESIDUAL_PRIORS = ("pc", "half_normal")


def folded_half_normal(name: str, sigma: float) -> Any:
    """``HalfNormal(sigma)`` written as ``|z|`` with ``z ~ Normal(0, sigma)``.

    The same prior, and the same posterior because the likelihood sees only the square; but NUTS
    samples ``z`` with no boundary at zero.  A residual effect scale's posterior is flat from zero
    up to a wall (it is identified only by the arm's extra variance); under the log transform that
    is a long left tail beside a steep right wall, and it was the slowest-mixing quantity of every
    demo fit of bcf (bulk ESS 337-434 per 1,000 draws against 1,421-1,502 folded; docs/model-validation-log.md).
    Scales whose posteriors peak near zero with a long right tail stay log-transformed: folding
    turns those into heavy tails.
    """
    return pm.Deterministic(name, pt.abs(pm.Normal(f"{SIGNED_PREFIX}{name}", 0.0, sigma)))


def folded_exponential(name: str, rate: float) -> Any:
    """``Exponential(rate)`` written as ``|z|`` with ``z ~ Laplace(0, 1 / rate)``: folded, as above."""
    return pm.Deterministic(name, pt.abs(pm.Laplace(f"{SIGNED_PREFIX}{name}", 0.0, 1.0 / rate)))


def pc_rate(upper: float, tail: float) -> float:
    """Rate of the penalised-complexity prior on an SD with ``P(SD > upper) = tail`` (Simpson et al. 2017)."""
    return float(-np.log(tail) / upper)


def residual_scale(name: str, cfg: dict[str, Any]) -> Any:
    """The residual effect SD ``name`` with the prior that ``cfg["resid_prior"]`` names.

    Folded (``|z|``) unless ``cfg["resid_fold"]`` is false, in which case PyMC's own positive
    variable under the log transform: the same prior, a different space for NUTS to move in.
    """
    prior = cfg["resid_prior"]
    if prior not in RESIDUAL_PRIORS:
        raise ValueError(f"resid_prior must be 'pc' or 'half_normal', not {prior!r}")
    fold = bool(cfg.get("resid_fold", True))
    if prior == "pc":
        rate = pc_rate(cfg["resid_pc_upper"], cfg["resid_pc_tail"])
        return folded_exponential(name, rate) if fold else pm.Exponential(name, rate)
    return folded_half_normal(name, cfg["resid_scale"]) if fold else pm.HalfNormal(name, cfg["resid_scale"])


def residual_config(prior: str) -> dict[str, Any]:
    """The residual term's prior settings, for a model's ``default_model_config`` (``prior``: its default)."""
    return {
        # "half_normal": HalfNormal(resid_scale); "pc": exponential with P(SD > resid_pc_upper outcome
        # SDs) = resid_pc_tail (R-INLA's default tail for a random effect's SD)
        "resid_prior": prior,
        "resid_pc_upper": 1.0,
        "resid_pc_tail": 0.01,
        "resid_scale": 0.5,
        # sample the residual SD folded (|z|, default) or under the log transform (same prior)
        "resid_fold": True,
    }


def has_signs(post: Any) -> bool:
    """Whether the posterior holds signed variables behind folded scales."""
    return any(str(v).startswith(SIGNED_PREFIX) for v in post.data_vars)


def without_signs(post: Any) -> Any:
    """The posterior without the signed variables behind folded scales (their sign is unidentified)."""
    return post.drop_vars([v for v in post.data_vars if str(v).startswith(SIGNED_PREFIX)])


def residual_draws(scale: np.ndarray, Z: np.ndarray, k: int, seed: int, draw_idx: np.ndarray) -> np.ndarray:
    """(S, N) draws of ``r_k(x) ~ N(0, s_resid_k^2)``, independent between patients.

    ``scale`` holds every posterior draw of ``s_resid_k``.  The standard-normal draws are keyed by
    the run's seed, the alternative and the covariate row itself, so a patient gets the same draws
    whether predicted as stored or as new, in any batch, after a reload.  The prior (not the
    conditional given this patient's own outcome) is used for every patient: slightly wider.
    """
    total = scale.shape[0]
    eps = np.empty((Z.shape[0], total))
    for i, row in enumerate(Z):
        eps[i] = np.random.default_rng([seed, k, row_hash(row)]).standard_normal(total)
    return scale[draw_idx, None] * eps[:, draw_idx].T
