import streamlit as st

from ui.resources import workbench
from workbench.plots import plot_alternatives_received
from workbench.review.overview import alternatives_received
from workbench.review.run_quality import run_line
from workbench.scenario import OUTCOMES
from workbench.status import deployment_status

st.title("Case Review Workbench")
st.caption("The model informs; clinicians decide. Every estimate is shown with its uncertainty.")

wb = workbench()
status = deployment_status(wb)
left, mid, right = st.columns(3)
left.metric("Patients (de-identified)", f"{status.n_patients:,}")
mid.metric("Clinic letters", f"{status.n_notes:,}")
right.metric("Meetings", f"{status.n_meetings:,}")

info, chart = st.columns([1, 1])
with info:
    st.subheader("Deployment")
    st.markdown(
        f"- Database: `{status.database}`\n"
        f"- Schema revision: `{status.schema_revision}`"
        + ("" if status.schema_current else " (not current: restart to migrate)")
    )
    runs = status.approved_runs or ([status.latest_run] if status.latest_run else [])
    if not runs:
        st.info("No model run yet.")
    if runs:
        st.markdown("\n".join(f"- {run_line(run, OUTCOMES)}" for run in runs))

    if status.next_steps:
        st.subheader("What to do next")
        for step in status.next_steps:
            st.markdown(f"- {step}")
with chart:
    if status.n_patients:
        # Also the first Plotly chart a session draws, so the case page opens with the chart library loaded.
        st.plotly_chart(plot_alternatives_received(alternatives_received(wb)), key="home_received", width="stretch")
