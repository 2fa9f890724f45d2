"""Which patients a meeting can add: reviewable (care consent, not erased), newest index first."""

from __future__ import annotations

from sqlalchemy import select

from workbench.governance.consent import consenting_patient_ids
from workbench.store.service import Workbench
from workbench.store.tables import Patient


def suggest_cases(wb: Workbench, *, limit: int = 50) -> list[str]:
    """Pseudonyms of patients that may be reviewed for their care, most recent treatment start first."""
    with wb.read() as session:
        allowed = consenting_patient_ids(session, "care")
        rows = session.execute(
            select(Patient.id, Patient.pseudonym)
            .where(Patient.index_date.is_not(None))
            .order_by(Patient.index_date.desc(), Patient.pseudonym)
        ).all()
    return [pseudonym for pid, pseudonym in rows if pid in allowed][:limit]
