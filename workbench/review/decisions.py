"""Decisions: agree with the model's leading alternative or override it with a rationale; signed, immutable.

A correction is a new version that points at the one it supersedes; both stay visible. The model's
estimates are frozen with the decision (as a Recommendation), so the record shows what the team saw.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, select

from workbench.review.case import Comparison
from workbench.store.service import Context, Workbench, service
from workbench.store.tables import Case, Decision, Meeting, Recommendation, User

ESTIMATE_COLUMNS = (
    "label",
    "mean",
    "q05",
    "q25",
    "q75",
    "q95",
    "effect_mean",
    "effect_q05",
    "effect_q25",
    "effect_q75",
    "effect_q95",
    "p_benefit",
    "p_best",
    "overlap_warning",
    "ae_mean",
    "ae_q05",
    "ae_q95",
)
DECISION_FIELDS = {
    "chosen_alternative": "The alternative the team chose.",
    "agrees_with_model": "Whether it is the model's leading alternative (highest P(best)).",
    "rationale": "Why; required for an override.",
    "patient_preferences": "The patient's stated preferences and values.",
    "dissent": "Dissenting views, attributed by discipline.",
    "follow_up": "What happens next and when.",
    "attendees": "Who was present, with their disciplines (from the meeting).",
    "signed_by": "Username of the recording clinician or chair.",
    "signed_by_name": "Display name of the signer.",
    "signed_at": "When it was signed (UTC).",
    "version": "1 for the first decision on a case, +1 per correction.",
    "supersedes_id": "The decision a correction replaces.",
    "model_run_id": "The approved model run whose estimates the team saw.",
    "recommendation_id": "The frozen estimates shown at the time.",
    "content_hash": "SHA-256 of the signed content, to detect later alteration.",
}


class DecisionError(ValueError):
    """A decision that cannot be recorded as given (e.g. an override without rationale)."""


@event.listens_for(Decision, "before_update")
def _immutable(_mapper, _connection, target: Decision) -> None:
    raise DecisionError(f"decision #{target.id} is signed and immutable: record a correction instead")


def freeze_estimates(comparison: Comparison) -> dict[str, Any]:
    """The numbers the team saw, as plain JSON."""

    def clean(value: Any) -> Any:
        if isinstance(value, float) and math.isnan(value):
            return None
        if hasattr(value, "item"):
            return value.item()
        return value

    rows = {
        str(alt): {col: clean(row[col]) for col in ESTIMATE_COLUMNS if col in row.index}
        for alt, row in comparison.table.iterrows()
    }
    return {
        "alternatives": rows,
        "reference": comparison.reference,
        "leading": comparison.leading,
        "min_important_difference": comparison.min_important_difference,
        "run_id": comparison.run.id,
        "run_version": f"{comparison.run.model_name} v{comparison.run.model_version}",
        "ae_run_id": comparison.ae_run.id if comparison.ae_run else None,
        "reliable": comparison.reliable,
        "approximate": comparison.approximate,
        "warnings": comparison.warnings,
    }


def _content_hash(content: dict[str, Any]) -> str:
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _same_decision(previous: Decision, decision: DecisionInput) -> bool:
    """Whether the form says exactly what the signed decision already says (blank and missing are equal)."""
    pairs = (
        (previous.chosen_alternative, decision.chosen_alternative),
        (previous.rationale, decision.rationale),
        (previous.patient_preferences, decision.patient_preferences),
        (previous.dissent, decision.dissent),
        (previous.follow_up, decision.follow_up),
    )
    return all((old or "").strip() == (new or "").strip() for old, new in pairs)


@dataclass(frozen=True)
class DecisionInput:
    """What the decision form collects."""

    chosen_alternative: str
    rationale: str = ""
    patient_preferences: str = ""
    dissent: str = ""
    follow_up: str = ""


@service("decision.record")
def record_decision(
    ctx: Context,
    case_id: int,
    decision: DecisionInput,
    comparison: Comparison,
    *,
    correction_of: int | None = None,
) -> int:
    """Sign a decision for a case; an override of the model's leading alternative needs a rationale."""
    session = ctx.session
    case = session.get(Case, case_id)
    if case is None:
        raise DecisionError(f"no case #{case_id}")
    meeting = session.get(Meeting, case.meeting_id)
    if meeting is None:  # a case row always names its meeting; a dangling one cannot be decided
        raise DecisionError(f"case #{case_id} belongs to no meeting")
    if comparison.hypothetical:
        raise DecisionError("a decision cannot rest on hypothetical (hand-changed) covariates")
    alternatives = [str(a) for a in comparison.table.index]
    if decision.chosen_alternative not in alternatives:
        raise DecisionError("the chosen alternative is not one of the alternatives compared")
    agrees = decision.chosen_alternative == comparison.leading
    if not agrees and not decision.rationale.strip():
        raise DecisionError("an override of the model's leading alternative requires a rationale")
    previous = session.scalars(
        select(Decision).where(Decision.case_id == case_id).order_by(Decision.version.desc()).limit(1)
    ).first()
    if previous is not None and correction_of != previous.id:
        raise DecisionError(f"case #{case_id} is decided (v{previous.version}): record a correction of it")
    if previous is None and correction_of is not None:
        raise DecisionError("there is no decision to correct")
    if previous is None and meeting.status != "open":
        raise DecisionError("the meeting is closed")
    if previous is not None and _same_decision(previous, decision):
        # A correction that changes nothing is a duplicate (a second click, a resubmitted form), not a
        # deliberate new version.
        raise DecisionError(
            f"this is the decision already recorded (v{previous.version}): a correction must change something"
        )
    recommendation = Recommendation(
        case_id=case_id,
        model_run_id=comparison.run.id,
        leading_alternative=comparison.leading,
        estimates=freeze_estimates(comparison),
    )
    session.add(recommendation)
    session.flush()
    user = session.scalar(select(User).where(User.username == ctx.actor.username))
    attendees = [{"name": a.name, "discipline": a.discipline} for a in meeting.attendees]
    content = {
        "case_id": case_id,
        "patient": case.pseudonym,
        "question": case.question,
        "chosen_alternative": decision.chosen_alternative,
        "agrees_with_model": agrees,
        "rationale": decision.rationale.strip(),
        "patient_preferences": decision.patient_preferences.strip(),
        "dissent": decision.dissent.strip(),
        "follow_up": decision.follow_up.strip(),
        "attendees": attendees,
        "model_run_id": comparison.run.id,
        "estimates": recommendation.estimates,
        "signed_by": ctx.actor.username,
        "version": 1 if previous is None else previous.version + 1,
        "supersedes_id": previous.id if previous else None,
    }
    row = Decision(
        case_id=case_id,
        version=content["version"],
        supersedes_id=content["supersedes_id"],
        recommendation_id=recommendation.id,
        model_run_id=comparison.run.id,
        chosen_alternative=decision.chosen_alternative,
        agrees_with_model=agrees,
        rationale=content["rationale"] or None,
        patient_preferences=content["patient_preferences"] or None,
        dissent=content["dissent"] or None,
        follow_up=content["follow_up"] or None,
        attendees=attendees,
        signed_by=ctx.actor.username,
        signed_by_name=(user.display_name if user else ctx.actor.display_name) or ctx.actor.username,
        content_hash=_content_hash(content),
    )
    session.add(row)
    case.status = "decided"
    session.flush()
    ctx.audit(
        "decision.recorded",
        "decision",
        row.id,
        case=case_id,
        version=row.version,
        agrees_with_model=agrees,
        run=comparison.run.id,
    )
    return row.id


@dataclass(frozen=True)
class DecisionRecord:
    """A decision with what is needed to show or export it."""

    id: int
    case_id: int
    meeting_id: int
    meeting_title: str
    meeting_date: Any
    pseudonym: str
    question: str
    version: int
    supersedes_id: int | None
    superseded: bool
    chosen_alternative: str
    agrees_with_model: bool
    leading_alternative: str | None
    rationale: str | None
    patient_preferences: str | None
    dissent: str | None
    follow_up: str | None
    attendees: list[dict[str, str]]
    signed_by: str
    signed_by_name: str
    signed_at: Any
    model_run_id: int | None
    estimates: dict[str, Any]
    content_hash: str


def case_decisions(wb: Workbench, case_id: int) -> list[DecisionRecord]:
    """Every version of a case's decision, oldest first (corrections never hide the original)."""
    with wb.read() as session:
        return _records(
            session, select(Decision).where(Decision.case_id == case_id).order_by(Decision.version)
        )


def meeting_decisions(wb: Workbench, meeting_id: int) -> list[DecisionRecord]:
    """Every decision of a meeting, all versions."""
    with wb.read() as session:
        return _records(
            session,
            select(Decision)
            .join(Case, Case.id == Decision.case_id)
            .where(Case.meeting_id == meeting_id)
            .order_by(Decision.case_id, Decision.version),
        )


def get_decision(wb: Workbench, decision_id: int) -> DecisionRecord:
    """One decision."""
    with wb.read() as session:
        found = _records(session, select(Decision).where(Decision.id == decision_id))
    if not found:
        raise DecisionError(f"no decision #{decision_id}")
    return found[0]


def _records(session, query) -> list[DecisionRecord]:
    rows = session.scalars(query).all()
    superseded = set(
        session.scalars(select(Decision.supersedes_id).where(Decision.supersedes_id.is_not(None)))
    )
    out = []
    for d in rows:
        case = session.get(Case, d.case_id)
        meeting = session.get(Meeting, case.meeting_id)
        rec = session.get(Recommendation, d.recommendation_id) if d.recommendation_id else None
        out.append(
            DecisionRecord(
                id=d.id,
                case_id=d.case_id,
                meeting_id=meeting.id,
                meeting_title=meeting.title,
                meeting_date=meeting.meeting_date,
                pseudonym=case.pseudonym,
                question=case.question,
                version=d.version,
                supersedes_id=d.supersedes_id,
                superseded=d.id in superseded,
                chosen_alternative=d.chosen_alternative,
                agrees_with_model=d.agrees_with_model,
                leading_alternative=rec.leading_alternative if rec else None,
                rationale=d.rationale,
                patient_preferences=d.patient_preferences,
                dissent=d.dissent,
                follow_up=d.follow_up,
                attendees=list(d.attendees or []),
                signed_by=d.signed_by,
                signed_by_name=d.signed_by_name,
                signed_at=d.signed_at,
                model_run_id=d.model_run_id,
                estimates=rec.estimates if rec else {},
                content_hash=d.content_hash,
            )
        )
    return out
