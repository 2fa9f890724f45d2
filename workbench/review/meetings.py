"""Meetings and their worklists: create, add attendees and cases, defer, close."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from workbench.store.service import Context, Workbench, service
from workbench.store.tables import Attendee, Case, Decision, Meeting, Patient

CASE_STATUSES = ("to_review", "decided", "deferred")
STATUS_LABELS = {"to_review": "To review", "decided": "Decided", "deferred": "Deferred"}


class MeetingError(ValueError):
    """A meeting action that the meeting's state does not allow."""


@dataclass(frozen=True)
class CaseRow:
    """One line of a worklist."""

    case_id: int
    pseudonym: str
    question: str
    status: str
    decision_version: int | None


@dataclass(frozen=True)
class MeetingInfo:
    """A meeting with its attendees and worklist."""

    id: int
    title: str
    meeting_date: dt.date
    specialty: str | None
    status: str
    attendees: list[tuple[str, str]]
    cases: list[CaseRow]


def _open_meeting(ctx: Context, meeting_id: int) -> Meeting:
    meeting = ctx.session.get(Meeting, meeting_id)
    if meeting is None:
        raise MeetingError(f"no meeting #{meeting_id}")
    if meeting.status != "open":
        raise MeetingError(f"meeting #{meeting_id} is closed")
    return meeting


@service("meeting.create")
def create_meeting(ctx: Context, title: str, meeting_date: dt.date, specialty: str | None = None) -> int:
    """Create a meeting (chair)."""
    if not title.strip():
        raise MeetingError("a meeting needs a title")
    meeting = Meeting(
        title=title.strip(), meeting_date=meeting_date, specialty=specialty, created_by=ctx.actor.username
    )
    ctx.session.add(meeting)
    ctx.session.flush()
    ctx.audit("meeting.created", "meeting", meeting.id)
    return meeting.id


@service("meeting.edit")
def add_attendee(
    ctx: Context, meeting_id: int, name: str, discipline: str, username: str | None = None
) -> None:
    """Add someone present, with their discipline."""
    meeting = _open_meeting(ctx, meeting_id)
    if not name.strip() or not discipline.strip():
        raise MeetingError("an attendee needs a name and a discipline")
    meeting.attendees.append(Attendee(name=name.strip(), discipline=discipline.strip(), username=username))
    ctx.audit("meeting.attendee_added", "meeting", meeting_id, discipline=discipline)


@service("meeting.edit")
def add_case(ctx: Context, meeting_id: int, pseudonym: str, question: str) -> int:
    """Put a patient on the worklist with the question the meeting must decide."""
    meeting = _open_meeting(ctx, meeting_id)
    patient = ctx.session.scalar(select(Patient).where(Patient.pseudonym == pseudonym))
    if patient is None or patient.erased_at is not None:
        raise MeetingError(f"no patient {pseudonym}")
    if not question.strip():
        raise MeetingError("a case needs the question to decide")
    if any(c.pseudonym == pseudonym for c in meeting.cases):
        raise MeetingError(f"{pseudonym} is already on this worklist")
    case = Case(pseudonym=pseudonym, question=question.strip(), added_by=ctx.actor.username)
    meeting.cases.append(case)
    ctx.session.flush()
    ctx.audit("case.added", "case", case.id, meeting=meeting_id, patient=pseudonym)
    return case.id


@service("meeting.edit")
def defer_case(ctx: Context, case_id: int, reason: str) -> None:
    """Defer a case to a later meeting, saying why."""
    case = ctx.session.get(Case, case_id)
    if case is None:
        raise MeetingError(f"no case #{case_id}")
    _open_meeting(ctx, case.meeting_id)
    if not reason.strip():
        raise MeetingError("deferring needs a reason")
    case.status = "deferred"
    ctx.audit("case.deferred", "case", case_id, reason=reason)


@service("meeting.close")
def close_meeting(ctx: Context, meeting_id: int) -> None:
    """Close a meeting (chair only); its decisions stay, nothing more can be added."""
    meeting = _open_meeting(ctx, meeting_id)
    meeting.status = "closed"
    meeting.closed_by = ctx.actor.username
    meeting.closed_at = dt.datetime.now(dt.UTC)
    ctx.audit("meeting.closed", "meeting", meeting_id)


def list_meetings(wb: Workbench) -> list[MeetingInfo]:
    """Meetings, newest first, with attendees and worklists."""
    with wb.read() as session:
        meetings = session.scalars(
            select(Meeting).order_by(Meeting.meeting_date.desc(), Meeting.id.desc())
        ).all()
        return [_info(session, m) for m in meetings]


def get_meeting(wb: Workbench, meeting_id: int) -> MeetingInfo:
    """One meeting with attendees and worklist."""
    with wb.read() as session:
        meeting = session.get(Meeting, meeting_id)
        if meeting is None:
            raise MeetingError(f"no meeting #{meeting_id}")
        return _info(session, meeting)


def _info(session, meeting: Meeting) -> MeetingInfo:
    latest: dict[int, int] = {}
    for case_id, version in session.execute(
        select(Decision.case_id, Decision.version).where(Decision.case_id.in_([c.id for c in meeting.cases]))
    ):
        latest[case_id] = max(version, latest.get(case_id, 0))
    return MeetingInfo(
        id=meeting.id,
        title=meeting.title,
        meeting_date=meeting.meeting_date,
        specialty=meeting.specialty,
        status=meeting.status,
        attendees=[(a.name, a.discipline) for a in meeting.attendees],
        cases=[CaseRow(c.id, c.pseudonym, c.question, c.status, latest.get(c.id)) for c in meeting.cases],
    )
