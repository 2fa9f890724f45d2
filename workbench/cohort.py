"""The analysis cohort: model covariates, treatment and outcomes derived from stored, de-identified facts.

Clinical logic lives here: which codes mean heart failure, which observation is the baseline HbA1c.
Consent decides who is in: model fitting takes only patients who allow model training.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workbench.governance.consent import consenting_patient_ids
from workbench.scenario import COVARIATES, OUTCOMES
from workbench.store.tables import Condition, Consent, ImportJob, Observation, Outcome, Patient, Treatment

BMI_CODES = {"39156-5"}
EGFR_CODES = {"33914-3", "62238-1", "98979-8", "48642-3", "48643-1"}
HBA1C_IFCC = {"59261-8"}
HBA1C_PERCENT = {"4548-4", "17856-6"}
T2D_CODES = {"44054006"}
CVD_CODES = {
    "53741008",
    "22298006",
    "414545008",
    "399211009",
    "401303003",
    "401314000",
    "230690007",
    "1755008",
    "394659003",
    "414795007",
}
HF_CODES = {"84114007", "88805009", "42343007", "85232009"}
BASELINE_WINDOW_DAYS = 365


def _percent_to_ifcc(percent: float) -> float:
    # IFCC (mmol/mol) = 10.929 * (DCCT % - 2.15): the master equation of the NGSP/IFCC network.
    return 10.929 * (percent - 2.15)


def _baseline(obs: pd.DataFrame, index: pd.Series, codes: set[str]) -> pd.Series:
    """Latest value at or before the index date, within a year."""
    rows = obs[obs["code"].isin(codes)].copy()
    rows["index_date"] = rows["patient_id"].map(index)
    lag = (pd.to_datetime(rows["index_date"]) - pd.to_datetime(rows["effective_date"])).dt.days
    rows = rows[(lag >= 0) & (lag <= BASELINE_WINDOW_DAYS)]
    return rows.sort_values("effective_date").groupby("patient_id")["value"].last()


def analysis_frame(session: Session, *, purpose: str | None = "model_training") -> pd.DataFrame:
    """One row per patient with an index treatment: covariates, ``treatment`` and outcomes.

    Indexed by pseudonym. ``purpose`` filters by consent (None: no filter, for care review of the
    stored cohort, where each case is still checked individually).
    """
    patients = pd.DataFrame(
        session.execute(
            select(
                Patient.id,
                Patient.pseudonym,
                Patient.age_at_index,
                Patient.sex,
                Patient.ethnicity_group,
                Patient.deprivation_quintile,
                Patient.index_date,
            ).where(Patient.erased_at.is_(None), Patient.index_date.is_not(None))
        ).all(),
        columns=[
            "patient_id",
            "pseudonym",
            "age",
            "sex",
            "ethnicity_group",
            "deprivation_quintile",
            "index_date",
        ],
    )
    if purpose is not None:
        allowed = consenting_patient_ids(session, purpose)
        patients = patients[patients["patient_id"].isin(allowed)]
    columns = [*COVARIATES, "treatment", *OUTCOMES]
    if patients.empty:
        return pd.DataFrame(columns=columns).rename_axis("pseudonym")
    index = patients.set_index("patient_id")["index_date"]
    obs = pd.DataFrame(
        session.execute(
            select(
                Observation.patient_id,
                Observation.code,
                Observation.value,
                Observation.unit,
                Observation.effective_date,
            ).where(
                Observation.code.in_(BMI_CODES | EGFR_CODES | HBA1C_IFCC | HBA1C_PERCENT),
                Observation.value.is_not(None),
            )
        ).all(),
        columns=["patient_id", "code", "value", "unit", "effective_date"],
    )
    pct = obs["code"].isin(HBA1C_PERCENT) | (obs["unit"] == "%")
    obs.loc[pct, "value"] = obs.loc[pct, "value"].map(_percent_to_ifcc)
    obs.loc[pct, "code"] = "59261-8"
    conditions = pd.DataFrame(
        session.execute(select(Condition.patient_id, Condition.code, Condition.onset_date)).all(),
        columns=["patient_id", "code", "onset_date"],
    )
    treatments = pd.DataFrame(
        session.execute(
            select(Treatment.patient_id, Treatment.alternative, Treatment.start_date, Treatment.line).where(
                Treatment.alternative.is_not(None)
            )
        ).all(),
        columns=["patient_id", "alternative", "start_date", "line"],
    )
    outcomes = pd.DataFrame(
        session.execute(select(Outcome.patient_id, Outcome.hba1c_change, Outcome.adverse_event)).all(),
        columns=["patient_id", "hba1c_change", "adverse_event"],
    )
    frame = patients.set_index("patient_id")
    frame["bmi"] = _baseline(obs, index, BMI_CODES)
    frame["egfr"] = _baseline(obs, index, EGFR_CODES)
    frame["hba1c_baseline"] = _baseline(obs, index, HBA1C_IFCC)
    onset = conditions[conditions["code"].isin(T2D_CODES)].groupby("patient_id")["onset_date"].min()
    duration = (pd.to_datetime(index) - pd.to_datetime(onset.reindex(index.index))).dt.days / 365.25
    frame["diabetes_duration"] = duration.clip(lower=0)
    frame["cvd"] = frame.index.isin(conditions.loc[conditions["code"].isin(CVD_CODES), "patient_id"]).astype(
        int
    )
    frame["heart_failure"] = frame.index.isin(
        conditions.loc[conditions["code"].isin(HF_CODES), "patient_id"]
    ).astype(int)
    at_index = treatments.assign(index_date=treatments["patient_id"].map(index))
    at_index = at_index[at_index["start_date"] == at_index["index_date"]]
    frame["treatment"] = at_index.groupby("patient_id")["alternative"].first()
    first_outcome = outcomes.groupby("patient_id").first()
    frame["hba1c_change"] = first_outcome["hba1c_change"]
    frame["adverse_event"] = first_outcome["adverse_event"].astype("float")
    frame = frame.set_index("pseudonym")
    return frame[columns].sort_index()


_FRAMES: dict[tuple[Any, ...], pd.DataFrame] = {}


def cohort_version(session: Session) -> tuple[Any, ...]:
    """Changes whenever the cohort could: an import, a consent change or an erasure."""
    return (
        # get_bind() may be an Engine or a Connection; .engine is the Engine for both.
        session.get_bind().engine.url.render_as_string(hide_password=True),
        session.scalar(select(func.max(ImportJob.id))),
        session.scalar(select(func.max(Consent.id))),
        session.scalar(select(func.count()).select_from(Patient).where(Patient.erased_at.is_not(None))),
        session.scalar(select(func.count()).select_from(Patient)),
    )


def cached_analysis_frame(session: Session, *, purpose: str | None = "model_training") -> pd.DataFrame:
    """``analysis_frame`` computed once per cohort version (switching cases must feel instant)."""
    key = (*cohort_version(session), purpose)
    if key not in _FRAMES:
        if len(_FRAMES) > 16:
            _FRAMES.clear()
        _FRAMES[key] = analysis_frame(session, purpose=purpose)
    return _FRAMES[key]
