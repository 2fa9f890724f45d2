"""Propensity of each alternative given covariates (multinomial logistic regression).

Fitted by scikit-learn on the same design as the outcome model; only its coefficients are kept, so
a saved run can score new patients without pickles.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression


@dataclass(frozen=True)
class PropensityModel:
    """Linear-logistic propensity P(alternative k | x); columns follow ``alternatives`` order."""

    coef: np.ndarray  # (K, P)
    intercept: np.ndarray  # (K,)

    @classmethod
    def fit(cls, Z: np.ndarray, t: np.ndarray, n_alternatives: int, *, C: float = 1.0) -> PropensityModel:
        """Fit on the standardised design ``Z`` and received-alternative indices ``t``.

        ``C`` is a mild L2 penalty: it keeps estimates finite when some covariate pattern almost
        determines the choice (exactly the patients the overlap warning is for).
        """
        clf = LogisticRegression(C=C, max_iter=2000)
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
