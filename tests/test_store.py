"""The store on a real SQLite file and a real PostgreSQL 15 server: migrations, service layer, audit."""

import pytest
from sqlalchemy import inspect, select, text

from workbench.governance.audit import append_event, verify_chain
from workbench.governance.roles import SYSTEM_ACTOR, Actor, PermissionDenied, Role
from workbench.store.db import current_revision, head_revision, migrate
from workbench.store.service import Context, Workbench, service
from workbench.store.tables import AuditEvent, Meeting

EXPECTED_TABLES = {
    "users",
    "user_sessions",
    "imports",
    "patients",
    "vault",
    "encounters",
    "conditions",
    "observations",
    "treatments",
    "procedures",
    "outcomes",
    "notes",
    "consents",
    "model_runs",
    "model_run_patients",
    "meetings",
    "attendees",
    "cases",
    "recommendations",
    "decisions",
    "audit_events",
}


def test_when_workbench_starts_then_schema_is_at_head_with_every_table(any_wb: Workbench):
    assert current_revision(any_wb.url) == head_revision()
    tables = set(inspect(any_wb.sessions().get_bind()).get_table_names())
    assert EXPECTED_TABLES <= tables


def test_when_migrations_run_twice_then_nothing_changes(any_wb: Workbench):
    migrate(any_wb.url)
    assert current_revision(any_wb.url) == head_revision()


@service("meeting.create")
def _create_meeting(ctx: Context, title: str, *, fail: bool = False) -> int:
    import datetime as dt

    meeting = Meeting(title=title, meeting_date=dt.date(2026, 1, 5), created_by=ctx.actor.username)
    ctx.session.add(meeting)
    ctx.session.flush()
    ctx.audit("meeting.created", "meeting", meeting.id)
    if fail:
        raise RuntimeError("boom")
    return meeting.id


def test_when_role_lacks_permission_then_service_refuses_and_nothing_is_written(any_wb: Workbench):
    scientist = Actor("ds1", Role.DATA_SCIENTIST)
    with pytest.raises(PermissionDenied):
        _create_meeting(any_wb, scientist, "Diabetes MDT")
    with any_wb.read() as s:
        assert s.scalars(select(Meeting)).all() == []
        assert s.scalars(select(AuditEvent)).all() == []


def test_when_service_fails_midway_then_change_and_audit_roll_back_together(any_wb: Workbench):
    chair = Actor("chair1", Role.CHAIR)
    with pytest.raises(RuntimeError):
        _create_meeting(any_wb, chair, "Diabetes MDT", fail=True)
    with any_wb.read() as s:
        assert s.scalars(select(Meeting)).all() == []
        assert s.scalars(select(AuditEvent)).all() == []
    meeting_id = _create_meeting(any_wb, chair, "Diabetes MDT")
    with any_wb.read() as s:
        event = s.scalars(select(AuditEvent)).one()
        assert (event.actor, event.role, event.action, event.entity_id) == (
            "chair1",
            "chair",
            "meeting.created",
            str(meeting_id),
        )


def _trail(wb: Workbench, n: int = 5) -> None:
    with wb.sessions.begin() as s:
        for i in range(n):
            append_event(
                s,
                actor=SYSTEM_ACTOR.username,
                role="system",
                action=f"test.{i}",
                entity_type="thing",
                entity_id=i,
                detail={"i": i},
            )


def test_when_trail_is_untouched_then_it_verifies(any_wb: Workbench):
    _trail(any_wb)
    with any_wb.read() as s:
        report = verify_chain(s)
    assert report.ok and report.n_events == 5


def test_when_an_event_is_edited_then_verify_names_it(any_wb: Workbench):
    _trail(any_wb)
    with any_wb.sessions.begin() as s:
        s.execute(text("UPDATE audit_events SET actor = 'mallory' WHERE seq = 3"))
    with any_wb.read() as s:
        report = verify_chain(s)
    assert not report.ok and report.broken_seq == 3


def test_when_an_event_is_deleted_then_verify_names_the_gap(any_wb: Workbench):
    _trail(any_wb)
    with any_wb.sessions.begin() as s:
        s.execute(text("DELETE FROM audit_events WHERE seq = 2"))
    with any_wb.read() as s:
        report = verify_chain(s)
    assert not report.ok and report.broken_seq == 2


def test_when_events_are_reordered_then_verify_catches_it(any_wb: Workbench):
    _trail(any_wb)
    with any_wb.sessions.begin() as s:
        s.execute(text("UPDATE audit_events SET seq = -1 WHERE seq = 2"))
        s.execute(text("UPDATE audit_events SET seq = 2 WHERE seq = 4"))
        s.execute(text("UPDATE audit_events SET seq = 4 WHERE seq = -1"))
    with any_wb.read() as s:
        report = verify_chain(s)
    assert not report.ok and report.broken_seq == 2
