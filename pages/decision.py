from collections.abc import Callable

import streamlit as st

from ui.auth import require_actor
from ui.caveats import show_caveats
from ui.resources import workbench
from workbench.export.service import KINDS, decision_file, decision_file_name
from workbench.review.case import comparison_rows
from workbench.review.decisions import DecisionError, DecisionInput, case_decisions, record_decision
from workbench.review.meetings import get_meeting
from workbench.scenario import ALTERNATIVE_LABELS

actor = require_actor()
wb = workbench()
st.title("Decision")

case_id, meeting_id = st.session_state.get("case_id"), st.session_state.get("meeting_id")
view = st.session_state.get("case_view")
if not case_id or not meeting_id:
    st.info("Open a case from the meeting worklist first.")
    st.page_link("pages/meetings.py", label="Meetings & worklist", icon=":material/event:")
    st.stop()
meeting = get_meeting(wb, meeting_id)
case = next(c for c in meeting.cases if c.case_id == case_id)
st.markdown(
    f"**{case.pseudonym}** · {case.question} · meeting: {meeting.title} ({meeting.meeting_date:%d %b %Y})"
)
st.markdown("Attendees: " + (", ".join(f"{n} ({d})" for n, d in meeting.attendees) or "none recorded"))

EXPORTS = [
    ("pdf", "Decision record (PDF)"),
    ("fhir", "FHIR R4 bundle (JSON)"),
    ("patient", "Patient explanation (PDF)"),
]


def export_on_click(decision_id: int, kind: str) -> Callable[[], bytes]:
    """The file's bytes, built through the audited export service when the button is clicked."""

    def build() -> bytes:
        return decision_file(wb, actor, decision_id, kind)[1]

    return build


FORM_KEYS = ("decision_choice", "decision_rationale", "decision_preferences", "decision_dissent",
             "decision_follow_up", "decision_correct")
history = case_decisions(wb, case_id)
flash = st.session_state.pop("decision_flash", None)
if flash:
    st.success(flash, icon=":material/task_alt:")
for record in history:
    state = "superseded" if record.superseded else "current"
    with st.container(border=True):
        agree = (
            "agrees with the model"
            if record.agrees_with_model
            else (
                f"OVERRIDE of the model's leading {ALTERNATIVE_LABELS.get(record.leading_alternative or '', '?')}"
            )
        )
        st.markdown(
            f"**v{record.version} ({state})** · {ALTERNATIVE_LABELS.get(record.chosen_alternative)} · "
            f"{agree} · signed by {record.signed_by_name} at {record.signed_at:%Y-%m-%d %H:%M} UTC"
        )
        if record.rationale:
            st.markdown(f"Rationale: {record.rationale}")
        if record.patient_preferences:
            st.markdown(f"Patient preferences: {record.patient_preferences}")
        if record.dissent:
            st.markdown(f"Dissent: {record.dissent}")
        if record.follow_up:
            st.markdown(f"Follow-up: {record.follow_up}")
        if not actor.can("export.decision"):
            st.caption(f"{actor.role.value.replace('_', ' ')}s may not export decisions.")
            continue
        cols = st.columns(3)
        for col, (kind, label) in zip(cols, EXPORTS, strict=True):
            # Built when clicked (and audited then), not on every page load: a signed record never
            # changes, and the page stays quick however many versions it lists.
            col.download_button(
                label,
                export_on_click(record.id, kind),
                file_name=decision_file_name(kind, record.id, record.version),
                mime=KINDS[kind][1],
                key=f"download_{kind}_{record.id}",
                on_click="ignore",
            )  # no rerun: the page (and the record shown) stays as it is while the file downloads

if view is None or view.summary.pseudonym != case.pseudonym or view.comparison.hypothetical:
    st.info("Open this case on the Case review page (without hypothetical values) to record a decision.")
    st.page_link("pages/case.py", label="Case review", icon=":material/compare:")
    st.stop()

comparison = view.comparison
latest = history[-1] if history else None
if latest is not None:
    # Signed and immutable: a correction is a new linked version, asked for deliberately (never a second
    # click on the button that signed the first one).
    st.markdown(
        f"This case is decided (v{latest.version}). To change it, record a correction: a new version "
        "linked to this one; both stay visible."
    )
    if not st.toggle("Record a correction", key="decision_correct"):
        st.stop()
show_caveats(comparison)
st.table(comparison_rows(comparison), hide_index=True)
alternatives = [str(a) for a in comparison.table.index]
st.subheader(f"Correction of v{latest.version}" if latest else "Record the decision")
st.caption(
    f"The model's leading alternative is **{ALTERNATIVE_LABELS.get(comparison.leading)}** "
    f"(P(best) {comparison.table.loc[comparison.leading, 'p_best']:.0%}). Choosing another is an override "
    "and needs a rationale."
    + (" A correction must change something and should say why in the rationale." if latest else "")
)
with st.form("decision_form"):
    chosen = st.radio(
        "Chosen alternative",
        alternatives,
        index=alternatives.index(comparison.leading),
        format_func=lambda a: ALTERNATIVE_LABELS.get(a, a),
        key="decision_choice",
        horizontal=True,
    )
    rationale = st.text_area("Rationale (required for an override)", key="decision_rationale")
    preferences = st.text_area("Patient's stated preferences and values", key="decision_preferences")
    dissent = st.text_area("Dissenting views", key="decision_dissent")
    follow_up = st.text_input("Follow-up", key="decision_follow_up")
    submitted = st.form_submit_button(
        "Sign and record the correction" if latest else "Sign and record", type="primary"
    )
if submitted:
    try:
        decision_id = record_decision(
            wb,
            actor,
            case_id,
            DecisionInput(chosen, rationale, preferences, dissent, follow_up),
            comparison,
            correction_of=latest.id if latest else None,
        )
    except (DecisionError, PermissionError) as error:
        st.error(str(error))
    else:
        version = latest.version + 1 if latest else 1
        st.session_state["decision_flash"] = (
            f"Decision v{version} (#{decision_id}) signed by {actor.display_name or actor.username} and recorded."
        )
        for key in FORM_KEYS:  # the next form starts empty and closed: no accidental second record
            st.session_state.pop(key, None)
        st.rerun()
