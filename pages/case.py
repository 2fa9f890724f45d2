import streamlit as st

from ui.auth import require_actor
from ui.caveats import show_caveats
from ui.resources import workbench
from workbench.plots import (
    comparison_status,
    icon_array_html,
    plot_adverse_events,
    plot_comparison,
    plot_drivers,
    plot_similar_patients,
)
from workbench.review.case import (
    CaseUnavailable,
    comparison_rows,
    display_value,
    driver_unit,
    open_case,
    readable_drivers,
    short_number,
    similar_rows,
)
from workbench.review.meetings import get_meeting
from workbench.review.run_quality import run_line
from workbench.review.worklist import suggest_cases
from workbench.scenario import ALTERNATIVE_LABELS, COVARIATE_LABELS, OUTCOMES

OUTCOME_LABEL = OUTCOMES["hba1c_change"]
require_actor()
wb = workbench()
st.title("Case review")

meeting_id = st.session_state.get("meeting_id")
cases = {}
if meeting_id and st.session_state.get("case_id"):
    cases = {c.pseudonym: c for c in get_meeting(wb, meeting_id).cases}
options = list(cases) or suggest_cases(wb, limit=200)
if not options:
    st.info("No patients to review yet: import an extract first.")
    st.stop()

with st.sidebar.expander("What if? (hypothetical)", expanded=False):
    st.caption("Change a covariate to see the estimates move. Clearly labelled; never used for the decision.")
    what_if = st.toggle("Use hypothetical values", key="whatif_on")
    overrides = {}
    if what_if:
        overrides["egfr"] = st.number_input("eGFR (mL/min/1.73m²)", 5.0, 150.0, 35.0, 1.0, key="whatif_egfr")
        overrides["bmi"] = st.number_input("BMI (kg/m²)", 15.0, 70.0, 32.0, 0.5, key="whatif_bmi")
        overrides["hba1c_baseline"] = st.number_input(
            "Baseline HbA1c (mmol/mol)", 40.0, 140.0, 75.0, 1.0, key="whatif_hba1c"
        )
mid = st.sidebar.number_input(
    "Clinically meaningful difference (mmol/mol)",
    0.0,
    20.0,
    float(wb.settings.min_important_difference),
    0.5,
    key="case_mid",
)


#: The decomposition's first row is the effect for a typical patient, the rest move it.
DRIVER_LABELS = {**COVARIATE_LABELS, "(average patient)": "Effect for a typical patient"}


@st.fragment
def case_details(view) -> None:
    """Secondary panels, one at a time; changing panel or focus reruns only this part."""
    comparison = view.comparison
    status = comparison_status(comparison)
    alternatives = [str(a) for a in comparison.table.index]
    left, right = st.columns([1, 2])
    focus = left.selectbox(
        "Look closer at",
        alternatives,
        index=alternatives.index(comparison.leading),
        format_func=lambda a: ALTERNATIVE_LABELS.get(a, a),
        key="case_focus",
    )
    detail = right.segmented_control(
        "Details",
        ["Benefit and harm", "Drivers", "Similar patients"],
        default="Benefit and harm",
        key="case_detail",
    )
    row = comparison.table.loc[focus]
    label = ALTERNATIVE_LABELS.get(focus, focus)
    reference = ALTERNATIVE_LABELS.get(comparison.reference, comparison.reference)
    if detail == "Benefit and harm":
        a, b = st.columns(2)
        if focus != comparison.reference:
            a.html(  # inline SVG: a hundred circles need no chart library (fast to switch patient)
                icon_array_html(
                    float(row["p_benefit"]),
                    label=(
                        f"{label}: chance of improving HbA1c by more than "
                        f"{comparison.min_important_difference:g} mmol/mol over {reference}"
                    ),
                    status=status,
                )
            )
        else:
            a.caption(f"{label} is the reference: its benefit over itself is zero by definition.")
        if "ae_mean" in row.index:
            b.html(
                icon_array_html(
                    float(row["ae_mean"]),
                    interval=(float(row["ae_q05"]), float(row["ae_q95"])),
                    label=f"{label}: chance of an adverse event within 6 months",
                    kind="harm",
                    status=status,
                )
            )
            st.plotly_chart(plot_adverse_events(comparison.table, status=status), key="ae_chart", width="stretch")
    elif detail == "Drivers":
        if focus in view.drivers:
            st.plotly_chart(
                plot_drivers(
                    readable_drivers(view.drivers[focus]),
                    alternative_label=label,
                    reference_label=reference,
                    covariate_labels=DRIVER_LABELS,
                    unit=driver_unit(view.drivers[focus]),
                    status=status,
                ),
                key="drivers_chart",
                width="stretch",
            )
        else:
            st.caption("This is the reference alternative: its effect against itself is zero by definition.")
    elif detail == "Similar patients":
        st.plotly_chart(plot_similar_patients(view.similar, status=status), key="similar_chart", width="stretch")
        st.caption("Observed outcomes of real (de-identified) patients, not predictions: a handful is an anecdote.")
        rows = similar_rows(view.similar)
        # Ten rows, static, readable on the shared screen at once; st.table would print 90.0000.
        formats = {c: short_number for c in rows.select_dtypes("number").columns}
        formats.update({c: "{:.2f}" for c in rows.columns if c.startswith("Distance")})
        st.table(rows.style.format(formats))


@st.fragment
def case_area() -> None:
    """Everything that depends on the patient: switching patient reruns only this fragment."""
    actor = require_actor()  # re-checked on every fragment run: a revoked session stops here too
    current = next((c for c in cases.values() if c.case_id == st.session_state.get("case_id")), None)
    index = options.index(current.pseudonym) if current and current.pseudonym in options else 0
    pseudonym = st.selectbox("Patient", options, index=index, key="case_patient_select")
    case = cases.get(pseudonym)
    if case is not None:
        st.session_state["case_id"] = case.case_id  # the worklist's case follows the patient shown
        st.markdown(f"**Question:** {case.question}")

    key = (pseudonym, tuple(sorted(overrides.items())), mid)
    if st.session_state.get("case_view_key") != key:
        try:
            view = open_case(wb, actor, pseudonym, overrides=overrides or None, min_important_difference=mid)
        except (CaseUnavailable, PermissionError) as error:
            st.error(str(error))
            return
        st.session_state["case_view"], st.session_state["case_view_key"] = view, key
    view = st.session_state["case_view"]
    comparison, summary = view.comparison, view.summary
    status = comparison_status(comparison)

    # Both runs the numbers come from, in the wording the home page uses.
    st.caption("  \n".join(run_line(r, OUTCOMES) for r in (comparison.run, comparison.ae_run) if r is not None))
    show_caveats(comparison)

    info, main = st.columns([1, 3])
    with main:  # the comparison first: it is what the meeting waits for
        chart = plot_comparison(
            comparison.table,
            outcome_label=OUTCOME_LABEL,
            reference=comparison.reference,
            min_important_difference=comparison.min_important_difference,
            leading=comparison.leading,
            status=status,
        )
        chart.update_layout(title_text=f"{summary.pseudonym} · {chart.layout.title.text}")
        st.plotly_chart(chart, key="comparison_chart", width="stretch")
        st.table(comparison_rows(comparison), hide_index=True)
    with info:
        st.subheader(summary.pseudonym)
        st.markdown(
            f"{summary.age_band or '?'} years · {summary.sex or '?'} · {summary.ethnicity_group or '?'} · "
            f"deprivation quintile {summary.deprivation_quintile or '?'}"
        )
        for name, value in summary.covariates.items():
            flag = " *(hypothetical)*" if name in overrides else ""
            st.markdown(f"- {COVARIATE_LABELS[name]}: **{display_value(name, overrides.get(name, value))}**{flag}")
        if summary.current_treatment:
            st.markdown(
                f"Received: **{ALTERNATIVE_LABELS.get(summary.current_treatment, summary.current_treatment)}**"
            )
        st.page_link("pages/model.py", label="Model card and diagnostics", icon=":material/description:")
        with st.expander("History"):
            for c in summary.conditions:
                st.markdown(f"- {c['onset'] or ''} {c['display'] or c['code']}")
            for t in summary.treatments:
                drug = t["drug"] or ALTERNATIVE_LABELS.get(t["alternative"], t["alternative"])
                st.markdown(f"- {t['start'] or ''} {drug} ({t['line'] or 'line ?'})")
        with st.expander(f"Letters ({len(summary.letters)}, de-identified)"):
            for letter in summary.letters:
                st.markdown(f"**{letter['date']} · {letter['type'] or 'letter'}**")
                st.text(letter["text"])

    case_details(view)
    if case is not None and not comparison.hypothetical:
        if st.button("Record the decision", key="to_decision", type="primary"):
            st.switch_page("pages/decision.py")
    elif comparison.hypothetical:
        st.caption("Switch off the hypothetical values to record a decision.")


case_area()
