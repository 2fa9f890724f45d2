"""Real-sampling recovery, persistence and caching tests on the demo cohort and its known truth.

The demo cohort (``workbench.demo``) is confounded the way clinics are and its effects are
non-linear (the SGLT2i effect fades with eGFR, GLP-1 RA with BMI): the same ground truth the
dashboard and the benchmark use.  Cohorts are small (600 patients) so the file stays fast;
``benchmarks/models_bench.py`` runs the full-size figures.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from workbench.demo import COVARIATES
from workbench.models import EffectData, ModelLoadError
from workbench.models.bcf import BCFModel
from workbench.models.hierarchical import HierarchicalEffectModel
from workbench.models.persistence import read_tree, write_tree
from workbench.testing import DEMO_ALTERNATIVES, demo_effect_data

pytestmark = [pytest.mark.sampling, pytest.mark.slow]

ALTS = list(DEMO_ALTERNATIVES)
SMALL = {"draws": 500, "tune": 300, "chains": 2, "thresholds": {"ess_bulk_min": 100, "ess_tail_min": 100}}


def _demo(n: int, seed: int, outcome: str = "hba1c_change"):
    return demo_effect_data(n, seed, outcome)


def _coverage(ep, truth):
    """Per-alternative share of true effects inside the 90% intervals, and average-effect errors."""
    eff = ep.effect_draws("dpp4i")
    lo, hi = np.quantile(eff, [0.05, 0.95], axis=0)
    inside = (truth >= lo) & (truth <= hi)
    return inside[:, 1:].mean(axis=0), eff.mean(axis=(0, 1))[1:] - truth.mean(axis=0)[1:]


@pytest.fixture(scope="module")
def continuous_fit():
    c, data, truth = _demo(600, 7)
    model = HierarchicalEffectModel(sampler_config=SMALL).fit(data, random_seed=5, progressbar=False)
    return c, data, truth, model


def test_when_hierarchical_fits_the_demo_cohort_then_it_recovers_true_individual_effects(continuous_fit):
    _, _, truth, model = continuous_fit
    assert model.fit_info["sampler"] == "nutpie"
    assert model.diagnostics.divergences == 0
    assert model.diagnostics.rhat_max < 1.02
    ep = model.predict_effects()
    cov, ate_err = _coverage(ep, truth)
    print("hierarchical coverage", cov, "ATE error", ate_err)
    # ~150 patients per arm: intervals are wide (over-cover) but must not be over-confident...
    assert (cov >= 0.85).all(), cov
    assert np.abs(ate_err).max() < 2.0, ate_err  # noise SD is 7 mmol/mol
    # ...and not wide around nothing: the strongest heterogeneity (GLP-1 RA by BMI) is ranked right
    est = ep.effect_draws("dpp4i").mean(axis=0)
    assert np.corrcoef(est[:, 1], truth[:, 1])[0, 1] > 0.6
    # observed outcomes inside their 90% posterior predictive intervals about 90% of the time
    assert 0.85 <= model.diagnostics.ppc["coverage_90"] <= 0.95


def test_when_checking_predictions_then_replicated_outcomes_match_the_observed_spread(continuous_fit):
    _, data, _, model = continuous_fit
    y, rep = model.predictive_check_draws(seed=1)
    np.testing.assert_array_equal(y, data.outcome.to_numpy())
    assert rep.shape == (len(model._draw_index()), len(y))
    lo, hi = np.quantile(rep, [0.05, 0.95], axis=0)
    assert 0.85 <= np.mean((y >= lo) & (y <= hi)) <= 0.95
    assert rep.std() == pytest.approx(y.std(), rel=0.15)


def test_when_hierarchical_explains_a_patient_then_drivers_sum_to_its_effect(continuous_fit):
    _, data, _, model = continuous_fit
    row = data.X.iloc[[3]]
    drv = model.drivers(row, "sglt2i", "dpp4i")
    eff = model.predict_effects(row).effect_draws("dpp4i")[:, 0, 2].mean()
    assert drv["mean"].sum() == pytest.approx(eff, abs=1e-8)
    # the true GLP-1 RA effect grows by 0.45 mmol/mol per kg/m2 of BMI: its contribution tracks BMI
    contrib = [model.drivers(data.X.iloc[[i]], "glp1ra", "dpp4i").loc["bmi", "mean"] for i in range(40)]
    assert np.corrcoef(contrib, data.X["bmi"].iloc[:40])[0, 1] < -0.8


def test_when_a_saved_run_is_reloaded_then_it_is_bit_for_bit_identical(continuous_fit, tmp_path):
    _, data, _, model = continuous_fit
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
    c, _, _, model = continuous_fit
    path = model.save(tmp_path / "run.nc")
    other = c.patients.copy()
    other.iloc[0, other.columns.get_loc("hba1c_change")] += 1.0
    changed = EffectData.from_frame(
        other,
        treatment="treatment",
        outcome="hba1c_change",
        covariates=COVARIATES,
        reference="dpp4i",
        alternatives=ALTS,
    )
    with pytest.raises(ModelLoadError, match="data differ"):
        HierarchicalEffectModel.load(path, data=changed)


def test_when_loading_with_a_different_model_version_or_class_then_it_is_refused(continuous_fit, tmp_path):
    _, _, _, model = continuous_fit
    path = model.save(tmp_path / "run.nc")

    class Newer(HierarchicalEffectModel):
        version = "99.0"

    with pytest.raises(ModelLoadError, match="version"):
        Newer.load(path)
    with pytest.raises(ModelLoadError, match="bcf"):
        BCFModel.load(path)


def test_when_refitting_same_structure_in_process_then_compiled_model_is_reused(continuous_fit):
    _, _, _, first = continuous_fit
    again = HierarchicalEffectModel(sampler_config=SMALL | {"draws": 100, "tune": 100})
    # same shapes, new values: only the pm.Data containers change
    _, data2, _ = _demo(600, 8)
    again.fit(data2, random_seed=6, progressbar=False)
    assert again.fit_info["compiled_cache_hit"] is True
    assert again.fit_info["compile_seconds"] < 1.0
    # and the swapped data are really used: the fitted outcome scale is the new cohort's
    assert again.outcome_scale != first.outcome_scale
    np.testing.assert_allclose(again.predict_effects().draws.mean(axis=(0, 2)).mean(), data2.outcome.mean(), atol=1.5)


def test_when_hierarchical_fits_a_binary_outcome_then_it_recovers_true_risk_differences():
    _, data, truth = _demo(1200, 21, outcome="adverse_event")
    model = HierarchicalEffectModel(sampler_config=SMALL).fit(data, random_seed=3, progressbar=False)
    assert model.diagnostics.divergences == 0
    cov, ate_err = _coverage(model.predict_effects(), truth)
    print("binary coverage", cov, "ATE error", ate_err)
    assert (cov >= 0.85).all(), cov
    assert np.abs(ate_err).max() < 0.05, ate_err
    assert model.diagnostics.ppc["calibration_error"] < 0.05


def test_when_preview_fit_then_results_are_flagged_approximate():
    _, data, _ = _demo(200, 31)
    model = HierarchicalEffectModel(sampler_config={"preview_iterations": 3000, "preview_draws": 200})
    model.fit(data, method="preview", random_seed=1, progressbar=False)
    ep = model.predict_effects()
    assert ep.approximate and not model.diagnostics.passed
    assert ep.summary()["approximate"].all()


def test_when_bcf_fits_the_demo_cohort_then_a_reloaded_run_predicts_new_patients(tmp_path):
    _, data, truth = _demo(500, 41)
    model = BCFModel(sampler_config={"draws": 200, "tune": 200, "chains": 2}).fit(
        data, random_seed=2, progressbar=False
    )
    cov, ate_err = _coverage(model.predict_effects(), truth)
    print("bcf coverage", cov, "ate error", ate_err)
    # the folded scales are stored as scales (non-negative), their meaningless signs not at all
    stored = {str(v) for v in model.idata["posterior"].data_vars}
    assert {"s_tau_het", "s_resid_1"} <= stored and not any(v.startswith("signed_") for v in stored)
    assert (model.idata["posterior"]["s_resid_1"].values >= 0).all()
    assert cov.mean() >= 0.75, cov
    assert np.abs(ate_err).max() < 2.5, ate_err
    # new patients are predicted from the stored basis weights, aligned draw by draw with the posterior
    new = data.X.iloc[:25]
    stored = model.predict_effects().draws[:, :25]
    np.testing.assert_allclose(model.predict_effects(new).draws, stored, atol=1e-9)
    again = BCFModel.load(model.save(tmp_path / "bcf.nc"), data=data)
    np.testing.assert_array_equal(again.predict_effects(new).draws, model.predict_effects(new).draws)
    np.testing.assert_array_equal(again.predict_effects().draws, model.predict_effects().draws)
    drv = again.drivers(data.X.iloc[[0]], "sglt2i", "dpp4i")
    assert list(drv.index) == list(model.design.columns)
    pd_new = data.X.iloc[:3].copy()
    pd_new.index = ["n1", "n2", "n3"]
    assert again.predict_effects(pd_new).draws.shape[1:] == (3, 4)
    # the prognostic score is refitted at load, and a score that does not reproduce is refused
    path = tmp_path / "bcf.nc"
    tree = read_tree(path)
    prov = json.loads(tree.attrs["workbench_provenance"])
    prov["prognostic_score_sha256"] = "0" * 64
    tree.attrs["workbench_provenance"] = json.dumps(prov)
    write_tree(tree, tmp_path / "altered.nc")
    with pytest.raises(ModelLoadError, match="prognostic score"):
        BCFModel.load(tmp_path / "altered.nc", data=data)


def test_when_the_propensity_penalty_is_cross_validated_then_noise_covariates_do_not_overfit_it():
    from workbench.models.propensity import PropensityModel

    rng = np.random.default_rng(11)

    def table(n):
        Z = rng.normal(size=(n, 41))  # one covariate drives the choice, 40 are noise
        p = 1 / (1 + np.exp(-0.8 * Z[:, 0]))
        return Z, (rng.uniform(size=n) < p).astype(np.int64), p

    Z, t, _ = table(400)
    Znew, tnew, pnew = table(4000)

    def held_out_log_loss(model):
        q = model.predict(Znew)[np.arange(len(tnew)), tnew]
        return -np.mean(np.log(q))

    fixed, cv = PropensityModel.fit(Z, t, 2), PropensityModel.fit(Z, t, 2, C="cv")
    assert held_out_log_loss(cv) < held_out_log_loss(fixed)
    assert np.abs(cv.predict(Znew)[:, 1] - pnew).mean() < np.abs(fixed.predict(Znew)[:, 1] - pnew).mean()
    # plain coefficients: a saved run rebuilds it exactly
    again = PropensityModel.from_dict(cv.to_dict())
    np.testing.assert_array_equal(again.predict(Znew), cv.predict(Znew))
    # an alternative received once cannot be cross-validated: the fixed penalty, still a valid model
    t3 = t.copy()
    t3[0] = 2
    rare = PropensityModel.fit(Z, t3, 3, C="cv")
    assert rare.predict(Z).shape == (400, 3)
