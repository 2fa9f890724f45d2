"""A plain-language sheet for the patient: their options, their chances, how sure we are, what was decided.

Written for a reading age of about 12 (short sentences, everyday words, numbers as "N in 100"),
because the patient decided with the team and should be able to take the reasoning home. The
content (:func:`patient_explanation`) is kept apart from the layout (:func:`patient_explanation_pdf`)
so its wording can be tested directly. It names kinds of data, never values, and shows no
identifier other than the pseudonym the clinic uses to file it.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field

from fpdf.enums import XPos, YPos

from workbench.export import record as rec
from workbench.export.charts import icon_array_png
from workbench.export.pdf import FONT, RecordPDF
from workbench.review.decisions import DecisionRecord
from workbench.scenario import COVARIATES

#: Each model input, as the kind of information a patient would recognise (no values).
PLAIN_KINDS = {
    "age": "Your age",
    "sex": "Whether you are male or female",
    "ethnicity_group": "Your ethnic group",
    "bmi": "Your weight for your height (BMI)",
    "egfr": "How well your kidneys work",
    "hba1c_baseline": "Your recent blood sugar level (HbA1c)",
    "diabetes_duration": "How long you have had diabetes",
    "cvd": "Whether you have heart or blood vessel disease",
    "heart_failure": "Whether you have heart failure",
    "deprivation_quintile": "A score for your local area (not your address)",
}
EVERYONE = "What happened to many other people with diabetes treated here"
NOT_USED = "We did not use your name, address or hospital number. The computer only saw a code for you."


@dataclass
class Section:
    """A heading, its paragraphs, bullet points and optional icon arrays (caption, PNG)."""

    heading: str
    paragraphs: list[str] = field(default_factory=list)
    bullets: list[str] = field(default_factory=list)
    images: list[tuple[str, bytes]] = field(default_factory=list)
    closing: list[str] = field(default_factory=list)


def _n(p: float | None) -> int:
    return 0 if p is None else round(100 * p)


def _change(value: float) -> str:
    amount = abs(round(value))
    if amount == 0:
        return "stay about the same"
    return f"go down by about {amount}" if value < 0 else f"go up by about {amount}"


def _range(lo: float | None, hi: float | None) -> str:
    if lo is None or hi is None:
        return ""
    a, b = round(lo), round(hi)
    if b < 0:
        return f"It could go down by as little as {abs(b)} or as much as {abs(a)}."
    if a > 0:
        return f"It could go up by as little as {a} or as much as {b}."
    return f"It could go down by up to {abs(a)}, or go up by up to {b}."


def _option_text(e: rec.Estimate, is_reference: bool) -> str:
    parts = [f"{e.label}{' (the usual choice)' if is_reference else ''}:"]
    if e.mean is not None:
        parts.append(f"HbA1c is likely to {_change(e.mean)}.")
        parts.append(_range(e.q05, e.q95))
    if e.ae_mean is not None:
        parts.append(f"About {_n(e.ae_mean)} in 100 people get a side effect.")
    return " ".join(p for p in parts if p)


def _how_sure(record: DecisionRecord, chosen: rec.Estimate | None, items: list[rec.Estimate]) -> list[str]:
    est = record.estimates or {}
    mid = rec.mid(record) or 5.0
    out = []
    if chosen is not None and chosen.q05 is not None and chosen.q95 is not None:
        if chosen.q95 - chosen.q05 <= 2 * mid:
            out.append("The range of likely results is fairly narrow. So we are fairly sure of these numbers.")
        else:
            out.append("The range of likely results is wide. So these numbers are only a rough guide.")
    if est.get("approximate"):
        out.append(
            "These numbers came from a quick version of the computer model. They may be less exact than they look."
        )
    elif est.get("reliable") is False:
        out.append("A check on the computer model found problems. So the team gave these numbers less weight.")
    if chosen is not None and chosen.overlap_warning:
        out.append(f"Few people like you have had {chosen.label}. So the numbers for it are less certain.")
    others = [e.label for e in items if e.overlap_warning and (chosen is None or e.code != chosen.code)]
    if others:
        out.append(f"Few people like you have had {' or '.join(others)}. So those numbers are less certain.")
    out.append("No one can be sure how a medicine will work for one person.")
    return out


def patient_explanation(record: DecisionRecord) -> list[Section]:
    """The sheet's content, in plain words, from the decision's frozen estimates."""
    items = rec.estimates(record)
    ref = rec.reference(record)
    ref_label = rec.label_of(record, ref)
    chosen = rec.chosen(record)
    chosen_label = rec.label_of(record, record.chosen_alternative)
    sections = [
        Section(
            "About this sheet",
            [
                f"Your care team met on {rec.timestamp(record.meeting_date)} to talk about your diabetes treatment.",
                "This sheet explains what they looked at. It also shows what you and the team decided.",
                "Blood sugar is measured as HbA1c. A lower number is better.",
            ],
        ),
        Section(
            "What information we used",
            ["A computer model used these kinds of information about you:"],
            bullets=[PLAIN_KINDS[c] for c in COVARIATES if c in PLAIN_KINDS] + [EVERYONE],
        ),
    ]
    sections[-1].closing.append(NOT_USED)
    sections.append(
        Section(
            "The options we talked about",
            ["These are the changes in HbA1c we expect after 6 months."],
            bullets=[_option_text(e, e.code == ref) for e in items],
        )
    )
    chances = Section(f"Your chances with {chosen_label}")
    if chosen is not None and chosen.code != ref and chosen.p_benefit is not None:
        n = _n(chosen.p_benefit)
        chances.paragraphs.append(
            f"The chance that {chosen_label} lowers your HbA1c clearly more than {ref_label} is about {n} in 100."
        )
        chances.images.append(
            (f"Clear extra benefit: about {n} in 100 (blue)", icon_array_png(chosen.p_benefit, kind="benefit"))
        )
    elif chosen is not None and chosen.mean is not None:
        chances.paragraphs.append(f"{chosen_label} is the usual choice. The other options were compared with it.")
    if chosen is not None and chosen.ae_mean is not None:
        n = _n(chosen.ae_mean)
        interval = (chosen.ae_q05, chosen.ae_q95) if chosen.ae_q05 is not None and chosen.ae_q95 is not None else None
        text = f"Out of 100 people like you, about {n} would get a side effect."
        if interval:
            text += f" It could be as few as {_n(interval[0])} or as many as {_n(interval[1])}."
        chances.paragraphs.append(text)
        caption = f"Side effect: about {n} in 100 (orange"
        caption += ", light orange = may or may not)" if interval else ")"
        chances.images.append(
            (caption, icon_array_png(chosen.ae_mean, kind="harm", interval=interval))  # type: ignore[arg-type]
        )
    if chances.paragraphs:
        sections.append(chances)
    sections.append(Section("How sure are we?", _how_sure(record, chosen, items)))
    decided = Section(
        "What we decided together",
        [f"You and your care team chose {chosen_label}."],
    )
    if record.patient_preferences:
        decided.paragraphs.append(f"You told us what matters to you: {record.patient_preferences.strip()}")
    decided.paragraphs.append(
        "The computer's numbers were only one part of this choice. "
        "The team also used their experience and what you told them."
    )
    if not record.agrees_with_model:
        decided.paragraphs.append("This is not the option the computer ranked first.")
    if record.rationale:
        decided.paragraphs.append(f"The team's reason: {record.rationale.strip()}")
    sections.append(decided)
    sections.append(
        Section(
            "What happens next",
            [
                record.follow_up.strip() if record.follow_up else "Your care team will tell you the next steps.",
                "If you have questions, ask your diabetes nurse or doctor. You can change your mind.",
            ],
        )
    )
    return sections


def patient_explanation_pdf(record: DecisionRecord, *, generated_at: dt.datetime | None = None) -> bytes:
    """The patient sheet as a printable A4 PDF (large type, icon arrays as images)."""
    generated = generated_at or dt.datetime.now(dt.UTC)
    pdf = RecordPDF(f"Code {record.pseudonym} · decision {record.id} (version {record.version}) · {generated:%Y-%m-%d}")
    pdf.set_title("Your treatment options")
    pdf.set_creator("Case Review Workbench")
    pdf.set_creation_date(generated)
    pdf.add_page()
    pdf.set_font(FONT, "B", 20)
    pdf.multi_cell(0, 10, "Your treatment options", new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")
    pdf.set_font(FONT, "", 12)
    pdf.multi_cell(0, 6, "What you and your care team talked about", new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")
    for section in patient_explanation(record):
        pdf.ln(3)
        pdf.set_font(FONT, "B", 15)
        pdf.multi_cell(0, 8, section.heading, new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")
        pdf.set_font(FONT, "", 13)
        for paragraph in section.paragraphs:
            pdf.multi_cell(0, 6.5, paragraph, new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")
            pdf.ln(1)
        for bullet in section.bullets:
            pdf.set_x(pdf.l_margin + 4)
            pdf.multi_cell(pdf.epw - 4, 6.5, f"•  {bullet}", new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")
        if section.images:
            width = min((pdf.epw - 10) / 2, 62)
            if pdf.will_page_break(width + 14):
                pdf.add_page()
            top = pdf.get_y() + 1
            for i, (caption, png) in enumerate(section.images):
                x = pdf.l_margin + i * (width + 10)
                pdf.set_xy(x, top)
                pdf.set_font(FONT, "B", 11)
                pdf.multi_cell(width, 5.5, caption, align="L")
                pdf.image(io.BytesIO(png), x=x, y=top + 13, w=width)
            pdf.set_y(top + 13 + width + 4)
            pdf.set_font(FONT, "", 13)
        for paragraph in section.closing:
            pdf.ln(1)
            pdf.multi_cell(0, 6.5, paragraph, new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")
    return bytes(pdf.output())
