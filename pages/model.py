import pandas as pd
import streamlit as st

from ui.auth import require_actor
from ui.resources import workbench
from workbench.models import available_models
from workbench.models.validation import misses
from workbench.plots import plot_ess, plot_ppc, plot_rank, plot_trace
from workbench.review.run_quality import run_quality
from workbench.runs import (
    FitRequest,
    RunError,
    approve_run,
    compare_with_comparable_runs,
    fit_run,
    list_runs,
    load_run,
    model_card,
)
from workbench.status import run_brief

actor = require_actor()
wb = workbench()
st.title("Model & data")

runs = list_runs(wb)
with st.expander("Fit a model (data scientists)", expanded=not runs):
    with st.form("fit_form"):
        names = sorted(available_models())
        model_name = st.selectbox(
            "Model",
            names,
            index=names.index("hierarchical") if "hierarchical" in names else 0,
            key="fit_model",
        )
        outcome = st.selectbox("Outcome", ["hba1c_change", "adverse_event"], key="fit_outcome")
        method = st.selectbox(
            "Method",
            ["nuts", "preview", "pymc"],
            key="fit_method",
            help="nuts: nutpie (default); preview: fast approximate ADVI, labelled as such",
        )
        if st.form_submit_button("Fit"):
            try:
                with st.spinner("Sampling…"):
                    run_id = fit_run(
                        wb, actor, FitRequest(model_name=model_name, outcome=outcome, method=method)
                    )
            except (RunError, PermissionError) as error:
                st.error(str(error))
            else:
                st.success(f"Run #{run_id} recorded; approve it below so the case pages use it.")
                st.rerun()
if not runs:
    st.info("No model runs yet.")
    st.stop()

labels: dict[int, str] = {
    r.id: f"#{r.id} · {r.model_name} v{r.model_version} · {r.outcome} · {r.status} · "
    + run_quality(brief, short=True)
    for r in runs
    if (brief := run_brief(r)) is not None
}
run_id = st.selectbox("Run", list(labels), format_func=lambda i: labels[i], key="run_select")
run = next(r for r in runs if r.id == run_id)
card = model_card(wb, run)

st.header(card.title)
if run.approximate:
    st.warning("Approximate preview (variational): intervals may be too narrow. Not for decisions.")
elif not run.reliable:
    st.error("This run FAILED its sampler diagnostics: " + "; ".join(run.diagnostics.get("reasons", [])))
if run.provenance.get("includes_erased_patients"):
    st.warning("A patient this run was fitted on has since been erased: refit the model.")

tab_card, tab_diag, tab_approve = st.tabs(["Model card", "Diagnostics", "Approval"])
with tab_card:
    st.markdown(f"**Intended use.** {card.intended_use}")
    st.markdown("**Data and patients**\n" + "\n".join(f"- {line}" for line in card.data))
    st.markdown("**Assumptions**\n" + "\n".join(f"- {line}" for line in card.assumptions))
    st.markdown("**Limits**\n" + "\n".join(f"- {line}" for line in card.limits))
    st.markdown("**Validation (from the benchmarks)**")
    if card.validation_summary:
        st.markdown("\n".join(f"- {line}" for line in card.validation_summary))
    if card.validation:
        st.caption(f"From {card.validation_source}.")
        st.json(card.validation, expanded=False)
    else:
        st.caption("No validation figures saved yet: run `make bench`.")
with tab_diag:
    diag = card.diagnostics
    cols = st.columns(5)
    cols[0].metric("R-hat (max)", f"{diag.get('rhat_max', float('nan')):.3f}")
    cols[1].metric("ESS bulk (min)", f"{diag.get('ess_bulk_min', float('nan')):.0f}")
    cols[2].metric("ESS tail (min)", f"{diag.get('ess_tail_min', float('nan')):.0f}")
    cols[3].metric("Divergences", f"{diag.get('divergences', 0)}")
    ppc = diag.get("ppc", {})
    cols[4].metric("PPC", ", ".join(f"{k} {v:.2f}" for k, v in ppc.items()) or "—")
    for reason in diag.get("reasons", []):
        st.markdown(f"- {reason}")
    if st.toggle("Show trace, rank and ESS plots", key="show_diag_plots"):
        model = load_run(wb, run)
        st.plotly_chart(plot_trace(model.idata), key="trace_plot", width="stretch")
        st.plotly_chart(plot_rank(model.idata), key="rank_plot", width="stretch")
        st.plotly_chart(plot_ess(model.idata), key="ess_plot", width="stretch")
        observed, predicted = model.predictive_check_draws()
        st.plotly_chart(plot_ppc(observed, predicted), key="ppc_plot", width="stretch")
    if st.toggle("Compare with other runs on the same data (PSIS-LOO)", key="show_loo"):
        comparison = None if run.approximate else compare_with_comparable_runs(wb, run)
        if run.approximate:
            st.caption("Previews are not compared: PSIS-LOO needs draws from the posterior, not an approximation.")
        elif comparison is None:
            st.caption("No other full run was fitted to exactly these data: fit another model above to compare.")
        else:
            st.markdown(f"**Supported by the data: {comparison.recommended}.** {comparison.reason}.")
            st.dataframe(comparison.summary(), key="loo_table")
            for label, share in comparison.high_pareto_k.items():
                if share > 0:
                    st.warning(f"{label}: PSIS is unreliable for {share:.0%} of patients (Pareto k > 0.7).")
            st.caption(
                "Held-out predictive accuracy of the observed outcomes (elpd, higher is better). It says which "
                "structure the outcomes support, not how well each run's effect intervals are calibrated."
            )
with tab_approve:
    for line in misses(card.validation_summary):
        st.warning(f"Benchmark: {line}")
    if run.status == "approved":
        st.success(f"Approved by {run.reviewed_by}: {run.review_note}")
    else:
        with st.form("approve_form"):
            note = st.text_area("Approval note (why this run is fit for use)", key="approve_note")
            accept = st.checkbox(
                "Approve although diagnostics failed", key="approve_unreliable", disabled=run.reliable
            )
            if st.form_submit_button("Approve run"):
                try:
                    approve_run(wb, actor, run.id, note, accept_unreliable=accept)
                except (RunError, PermissionError) as error:
                    st.error(str(error))
                else:
                    st.rerun()
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "run": r.id,
                    "model": r.model_name,
                    "outcome": r.outcome,
                    "status": r.status,
                    "reliable": r.reliable,
                    "patients": r.n_patients,
                    "created": r.created_at,
                }
                for r in runs
            ]
        ),
        hide_index=True,
        key="runs_table",
    )
