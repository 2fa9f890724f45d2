"""bcf's function basis: which columns each kind of input gets (no sampling: the basis is plain numpy)."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.models.bcf import FunctionBasis

_ARGS = {"n_knots": 4, "n_hinges": 6, "min_distinct": 10, "seed": 0}


def _inputs(n: int = 1000, seed: int = 0) -> np.ndarray:
    """A zero-inflated count (5 levels), a binary flag and a continuous input."""
    rng = np.random.default_rng(seed)
    count = np.where(rng.random(n) < 0.8, 0, rng.integers(1, 5, n)).astype(float)
    flag = (rng.random(n) < 0.4).astype(float)
    return np.column_stack([count, flag, rng.normal(size=n)])


def _fit_error(F: np.ndarray, target: np.ndarray) -> float:
    A = np.column_stack([np.ones(len(F)), F])
    return float(np.max(np.abs(A @ np.linalg.lstsq(A, target, rcond=None)[0] - target)))


def test_when_an_input_has_a_few_levels_then_step_columns_span_every_function_of_them():
    U = _inputs()
    basis = FunctionBasis.fit(U, step_min_count=10, **_ARGS)
    assert [j for j, _ in basis.steps] == [0]  # not the flag (2 levels), not the continuous input (splines)
    # an effect only where the count is 0 (ACIC 2016 settings 1 and 5 have this shape), and an arbitrary one
    for target in (np.where(U[:, 0] == 0, 3.2, -8.4), np.array([0.0, 5.0, -1.0, 2.0, 7.0])[U[:, 0].astype(int)]):
        lin_and_steps = basis.transform(U)[:, basis.column_inputs() == 0]
        assert _fit_error(lin_and_steps, target) < 1e-8
        assert _fit_error(U[:, :1], target) > 1.0  # the linear term alone forces equal steps


def test_when_steps_are_off_then_a_coarse_input_keeps_its_linear_term_only():
    basis = FunctionBasis.fit(_inputs(), **_ARGS)
    assert basis.steps == ()
    assert (basis.column_inputs() == 0).sum() == 1


def test_when_a_level_is_rare_then_no_step_leaves_fewer_than_the_minimum_on_one_side():
    U = _inputs()
    U[:, 0] = np.where(U[:, 0] == 4, 3, U[:, 0])
    U[:5, 0] = 4  # five patients at the top level
    basis = FunctionBasis.fit(U, step_min_count=10, **_ARGS)
    (_, cuts), *_ = basis.steps
    V = (U[:, 0] - basis.in_center[0]) / basis.in_scale[0]
    above = (V[:, None] > cuts).sum(axis=0)
    assert len(np.unique(U[:, 0])) == 5
    assert len(cuts) == 3  # 0|1, 1|2, 2|3 kept; 3|4 has only five patients above it
    assert ((above >= 10) & (len(U) - above >= 10)).all()


def test_when_new_rows_are_transformed_then_they_get_the_columns_the_cohort_rows_got():
    U = _inputs()
    basis = FunctionBasis.fit(U, step_min_count=10, **_ARGS)
    np.testing.assert_array_equal(basis.transform(U[::-1][:50]), basis.transform(U)[::-1][:50])
    F = basis.transform(U)
    assert F.shape[1] == sum(basis.sizes) == len(basis.column_inputs())
    np.testing.assert_allclose(F.mean(axis=0), 0.0, atol=1e-12)  # standardised on the cohort


def test_when_columns_are_mapped_to_inputs_then_hinges_map_past_the_last_input():
    U = _inputs()
    basis = FunctionBasis.fit(U, step_min_count=10, **_ARGS)
    cols = basis.column_inputs()
    lin, spl, hinge = basis.sizes
    np.testing.assert_array_equal(cols[:lin], [0, 1, 2])
    assert set(cols[lin : lin + spl]) == {0, 2}  # steps of the count, spline terms of the continuous input
    assert (cols[lin + spl :] == 3).all() and hinge == 6


def test_when_effect_inputs_have_relevance_scales_then_they_scale_only_their_own_effect_columns():
    """ARD: input j's relevance multiplies the prior SD of every effect column built from j, in each alternative."""
    from workbench.models.bcf import BCFModel
    from workbench.testing import demo_effect_data

    _, data, _ = demo_effect_data(300, 3)
    m = BCFModel(model_config={"tau_relevance": True})  # opt-in (docs/model-validation-log.md, session 14)
    m._prepare(data)
    P = m._tau_basis.in_center.shape[0]
    relevance = np.linspace(0.5, 3.0, P)
    scales = {name: 0.7 for name in m._scale_names()}
    plain = m._prior_variance(scales, None, np)
    ard = m._prior_variance(scales, relevance, np)
    cols = m._tau_basis.column_inputs()
    factor = np.concatenate([relevance, [1.0]])[cols] ** 2  # hinges (two inputs) keep the block's scale
    start = 0
    for group, n in m._layout():
        block = slice(start, start + n)
        expected = plain[block] * factor if group == "tau_het" else plain[block]
        np.testing.assert_allclose(ard[block], expected)
        start += n
    assert start == len(ard) and sum(g == "tau_het" for g, _ in m._layout()) == len(m._nonref()) == 3
    assert "lam_tau" in m.build_model(data).named_vars
    off = BCFModel(model_config={"tau_relevance": False})
    off._prepare(data)
    assert "lam_tau" not in off.build_model(data).named_vars


@pytest.mark.parametrize("prior", ["pc", "half_normal"])
def test_when_scales_are_folded_then_their_prior_is_still_the_stated_one(prior: str):
    """Each residual effect scale is |z|: it must keep its stated prior, whichever is configured.

    The opt-in penalised-complexity prior is Exponential(rate) with P(SD > 1) = 0.01, written as |z|
    with z ~ Laplace(0, 1 / rate); the default is HalfNormal(0.5), as |z| with z ~ Normal(0, 0.5).  The likelihood
    sees only squared scales, so the same prior means the same posterior; what changes is the space
    NUTS moves in (no log transform with a long tail toward zero).
    """
    import pymc as pm
    from scipy import stats

    from workbench.models.bcf import BCFModel
    from workbench.models.residual import pc_rate
    from workbench.testing import demo_effect_data

    _, data, _ = demo_effect_data(300, 3)
    m = BCFModel(model_config={"resid_prior": prior})
    m._prepare(data)
    model = m.build_model(data)
    free = {v.name for v in model.free_RVs}
    scales = [f"s_resid_{k}" for k in m._nonref()]
    assert free == {"sigma"} | {f"s_{n}" for n in m._scale_names()} | {f"signed_{s}" for s in scales}
    cfg = m.model_config
    if prior == "pc":
        rate = pc_rate(cfg["resid_pc_upper"], cfg["resid_pc_tail"])
        assert rate == pytest.approx(np.log(100.0))  # the stated tail: P(SD > 1 outcome SD) = 0.01
        expected = stats.expon(scale=1.0 / rate)
    else:
        expected = stats.halfnorm(scale=cfg["resid_scale"])
    for name in scales:
        draws = pm.draw(model[name], draws=4000, random_seed=11)
        assert draws.min() >= 0.0
        assert stats.kstest(draws, expected.cdf).pvalue > 0.01, name
        # the log density of the signed variable at +-x is the stated prior's at x, less log 2
        logp = model.compile_logp(vars=[model[f"signed_{name}"]], sum=True)
        point = model.initial_point()
        for x in (0.05, 0.8):
            at = [logp({**point, f"signed_{name}": sign * x}) for sign in (1, -1)]
            np.testing.assert_allclose(at, expected.logpdf(x) - np.log(2), rtol=1e-7)


def test_when_the_residual_prior_is_unknown_then_building_the_model_says_which_values_exist():
    from workbench.models.bcf import BCFModel
    from workbench.testing import demo_effect_data

    _, data, _ = demo_effect_data(120, 3)
    m = BCFModel(model_config={"resid_prior": "cauchy"})
    m._prepare(data)
    with pytest.raises(ValueError, match="resid_prior must be 'pc' or 'half_normal'"):
        m.build_model(data)


def test_when_a_scale_nears_zero_then_the_marginal_likelihood_stays_the_gaussian_one():
    """The integrated-out likelihood equals N(0, V + Phi D Phi') exactly, also with a block scale at 1e-9.

    It is evaluated in prior-SD units (no 1/d), which stays exact as any scale nears zero.
    """
    from scipy import stats

    from workbench.models.bcf import BCFModel
    from workbench.testing import demo_effect_data

    _, data, _ = demo_effect_data(150, 5)
    m = BCFModel()
    m._prepare(data)
    model = m.build_model(data)
    like = model.compile_logp(vars=[model["marginal_likelihood"]])
    Phi, y = m._design(), m._y_std()
    for tiny in (0.3, 1e-9):
        point = {**model.initial_point(), "sigma_log__": np.log(0.8), "s_tau_het_log__": np.log(tiny)}
        point |= {f"s_{n}_log__": np.log(0.4) for n in m._scale_names() if n != "tau_het"}
        point |= {f"signed_s_resid_{k}": 0.2 * k for k in m._nonref()}
        scales = {n: np.exp(point[f"s_{n}_log__"]) for n in m._scale_names()}
        d = m._prior_variance(scales, None, np)
        arm_var = m._arm_variances(0.64, {k: 0.2 * k for k in m._nonref()}, np.array)[m._t]
        expected = stats.multivariate_normal(np.zeros(len(y)), np.diag(arm_var) + Phi @ np.diag(d) @ Phi.T).logpdf(y)
        np.testing.assert_allclose(like(point), expected, rtol=1e-8)


@pytest.mark.parametrize("prior", ["pc", "half_normal"])
def test_when_the_residual_scale_is_not_folded_then_it_is_sampled_on_the_log_scale_with_the_same_prior(prior: str):
    """``resid_fold: false``: PyMC's own positive variable, the same prior, no signed variable."""
    import pymc as pm
    from scipy import stats

    from workbench.models.bcf import BCFModel
    from workbench.models.residual import pc_rate
    from workbench.testing import demo_effect_data

    _, data, _ = demo_effect_data(300, 3)
    m = BCFModel(model_config={"resid_prior": prior, "resid_fold": False})
    m._prepare(data)
    model = m.build_model(data)
    scales = [f"s_resid_{k}" for k in m._nonref()]
    assert not [v.name for v in model.free_RVs if v.name.startswith("signed_")]
    assert {model.rvs_to_values[model[s]].name for s in scales} == {f"{s}_log__" for s in scales}
    cfg = m.model_config
    rate = pc_rate(cfg["resid_pc_upper"], cfg["resid_pc_tail"])
    expected = stats.expon(scale=1.0 / rate) if prior == "pc" else stats.halfnorm(scale=cfg["resid_scale"])
    for name in scales:
        draws = pm.draw(model[name], draws=4000, random_seed=5)
        assert stats.kstest(draws, expected.cdf).pvalue > 0.01, name
