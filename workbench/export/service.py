"""Audited export of decisions: who exported which decision, in which form, and when.

The builders (``pdf``, ``fhir``, ``csvs``, ``patient_sheet``) are pure functions of a decision record;
this module is the service-layer door to them, so every export passes a permission check and
leaves an audit event.
"""

from __future__ import annotations

import json
from pathlib import Path

from workbench.governance.roles import Actor
from workbench.review.decisions import DecisionError, DecisionRecord, get_decision, meeting_decisions
from workbench.scenario import ALTERNATIVE_LABELS
from workbench.store.service import Context, Workbench, service

KINDS = {
    "pdf": ("decision-{id}-v{version}.pdf", "application/pdf"),
    "fhir": ("decision-{id}-v{version}.fhir.json", "application/fhir+json"),
    "patient": ("decision-{id}-v{version}-patient.pdf", "application/pdf"),
}


def decision_file_name(kind: str, decision_id: int, version: int) -> str:
    """The file name of one export, known without building it (a page offers it before the click)."""
    return KINDS[kind][0].format(id=decision_id, version=version)


class ExportError(ValueError):
    """The decision or meeting to export does not exist, or the kind is unknown."""


def _build(kind: str, record: DecisionRecord, exported_by: str) -> bytes:
    if kind == "pdf":
        from workbench.export.pdf import decision_pdf

        return decision_pdf(record)
    if kind == "fhir":
        from workbench.export.fhir import decision_bundle

        bundle = decision_bundle(record, alternatives_labels=ALTERNATIVE_LABELS, exported_by=exported_by)
        return json.dumps(bundle, indent=2, ensure_ascii=False).encode("utf-8")
    if kind == "patient":
        from workbench.export.patient_sheet import patient_explanation_pdf

        return patient_explanation_pdf(record)
    raise ExportError(f"unknown export kind {kind!r}; expected one of {sorted(KINDS)}")


@service("export.decision")
def decision_file(ctx: Context, decision_id: int, kind: str) -> tuple[str, bytes, str]:
    """One export of one decision as (file name, bytes, MIME type); audited."""
    try:
        record = get_decision(ctx.wb, decision_id)
    except DecisionError as error:
        raise ExportError(str(error)) from None
    if kind not in KINDS:
        raise ExportError(f"unknown export kind {kind!r}; expected one of {sorted(KINDS)}")
    data = _build(kind, record, ctx.actor.username)
    ctx.audit("export.decision", "decision", decision_id, kind=kind, version=record.version)
    return decision_file_name(kind, record.id, record.version), data, KINDS[kind][1]


@service("export.decision")
def meeting_csv(ctx: Context, meeting_id: int) -> tuple[str, bytes]:
    """CSV of every decision (all versions) of a meeting; audited."""
    from workbench.export.csvs import meeting_decisions_csv

    records = meeting_decisions(ctx.wb, meeting_id)
    ctx.audit("export.meeting_csv", "meeting", meeting_id, decisions=len(records))
    return f"meeting-{meeting_id}-decisions.csv", meeting_decisions_csv(records).encode("utf-8")


def export_decision(wb: Workbench, actor: Actor, decision_id: int, out: Path) -> dict[str, Path]:
    """Write the PDF record, the FHIR bundle and the patient sheet of a decision into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for kind in KINDS:
        name, data, _ = decision_file(wb, actor, decision_id, kind)
        paths[kind] = out / name
        paths[kind].write_bytes(data)
    return paths


def export_meeting_csv(wb: Workbench, actor: Actor, meeting_id: int, out: Path) -> Path:
    """Write the meeting's decisions CSV into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    name, data = meeting_csv(wb, actor, meeting_id)
    (out / name).write_bytes(data)
    return out / name
