import streamlit as st

from ui.auth import require_actor
from ui.resources import workbench
from workbench.plots import (
    comparison_status,
    plot_adverse_events,
    plot_comparison,
    plot_drivers,
    plot_icon_array,
    plot_similar_patients,
)
from workbench.review.case import CaseUnavailable, comparison_rows, open_case
from workbench.review.meetings import get_meeting
from workbench.review.worklist import suggest_cases
from workbench.scenario import ALTERNATIVE_LABELS, COVARIATE_LABELS

actor = require_actor()
wb = workbench()
st.title("Case review")

case_id = st.session_state.get("case_id")
meeting_id = st.session_state.get("meeting_id")
question = None
if case_id and meeting_id:
    meeting = get_meeting(wb, meeting_id)
    case = next((c for c in meeting.cases if c.case_id == case_id), None)
    pseudonym, question = (case.pseudonym, case.question) if case else (None, None)
    cases = [c.pseudonym for c in meeting.cases]
else:
    pseudonym, cases = None, []
options = cases or suggest_cases(wb, limit=200)
if not options:
    st.info("No patients to review yet: import an extract first.")
    st.stop()
index = options.index(pseudonym) if pseudonym in options else 0
pseudonym = st.selectbox("Patient", options, index=index, key="case_patient_select")
if question:
    st.markdown(f"**Question:** {question}")

with st.sidebar.expander("What if? (hypothetical)", expanded=False):
    st.caption("Change a covariate to see the estimates move. Clearly labelled; never used for the decision.")
    what_if = st.toggle("Use hypothetical values", key="whatif_on")
    overrides = {}
    if what_if:
        overrides["egfr"] = st.number_input("eGFR", 5.0, 150.0, 35.0, 1.0, key="whatif_egfr")
        overrides["bmi"] = st.number_input("BMI", 15.0, 70.0, 32.0, 0.5, key="whatif_bmi")
        overrides["hba1c_baseline"] = st.number_input("Baseline HbA1c", 40.0, 140.0, 75.0, 1.0, key="whatif_hba1c")
mid = st.sidebar.number_input(
    "Clinically meaningful difference (mmol/mol)",
    0.0,
    20.0,
    float(wb.settings.min_important_difference),
    0.5,
    key="case_mid",
)

key = (pseudonym, tuple(sorted(overrides.items())), mid)
if st.session_state.get("case_view_key") != key:
    try:
        view = open_case(wb, actor, pseudonym, overrides=overrides or None, min_important_difference=mid)
    except (CaseUnavailable, PermissionError) as error:
        st.error(str(error))
        st.stop()
    st.session_state["case_view"], st.session_state["case_view_key"] = view, key
view = st.session_state["case_view"]
comparison, summary = view.comparison, view.summary
status = comparison_status(comparison)

run = comparison.run
quality = "approximate preview" if run.approximate else ("diagnostics passed" if run.reliable else "DIAGNOSTICS FAILED")
st.caption(
    f"Model run #{run.id}: {run.model_name} v{run.model_version}, fitted {run.created_at} UTC, {run.status}, {quality}"
)
st.page_link("pages/model.py", label="Model card and diagnostics", icon=":material/description:")
for warning in comparison.warnings:
    st.warning(warning)

info, main = st.columns([1, 3])
with info:
    st.subheader(summary.pseudonym)
    st.markdown(
        f"{summary.age_band or '?'} years · {summary.sex or '?'} · {summary.ethnicity_group or '?'} · "
        f"deprivation quintile {summary.deprivation_quintile or '?'}"
    )
    for name, value in summary.covariates.items():
        shown = overrides.get(name, value)
        flag = " *(hypothetical)*" if name in overrides else ""
        st.markdown(
            f"- {COVARIATE_LABELS[name]}: **{shown if not isinstance(shown, float) else round(shown, 1)}**{flag}"
        )
    if summary.current_treatment:
        st.markdown(f"Received: **{ALTERNATIVE_LABELS.get(summary.current_treatment, summary.current_treatment)}**")
    with st.expander("History"):
        for c in summary.conditions:
            st.markdown(f"- {c['onset'] or ''} {c['display'] or c['code']}")
        for t in summary.treatments:
            st.markdown(f"- {t['start'] or ''} {t['drug'] or t['alternative']} ({t['line'] or 'line ?'})")
    with st.expander(f"Letters ({len(summary.letters)}, de-identified)"):
        for letter in summary.letters:
            st.markdown(f"**{letter['date']} · {letter['type'] or 'letter'}**")
            st.text(letter["text"])

with main:
    chart = plot_comparison(
        comparison.table,
        outcome_label="HbA1c change at 6 months (mmol/mol)",
        reference=comparison.reference,
        min_important_difference=comparison.min_important_difference,
        leading=comparison.leading,
        status=status,
    )
    chart.update_layout(title_text=f"{summary.pseudonym} · {chart.layout.title.text}")
    st.plotly_chart(
        chart,
        key="comparison_chart",
        width="stretch",
    )
    st.dataframe(comparison_rows(comparison), hide_index=True, width="stretch", key="comparison_table")
    alternatives = [str(a) for a in comparison.table.index]
    focus = st.selectbox(
        "Look closer at",
        alternatives,
        index=alternatives.index(comparison.leading),
        format_func=lambda a: ALTERNATIVE_LABELS.get(a, a),
        key="case_focus",
    )
    row = comparison.table.loc[focus]
    # One detail at a time: the shared screen stays readable and switching patient stays fast.
    detail = st.segmented_control(
        "Details",
        ["Benefit and harm", "Drivers", "Similar patients"],
        default="Benefit and harm",
        key="case_detail",
    )
    if detail == "Benefit and harm":
        a, b = st.columns(2)
        if focus != comparison.reference:
            a.plotly_chart(
                plot_icon_array(
                    float(row["p_benefit"]),
                    label=(
                        "Out of 100 patients like this one, how many gain more than "
                        f"{comparison.min_important_difference:g} "
                        f"mmol/mol over {ALTERNATIVE_LABELS.get(comparison.reference)}"
                    ),
                    status=status,
                ),
                key="icon_benefit",
                width="stretch",
            )
        if "ae_mean" in row.index:
            b.plotly_chart(
                plot_icon_array(
                    float(row["ae_mean"]),
                    interval=(float(row["ae_q05"]), float(row["ae_q95"])),
                    label="Out of 100 patients like this one, how many have an adverse event",
                    kind="harm",
                    status=status,
                ),
                key="icon_harm",
                width="stretch",
            )
            st.plotly_chart(plot_adverse_events(comparison.table, status=status), key="ae_chart", width="stretch")
    elif detail == "Drivers":
        if focus in view.drivers:
            st.subheader("What drives this estimate")
            st.plotly_chart(
                plot_drivers(
                    view.drivers[focus],
                    alternative_label=ALTERNATIVE_LABELS.get(focus, focus),
                    reference_label=ALTERNATIVE_LABELS.get(comparison.reference),
                    covariate_labels=COVARIATE_LABELS,
                    status=status,
                ),
                key="drivers_chart",
                width="stretch",
            )
        else:
            st.caption("This is the reference alternative: its effect against itself is zero by definition.")
    elif detail == "Similar patients":
        st.subheader("Similar patients and how they did")
        st.plotly_chart(plot_similar_patients(view.similar, status=status), key="similar_chart", width="stretch")
        st.dataframe(view.similar, width="stretch", key="similar_table")

if case_id and not comparison.hypothetical and st.button("Record the decision", key="to_decision", type="primary"):
    st.switch_page("pages/decision.py")
