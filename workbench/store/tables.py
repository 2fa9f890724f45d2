"""ORM tables: what the workbench stores, all of it de-identified.

Patients are known only by pseudonym; dates are already shifted by the patient's offset when they
arrive here; free text is already scrubbed. The one table that can lead back to a person, ``vault``,
holds AES-GCM-sealed blobs that only the privacy officer's audited function opens.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Explicit constraint names so Alembic migrations are identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    """Timezone-aware now; stored as UTC on both back ends."""
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    """Declarative base with the shared naming convention."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}  # noqa: RUF012


class User(Base):
    """A person who signs in; ``role`` decides what the service layer lets them do."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(40))
    discipline: Mapped[str | None] = mapped_column(String(80))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class UserSession(Base):
    """A sign-in session; only the SHA-256 of its token is stored."""

    __tablename__ = "user_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class ImportJob(Base):
    """One import: content hash for idempotence, counts only (file names may carry names)."""

    __tablename__ = "imports"
    id: Mapped[int] = mapped_column(primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    source_kind: Mapped[str] = mapped_column(String(20))
    n_files: Mapped[int] = mapped_column(Integer, default=0)
    report: Mapped[dict[str, Any]] = mapped_column(default=dict)
    imported_by: Mapped[str] = mapped_column(String(80))
    imported_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Patient(Base):
    """A pseudonymous patient with generalised quasi-identifiers only."""

    __tablename__ = "patients"
    id: Mapped[int] = mapped_column(primary_key=True)
    pseudonym: Mapped[str] = mapped_column(String(40), unique=True)
    sex: Mapped[str | None] = mapped_column(String(20))
    age_at_index: Mapped[float | None] = mapped_column(Float)
    age_band: Mapped[str | None] = mapped_column(String(10))
    ethnicity_group: Mapped[str | None] = mapped_column(String(40))
    deprivation_quintile: Mapped[int | None] = mapped_column(Integer)
    zip3: Mapped[str | None] = mapped_column(String(5))
    index_date: Mapped[dt.date | None] = mapped_column(Date)
    import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id"))
    erased_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    conditions: Mapped[list[Condition]] = relationship(back_populates="patient", cascade="all, delete-orphan")
    observations: Mapped[list[Observation]] = relationship(
        back_populates="patient", cascade="all, delete-orphan"
    )
    treatments: Mapped[list[Treatment]] = relationship(back_populates="patient", cascade="all, delete-orphan")
    procedures: Mapped[list[Procedure]] = relationship(back_populates="patient", cascade="all, delete-orphan")
    encounters: Mapped[list[Encounter]] = relationship(back_populates="patient", cascade="all, delete-orphan")
    outcomes: Mapped[list[Outcome]] = relationship(back_populates="patient", cascade="all, delete-orphan")
    notes: Mapped[list[Note]] = relationship(back_populates="patient", cascade="all, delete-orphan")
    consents: Mapped[list[Consent]] = relationship(back_populates="patient", cascade="all, delete-orphan")


class VaultEntry(Base):
    """Pseudonym -> identity, sealed with AES-GCM under the deployment key (privacy officer only)."""

    __tablename__ = "vault"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    pseudonym: Mapped[str] = mapped_column(String(40), unique=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class _PatientFact:
    """Columns every clinical fact shares."""

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)


class Encounter(_PatientFact, Base):
    """A visit; clinician and site are pseudonymised."""

    __tablename__ = "encounters"
    encounter_type: Mapped[str | None] = mapped_column(String(80))
    encounter_date: Mapped[dt.date | None] = mapped_column(Date)
    clinician: Mapped[str | None] = mapped_column(String(40))
    site: Mapped[str | None] = mapped_column(String(40))
    patient: Mapped[Patient] = relationship(back_populates="encounters")


class Condition(_PatientFact, Base):
    """A coded diagnosis (SNOMED CT) with its shifted onset date."""

    __tablename__ = "conditions"
    system: Mapped[str | None] = mapped_column(String(120))
    code: Mapped[str] = mapped_column(String(40))
    display: Mapped[str | None] = mapped_column(String(255))
    onset_date: Mapped[dt.date | None] = mapped_column(Date)
    patient: Mapped[Patient] = relationship(back_populates="conditions")


class Observation(_PatientFact, Base):
    """A coded measurement (LOINC) with value, unit and shifted date."""

    __tablename__ = "observations"
    system: Mapped[str | None] = mapped_column(String(120))
    code: Mapped[str] = mapped_column(String(40))
    display: Mapped[str | None] = mapped_column(String(255))
    value: Mapped[float | None] = mapped_column(Float)
    value_text: Mapped[str | None] = mapped_column(String(255))
    unit: Mapped[str | None] = mapped_column(String(40))
    effective_date: Mapped[dt.date | None] = mapped_column(Date)
    patient: Mapped[Patient] = relationship(back_populates="observations")


class Treatment(_PatientFact, Base):
    """A treatment episode: which alternative was started, and when."""

    __tablename__ = "treatments"
    alternative: Mapped[str | None] = mapped_column(String(40), index=True)
    drug_name: Mapped[str | None] = mapped_column(String(120))
    system: Mapped[str | None] = mapped_column(String(120))
    code: Mapped[str | None] = mapped_column(String(40))
    line: Mapped[str | None] = mapped_column(String(20))
    start_date: Mapped[dt.date | None] = mapped_column(Date)
    patient: Mapped[Patient] = relationship(back_populates="treatments")


class Procedure(_PatientFact, Base):
    """A coded procedure with its shifted date."""

    __tablename__ = "procedures"
    system: Mapped[str | None] = mapped_column(String(120))
    code: Mapped[str] = mapped_column(String(40))
    display: Mapped[str | None] = mapped_column(String(255))
    performed_date: Mapped[dt.date | None] = mapped_column(Date)
    patient: Mapped[Patient] = relationship(back_populates="procedures")


class Outcome(_PatientFact, Base):
    """What happened after a treatment started: the modelled outcomes."""

    __tablename__ = "outcomes"
    treatment_id: Mapped[int | None] = mapped_column(ForeignKey("treatments.id", ondelete="SET NULL"))
    outcome_date: Mapped[dt.date | None] = mapped_column(Date)
    hba1c_change: Mapped[float | None] = mapped_column(Float)
    adverse_event: Mapped[bool | None] = mapped_column(Boolean)
    adverse_event_type: Mapped[str | None] = mapped_column(String(80))
    patient: Mapped[Patient] = relationship(back_populates="outcomes")


class Note(_PatientFact, Base):
    """A clinic letter after de-identification (dates shifted, identifiers replaced)."""

    __tablename__ = "notes"
    note_type: Mapped[str | None] = mapped_column(String(80))
    note_date: Mapped[dt.date | None] = mapped_column(Date)
    author: Mapped[str | None] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)
    n_findings: Mapped[int] = mapped_column(Integer, default=0)
    patient: Mapped[Patient] = relationship(back_populates="notes")


class Consent(_PatientFact, Base):
    """Consent per use; every change is a new row, the latest per purpose is in force."""

    __tablename__ = "consents"
    purpose: Mapped[str] = mapped_column(String(40))
    granted: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(40))
    recorded_by: Mapped[str] = mapped_column(String(80))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    patient: Mapped[Patient] = relationship(back_populates="consents")


class ModelRun(Base):
    """A fitted model: where its posterior is, what it saw, how it diagnosed, who approved it."""

    __tablename__ = "model_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    model_name: Mapped[str] = mapped_column(String(80))
    model_version: Mapped[str] = mapped_column(String(40))
    model_id: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(40))
    method: Mapped[str] = mapped_column(String(20))
    approximate: Mapped[bool] = mapped_column(Boolean, default=False)
    reliable: Mapped[bool] = mapped_column(Boolean, default=False)
    diagnostics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    provenance: Mapped[dict[str, Any]] = mapped_column(default=dict)
    data_hash: Mapped[str] = mapped_column(String(64))
    n_patients: Mapped[int] = mapped_column(Integer)
    posterior_path: Mapped[str] = mapped_column(String(500))
    seed: Mapped[int | None] = mapped_column(Integer)
    seconds: Mapped[float | None] = mapped_column(Float)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    status: Mapped[str] = mapped_column(String(20), default="fitted")
    reviewed_by: Mapped[str | None] = mapped_column(String(80))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    review_note: Mapped[str | None] = mapped_column(Text)


class ModelRunPatient(Base):
    """Which patients a run was fitted on (consent-filtered), for provenance and erasure."""

    __tablename__ = "model_run_patients"
    run_id: Mapped[int] = mapped_column(ForeignKey("model_runs.id", ondelete="CASCADE"), primary_key=True)
    pseudonym: Mapped[str] = mapped_column(String(40), primary_key=True)


class Meeting(Base):
    """A case-review meeting (tumour board, diabetes MDT, ...)."""

    __tablename__ = "meetings"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    meeting_date: Mapped[dt.date] = mapped_column(Date)
    specialty: Mapped[str | None] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(20), default="open")
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    closed_by: Mapped[str | None] = mapped_column(String(80))
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    attendees: Mapped[list[Attendee]] = relationship(
        back_populates="meeting", cascade="all, delete-orphan", order_by="Attendee.id"
    )
    cases: Mapped[list[Case]] = relationship(
        back_populates="meeting", cascade="all, delete-orphan", order_by="Case.id"
    )


class Attendee(Base):
    """Someone present at a meeting, with their discipline."""

    __tablename__ = "attendees"
    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    discipline: Mapped[str] = mapped_column(String(80))
    username: Mapped[str | None] = mapped_column(String(80))
    meeting: Mapped[Meeting] = relationship(back_populates="attendees")


class Case(Base):
    """One patient on a meeting's worklist with the question to decide."""

    __tablename__ = "cases"
    __table_args__ = (UniqueConstraint("meeting_id", "pseudonym"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    pseudonym: Mapped[str] = mapped_column(String(40), index=True)
    question: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="to_review")
    added_by: Mapped[str] = mapped_column(String(80))
    added_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    meeting: Mapped[Meeting] = relationship(back_populates="cases")


class Recommendation(Base):
    """What the model said for a case, frozen at the time the team saw it."""

    __tablename__ = "recommendations"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    model_run_id: Mapped[int] = mapped_column(ForeignKey("model_runs.id"))
    leading_alternative: Mapped[str] = mapped_column(String(40))
    estimates: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Decision(Base):
    """A signed decision; immutable, corrections are new versions that point at the old one."""

    __tablename__ = "decisions"
    __table_args__ = (UniqueConstraint("case_id", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"))
    recommendation_id: Mapped[int | None] = mapped_column(ForeignKey("recommendations.id"))
    model_run_id: Mapped[int | None] = mapped_column(ForeignKey("model_runs.id"))
    chosen_alternative: Mapped[str] = mapped_column(String(40))
    agrees_with_model: Mapped[bool] = mapped_column(Boolean)
    rationale: Mapped[str | None] = mapped_column(Text)
    patient_preferences: Mapped[str | None] = mapped_column(Text)
    dissent: Mapped[str | None] = mapped_column(Text)
    follow_up: Mapped[str | None] = mapped_column(Text)
    attendees: Mapped[list[Any]] = mapped_column(default=list)
    signed_by: Mapped[str] = mapped_column(String(80))
    signed_by_name: Mapped[str] = mapped_column(String(200))
    signed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    content_hash: Mapped[str] = mapped_column(String(64))


class AuditEvent(Base):
    """Append-only, hash-chained record of who did what to which record, and when."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(60), index=True)
    entity_type: Mapped[str | None] = mapped_column(String(40))
    entity_id: Mapped[str | None] = mapped_column(String(80))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
