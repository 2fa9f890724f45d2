"""Bayesian Causal Forest style model (Hahn, Murray & Carvalho 2020) with pymc-bart.

    eta_i = mu(x_i, pihat_i) + sum_{k != ref} 1[t_i = k] tau_k(x_i)

* ``mu`` is a BART prognostic function of the covariates AND the estimated propensities, which is
  what lets the trees absorb confounding through the assignment mechanism ("targeted selection").
* For K alternatives each non-reference alternative k has its own effect function ``tau_k``: a
  separate, smaller BART with the stronger depth penalty of the paper (alpha=0.25, beta=3), so
  heterogeneity is shrunk towards a homogeneous effect unless the data insist.  Separate forests
  keep every contrast against the reference free of the others; contrasts between two non-reference
  alternatives are differences of two forests.  Covariates only (no propensity) enter ``tau_k``.

BART is sampled with PGBART (nutpie cannot sample trees); the residual scale with PyMC's NUTS.
The trees themselves are copied into the run (``bcf_forests`` group, plain arrays; see
:mod:`workbench.models.forest`), so a reloaded run predicts new patients exactly as the fitting
process did.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pymc as pm
import pymc_bart as pmb
import xarray as xr
from scipy.special import expit

from workbench.models.base import TreatmentEffectModel, _stack
from workbench.models.data import EffectData
from workbench.models.forest import ForestHistory


class BCFModel(TreatmentEffectModel):
    """Flexible non-linear effect model: prognostic BART + one effect BART per alternative."""

    name = "bcf"
    version = "1.1"
    supports_nutpie = False

    @property
    def default_model_config(self) -> dict[str, Any]:
        """Tree counts and depth priors (Hahn et al. defaults scaled down for speed)."""
        return {
            "mu_trees": 50,
            "mu_alpha": 0.95,
            "mu_beta": 2.0,
            "tau_trees": 20,
            "tau_alpha": 0.5,
            "tau_beta": 2.0,
            "sigma_scale": 1.0,
        }

    @property
    def default_sampler_config(self) -> dict[str, Any]:
        """PGBART mixes per draw much better than its ESS suggests; fewer draws suffice."""
        return super().default_sampler_config | {"draws": 500, "tune": 500, "chains": 2}

    def _nonref(self) -> list[int]:
        if not (self.data is not None):
            raise RuntimeError("fit or load the model first")
        r = self.data.alternatives.index(self.data.reference)
        return [k for k in range(len(self.data.alternatives)) if k != r]

    def _mu_X(self, Z: np.ndarray, prop: np.ndarray) -> np.ndarray:
        return np.concatenate([Z, prop[:, self._nonref()]], axis=1)

    def build_model(self, data: EffectData) -> pm.Model:
        """Build the PyMC/BART model on the prepared design (call via :meth:`fit`)."""
        cfg = self.model_config
        if not (self._propensity is not None):
            raise RuntimeError("fit or load the model first")
        mean, sd = self.outcome_scale
        y = (self._y - mean) / sd
        y_c = y - y.mean()
        with pm.Model() as model:
            Xmu = pm.Data("X_mu", self._mu_X(self._Z, self._propensity))
            Xtau = pm.Data("X_tau", self._Z)
            eta = pmb.BART("mu", Xmu, y, m=cfg["mu_trees"], alpha=cfg["mu_alpha"], beta=cfg["mu_beta"])
            for k in self._nonref():
                tau_k = pmb.BART(
                    f"tau_{k}",
                    Xtau,
                    y_c,
                    m=cfg["tau_trees"],
                    alpha=cfg["tau_alpha"],
                    beta=cfg["tau_beta"],
                )
                eta = eta + tau_k * (self._t == k)
            if data.outcome_kind == "binary":
                pm.Bernoulli("obs", logit_p=eta, observed=self._y)
            else:
                sigma = pm.HalfNormal("sigma", cfg["sigma_scale"])
                pm.Normal("obs", mu=eta, sigma=sigma, observed=y)
        return model

    def _cache_key(self) -> tuple[Any, ...]:
        # Trees are fitted to this data; reusing the model object across data sets would mix them.
        return (*super()._cache_key(), self.data.data_hash() if self.data else None)

    # ----- posterior maths ---------------------------------------------------------------------
    def _forest_names(self) -> list[str]:
        return ["mu", *[f"tau_{k}" for k in self._nonref()]]

    def _forest(self, name: str, X: np.ndarray, draw_idx: np.ndarray) -> np.ndarray:
        """(S, N) draws of one forest at new rows, aligned with the posterior draws."""
        forests = getattr(self, "_forests", None)
        if not forests:
            raise RuntimeError(
                "this BCF run file holds no trees (made by bcf 1.0): it serves its stored "
                "patients only; refit to predict new patients"
            )
        return forests[name].predict(X, draw_idx)

    def _expected_outcomes(self, Z: np.ndarray, propensity: np.ndarray, draw_idx: np.ndarray) -> np.ndarray:
        if not (self.data is not None and self.idata is not None):
            raise RuntimeError("fit or load the model first")
        in_sample = Z is self._Z
        post = self.idata["posterior"]
        if in_sample:
            mu = _stack(post["mu"])[draw_idx]
        else:
            mu = self._forest("mu", self._mu_X(Z, propensity), draw_idx)
        K = len(self.data.alternatives)
        eta = np.repeat(mu[:, :, None], K, axis=2)
        for k in self._nonref():
            if in_sample:
                tau = _stack(post[f"tau_{k}"])[draw_idx]
            else:
                tau = self._forest(f"tau_{k}", Z, draw_idx)
            eta[:, :, k] += tau
        if self.data.outcome_kind == "binary":
            return expit(eta)
        mean, sd = self.outcome_scale
        return mean + sd * eta

    def _noise_draws(self, draw_idx: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        if not (self.idata is not None):
            raise RuntimeError("fit or load the model first")
        return _stack(self.idata["posterior"]["sigma"])[draw_idx] * self.outcome_scale[1], None

    def _diagnostic_posterior(self) -> xr.Dataset:
        """Convergence of derived quantities: tree draws are not comparable across chains."""
        if not (self.idata is not None):
            raise RuntimeError("fit or load the model first")
        post = self.idata["posterior"]
        out = {"mean_prognostic": post["mu"].mean(dim=[d for d in post["mu"].dims if d not in ("chain", "draw")])}
        for k in self._nonref():
            v = post[f"tau_{k}"]
            out[f"average_effect_{k}"] = v.mean(dim=[d for d in v.dims if d not in ("chain", "draw")])
        if "sigma" in post:
            out["sigma"] = post["sigma"]
        return xr.Dataset(out)

    def _after_sampling(self) -> None:
        """Copy the trees into the posterior tree (group ``bcf_forests``) so runs can be saved."""
        if not (self.idata is not None and self._propensity is not None):
            raise RuntimeError("fit or load the model first")
        post = self.idata["posterior"]
        groups = []
        self._forests = {}
        for name in self._forest_names():
            op = self._model[name].owner.op
            # pymc-bart caches prediction samplers by id(op); a garbage-collected op from an
            # earlier fit can share that id, which would silently predict from the OLD trees.
            pmb.utils._posterior_sampler_cache.pop(id(op), None)
            history = ForestHistory.from_op(op)
            # Parallel chains append their histories in order of completion: match each to the
            # posterior chain whose first kept draw it reproduces.
            X_train = self._mu_X(self._Z, self._propensity) if name == "mu" else self._Z
            n_chains, n_draws = post.sizes["chain"], post.sizes["draw"]
            firsts = history.predict(X_train, np.arange(n_chains) * n_draws)
            order = np.array(
                [int(np.argmin(np.abs(firsts - post[name].values[c, 0]).max(axis=1))) for c in range(n_chains)]
            )
            if len(set(order.tolist())) != n_chains:
                raise RuntimeError("could not match BART tree histories to posterior chains")
            history = history.reorder_chains(order)
            self._forests[name] = history
            groups.append(history.to_dataset(f"{name}__"))
        self.idata["bcf_forests"] = xr.DataTree(xr.merge(groups))

    def _after_load(self) -> None:
        self._model = None
        self._forests = {}
        if self.idata is not None and "bcf_forests" in self.idata.children:
            ds = self.idata["bcf_forests"].to_dataset()
            self._forests = {n: ForestHistory.from_dataset(ds, f"{n}__") for n in self._forest_names()}
