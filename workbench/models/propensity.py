"""Propensity of each alternative given covariates (multinomial logistic regression).

Fitted by scikit-learn on the same design as the outcome model; only its coefficients are kept, so
a saved run can score new patients without pickles.  The L2 penalty is either fixed (``C``) or chosen
by stratified cross-validation of the log-loss (``C="cv"``): with many covariates and few patients a
fixed mild penalty over-fits the assignment (on held-out folds such propensities can predict worse
than the base rates), and a model that conditions on the propensity then conditions on that noise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

#: Penalties searched when ``C="cv"`` (inverse L2 strength on the standardised design): from
#: near-constant propensities to almost unpenalised.
CV_GRID = tuple(float(c) for c in np.logspace(-4, 2, 13))


def _cv_penalty(Z: np.ndarray, t: np.ndarray, n_folds: int) -> float:
    """The ``CV_GRID`` value with the lowest mean held-out log-loss over stratified folds (fixed split).

    Not ``LogisticRegressionCV``: its arguments and fitted attributes change between the releases
    we allow (1.9 warns of ``l1_ratios`` and ``use_legacy_attributes``, which 1.5 does not know).
    """
    folds = list(StratifiedKFold(n_folds, shuffle=True, random_state=0).split(Z, t))
    losses = []
    for C in CV_GRID:
        fold_losses = []
        for train, test in folds:
            clf = LogisticRegression(C=C, max_iter=2000).fit(Z[train], t[train])
            proba = clf.predict_proba(Z[test])
            col = np.searchsorted(clf.classes_, t[test])
            fold_losses.append(-np.mean(np.log(np.clip(proba[np.arange(len(test)), col], 1e-15, None))))
        losses.append(np.mean(fold_losses))
    return CV_GRID[int(np.argmin(losses))]


@dataclass(frozen=True)
class PropensityModel:
    """Linear-logistic propensity P(alternative k | x); columns follow ``alternatives`` order."""

    coef: np.ndarray  # (K, P)
    intercept: np.ndarray  # (K,)

    @classmethod
    def fit(cls, Z: np.ndarray, t: np.ndarray, n_alternatives: int, *, C: float | str = 1.0) -> PropensityModel:
        """Fit on the standardised design ``Z`` and received-alternative indices ``t``.

        ``C`` is the inverse L2 penalty: a number (1.0, mild, keeps estimates finite when some
        covariate pattern almost determines the choice, exactly the patients the overlap warning is
        for), or ``"cv"``: the value of :data:`CV_GRID` with the best 5-fold stratified held-out
        log-loss (deterministic folds; fewer folds if an alternative has fewer than 5 patients, the
        fixed 1.0 if one has fewer than 2).
        """
        counts = np.bincount(t)
        smallest = int(counts[counts > 0].min()) if len(np.unique(t)) > 1 else 0
        penalty = 1.0 if C == "cv" else float(C)
        if C == "cv" and smallest >= 2:
            penalty = _cv_penalty(Z, t, min(5, smallest))
        clf = LogisticRegression(C=penalty, max_iter=2000)
        clf.fit(Z, t)
        coef = np.zeros((n_alternatives, Z.shape[1]))
        intercept = np.zeros(n_alternatives)
        classes = list(clf.classes_)
        if len(classes) == 2:
            # sklearn's binary form is a single logit for classes_[1]; put it on the softmax scale.
            coef[classes[1]] = clf.coef_[0]
            intercept[classes[1]] = clf.intercept_[0]
        else:
            for j, k in enumerate(classes):
                coef[k] = clf.coef_[j]
                intercept[k] = clf.intercept_[j]
        absent = set(range(n_alternatives)) - set(classes)
        for k in absent:  # never received: propensity ~ 0 everywhere, so always an overlap warning
            intercept[k] = -30.0
        return cls(coef=coef, intercept=intercept)

    def predict(self, Z: np.ndarray) -> np.ndarray:
        """Propensity matrix (N, K)."""
        eta = Z @ self.coef.T + self.intercept
        eta -= eta.max(axis=1, keepdims=True)
        p = np.exp(eta)
        return p / p.sum(axis=1, keepdims=True)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able state."""
        return {"coef": self.coef.tolist(), "intercept": self.intercept.tolist()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PropensityModel:
        """Rebuild from saved state."""
        return cls(coef=np.asarray(d["coef"], dtype=float), intercept=np.asarray(d["intercept"], dtype=float))
