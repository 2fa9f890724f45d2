"""``workbench effects``: individual treatment effects for a flat table with a binary treatment.

Contract (stable): ``effects.csv`` has one row per input row, in input order, with at least
``cate_mean, cate_sd, cate_q05, cate_q95, mu0_mean, mu1_mean, p_benefit``; ``--predict`` writes
``predicted_effects.csv`` with the same columns for new rows; ``summary.json`` holds the average
effect and its 90% interval, diagnostics, sampler, model name, seconds and n.

Treated arm: 0/1 (or True/False) columns treat 1 as treated; two text labels treat the label that
sorts LAST as treated (e.g. ``control`` < ``treated``, ``no`` < ``yes``).  CATE = mu1 - mu0 and
``p_benefit`` = P(CATE > 0), i.e. higher outcome is better unless ``lower_is_better``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from workbench.models.data import EffectData
from workbench.models.registry import get_model

_CONTROL, _TREATED = "control", "treated"


def _binary_arm(series: pd.Series) -> pd.Series:
    values = series.dropna().unique()
    if len(values) != 2:
        raise ValueError(f"treatment column {series.name!r} must have exactly two values, found {len(values)}")
    if set(map(str, values)) <= {"0", "1", "0.0", "1.0", "True", "False"}:
        treated = series.astype(float) == 1.0
    else:
        treated = series.astype(str) == sorted(map(str, values))[-1]
    return treated.map({True: _TREATED, False: _CONTROL})


def _check_columns(df: pd.DataFrame, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what}: column(s) not found: {missing}")
    na = df[columns].isna()
    if na.to_numpy().any():
        col = na.any(axis=0).idxmax()
        row = int(np.argmax(na[col].to_numpy()))
        raise ValueError(f"{what}: missing value in column {col!r} at row {row + 1}")


def _effect_table(ep: Any, lower_is_better: bool) -> pd.DataFrame:
    treated = ep.alternatives.index(_TREATED)
    control = ep.alternatives.index(_CONTROL)
    cate = ep.draws[:, :, treated] - ep.draws[:, :, control]
    good = cate < 0 if lower_is_better else cate > 0
    return pd.DataFrame(
        {
            "cate_mean": cate.mean(axis=0),
            "cate_sd": cate.std(axis=0, ddof=1),
            "cate_q05": np.quantile(cate, 0.05, axis=0),
            "cate_q95": np.quantile(cate, 0.95, axis=0),
            "mu0_mean": ep.draws[:, :, control].mean(axis=0),
            "mu1_mean": ep.draws[:, :, treated].mean(axis=0),
            "p_benefit": good.mean(axis=0),
            "propensity": ep.propensity[:, treated],
            "overlap_warning": ep.overlap_warnings()[:, treated],
        }
    )


def run_effects(
    data_csv: Path,
    *,
    treatment: str,
    outcome: str,
    output_dir: Path,
    covariates: list[str] | None = None,
    predict_csv: Path | None = None,
    model: str = "bcf",
    seed: int = 1,
    draws: int | None = None,
    tune: int | None = None,
    chains: int | None = None,
    lower_is_better: bool = False,
    progressbar: bool = True,
) -> dict[str, Any]:
    """Fit ``model`` to a CSV and write individual effects; returns the summary dict."""
    t0 = time.perf_counter()
    df = pd.read_csv(data_csv)
    if covariates is None:
        _check_columns(df, [treatment, outcome], "data")
        covariates = [c for c in df.columns if c not in {treatment, outcome}]
    _check_columns(df, [treatment, outcome, *covariates], "data")
    if not covariates:
        raise ValueError("data: no covariate columns left besides treatment and outcome")
    X = df[covariates].copy()
    X.index = pd.Index([str(i) for i in range(len(df))], name="row")
    try:
        y = df[outcome].astype(float).to_numpy()
    except ValueError as exc:
        raise ValueError(f"data: outcome column {outcome!r} must be numeric") from exc
    treated = (_binary_arm(df[treatment]) == _TREATED).to_numpy()
    data = EffectData.two_arms(X, treated, y, lower_is_better=lower_is_better)
    sampler_config: dict[str, Any] = {}
    for key, value in (("draws", draws), ("tune", tune), ("chains", chains)):
        if value is not None:
            sampler_config[key] = value
    fitted = get_model(model)(sampler_config=sampler_config).fit(data, random_seed=seed, progressbar=progressbar)
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    ep = fitted.predict_effects()
    _effect_table(ep, lower_is_better).to_csv(output_dir / "effects.csv", index=False)
    if predict_csv is not None:
        new = pd.read_csv(predict_csv)
        _check_columns(new, covariates, "predict")
        new_X = new[covariates].copy()
        new_X.index = pd.Index([f"new{i}" for i in range(len(new))])
        pred = fitted.predict_effects(new_X)
        _effect_table(pred, lower_is_better).to_csv(output_dir / "predicted_effects.csv", index=False)
    ate = ep.average_effect(_CONTROL)[:, ep.alternatives.index(_TREATED)]
    if not (fitted.diagnostics is not None):
        raise RuntimeError("fit or load the model first")
    summary = {
        "model": model,
        "model_version": fitted.version,
        "sampler": fitted.fit_info["sampler"],
        "approximate": fitted.fit_info["approximate"],
        "n": len(df),
        "n_treated": int(treated.sum()),
        "treated_arm": "1 / True, or the label sorting last",
        "average_effect": {
            "mean": float(ate.mean()),
            "q05": float(np.quantile(ate, 0.05)),
            "q95": float(np.quantile(ate, 0.95)),
        },
        "diagnostics": fitted.diagnostics.to_dict(),
        "reliable": fitted.diagnostics.passed,
        "seed": seed,
        "seconds": time.perf_counter() - t0,
    }
    (output_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    return summary
