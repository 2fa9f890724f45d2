"""The decision record as a PDF for the patient's notes (fpdf2, charts drawn by matplotlib).

Everything the record needs to stand on its own in the notes: who decided what, why, with which
model run and which numbers, and whether the numbers could be trusted. The caveats (unreliable
run, extrapolation) are printed above the estimates, not in a footnote. DejaVu Sans (shipped with
matplotlib) is embedded so "−", "≥" and "²" print, and so the text can be extracted and searched.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import matplotlib
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from workbench.export import record as rec
from workbench.export.charts import comparison_png
from workbench.review.decisions import DecisionRecord

FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
FONT = "DejaVu"
WARNING_RGB = (213, 94, 0)  # Okabe-Ito vermillion, as on screen
MUTED_RGB = (90, 90, 90)


class RecordPDF(FPDF):
    """A4 portrait with the record's identity and content hash on every page."""

    def __init__(self, footer_text: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.footer_text = footer_text
        self.add_font(FONT, "", str(FONT_DIR / "DejaVuSans.ttf"))
        self.add_font(FONT, "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
        self.add_font(FONT, "I", str(FONT_DIR / "DejaVuSans-Oblique.ttf"))
        self.set_auto_page_break(auto=True, margin=18)
        self.set_margins(16, 16, 16)

    def footer(self) -> None:
        """Identity, hash and page number, so a loose page can be matched to its record."""
        self.set_y(-13)
        self.set_font(FONT, "", 7)
        self.set_text_color(*MUTED_RGB)
        self.cell(0, 4, f"{self.footer_text} · page {self.page_no()}/{{nb}}", align="C")
        self.set_text_color(0, 0, 0)

    def heading(self, text: str) -> None:
        """A section heading."""
        self.ln(2)
        self.set_font(FONT, "B", 12)
        self.cell(0, 7, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")
        self.set_font(FONT, "", 10)

    def field(self, name: str, value: str | None, *, empty: str = "none recorded") -> None:
        """A labelled paragraph; empty values say so rather than vanish."""
        self.set_font(FONT, "B", 10)
        self.cell(0, 5.5, name, new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")
        self.set_font(FONT, "" if value else "I", 10)
        self.multi_cell(
            0, 5, value.strip() if value and value.strip() else empty, new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L"
        )
        self.set_font(FONT, "", 10)
        self.ln(1)

    def warning_box(self, lines: list[str]) -> None:
        """Caveats in the warning colour, boxed, before the numbers they qualify."""
        if not lines:
            return
        self.set_draw_color(*WARNING_RGB)
        self.set_text_color(*WARNING_RGB)
        self.set_font(FONT, "B", 10)
        self.multi_cell(
            0,
            5,
            "\n".join(f"⚠ {line}" for line in lines),
            border=1,
            padding=2,
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
            align="L",
        )
        self.set_text_color(0, 0, 0)
        self.set_draw_color(0, 0, 0)
        self.set_font(FONT, "", 10)
        self.ln(2)


def _decision_line(record: DecisionRecord) -> str:
    leading = rec.label_of(record, record.leading_alternative)
    if record.agrees_with_model:
        return f"AGREES with the model's leading alternative ({leading})."
    return f"OVERRIDE: the model's leading alternative was {leading}."


def decision_pdf(record: DecisionRecord, *, generated_at: dt.datetime | None = None) -> bytes:
    """Render a signed decision as a PDF record for the notes.

    Parameters
    ----------
    record
        A decision from :func:`workbench.review.decisions.get_decision`; its frozen estimates are
        printed as they were shown, never recomputed.
    generated_at
        Print time (default now, UTC); fixed in tests so output is reproducible.
    """
    generated = generated_at or dt.datetime.now(dt.UTC)
    items = rec.estimates(record)
    ref = rec.reference(record)
    mid = rec.mid(record)
    est = record.estimates or {}
    pdf = RecordPDF(
        f"Decision #{record.id} v{record.version} · {record.pseudonym} · content hash {record.content_hash}"
    )
    pdf.set_title(f"Case review decision #{record.id} v{record.version}")
    pdf.set_creator("Case Review Workbench")
    pdf.set_creation_date(generated)
    pdf.add_page()

    pdf.set_font(FONT, "B", 16)
    pdf.cell(0, 9, "Case review decision record", new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")
    pdf.set_font(FONT, "", 10)
    pdf.multi_cell(
        0,
        5,
        f"Patient (pseudonym): {record.pseudonym}\n"
        f"Meeting: {record.meeting_title}, {rec.timestamp(record.meeting_date)} (meeting #{record.meeting_id}, "
        f"case #{record.case_id})\n"
        f"Decision #{record.id}, version {record.version}"
        + (f", supersedes decision #{record.supersedes_id}" if record.supersedes_id else ""),
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
        align="L",
    )
    if record.superseded:
        pdf.warning_box(["SUPERSEDED: a later version of this decision exists; see the newest version."])
    pdf.field("Question", record.question)

    pdf.heading("Decision")
    pdf.set_font(FONT, "B", 13)
    pdf.multi_cell(
        0,
        7,
        f"Chosen: {rec.label_of(record, record.chosen_alternative)}",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
        align="L",
    )
    pdf.set_font(FONT, "", 10)
    pdf.multi_cell(0, 5, _decision_line(record), new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")
    pdf.ln(1)
    pdf.field("Rationale", record.rationale)
    pdf.field("Patient's preferences and values", record.patient_preferences)
    pdf.field("Dissent", record.dissent)
    pdf.field("Follow-up", record.follow_up)

    pdf.heading("Model estimates shown to the team")
    pdf.warning_box(rec.warnings(record))
    pdf.multi_cell(
        0,
        5,
        f"Outcome: {rec.OUTCOME_LABEL}; lower is better (negative = improvement). Intervals are 50% and 90% "
        f"posterior intervals. Effects are against {rec.label_of(record, ref)}; P(benefit) is the probability "
        f"of an improvement larger than the minimal important difference of {mid:g} {rec.OUTCOME_UNIT}."
        if mid is not None
        else f"Outcome: {rec.OUTCOME_LABEL}; lower is better.",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
        align="L",
    )
    pdf.ln(1)
    if items:
        _estimates_table(pdf, record, items, ref)
        banner = rec.run_caveats(record)
        png = comparison_png(
            items,
            reference=ref,
            leading=record.leading_alternative,
            chosen=record.chosen_alternative,
            min_important_difference=mid,
            outcome_label="HbA1c change (mmol/mol)",
            banner=banner[0] if banner else None,
        )
        pdf.ln(2)
        pdf.image(io.BytesIO(png), w=pdf.epw)
    else:
        pdf.field("Estimates", None, empty="no model estimates were frozen with this decision")

    pdf.heading("Model run")
    pdf.multi_cell(
        0,
        5,
        f"Outcome model run #{est.get('run_id', record.model_run_id)} ({est.get('run_version', 'version n/a')})"
        + (f"; adverse-event model run #{est['ae_run_id']}" if est.get("ae_run_id") else "; no adverse-event run")
        + ".\n"
        + (
            "Diagnostics: passed."
            if est.get("reliable") and not est.get("approximate")
            else "Diagnostics: see warnings above."
        ),
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
        align="L",
    )

    pdf.heading("Attendees")
    if record.attendees:
        with pdf.table(col_widths=(60, 40), text_align="LEFT", line_height=5.5, first_row_as_headings=True) as table:
            head = table.row()
            head.cell("Name")
            head.cell("Discipline")
            for person in record.attendees:
                row = table.row()
                row.cell(str(person.get("name", "")))
                row.cell(str(person.get("discipline", "")))
    else:
        pdf.field("Attendees", None)

    pdf.heading("Signature")
    pdf.multi_cell(
        0,
        5,
        f"Signed by {record.signed_by_name} ({record.signed_by}) at {rec.timestamp(record.signed_at)}.\n"
        "Content hash (SHA-256 of the signed content):\n"
        f"{record.content_hash}\n"
        f"Printed {rec.timestamp(generated)} by Case Review Workbench.",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
        align="L",
    )
    return bytes(pdf.output())


def _estimates_table(pdf: RecordPDF, record: DecisionRecord, items: list[rec.Estimate], ref: str | None) -> None:
    has_ae = any(e.ae_mean is not None for e in items)
    headings = [
        "Alternative",
        "Expected change (mean; 50%; 90%)",
        "Difference vs reference (mean; 90%)",
        "P(benefit)",
        "P(best)",
    ]
    widths = [33, 42, 40, 20, 15]
    if has_ae:
        headings.append("Adverse-event risk (90%)")
        widths.append(28)
    pdf.set_font(FONT, "", 8)
    with pdf.table(col_widths=widths, text_align="LEFT", line_height=4.2, first_row_as_headings=True) as table:
        row = table.row()
        for h in headings:
            row.cell(h)
        for e in items:
            marks = []
            if e.code == record.chosen_alternative:
                marks.append("chosen")
            if e.code == record.leading_alternative:
                marks.append("leading")
            if e.code == ref:
                marks.append("reference")
            if e.overlap_warning:
                marks.append("⚠ extrapolation")
            row = table.row()
            row.cell(e.label + (f" ({', '.join(marks)})" if marks else ""))
            row.cell(f"{rec.signed(e.mean)}; {rec.interval(e.q25, e.q75)}; {rec.interval(e.q05, e.q95)}")
            if e.code == ref:
                row.cell("reference")
                row.cell("—")
            else:
                row.cell(f"{rec.signed(e.effect_mean)}; {rec.interval(e.effect_q05, e.effect_q95)}")
                row.cell(rec.percent(e.p_benefit))
            row.cell(rec.percent(e.p_best))
            if has_ae:
                row.cell(
                    f"{rec.percent(e.ae_mean)} ({rec.percent(e.ae_q05)} to {rec.percent(e.ae_q95)})"
                    if e.ae_mean is not None
                    else "n/a"
                )
    pdf.set_font(FONT, "", 10)
