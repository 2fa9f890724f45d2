"""A tiny confounded cohort simulator with known truth, shared by the models tests.

Shaped like the demo cohort (K alternatives, mixed covariates); kept in the tests, not the package.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import expit

ALTS = ("dpp4i", "glp1ra", "sglt2i", "basal_insulin")


@dataclass
class SimCohort:
    patients: pd.DataFrame
    true_mu: np.ndarray  # (N, K) expected outcome under each alternative
    alternatives: tuple[str, ...]

    def true_effects(self, reference: str = "dpp4i") -> np.ndarray:
        r = self.alternatives.index(reference)
        return self.true_mu - self.true_mu[:, [r]]


def simulate(
    n: int = 400,
    *,
    seed: int = 0,
    alternatives: tuple[str, ...] = ALTS,
    binary: bool = False,
    noise: float = 4.0,
) -> SimCohort:
    """Confounded assignment (older / high-HbA1c patients more often get the later options)."""
    rng = np.random.default_rng(seed)
    K = len(alternatives)
    age = rng.normal(60, 10, n)
    hba1c = rng.normal(64, 10, n)
    egfr = rng.normal(75, 15, n)
    sex = rng.choice(["female", "male"], n)
    cvd = rng.binomial(1, 0.3, n)
    za, zh, ze = (age - 60) / 10, (hba1c - 64) / 10, (egfr - 75) / 15
    logits = np.stack([0.6 * k * za + 0.5 * k * zh - 0.3 * k * cvd for k in range(K)], axis=1)
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    t = np.array([rng.choice(K, p=row) for row in p])
    # prognosis: high baseline HbA1c falls more; effect modifiers linear in covariates
    base = -2.0 - 4.0 * zh + 1.0 * za
    tau = np.array([0.0, -5.0, -3.0, -6.0, -1.0][:K])
    mod_h = np.array([0.0, -2.0, 0.0, -3.0, 0.0][:K])
    mod_e = np.array([0.0, 0.0, -2.0, 0.0, 0.0][:K])
    mod_cvd = np.array([0.0, 0.0, -1.5, 0.0, 0.0][:K])
    mu = base[:, None] + tau[None, :] + np.outer(zh, mod_h) + np.outer(ze, mod_e) + np.outer(cvd, mod_cvd)
    if binary:
        mu = expit(-1.0 + 0.25 * mu)
        y = rng.binomial(1, mu[np.arange(n), t]).astype(float)
    else:
        y = mu[np.arange(n), t] + rng.normal(0, noise, n)
    df = pd.DataFrame(
        {
            "age": age.round(1),
            "sex": sex,
            "hba1c_baseline": hba1c.round(1),
            "egfr": egfr.round(1),
            "cvd": cvd,
            "treatment": np.asarray(alternatives)[t],
            "outcome": y,
        },
        index=pd.Index([f"P{i:05d}" for i in range(n)], name="patient_id"),
    )
    return SimCohort(patients=df, true_mu=mu, alternatives=tuple(alternatives))


def test_when_simulating_then_observed_outcome_is_centred_on_the_true_mean_received():
    c = simulate(2000, seed=3)
    t = np.array([c.alternatives.index(a) for a in c.patients["treatment"]])
    resid = c.patients["outcome"].to_numpy() - c.true_mu[np.arange(len(t)), t]
    assert abs(resid.mean()) < 0.4
    assert 3.5 < resid.std() < 4.5
