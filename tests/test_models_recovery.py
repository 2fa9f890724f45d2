"""Real-sampling recovery, persistence and caching tests on small simulated cohorts with known truth."""

from __future__ import annotations

import numpy as np
import pytest
from test_models_sim import simulate

from workbench.models import EffectData, ModelLoadError
from workbench.models.bcf import BCFModel
from workbench.models.hierarchical import HierarchicalEffectModel

pytestmark = [pytest.mark.sampling, pytest.mark.slow]

SMALL = {"draws": 300, "tune": 400, "chains": 2, "thresholds": {"ess_bulk_min": 100, "ess_tail_min": 100}}


def _data(c, **kw) -> EffectData:
    return EffectData.from_frame(
        c.patients,
        treatment="treatment",
        outcome="outcome",
        reference="dpp4i",
        alternatives=list(c.alternatives),
        **kw,
    )


def _coverage(ep, truth):
    eff = ep.effect_draws("dpp4i")
    lo, hi = np.quantile(eff, [0.05, 0.95], axis=0)
    inside = (truth >= lo) & (truth <= hi)
    return inside[:, 1:].mean(), eff.mean(axis=(0, 1))[1:] - truth.mean(axis=0)[1:]


@pytest.fixture(scope="module")
def continuous_fit():
    c = simulate(500, seed=11)
    data = _data(c)
    model = HierarchicalEffectModel(sampler_config=SMALL).fit(data, random_seed=5, progressbar=False)
    return c, data, model


def test_when_hierarchical_fits_continuous_cohort_then_it_recovers_true_individual_effects(continuous_fit):
    c, _, model = continuous_fit
    assert model.fit_info["sampler"] == "nutpie"
    assert model.diagnostics.divergences == 0
    assert model.diagnostics.rhat_max < 1.05
    cov, ate_err = _coverage(model.predict_effects(), c.true_effects("dpp4i"))
    assert 0.80 <= cov <= 0.99, cov
    assert np.abs(ate_err).max() < 1.5, ate_err  # noise SD is 4 mmol/mol
    assert 0.8 <= model.diagnostics.ppc["coverage_90"] <= 0.97


def test_when_hierarchical_explains_a_patient_then_drivers_sum_to_its_effect(continuous_fit):
    _, data, model = continuous_fit
    row = data.X.iloc[[3]]
    drv = model.drivers(row, "sglt2i", "dpp4i")
    ep = model.predict_effects(row)
    eff = ep.effect_draws("dpp4i")[:, 0, 2].mean()
    assert drv["mean"].sum() == pytest.approx(eff, abs=1e-8)
    # the simulated sglt2i effect falls by 2 per SD of egfr: its contribution must track egfr
    contrib = [model.drivers(data.X.iloc[[i]], "sglt2i", "dpp4i").loc["egfr", "mean"] for i in range(40)]
    assert np.corrcoef(contrib, data.X["egfr"].iloc[:40])[0, 1] < -0.9


def test_when_a_saved_run_is_reloaded_then_it_is_bit_for_bit_identical(continuous_fit, tmp_path):
    _, data, model = continuous_fit
    path = model.save(tmp_path / "run.nc")
    again = HierarchicalEffectModel.load(path, data=data)
    for var in model.idata["posterior"].data_vars:
        np.testing.assert_array_equal(again.idata["posterior"][var].values, model.idata["posterior"][var].values)
    np.testing.assert_array_equal(again.predict_effects().draws, model.predict_effects().draws)
    new = data.X.iloc[:7]
    np.testing.assert_array_equal(again.predict_effects(new).draws, model.predict_effects(new).draws)
    without_data = HierarchicalEffectModel.load(path)
    np.testing.assert_array_equal(without_data.predict_effects().draws, model.predict_effects().draws)
    prov = again.provenance
    assert prov["data_hash"] == data.data_hash()
    assert prov["patients"] == list(data.patient_ids)
    assert prov["fit_info"]["seed"] == 5
    assert {"pymc", "pytensor", "arviz", "nutpie", "numpy", "workbench"} <= set(prov["package_versions"])


def test_when_loading_against_different_data_then_it_is_refused(continuous_fit, tmp_path):
    c, _, model = continuous_fit
    path = model.save(tmp_path / "run.nc")
    other = c.patients.copy()
    other.iloc[0, other.columns.get_loc("outcome")] += 1.0
    with pytest.raises(ModelLoadError, match="data differ"):
        HierarchicalEffectModel.load(path, data=_data(type(c)(other, c.true_mu, c.alternatives)))


def test_when_loading_with_a_different_model_version_or_class_then_it_is_refused(continuous_fit, tmp_path):
    _, _, model = continuous_fit
    path = model.save(tmp_path / "run.nc")

    class Newer(HierarchicalEffectModel):
        version = "2.0"

    with pytest.raises(ModelLoadError, match="version"):
        Newer.load(path)
    with pytest.raises(ModelLoadError, match="bcf"):
        BCFModel.load(path)


def test_when_refitting_same_structure_in_process_then_compiled_model_is_reused(continuous_fit):
    _, _, first = continuous_fit
    again = HierarchicalEffectModel(sampler_config=SMALL | {"draws": 100, "tune": 100})
    # same shapes, new values: only the pm.Data containers change
    c2 = simulate(500, seed=12)
    again.fit(_data(c2), random_seed=6, progressbar=False)
    assert first.fit_info["compiled_cache_hit"] is False or first.fit_info["compile_seconds"] >= 0
    assert again.fit_info["compiled_cache_hit"] is True
    assert again.fit_info["compile_seconds"] < 1.0


@pytest.mark.xfail(
    reason="known gap: 90% intervals of individual risk differences cover ~62-66% on this "
    "cohort (average effect is recovered); under investigation",
    strict=False,
)
def test_when_hierarchical_fits_binary_outcome_then_it_recovers_true_risk_differences():
    c = simulate(1500, seed=21, binary=True)
    model = HierarchicalEffectModel(sampler_config=SMALL | {"draws": 500}).fit(
        _data(c), random_seed=3, progressbar=False
    )
    assert model.diagnostics.divergences == 0
    cov, ate_err = _coverage(model.predict_effects(), c.true_effects("dpp4i"))
    print("binary coverage", cov, "ate error", ate_err)
    assert 0.80 <= cov <= 1.0, cov
    assert np.abs(ate_err).max() < 0.08, ate_err
    assert model.diagnostics.ppc["calibration_error"] < 0.08


def test_when_preview_fit_then_results_are_flagged_approximate():
    c = simulate(200, seed=31)
    model = HierarchicalEffectModel(sampler_config={"preview_iterations": 3000, "preview_draws": 200})
    model.fit(_data(c), method="preview", random_seed=1, progressbar=False)
    ep = model.predict_effects()
    assert ep.approximate and not model.diagnostics.passed
    assert ep.summary()["approximate"].all()


def test_when_bcf_fits_nonlinear_two_arm_cohort_then_it_recovers_effects():
    c = simulate(400, seed=41, alternatives=("dpp4i", "sglt2i"))
    model = BCFModel(sampler_config={"draws": 400, "tune": 300, "chains": 2}).fit(
        _data(c), random_seed=2, progressbar=False
    )
    cov, ate_err = _coverage(model.predict_effects(), c.true_effects("dpp4i"))
    print("bcf coverage", cov, "ate error", ate_err)
    assert cov >= 0.75, cov
    assert np.abs(ate_err).max() < 1.5, ate_err
    # new patients are predicted from the same trees, aligned draw by draw
    new = model.predict_effects(model.data.X.iloc[:4])
    np.testing.assert_allclose(new.draws, model.predict_effects().draws[:, :4], atol=1e-9)
    drv = model.drivers(model.data.X.iloc[[0]], "sglt2i", "dpp4i")
    assert list(drv.index) == list(model.design.columns)
