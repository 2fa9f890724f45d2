"""One patient's case, as the meeting sees it: summary, alternatives side by side, drivers, similar patients.

Every estimate carries its interval, and the run's diagnostics travel with it: an unreliable or
approximate run, or an alternative outside the data's support (overlap), is said in plain words.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select

from workbench.cohort import cached_analysis_frame
from workbench.governance.consent import patient_consents
from workbench.models.base import ModelLoadError
from workbench.runs import RunError, approved_run, load_run
from workbench.scenario import ALTERNATIVE_LABELS, COVARIATE_LABELS, COVARIATES, YES_NO_COVARIATES
from workbench.status import RunBrief, run_brief
from workbench.store.service import Context, Workbench, service
from workbench.store.tables import Condition, ModelRun, Note, Patient, Treatment

N_SIMILAR = 10


class CaseUnavailable(LookupError):
    """The patient cannot be reviewed: unknown, erased, no care consent, or no approved run."""


@dataclass(frozen=True)
class PatientSummary:
    """The de-identified summary the meeting sees."""

    pseudonym: str
    age_band: str | None
    sex: str | None
    ethnicity_group: str | None
    deprivation_quintile: int | None
    covariates: dict[str, Any]
    current_treatment: str | None
    conditions: list[dict[str, Any]]
    treatments: list[dict[str, Any]]
    letters: list[dict[str, Any]]
    consents: dict[str, bool]


@dataclass(frozen=True)
class Comparison:
    """Alternatives side by side for one patient (rows = alternatives, in the run's order)."""

    table: pd.DataFrame
    outcome_draws: np.ndarray
    reference: str
    leading: str
    min_important_difference: float
    run: RunBrief
    ae_run: RunBrief | None
    warnings: list[str]
    hypothetical: bool
    approximate: bool
    reliable: bool
    #: One short line per entry of ``warnings`` (same order), for a compact summary on screen.
    warning_lines: tuple[str, ...] = ()


@dataclass(frozen=True)
class CaseView:
    """Everything the case page shows.

    ``drivers`` and ``similar`` are computed on first use: the page shows them behind a detail
    selector, so switching patient draws the comparison without waiting for them.
    """

    summary: PatientSummary
    comparison: Comparison
    drivers_of: Callable[[], dict[str, pd.DataFrame]] = field(repr=False, compare=False)
    similar_of: Callable[[], pd.DataFrame] = field(repr=False, compare=False)
    extra: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def drivers(self) -> dict[str, pd.DataFrame]:
        """Per non-reference alternative, each covariate's contribution to this patient's effect."""
        return self.drivers_of()

    @cached_property
    def similar(self) -> pd.DataFrame:
        """The nearest cohort patients, what they received and how they did (observed)."""
        return self.similar_of()


def patient_summary(session: Any, pseudonym: str) -> PatientSummary:
    """Read one patient's de-identified record; refuse erased patients and those without care consent."""
    patient = session.scalar(select(Patient).where(Patient.pseudonym == pseudonym))
    if patient is None or patient.erased_at is not None:
        raise CaseUnavailable(f"no patient {pseudonym} (unknown or erased)")
    consents = patient_consents(session, pseudonym)
    if not consents.get("care", False):
        raise CaseUnavailable(f"{pseudonym} has not consented to case review")
    frame = cached_analysis_frame(session, purpose=None)
    row = frame.loc[pseudonym] if pseudonym in frame.index else pd.Series(dtype=object)
    conditions = [
        {"code": c.code, "display": c.display, "onset": c.onset_date}
        for c in session.scalars(
            select(Condition).where(Condition.patient_id == patient.id).order_by(Condition.onset_date)
        )
    ]
    treatments = [
        {"alternative": t.alternative, "drug": t.drug_name, "line": t.line, "start": t.start_date}
        for t in session.scalars(
            select(Treatment).where(Treatment.patient_id == patient.id).order_by(Treatment.start_date)
        )
    ]
    letters = [
        {"date": n.note_date, "type": n.note_type, "author": n.author, "text": n.text}
        for n in session.scalars(select(Note).where(Note.patient_id == patient.id).order_by(Note.note_date))
    ]
    return PatientSummary(
        pseudonym=pseudonym,
        age_band=patient.age_band,
        sex=patient.sex,
        ethnicity_group=patient.ethnicity_group,
        deprivation_quintile=patient.deprivation_quintile,
        covariates={c: row.get(c) for c in COVARIATES} if len(row) else {},
        current_treatment=row.get("treatment") if len(row) else None,
        conditions=conditions,
        treatments=treatments,
        letters=letters,
        consents=consents,
    )


def covariate_row(summary: PatientSummary, overrides: dict[str, Any] | None = None) -> pd.DataFrame:
    """The model input for this patient, with any hypothetical changes applied."""
    values = dict(summary.covariates) | dict(overrides or {})
    missing = [
        c
        for c in COVARIATES
        if values.get(c) is None or (isinstance(values[c], float) and np.isnan(values[c]))
    ]
    if missing:
        labels = ", ".join(COVARIATE_LABELS[c] for c in missing)
        raise CaseUnavailable(f"the record lacks what the model needs: {labels}")
    return pd.DataFrame([values], index=[summary.pseudonym])[COVARIATES]


def _warning_items(
    table: pd.DataFrame, run: ModelRun, ae_run: ModelRun | None, hypothetical: bool
) -> list[tuple[str, str]]:
    """Each caveat as (short line, full plain-words sentence).

    The short lines let a page fold every caveat into one compact box (so the comparison stays on the
    first screen) without dropping any; the full sentences are what is frozen with a decision.
    """
    items = []
    if hypothetical:
        items.append((
            "HYPOTHETICAL values: not this patient's estimates.",
            "HYPOTHETICAL: covariates were changed by hand; these are not this patient's estimates.",
        ))
    for r, what in ((run, "outcome"), (ae_run, "adverse-event")):
        if r is None:
            continue
        if r.approximate:
            items.append((
                f"APPROXIMATE {what} run #{r.id}: intervals may be too narrow.",
                f"The {what} model run #{r.id} is a fast approximate preview, not a full fit: "
                "its intervals may be too narrow.",
            ))
        elif not r.reliable:
            reasons = "; ".join(r.diagnostics.get("reasons", [])) or "diagnostics failed"
            items.append((
                f"UNRELIABLE {what} run #{r.id}: failed its sampler diagnostics.",
                f"The {what} model run #{r.id} FAILED its sampler diagnostics ({reasons}): "
                "treat its numbers as unreliable.",
            ))
    flagged = [
        str(ALTERNATIVE_LABELS.get(str(alternative), alternative))
        for alternative, flag in table["overlap_warning"].items()
        if flag
    ]
    for label in flagged:
        items.append((
            f"EXTRAPOLATION for {label}: few patients like this one received it.",
            f"Few patients like this one received {label} "
            "(or almost all did): its estimate is an extrapolation, so confidence is lower than the "
            "interval suggests.",
        ))
    return items


def _loaded(wb: Workbench, run: ModelRun) -> Any:
    """The run's fitted model; a run this code cannot load is said in plain words, not as a traceback."""
    try:
        return load_run(wb, run)
    except (RunError, ModelLoadError) as error:
        raise CaseUnavailable(
            f"the approved {run.outcome} model run #{run.id} cannot be used ({error}); "
            "a data scientist must refit and approve a run"
        ) from error


def compare_alternatives(
    wb: Workbench,
    summary: PatientSummary,
    *,
    overrides: dict[str, Any] | None = None,
    min_important_difference: float | None = None,
    reference: str | None = None,
) -> tuple[Comparison, Callable[[], dict[str, pd.DataFrame]]]:
    """Estimate every alternative for this patient with the approved runs (outcome and adverse event).

    Returns the comparison and a function that computes the drivers (only when they are shown).
    """
    run = approved_run(wb, "hba1c_change")
    if run is None:
        raise CaseUnavailable("no approved model run for the outcome yet: a data scientist must approve one")
    ae_run = approved_run(wb, "adverse_event")
    mid = (
        wb.settings.min_important_difference if min_important_difference is None else min_important_difference
    )
    X = covariate_row(summary, overrides)
    model = _loaded(wb, run)
    posterior = model.predict_effects(X)
    ref = reference or wb.settings.reference_alternative
    if ref not in posterior.alternatives:
        ref = posterior.reference
    effects = posterior.for_patient(summary.pseudonym, reference=ref, min_important_difference=mid)
    table = effects.table.copy()
    if ae_run is not None:
        ae_posterior = _loaded(wb, ae_run).predict_effects(X)
        ae = ae_posterior.for_patient(summary.pseudonym, reference=ref).table
        for column in ("mean", "q05", "q25", "q75", "q95"):
            table[f"ae_{column}"] = ae[column].reindex(table.index)
        table["ae_overlap_warning"] = ae["overlap_warning"].reindex(table.index)
    table["label"] = [ALTERNATIVE_LABELS.get(str(a), str(a)) for a in table.index]
    leading = str(table["p_best"].idxmax())

    def drivers() -> dict[str, pd.DataFrame]:
        return {str(a): model.drivers(X, str(a), ref) for a in posterior.alternatives if str(a) != ref}

    items = _warning_items(table, run, ae_run, bool(overrides))
    brief = run_brief(run)
    if brief is None:  # not reachable (run is a row here); keeps "every comparison names its run" typed
        raise CaseUnavailable("no approved model run for the outcome")
    comparison = Comparison(
        table=table,
        outcome_draws=effects.draws,
        reference=ref,
        leading=leading,
        min_important_difference=mid,
        run=brief,
        ae_run=run_brief(ae_run),
        warnings=[full for _, full in items],
        hypothetical=bool(overrides),
        approximate=effects.approximate,
        reliable=effects.reliable and (ae_run is None or ae_run.reliable),
        warning_lines=tuple(short for short, _ in items),
    )
    return comparison, drivers


def similar_patients(frame: pd.DataFrame, X: pd.DataFrame, *, k: int = N_SIMILAR) -> pd.DataFrame:
    """The k cohort patients nearest in standardised covariates, with what they received and how they did."""
    others = frame.drop(index=X.index, errors="ignore").dropna(subset=[*COVARIATES, "treatment"])
    if others.empty:
        return pd.DataFrame(columns=["treatment", "hba1c_change", "adverse_event", "distance"])
    numeric = [c for c in COVARIATES if pd.api.types.is_numeric_dtype(others[c])]
    categorical = [c for c in COVARIATES if c not in numeric]
    scale = others[numeric].std().replace(0, 1.0)
    gaps = ((others[numeric] - X[numeric].iloc[0].astype(float)) / scale) ** 2
    mismatch = sum((others[c].astype(str) != str(X[c].iloc[0])).astype(float) for c in categorical)
    distance = np.sqrt(gaps.sum(axis=1) + mismatch)
    nearest = distance.nsmallest(k).index
    out = others.loc[nearest, [*COVARIATES, "treatment", "hba1c_change", "adverse_event"]].copy()
    out["distance"] = distance.loc[nearest].round(2)
    out["treatment_label"] = out["treatment"].map(lambda a: ALTERNATIVE_LABELS.get(a, a))
    return out


@service("case.view")
def open_case(
    ctx: Context,
    pseudonym: str,
    *,
    overrides: dict[str, Any] | None = None,
    min_important_difference: float | None = None,
    reference: str | None = None,
) -> CaseView:
    """Everything the case page shows; the view is audited (hypothetical re-renders are not)."""
    summary = patient_summary(ctx.session, pseudonym)
    comparison, drivers = compare_alternatives(
        ctx.wb,
        summary,
        overrides=overrides,
        min_important_difference=min_important_difference,
        reference=reference,
    )
    X = covariate_row(summary, overrides)
    wb = ctx.wb

    def similar() -> pd.DataFrame:
        # Computed when shown, after the case was opened (and audited) through this service.
        with wb.read() as session:
            frame = cached_analysis_frame(session, purpose="model_training")
        return similar_patients(frame, X)

    if not overrides:
        ctx.audit("case.viewed", "patient", pseudonym, run=comparison.run.id)
    return CaseView(summary=summary, comparison=comparison, drivers_of=drivers, similar_of=similar)


def _interval(lo: float, hi: float, fmt: str) -> str:
    return f"{fmt.format(lo)} to {fmt.format(hi)}"


def comparison_rows(comparison: Comparison, *, outcome_unit: str = "mmol/mol") -> pd.DataFrame:
    """The comparison as the table the meeting reads: every number next to its interval."""
    rows = []
    for alternative, row in comparison.table.iterrows():
        is_ref = str(alternative) == comparison.reference
        entry = {
            "Alternative": row["label"]
            + (" (reference)" if is_ref else "")
            + (" ★ leading" if str(alternative) == comparison.leading else ""),
            f"Expected change ({outcome_unit})": f"{row['mean']:+.1f}",
            "50% interval": _interval(row["q25"], row["q75"], "{:+.1f}"),
            "90% interval": _interval(row["q05"], row["q95"], "{:+.1f}"),
            "Effect vs reference (90%)": "—"
            if is_ref
            else (
                f"{row['effect_mean']:+.1f} ({_interval(row['effect_q05'], row['effect_q95'], '{:+.1f}')})"
            ),
            f"P(benefit > {comparison.min_important_difference:g})": "—"
            if is_ref
            else f"{row['p_benefit']:.0%}",
            "P(best)": f"{row['p_best']:.0%}",
        }
        if "ae_mean" in row.index:
            entry["Adverse-event risk (90%)"] = (
                f"{row['ae_mean']:.0%} ({_interval(row['ae_q05'], row['ae_q95'], '{:.0%}')})"
            )
        entry["Overlap"] = "⚠ extrapolation" if row["overlap_warning"] else "ok"
        rows.append(entry)
    return pd.DataFrame(rows)



def warm_up(wb: Workbench) -> None:
    """Load what the case page needs (approved runs, cohort frames) so that the first case opens fast.

    Run in the background when someone signs in; everything it touches is cached per process.
    """
    for outcome in ("hba1c_change", "adverse_event"):
        run = approved_run(wb, outcome)
        if run is not None:
            load_run(wb, run)
    with wb.read() as session:
        cached_analysis_frame(session, purpose=None)
        cached_analysis_frame(session, purpose="model_training")


def similar_rows(similar: pd.DataFrame) -> pd.DataFrame:
    """Similar patients as the meeting reads them: plain column names, labels, sensible rounding."""
    out = pd.DataFrame(index=similar.index)
    for column in COVARIATES:
        if column in similar.columns:
            values = similar[column]
            if pd.api.types.is_float_dtype(values):
                values = values.round(1)
            if column in YES_NO_COVARIATES:
                values = values.map(lambda v: "yes" if bool(v) else "no")
            out[COVARIATE_LABELS.get(column, column)] = values
    if "treatment" in similar.columns:
        out["Received"] = similar["treatment"].map(lambda a: ALTERNATIVE_LABELS.get(a, a))
    if "hba1c_change" in similar.columns:
        out["Observed HbA1c change (mmol/mol)"] = similar["hba1c_change"].round(1)
    if "adverse_event" in similar.columns:
        out["Adverse event"] = similar["adverse_event"].map(lambda v: "n/a" if pd.isna(v) else ("yes" if v else "no"))
    if "distance" in similar.columns:
        out["Distance (0 = identical)"] = similar["distance"]
    out.index.name = "Patient"
    return out


def display_value(name: str, value: Any) -> Any:
    """A covariate value as the meeting reads it: yes/no for flags, 90 rather than 90.0 (BMI keeps its decimal)."""
    if name in YES_NO_COVARIATES:
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer() and name != "bmi":
        return int(value)
    return round(value, 1) if isinstance(value, float) else value


def short_number(value: float) -> str:
    """One decimal at most, no trailing zeros: 90, 25.5, -10.4 (a table cell, not a measurement)."""
    if value != value:
        return "n/a"
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def driver_unit(frame: pd.DataFrame) -> str:
    """Contributions are in outcome units (mmol/mol) unless the model says they are log-odds."""
    scale = str(frame["scale"].iloc[0]) if "scale" in frame.columns and len(frame) else "outcome"
    return "mmol/mol" if scale == "outcome" else scale


def readable_drivers(frame: pd.DataFrame) -> pd.DataFrame:
    """Yes/no covariates as words in the drivers chart's row labels (a bare 1 or 0 means nothing on screen)."""
    frame = frame.copy()
    if "value" in frame.columns:
        frame["value"] = frame["value"].astype(object)
        for name in YES_NO_COVARIATES & set(map(str, frame.index)):
            frame.loc[name, "value"] = "yes" if frame.loc[name, "value"] else "no"
    return frame
