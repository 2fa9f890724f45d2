"""Equity monitor: whether the model serves every subgroup, and whether some are overridden more often.

For sex, age band, ethnicity group and deprivation quintile: posterior predictive coverage of the
observed outcomes (nominal 90%), calibration in the large (observed minus predicted mean), average
effects of each alternative against the reference, and the rate of overrides among recorded decisions.
Flags use Wilson intervals so small groups are not flagged on noise alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy import select

from workbench.cohort import cached_analysis_frame
from workbench.runs import RunError, approved_run, load_run
from workbench.scenario import ALTERNATIVE_LABELS
from workbench.store.service import Workbench
from workbench.store.tables import Case, Decision, Patient

ATTRIBUTES = {
    "sex": "Sex",
    "age_band": "Age band",
    "ethnicity_group": "Ethnicity group",
    "deprivation_quintile": "Deprivation quintile",
}
NOMINAL_COVERAGE = 0.90
MIN_GROUP = 20


def wilson(successes: int, n: int, z: float = 1.645) -> tuple[float, float]:
    """90% Wilson score interval for a proportion (well behaved for small n and extreme rates)."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass
class EquityReport:
    """Per-subgroup calibration, effects and override rates, with plain-language flags."""

    run_id: int | None
    calibration: pd.DataFrame
    effects: pd.DataFrame
    overrides: pd.DataFrame
    flags: list[str] = field(default_factory=list)


def _groups(wb: Workbench, pseudonyms: list[str]) -> pd.DataFrame:
    with wb.read() as session:
        rows = session.execute(
            select(
                Patient.pseudonym,
                Patient.sex,
                Patient.age_band,
                Patient.ethnicity_group,
                Patient.deprivation_quintile,
            ).where(Patient.pseudonym.in_(pseudonyms))
        ).all()
    frame = pd.DataFrame(rows, columns=["pseudonym", *ATTRIBUTES]).set_index("pseudonym")
    return frame.astype(str).replace({"None": "unknown"})


def override_rates(wb: Workbench) -> pd.DataFrame:
    """Share of current decisions that overrode the model, per subgroup."""
    with wb.read() as session:
        superseded = set(
            session.scalars(select(Decision.supersedes_id).where(Decision.supersedes_id.is_not(None)))
        )
        rows = [
            (pseudonym, not agrees)
            for decision_id, pseudonym, agrees in session.execute(
                select(Decision.id, Case.pseudonym, Decision.agrees_with_model).join(
                    Case, Case.id == Decision.case_id
                )
            )
            if decision_id not in superseded
        ]
    if not rows:
        return pd.DataFrame(
            columns=["attribute", "group", "n", "overrides", "rate", "lower", "upper", "flag"]
        )
    decisions = pd.DataFrame(rows, columns=["pseudonym", "override"]).set_index("pseudonym")
    decisions = decisions.join(_groups(wb, list(decisions.index)))
    overall = decisions["override"].mean()
    out = []
    for attribute in ATTRIBUTES:
        for group, part in decisions.groupby(attribute):
            k, n = int(part["override"].sum()), len(part)
            lo, hi = wilson(k, n)
            out.append(
                {
                    "attribute": attribute,
                    "group": group,
                    "n": n,
                    "overrides": k,
                    "rate": k / n,
                    "lower": lo,
                    "upper": hi,
                    "flag": n >= 5 and lo > overall,
                }
            )
    return pd.DataFrame(out)


def equity_report(wb: Workbench, *, seed: int = 0) -> EquityReport:
    """Compute the monitor for the approved outcome run (patients it was fitted on)."""
    run = approved_run(wb, "hba1c_change")
    overrides = override_rates(wb)
    flags = [
        f"Decisions for {ATTRIBUTES[r.attribute].lower()} '{r.group}' override the model unusually often "
        f"({r.overrides} of {r.n}, {r.rate:.0%})."
        for r in overrides.itertuples()
        if r.flag
    ]
    if run is None:
        empty = pd.DataFrame()
        return EquityReport(
            None, empty, empty, overrides, ["No approved model run: calibration cannot be shown."]
        )
    model = load_run(wb, run)
    data, design = model.data, model.design
    if data is None or design is None:
        raise RunError(f"model run #{run.id} loaded without its training data; refit it")
    with wb.read() as session:
        frame = cached_analysis_frame(session, purpose="model_training")
    frame = frame.dropna(subset=["treatment", "hba1c_change"])
    frame = frame[frame["treatment"].isin(data.alternatives)]
    X = frame[list(design.columns)]
    predictive = model.posterior_predictive(X, frame["treatment"], seed=seed)
    lo, hi = np.quantile(predictive, [0.05, 0.95], axis=0)
    y = frame["hba1c_change"].to_numpy(dtype=float)
    covered = (y >= lo) & (y <= hi)
    effects = model.predict_effects(X).effect_draws()
    groups = _groups(wb, list(frame.index)).reindex(frame.index)
    calibration, effect_rows = [], []
    for attribute in ATTRIBUTES:
        for group in sorted(groups[attribute].unique()):
            mask = (groups[attribute] == group).to_numpy()
            n = int(mask.sum())
            k = int(covered[mask].sum())
            c_lo, c_hi = wilson(k, n)
            poorly = n >= MIN_GROUP and c_hi < NOMINAL_COVERAGE - 0.05
            calibration.append(
                {
                    "attribute": attribute,
                    "group": group,
                    "n": n,
                    "coverage": k / n if n else np.nan,
                    "lower": c_lo,
                    "upper": c_hi,
                    "observed_mean": float(y[mask].mean()),
                    "predicted_mean": float(predictive[:, mask].mean()),
                    "flag": poorly,
                }
            )
            if poorly:
                flags.append(
                    f"The model's 90% intervals cover only {k / n:.0%} of observed outcomes for "
                    f"{ATTRIBUTES[attribute].lower()} '{group}' (n={n}): it serves this group poorly."
                )
            group_effect = effects[:, mask, :].mean(axis=1)
            for j, alternative in enumerate(data.alternatives):
                if alternative == data.reference:
                    continue
                effect_rows.append(
                    {
                        "attribute": attribute,
                        "group": group,
                        "alternative": ALTERNATIVE_LABELS.get(alternative, alternative),
                        "mean": float(group_effect[:, j].mean()),
                        "lower": float(np.quantile(group_effect[:, j], 0.05)),
                        "upper": float(np.quantile(group_effect[:, j], 0.95)),
                        "n": n,
                    }
                )
    return EquityReport(run.id, pd.DataFrame(calibration), pd.DataFrame(effect_rows), overrides, flags)
