import streamlit as st

from ui.auth import require_actor
from ui.resources import workbench
from workbench.governance.consent import PURPOSE_LABELS, PURPOSES, set_consent
from workbench.governance.privacy import PrivacyError, erase_patient, reidentify
from workbench.governance.roles import require
from workbench.governance.trail import audit_trail

actor = require_actor()
wb = workbench()
st.title("Privacy & audit")
try:
    require(actor, "audit.view")
except PermissionError as error:
    st.error(str(error))
    st.stop()

tab_audit, tab_consent, tab_reid, tab_erase = st.tabs(["Audit trail", "Consent", "Re-identify", "Erase"])
with tab_audit:
    c1, c2, c3 = st.columns(3)
    action = c1.text_input("Action starts with", key="audit_action")
    who = c2.text_input("Actor", key="audit_actor")
    entity = c3.text_input("Record id or pseudonym", key="audit_entity")
    events, report = audit_trail(wb, actor, action=action or None, actor=who or None, entity=entity or None)
    if report.ok:
        st.success(f"Hash chain verified: {report.n_events} events intact.")
    else:
        st.error(f"Hash chain BROKEN at event {report.broken_seq}: {report.problem}.")
    st.dataframe(events, hide_index=True, width="stretch", key="audit_table")
with tab_consent:
    with st.form("consent_form"):
        pseudonym = st.text_input("Pseudonym", key="consent_pseudonym")
        purpose = st.selectbox(
            "Use", PURPOSES, format_func=lambda p: PURPOSE_LABELS.get(p, p), key="consent_purpose"
        )
        granted = st.radio(
            "Consent",
            [True, False],
            format_func=lambda g: "granted" if g else "declined",
            key="consent_granted",
            horizontal=True,
        )
        reason = st.text_input("Reason", key="consent_reason")
        if st.form_submit_button("Record consent"):
            try:
                if purpose is None or granted is None:  # a cleared choice is not a "declined"
                    raise ValueError("choose the use and whether consent is granted")
                set_consent(wb, actor, pseudonym.strip(), purpose, granted, reason=reason)
            except (LookupError, ValueError, PermissionError) as error:
                st.error(str(error))
            else:
                st.success("Consent recorded and audited.")
with tab_reid:
    st.caption("Opens the encrypted vault for one pseudonym. Every request is recorded with its reason.")
    with st.form("reid_form"):
        pseudonym = st.text_input("Pseudonym", key="reid_pseudonym")
        reason = st.text_input("Reason (required)", key="reid_reason")
        if st.form_submit_button("Re-identify"):
            try:
                identity = reidentify(wb, actor, pseudonym.strip(), reason=reason)
            except (PrivacyError, PermissionError) as error:
                st.error(str(error))
            else:
                st.json(identity)
with tab_erase:
    st.caption("Removes clinical data, letters and the vault entry. Decisions stay, pointing at a tombstone.")
    with st.form("erase_form"):
        pseudonym = st.text_input("Pseudonym", key="erase_pseudonym")
        reason = st.text_input("Reason (required)", key="erase_reason")
        confirm = st.checkbox("I understand this cannot be undone", key="erase_confirm")
        if st.form_submit_button("Erase"):
            if not confirm:
                st.error("Tick the confirmation first.")
            else:
                try:
                    result = erase_patient(wb, actor, pseudonym.strip(), reason=reason)
                except (PrivacyError, PermissionError) as error:
                    st.error(str(error))
                else:
                    st.success(f"Erased. Runs to refit: {result['runs_to_refit'] or 'none'}")
