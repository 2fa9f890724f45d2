"""Flexible treatment-effect model in the manner of Bayesian Causal Forests (Hahn, Murray & Carvalho 2020).

    eta_i = mu(x_i, pihat_i) + sum_{k != ref} 1[t_i = k] tau_k(x_i)

As in BCF, the prognostic function ``mu`` sees the covariates AND the estimated propensities (so it
can absorb confounding through the assignment mechanism), each non-reference alternative has its
own effect function ``tau_k`` of the covariates only, and heterogeneity is shrunk towards a constant
effect harder than the prognostic part.

Unlike BCF the functions are not sums of trees but **sums of basis functions with hierarchical
shrinkage**, because PGBART chains do not mix (bcf 1.x: bulk ESS ~5 per 1,000 draws on ACIC 2016,
R-hat up to 1.9 on the average effect) while this construction samples with NUTS:

* each function = linear terms + restricted cubic splines of every continuous input (Harrell's
  knots) + steps between the levels of coarse inputs (2.3, below) + a fixed dictionary of random
  *two-variable hinges* ``max(0, u.(x_a, x_b) - c)`` (MARS-like piecewise-linear interactions, knots
  at data points), all columns standardised;
* every block (linear / spline / interaction, for mu and for the tau's) has one scale
  ``s_g`` with a half-normal prior; a column's prior variance is ``s_g^2 / n_g`` so a block's total
  prior variance does not grow with its size.  Heterogeneity blocks get a tighter prior
  (``tau_scale``) than prognostic ones (``mu_scale``): shrinkage towards a homogeneous effect;
* continuous outcomes: the Gaussian weights are **integrated out analytically** (Woodbury identity
  on the sufficient statistics ``Phi'Phi``, ``Phi'y``), so NUTS samples only sigma and the scales
  (no funnels, no tree moves), and the weights are then drawn exactly from their conditional
  Gaussian for every posterior draw;
* binary outcomes: Bernoulli-logit with the weights sampled by NUTS (non-centred);
* continuous outcomes, since 2.1: a **residual effect term** per non-reference alternative,
  ``tau_k(x) = basis part + r_k(x)`` with ``r_k`` white noise of scale ``s_resid_k`` (half-normal,
  ``resid_scale``).  A finite basis cannot express every effect surface (steps on a product, three-way
  terms); without this term its posterior is confidently wrong there (2.0: 90 % intervals covered
  52-86 % of true effects).  Effect heterogeneity the basis misses shows up as extra outcome variance
  in the arm that received ``k`` only, so ``s_resid_k`` is identified by the arms' residual variances
  (integrated out like the rest: arm-specific noise ``sigma^2 + s_resid_k^2``).  If the treatment
  itself changes the noise variance, ``s_resid_k`` is over-estimated: intervals get wider, not narrower.
  Since 2.4 ``s_resid_k`` is sampled *folded* (``|z|``, same prior and posterior, no log transform),
  and the integrated likelihood is evaluated in prior-SD units (no ``1/d``): same model, and the
  demo cohort's fit no longer needs extra draws to pass the ESS gate.  Opt-in, ``resid_prior:
  "pc"``: the *penalised-complexity* prior (Simpson et al. 2017), exponential with ``P(s_resid_k >
  1 outcome SD) = 0.01``, which shrinks towards the basis-only model and narrows the demo cohort's
  intervals a little, but left the sampler short of the ESS gate on ACIC 2016 settings 9 and 10, so
  it is not the default (docs/model-validation-log.md, session 18).
* since 2.2, continuous outcomes: a **cross-fitted prognostic score** (boosted trees' out-of-fold
  estimate of the outcome under the reference given the covariates, learnt from the reference arm;
  :mod:`workbench.models.prognostic`) is one more input of ``mu``, with its own linear + spline
  block, as the propensity is in BCF.  Where the prognosis has interactions and steps the basis
  cannot follow, the leftover prognosis had inflated the noise and leaked into the effects (ACIC
  2016 settings 9 / 10: noise SD estimated at ~3.9 against a true 1, 61-65 % coverage).  The effect
  functions take the score as an input too (``prognostic_score_in_effects``): benefit that grows or
  shrinks with baseline risk is the commonest form of heterogeneity in trials, and risk modelling is
  what the PATH statement (Kent et al. 2020) recommends first for it.  The score is itself a function
  of the covariates, so the effects stay functions of the covariates.
* since 2.3: **step columns** ``1[x > c]`` between adjacent levels of every input with 3 to 9 distinct
  values (counts, scores, ordinal grades), in ``mu`` and in the effect functions, where a spline cannot
  be placed and the linear term alone forces equal differences between levels.  ACIC 2016's two
  under-covered settings are effects that step between a zero-inflated count's zero and its other
  levels (setting 1: +3.2 where x_8 = 0, about -8.4 elsewhere); 2.2 had only a linear term for such
  inputs, and its effects for the nonzero patients were biased (docs/model-validation-log.md, session 14).

The dictionary is a deterministic function of the cohort and ``basis_seed``; a reloaded run
rebuilds it from the stored design and propensities, so stored and new patients are predicted from
the same weights draw by draw.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pymc as pm
import pytensor.tensor as pt
import xarray as xr
from scipy.linalg import cho_solve, cholesky, solve_triangular
from scipy.special import expit

from workbench.models.base import ModelLoadError, TreatmentEffectModel, _stack
from workbench.models.data import EffectData
from workbench.models.hierarchical import _KNOT_QUANTILES, rcs_terms
from workbench.models.prognostic import PrognosticScore
from workbench.models.residual import residual_config, residual_scale

_GROUPS = ("lin", "spl", "int")
#: Fewest reference-arm patients the prognostic score is learnt from: below this, trees with the
#: default 20 patients per leaf split a fold's training set at most once or twice, so the score would
#: be near-constant noise, and the model is 2.1's.
_MIN_SCORE_ARM = 50


@dataclass(frozen=True)
class FunctionBasis:
    """A fixed dictionary of features of one input matrix (fitted on the cohort, reused on new rows)."""

    in_center: np.ndarray  # standardisation of the input columns
    in_scale: np.ndarray
    spline: tuple[tuple[int, np.ndarray], ...]  # (input column, knots)
    steps: tuple[tuple[int, np.ndarray], ...]  # (input column, thresholds between its levels)
    pairs: np.ndarray  # (H, 2) input columns of each hinge
    direction: np.ndarray  # (H, 2) unit vectors
    knot: np.ndarray  # (H,)
    center: np.ndarray  # standardisation of the raw feature columns
    scale: np.ndarray
    sizes: tuple[int, int, int]  # columns per group (lin, spl = splines then steps, int)

    @classmethod
    def fit(
        cls, U: np.ndarray, *, n_knots: int, n_hinges: int, min_distinct: int, seed: int, step_min_count: int = 0
    ) -> FunctionBasis:
        """Choose knots, steps and hinges from the cohort's inputs ``U`` (N, P); deterministic given ``seed``.

        An input with 3 to ``min_distinct - 1`` levels (a count, a score, an ordinal grade) is too
        coarse for a spline, and its linear term forces equal differences between levels; trees split
        such inputs between any two levels.  With ``step_min_count`` > 0 it gets *step* columns
        ``1[x > c]``, one between each pair of adjacent levels that leaves at least that many patients
        on each side: together with the linear term they span every function of the input's levels.
        """
        in_center = U.mean(axis=0)
        in_scale = U.std(axis=0)
        in_scale[in_scale == 0] = 1.0
        V = (U - in_center) / in_scale
        spline: list[tuple[int, np.ndarray]] = []
        if n_knots >= 3:
            for j in range(V.shape[1]):
                if len(np.unique(V[:, j])) < min_distinct:
                    continue
                knots = np.quantile(V[:, j], _KNOT_QUANTILES[n_knots])
                if len(np.unique(knots)) == n_knots:
                    spline.append((j, knots))
        steps: list[tuple[int, np.ndarray]] = []
        if step_min_count > 0:
            for j in range(V.shape[1]):
                levels, counts = np.unique(V[:, j], return_counts=True)
                if not 3 <= len(levels) < min_distinct:
                    continue
                above = counts[::-1].cumsum()[::-1][1:]  # patients at or above each level but the first
                keep = (above >= step_min_count) & (len(V) - above >= step_min_count)
                if keep.any():
                    steps.append((j, ((levels[:-1] + levels[1:]) / 2)[keep]))
        rng = np.random.default_rng(seed)
        P = V.shape[1]
        H = n_hinges if P >= 1 else 0
        pairs = np.zeros((H, 2), dtype=np.int64)
        for h in range(H):
            pairs[h] = rng.choice(P, size=2, replace=False) if P >= 2 else (0, 0)
        angle = rng.uniform(0.0, 2 * np.pi, H)
        direction = np.stack([np.cos(angle), np.sin(angle)], axis=1)
        if P < 2:
            direction[:, 1] = 0.0
            direction[:, 0] = np.sign(direction[:, 0]) + (direction[:, 0] == 0)
        rows = rng.integers(0, V.shape[0], H)
        proj = V[:, pairs[:, 0]] * direction[:, 0] + V[:, pairs[:, 1]] * direction[:, 1]  # (N, H)
        knot = proj[rows, np.arange(H)]
        basis = cls(
            in_center=in_center,
            in_scale=in_scale,
            spline=tuple(spline),
            steps=tuple(steps),
            pairs=pairs,
            direction=direction,
            knot=knot,
            center=np.zeros(0),
            scale=np.zeros(0),
            sizes=(P, len(spline) * (n_knots - 2) + sum(len(c) for _, c in steps), H),
        )
        raw = basis._raw(U)
        center = raw.mean(axis=0)
        scale = raw.std(axis=0)
        scale[scale < 1e-12] = 1.0
        return cls(**{**basis.__dict__, "center": center, "scale": scale})

    def column_inputs(self) -> np.ndarray:
        """Input column behind each feature column; hinges (two inputs) get ``P``, one past the last."""
        P = self.in_center.shape[0]
        cols = [np.arange(P)]
        cols += [np.full(len(knots) - 2, j) for j, knots in self.spline]
        cols += [np.full(len(cuts), j) for j, cuts in self.steps]
        cols.append(np.full(self.pairs.shape[0], P))
        return np.concatenate(cols).astype(np.int64)

    def _raw(self, U: np.ndarray) -> np.ndarray:
        V = (U - self.in_center) / self.in_scale
        spl = [rcs_terms(V[:, j], knots) for j, knots in self.spline]
        spl += [(V[:, j, None] > cuts).astype(float) for j, cuts in self.steps]
        proj = V[:, self.pairs[:, 0]] * self.direction[:, 0] + V[:, self.pairs[:, 1]] * self.direction[:, 1]
        hinge = np.maximum(proj - self.knot, 0.0)
        return np.concatenate([V, *spl, hinge], axis=1)

    def transform(self, U: np.ndarray) -> np.ndarray:
        """(N, sum(sizes)) standardised features of new or stored rows."""
        return (self._raw(U) - self.center) / self.scale


class BCFModel(TreatmentEffectModel):
    """Flexible non-linear effect model: separate prognostic and effect functions with shrinkage."""

    name = "bcf"
    version = "2.4"
    card_limits = (
        "Differences in effect between patients are shrunk towards one average effect, and a residual effect "
        "term that noisy outcomes cannot pin down widens every interval: its intervals are wide where the "
        "effects are simple (the demo cohort), and its estimates understate how much patients differ "
        "(docs/models.md).",
    )

    @property
    def default_model_config(self) -> dict[str, Any]:
        """Basis sizes and prior scales (chosen on principle, see docs/models.md, not on any benchmark)."""
        return {
            "spline_knots": 4,
            "spline_min_distinct": 10,
            # 2.3: step columns between adjacent levels of inputs with 3 to spline_min_distinct - 1
            # levels, in mu and the effects, where each side holds at least this many patients (0: off)
            "step_min_count": 10,
            "mu_hinges": 50,
            "tau_hinges": 50,
            # splines in the effect functions too (off: the design's size drives the cost, J^3)
            "tau_splines": False,
            # opt-in: one half-Cauchy relevance scale per effect input (ARD), shared by the alternatives;
            # sharper effects, but over-confident on ACIC 2016 setting 5 (docs/model-validation-log.md, session 14)
            "tau_relevance": False,
            "basis_seed": 0,
            # half-normal scales of each block's total SD, in outcome SDs (binary: log-odds / 2)
            "mu_scale": 1.0,
            "tau_scale": 0.5,
            # continuous outcomes: a residual effect term per alternative, what the basis cannot express
            "tau_residual": True,
            # prior of each residual effect SD (workbench.models.residual): half-normal; the
            # penalised-complexity prior ("pc") is opt-in, it sampled short of the ESS gate on two ACIC
            # 2016 settings (docs/model-validation-log.md, session 18)
            **residual_config("half_normal"),
            # 2.2, continuous outcomes: a cross-fitted boosted-trees estimate of the outcome under the
            # reference given the covariates as one more input of mu (linear + spline terms, own
            # block scale), as BCF does with the propensity (workbench.models.prognostic; docs/models.md)
            "prognostic_score": True,
            # ... and of the effect functions (risk-based heterogeneity, the PATH statement)
            "prognostic_score_in_effects": True,
            # prior SD of each alternative's constant effect (outcome SDs)
            "tau0_sd": 1.0,
            "sigma_scale": 1.0,
            # per-patient effects (evenly spread over the cohort) whose R-hat / ESS are gated
            "diagnostic_patients": 5,
        }

    # ----- design --------------------------------------------------------------------------------
    def _nonref(self) -> list[int]:
        if not (self.data is not None):
            raise RuntimeError("fit or load the model first")
        r = self.data.alternatives.index(self.data.reference)
        return [k for k in range(len(self.data.alternatives)) if k != r]

    def _mu_inputs(self, Z: np.ndarray, prop: np.ndarray) -> np.ndarray:
        return np.concatenate([Z, prop[:, self._nonref()]], axis=1)

    def _fit_basis(self) -> None:
        if not (self._propensity is not None and self.data is not None):
            raise RuntimeError("fit or load the model first")
        cfg = self.model_config
        self._score: PrognosticScore | None = None
        # continuous outcomes only: on a binary outcome with few reference-arm events the trees'
        # probabilities go to the clip (log-odds near -9), and NUTS, which samples the binary
        # model's weights, diverged (22 divergent transitions against 0 on a 400-patient demo fit)
        reference = self._t == self.data.alternatives.index(self.data.reference)
        if cfg["prognostic_score"] and self.data.outcome_kind == "continuous" and reference.sum() >= _MIN_SCORE_ARM:
            self._score = PrognosticScore.fit(
                self._Z, self._y, binary=False, learn_from=reference, seed=int(cfg["basis_seed"])
            )
            self._score_basis = FunctionBasis.fit(
                self._score.stored[:, None],
                n_knots=int(cfg["spline_knots"]),
                min_distinct=int(cfg["spline_min_distinct"]),
                n_hinges=0,
                seed=int(cfg["basis_seed"]),
            )
        common = {
            "n_knots": int(cfg["spline_knots"]),
            "min_distinct": int(cfg["spline_min_distinct"]),
            "seed": int(cfg["basis_seed"]),
            "step_min_count": int(cfg["step_min_count"]),
        }
        self._mu_basis = FunctionBasis.fit(
            self._mu_inputs(self._Z, self._propensity), n_hinges=int(cfg["mu_hinges"]), **common
        )
        common["seed"] += 1
        if not cfg["tau_splines"]:
            common["n_knots"] = 0
        score = None if self._score is None else self._score.stored
        self._tau_basis = FunctionBasis.fit(self._tau_inputs(self._Z, score), n_hinges=int(cfg["tau_hinges"]), **common)

    def _tau_inputs(self, Z: np.ndarray, score: np.ndarray | None) -> np.ndarray:
        """The effect functions' inputs: the covariates, and the prognostic score when it modifies effects."""
        if score is None or not self.model_config["prognostic_score_in_effects"]:
            return Z
        return np.concatenate([Z, score[:, None]], axis=1)

    def _prepare(self, data: EffectData) -> None:
        super()._prepare(data)
        self._fit_basis()

    def _after_load(self) -> None:
        self._fit_basis()
        saved = self.provenance.get("prognostic_score_sha256")
        if self._score is not None and saved != self._score.digest():
            raise ModelLoadError(
                "the prognostic score refitted from the stored design differs from the one this run was "
                "fitted with (another scikit-learn version?): refit the model"
            )

    def _make_provenance(self) -> dict[str, Any]:
        prov = super()._make_provenance()
        if self._score is not None:
            prov["prognostic_score_sha256"] = self._score.digest()
        return prov

    def _layout(self) -> list[tuple[str, int]]:
        """Blocks of the full weight vector in order: (prior group, number of columns)."""
        out: list[tuple[str, int]] = [("intercept", 1)]
        out += [(f"mu_{g}", n) for g, n in zip(_GROUPS, self._mu_basis.sizes, strict=True)]
        if self._score is not None:
            out.append(("mu_score", sum(self._score_basis.sizes)))
        for _ in self._nonref():
            out.append(("tau0", 1))
            out.append(("tau_het", sum(self._tau_basis.sizes)))
        return out

    def _scale_names(self) -> list[str]:
        names = [f"mu_{g}" for g, n in zip(_GROUPS, self._mu_basis.sizes, strict=True) if n]
        if self._score is not None:
            names.append("mu_score")
        return [*names, "tau_het"]

    def _features(self, Z: np.ndarray, prop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N, J_mu) prognostic features with intercept, (N, J_tau) effect features with constant."""
        one = np.ones((Z.shape[0], 1))
        mu_parts = [one, self._mu_basis.transform(self._mu_inputs(Z, prop))]
        score = None if self._score is None else self._score.predict(Z)
        if score is not None:
            mu_parts.append(self._score_basis.transform(score[:, None]))
        return np.concatenate(mu_parts, axis=1), np.concatenate(
            [one, self._tau_basis.transform(self._tau_inputs(Z, score))], axis=1
        )

    def _design(self) -> np.ndarray:
        """Full (N, J) design of the fitted cohort: prognostic columns, then treated-arm effect columns."""
        if not (self._propensity is not None):
            raise RuntimeError("fit or load the model first")
        F_mu, F_tau = self._features(self._Z, self._propensity)
        parts = [F_mu] + [F_tau * (self._t == k)[:, None] for k in self._nonref()]
        return np.concatenate(parts, axis=1)

    def _y_std(self) -> np.ndarray:
        mean, sd = self.outcome_scale
        return (self._y - mean) / sd

    def _cache_key(self) -> tuple[Any, ...]:
        return (*super()._cache_key(), tuple(self._layout()))

    def _data_values(self) -> dict[str, np.ndarray]:
        Phi = self._design()
        if self.data is not None and self.data.outcome_kind == "binary":
            return {"Phi": Phi, "y_obs": self._y}
        return self._arm_statistics(Phi)

    def _arm_statistics(self, Phi: np.ndarray) -> dict[str, np.ndarray]:
        """Sufficient statistics per received alternative (the residual term makes the noise arm-specific)."""
        if not (self.data is not None):
            raise RuntimeError("fit or load the model first")
        y = self._y_std()
        K = len(self.data.alternatives)
        arms = [self._t == k for k in range(K)]
        return {
            "G": np.stack([Phi[a].T @ Phi[a] for a in arms]),
            "b": np.stack([Phi[a].T @ y[a] for a in arms]),
            "yy": np.array([y[a] @ y[a] for a in arms]),
            "n_arm": np.array([a.sum() for a in arms], dtype=float),
        }

    def _arm_variances(self, s2: Any, resid: dict[int, Any], stack: Any) -> Any:
        """Noise variance of each received alternative: sigma^2, plus the residual effect variance."""
        if not (self.data is not None):
            raise RuntimeError("fit or load the model first")
        return stack([s2 + resid[k] ** 2 if k in resid else s2 + 0.0 * s2 for k in range(len(self.data.alternatives))])

    # ----- model ---------------------------------------------------------------------------------
    def _prior_variance(self, scales: dict[str, Any], relevance: Any = None, xp: Any = pt) -> Any:
        """Prior variance of every weight from the block scales (``xp``: pytensor in the model, numpy after).

        ``relevance`` (one scale per effect input, shared by the alternatives) multiplies the effect
        columns built from that input; hinge columns keep the block's scale alone.
        """
        cfg = self.model_config
        parts = []
        for group, n in self._layout():
            if n == 0:
                continue
            if group == "intercept":
                parts.append(xp.ones(1))
            elif group == "tau0":
                parts.append(xp.ones(1) * cfg["tau0_sd"] ** 2)
            elif group == "tau_het" and relevance is not None:
                local = xp.concatenate([relevance, xp.ones(1)])[self._tau_basis.column_inputs()]
                parts.append(local**2 * scales[group] ** 2 / n)
            else:
                parts.append(xp.ones(n) * scales[group] ** 2 / n)
        return xp.concatenate(parts)

    @staticmethod
    def _whitened_system(G: Any, b: Any, v: Any, sd: Any, xp: Any) -> tuple[Any, Any]:
        """``A = I + S M S`` and ``S m`` for ``M = sum_a G_a / v_a``, ``m = sum_a b_a / v_a``, ``S = diag(sd)``.

        The weights' Gaussian system in prior-SD units.  The textbook Woodbury form ``M + D^-1`` has
        ``1/d``, which blows up as a scale nears zero, and folded scales pass through zero: with that
        form and every scale folded, ACIC 2016 setting 1 had 3 divergent transitions (0 in this
        form).  ``A``'s eigenvalues are at least 1 whatever the scales.
        """
        M = xp.sum(G / v[:, None, None], axis=0)
        return xp.eye(M.shape[0]) + sd[:, None] * M * sd[None, :], sd * xp.sum(b / v[:, None], axis=0)

    def build_model(self, data: EffectData) -> pm.Model:
        """Build the PyMC model on the prepared design (call via :meth:`fit`)."""
        cfg = self.model_config
        values = self._data_values()
        binary = data.outcome_kind == "binary"
        # on the log-odds scale an outcome "SD" is ~2 (logistic SD 1.8): widen the scales accordingly
        unit = 2.0 if binary else 1.0
        with pm.Model() as model:
            scales = {}
            for name in self._scale_names():
                s = cfg["mu_scale"] if name.startswith("mu_") else cfg["tau_scale"]
                scales[name] = pm.HalfNormal(f"s_{name}", s * unit)
            relevance = None
            if cfg["tau_relevance"]:
                relevance = pm.HalfCauchy("lam_tau", 1.0, shape=self._tau_basis.in_center.shape[0])
            d = self._prior_variance(scales, relevance) * unit**2
            if binary:
                Phi = pm.Data("Phi", values["Phi"])
                y_obs = pm.Data("y_obs", values["y_obs"])
                z = pm.Normal("z", 0.0, 1.0, shape=values["Phi"].shape[1])
                w = pm.Deterministic("weights", z * pt.sqrt(d))
                pm.Bernoulli("obs", logit_p=Phi @ w, observed=y_obs)
            else:
                G = pm.Data("G", values["G"])
                b = pm.Data("b", values["b"])
                yy = pm.Data("yy", values["yy"])
                n_arm = pm.Data("n_arm", values["n_arm"])
                n = float(len(self._y))
                sigma = pm.HalfNormal("sigma", cfg["sigma_scale"])
                resid = {}
                if self._residual():
                    for k in self._nonref():
                        resid[k] = residual_scale(f"s_resid_{k}", cfg)
                v = self._arm_variances(sigma**2, resid, pt.stack)
                # y ~ N(0, V + Phi D Phi') with V = diag(arm variance), by Woodbury / the determinant
                # lemma in prior-SD units: det = det(V) det(A), A = I + S Phi'V^-1 Phi S, S = D^1/2
                A, bw = self._whitened_system(G, b, v, pt.sqrt(d), pt)
                L = pt.linalg.cholesky(A)
                alpha = pt.linalg.solve_triangular(L, bw, lower=True)
                quad = pt.sum(yy / v) - pt.sum(alpha**2)
                logdet = pt.sum(n_arm * pt.log(v)) + 2.0 * pt.sum(pt.log(pt.diag(L)))
                pm.Potential("marginal_likelihood", -0.5 * (n * np.log(2 * np.pi) + logdet + quad))
        return model

    def _after_sampling(self) -> None:
        """Continuous outcomes: draw the weights from their exact conditional Gaussian, per draw."""
        if not (self.idata is not None and self.data is not None):
            raise RuntimeError("fit or load the model first")
        if self.data.outcome_kind == "binary":
            return
        post = self._group("posterior")
        stats = self._arm_statistics(self._design())
        C, D = post.sizes["chain"], post.sizes["draw"]
        rng = np.random.default_rng([int(self.fit_info.get("seed", 0)), 7])
        names = self._scale_names()
        sig = post["sigma"].values
        sc = {n: post[f"s_{n}"].values for n in names}
        J = stats["G"].shape[1]
        res = {k: post[f"s_resid_{k}"].values for k in self._nonref()} if self._residual() else {}
        out = np.empty((C, D, J))
        lam = post["lam_tau"].values if "lam_tau" in post else None
        for c in range(C):
            for i in range(D):
                rel = None if lam is None else lam[c, i]
                sd = np.sqrt(self._prior_variance({n: sc[n][c, i] for n in names}, rel, np))
                v = self._arm_variances(sig[c, i] ** 2, {k: r[c, i] for k, r in res.items()}, np.array)
                A, bw = self._whitened_system(stats["G"], stats["b"], v, sd, np)
                L = cholesky(A, lower=True)
                # the weights in prior-SD units, u = w / sd, are N(A^-1 bw, A^-1)
                u = cho_solve((L, True), bw) + solve_triangular(L.T, rng.standard_normal(J), lower=False)
                out[c, i] = sd * u
        post = post.assign(weights=(("chain", "draw", "weights_dim_0"), out))
        self.idata["posterior"] = xr.DataTree(post)

    # ----- posterior maths -----------------------------------------------------------------------
    def _weights(self, draw_idx: np.ndarray) -> np.ndarray:
        if not (self.idata is not None):
            raise RuntimeError("fit or load the model first")
        return _stack(self._group("posterior")["weights"])[draw_idx]

    def _functions(
        self, Z: np.ndarray, prop: np.ndarray, draw_idx: np.ndarray, residual: bool = True
    ) -> tuple[np.ndarray, dict[int, np.ndarray]]:
        """(S, N) prognostic draws and {alternative: (S, N) effect draws} on the model scale."""
        w = self._weights(draw_idx)
        F_mu, F_tau = self._features(Z, prop)
        jm, jt = F_mu.shape[1], F_tau.shape[1]
        taus = {k: w[:, jm + i * jt : jm + (i + 1) * jt] @ F_tau.T for i, k in enumerate(self._nonref())}
        if residual and self._residual():
            for k in taus:
                taus[k] = taus[k] + self._residual_draws(Z, k, draw_idx)
        return w[:, :jm] @ F_mu.T, taus

    def _eta(self, Z: np.ndarray, prop: np.ndarray, draw_idx: np.ndarray, residual: bool = True) -> np.ndarray:
        """(S, N, K) linear predictor on the standardised (or log-odds) scale."""
        if not (self.data is not None):
            raise RuntimeError("fit or load the model first")
        mu, taus = self._functions(Z, prop, draw_idx, residual)
        eta = np.repeat(mu[:, :, None], len(self.data.alternatives), axis=2)
        for k, tau in taus.items():
            eta[:, :, k] += tau
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
        return _stack(self._group("posterior")["sigma"])[draw_idx] * self.outcome_scale[1], None

    def _diagnostic_posterior(self) -> xr.Dataset:
        """What BART/BCF practitioners check: sigma, the scales, the average effects, a few patients.

        Checked on the outcome model's identified quantities: the residual SD and block scales, the
        mean prognostic value, each alternative's average effect over the cohort, and the effects of
        ``diagnostic_patients`` patients spread evenly through the cohort (fixed positions, not
        chosen by their results).  Individual weights are exact conditional draws given these.
        """
        if not (self.idata is not None and self.data is not None and self._propensity is not None):
            raise RuntimeError("fit or load the model first")
        post = self._group("posterior")
        C, D = post.sizes["chain"], post.sizes["draw"]
        mu, taus = self._functions(self._Z, self._propensity, np.arange(C * D))
        out: dict[str, Any] = {str(v): post[v] for v in post.data_vars if str(v).startswith("s_") or v == "sigma"}
        out["mean_prognostic"] = (("chain", "draw"), mu.mean(axis=1).reshape(C, D))
        n = len(self._t)
        who = np.unique(np.linspace(0, n - 1, int(self.model_config["diagnostic_patients"])).round().astype(int))
        for k, tau in taus.items():
            alt = self.data.alternatives[k]
            out[f"average_effect_{alt}"] = (("chain", "draw"), tau.mean(axis=1).reshape(C, D))
            out[f"patient_effect_{alt}"] = (("chain", "draw", "patient"), tau[:, who].reshape(C, D, len(who)))
        return xr.Dataset(out)
