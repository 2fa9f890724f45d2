"""Exports of decisions: PDF for people, FHIR R4 for systems, CSV, and the patient explanation sheet."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workbench.review.decisions import DecisionRecord

__all__ = ["write_exports"]


def write_exports(record: DecisionRecord, out_dir: str | Path) -> dict[str, Path]:
    """Write every export of one decision into ``out_dir``; returns kind -> path.

    File names carry only the decision id and version (never the pseudonym), so a folder listing
    reveals nothing about who the patient is. Submodules are imported here, not at package import,
    because fpdf2, matplotlib and fhir.resources are slow to load and most callers need one export.
    """
    from workbench.export.csvs import meeting_decisions_csv
    from workbench.export.fhir import decision_bundle
    from workbench.export.patient_sheet import patient_explanation_pdf
    from workbench.export.pdf import decision_pdf

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"decision-{record.id}-v{record.version}"
    paths = {
        "pdf": out / f"{stem}.pdf",
        "fhir": out / f"{stem}.fhir.json",
        "csv": out / f"{stem}.csv",
        "patient_sheet": out / f"{stem}-patient.pdf",
    }
    paths["pdf"].write_bytes(decision_pdf(record))
    paths["fhir"].write_text(json.dumps(decision_bundle(record), indent=2, ensure_ascii=False), encoding="utf-8")
    paths["csv"].write_text(meeting_decisions_csv([record]), encoding="utf-8")
    paths["patient_sheet"].write_bytes(patient_explanation_pdf(record))
    return paths
