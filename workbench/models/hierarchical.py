r"""Interpretable hierarchical effect model with shrunken alternative-by-covariate modifiers.

For patient i with basis row b_i (standardised covariates plus restricted-cubic-spline terms of
the continuous ones) and received alternative k::

    eta_ik = alpha + b_i . beta + f(pihat_i) . beta_pi  +  tau_k + b_i . gamma_k
             \_________ prognostic part ___________/     \_ effect of k vs reference _/

with tau_ref = gamma_ref = 0 (v2.2; docs/model-validation-log.md has the measurements behind each choice):

- prognostic part on a thin-QR rotation of the basis, with a prior on the *whole* prognosis
  (N(0, sd^2/J) per rotated column), so adding spline columns does not widen it;
- average effects tau_k pooled towards their common mean by a fixed exchangeable prior (no sampled
  scale, so no funnel);
- modifiers in one block per (alternative, covariate), each block's variance inverse-gamma and
  integrated out analytically: a multivariate Student-t prior per block, the adaptive shrinkage of
  a per-block scale without a scale parameter for NUTS to funnel into (sampled scales gave 2-28
  divergences on the 2,000-patient demo cohort; this gives none).  One block per covariate across
  all alternatives (v2.0, ``modifier_blocks="covariate"``) over-shrank drug-specific modifiers.

Opt-in, continuous outcomes (``tau_residual``): the residual effect term of
:mod:`workbench.models.residual`, white noise per patient on top of each effect for what additive
modifiers cannot express.  Off by default: it widens intervals where interactions are missed (ACIC
2016 setting 4: 62 % -> 91 % coverage, setting 7: 68 % -> 97 %) but on noisy outcomes its width is
its prior's (demo cohort glp1ra: 100 %; docs/model-validation-log.md, sessions 18 and 20).

Why splines: treatment effects are rarely linear in a laboratory value over its whole range (the
glucose-lowering of SGLT2 inhibitors fades below an eGFR of ~45); a linear modifier then
over-states the effect at one end and under-states it at the other.  Restricted cubic splines with
knots at Harrell's default quantiles (Regression Modeling Strategies, 2nd ed., sec. 2.4.6) are the
customary clinical-modelling answer: smooth, linear beyond the outer knots (no wild tails), and
knots placed by the data's quantiles, not by the analyst.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
import scipy.linalg
import xarray as xr
from scipy.special import expit

from workbench.models.base import TreatmentEffectModel, _stack
from workbench.models.data import EffectData
from workbench.models.residual import residual_config, residual_scale

#: Harrell's default knot quantiles by number of knots.
_KNOT_QUANTILES: dict[int, tuple[float, ...]] = {
    3: (0.10, 0.50, 0.90),
    4: (0.05, 0.35, 0.65, 0.95),
    5: (0.05, 0.275, 0.50, 0.725, 0.95),
}


def rcs_terms(x: np.ndarray, knots: np.ndarray) -> np.ndarray:
    """Non-linear terms of a restricted cubic spline (Harrell's form), ``len(knots) - 2`` columns.

    Together with ``x`` itself they span the cubic splines with these knots that are linear below
    the first and above the last knot.  Divided by (t_k - t_1)^2 so the terms are on x's scale.
    """
    t = np.asarray(knots, dtype=float)
    k = len(t)
    d = t[-1] - t[-2]
    cols = [
        (
            np.maximum(x - t[j], 0) ** 3
            - np.maximum(x - t[-2], 0) ** 3 * (t[-1] - t[j]) / d
            + np.maximum(x - t[-1], 0) ** 3 * (t[-2] - t[j]) / d
        )
        / (t[-1] - t[0]) ** 2
        for j in range(k - 2)
    ]
    return np.stack(cols, axis=1) if cols else np.zeros((len(x), 0))


class HierarchicalEffectModel(TreatmentEffectModel):
    """Additive-spline effect model; continuous (Normal / Student-t) or binary (logit) outcomes."""

    name = "hierarchical"
    version = "2.3"
    card_limits = (
        "Each covariate modifies an effect on its own (linear and spline terms, no interactions): where the "
        "true effect depends on combinations of covariates or jumps at thresholds, its intervals are too "
        "narrow (ACIC 2016, docs/models.md). Compare with a bcf run when that is plausible.",
    )

    @property
    def default_sampler_config(self) -> dict[str, Any]:
        """Four chains and nutpie's low-rank mass matrix (measured in docs/model-validation-log.md).

        Low rank: the spline and one-hot columns leave correlated modifiers that a diagonal mass
        matrix steps through slowly; low rank doubled the minimum bulk ESS per second on the demo
        cohort.  Four chains: R-hat from two chains is itself noisy (Vehtari et al. 2021 recommend at
        least four); the model samples in seconds, so the extra chains are cheap.
        """
        return super().default_sampler_config | {"chains": 4, "adaptation": "low_rank"}

    @property
    def default_model_config(self) -> dict[str, Any]:
        """Priors on the standardised scale (outcome / SD for continuous, log-odds for binary)."""
        return {
            "likelihood": "normal",  # or "student_t" (continuous only)
            "intercept_sd": 2.5,
            "prognostic_sd": 1.0,
            # "total" (v2.2): prognostic_sd is the prior SD of the whole prognostic part (each of
            # the J rotated unit-variance columns gets prognostic_sd / sqrt(J)), so the prior
            # variance of a patient's prognosis does not grow with the number of basis columns;
            # "per_column" (v2.1): prognostic_sd per column (prior prognostic SD sqrt(J) times larger).
            "prognostic_prior": "total",
            "tau_scale": 0.5,
            # Prior scale of an effect modifier (standardised outcome per SD of the covariate).
            "modifier_scale": 0.2,
            # "group_t" (default): per-covariate variance integrated out (multivariate Student-t
            # per covariate block); "gamma_scale" / "half_normal_scale": sampled scales.
            "modifier_prior": "group_t",
            "modifier_nu": 3.0,
            # group_t blocks: "alternative" (default) = one block per (alternative, covariate), i.e.
            # that covariate's columns for one alternative; "covariate" = one block per covariate
            # across all alternatives (v2.0; over-shrinks drug-specific modification).
            "modifier_blocks": "alternative",
            # Average effects: "exchangeable" (default) pools the alternatives towards their common
            # mean; "pooled_zero" (v2.0) towards no effect through a sampled scale.
            "tau_prior": "exchangeable",
            # for sampled scales: "covariate" (one per covariate) or "global"
            "modifier_pooling": "covariate",
            # Restricted cubic spline knots for continuous covariates (0 or 2 = linear only).
            "spline_knots": 4,
            # Numeric covariates with at least this many distinct values get spline terms.
            "spline_min_distinct": 10,
            "propensity_feature": "probability",  # or "logit" or "none"
            # Only for sampled scales: with one scale per covariate and most covariates modifying
            # nothing, the centred form's funnel gave 19-28 divergences on the 2,000-patient demo
            # cohort, non-centred 2-15 (docs/model-validation-log.md has the measurements).
            "parameterisation": "non_centred",
            "sigma_scale": 1.0,
            # Continuous outcomes: a residual effect term per alternative, white noise per patient for
            # what additive modifiers cannot express (interactions, thresholds); off by default, as it
            # over-covers the demo cohort, where noise hides it (docs/model-validation-log.md, sessions 18 and 20).
            # Its priors: workbench.models.residual.
            "tau_residual": False,
            **residual_config("pc"),
            "nu_rate": 0.1,
            # Binary outcomes live on the log-odds scale, where a standard logistic error has SD
            # ~1.8 rather than 1: effect priors are widened by this factor so shrinkage is comparable.
            "binary_scale_factor": 2.0,
        }

    # ----- design pieces -----------------------------------------------------------------------
    def _fit_basis(self) -> None:
        """Choose spline columns and knots from the fitted cohort's design (deterministic)."""
        if not (self.design is not None):
            raise RuntimeError("fit or load the model first")
        self._mix = self._onehot(self._t).mean(axis=0)
        Z = self._Z
        n_knots = int(self.model_config["spline_knots"])
        names = list(self.design.feature_names)
        groups = list(self.design.feature_groups)
        self._spline: list[tuple[int, np.ndarray]] = []
        if n_knots >= 3:
            q = _KNOT_QUANTILES[n_knots]
            for j, (name, group) in enumerate(zip(self.design.feature_names, self.design.feature_groups, strict=True)):
                if group not in self.design.numeric or name != group:
                    continue
                if len(np.unique(Z[:, j])) < int(self.model_config["spline_min_distinct"]):
                    continue
                knots = np.quantile(Z[:, j], q)
                if len(np.unique(knots)) < n_knots:
                    continue
                self._spline.append((j, knots))
                names += [f"{name}~rcs{i + 1}" for i in range(n_knots - 2)]
                groups += [group] * (n_knots - 2)
        self.basis_names = tuple(names)
        self.basis_groups = tuple(groups)
        extra = self._spline_raw(Z)
        self._sp_center = extra.mean(axis=0)
        sd = extra.std(axis=0)
        self._sp_scale = np.where(sd > 0, sd, 1.0)
        self._B = self._basis(Z)

    def _spline_raw(self, Z: np.ndarray) -> np.ndarray:
        parts = [rcs_terms(Z[:, j], knots) for j, knots in self._spline]
        return np.concatenate(parts, axis=1) if parts else np.zeros((Z.shape[0], 0))

    def _basis(self, Z: np.ndarray) -> np.ndarray:
        """Design columns plus standardised spline terms (so one prior scale fits all columns)."""
        extra = (self._spline_raw(Z) - self._sp_center) / self._sp_scale
        return np.concatenate([Z, extra], axis=1)

    def _prop_features(self, prop: np.ndarray) -> np.ndarray:
        """Propensity as prognostic covariate(s), standardised with the cohort's centre and scale.

        Default is the probability itself: the multinomial logit is exactly linear in the same
        standardised design, so adding the logit to a linear prognostic part would be perfectly
        collinear (no information, bad geometry); the probability is a non-linear summary of the
        treatment-assignment mechanism, as in BCF.
        """
        if not (self.data is not None):
            raise RuntimeError("fit or load the model first")
        kind = self.model_config["propensity_feature"]
        if kind == "none":
            return np.zeros((prop.shape[0], 0))
        return (self._prop_raw(prop) - self._pf_center) / self._pf_scale

    def _prop_raw(self, prop: np.ndarray) -> np.ndarray:
        if not (self.data is not None):
            raise RuntimeError("fit or load the model first")
        r = self.data.alternatives.index(self.data.reference)
        others = [k for k in range(prop.shape[1]) if k != r]
        p = np.clip(prop, 1e-6, 1 - 1e-6)
        if self.model_config["propensity_feature"] == "probability":
            return p[:, others]
        return np.log(p[:, others] / p[:, [r]])

    def _set_prop_scaling(self) -> None:
        self._pf_center = np.zeros(1)
        self._pf_scale = np.ones(1)
        if not (self._propensity is not None):
            raise RuntimeError("fit or load the model first")
        if self.model_config["propensity_feature"] == "none":
            return
        raw = self._prop_raw(self._propensity)
        self._pf_center = raw.mean(axis=0)
        sd = raw.std(axis=0)
        self._pf_scale = np.where(sd > 0, sd, 1.0)

    def _prepare(self, data: EffectData) -> None:
        super()._prepare(data)
        self._set_prop_scaling()
        self._fit_basis()

    def _after_load(self) -> None:
        self._set_prop_scaling()
        self._fit_basis()

    def _cache_key(self) -> tuple[Any, ...]:
        return (*super()._cache_key(), self._B.shape)

    def _data_values(self) -> dict[str, np.ndarray]:
        if not (self._propensity is not None):
            raise RuntimeError("fit or load the model first")
        mean, sd = self.outcome_scale
        q, r_inv = self._qr(self._B, self._prop_features(self._propensity))
        return {
            "B": self._B,
            "Q_prog": q,
            "R_inv": r_inv,
            # one-hot of the received alternative (reference column dropped: its effect is 0),
            # centred by the cohort's treatment mix so that beta is the slope of the average
            # patient mix rather than of the reference arm alone: same effects, but beta and
            # gamma are no longer strongly anti-correlated, so a diagonal mass matrix suffices.
            "T": self._onehot(self._t) - self._mix,
            "y": (self._y - mean) / sd,
        } | ({"T_arm": self._onehot(self._t)} if self._residual() else {})

    # ----- model -------------------------------------------------------------------------------
    def build_model(self, data: EffectData) -> pm.Model:
        """Build the PyMC model on the prepared design (call via :meth:`fit`)."""
        cfg = self.model_config
        K = len(data.alternatives)
        values = self._data_values()
        Q = values["B"].shape[1]
        n_prop = values["Q_prog"].shape[1] - Q
        f = cfg["binary_scale_factor"] if data.outcome_kind == "binary" else 1.0
        centred = cfg["parameterisation"] == "centred"
        group_names = list(dict.fromkeys(self.basis_groups))
        group_of = np.array([group_names.index(g) for g in self.basis_groups])
        coords = {
            "feature": list(self.basis_names),
            "covariate": group_names,
            "effect_alternative": [a for a in data.alternatives if a != data.reference],
            "propensity_feature": list(range(n_prop)),
        }
        with pm.Model(coords=coords) as model:
            B = pm.Data("B", values["B"])
            y = pm.Data("y", values["y"])
            alpha = pm.Normal("alpha", 0.0, cfg["intercept_sd"])
            # Prognostic part on the thin-QR rotation of [B, F] (Stan User's Guide, "QR
            # reparameterization"): spline terms are strongly correlated with their linear term,
            # and orthogonal columns give the sampler an isotropic posterior.  The prior acts on the
            # rotated coefficients.  v2.2 ("total"): N(0, prognostic_sd^2 / J) on each of the J
            # unit-variance columns, so the prior SD of a patient's prognosis is prognostic_sd
            # whatever J (the s^2/n block prior of the bcf model; R^2-type priors, Zhang et al.
            # 2022).  v2.1 gave each column N(0, prognostic_sd^2): a prior prognostic SD of
            # sqrt(J) ~ 5 outcome SD or log-odds for the demo's 26 columns, which on a binary
            # outcome with ~200 events let every arm's risk curve overfit (risk-difference spread
            # 3-5x the truth, intervals confidently wrong; docs/model-validation-log.md).
            Qm = pm.Data("Q_prog", values["Q_prog"])
            R_inv = pm.Data("R_inv", values["R_inv"])
            n_prog = values["Q_prog"].shape[1]
            prog_sd = float(cfg["prognostic_sd"])
            if cfg["prognostic_prior"] == "total":
                prog_sd /= np.sqrt(max(n_prog, 1))
            theta = pm.Normal("theta_prog", 0.0, prog_sd, shape=n_prog)
            coef = pt.dot(R_inv, theta)
            pm.Deterministic("beta", coef[:Q], dims="feature")
            pm.Deterministic("beta_pi", coef[Q:], dims="propensity_feature")
            if K > 2 and cfg["tau_prior"] == "exchangeable":
                # tau_k = m + d_k, m ~ N(0, 2 s_tau), d_k ~ N(0, s_tau), with m integrated out: a
                # compound-symmetry Normal.  The alternatives are partially pooled towards their
                # common mean rather than towards "no effect" (a pooled scale shrank the demo's
                # all-positive adverse-event effects to the null), and with no scale to sample
                # there is no funnel (a sampled tau_sd with a free mean gave 2-13 divergences).
                st = cfg["tau_scale"] * f
                cov = st**2 * np.eye(K - 1) + (2 * st) ** 2 * np.ones((K - 1, K - 1))
                tau = pm.MvNormal("tau", mu=np.zeros(K - 1), cov=cov, dims="effect_alternative")
            elif K > 2:
                tau_sd = pm.Gamma("tau_sd", alpha=2.0, beta=2.0 / (cfg["tau_scale"] * f))
                tau = pm.Normal("tau", 0.0, tau_sd, dims="effect_alternative")
            else:
                tau = pm.Normal("tau", 0.0, cfg["tau_scale"] * 2 * f, dims="effect_alternative")
            s = cfg["modifier_scale"] * f
            if cfg["modifier_prior"] == "group_t":
                # Covariate g's block of modifiers (all alternatives, all its columns) shares one
                # variance v_g ~ InvGamma(nu/2, nu s^2/2); integrating v_g out analytically gives a
                # multivariate Student-t block prior.  Same adaptive, partially pooled shrinkage as
                # a sampled per-covariate scale, but no scale left to sample: no funnel, no
                # divergences, and nothing slow-mixing (measured in docs/model-validation-log.md).
                nu = float(cfg["modifier_nu"])
                members = (group_of[:, None] == np.arange(len(group_names))[None, :]).astype(float)
                gamma = pm.Flat("gamma", dims=("effect_alternative", "feature"))
                if cfg["modifier_blocks"] == "covariate":
                    size = members.sum(axis=0) * (K - 1)
                    ss = pt.dot((gamma**2).sum(axis=0), pt.as_tensor(members))  # (groups,)
                else:
                    size = members.sum(axis=0)[None, :]
                    ss = pt.dot(gamma**2, pt.as_tensor(members))  # (alternatives, groups)
                pm.Potential(
                    "modifier_group_t_prior",
                    (-(nu + pt.as_tensor(size)) / 2.0 * pt.log1p(ss / (nu * s**2))).sum(),
                )
            else:
                # A sampled per-covariate (or global) scale; kept for comparison (it funnels).
                dims = "covariate" if cfg["modifier_pooling"] == "covariate" else None
                if cfg["modifier_prior"] == "gamma_scale":
                    c_scale = pm.Gamma("modifier_scale", alpha=2.0, beta=2.0 / s, dims=dims)
                else:
                    c_scale = pm.HalfNormal("modifier_scale", s, dims=dims)
                g_scale = c_scale[group_of] if dims else c_scale
                if centred:
                    gamma = pm.Normal("gamma", 0.0, g_scale, dims=("effect_alternative", "feature"))
                else:
                    gamma_raw = pm.Normal("gamma_raw", 0.0, 1.0, dims=("effect_alternative", "feature"))
                    gamma = pm.Deterministic("gamma", gamma_raw * g_scale, dims=("effect_alternative", "feature"))
            # One-hot products instead of gamma[t] indexing: same maths, but the gradient of fancy
            # indexing is an advanced inc-subtensor that numba takes ~10 s to compile.
            T = pm.Data("T", values["T"])
            eta = alpha + pt.dot(Qm, theta) + pt.dot(T, tau) + (T * pt.dot(B, gamma.T)).sum(axis=1)
            if data.outcome_kind == "binary":
                pm.Bernoulli("obs", logit_p=eta, observed=y)
            else:
                sigma = pm.HalfNormal("sigma", cfg["sigma_scale"])
                scale = sigma
                if self._residual():
                    # the residual effect shows up as extra noise in the arm that received k only:
                    # the plain one-hot, not the centred T above (centred, the reference arm's noise
                    # would shrink by the mix-weighted residual variances; fixed in 2.3)
                    s_resid = pt.stack([residual_scale(f"s_resid_{k}", cfg) for k in self._nonref()])
                    scale = pt.sqrt(sigma**2 + pt.dot(pm.Data("T_arm", values["T_arm"]), s_resid**2))
                if cfg["likelihood"] == "student_t":
                    nu = pm.Exponential("nu_minus_one", cfg["nu_rate"]) + 1.0
                    pm.StudentT("obs", nu=nu, mu=eta, sigma=scale, observed=y)
                else:
                    pm.Normal("obs", mu=eta, sigma=scale, observed=y)
        return model

    @staticmethod
    def _qr(B: np.ndarray, F: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Scaled thin QR of the prognostic design: ([B, F] = Q* R*, R*^-1), Q* columns unit-variance."""
        X = np.concatenate([B, F], axis=1)
        scale = np.sqrt(max(X.shape[0] - 1, 1))
        # A small cohort can hold a constant column (a rare category absent) or an exact copy of
        # another: keep a full-rank subset (QR with column pivoting) and give the others a zero
        # column in Q* and a zero row in R*^-1, so their coefficients are exactly 0 and never add
        # prior noise to new patients' predictions.
        _, r_piv, pivots = scipy.linalg.qr(X, mode="economic", pivoting=True)
        diag = np.abs(np.diag(r_piv))
        tol = diag.max(initial=0.0) * max(X.shape) * np.finfo(float).eps
        live = np.sort(pivots[: int((diag > tol).sum())])
        q_live, r_live = np.linalg.qr(X[:, live])
        q = np.zeros_like(X)
        q[:, live] = q_live * scale
        r_inv = np.zeros((X.shape[1], X.shape[1]))
        r_inv[np.ix_(live, live)] = np.linalg.inv(r_live / scale)
        return q, r_inv

    def _onehot(self, t: np.ndarray) -> np.ndarray:
        return (t[:, None] == self._nonref()[None, :]).astype(float)

    def _nonref(self) -> np.ndarray:
        if not (self.data is not None):
            raise RuntimeError("fit or load the model first")
        r = self.data.alternatives.index(self.data.reference)
        return np.array([k for k in range(len(self.data.alternatives)) if k != r])

    # ----- posterior maths ---------------------------------------------------------------------
    def _diagnostic_posterior(self) -> xr.Dataset:
        """Model parameters only, not the sampler's auxiliary coordinates.

        ``gamma_raw`` / ``theta_prog`` are reparameterisations whose model-scale images (``gamma``,
        ``beta``, ``beta_pi``) are checked instead.
        """
        post = super()._diagnostic_posterior()
        return post.drop_vars([v for v in ("gamma_raw", "theta_prog") if v in post])

    def _params(self, draw_idx: np.ndarray) -> dict[str, np.ndarray]:
        if not (self.idata is not None and self.data is not None):
            raise RuntimeError("fit or load the model first")
        post = self._group("posterior")
        out = {v: _stack(post[v])[draw_idx] for v in ("alpha", "beta", "beta_pi", "tau", "gamma")}
        r = self.data.alternatives.index(self.data.reference)
        S = len(draw_idx)
        out["tau_full"] = np.insert(out["tau"], r, 0.0, axis=1)
        out["gamma_full"] = np.insert(out["gamma"], r, np.zeros((S, out["gamma"].shape[2])), axis=1)
        return out

    def _eta(self, Z: np.ndarray, prop: np.ndarray, draw_idx: np.ndarray, residual: bool = True) -> np.ndarray:
        p = self._params(draw_idx)
        F = self._prop_features(prop)
        B = self._basis(Z)
        base = p["alpha"][:, None] + p["beta"] @ B.T + p["beta_pi"] @ F.T  # (S, N)
        effect = p["tau_full"][:, None, :] + np.einsum("nq,skq->snk", B, p["gamma_full"])  # (S, N, K)
        # the centred treatment coding: the prognostic part is that of the cohort's treatment mix
        mix = np.zeros(effect.shape[2])
        mix[self._nonref()] = self._mix
        eta = (base - effect @ mix)[:, :, None] + effect
        if residual and self._residual():
            for k in self._nonref():
                eta[:, :, k] += self._residual_draws(Z, k, draw_idx)
        return eta

    def _expected_outcomes(
        self, Z: np.ndarray, propensity: np.ndarray, draw_idx: np.ndarray, residual: bool = True
    ) -> np.ndarray:
        if not (self.data is not None):
            raise RuntimeError("fit or load the model first")
        eta = self._eta(Z, propensity, draw_idx, residual)
        if self.data.outcome_kind == "binary":
            return expit(eta)
        mean, sd = self.outcome_scale
        return mean + sd * eta

    def _noise_draws(self, draw_idx: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        if not (self.idata is not None):
            raise RuntimeError("fit or load the model first")
        post = self._group("posterior")
        scale = _stack(post["sigma"])[draw_idx] * self.outcome_scale[1]
        nu = None
        if self.model_config["likelihood"] == "student_t":
            nu = _stack(post["nu_minus_one"])[draw_idx] + 1.0
        return scale, nu

    def drivers(self, X_row: pd.DataFrame, alternative: str, reference: str) -> pd.DataFrame:
        """Exact additive decomposition of this patient's effect (alternative vs reference).

        On the linear-predictor scale the effect is (tau_a - tau_r) + sum_p z_p (gamma_ap - gamma_rp);
        each covariate's contribution sums its design columns (all levels of a categorical).  Because
        z is standardised, zero means "as the cohort average", so a contribution is how much this
        patient's value moves the effect away from the average patient's.  Units: outcome units
        for continuous outcomes, log-odds for binary ones (column ``scale``).
        """
        self._require_fitted()
        if not (self.design is not None and self.data is not None):
            raise RuntimeError("fit or load the model first")
        a = self.data.alternatives.index(alternative)
        r = self.data.alternatives.index(reference)
        z = self._basis(self.design.transform(X_row[list(self.design.columns)]))[0]
        p = self._params(self._draw_index())
        dg = p["gamma_full"][:, a, :] - p["gamma_full"][:, r, :]  # (S, P)
        per_feature = dg * z
        groups = np.asarray(self.basis_groups)
        unit = self.outcome_scale[1] if self.data.outcome_kind == "continuous" else 1.0
        rows = {"(average patient)": (p["tau_full"][:, a] - p["tau_full"][:, r]) * unit}
        for col in self.design.columns:
            rows[col] = per_feature[:, groups == col].sum(axis=1) * unit
        values = {c: X_row[c].iloc[0] for c in self.design.columns}
        return pd.DataFrame(
            {
                "value": [None, *[values[c] for c in self.design.columns]],
                "mean": [v.mean() for v in rows.values()],
                "q05": [np.quantile(v, 0.05) for v in rows.values()],
                "q95": [np.quantile(v, 0.95) for v in rows.values()],
                "scale": "outcome" if self.data.outcome_kind == "continuous" else "log-odds",
            },
            index=pd.Index(list(rows), name="covariate"),
        )
