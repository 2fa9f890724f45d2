"""Comparing runs by PSIS-LOO: the rule on hand-made log likelihoods, then real fits with a known answer."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from workbench.models import EffectData
from workbench.models.bcf import BCFModel
from workbench.models.comparison import compare_runs, loo
from workbench.models.hierarchical import HierarchicalEffectModel


@dataclass
class _Run:
    """Stands in for a fitted run: only what the comparison reads (no sampler involved)."""

    ll: np.ndarray
    provenance: dict = field(default_factory=lambda: {"data_hash": "same", "patients": ["a", "b"]})

    def pointwise_log_likelihood(self) -> np.ndarray:
        return self.ll


def _ll(y: np.ndarray, mean: float, sd: float, draws: int = 400, seed: int = 0) -> np.ndarray:
    """(2, draws, N) log densities of ``y`` under Normal(mean, sd) with a little posterior jitter."""
    rng = np.random.default_rng(seed)
    m = mean + rng.normal(0.0, 0.02, (2, draws, 1))
    return stats.norm.logpdf(y[None, None, :], m, sd)


def test_when_one_run_predicts_clearly_better_then_it_is_recommended_over_the_preferred_one():
    y = np.random.default_rng(1).normal(0.0, 1.0, 300)
    good, poor = _Run(_ll(y, 0.0, 1.0)), _Run(_ll(y, 0.0, 2.0))  # poor: twice the true spread
    c = compare_runs({"simple": poor, "flexible": good}, prefer="simple")
    assert c.recommended == "flexible"
    assert "better than simple" in c.reason
    assert list(c.table.index) == ["flexible", "simple"]
    record = json.loads(json.dumps(c.to_dict(), allow_nan=False))  # strict JSON: the best row's NaNs are nulls
    assert record["recommended"] == "flexible"
    assert record["table"]["simple"]["elpd_diff"] < 0.0 and record["table"]["flexible"]["p_worse"] is None


def test_when_the_difference_is_within_noise_then_the_preferred_run_is_kept():
    y = np.random.default_rng(2).normal(0.0, 1.0, 300)
    a, b = _Run(_ll(y, 0.0, 1.0, seed=3)), _Run(_ll(y, 0.01, 1.01, seed=4))
    c = compare_runs({"simple": a, "flexible": b}, prefer="flexible")
    assert c.recommended == "flexible"
    c = compare_runs({"simple": a, "flexible": b}, prefer="simple")
    assert c.recommended == "simple"


def test_when_runs_saw_different_data_or_the_preference_is_unknown_then_comparison_is_refused():
    y = np.zeros(10)
    a = _Run(_ll(y, 0.0, 1.0))
    b = _Run(_ll(y, 0.0, 1.0), provenance={"data_hash": "other", "patients": ["a", "b"]})
    with pytest.raises(ValueError, match="different data"):
        compare_runs({"a": a, "b": b}, prefer="a")
    with pytest.raises(ValueError, match="prefer"):
        compare_runs({"a": a, "b": _Run(a.ll)}, prefer="c")
    with pytest.raises(ValueError, match="two runs"):
        compare_runs({"a": a}, prefer="a")


# ----- real fits ------------------------------------------------------------------------------------
SMALL = {"draws": 300, "tune": 300, "chains": 2}


def _table(n: int, seed: int, product_step: bool) -> EffectData:
    """Two arms, confounded; the effect is additive in the covariates or a step on their product."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 4)), columns=["a", "b", "c", "d"])
    treated = rng.random(n) < 1 / (1 + np.exp(-0.8 * X["a"]))
    mu0 = X["a"] + 0.5 * X["b"] - 0.3 * X["c"]
    tau = 2.0 + (3.0 * (X["a"] * X["b"] > 0) if product_step else 1.0 * X["b"])
    y = mu0 + treated * tau + rng.normal(0.0, 0.5, n)
    return EffectData.two_arms(X, treated, y)

@pytest.mark.parametrize("product_step", [True, False], ids=["interaction", "additive"])
def test_when_the_effect_has_an_interaction_then_loo_prefers_bcf_and_otherwise_keeps_the_simpler_model(product_step):
    """Known answer: an effect that steps on the product of two covariates is beyond the hierarchical
    model's additive modifiers, so bcf predicts held-out outcomes clearly better; where the truth is
    additive both models are right and the comparison keeps the simpler one."""
    data = _table(400, 7, product_step)
    runs = {
        "hierarchical": HierarchicalEffectModel(sampler_config=SMALL).fit(data, random_seed=3, progressbar=False),
        "bcf": BCFModel(sampler_config=SMALL).fit(data, random_seed=3, progressbar=False),
    }
    c = compare_runs(runs, prefer="hierarchical")
    assert c.recommended == ("bcf" if product_step else "hierarchical"), c.reason
    res = loo(runs["bcf"])
    assert np.asarray(res.elpd_i).shape == (400,)
    assert np.isfinite(res.elpd) and res.se > 0
