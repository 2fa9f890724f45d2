"""Per-patient posterior of the expected outcome under every alternative.

This is what the review screen and exports consume; every number it derives (effects, intervals,
P(benefit), P(best), overlap) is a plain function of the draws, so it is identical for every model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

#: Propensity below this (or above 1 - this) flags an alternative as outside the data's support.
DEFAULT_OVERLAP_THRESHOLD = 0.05

_QUANTILES = {"q05": 0.05, "q25": 0.25, "q75": 0.75, "q95": 0.95}


@dataclass(frozen=True)
class PatientEffects:
    """One patient's comparison of alternatives (rows = alternatives)."""

    patient_id: str
    table: pd.DataFrame
    draws: np.ndarray  # (S, K)
    approximate: bool
    reliable: bool


@dataclass(frozen=True)
class EffectPosterior:
    """Posterior draws ``(S, N, K)`` of each patient's expected outcome under each alternative.

    ``reliable`` is False when the run failed its diagnostics: every surface that shows these numbers
    must say so.  ``approximate`` marks variational previews, which are never exact.
    """

    draws: np.ndarray
    patient_ids: tuple[str, ...]
    alternatives: tuple[str, ...]
    reference: str
    lower_is_better: bool
    approximate: bool
    propensity: np.ndarray
    overlap_threshold: float = DEFAULT_OVERLAP_THRESHOLD
    reliable: bool = True
    outcome_kind: str = "continuous"
    _index: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        _, N, K = self.draws.shape
        if N != len(self.patient_ids) or K != len(self.alternatives):
            raise ValueError("draws must be (draws, patients, alternatives)")
        if self.propensity.shape != (N, K):
            raise ValueError("propensity must be (patients, alternatives)")
        self._index.update({p: i for i, p in enumerate(self.patient_ids)})

    def overlap_warnings(self) -> np.ndarray:
        """(N, K) booleans: few comparable patients received (or did not receive) this alternative.

        A propensity near 0 means patients like this one almost never got the alternative, so its
        predicted outcome is extrapolation; near 1 means almost all did, so the comparators are the
        extrapolation.  Either way confidence is lower than the interval suggests.
        """
        p = self.propensity
        return (p < self.overlap_threshold) | (p > 1.0 - self.overlap_threshold)

    def best_probability(self) -> np.ndarray:
        """(N, K) posterior probability that each alternative has the best expected outcome."""
        best = self.draws.argmin(axis=2) if self.lower_is_better else self.draws.argmax(axis=2)
        K = len(self.alternatives)
        return np.stack([(best == k).mean(axis=0) for k in range(K)], axis=1)

    def effect_draws(self, reference: str | None = None) -> np.ndarray:
        """(S, N, K) draws of each alternative's expected outcome minus the reference's."""
        r = self.alternatives.index(reference or self.reference)
        return self.draws - self.draws[:, :, r : r + 1]

    def benefit_probability(self, *, reference: str | None = None, min_important_difference: float = 0.0) -> np.ndarray:
        """(N, K) P(alternative better than reference by more than the clinically important difference)."""
        eff = self.effect_draws(reference)
        better = eff < -min_important_difference if self.lower_is_better else eff > min_important_difference
        return better.mean(axis=0)

    def summary(self, *, reference: str | None = None, min_important_difference: float = 0.0) -> pd.DataFrame:
        """One row per patient x alternative with outcome and effect summaries.

        Intervals are equal-tailed posterior quantiles (50%: q25-q75, 90%: q05-q95).
        """
        ref = reference or self.reference
        eff = self.effect_draws(ref)
        N, K = self.draws.shape[1:]
        cols: dict[str, np.ndarray] = {
            "mean": self.draws.mean(axis=0),
            "sd": self.draws.std(axis=0, ddof=1),
        }
        q = np.quantile(self.draws, list(_QUANTILES.values()), axis=0)
        cols.update({name: q[i] for i, name in enumerate(_QUANTILES)})
        cols["effect_mean"] = eff.mean(axis=0)
        cols["effect_sd"] = eff.std(axis=0, ddof=1)
        qe = np.quantile(eff, list(_QUANTILES.values()), axis=0)
        cols.update({f"effect_{name}": qe[i] for i, name in enumerate(_QUANTILES)})
        cols["p_benefit"] = self.benefit_probability(reference=ref, min_important_difference=min_important_difference)
        cols["p_best"] = self.best_probability()
        cols["propensity"] = self.propensity
        cols["overlap_warning"] = self.overlap_warnings()
        index = pd.MultiIndex.from_product(
            [list(self.patient_ids), list(self.alternatives)], names=["patient_id", "alternative"]
        )
        out = pd.DataFrame({k: v.reshape(N * K) for k, v in cols.items()}, index=index)
        out["reference"] = ref
        out["approximate"] = self.approximate
        out["reliable"] = self.reliable
        return out

    def for_patient(
        self,
        patient_id: str,
        *,
        reference: str | None = None,
        min_important_difference: float = 0.0,
    ) -> PatientEffects:
        """The comparison for one patient (rows = alternatives)."""
        if patient_id not in self._index:
            raise KeyError("patient not in this model run")
        i = self._index[patient_id]
        sub = EffectPosterior(
            draws=self.draws[:, i : i + 1, :],
            patient_ids=(patient_id,),
            alternatives=self.alternatives,
            reference=self.reference,
            lower_is_better=self.lower_is_better,
            approximate=self.approximate,
            propensity=self.propensity[i : i + 1],
            overlap_threshold=self.overlap_threshold,
            reliable=self.reliable,
            outcome_kind=self.outcome_kind,
        )
        table = sub.summary(reference=reference, min_important_difference=min_important_difference).droplevel(
            "patient_id"
        )
        return PatientEffects(
            patient_id=patient_id,
            table=table,
            draws=self.draws[:, i, :],
            approximate=self.approximate,
            reliable=self.reliable,
        )

    def average_effect(self, reference: str | None = None) -> np.ndarray:
        """(S, K) draws of the cohort-average effect of each alternative vs reference."""
        return self.effect_draws(reference).mean(axis=1)
