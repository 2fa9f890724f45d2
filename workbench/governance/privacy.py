"""The privacy officer's powers: re-identify a pseudonym, erase a patient, purge by retention age.

Each is one audited service function. Erasure removes clinical data, notes and the vault entry;
decisions that concerned the patient stay (meeting records must stay whole) and now point at a
tombstone: the patient row keeps only its pseudonym and the time of erasure.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import CursorResult, Delete, delete, select

from workbench.deid.vault import unseal
from workbench.store.service import Context, service
from workbench.store.tables import (
    Condition,
    Consent,
    Encounter,
    ModelRun,
    ModelRunPatient,
    Note,
    Observation,
    Outcome,
    Patient,
    Procedure,
    Treatment,
    VaultEntry,
)

CLINICAL_TABLES = (Encounter, Condition, Observation, Outcome, Treatment, Procedure, Note, Consent)


class PrivacyError(LookupError):
    """The pseudonym is unknown, already erased, or has no vault entry."""


@service("patient.reidentify")
def reidentify(ctx: Context, pseudonym: str, *, reason: str) -> dict[str, Any]:
    """Open the vault for one pseudonym (privacy officer, with a recorded reason)."""
    if not reason.strip():
        raise PrivacyError("re-identification needs a recorded reason")
    entry = ctx.session.scalar(select(VaultEntry).where(VaultEntry.pseudonym == pseudonym))
    if entry is None:
        raise PrivacyError(f"no vault entry for {pseudonym}")
    identity = unseal(ctx.wb.secret, entry.sealed, pseudonym=pseudonym)
    ctx.audit("patient.reidentified", "patient", pseudonym, reason=reason)
    return identity


def _deleted(ctx: Context, statement: Delete) -> int:
    """Run a DELETE and return how many rows it removed (the erasure report counts them)."""
    result = ctx.session.execute(statement)
    # A DML statement always yields a CursorResult; Session.execute is typed as the general Result.
    if not isinstance(result, CursorResult):
        raise TypeError(f"DELETE returned {type(result).__name__}, not a CursorResult")
    return result.rowcount


def _erase(ctx: Context, patient: Patient) -> dict[str, int]:
    removed = {}
    for table in CLINICAL_TABLES:
        removed[table.__tablename__] = _deleted(ctx, delete(table).where(table.patient_id == patient.id))
    removed["vault"] = _deleted(ctx, delete(VaultEntry).where(VaultEntry.pseudonym == patient.pseudonym))
    for column in (
        "sex",
        "age_at_index",
        "age_band",
        "ethnicity_group",
        "deprivation_quintile",
        "zip3",
        "index_date",
    ):
        setattr(patient, column, None)
    patient.erased_at = dt.datetime.now(dt.UTC)
    return removed


def runs_containing(ctx: Context, pseudonym: str) -> list[int]:
    """Model runs fitted on this patient: they should be refitted after an erasure."""
    return list(
        ctx.session.scalars(select(ModelRunPatient.run_id).where(ModelRunPatient.pseudonym == pseudonym))
    )


@service("patient.erase")
def erase_patient(ctx: Context, pseudonym: str, *, reason: str) -> dict[str, Any]:
    """Erase one patient's data and vault entry; decisions keep a tombstone; audited."""
    if not reason.strip():
        raise PrivacyError("erasure needs a recorded reason")
    patient = ctx.session.scalar(select(Patient).where(Patient.pseudonym == pseudonym))
    if patient is None:
        raise PrivacyError(f"no patient {pseudonym}")
    if patient.erased_at is not None:
        raise PrivacyError(f"{pseudonym} is already erased")
    removed = _erase(ctx, patient)
    stale = runs_containing(ctx, pseudonym)
    for run in ctx.session.scalars(select(ModelRun).where(ModelRun.id.in_(stale))):
        run.provenance = {**run.provenance, "includes_erased_patients": True}
    ctx.audit("patient.erased", "patient", pseudonym, reason=reason, removed=removed, runs_to_refit=stale)
    return {"removed": removed, "runs_to_refit": stale}


@service("data.retention")
def purge_older_than(ctx: Context, days: int, *, today: dt.date | None = None) -> list[str]:
    """Erase patients whose latest (shifted) data is older than ``days``; returns their pseudonyms.

    Shifted dates move by at most a year, so the purge errs by at most the shift; the retention
    setting should carry that margin.
    """
    if days <= 0:
        raise ValueError("retention must be a positive number of days")
    cutoff = (today or dt.date.today()) - dt.timedelta(days=days)
    purged = []
    for patient in ctx.session.scalars(select(Patient).where(Patient.erased_at.is_(None))):
        dates = [
            d
            for d in ctx.session.scalars(
                select(Encounter.encounter_date).where(Encounter.patient_id == patient.id)
            )
            if d
        ]
        dates += [
            d
            for d in ctx.session.scalars(
                select(Observation.effective_date).where(Observation.patient_id == patient.id)
            )
            if d
        ]
        if patient.index_date:
            dates.append(patient.index_date)
        if dates and max(dates) < cutoff:
            _erase(ctx, patient)
            purged.append(patient.pseudonym)
    ctx.audit("data.retention_purge", "patients", None, days=days, purged=len(purged))
    return purged
