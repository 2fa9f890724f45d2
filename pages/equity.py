import streamlit as st

from ui.auth import require_actor
from ui.resources import workbench
from workbench.governance.equity import ATTRIBUTES, equity_report
from workbench.governance.roles import require
from workbench.plots import plot_subgroups

actor = require_actor()
wb = workbench()
st.title("Equity monitor")
st.caption("Is the model as well calibrated for every group, and are some groups overridden unusually often?")
try:
    require(actor, "equity.view")
except PermissionError as error:
    st.error(str(error))
    st.stop()

with st.spinner("Computing subgroup calibration…"):
    report = equity_report(wb)
for flag in report.flags:
    st.warning(flag)
if not report.flags:
    st.success("No subgroup is flagged.")
attribute = st.radio(
    "Subgroups by", list(ATTRIBUTES), format_func=ATTRIBUTES.get, horizontal=True, key="equity_attribute"
)
if not report.calibration.empty:
    part = report.calibration[report.calibration["attribute"] == attribute]
    st.subheader("Calibration: share of observed outcomes inside the 90% predictive interval")
    st.plotly_chart(
        plot_subgroups(part, value="coverage", lower="lower", upper="upper", group="group"),
        key="equity_calibration",
        width="stretch",
    )
    st.dataframe(part, hide_index=True, key="equity_calibration_table")
    effects = report.effects[report.effects["attribute"] == attribute]
    st.subheader("Average effect against the reference, by subgroup")
    st.dataframe(effects, hide_index=True, key="equity_effects_table")
st.subheader("Overrides of the model, by subgroup")
overrides = report.overrides
if overrides.empty:
    st.caption("No decisions recorded yet.")
else:
    part = overrides[overrides["attribute"] == attribute]
    st.plotly_chart(
        plot_subgroups(part, value="rate", lower="lower", upper="upper", group="group"),
        key="equity_overrides",
        width="stretch",
    )
    st.dataframe(part, hide_index=True, key="equity_overrides_table")
