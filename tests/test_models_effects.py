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
