"""`run_effects` honours the `workbench effects` contract on a table it has never seen."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from workbench.models.effects import run_effects


def _table(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    dose = rng.uniform(0, 10, n)
    site = rng.choice(["north", "south", "west"], n)
    smoker = rng.binomial(1, 0.4, n)
    p = 1 / (1 + np.exp(-(dose - 5) / 3))
    arm = np.where(rng.uniform(size=n) < p, "yes", "no")
    cate = 2.0 + 0.5 * (dose - 5)  # true effect of "yes"
    y = 1.0 + 0.3 * dose + (site == "west") + cate * (arm == "yes") + rng.normal(0, 1, n)
    return pd.DataFrame({"Dose_mg": dose, "Site": site, "smoker": smoker, "Got_It": arm, "Score": y}), cate


@pytest.mark.sampling
@pytest.mark.slow
def test_when_running_effects_on_an_unseen_csv_then_outputs_follow_the_contract(tmp_path):
    df, cate = _table(240, 3)
    df.to_csv(tmp_path / "in.csv", index=False)
    new, new_cate = _table(15, 4)
    new.drop(columns=["Got_It", "Score"]).to_csv(tmp_path / "new.csv", index=False)
    out = tmp_path / "out"
    summary = run_effects(
        tmp_path / "in.csv",
        treatment="Got_It",
        outcome="Score",
        output_dir=out,
        predict_csv=tmp_path / "new.csv",
        model="bcf",
        seed=2,
        draws=200,
        tune=200,
        progressbar=False,
    )
    eff = pd.read_csv(out / "effects.csv")
    cols = ["cate_mean", "cate_sd", "cate_q05", "cate_q95", "mu0_mean", "mu1_mean", "p_benefit"]
    assert list(eff.columns[: len(cols)]) == cols
    assert len(eff) == len(df)
    # input order: estimated effects track the true effects row by row
    assert np.corrcoef(eff["cate_mean"], cate)[0, 1] > 0.6
    assert (eff["cate_q05"] <= eff["cate_mean"]).all() and (eff["cate_mean"] <= eff["cate_q95"]).all()
    np.testing.assert_allclose(eff["mu1_mean"] - eff["mu0_mean"], eff["cate_mean"], atol=1e-9)
    pred = pd.read_csv(out / "predicted_effects.csv")
    assert list(pred.columns[: len(cols)]) == cols and len(pred) == 15
    assert np.corrcoef(pred["cate_mean"], new_cate)[0, 1] > 0.6
    js = json.loads((out / "summary.json").read_text())
    assert js == summary | {"diagnostics": js["diagnostics"]}
    assert js["model"] == "bcf" and js["n"] == 240 and js["sampler"] == "nutpie"
    assert js["average_effect"]["q05"] < cate.mean() + 0.5 and js["average_effect"]["q95"] > cate.mean() - 0.5
    assert abs(js["average_effect"]["mean"] - cate.mean()) < 0.6
    assert {"rhat_max", "divergences", "passed", "reasons"} <= set(js["diagnostics"])


def test_when_treatment_has_three_values_then_error_names_the_column(tmp_path):
    df, _ = _table(30, 1)
    df.loc[0, "Got_It"] = "maybe"
    df.to_csv(tmp_path / "in.csv", index=False)
    with pytest.raises(ValueError, match=r"'Got_It'.*exactly two"):
        run_effects(tmp_path / "in.csv", treatment="Got_It", outcome="Score", output_dir=tmp_path)


def test_when_a_column_is_missing_then_error_names_it(tmp_path):
    df, _ = _table(30, 1)
    df.to_csv(tmp_path / "in.csv", index=False)
    with pytest.raises(ValueError, match="Nope"):
        run_effects(
            tmp_path / "in.csv",
            treatment="Got_It",
            outcome="Score",
            output_dir=tmp_path,
            covariates=["Dose_mg", "Nope"],
        )


def test_when_a_value_is_missing_then_error_names_column_and_row_not_value(tmp_path):
    df, _ = _table(30, 1)
    df["Site"] = df["Site"].astype(object)
    df.loc[6, "Site"] = None
    df.to_csv(tmp_path / "in.csv", index=False)
    with pytest.raises(ValueError, match="'Site' at row 7"):
        run_effects(tmp_path / "in.csv", treatment="Got_It", outcome="Score", output_dir=tmp_path)


@pytest.mark.sampling
@pytest.mark.slow
def test_when_the_effects_command_runs_then_it_writes_the_contracted_files(tmp_path):
    from typer.testing import CliRunner

    from workbench.cli import app

    df, _ = _table(150, 11)
    df.to_csv(tmp_path / "table.csv", index=False)
    df.drop(columns=["Got_It", "Score"]).head(7).to_csv(tmp_path / "new.csv", index=False)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, [
        "effects", "--data", str(tmp_path / "table.csv"), "--treatment", "Got_It", "--outcome", "Score",
        "--output", str(out), "--covariates", "Dose_mg,Site", "--predict", str(tmp_path / "new.csv"),
        "--seed", "5",
    ])
    assert result.exit_code == 0, result.output
    cols = ["cate_mean", "cate_sd", "cate_q05", "cate_q95", "mu0_mean", "mu1_mean", "p_benefit"]
    assert list(pd.read_csv(out / "effects.csv").columns[: len(cols)]) == cols
    assert len(pd.read_csv(out / "effects.csv")) == 150
    assert len(pd.read_csv(out / "predicted_effects.csv")) == 7
    summary = json.loads((out / "summary.json").read_text())
    assert {"average_effect", "diagnostics", "sampler", "model", "seconds"} <= set(summary)


def _nonlinear(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Confounded two-arm table with a non-linear prognosis and a non-linear, interacting effect."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, (n, 4))
    grp = rng.choice(["a", "b"], n)
    p = 1 / (1 + np.exp(-(0.8 * x[:, 0] + 0.4 * np.sin(2 * x[:, 0]))))  # who is treated depends on x0
    treated = rng.uniform(size=n) < p
    prognosis = 2.0 * np.sin(1.5 * x[:, 0]) + 1.5 * (x[:, 1] > 0) + 0.5 * x[:, 2] ** 2 + 0.5 * (grp == "b")
    cate = 1.0 + 1.2 * np.maximum(x[:, 1], 0) - 0.8 * (x[:, 0] * x[:, 2] > 0)
    y = prognosis + cate * treated + rng.normal(0, 0.8, n)
    df = pd.DataFrame(x, columns=["x0", "x1", "x2", "x3"]).assign(grp=grp, arm=np.where(treated, "yes", "no"), y=y)
    return df, cate


@pytest.fixture(scope="module")
def nonlinear_fit():
    """BCF with default settings on a confounded non-linear table, and the linear T-learner beside it."""
    from workbench.models import EffectData
    from workbench.models.bcf import BCFModel
    from workbench.models.data import Design

    df, cate = _nonlinear(600, 12)
    df.index = df.index.astype(str)
    data = EffectData.from_frame(df, treatment="arm", outcome="y", reference="no", alternatives=["no", "yes"])
    model = BCFModel().fit(data, random_seed=4, progressbar=False)  # default sampler settings
    eff = model.predict_effects().effect_draws("no")[:, :, 1]
    # the plain baseline: least squares per arm on the same design
    X = df[["x0", "x1", "x2", "x3", "grp"]]
    A = np.column_stack([np.ones(len(df)), Design.fit(X).transform(X)])
    t = (df["arm"] == "yes").to_numpy()
    y = df["y"].to_numpy()
    lin = A @ (np.linalg.lstsq(A[t], y[t], rcond=None)[0] - np.linalg.lstsq(A[~t], y[~t], rcond=None)[0])
    return model, eff, lin, cate


@pytest.mark.sampling
@pytest.mark.slow
def test_when_bcf_fits_a_nonlinear_confounded_table_then_it_converges_and_beats_a_linear_t_learner(nonlinear_fit):
    model, eff, lin, cate = nonlinear_fit
    d = model.diagnostics
    assert model.fit_info["sampler"] == "nutpie"
    assert d.passed, d.reasons  # R-hat, bulk/tail ESS, divergences and the PPC at their default gates
    pehe = np.sqrt(np.mean((eff.mean(axis=0) - cate) ** 2))
    pehe_lin = np.sqrt(np.mean((lin - cate) ** 2))
    print("bcf sqrt(PEHE)", pehe, "linear", pehe_lin, "ATE error", eff.mean() - cate.mean())
    assert pehe < 0.8 * pehe_lin, (pehe, pehe_lin)
    assert abs(eff.mean() - cate.mean()) < 0.25


@pytest.mark.sampling
@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="known miss (issue 4): bcf intervals under-cover effect surfaces its basis cannot express "
    "(here a sign-of-product step): 2.0 60%, 2.1 (residual effect term) 70%, 2.2 (prognostic score) 73% "
    "of true effects in the 90% intervals",
)
def test_when_bcf_fits_a_nonlinear_confounded_table_then_90_percent_intervals_cover_the_true_effects(nonlinear_fit):
    _, eff, _, cate = nonlinear_fit
    lo, hi = np.quantile(eff, [0.05, 0.95], axis=0)
    coverage = np.mean((cate >= lo) & (cate <= hi))
    print("bcf coverage", coverage)
    assert 0.85 <= coverage <= 0.97, coverage
