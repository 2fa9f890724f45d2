"""A tamper-evident audit trail: each event stores the SHA-256 of its predecessor.

Changing, deleting or reordering any row breaks the chain at that row, which ``verify_chain`` reports.
Details carry identifiers of records (pseudonyms, ids), never identifying values.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from workbench.store.tables import AuditEvent, utcnow

GENESIS = "0" * 64


def _utc_naive(moment: dt.datetime) -> dt.datetime:
    # SQLite hands back naive datetimes and PostgreSQL aware ones: hash one canonical form.
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment


def event_hash(
    *,
    seq: int,
    occurred_at: dt.datetime,
    actor: str,
    role: str,
    action: str,
    entity_type: str | None,
    entity_id: str | None,
    detail: dict[str, Any],
    prev_hash: str,
) -> str:
    """SHA-256 of the event's canonical JSON, including the previous event's hash."""
    payload = {
        "seq": seq,
        "at": _utc_naive(occurred_at).isoformat(timespec="microseconds"),
        "actor": actor,
        "role": role,
        "action": action,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "detail": detail,
        "prev": prev_hash,
    }
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def append_event(
    session: Session,
    *,
    actor: str,
    role: str,
    action: str,
    entity_type: str | None = None,
    entity_id: str | int | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event in the caller's transaction, so it commits or rolls back with the change."""
    if session.get_bind().dialect.name == "postgresql":
        # Serialise appenders: two transactions must not both extend the same head.
        session.execute(text("SELECT pg_advisory_xact_lock(4242001)"))
    head = session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    seq, prev = (head[0] + 1, head[1]) if head else (1, GENESIS)
    now = _utc_naive(utcnow()).replace(tzinfo=dt.UTC)
    detail = json.loads(json.dumps(detail or {}, default=str, sort_keys=True))
    entity = None if entity_id is None else str(entity_id)
    event = AuditEvent(
        seq=seq,
        occurred_at=now,
        actor=actor,
        role=role,
        action=action,
        entity_type=entity_type,
        entity_id=entity,
        detail=detail,
        prev_hash=prev,
        hash=event_hash(
            seq=seq,
            occurred_at=now,
            actor=actor,
            role=role,
            action=action,
            entity_type=entity_type,
            entity_id=entity,
            detail=detail,
            prev_hash=prev,
        ),
    )
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True)
class ChainReport:
    """Result of verifying the chain: ``ok`` or the first broken link and why."""

    ok: bool
    n_events: int
    broken_seq: int | None = None
    problem: str | None = None


def verify_chain(session: Session) -> ChainReport:
    """Walk the trail in ``seq`` order; report the first event whose link or content does not hold."""
    prev = GENESIS
    expected_seq = 1
    n = 0
    for event in session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).yield_per(1000):
        n += 1
        if event.seq != expected_seq:
            return ChainReport(False, n, expected_seq, f"event {expected_seq} is missing")
        if event.prev_hash != prev:
            return ChainReport(False, n, event.seq, "does not link to the event before it")
        recomputed = event_hash(
            seq=event.seq,
            occurred_at=event.occurred_at,
            actor=event.actor,
            role=event.role,
            action=event.action,
            entity_type=event.entity_type,
            entity_id=event.entity_id,
            detail=event.detail,
            prev_hash=event.prev_hash,
        )
        if recomputed != event.hash:
            return ChainReport(False, n, event.seq, "content was changed after it was written")
        prev = event.hash
        expected_seq += 1
    return ChainReport(True, n)


def count_events(session: Session) -> int:
    """Number of events in the trail."""
    return session.scalar(select(func.count()).select_from(AuditEvent)) or 0


def search_events(
    session: Session,
    *,
    action: str | None = None,
    actor: str | None = None,
    entity: str | None = None,
    limit: int = 500,
) -> list[AuditEvent]:
    """Newest events first, filtered by action prefix, actor and entity id."""
    query = select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(limit)
    if action:
        query = query.where(AuditEvent.action.startswith(action))
    if actor:
        query = query.where(AuditEvent.actor == actor)
    if entity:
        query = query.where(AuditEvent.entity_id == entity)
    return list(session.scalars(query))
