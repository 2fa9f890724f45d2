import streamlit as st

from ui.resources import workbench
from workbench.scenario import OUTCOMES
from workbench.status import deployment_status

st.title("Case Review Workbench")
st.caption("The model informs; clinicians decide. Every estimate is shown with its uncertainty.")

status = deployment_status(workbench())
left, mid, right = st.columns(3)
left.metric("Patients (de-identified)", f"{status.n_patients:,}")
mid.metric("Clinic letters", f"{status.n_notes:,}")
right.metric("Meetings", f"{status.n_meetings:,}")

st.subheader("Deployment")
st.markdown(
    f"- Database: `{status.database}`\n"
    f"- Schema revision: `{status.schema_revision}`"
    + ("" if status.schema_current else " (not current: restart to migrate)")
)
runs = status.approved_runs or ([status.latest_run] if status.latest_run else [])
if not runs:
    st.info("No model run yet.")
for run in runs:
    label = "approved" if run.status == "approved" else run.status
    quality = "approximate preview" if run.approximate else ("reliable" if run.reliable else "UNRELIABLE")
    st.markdown(
        f"- Model run **#{run.id}**: {run.model_name} model v{run.model_version} on "
        f"{OUTCOMES.get(run.outcome, run.outcome)}, "
        f"{run.created_at} UTC, {label}, diagnostics: **{quality}**"
    )

if status.next_steps:
    st.subheader("What to do next")
    for step in status.next_steps:
        st.markdown(f"- {step}")
