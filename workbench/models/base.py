"""Base class of every treatment-effect model (after pymc-marketing's ModelBuilder).

A subclass supplies ``name``, ``version``, ``default_model_config``, ``build_model`` and
``_expected_outcomes``; this class owns fitting (nutpie, PyMC NUTS fallback, ADVI preview),
propensity, diagnostics, prediction and saving with provenance.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from abc import ABC, abstractmethod
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar, Literal, Self

import numpy as np
import pandas as pd
import pymc as pm
import xarray as xr
from scipy import stats

from workbench.models.data import Design, EffectData
from workbench.models.diagnostics import Diagnostics, evaluate, ppc_binary, ppc_continuous
from workbench.models.persistence import read_tree, write_tree
from workbench.models.posterior import DEFAULT_OVERLAP_THRESHOLD, EffectPosterior
from workbench.models.propensity import PropensityModel
from workbench.models.residual import has_signs, residual_draws, without_signs

log = logging.getLogger(__name__)

FitMethod = Literal["nuts", "pymc", "preview"]

#: Compiled models kept for the life of the process, keyed by model structure and data shapes,
#: so refitting the same model to new data (same shapes) only swaps the ``pm.Data`` values.
_COMPILED: dict[tuple[Any, ...], dict[str, Any]] = {}


class ModelLoadError(ValueError):
    """A saved run does not match the model class or the data it is being loaded against."""


def _versions() -> dict[str, str]:
    out = {}
    for pkg in ("pymc", "pytensor", "arviz", "nutpie", "numpy", "scipy", "case-review-workbench"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    out["workbench"] = out.pop("case-review-workbench")
    return out


def _stack(da: xr.DataArray) -> np.ndarray:
    """(chain, draw, ...) -> (chain*draw, ...) as float64."""
    v = np.asarray(da.values, dtype=float)
    return v.reshape((v.shape[0] * v.shape[1], *v.shape[2:]))


class TreatmentEffectModel(ABC):
    """Common fit / predict / save / load behaviour of the workbench's effect models."""

    name: ClassVar[str] = "base"
    version: ClassVar[str] = "0"
    #: nutpie needs gradients for every free variable; BART (PGBART) models set this False.
    supports_nutpie: ClassVar[bool] = True
    #: What the model's form cannot express, in words for its model card (the card adds the figures).
    card_limits: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        model_config: dict[str, Any] | None = None,
        sampler_config: dict[str, Any] | None = None,
    ) -> None:
        self.model_config: dict[str, Any] = self.default_model_config | (model_config or {})
        self.sampler_config: dict[str, Any] = self.default_sampler_config | (sampler_config or {})
        self.idata: xr.DataTree | None = None
        self.data: EffectData | None = None
        self.design: Design | None = None
        self.propensity_model: PropensityModel | None = None
        self.diagnostics: Diagnostics | None = None
        self.fit_info: dict[str, Any] = {}
        self.provenance: dict[str, Any] = {}
        self.outcome_scale: tuple[float, float] = (0.0, 1.0)
        self._patient_ids: tuple[str, ...] = ()
        self._propensity: np.ndarray | None = None

    # ----- configuration -------------------------------------------------------------------------
    @property
    def default_model_config(self) -> dict[str, Any]:
        """Model priors and structure; user dicts are merged over it with ``|``."""
        return {}

    @property
    def default_sampler_config(self) -> dict[str, Any]:
        """Sampler settings; user dicts are merged over it with ``|``."""
        return {
            "draws": 1000,
            "tune": 500,
            "chains": 2,
            "cores": 2,
            "target_accept": 0.85,
            # nutpie mass-matrix adaptation: "diag" or "low_rank" (for strongly correlated posteriors)
            "adaptation": "diag",
            "preview_iterations": 20000,
            "preview_draws": 1000,
            "prediction_draws": 1000,
            "overlap_threshold": DEFAULT_OVERLAP_THRESHOLD,
            "thresholds": {},
            # Sample again with up to this many times the draws when only the ESS gate fails
            # (see _ess_extension); 1 switches it off.
            "ess_extend_max_factor": 4,
        }

    @property
    def model_id(self) -> str:
        """Hash of config + version + type: two runs with equal ids are the same model."""
        return self._model_id(self.model_config)

    @classmethod
    def _model_id(cls, config: dict[str, Any]) -> str:
        payload = json.dumps(config, sort_keys=True, default=str) + cls.version + cls.__qualname__
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    # ----- what subclasses supply ----------------------------------------------------------------
    @abstractmethod
    def build_model(self, data: EffectData) -> pm.Model:
        """Build the PyMC model for ``data`` (after :meth:`_prepare` set the design arrays)."""

    @abstractmethod
    def _expected_outcomes(
        self, Z: np.ndarray, propensity: np.ndarray, draw_idx: np.ndarray, residual: bool = True
    ) -> np.ndarray:
        """(S, N, K) expected outcome on the outcome scale for design rows ``Z``.

        ``residual=False`` leaves out the residual effect term's draws (models that have one).
        """

    def _data_values(self) -> dict[str, np.ndarray]:
        """Values of the model's ``pm.Data`` containers for the prepared data (for the cache)."""
        return {}

    def _noise_draws(self, draw_idx: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Residual scale (outcome units) and Student-t nu draws for the predictive check."""
        raise NotImplementedError

    # ----- fitting ---------------------------------------------------------------------------------
    def _prepare(self, data: EffectData) -> None:
        """Encode covariates, fit the propensity model, standardise the outcome."""
        self.data = data
        self.design = Design.fit(data.X)
        self._Z = self.design.transform(data.X)
        self._t = data.treatment_index
        self.propensity_model = PropensityModel.fit(self._Z, self._t, len(data.alternatives))
        self._propensity = self.propensity_model.predict(self._Z)
        self._patient_ids = data.patient_ids
        if data.outcome is None:
            raise ValueError("fitting needs an outcome")
        y = data.outcome.to_numpy(dtype=float)
        if data.outcome_kind == "continuous":
            sd = float(y.std()) or 1.0
            self.outcome_scale = (float(y.mean()), sd)
        else:
            self.outcome_scale = (0.0, 1.0)
        self._y = y

    def _cache_key(self) -> tuple[Any, ...]:
        if not (self.data is not None):
            raise RuntimeError("fit or load the model first")
        return (
            type(self).__qualname__,
            self.model_id,
            self.data.outcome_kind,
            len(self.data.alternatives),
            self._Z.shape,
            self.data.alternatives.index(self.data.reference),
        )

    def fit(
        self,
        data: EffectData,
        *,
        method: FitMethod = "nuts",
        random_seed: int,
        progressbar: bool = True,
    ) -> Self:
        """Fit the model.

        ``nuts`` uses nutpie (falls back to PyMC's NUTS if nutpie fails or cannot sample the
        model); ``pymc`` forces PyMC's NUTS; ``preview`` is ADVI, flagged approximate everywhere.
        """
        t0 = time.perf_counter()
        self._prepare(data)
        sc = self.sampler_config
        key = self._cache_key()
        entry = _COMPILED.get(key)
        cache_hit = entry is not None
        if entry is None:
            entry = {"model": self.build_model(data)}
            _COMPILED[key] = entry
        else:
            with entry["model"]:
                pm.set_data(self._data_values())
        model: pm.Model = entry["model"]
        self._model = model
        idata, sampler, compile_seconds, sampling_seconds = self._sample(
            model, entry, method, random_seed, progressbar, int(sc["draws"])
        )
        self.idata = idata
        approximate = sampler == "advi"
        seconds = time.perf_counter() - t0
        self.fit_info = {
            "method": method,
            "sampler": sampler,
            "approximate": approximate,
            "seed": int(random_seed),
            "seconds": seconds,
            "compile_seconds": compile_seconds,
            # the sampler call alone (PyMC's includes its own compile / process start-up)
            "sampling_seconds": sampling_seconds,
            "compiled_cache_hit": cache_hit,
        }
        self._finish_sampling()
        self.diagnostics = self._diagnose(approximate, random_seed)
        factor = self._ess_extension(self.diagnostics)
        if factor > 1 and sampler != "advi":
            # Only the Monte Carlo error failed the gate (chains agree, no divergences, PPC fine):
            # that is what more draws fix, so sample once more with `factor` times the draws (same
            # seed, same tuning) and gate that run instead.  Convergence failures never get here.
            draws = int(sc["draws"]) * factor
            log.info("ESS below the gate only; sampling again with %d draws per chain", draws)
            idata, sampler, _, extra_seconds = self._sample(model, entry, method, random_seed, progressbar, draws)
            self.idata = idata
            self.fit_info |= {"sampler": sampler, "sampling_seconds": sampling_seconds + extra_seconds}
            self._finish_sampling()
            self.diagnostics = self._diagnose(approximate, random_seed)
        self.fit_info["draws_per_chain"] = int(self.diagnostics.n_draws)
        self.fit_info["ess_extension_factor"] = factor
        self.fit_info["seconds"] = time.perf_counter() - t0
        self.provenance = self._make_provenance()
        return self

    def _ess_extension(self, d: Diagnostics) -> int:
        """How many times the draws to sample again with when only the ESS gate failed (1 = don't).

        Low ESS with agreeing chains (R-hat passed), no divergences and a passing PPC is Monte Carlo
        error, which shrinks with more draws (ESS grows about linearly with them); a convergence
        failure does not, so it is never extended.  The factor aims 25 % above the threshold and is
        capped by ``ess_extend_max_factor`` (0 or 1 switches this off); a shortfall larger than
        the cap is left as it is (more draws would not reach the gate).  Runs set up with fewer
        total draws than twice the ESS threshold (quick looks, tests) are the user's choice and are
        not extended.
        """
        cap = int(self.sampler_config.get("ess_extend_max_factor", 0))
        need = max(d.thresholds["ess_bulk_min"], d.thresholds["ess_tail_min"])
        ess = min(d.ess_bulk_min, d.ess_tail_min)
        if cap <= 1 or not d.failed_only_on_ess() or not ess > 0:
            return 1
        if d.n_chains * d.n_draws < 2 * need:
            return 1
        factor = int(np.ceil(1.25 * need / ess))
        return factor if 1 < factor <= cap else 1

    def _sample(
        self,
        model: pm.Model,
        entry: dict[str, Any],
        method: FitMethod,
        random_seed: int,
        progressbar: bool,
        draws: int,
    ) -> tuple[xr.DataTree, str, float, float]:
        """One sampler run: (posterior tree, sampler used, compile seconds, sampler-call seconds)."""
        sc = self.sampler_config
        sampler: str = method
        compile_seconds = 0.0
        sampling_seconds = float("nan")
        if method == "nuts" and not self.supports_nutpie:
            sampler = "pymc"
        if sampler == "nuts":
            try:
                import nutpie

                tc = time.perf_counter()
                if "nutpie" not in entry:
                    entry["nutpie"] = nutpie.compile_pymc_model(model)
                    compiled = entry["nutpie"]
                else:
                    compiled = entry["nutpie"].with_data(**self._data_values())
                compile_seconds = time.perf_counter() - tc
                ts = time.perf_counter()
                idata = nutpie.sample(
                    compiled,
                    draws=draws,
                    tune=sc["tune"],
                    chains=sc["chains"],
                    cores=sc["cores"],
                    seed=random_seed,
                    target_accept=sc["target_accept"],
                    adaptation=sc.get("adaptation", "diag"),
                    progress_bar=progressbar,
                    save_warmup=False,
                )
                sampler = "nutpie"
                sampling_seconds = time.perf_counter() - ts
            except Exception as exc:  # any nutpie failure: PyMC's own NUTS is the documented fallback
                log.warning("nutpie failed (%s); falling back to PyMC NUTS", type(exc).__name__)
                sampler = "pymc"
        if sampler == "pymc":
            ts = time.perf_counter()
            idata = self._sample_pymc(model, random_seed, progressbar, draws)
            sampling_seconds = time.perf_counter() - ts
        elif sampler == "preview":
            with model:
                approx = pm.fit(
                    n=sc["preview_iterations"],
                    method="advi",
                    random_seed=random_seed,
                    progressbar=progressbar,
                )
                idata = approx.sample(sc["preview_draws"], random_seed=random_seed)
            sampler = "advi"
        return idata, sampler, compile_seconds, sampling_seconds

    def _sample_pymc(self, model: pm.Model, seed: int, progressbar: bool, draws: int) -> xr.DataTree:
        sc = self.sampler_config
        with model:
            return pm.sample(
                draws=draws,
                tune=sc["tune"],
                chains=sc["chains"],
                cores=sc["cores"],
                random_seed=seed,
                progressbar=progressbar,
                nuts_sampler="pymc",
                target_accept=sc["target_accept"],
                compute_convergence_checks=False,
            )

    def _finish_sampling(self) -> None:
        """Drop the signs behind folded scales (they carry no information), then the model's own hook."""
        if self.idata is not None and has_signs(post := self._group("posterior")):
            self.idata["posterior"] = xr.DataTree(without_signs(post))
        self._after_sampling()

    def _after_sampling(self) -> None:  # noqa: B027
        """Hook for models that must derive extra draws while the fitted model is in memory."""

    def _residual(self) -> bool:
        """Whether the run has a residual effect term (``tau_residual``; continuous outcomes only)."""
        if self.data is None:
            raise RuntimeError("fit or load the model first")
        return bool(self.model_config.get("tau_residual", False)) and self.data.outcome_kind != "binary"

    def _residual_draws(self, Z: np.ndarray, k: int, draw_idx: np.ndarray) -> np.ndarray:
        """(S, N) draws of alternative ``k``'s residual effect for these rows (:mod:`workbench.models.residual`)."""
        scale = _stack(self._group("posterior")[f"s_resid_{k}"])
        return residual_draws(scale, Z, k, int(self.fit_info.get("seed", 0)), draw_idx)

    def _group(self, name: str) -> xr.Dataset:
        """One group of the fitted run (``posterior``, ``sample_stats``) as a Dataset (no copy)."""
        if self.idata is None:
            raise RuntimeError("fit or load the model first")
        node = self.idata[name]
        if not isinstance(node, xr.DataTree):
            raise KeyError(f"{name} is not a group of this run")
        return node.to_dataset()

    def _draw_index(self) -> np.ndarray:
        post = self._group("posterior")
        total = int(post.sizes["chain"] * post.sizes["draw"])
        n = min(total, int(self.sampler_config["prediction_draws"]))
        return np.unique(np.linspace(0, total - 1, n).round().astype(int))

    def _diagnostic_posterior(self) -> xr.Dataset:
        """Variables checked for convergence (default: every posterior variable)."""
        if not (self.idata is not None):
            raise RuntimeError("fit or load the model first")
        return self.idata["posterior"].to_dataset()

    def _diagnose(self, approximate: bool, seed: int) -> Diagnostics:
        if not (self.idata is not None and self.data is not None and self._propensity is not None):
            raise RuntimeError("fit or load the model first")
        divergences = 0
        if "sample_stats" in self.idata.children and "diverging" in self.idata["sample_stats"]:
            divergences = int(self._group("sample_stats")["diverging"].values.sum())
        idx = self._draw_index()
        mu = self._expected_outcomes(self._Z, self._propensity, idx)
        received = mu[:, np.arange(len(self._t)), self._t]
        if self.data.outcome_kind == "continuous":
            scale, nu = self._noise_draws(idx)
            ppc = ppc_continuous(received, scale, self._y, np.random.default_rng(seed), nu)
        else:
            ppc = ppc_binary(received, self._y)
        return evaluate(
            posterior=self._diagnostic_posterior(),
            divergences=divergences,
            ppc=ppc,
            approximate=approximate,
            thresholds=self.sampler_config.get("thresholds"),
        )

    # ----- prediction ------------------------------------------------------------------------------
    def _require_fitted(self) -> None:
        if self.idata is None or self.design is None or self.data is None:
            raise RuntimeError("fit or load the model first")

    def predict_effects(self, X: pd.DataFrame | None = None) -> EffectPosterior:
        """Posterior of each patient's expected outcome under each alternative.

        ``X=None`` gives the stored cohort; otherwise new patients (index = patient keys) encoded
        with the stored design.
        """
        self._require_fitted()
        if not (self.design is not None and self.propensity_model is not None):
            raise RuntimeError("fit or load the model first")
        if not (self.data is not None and self.diagnostics is not None):
            raise RuntimeError("fit or load the model first")
        if X is None:
            Z, ids = self._Z, self._patient_ids
            prop = self._propensity
        else:
            Z = self.design.transform(X)
            ids = tuple(str(i) for i in X.index)
            prop = self.propensity_model.predict(Z)
        if not (prop is not None):
            raise RuntimeError("fit or load the model first")
        draws = self._expected_outcomes(Z, prop, self._draw_index())
        return EffectPosterior(
            draws=draws,
            patient_ids=ids,
            alternatives=self.data.alternatives,
            reference=self.data.reference,
            lower_is_better=self.data.lower_is_better,
            approximate=self.diagnostics.approximate,
            propensity=prop,
            overlap_threshold=float(self.sampler_config["overlap_threshold"]),
            reliable=self.diagnostics.passed,
            outcome_kind=self.data.outcome_kind,
        )

    def posterior_predictive(self, X: pd.DataFrame, treatment: pd.Series, *, seed: int = 0) -> np.ndarray:
        """(S, N) replicated outcomes of patients ``X`` under the alternatives they received.

        Used to check calibration (overall and per subgroup): observed outcomes should fall inside
        their 90% predictive intervals about 90% of the time.
        """
        self._require_fitted()
        if self.data is None:
            raise RuntimeError("fit or load the model first")
        idx = self._draw_index()
        mu = self.predict_effects(X).draws
        lookup = {a: i for i, a in enumerate(self.data.alternatives)}
        t = np.array([lookup[str(a)] for a in treatment], dtype=np.int64)
        received = mu[:, np.arange(len(t)), t]
        rng = np.random.default_rng(seed)
        if self.data.outcome_kind == "binary":
            return (rng.random(received.shape) < received).astype(float)
        scale, nu = self._noise_draws(idx)
        eps = rng.standard_normal(received.shape) if nu is None else rng.standard_t(nu[:, None], size=received.shape)
        return received + scale.reshape(-1, 1) * eps

    def predictive_check_draws(self, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Observed outcomes of the fitted patients and their (S, N) replicated outcomes, for a PPC plot."""
        self._require_fitted()
        if self.data is None:
            raise RuntimeError("fit or load the model first")
        X = pd.DataFrame({c: self.data.X[c] for c in self.data.X.columns}, index=pd.Index(self._patient_ids))
        alts = np.asarray(self.data.alternatives)[self._t]
        return self._y, self.posterior_predictive(X, pd.Series(alts, index=X.index), seed=seed)

    def pointwise_log_likelihood(self) -> np.ndarray:
        """(chain, draw, N) log density of each fitted patient's observed outcome, every posterior draw.

        What PSIS-LOO needs to compare models on how well they predict outcomes they did not see
        (:mod:`workbench.models.comparison`).  The residual effect term is white noise, so it is
        integrated out exactly (its variance adds to the noise of the arm that received the
        alternative): its stored draws come from its prior, not from its posterior for these patients.
        """
        self._require_fitted()
        post = self._group("posterior")
        C, D = int(post.sizes["chain"]), int(post.sizes["draw"])
        ll = np.empty((C * D, len(self._t)))
        for start in range(0, C * D, 500):  # in blocks of draws: (draws, patients, alternatives) is large
            idx = np.arange(start, min(start + 500, C * D))
            ll[idx] = self._log_density(idx)
        return ll.reshape(C, D, len(self._t))

    def _log_density(self, idx: np.ndarray) -> np.ndarray:
        """(len(idx), N) log density of the observed outcomes at posterior draws ``idx``."""
        if not (self.data is not None and self._propensity is not None and self._y is not None):
            raise RuntimeError("fit or load the model first")
        rows, t = np.arange(len(self._t)), self._t
        received = self._expected_outcomes(self._Z, self._propensity, idx, residual=False)[:, rows, t]
        if self.data.outcome_kind == "binary":
            p = np.clip(received, 1e-12, 1 - 1e-12)
            return np.where(self._y > 0.5, np.log(p), np.log1p(-p))
        scale, nu = self._noise_draws(idx)
        var = np.repeat((scale**2)[:, None], len(t), axis=1)
        if self._residual():
            post = self._group("posterior")
            ref = self.data.alternatives.index(self.data.reference)
            for k in range(len(self.data.alternatives)):
                if k != ref:
                    s_k = _stack(post[f"s_resid_{k}"])[idx] * self.outcome_scale[1]
                    var[:, t == k] += (s_k**2)[:, None]
        if nu is None:
            return stats.norm.logpdf(self._y[None, :], received, np.sqrt(var))
        return stats.t.logpdf(self._y[None, :], nu[:, None], received, np.sqrt(var))

    def drivers(self, X_row: pd.DataFrame, alternative: str, reference: str) -> pd.DataFrame:
        """Each covariate's contribution to this patient's effect of ``alternative`` vs ``reference``.

        Default: counterfactual sensitivity, i.e. the posterior change in the effect when that
        covariate alone is moved to the cohort median (numeric) or mode (categorical).  Positive
        contribution = this covariate's value raises the effect relative to a typical patient.
        """
        self._require_fitted()
        if not (self.design is not None and self.data is not None):
            raise RuntimeError("fit or load the model first")
        if not (self.propensity_model is not None):
            raise RuntimeError("fit or load the model first")
        if len(X_row) != 1:
            raise ValueError("drivers explains one patient: pass a one-row DataFrame")
        a = self.data.alternatives.index(alternative)
        r = self.data.alternatives.index(reference)
        base_row = X_row[list(self.design.columns)].reset_index(drop=True)
        rows = [base_row]
        typical = self.design.reference_row()
        for col in self.design.columns:
            moved = base_row.copy()
            moved[col] = typical[col].astype(moved[col].dtype, errors="ignore").iloc[0]
            rows.append(moved)
        frame = pd.concat(rows, ignore_index=True)
        Z = self.design.transform(frame)
        # Propensity held at the patient's own value: the question is how the covariate changes
        # the effect, not how it changes who would have been treated.
        prop = np.repeat(self.propensity_model.predict(Z[:1]), len(frame), axis=0)
        mu = self._expected_outcomes(Z, prop, self._draw_index())
        eff = mu[:, :, a] - mu[:, :, r]
        contrib = eff[:, :1] - eff[:, 1:]
        return pd.DataFrame(
            {
                "value": [X_row[c].iloc[0] for c in self.design.columns],
                "typical": [typical[c].iloc[0] for c in self.design.columns],
                "mean": contrib.mean(axis=0),
                "q05": np.quantile(contrib, 0.05, axis=0),
                "q95": np.quantile(contrib, 0.95, axis=0),
            },
            index=pd.Index(self.design.columns, name="covariate"),
        )

    # ----- persistence -----------------------------------------------------------------------------
    def _make_provenance(self) -> dict[str, Any]:
        if not (self.data is not None and self.design is not None):
            raise RuntimeError("fit or load the model first")
        if not (self.propensity_model is not None and self.diagnostics is not None):
            raise RuntimeError("fit or load the model first")
        return {
            "model_name": self.name,
            "model_version": self.version,
            "model_id": self.model_id,
            "model_type": type(self).__qualname__,
            "model_config": self.model_config,
            "sampler_config": self.sampler_config,
            "fit_info": self.fit_info,
            "package_versions": _versions(),
            "data_hash": self.data.data_hash(),
            "patients": list(self._patient_ids),
            "alternatives": list(self.data.alternatives),
            "reference": self.data.reference,
            "outcome_kind": self.data.outcome_kind,
            "lower_is_better": self.data.lower_is_better,
            "outcome_scale": list(self.outcome_scale),
            "diagnostics": self.diagnostics.to_dict(),
            "encoder": self.design.to_dict(),
            "propensity_model": self.propensity_model.to_dict(),
            "propensity": np.asarray(self._propensity).tolist(),
            "treatment_index": self._t.tolist(),
            "outcome": self._y.tolist(),
            "covariates": {
                str(c): (
                    self.data.X[c].astype(float).tolist()
                    if c in self.design.numeric
                    else self.data.X[c].astype(str).tolist()
                )
                for c in self.design.columns
            },
        }

    def save(self, path: str | Path) -> Path:
        """Write the posterior DataTree as NetCDF with provenance in its root attributes."""
        self._require_fitted()
        if not (self.idata is not None):
            raise RuntimeError("fit or load the model first")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tree = self.idata.copy()
        tree.attrs = {
            **{k: v for k, v in tree.attrs.items() if isinstance(v, str | int | float)},
            "workbench_provenance": json.dumps(self.provenance, default=str),
            "model_name": self.name,
            "model_version": self.version,
            "model_id": self.model_id,
            "data_hash": self.provenance["data_hash"],
        }
        write_tree(tree, path)
        return path

    @classmethod
    def load(cls, path: str | Path, *, data: EffectData | None = None) -> Self:
        """Reload a saved run; refuses a different model name, version or id, or different data."""
        tree = read_tree(Path(path))
        try:
            prov = json.loads(tree.attrs["workbench_provenance"])
        except KeyError as exc:
            raise ModelLoadError("file is not a workbench model run (no provenance)") from exc
        if prov["model_name"] != cls.name:
            raise ModelLoadError(f"run was made by model {prov['model_name']!r}, not {cls.name!r}")
        if prov["model_version"] != cls.version:
            raise ModelLoadError(
                f"run was made by {cls.name} version {prov['model_version']}, this code is "
                f"version {cls.version}: refit the model"
            )
        if cls._model_id(prov["model_config"]) != prov["model_id"]:
            raise ModelLoadError("model id does not match its configuration: file altered?")
        if data is not None and data.data_hash() != prov["data_hash"]:
            raise ModelLoadError("the data differ from the data this run was fitted on")
        self = cls(model_config=prov["model_config"], sampler_config=prov["sampler_config"])
        self.idata = tree
        self.provenance = prov
        self.fit_info = prov["fit_info"]
        self.design = Design.from_dict(prov["encoder"])
        self.propensity_model = PropensityModel.from_dict(prov["propensity_model"])
        self.diagnostics = Diagnostics.from_dict(prov["diagnostics"])
        self.outcome_scale = (float(prov["outcome_scale"][0]), float(prov["outcome_scale"][1]))
        self._patient_ids = tuple(prov["patients"])
        self._propensity = np.asarray(prov["propensity"], dtype=float)
        self._t = np.asarray(prov["treatment_index"], dtype=np.int64)
        self._y = np.asarray(prov["outcome"], dtype=float)
        alts = tuple(prov["alternatives"])
        X = data.X if data is not None else pd.DataFrame(prov["covariates"], index=self._patient_ids)
        self.data = data or EffectData(
            X=X,
            treatment=pd.Series([alts[i] for i in self._t], index=X.index),
            outcome=pd.Series(self._y, index=X.index),
            alternatives=alts,
            reference=prov["reference"],
            outcome_kind=prov["outcome_kind"],
            lower_is_better=bool(prov["lower_is_better"]),
        )
        self._Z = self.design.transform(self.data.X)
        self._after_load()
        return self

    def _after_load(self) -> None:  # noqa: B027
        """Hook for models that keep extra state in the saved tree."""
