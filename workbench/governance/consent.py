"""Consent per patient and per use. Every change is a new row; the latest row per purpose is in force."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from workbench.store.service import Context, service
from workbench.store.tables import Consent, Patient

PURPOSES = ("care", "model_training", "research")
PURPOSE_LABELS = {
    "care": "Review for their own care",
    "model_training": "Training treatment-effect models",
    "research": "Research exports",
}


def consent_in_force(session: Session) -> dict[tuple[int, str], bool]:
    """Map (patient id, purpose) to the consent currently in force."""
    rows = session.execute(
        select(Consent.patient_id, Consent.purpose, Consent.granted).order_by(Consent.recorded_at, Consent.id)
    )
    return {(pid, purpose): granted for pid, purpose, granted in rows}


def consenting_patient_ids(session: Session, purpose: str) -> set[int]:
    """Patients (not erased) whose consent for ``purpose`` is granted."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown consent purpose {purpose!r}; expected one of {PURPOSES}")
    live = set(session.scalars(select(Patient.id).where(Patient.erased_at.is_(None))))
    state = consent_in_force(session)
    return {pid for pid in live if state.get((pid, purpose), False)}


def patient_consents(session: Session, pseudonym: str) -> dict[str, bool]:
    """The consents in force for one patient."""
    patient = session.scalar(select(Patient).where(Patient.pseudonym == pseudonym))
    if patient is None:
        raise LookupError(f"no patient {pseudonym}")
    rows = session.execute(
        select(Consent.purpose, Consent.granted)
        .where(Consent.patient_id == patient.id)
        .order_by(Consent.recorded_at, Consent.id)
    )
    state = {purpose: granted for purpose, granted in rows}
    return {purpose: state.get(purpose, False) for purpose in PURPOSES}


@service("consent.edit")
def set_consent(ctx: Context, pseudonym: str, purpose: str, granted: bool, *, reason: str = "") -> None:
    """Record a consent change (privacy officer); audited with the reason."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown consent purpose {purpose!r}; expected one of {PURPOSES}")
    patient = ctx.session.scalar(select(Patient).where(Patient.pseudonym == pseudonym))
    if patient is None or patient.erased_at is not None:
        raise LookupError(f"no patient {pseudonym}")
    ctx.session.add(
        Consent(
            patient_id=patient.id,
            purpose=purpose,
            granted=granted,
            source="privacy officer",
            recorded_by=ctx.actor.username,
        )
    )
    ctx.audit("consent.changed", "patient", pseudonym, purpose=purpose, granted=granted, reason=reason)
