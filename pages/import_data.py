import tempfile
from pathlib import Path

import streamlit as st

from ui.auth import require_actor
from ui.resources import workbench
from workbench.contracts import ContractError
from workbench.governance.roles import require
from workbench.ingest import commit_import, prepare_import
from workbench.ingest.uploads import stage_uploads

actor = require_actor()
wb = workbench()
st.title("Import an extract")
st.caption(
    "CSV tables (patients.csv, encounters.csv, …) or FHIR R4 Bundle JSON files, or a .zip of either. "
    "Nothing is stored until you confirm, and then all or nothing."
)
try:
    require(actor, "import.run")
except PermissionError as error:
    st.error(str(error))
    st.stop()

files = st.file_uploader(
    "Extract files", accept_multiple_files=True, key="import_files", type=["csv", "json", "zip"]
)
if files and st.button("Check and de-identify", key="import_prepare"):
    # The staged files are the raw, identifiable upload: they live only while they are read
    # (the prepared import holds de-identified rows in memory), never beyond this block.
    try:
        with tempfile.TemporaryDirectory(prefix="workbench-import-") as staging:
            paths = stage_uploads([(f.name, f.getvalue()) for f in files], Path(staging) / "upload")
            with st.spinner("Checking contracts and de-identifying…"):
                st.session_state["prepared_import"] = prepare_import(wb, paths)
    except ContractError as error:
        st.session_state.pop("prepared_import", None)
        st.error("Refused: nothing was stored.")
        st.code(str(error))
    except ValueError as error:
        st.error(str(error))

prepared = st.session_state.get("prepared_import")
if prepared is not None:
    report = prepared.report
    if report.status == "already imported":
        st.info(f"This content was imported before (import #{report.import_id}): nothing to add.")
    else:
        st.subheader("De-identification preview")
        cols = st.columns(4)
        cols[0].metric("Patients", report.n_patients)
        cols[1].metric("Letters", report.n_notes)
        cols[2].metric("Letters with identifiers removed", report.notes_touched)
        cols[3].metric("Identifiers found in letters", sum(report.identifiers_in_notes.values()))
        st.markdown("**Identifiers found in letters, by type**")
        st.bar_chart(report.identifiers_in_notes, horizontal=True)
        st.markdown("**Structured identifiers dropped (kept only in the encrypted vault)**")
        st.json(report.structured_identifiers_removed, expanded=False)
        if report.skipped_resources:
            st.markdown("**Skipped FHIR resource types (outside the supported subset)**")
            st.json(report.skipped_resources, expanded=False)
        for item in report.preview:
            with st.expander(f"{item['pseudonym']}: {item['findings']}"):
                st.text(item["text"])
        if st.button("Confirm import", key="import_confirm", type="primary"):
            try:
                done = commit_import(wb, actor, prepared)
            except PermissionError as error:
                st.error(str(error))
            else:
                st.session_state.pop("prepared_import", None)
                st.success(f"{done.status}: {done.n_patients} patients (import #{done.import_id}).")
