import datetime as dt

import pandas as pd
import streamlit as st

from ui.auth import require_actor
from ui.resources import workbench
from workbench.review.meetings import (
    STATUS_LABELS,
    MeetingError,
    add_attendee,
    add_case,
    close_meeting,
    create_meeting,
    defer_case,
    list_meetings,
)
from workbench.review.worklist import suggest_cases

actor = require_actor()
wb = workbench()
st.title("Meetings & worklist")

with st.expander("New meeting", expanded=not list_meetings(wb)):
    with st.form("new_meeting"):
        title = st.text_input("Title", value="Diabetes MDT", key="meeting_title")
        date = st.date_input("Date", value=dt.date.today(), key="meeting_date")
        specialty = st.text_input("Specialty", value="Diabetes", key="meeting_specialty")
        if st.form_submit_button("Create meeting"):
            try:
                meeting_id = create_meeting(wb, actor, title, date, specialty)
            except (MeetingError, PermissionError) as error:
                st.error(str(error))
            else:
                st.session_state["meeting_id"] = meeting_id
                st.rerun()

meetings = list_meetings(wb)
if not meetings:
    st.info("No meetings yet.")
    st.stop()
labels = {m.id: f"{m.meeting_date:%d %b %Y} · {m.title} ({m.status})" for m in meetings}
ids = list(labels)
default = ids.index(st.session_state["meeting_id"]) if st.session_state.get("meeting_id") in ids else 0
meeting_id = st.selectbox("Meeting", ids, index=default, format_func=lambda i: labels[i], key="meeting_select")
st.session_state["meeting_id"] = meeting_id
meeting = next(m for m in meetings if m.id == meeting_id)

left, right = st.columns([2, 1])
with left:
    st.subheader("Worklist")
    if meeting.cases:
        table = pd.DataFrame(
            [
                {
                    "Case": c.case_id,
                    "Patient": c.pseudonym,
                    "Question": c.question,
                    "Status": STATUS_LABELS[c.status],
                    "Decision": f"version {c.decision_version}" if c.decision_version else "none yet",
                }
                for c in meeting.cases
            ]
        )
        st.table(table.set_index("Case"))
        case_ids = [c.case_id for c in meeting.cases]
        chosen = st.selectbox(
            "Open case",
            case_ids,
            key="worklist_case",
            format_func=lambda cid: next(
                f"{c.pseudonym}: {c.question}" for c in meeting.cases if c.case_id == cid
            ),
        )
        if st.button("Open case review", key="open_case", type="primary"):
            st.session_state["case_id"] = chosen
            st.switch_page("pages/case.py")
        with st.popover("Defer case"):
            reason = st.text_input("Reason", key="defer_reason")
            if st.button("Defer", key="defer_case"):
                try:
                    defer_case(wb, actor, chosen, reason)
                except (MeetingError, PermissionError) as error:
                    st.error(str(error))
                else:
                    st.rerun()
    else:
        st.info("No cases on this worklist yet.")
    if meeting.status == "open":
        st.markdown("**Add a case**")
        suggestions = suggest_cases(wb, limit=50)
        with st.form("add_case"):
            pseudonym = st.selectbox(
                "Patient (pseudonym)", suggestions, key="case_patient", accept_new_options=True
            )
            question = st.text_input(
                "Question to decide", key="case_question", value="Which second-line therapy after metformin?"
            )
            if st.form_submit_button("Add to worklist"):
                try:
                    add_case(wb, actor, meeting_id, str(pseudonym), question)
                except (MeetingError, PermissionError) as error:
                    st.error(str(error))
                else:
                    st.rerun()
with right:
    st.subheader("Attendees")
    for name, discipline in meeting.attendees:
        st.markdown(f"- {name} — *{discipline}*")
    if meeting.status == "open":
        with st.form("add_attendee"):
            name = st.text_input("Name", key="attendee_name")
            discipline = st.text_input("Discipline", key="attendee_discipline")
            if st.form_submit_button("Add attendee"):
                try:
                    add_attendee(wb, actor, meeting_id, name, discipline)
                except (MeetingError, PermissionError) as error:
                    st.error(str(error))
                else:
                    st.rerun()
        if st.button("Close meeting", key="close_meeting", help="Chair only"):
            try:
                close_meeting(wb, actor, meeting_id)
            except (MeetingError, PermissionError) as error:
                st.error(str(error))
            else:
                st.rerun()
