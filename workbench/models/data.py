"""Model inputs: the cohort as an immutable :class:`EffectData` and the covariate :class:`Design`.

The design (standardisation + one-hot encoding) is fitted once on the cohort and stored with every
model run, so a NEW patient seen in clinic is encoded exactly as the patients the model learned from.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

OutcomeKind = Literal["continuous", "binary"]


def row_key(row: np.ndarray) -> bytes:
    """The bytes of one standardised design row: what identifies a patient's covariates exactly."""
    return np.ascontiguousarray(row, dtype=float).tobytes()


def row_hash(row: np.ndarray) -> int:
    """A stable 64-bit integer from a design row, the same in every process and batch (seeds, fold choice)."""
    return int.from_bytes(hashlib.blake2b(row_key(row), digest_size=8).digest(), "little")


def _is_categorical(s: pd.Series) -> bool:
    return not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s))


@dataclass(frozen=True)
class Design:
    """Encoder of covariates into a standardised numeric matrix.

    Numerics are centred and scaled by the cohort mean / SD (so shrinkage priors act on comparable
    scales); categoricals are one-hot encoded with the first level (sorted) dropped as the reference
    (a full one-hot set plus an intercept is collinear, which ruins sampler geometry), then scaled the
    same way.  Unknown levels and missing values on new patients are refused rather than guessed.
    """

    columns: tuple[str, ...]
    numeric: dict[str, tuple[float, float]]
    categorical: dict[str, tuple[str, ...]]
    feature_names: tuple[str, ...]
    feature_groups: tuple[str, ...]
    feature_center: tuple[float, ...]
    feature_scale: tuple[float, ...]
    fill: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def fit(cls, X: pd.DataFrame) -> Design:
        """Learn the encoding from the cohort covariates."""
        numeric: dict[str, tuple[float, float]] = {}
        categorical: dict[str, tuple[str, ...]] = {}
        fill: dict[str, Any] = {}
        names: list[str] = []
        groups: list[str] = []
        _check_complete(X, "covariates")
        for col in X.columns:
            s = X[col]
            if _is_categorical(s):
                levels = tuple(sorted({str(v) for v in s}))
                categorical[str(col)] = levels
                fill[str(col)] = str(s.astype(str).mode().iloc[0])
                for lev in levels[1:]:
                    names.append(f"{col}={lev}")
                    groups.append(str(col))
            else:
                v = s.astype(float).to_numpy()
                numeric[str(col)] = (float(v.mean()), float(v.std()) or 1.0)
                fill[str(col)] = float(np.median(v))
                names.append(str(col))
                groups.append(str(col))
        design = cls(
            columns=tuple(str(c) for c in X.columns),
            numeric=numeric,
            categorical=categorical,
            feature_names=tuple(names),
            feature_groups=tuple(groups),
            feature_center=(),
            feature_scale=(),
            fill=fill,
        )
        raw = design._raw(X)
        center = raw.mean(axis=0)
        scale = raw.std(axis=0)
        scale[scale == 0] = 1.0
        return cls(
            columns=design.columns,
            numeric=numeric,
            categorical=categorical,
            feature_names=design.feature_names,
            feature_groups=design.feature_groups,
            feature_center=tuple(float(c) for c in center),
            feature_scale=tuple(float(c) for c in scale),
            fill=fill,
        )

    def _raw(self, X: pd.DataFrame) -> np.ndarray:
        missing = [c for c in self.columns if c not in X.columns]
        if missing:
            raise ValueError(f"covariates missing from the new data: {missing}")
        _check_complete(X[list(self.columns)], "covariates")
        parts: list[np.ndarray] = []
        for col in self.columns:
            if col in self.numeric:
                parts.append(X[col].astype(float).to_numpy()[:, None])
            else:
                levels = self.categorical[col]
                values = X[col].astype(str).to_numpy()
                unknown = ~np.isin(values, levels)
                if unknown.any():
                    row = X.index[int(np.argmax(unknown))]
                    raise ValueError(
                        f"column {col!r} has a category not seen when the model was fitted "
                        f"(row {row!r}); refit the model or map it to a known category"
                    )
                parts.append(
                    np.stack([(values == lev).astype(float) for lev in levels[1:]], axis=1)
                    if len(levels) > 1
                    else np.zeros((len(X), 0))
                )
        return np.concatenate(parts, axis=1) if parts else np.zeros((len(X), 0))

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        """Encode covariates (cohort or new patients) into the standardised design matrix."""
        raw = self._raw(X)
        return (raw - np.asarray(self.feature_center)) / np.asarray(self.feature_scale)

    def reference_row(self) -> pd.DataFrame:
        """One row with each covariate at its cohort median (numeric) or mode (categorical)."""
        return pd.DataFrame({c: [self.fill[c]] for c in self.columns})

    def to_dict(self) -> dict[str, Any]:
        """JSON-able state, saved in every model run."""
        return {
            "columns": list(self.columns),
            "numeric": {k: list(v) for k, v in self.numeric.items()},
            "categorical": {k: list(v) for k, v in self.categorical.items()},
            "feature_names": list(self.feature_names),
            "feature_groups": list(self.feature_groups),
            "feature_center": list(self.feature_center),
            "feature_scale": list(self.feature_scale),
            "fill": self.fill,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Design:
        """Rebuild the encoder saved with a run."""
        return cls(
            columns=tuple(d["columns"]),
            numeric={k: (float(v[0]), float(v[1])) for k, v in d["numeric"].items()},
            categorical={k: tuple(v) for k, v in d["categorical"].items()},
            feature_names=tuple(d["feature_names"]),
            feature_groups=tuple(d["feature_groups"]),
            feature_center=tuple(float(x) for x in d["feature_center"]),
            feature_scale=tuple(float(x) for x in d["feature_scale"]),
            fill=dict(d["fill"]),
        )


def _check_complete(df: pd.DataFrame, what: str) -> None:
    """Refuse missing values, naming column and row but never echoing values (they may be PHI)."""
    na = df.isna()
    if na.to_numpy().any():
        col = na.any(axis=0).idxmax()
        row = df.index[int(np.argmax(na[col].to_numpy()))]
        raise ValueError(f"{what}: missing value in column {col!r} at row {row!r}")


@dataclass(frozen=True)
class EffectData:
    """A cohort ready for a treatment-effect model.

    ``alternatives`` fixes the order of the K options in every array the models return;
    ``reference`` is the comparator effects are reported against by default.
    """

    X: pd.DataFrame
    treatment: pd.Series
    outcome: pd.Series | None
    alternatives: tuple[str, ...]
    reference: str
    outcome_kind: OutcomeKind = "continuous"
    lower_is_better: bool = True

    def __post_init__(self) -> None:
        if self.reference not in self.alternatives:
            raise ValueError("reference must be one of the alternatives")
        if len(self.alternatives) < 2:
            raise ValueError("at least two alternatives are needed to compare treatments")
        if not self.treatment.index.equals(self.X.index):
            raise ValueError("treatment and covariates must share the same patient index")
        unknown = ~self.treatment.astype(str).isin(self.alternatives)
        if unknown.any():
            raise ValueError(
                f"treatment at row {self.treatment.index[int(np.argmax(unknown.to_numpy()))]!r} "
                "is not one of the alternatives"
            )
        if self.outcome is not None:
            _check_complete(self.outcome.to_frame("outcome"), "outcome")
            if self.outcome_kind == "binary" and not set(np.unique(self.outcome.astype(float))) <= {0.0, 1.0}:
                raise ValueError("a binary outcome must be coded 0/1")

    @property
    def patient_ids(self) -> tuple[str, ...]:
        """Patient keys, as strings, in row order."""
        return tuple(str(i) for i in self.X.index)

    @property
    def treatment_index(self) -> np.ndarray:
        """Position of each patient's received alternative in ``alternatives``."""
        lookup = {a: i for i, a in enumerate(self.alternatives)}
        return np.array([lookup[str(t)] for t in self.treatment], dtype=np.int64)

    def data_hash(self) -> str:
        """Stable SHA-256 of ids, covariates, treatment and outcome (equal data <=> equal hash)."""
        h = hashlib.sha256()
        h.update(repr((tuple(map(str, self.X.columns)), self.alternatives, self.reference)).encode())
        h.update(repr(self.outcome_kind).encode() + repr(self.lower_is_better).encode())
        X = self.X.copy()
        X.index = X.index.astype(str)
        h.update(pd.util.hash_pandas_object(X, index=True).to_numpy().tobytes())
        h.update(pd.util.hash_pandas_object(self.treatment.astype(str), index=False).to_numpy())
        if self.outcome is not None:
            h.update(self.outcome.astype(float).to_numpy().tobytes())
        return h.hexdigest()

    @classmethod
    def from_frame(
        cls,
        df: pd.DataFrame,
        *,
        treatment: str,
        outcome: str | None,
        covariates: list[str] | None = None,
        reference: str | None = None,
        alternatives: list[str] | None = None,
        outcome_kind: OutcomeKind | None = None,
        lower_is_better: bool = True,
    ) -> EffectData:
        """Build from a flat table (one row per patient, index = patient key).

        ``covariates`` defaults to every column except treatment and outcome; ``outcome_kind`` is
        inferred (0/1 values => binary); ``reference`` defaults to the first alternative (sorted).
        """
        needed = [treatment] + ([outcome] if outcome else []) + list(covariates or [])
        missing = [c for c in needed if c not in df.columns]
        if missing:
            raise ValueError(f"columns not found in the table: {missing}")
        if covariates is None:
            covariates = [c for c in df.columns if c not in {treatment, outcome}]
        frame = df.copy()
        frame.index = frame.index.astype(str)
        _check_complete(frame[[treatment]], "treatment")
        t = frame[treatment].astype(str)
        alts = tuple(alternatives) if alternatives else tuple(sorted(t.unique()))
        y = None
        kind: OutcomeKind = outcome_kind or "continuous"
        if outcome is not None:
            y = frame[outcome]
            _check_complete(y.to_frame(outcome), "outcome")
            y = y.astype(float)
            if outcome_kind is None and set(np.unique(y)) <= {0.0, 1.0}:
                kind = "binary"
        return cls(
            X=frame[list(covariates)],
            treatment=t,
            outcome=y,
            alternatives=alts,
            reference=reference if reference is not None else alts[0],
            outcome_kind=kind,
            lower_is_better=lower_is_better,
        )

    @classmethod
    def two_arms(cls, X: pd.DataFrame, treated: Any, y: Any, *, lower_is_better: bool = False) -> EffectData:
        """A two-arm table as model input: alternatives ``control`` (the reference) and ``treated``.

        The shape of every benchmark and of ``workbench effects``: a binary treatment (``treated``,
        booleans), an outcome ``y`` and covariates ``X`` whose index becomes the patient keys.
        """
        frame = X.assign(_arm=np.where(np.asarray(treated, dtype=bool), "treated", "control"), _y=np.asarray(y))
        return cls.from_frame(
            frame,
            treatment="_arm",
            outcome="_y",
            covariates=list(X.columns),
            reference="control",
            alternatives=["control", "treated"],
            lower_is_better=lower_is_better,
        )
