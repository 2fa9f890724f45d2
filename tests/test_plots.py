"""Plots are tested on what they draw (trace data, annotations), not on pixels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from workbench import plots
from workbench.models import EffectPosterior
from workbench.review.case import Comparison
from workbench.scenario import ALTERNATIVE_LABELS
from workbench.status import RunBrief

ALTS = ("dpp4i", "glp1ra", "sglt2i", "basal_insulin")
TRUE_MEANS = np.array([-6.0, -14.0, -11.0, -9.0])  # lower is better; glp1ra clearly leads


def make_comparison(
    *,
    seed: int = 3,
    reliable: bool = True,
    approximate: bool = False,
    overlap: tuple[str, ...] = ("basal_insulin",),
    with_ae: bool = True,
    mid: float = 5.0,
) -> Comparison:
    """A Comparison built the way review.case builds one, from hand-made posterior draws."""
    rng = np.random.default_rng(seed)
    draws = TRUE_MEANS + rng.normal(0.0, 2.0, size=(4000, 1, 4))
    propensity = np.array([[0.4, 0.3, 0.28, 0.02]])
    if "basal_insulin" not in overlap:
        propensity = np.array([[0.4, 0.3, 0.2, 0.1]])
    posterior = EffectPosterior(
        draws=draws,
        patient_ids=("P-TEST01",),
        alternatives=ALTS,
        reference="dpp4i",
        lower_is_better=True,
        approximate=approximate,
        propensity=propensity,
        reliable=reliable,
    )
    effects = posterior.for_patient("P-TEST01", reference="dpp4i", min_important_difference=mid)
    table = effects.table.copy()
    if with_ae:
        risk = {"dpp4i": 0.05, "glp1ra": 0.22, "sglt2i": 0.12, "basal_insulin": 0.30}
        table["ae_mean"] = [risk[a] for a in table.index]
        table["ae_q05"] = table["ae_mean"] - 0.04
        table["ae_q25"] = table["ae_mean"] - 0.015
        table["ae_q75"] = table["ae_mean"] + 0.015
        table["ae_q95"] = table["ae_mean"] + 0.05
        table["ae_overlap_warning"] = table["overlap_warning"]
    table["label"] = [ALTERNATIVE_LABELS[a] for a in table.index]
    run = RunBrief(
        id=7,
        model_name="hierarchical",
        model_version="1.0",
        outcome="hba1c_change",
        status="approved",
        reliable=reliable,
        approximate=approximate,
        created_at="2024-05-01 10:00",
    )
    warnings = []
    if not reliable:
        warnings.append("The outcome model run #7 FAILED its sampler diagnostics (R-hat 1.2 > 1.01).")
    for alt in overlap:
        warnings.append(f"Few patients like this one received {ALTERNATIVE_LABELS[alt]}: extrapolation.")
    return Comparison(
        table=table,
        outcome_draws=effects.draws,
        reference="dpp4i",
        leading=str(table["p_best"].idxmax()),
        min_important_difference=mid,
        run=run,
        ae_run=RunBrief(8, "hierarchical", "1.0", "adverse_event", "approved", True, False, "2024-05-01 10:05")
        if with_ae
        else None,
        warnings=warnings,
        hypothetical=False,
        approximate=approximate,
        reliable=reliable,
    )


def _arr(values) -> np.ndarray:
    return np.asarray(values, dtype=float)


def _banner(fig: go.Figure) -> str:
    return " ".join(a.text for a in fig.layout.annotations if a.name == "status_banner")


def _trace(fig: go.Figure, name: str):
    found = [t for t in fig.data if t.name == name]
    assert found, f"no trace {name!r} in {[t.name for t in fig.data]}"
    return found


# ----- comparison -----------------------------------------------------------------------------
def test_when_comparing_then_intervals_are_drawn_from_the_table_quantiles():
    c = make_comparison()
    fig = plots.plot_comparison(c.table, outcome_label="HbA1c change (mmol/mol)", min_important_difference=5)
    outer = _trace(fig, "Expected outcome: 90% interval")[0]
    inner = _trace(fig, "Expected outcome: 50% interval")[0]
    mean = _trace(fig, "Expected outcome: mean")[0]
    np.testing.assert_allclose(_arr(outer.base), c.table["q05"])
    np.testing.assert_allclose(_arr(np.asarray(outer.base) + np.asarray(outer.x)), c.table["q95"])
    np.testing.assert_allclose(_arr(inner.base), c.table["q25"])
    np.testing.assert_allclose(_arr(np.asarray(inner.base) + np.asarray(inner.x)), c.table["q75"])
    np.testing.assert_allclose(_arr(mean.x), c.table["mean"])
    # the 90% bar is drawn thinner than the 50% bar, so the eye reads the core first
    assert outer.width < inner.width
    # every number is printed with its interval
    assert all("90%:" in t for t in mean.text)


def test_when_comparing_then_each_rows_numbers_sit_above_its_bars_not_over_them():
    c = make_comparison()
    fig = plots.plot_comparison(c.table, outcome_label="HbA1c change (mmol/mol)", min_important_difference=5)
    labels = {(a.xref, a.y): a for a in fig.layout.annotations if a.name == "value_label"}
    rows = list(_trace(fig, "Expected outcome: mean")[0].y)
    effect_rows = list(_trace(fig, "Effect vs reference: mean")[0].y)
    assert {y for x, y in labels if x == "x"} == set(rows) and {y for x, y in labels if x == "x2"} == set(effect_rows)
    for (xref, y), note in labels.items():
        row = c.table.iloc[rows.index(y)]
        mean = row["mean"] if xref == "x" else row["effect_mean"]
        assert note.x == pytest.approx(mean) and "90%:" in note.text
    # above the thick (50%) bar: it is 0.42 of a row high, so half of it is ~0.21 * ROW_PX
    assert all(a.yshift > 0.21 * plots.ROW_PX for a in labels.values())
    assert all(a.yshift < -0.21 * plots.ROW_PX for a in fig.layout.annotations if a.name == "p_benefit")
    assert _trace(fig, "Expected outcome: mean")[0].mode == "markers"  # no text drawn over the bars
    # the footnote starts below the x-axis titles, and the ±MID note is in the axis title, not on a row
    assert next(a for a in fig.layout.annotations if a.name == "footnote").yanchor == "top"
    assert "not clinically meaningful" in fig.layout.xaxis2.title.text


def test_when_an_icon_array_has_a_long_label_then_its_title_is_wrapped():
    label = "GLP-1 receptor agonist: chance of improving HbA1c by more than 5 mmol/mol over DPP-4 inhibitor"
    fig = plots.plot_icon_array(0.3, label=label, status="unreliable")
    lines = fig.layout.title.text.split("<br>")
    assert len(lines) >= 3 and max(map(len, lines[:-1])) <= plots.TITLE_WIDTH
    assert " ".join(lines[:-1]) == label + ":" and lines[-1].startswith("about 30 out of 100")


def test_when_comparing_then_effect_panel_excludes_reference_and_matches_effect_quantiles():
    c = make_comparison()
    fig = plots.plot_comparison(c.table, outcome_label="HbA1c", min_important_difference=5)
    eff = _trace(fig, "Effect vs reference: 90% interval")[0]
    non_ref = c.table.drop(index="dpp4i")
    assert len(eff.y) == 3 and not any("reference" in y for y in eff.y)
    np.testing.assert_allclose(_arr(eff.base), non_ref["effect_q05"])
    assert eff.xaxis == "x2"
    band = [s for s in fig.layout.shapes if s.name == "mid_band"]
    assert len(band) == 1 and (band[0].x0, band[0].x1) == (-5, 5)


def test_when_comparing_then_leading_is_starred_and_title_says_lower_is_better():
    c = make_comparison()
    fig = plots.plot_comparison(c.table, outcome_label="HbA1c change")
    labels = list(_trace(fig, "Expected outcome: mean")[0].y)
    assert c.leading == "glp1ra"
    starred = [lab for lab in labels if lab.startswith("★")]
    assert starred == ["★ GLP-1 receptor agonist (leading)"]
    assert any("(reference)" in lab and "DPP-4" in lab for lab in labels)
    assert "lower is better" in fig.layout.title.text


def test_when_an_alternative_lacks_overlap_then_it_is_hatched_grey_with_a_note():
    c = make_comparison(overlap=("basal_insulin",))
    assert c.table.loc["basal_insulin", "overlap_warning"]
    fig = plots.plot_comparison(c.table, outcome_label="HbA1c")
    inner = _trace(fig, "Expected outcome: 50% interval")[0]
    pos = list(c.table.index).index("basal_insulin")
    shapes = list(inner.marker.pattern.shape)
    assert shapes[pos] == "/" and shapes.count("/") == 1
    assert inner.marker.color[pos] == plots.FLAGGED_COLOUR
    assert any(a.name == "footnote" and "Hatched grey" in a.text for a in fig.layout.annotations)
    clean = plots.plot_comparison(make_comparison(overlap=()).table, outcome_label="HbA1c")
    assert not any(a.name == "footnote" and "Hatched" in a.text for a in clean.layout.annotations)


def test_when_p_benefit_is_shown_then_it_matches_the_table():
    c = make_comparison()
    fig = plots.plot_comparison(c.table, outcome_label="HbA1c", min_important_difference=5)
    texts = [a.text for a in fig.layout.annotations if a.name == "p_benefit"]
    assert len(texts) == 3
    expected = f"P(benefit > 5) {100 * c.table.loc['glp1ra', 'p_benefit']:.0f}%"
    assert any(t.startswith(expected) for t in texts)


@pytest.mark.parametrize(
    ("kwargs", "status", "banner"),
    [
        ({"reliable": False}, None, "UNRELIABLE RUN"),
        ({"approximate": True, "reliable": False}, None, "APPROXIMATE PREVIEW"),
        ({}, "hypothetical", "HYPOTHETICAL"),
    ],
)
def test_when_run_is_not_trustworthy_then_every_comparison_figure_has_a_banner(kwargs, status, banner):
    c = make_comparison(**kwargs)
    figs = [
        plots.plot_comparison(c.table, outcome_label="HbA1c", status=status),
        plots.plot_effect_vs_reference(c.table, outcome_label="HbA1c", status=status),
        plots.plot_adverse_events(c.table, status=status),
    ]
    for fig in figs:
        assert banner in _banner(fig)


def test_when_comparison_is_hypothetical_then_its_status_adds_the_banner():
    c = make_comparison(reliable=False)
    hypothetical = type(c)(**{**c.__dict__, "hypothetical": True})
    assert plots.comparison_status(hypothetical) == ["unreliable", "hypothetical"]
    assert plots.comparison_status(make_comparison()) == []
    fig = plots.plot_comparison(c.table, outcome_label="HbA1c", status=plots.comparison_status(hypothetical))
    assert "UNRELIABLE RUN" in _banner(fig) and "HYPOTHETICAL" in _banner(fig)


def test_when_run_is_reliable_then_no_banner():
    fig = plots.plot_comparison(make_comparison().table, outcome_label="HbA1c")
    assert _banner(fig) == ""


def test_when_status_is_unknown_then_refused():
    with pytest.raises(ValueError, match="unknown status"):
        plots.plot_icon_array(0.3, label="x", status="fine")


# ----- effect distribution --------------------------------------------------------------------
def test_when_plotting_effect_distribution_then_p_benefit_is_computed_from_the_draws():
    c = make_comparison()
    fig = plots.plot_effect_distribution(
        c.outcome_draws,
        list(c.table.index),
        reference="dpp4i",
        min_important_difference=5.0,
        labels=dict(c.table["label"]),
    )
    violins = [t for t in fig.data if isinstance(t, go.Violin)]
    assert [v.name for v in violins] == ["GLP-1 receptor agonist", "SGLT2 inhibitor", "Basal insulin"]
    glp = violins[0]
    expected = c.outcome_draws[:, 1] - c.outcome_draws[:, 0]
    np.testing.assert_allclose(_arr(glp.x), expected)
    # P(benefit) annotated equals the table's (both are P(effect < -MID) over the same draws)
    note = next(a.text for a in fig.layout.annotations if a.name == "p_benefit")
    assert note == f"P(benefit) {100 * c.table.loc['glp1ra', 'p_benefit']:.0f}%"
    assert any(getattr(s, "x0", None) == -5.0 for s in fig.layout.shapes)


def test_when_draws_do_not_match_alternatives_then_refused():
    with pytest.raises(ValueError, match="draws"):
        plots.plot_effect_distribution(np.zeros((10, 3)), ["a", "b"], reference="a", min_important_difference=1)


# ----- icon arrays ----------------------------------------------------------------------------
def test_when_probability_is_given_then_icon_count_matches():
    fig = plots.plot_icon_array(0.37, label="Meaningful improvement")
    sizes = [len(t.x) for t in fig.data]
    assert sizes == [37, 0, 63]
    assert "about 37 out of 100" in fig.layout.title.text


def test_when_interval_is_given_then_uncertain_icons_are_lighter():
    fig = plots.plot_icon_array(0.22, label="Side effects", kind="harm", interval=(0.18, 0.27))
    sure, uncertain, rest = fig.data
    assert (len(sure.x), len(uncertain.x), len(rest.x)) == (18, 9, 73)
    assert sure.marker.color == plots.HARM_COLOUR and uncertain.marker.color != sure.marker.color
    assert "between 18 and 27" in fig.layout.title.text
    # icons lie on the requested 10-column grid
    xs = np.concatenate([np.asarray(t.x) for t in fig.data])
    assert xs.max() == 9 and len(xs) == 100


def _svg_groups(html: str) -> list[tuple[str, str]]:
    """(colour, group name) of every circle drawn, in order."""
    import re

    return [
        (colour, name)
        for colour, name, icons in re.findall(r'<g fill="([^"]+)" data-group="([^"]+)">(.*?)</g>', html)
        for _ in range(icons.count("<circle"))
    ]


def _html_svg(html: str) -> str:
    """The SVG document inside the HTML icon array's data URI."""
    import base64
    import re

    return base64.b64decode(re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', html).group(1)).decode()


def test_when_the_icon_array_is_drawn_as_html_then_it_shows_what_the_plotly_one_shows():
    fig = plots.plot_icon_array(0.22, label="Side effects", kind="harm", interval=(0.18, 0.27))
    html = plots.icon_array_html(0.22, label="Side effects", kind="harm", interval=(0.18, 0.27))
    circles = _svg_groups(_html_svg(html))
    assert len(circles) == 100
    # the same groups, counts and colours, in the same order, as the Plotly figure
    assert [(t.marker.color, t.name, len(t.x)) for t in fig.data] == [
        (colour, name, sum(1 for c in circles if c == (colour, name)))
        for colour, name in dict.fromkeys(circles)
    ]
    # the count and its range in the caption and in the picture's text alternative
    assert html.count("about 22 out of 100 patients like this one (between 18 and 27)") == 2
    for trace in fig.data:  # every group is in the legend, even the empty ones
        assert trace.name in html.split('class="icon-legend"')[1]


def test_when_an_html_icon_array_has_a_caveat_or_markup_then_the_banner_shows_and_text_is_escaped():
    html = plots.icon_array_html(0.3, label="<script>x</script> & co", status=["unreliable", "hypothetical"])
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<script>" not in _html_svg(html)
    assert plots.BANNERS["unreliable"] in html and plots.BANNERS["hypothetical"] in html
    assert "status-banner" not in plots.icon_array_html(0.3, label="x")
    assert [c for c, _ in _svg_groups(plots.icon_array_svg(0.3))].count(plots.BENEFIT_COLOUR) == 30
    with pytest.raises(ValueError):
        plots.icon_array_html(0.3, label="x", status="fine")
    with pytest.raises(ValueError):
        plots.icon_array_html(0.3, label="x", kind="other")


def test_when_probability_out_of_range_then_refused():
    with pytest.raises(ValueError):
        plots.icon_counts(1.2)


# ----- drivers, AE, similar, subgroups -------------------------------------------------------
def test_when_plotting_drivers_then_bars_are_sorted_by_magnitude_with_intervals():
    drivers = pd.DataFrame(
        {
            "value": [35.0, 71.0, "female"],
            "typical": [78.0, 60.0, "male"],
            "mean": [-0.5, 2.5, -1.2],
            "q05": [-1.5, 1.0, -2.0],
            "q95": [0.4, 4.0, -0.3],
        },
        index=pd.Index(["egfr", "age", "sex"], name="covariate"),
    )
    fig = plots.plot_drivers(
        drivers,
        alternative_label="SGLT2 inhibitor",
        reference_label="DPP-4 inhibitor",
        covariate_labels={"egfr": "eGFR", "age": "Age"},
    )
    bar = fig.data[0]
    assert list(bar.x) == [2.5, -1.2, -0.5]
    assert bar.y[0].startswith("Age = 71 (typical 60)")
    assert bar.y[2].startswith("eGFR = 35")
    np.testing.assert_allclose(_arr(bar.error_x.array), [1.5, 0.9, 0.9])
    np.testing.assert_allclose(_arr(bar.error_x.arrayminus), [1.5, 0.8, 1.0])
    # a negative contribution (lower HbA1c) favours the alternative: drawn in the benefit colour
    assert bar.marker.color[1] == plots.BENEFIT_COLOUR and bar.marker.color[0] != plots.BENEFIT_COLOUR


def test_when_ae_columns_exist_then_risk_is_drawn_in_percent():
    c = make_comparison()
    fig = plots.plot_adverse_events(c.table)
    mean = _trace(fig, "Adverse-event risk: mean")[0]
    np.testing.assert_allclose(_arr(mean.x), 100 * c.table["ae_mean"])
    assert mean.text[1].startswith("22%")


def test_when_no_ae_run_then_figure_says_risk_not_estimated():
    c = make_comparison(with_ae=False)
    fig = plots.plot_adverse_events(c.table)
    assert not fig.data
    assert any(a.name == "no_ae_run" for a in fig.layout.annotations)


def test_when_plotting_similar_patients_then_each_outcome_appears_once_grouped_by_treatment():
    similar = pd.DataFrame(
        {
            "treatment": ["sglt2i", "sglt2i", "dpp4i", "glp1ra", "glp1ra"],
            "treatment_label": ["SGLT2 inhibitor", "SGLT2 inhibitor", "DPP-4 inhibitor", "GLP-1", "GLP-1"],
            "hba1c_change": [-10.0, -4.0, -3.0, -15.0, np.nan],
            "adverse_event": [0, 1, 0, 0, 1],
            "distance": [0.2, 0.3, 0.4, 0.5, 0.6],
        }
    )
    fig = plots.plot_similar_patients(similar)
    drawn = sorted(float(x) for t in fig.data for x in t.x if x is not None)
    assert drawn == [-15.0, -10.0, -4.0, -3.0]
    ys = {y for t in fig.data for y in t.y if y is not None}
    assert ys == {"SGLT2 inhibitor (n=2)", "DPP-4 inhibitor (n=1)", "GLP-1 (n=1)"}
    ae_points = [t for t in fig.data if t.marker.symbol == "x" and t.x[0] is not None]
    assert [list(t.x) for t in ae_points] == [[-4.0]]
    assert "4 most similar" in fig.layout.title.text


def test_when_plotting_subgroups_then_flagged_groups_are_marked():
    frame = pd.DataFrame(
        {
            "group": ["female", "male", "80+"],
            "coverage": [0.9, 0.88, 0.6],
            "lo": [0.85, 0.83, 0.45],
            "hi": [0.94, 0.92, 0.75],
            "poor": [False, False, True],
        }
    )
    fig = plots.plot_subgroups(frame, value="coverage", lower="lo", upper="hi", group="group", flag="poor")
    trace = fig.data[0]
    assert list(trace.y) == ["female", "male", "80+ ⚠"]
    np.testing.assert_allclose(_arr(trace.error_x.arrayminus), [0.05, 0.05, 0.15])
    assert trace.marker.color[2] == plots.HARM_COLOUR


# ----- posterior predictive check (no sampling needed) ------------------------------------
def test_when_predictions_are_calibrated_then_ppc_coverage_is_near_ninety_percent():
    rng = np.random.default_rng(0)
    mu = rng.normal(0, 3, 400)
    y = mu + rng.normal(0, 2, 400)
    good = mu + rng.normal(0, 2, (500, 400))
    narrow = mu + rng.normal(0, 0.5, (500, 400))
    assert plots.ppc_coverage(y, good) == pytest.approx(0.9, abs=0.04)
    assert plots.ppc_coverage(y, narrow) < 0.4
    fig = plots.plot_ppc(y, good, n_draws=10)
    assert fig.layout.meta["coverage_90"] == pytest.approx(plots.ppc_coverage(y, good))
    assert sum(t.name == "observed" for t in fig.data) == 1
    assert len(fig.data) == 11


# ----- ArviZ diagnostics on a real saved run ------------------------------------------------
@pytest.fixture(scope="module")
def saved_run(tmp_path_factory):
    from test_models_sim import simulate

    from workbench.models import EffectData
    from workbench.models.hierarchical import HierarchicalEffectModel

    sim = simulate(150, seed=2)
    data = EffectData.from_frame(
        sim.patients,
        treatment="treatment",
        outcome="outcome",
        reference="dpp4i",
        alternatives=list(sim.alternatives),
    )
    model = HierarchicalEffectModel(sampler_config={"draws": 100, "tune": 150, "chains": 2})
    model.fit(data, random_seed=1, progressbar=False)
    path = model.save(tmp_path_factory.mktemp("run") / "run.nc")
    return HierarchicalEffectModel.load(path), data


@pytest.mark.sampling
@pytest.mark.slow
def test_when_a_saved_run_is_loaded_then_diagnostic_plots_are_plotly_figures(saved_run, monkeypatch):
    import plotly.io as pio

    # Inside a Streamlit server the default template is Streamlit's, as after st.plotly_chart.
    from streamlit.elements.lib.streamlit_plotly_theme import configure_streamlit_plotly_theme

    monkeypatch.setattr(pio.templates, "default", pio.templates.default)  # restored after the test
    configure_streamlit_plotly_theme()
    assert pio.templates.default == "streamlit"
    model, _ = saved_run
    unreliable = "unreliable" if not model.diagnostics.passed else None
    for fn in (plots.plot_trace, plots.plot_rank, plots.plot_ess):
        fig = fn(model.idata, ["alpha", "tau"], status=unreliable)
        assert isinstance(fig, go.Figure)
        assert len(fig.data) > 0
        assert ("UNRELIABLE" in _banner(fig)) == (unreliable is not None)
    # by default only low-dimensional parameters are drawn (per-covariate coefficients are not)
    defaults = plots.default_var_names(model.idata)
    assert "alpha" in defaults and "sigma" in defaults and "gamma" not in defaults
    assert isinstance(plots.plot_rank(model.idata), go.Figure)
    trace = plots.plot_trace(model.idata, ["alpha"])
    # two chains of 100 draws each are drawn for alpha
    lines = [t for t in trace.data if len(t.y) == 100 if t.y is not None]
    assert len(lines) >= 2


@pytest.mark.sampling
@pytest.mark.slow
def test_when_a_saved_run_is_checked_then_ppc_coverage_matches_its_stored_diagnostic(saved_run):
    model, data = saved_run
    idx = model._draw_index()
    mu = model.predict_effects().draws  # (S, N, K)
    t = data.treatment_index
    received = mu[:, np.arange(len(t)), t]
    sigma, _ = model._noise_draws(idx)  # residual SD in outcome units (normal likelihood by default)
    rng = np.random.default_rng(0)
    predicted = received + sigma[:, None] * rng.standard_normal(received.shape)
    fig = plots.plot_ppc(data.outcome.to_numpy(), predicted, outcome_label="HbA1c change")
    coverage = fig.layout.meta["coverage_90"]
    assert 0.8 <= coverage <= 0.97
    assert coverage == pytest.approx(model.diagnostics.ppc["coverage_90"], abs=0.06)
