"""Every decision of a meeting as CSV, one row per decision version (corrections never hide originals).

Columns are declared once in :data:`CSV_COLUMNS` with their meaning; docs/exports.md lists the
same names and a test fails when one is undocumented. Free-text cells that a spreadsheet would run
as a formula (starting ``=``, ``+``, ``-``, ``@``, tab or CR) are prefixed with ``'`` (OWASP CSV
injection); numbers are written as plain numbers so they stay numeric.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from typing import Any

from workbench.export import record as rec
from workbench.review.decisions import DecisionRecord

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _attendees(r: DecisionRecord) -> str:
    return "; ".join(f"{a.get('name', '')} ({a.get('discipline', '')})" for a in r.attendees)


def _chosen(name: str) -> Callable[[DecisionRecord], Any]:
    def get(r: DecisionRecord) -> Any:
        e = rec.chosen(r)
        return None if e is None else getattr(e, name)

    return get


def _est(key: str) -> Callable[[DecisionRecord], Any]:
    return lambda r: (r.estimates or {}).get(key)


#: column -> (description, getter). Order is the CSV's column order.
CSV_COLUMNS: dict[str, tuple[str, Callable[[DecisionRecord], Any]]] = {
    "decision_id": ("Decision id (one row per version).", lambda r: r.id),
    "version": ("1 for the first decision on a case, +1 per correction.", lambda r: r.version),
    "supersedes_id": ("Decision id this version corrects (empty for a first decision).", lambda r: r.supersedes_id),
    "superseded": ("True when a later version corrects this one.", lambda r: r.superseded),
    "meeting_id": ("Meeting id.", lambda r: r.meeting_id),
    "meeting_title": ("Meeting title.", lambda r: r.meeting_title),
    "meeting_date": ("Meeting date (ISO 8601).", lambda r: rec.timestamp(r.meeting_date)),
    "case_id": ("Case (worklist entry) id.", lambda r: r.case_id),
    "pseudonym": ("The patient's pseudonym (never a real identifier).", lambda r: r.pseudonym),
    "question": ("The question the meeting decided.", lambda r: r.question),
    "chosen_alternative": ("Code of the chosen alternative.", lambda r: r.chosen_alternative),
    "chosen_label": ("Label of the chosen alternative.", lambda r: rec.label_of(r, r.chosen_alternative)),
    "leading_alternative": (
        "Code of the model's leading alternative (highest P(best)).",
        lambda r: r.leading_alternative,
    ),
    "agrees_with_model": (
        "True if the chosen alternative is the model's leading one; False = override.",
        lambda r: r.agrees_with_model,
    ),
    "rationale": ("Why (required for an override).", lambda r: r.rationale),
    "patient_preferences": ("The patient's stated preferences and values.", lambda r: r.patient_preferences),
    "dissent": ("Dissenting views, attributed by discipline.", lambda r: r.dissent),
    "follow_up": ("What happens next and when.", lambda r: r.follow_up),
    "attendees": ("Attendees as `name (discipline)` separated by `; `.", _attendees),
    "signed_by": ("Username of the signer.", lambda r: r.signed_by),
    "signed_by_name": ("Display name of the signer.", lambda r: r.signed_by_name),
    "signed_at": ("Signing time, ISO 8601 UTC.", lambda r: rec.timestamp(r.signed_at)),
    "model_run_id": ("Outcome model run whose estimates the team saw.", lambda r: _est("run_id")(r) or r.model_run_id),
    "run_version": ("Model name and version of that run.", _est("run_version")),
    "ae_run_id": ("Adverse-event model run id (empty if none).", _est("ae_run_id")),
    "run_reliable": ("False when the run failed its sampler diagnostics.", _est("reliable")),
    "run_approximate": ("True for an approximate (variational preview) run.", _est("approximate")),
    "reference_alternative": ("Code of the reference alternative effects are measured against.", _est("reference")),
    "min_important_difference": (
        "Minimal important difference (mmol/mol) used for P(benefit).",
        _est("min_important_difference"),
    ),
    "chosen_mean": (
        "Chosen alternative: expected HbA1c change at 6 months (mmol/mol; lower is better).",
        _chosen("mean"),
    ),
    "chosen_q05": ("Chosen alternative: 5% quantile of the expected change.", _chosen("q05")),
    "chosen_q95": ("Chosen alternative: 95% quantile of the expected change.", _chosen("q95")),
    "chosen_effect_mean": ("Chosen alternative: mean difference vs the reference (mmol/mol).", _chosen("effect_mean")),
    "chosen_effect_q05": ("Chosen alternative: 5% quantile of the difference vs reference.", _chosen("effect_q05")),
    "chosen_effect_q95": ("Chosen alternative: 95% quantile of the difference vs reference.", _chosen("effect_q95")),
    "chosen_p_benefit": ("Chosen alternative: P(improvement vs reference beyond the MID).", _chosen("p_benefit")),
    "chosen_p_best": ("Chosen alternative: P(it has the best expected outcome).", _chosen("p_best")),
    "chosen_overlap_warning": (
        "Chosen alternative: True when its estimate is an extrapolation.",
        _chosen("overlap_warning"),
    ),
    "chosen_ae_mean": ("Chosen alternative: adverse-event risk (0-1), empty without an AE run.", _chosen("ae_mean")),
    "chosen_ae_q05": ("Chosen alternative: 5% quantile of the adverse-event risk.", _chosen("ae_q05")),
    "chosen_ae_q95": ("Chosen alternative: 95% quantile of the adverse-event risk.", _chosen("ae_q95")),
    "warnings": ("Warnings shown to the team, separated by ` | `.", lambda r: " | ".join(rec.warnings(r))),
    "content_hash": ("SHA-256 of the signed content, to detect later alteration.", lambda r: r.content_hash),
}


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, int):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def meeting_decisions_csv(records: Iterable[DecisionRecord]) -> str:
    """CSV text (header + one row per decision version, in the order given)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in records:
        writer.writerow([_cell(getter(r)) for _, getter in CSV_COLUMNS.values()])
    return buffer.getvalue()
