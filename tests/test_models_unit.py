"""Fast unit layer of the effect engine: no sampling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.models import EffectData, EffectPosterior, available_models, get_model, register_model
from workbench.models.base import TreatmentEffectModel
from workbench.models.data import Design
from workbench.models.diagnostics import evaluate, ppc_binary
from workbench.models.hierarchical import HierarchicalEffectModel
from workbench.models.propensity import PropensityModel


def test_when_listing_models_then_builtins_and_entry_points_are_found():
    models = available_models()
    assert models["hierarchical"].__name__ == "HierarchicalEffectModel"
    assert models["bcf"].__name__ == "BCFModel"


def test_when_a_class_is_registered_at_run_time_then_get_model_returns_it():
    @register_model
    class NotebookModel(HierarchicalEffectModel):
        name = "notebook_test_model"

    assert get_model("notebook_test_model") is NotebookModel
    assert "notebook_test_model" in available_models()


def test_when_registering_a_non_model_then_it_is_refused():
    with pytest.raises(TypeError):
        register_model(dict)  # type: ignore[arg-type]


def test_when_asking_for_an_unknown_model_then_error_lists_available():
    with pytest.raises(KeyError, match="hierarchical"):
        get_model("no_such_model")


def test_when_user_config_given_then_it_overrides_defaults_key_by_key():
    m = HierarchicalEffectModel(model_config={"likelihood": "student_t"}, sampler_config={"draws": 7})
    assert m.model_config["likelihood"] == "student_t"
    assert m.model_config["prognostic_sd"] == m.default_model_config["prognostic_sd"]
    assert m.sampler_config["draws"] == 7 and m.sampler_config["tune"] == m.default_sampler_config["tune"]


def test_when_config_changes_then_model_id_changes():
    a = HierarchicalEffectModel()
    assert a.model_id == HierarchicalEffectModel().model_id
    assert a.model_id != HierarchicalEffectModel(model_config={"tau_scale": 9.0}).model_id


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": [50.0, 60.0, 70.0, 80.0],
            "sex": ["female", "male", "male", "female"],
            "group": ["a", "b", "c", "a"],
        },
        index=["p1", "p2", "p3", "p4"],
    )


def test_when_encoding_new_patients_then_they_are_encoded_like_the_cohort():
    X = _frame()
    d = Design.fit(X)
    Z = d.transform(X)
    assert Z.shape == (4, 1 + 1 + 2)  # numeric + sex (1 dummy) + group (2 dummies)
    np.testing.assert_allclose(Z.mean(axis=0), 0.0, atol=1e-12)
    new = pd.DataFrame({"group": ["c"], "age": [60.0], "sex": ["male"]}, index=["x"])
    z_new = d.transform(new)
    np.testing.assert_allclose(z_new[0], Z[1] * [1, 1, 0, 0] + Z[2] * [0, 0, 1, 1])
    again = Design.from_dict(d.to_dict())
    np.testing.assert_array_equal(again.transform(new), z_new)


def test_when_new_patient_has_unseen_category_then_refused_without_echoing_value():
    d = Design.fit(_frame())
    new = pd.DataFrame({"age": [60.0], "sex": ["Jane Doe"], "group": ["a"]}, index=["x"])
    with pytest.raises(ValueError, match="sex") as err:
        d.transform(new)
    assert "Jane" not in str(err.value)


def test_when_covariate_missing_then_error_names_column_and_row_not_value():
    X = _frame()
    X.loc["p3", "age"] = np.nan
    with pytest.raises(ValueError, match=r"'age'.*'p3'"):
        Design.fit(X)


def _data(outcome_shift: float = 0.0) -> EffectData:
    X = _frame()
    df = X.assign(treatment=["a", "b", "a", "b"], y=[1.0, 2.0, 3.0, 4.0 + outcome_shift])
    return EffectData.from_frame(df, treatment="treatment", outcome="y")


def test_when_any_value_changes_then_data_hash_changes():
    assert _data().data_hash() == _data().data_hash()
    assert _data().data_hash() != _data(0.5).data_hash()


def _posterior(draws: np.ndarray, *, lower_is_better: bool = True, prop=None) -> EffectPosterior:
    _, N, K = draws.shape
    return EffectPosterior(
        draws=draws,
        patient_ids=tuple(f"p{i}" for i in range(N)),
        alternatives=tuple("abc"[:K]),
        reference="a",
        lower_is_better=lower_is_better,
        approximate=False,
        propensity=np.full((N, K), 1 / K) if prop is None else prop,
    )


def test_when_draws_are_hand_made_then_summary_probabilities_are_exact():
    # 4 draws, 1 patient, 3 alternatives (lower is better)
    draws = np.array(
        [
            [[10.0, 8.0, 9.0]],  # best b
            [[10.0, 11.0, 9.0]],  # best c
            [[10.0, 7.0, 12.0]],  # best b
            [[5.0, 9.0, 9.5]],  # best a
        ]
    )
    ep = _posterior(draws)
    s = ep.summary(min_important_difference=1.5).loc["p0"]
    np.testing.assert_allclose(s["p_best"].to_numpy(), [0.25, 0.5, 0.25])
    # effects of b vs a: -2, +1, -3, +4 -> better by more than 1.5 in 2 of 4 draws
    assert s.loc["b", "p_benefit"] == 0.5
    # effects of c vs a: -1, -1, +2, +4.5 -> none better by more than 1.5
    assert s.loc["c", "p_benefit"] == 0.0
    assert s.loc["b", "effect_mean"] == 0.0
    np.testing.assert_allclose(s.loc["b", "effect_q05"], np.quantile([-2, 1, -3, 4], 0.05))
    assert s.loc["a", "effect_sd"] == 0.0
    assert s.loc["a", "p_benefit"] == 0.0


def test_when_higher_is_better_then_benefit_and_best_flip_direction():
    draws = np.array([[[0.0, 1.0]], [[0.0, 2.0]], [[0.0, -1.0]], [[0.0, 3.0]]])
    ep = _posterior(draws, lower_is_better=False)
    s = ep.summary().loc["p0"]
    assert s.loc["b", "p_benefit"] == 0.75
    assert s.loc["b", "p_best"] == 0.75


def test_when_reference_is_changed_then_effects_are_against_it():
    rng = np.random.default_rng(0)
    draws = rng.normal(size=(200, 3, 3))
    ep = _posterior(draws)
    s = ep.summary(reference="c")
    np.testing.assert_allclose(
        s.xs("a", level="alternative")["effect_mean"].to_numpy(),
        (draws[:, :, 0] - draws[:, :, 2]).mean(axis=0),
    )
    assert (s["reference"] == "c").all()


def test_when_propensity_is_extreme_then_overlap_warning_is_raised():
    prop = np.array([[0.02, 0.49, 0.49], [0.3, 0.3, 0.4], [0.97, 0.02, 0.01]])
    ep = _posterior(np.zeros((5, 3, 3)), prop=prop)
    w = ep.summary()["overlap_warning"].to_numpy().reshape(3, 3)
    np.testing.assert_array_equal(w, [[True, False, False], [False, False, False], [True, True, True]])


def test_when_asking_for_one_patient_then_rows_are_its_alternatives():
    rng = np.random.default_rng(1)
    ep = _posterior(rng.normal(size=(50, 4, 3)))
    pe = ep.for_patient("p2")
    assert list(pe.table.index) == ["a", "b", "c"]
    np.testing.assert_array_equal(pe.draws, ep.draws[:, 2, :])
    with pytest.raises(KeyError):
        ep.for_patient("nobody")


def test_when_propensity_is_fitted_then_it_recovers_assignment_probabilities():
    rng = np.random.default_rng(2)
    Z = rng.normal(size=(4000, 2))
    true = np.stack([np.zeros(4000), 1.0 * Z[:, 0], -1.0 * Z[:, 1]], axis=1)
    p = np.exp(true) / np.exp(true).sum(axis=1, keepdims=True)
    t = np.array([rng.choice(3, p=row) for row in p])
    pm_ = PropensityModel.fit(Z, t, 3)
    assert np.abs(pm_.predict(Z) - p).max() < 0.08
    again = PropensityModel.from_dict(pm_.to_dict())
    np.testing.assert_array_equal(again.predict(Z), pm_.predict(Z))


def test_when_chains_disagree_then_diagnostics_fail_with_plain_reason():
    import xarray as xr

    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 500))
    x[1] += 3.0
    post = xr.Dataset({"a": (("chain", "draw"), x)})
    d = evaluate(posterior=post, divergences=2, ppc={"coverage_90": 0.9}, approximate=False)
    assert not d.passed
    assert any("R-hat" in r and "chains disagree" in r for r in d.reasons)
    assert any("2 divergent" in r for r in d.reasons)
    good = xr.Dataset({"a": (("chain", "draw"), rng.normal(size=(4, 1000)))})
    assert evaluate(posterior=good, divergences=0, ppc={"coverage_90": 0.9}, approximate=False).passed


def test_when_fit_is_a_preview_then_it_is_never_passed():
    import xarray as xr

    post = xr.Dataset({"a": (("chain", "draw"), np.random.default_rng(4).normal(size=(1, 1000)))})
    d = evaluate(posterior=post, divergences=0, ppc={"coverage_90": 0.9}, approximate=True)
    assert not d.passed and d.approximate and "approximate" in d.label()


def test_when_predicted_risks_are_miscalibrated_then_calibration_error_is_large():
    rng = np.random.default_rng(5)
    p = rng.uniform(0.05, 0.95, 5000)
    y = rng.binomial(1, p).astype(float)
    assert ppc_binary(np.tile(p, (10, 1)), y)["calibration_error"] < 0.03
    assert ppc_binary(np.tile(np.clip(p + 0.2, 0, 1), (10, 1)), y)["calibration_error"] > 0.1


def test_base_class_is_abstract():
    with pytest.raises(TypeError):
        TreatmentEffectModel()  # type: ignore[abstract]


def test_when_a_restricted_cubic_spline_is_built_then_it_is_linear_beyond_the_outer_knots():
    from workbench.models.hierarchical import rcs_terms

    knots = np.array([-1.5, -0.3, 0.4, 1.6])
    x = np.linspace(-4, 4, 801)
    terms = rcs_terms(x, knots)
    assert terms.shape == (801, 2)
    below, above = x < knots[0], x > knots[-1]
    np.testing.assert_allclose(terms[below], 0.0)  # zero (hence linear) below the first knot
    for j in range(2):  # second differences vanish above the last knot: linear there
        np.testing.assert_allclose(np.diff(terms[above, j], 2), 0.0, atol=1e-10)
        assert np.abs(np.diff(terms[(x > knots[0]) & (x < knots[-1]), j], 2)).max() > 1e-8  # curved inside


def test_when_modifier_prior_is_built_then_each_alternative_covariate_block_is_a_multivariate_t():
    """The group-t potential is the sum of one multivariate Student-t log density per block.

    Blocks are (alternative, covariate): a covariate's columns for one alternative share a
    variance, so a drug-specific modifier is not shrunk by the other alternatives' zeros.
    """
    from scipy.stats import multivariate_t

    from workbench.testing import DEMO_ALTERNATIVES, demo_effect_data

    _, data, _ = demo_effect_data(80, 3)
    m = HierarchicalEffectModel()
    m._prepare(data)
    model = m.build_model(data)
    cfg = m.model_config
    s, nu = cfg["modifier_scale"], cfg["modifier_nu"]
    rng = np.random.default_rng(0)
    gamma = rng.normal(0.0, 0.3, size=(len(DEMO_ALTERNATIVES) - 1, len(m.basis_names)))
    pot = model.compile_fn(model.potentials[0], inputs=[model["gamma"]], on_unused_input="ignore")
    got = float(pot({"gamma": gamma}))
    groups = np.asarray(m.basis_groups)
    want, const = 0.0, 0.0
    for k in range(gamma.shape[0]):
        for g in dict.fromkeys(m.basis_groups):
            block = gamma[k, groups == g]
            d = len(block)
            dist = multivariate_t(loc=np.zeros(d), shape=s**2 * np.eye(d), df=nu)
            want += dist.logpdf(block)
            const += dist.logpdf(np.zeros(d))  # the potential drops the normalising constants
    assert got == pytest.approx(want - const, rel=1e-9)
    # the old covariate-wide blocks are a different prior (they pool across alternatives)
    wide = HierarchicalEffectModel(model_config={"modifier_blocks": "covariate"})
    wide._prepare(data)
    wmodel = wide.build_model(data)
    wpot = wmodel.compile_fn(wmodel.potentials[0], inputs=[wmodel["gamma"]], on_unused_input="ignore")
    assert float(wpot({"gamma": gamma})) != pytest.approx(got, rel=1e-3)


def test_when_average_effects_have_a_prior_then_alternatives_are_exchangeable_around_a_common_mean():
    from workbench.testing import demo_effect_data

    _, data, _ = demo_effect_data(80, 3)
    m = HierarchicalEffectModel()
    m._prepare(data)
    model = m.build_model(data)
    assert "tau_sd" not in model.named_vars  # nothing to funnel into
    value = model.rvs_to_values[model["tau"]]
    logp = model.compile_fn(model.logp(vars=[model["tau"]], sum=True), inputs=[value], on_unused_input="ignore")
    st = m.model_config["tau_scale"]
    # same spread around their mean, shifted together: the difference of log densities is the
    # shared-mean prior N(0, 2*st) only, much flatter than independent N(0, st) would be
    same = float(logp({"tau": np.zeros(3)})) - float(logp({"tau": np.full(3, st)}))
    spread = float(logp({"tau": np.zeros(3)})) - float(logp({"tau": np.array([-st, 0.0, st])}))
    assert 0 < same < spread


@pytest.mark.parametrize("knots", [4, 0])
def test_when_prognostic_prior_is_total_then_prior_prognosis_sd_does_not_grow_with_basis_columns(knots):
    """v2.2: the prior SD of a patient's prognosis is prognostic_sd whatever the number of columns J.

    Per column (v2.1) it is about sqrt(J) times larger: on a binary outcome with few events that
    let every arm's risk curve overfit (docs/model-validation-log.md).
    """
    import pymc as pm

    from workbench.testing import demo_effect_data

    _, data, _ = demo_effect_data(200, 3, "adverse_event")
    sds = {}
    for prior in ("total", "per_column"):
        m = HierarchicalEffectModel(model_config={"spline_knots": knots, "prognostic_prior": prior})
        m._prepare(data)
        model = m.build_model(data)
        q = m._data_values()["Q_prog"]
        theta = pm.draw(model["theta_prog"], draws=4000, random_seed=1)  # (draws, J)
        sds[prior] = float((theta @ q.T).std())
    J = q.shape[1]
    sd = m.model_config["prognostic_sd"]
    assert sds["total"] == pytest.approx(sd, rel=0.1)
    assert sds["per_column"] == pytest.approx(sd * np.sqrt(J), rel=0.1)


def test_when_only_ess_fails_then_the_run_is_sampled_again_with_enough_draws():
    """Low ESS alone is Monte Carlo error (more draws fix it); a convergence failure is never extended."""
    from workbench.models.diagnostics import DEFAULT_THRESHOLDS, Diagnostics

    m = HierarchicalEffectModel()  # defaults: 4 chains x 1000 draws, cap 4

    def diag(ess_tail: float, failed: list[str], rhat: float = 1.005) -> Diagnostics:
        return Diagnostics(rhat_max=rhat, ess_bulk_min=900.0, ess_tail_min=ess_tail, divergences=0,
                           n_draws=1000, n_chains=4, ppc={}, passed=not failed, reasons=[f"{g}: ..." for g in failed],
                           thresholds=dict(DEFAULT_THRESHOLDS), failed=failed)

    ess_only = ["ess_tail"]
    assert m._ess_extension(diag(258.0, ess_only)) == 2  # ceil(1.25 * 400 / 258)
    assert m._ess_extension(diag(900.0, [])) == 1  # passed
    assert m._ess_extension(diag(258.0, [*ess_only, "rhat"], 1.03)) == 1
    assert m._ess_extension(diag(258.0, [*ess_only, "divergences"])) == 1
    assert m._ess_extension(diag(40.0, ["ess_tail"])) == 1  # would need 13x: beyond the cap
    off = HierarchicalEffectModel(sampler_config={"ess_extend_max_factor": 1})
    assert off._ess_extension(diag(258.0, ess_only)) == 1
    small = HierarchicalEffectModel(sampler_config={"draws": 100})
    d = diag(150.0, ["ess_tail"])
    d.n_draws = 100  # 4 x 100 draws < 2 x 400: a quick look, left as the user asked
    assert small._ess_extension(d) == 1


def test_when_the_hierarchical_model_has_a_residual_effect_term_then_only_treated_arms_get_its_variance():
    """Opt-in ``tau_residual``: the noise SD of a patient who received k is sqrt(sigma^2 + s_resid_k^2).

    The reference arm keeps sigma alone; that difference between the arms' variances is what
    identifies the term.  At a point with every coefficient 0 the linear predictor is 0, so the
    outcome log density is a plain sum of Normal densities with those SDs.
    """
    from scipy import stats

    from workbench.testing import demo_effect_data

    _, data, _ = demo_effect_data(120, 3)
    m = HierarchicalEffectModel(model_config={"tau_residual": True})
    m._prepare(data)
    model = m.build_model(data)
    nonref = list(m._nonref())
    assert {f"signed_s_resid_{k}" for k in nonref} <= {v.name for v in model.free_RVs}
    point = {name: np.zeros_like(value) for name, value in model.initial_point().items()}
    sigma, scales = 0.8, {k: 0.1 * (i + 1) for i, k in enumerate(nonref)}
    point["sigma_log__"] = np.log(sigma)
    for k, s in scales.items():
        point[f"signed_s_resid_{k}"] = -s if k == nonref[0] else s  # folded: the sign must not matter
    logp = model.compile_logp(vars=[model["obs"]], sum=True)
    values = m._data_values()
    arm = np.stack([m._t == k for k in nonref], axis=1)  # who received each non-reference alternative
    extra = arm @ np.array([scales[k] ** 2 for k in nonref])
    assert np.all(extra[m._t == m.data.alternatives.index(m.data.reference)] == 0.0)
    want = stats.norm(0.0, np.sqrt(sigma**2 + extra)).logpdf(values["y"]).sum()
    assert float(logp(point)) == pytest.approx(want, rel=1e-9)
    # without the term every arm has sigma alone
    plain = HierarchicalEffectModel()
    plain._prepare(data)
    pmodel = plain.build_model(data)
    ppoint = {name: np.zeros_like(value) for name, value in pmodel.initial_point().items()}
    ppoint["sigma_log__"] = np.log(sigma)
    got = float(pmodel.compile_logp(vars=[pmodel["obs"]], sum=True)(ppoint))
    assert got == pytest.approx(stats.norm(0.0, sigma).logpdf(values["y"]).sum(), rel=1e-9)


@pytest.mark.parametrize("config", [{}, {"tau_residual": True}, {"likelihood": "student_t"}])
def test_when_pointwise_log_likelihood_is_computed_then_it_is_pymcs_own_outcome_density(config):
    """LOO's input must be the model's own likelihood, patient by patient, on the outcome scale.

    Sampling is not what is tested: random points around the initial point stand in for posterior
    draws (a fake, said here), and PyMC's ``compute_log_likelihood`` evaluates the model's ``obs``
    term at the same draws.  The model sees the standardised outcome, so the two differ by the
    Jacobian ``log(sd)`` per patient; with the residual term the arm's residual variance is in both.
    """
    import pymc as pm
    import xarray as xr

    from workbench.testing import demo_effect_data

    _, data, _ = demo_effect_data(120, 3)
    m = HierarchicalEffectModel(model_config=config)
    m._prepare(data)
    model = m.build_model(data)
    outputs = model.unobserved_value_vars
    to_values = model.compile_fn(outputs, inputs=model.value_vars, on_unused_input="ignore", point_fn=False)
    rng = np.random.default_rng(0)
    start = model.initial_point()
    n_draws = 520  # more than one block of 500 draws
    draws = [to_values(**{k: v + rng.normal(0.0, 0.3, np.shape(v)) for k, v in start.items()}) for _ in range(n_draws)]
    posterior = xr.Dataset(
        {
            out.name: (("chain", "draw", *[f"{out.name}_{i}" for i in range(np.ndim(draws[0][j]))]),
                       np.stack([d[j] for d in draws])[None])
            for j, out in enumerate(outputs)
        }
    )
    m.idata = xr.DataTree.from_dict({"posterior": posterior})
    got = m.pointwise_log_likelihood()
    assert got.shape == (1, n_draws, len(m._y))
    with model:
        pymc_ll = pm.compute_log_likelihood(m.idata.copy(), var_names=["obs"], progressbar=False)
    want = pymc_ll["log_likelihood"]["obs"].values - np.log(m.outcome_scale[1])
    np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-8)
    assert np.ptp(got, axis=1).min() > 0  # the draws differ, so a constant answer would fail
