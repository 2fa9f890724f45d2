"""One function per chart, ``plot_<thing>(data, *, options) -> plotly Figure``, for pages and notebooks.

Charts are drawn for a shared meeting screen: large type, the Okabe-Ito colour-blind-safe palette,
and every point estimate drawn with its 50% and 90% intervals, because a consultant comparing
alternatives must see how sure the model is before seeing which option wins. A run that failed its
diagnostics, an approximate preview, or hand-changed (hypothetical) covariates put a banner on
every figure so a screenshot cannot lose the caveat. Tests assert on the traces' data, not pixels.
"""

from __future__ import annotations

import base64
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

#: Okabe & Ito (2008): distinguishable under the common colour-vision deficiencies.
PALETTE = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "black": "#000000",
    "grey": "#8C8C8C",
    "light_grey": "#D9D9D9",
}
ESTIMATE_COLOUR = PALETTE["blue"]
LEADING_COLOUR = PALETTE["green"]
FLAGGED_COLOUR = PALETTE["grey"]
BENEFIT_COLOUR = PALETTE["blue"]
HARM_COLOUR = PALETTE["vermillion"]
FONT_SIZE = 16
#: Characters per title line for charts drawn at half the page's width.
TITLE_WIDTH = 48
#: Plain-language banners, by status keyword.
BANNERS = {
    "unreliable": "UNRELIABLE RUN: failed sampler diagnostics",
    "approximate": "APPROXIMATE PREVIEW: not a full fit",
    "hypothetical": "HYPOTHETICAL: covariates changed by hand",
}
OVERLAP_NOTE = "Hatched grey = few patients like this one received it: extrapolation, less certain."

Status = str | Iterable[str] | None


# ----- shared helpers ----------------------------------------------------------------------------
def _fmt(value: float, digits: int = 1) -> str:
    """Signed number with a true minus sign (a hyphen is easy to miss on a projector)."""
    if value is None or not np.isfinite(value):
        return "n/a"
    text = f"{value:+.{digits}f}" if value != 0 else f"{0:.{digits}f}"
    return text.replace("-", "−")


def _pct(p: float) -> str:
    return "n/a" if p is None or not np.isfinite(p) else f"{100 * p:.0f}%"


def table_status(table: pd.DataFrame) -> list[str]:
    """Status keywords implied by a comparison table's ``reliable`` / ``approximate`` columns."""
    found: list[str] = []
    if "approximate" in table.columns and table["approximate"].astype(bool).any():
        found.append("approximate")
    elif "reliable" in table.columns and not table["reliable"].astype(bool).all():
        found.append("unreliable")
    return found


def comparison_status(comparison: Any) -> list[str]:
    """Status keywords of a ``Comparison`` (reliable / approximate / hypothetical attributes).

    The table alone cannot say a comparison is hypothetical, so pages pass this as ``status=``.
    """
    found = []
    if getattr(comparison, "approximate", False):
        found.append("approximate")
    elif not getattr(comparison, "reliable", True):
        found.append("unreliable")
    if getattr(comparison, "hypothetical", False):
        found.append("hypothetical")
    return found


def _statuses(status: Status, table: pd.DataFrame | None = None) -> list[str]:
    if status is None:
        items: list[str] = table_status(table) if table is not None else []
    elif isinstance(status, str):
        items = [status]
    else:
        items = list(status)
    unknown = [s for s in items if s not in BANNERS]
    if unknown:
        raise ValueError(f"unknown status {unknown}; expected some of {sorted(BANNERS)}")
    return list(dict.fromkeys(items))


def add_status_banner(fig: go.Figure, status: Status) -> go.Figure:
    """Put a red-bordered banner at the top of ``fig`` for each caveat in ``status``.

    Separate from the title so it survives a caller changing the title, and in the paper's
    coordinates so it is visible whatever the axes show.
    """
    items = _statuses(status)
    if not items:
        return fig
    fig.add_annotation(
        text="<b>" + " · ".join(BANNERS[s] for s in items) + "</b>",
        xref="paper",
        yref="paper",
        x=0.5,
        y=1.0,
        yshift=62,
        showarrow=False,
        font={"size": FONT_SIZE, "color": PALETTE["vermillion"]},
        bordercolor=PALETTE["vermillion"],
        borderwidth=2,
        borderpad=4,
        bgcolor="#FFFFFF",
        name="status_banner",
    )
    fig.update_layout(margin={"t": 130})
    return fig


# The white template, as Plotly's default rather than per figure: assigning a template to each figure
# deep-copies it (~70 ms a figure), which made switching patients visibly slower. A caller who chose
# another default keeps it.
if pio.templates.default == "plotly":
    pio.templates.default = "plotly_white"


def _base_layout(fig: go.Figure, title: str, *, height: int | None = None) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0.0, "xanchor": "left"},
        font={"size": FONT_SIZE},
        hoverlabel={"font_size": FONT_SIZE},
        margin={"l": 10, "r": 20, "t": 90, "b": 60},
        barmode="overlay",
    )
    if height:
        fig.update_layout(height=height)
    return fig


def _interval_traces(
    labels: list[str],
    *,
    mean: np.ndarray,
    q05: np.ndarray,
    q25: np.ndarray | None,
    q75: np.ndarray | None,
    q95: np.ndarray,
    flagged: np.ndarray,
    colours: list[str],
    name: str,
    unit: str,
    axes: tuple[str, str] | None = None,
    fmt: Any = None,
) -> list[dict[str, Any]]:
    """Forest rows: thin bar = 90% interval, thick bar = 50%, diamond = mean, text = numbers.

    Bars (not error bars) so flagged rows can carry a hatch pattern, which survives greyscale
    printing and colour-blindness where a colour change alone would not. Plain dicts: the figure
    is validated once when built, which is what keeps switching patients fast.
    """
    where = {"xaxis": axes[0], "yaxis": axes[1]} if axes else {}
    pattern = {"shape": ["/" if f else "" for f in flagged], "fgcolor": "#FFFFFF", "solidity": 0.4}
    traces: list[dict[str, Any]] = [
        {
            "type": "bar",
            "y": labels,
            "x": _floats(q95 - q05),
            "base": _floats(q05),
            "orientation": "h",
            "width": 0.14,
            "marker": {"color": colours, "line": {"width": 0}},
            "opacity": 0.55,
            "name": f"{name}: 90% interval",
            "hovertemplate": "%{y}: 90% interval %{base:.1f} to %{customdata:.1f}<extra></extra>",
            "customdata": _floats(q95),
            "showlegend": False,
            **where,
        }
    ]
    if q25 is not None and q75 is not None:
        traces.append(
            {
                "type": "bar",
                "y": labels,
                "x": _floats(q75 - q25),
                "base": _floats(q25),
                "orientation": "h",
                "width": 0.42,
                "marker": {"color": colours, "pattern": pattern, "line": {"width": 0}},
                "name": f"{name}: 50% interval",
                "hovertemplate": "%{y}: 50% interval %{base:.1f} to %{customdata:.1f}<extra></extra>",
                "customdata": _floats(q75),
                "showlegend": False,
                **where,
            }
        )
    fmt = fmt or _fmt
    text = [f"{fmt(m)}  (90%: {fmt(lo)} to {fmt(hi)})" for m, lo, hi in zip(mean, q05, q95, strict=True)]
    traces.append(
        {
            "type": "scatter",
            "y": labels,
            "x": _floats(mean),
            "mode": "markers",
            "marker": {"symbol": "diamond", "size": 14, "color": PALETTE["black"]},
            "text": text,  # drawn by _value_labels, above the bars rather than over them
            "name": f"{name}: mean",
            "hovertemplate": "%{y}: mean %{x:.1f} " + unit + "<extra></extra>",
            "showlegend": False,
            **where,
        }
    )
    return traces


#: Vertical room per forest row (px) and where its numbers sit: the thick bar is 0.42 of a row, so
#: the numbers go just above it and the P(benefit) line just below it, neither over a bar.
ROW_PX = 110
VALUE_SHIFT = 34
BELOW_SHIFT = -38


def _value_labels(
    labels: list[str],
    mean: np.ndarray,
    q05: np.ndarray,
    q95: np.ndarray,
    *,
    xref: str = "x",
    yref: str = "y",
    fmt: Any = None,
) -> list[dict[str, Any]]:
    """Each row's mean and 90% interval as text just above its bars (annotation dicts)."""
    fmt = fmt or _fmt
    return [
        {
            "x": float(m),
            "y": label,
            "xref": xref,
            "yref": yref,
            "yshift": VALUE_SHIFT,
            "showarrow": False,
            "text": f"{fmt(m)}  (90%: {fmt(lo)} to {fmt(hi)})",
            "font": {"size": FONT_SIZE - 2},
            "bgcolor": "rgba(255,255,255,0.85)",  # readable where the zero or MID line crosses it
            "name": "value_label",
        }
        for label, m, lo, hi in zip(labels, mean, q05, q95, strict=True)
        if np.isfinite(m)
    ]


def _floats(values: np.ndarray) -> list[float]:
    """Plain floats for a trace dict (validated once, with the whole figure)."""
    return np.asarray(values, dtype=float).tolist()


def _intervals(fig: go.Figure, labels: list[str], *, row: int | None = None, col: int | None = None, **kw: Any) -> None:
    """Add :func:`_interval_traces` to an existing figure (optionally in a subplot)."""
    for trace in _interval_traces(labels, **kw):
        fig.add_trace(trace, **({"row": row, "col": col} if row is not None else {}))
    if row is None:
        notes = _value_labels(labels, kw["mean"], kw["q05"], kw["q95"], fmt=kw.get("fmt"))
        fig.update_layout(annotations=[*fig.layout.annotations, *notes])


def _layout(title: str, *, height: int | None = None) -> dict[str, Any]:
    """The dict form of :func:`_base_layout`."""
    layout: dict[str, Any] = {
        "title": {"text": title, "x": 0.0, "xanchor": "left"},
        "font": {"size": FONT_SIZE},
        "hoverlabel": {"font": {"size": FONT_SIZE}},
        "margin": {"l": 10, "r": 20, "t": 90, "b": 60},
        "barmode": "overlay",
    }
    if height:
        layout["height"] = height
    return layout


def _banner_annotation(items: list[str]) -> dict[str, Any] | None:
    """The dict form of :func:`add_status_banner`'s annotation (None when there is no caveat)."""
    if not items:
        return None
    return {
        "text": "<b>" + " · ".join(BANNERS[s] for s in items) + "</b>",
        "xref": "paper",
        "yref": "paper",
        "x": 0.5,
        "y": 1.0,
        "yshift": 62,
        "showarrow": False,
        "font": {"size": FONT_SIZE, "color": PALETTE["vermillion"]},
        "bordercolor": PALETTE["vermillion"],
        "borderwidth": 2,
        "borderpad": 4,
        "bgcolor": "#FFFFFF",
        "name": "status_banner",
    }


#: Footnotes start below the x-axis title (which ends about 75 px under the plot) so they never overlap it.
FOOTNOTE_SHIFT = -80
FOOTNOTE_MARGIN = 140


def _footnote_annotation(text: str) -> dict[str, Any]:
    return {
        "text": text,
        "xref": "paper",
        "yref": "paper",
        "x": 0.0,
        "y": 0.0,
        "yshift": FOOTNOTE_SHIFT,
        "xanchor": "left",
        "yanchor": "top",
        "align": "left",
        "showarrow": False,
        "font": {"size": FONT_SIZE - 3, "color": "#444444"},
        "name": "footnote",
    }


def _mid_band_items(
    mid: float | None, lower_is_better: bool, xref: str, yref: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Zero line, the ±MID band ("not clinically meaningful") and the dashed benefit line, as dicts."""
    def line(x: float, **style: Any) -> dict[str, Any]:
        return {"type": "line", "xref": xref, "yref": yref, "x0": x, "x1": x, "y0": 0, "y1": 1, "line": style}

    shapes = [line(0, color=PALETTE["black"], width=1)]
    notes: list[dict[str, Any]] = []
    if mid is None or mid <= 0:
        return shapes, notes
    shapes.append(
        {
            "type": "rect",
            "xref": xref,
            "yref": yref,
            "x0": -mid,
            "x1": mid,
            "y0": 0,
            "y1": 1,
            "fillcolor": PALETTE["light_grey"],
            "opacity": 0.45,
            "line": {"width": 0},
            "layer": "below",
            "name": "mid_band",
        }
    )
    notes.append(
        {
            "text": f"±{mid:g}: not clinically meaningful",
            "xref": xref,
            "yref": yref,
            "x": -mid,
            "y": 0,
            "xanchor": "left",
            "yanchor": "bottom",
            "showarrow": False,
            "font": {"size": FONT_SIZE - 3},
        }
    )
    benefit_x = -mid if lower_is_better else mid
    shapes.append(line(benefit_x, color=BENEFIT_COLOUR, width=2, dash="dash"))
    return shapes, notes


def _p_benefit_annotations(sub: pd.DataFrame, shown: list[str], mid: float | None) -> list[dict[str, Any]]:
    what = f"P(benefit > {mid:g})" if mid else "P(benefit)"
    return [
        {
            "x": 1.0,
            "xref": "x2 domain",
            "y": label,
            "yref": "y2",
            "xanchor": "right",
            "yshift": BELOW_SHIFT,  # below the row's thick bar, not over it
            "showarrow": False,
            "text": f"{what} {_pct(float(row['p_benefit']))}"
            + (f" · P(best) {_pct(float(row['p_best']))}" if "p_best" in row.index else ""),
            "font": {"size": FONT_SIZE - 3},
            "bgcolor": "rgba(255,255,255,0.85)",
            "name": "p_benefit",
        }
        for label, (_, row) in zip(shown, sub.iterrows(), strict=True)
    ]


def _row_labels(table: pd.DataFrame, reference: str | None, leading: str | None) -> list[str]:
    labels = []
    for code, row in table.iterrows():
        label = str(row.get("label", code)) if "label" in table.columns else str(code)
        if str(code) == leading:
            label = f"★ {label} (leading)"
        if str(code) == reference:
            label = f"{label} (reference)"
        if bool(row.get("overlap_warning", False)):
            label = f"{label} ⚠"
        labels.append(label)
    return labels


def _colours(table: pd.DataFrame, leading: str | None, flag_column: str = "overlap_warning") -> list[str]:
    out = []
    for code, row in table.iterrows():
        if flag_column in table.columns and bool(row[flag_column]):
            out.append(FLAGGED_COLOUR)
        elif str(code) == leading:
            out.append(LEADING_COLOUR)
        else:
            out.append(ESTIMATE_COLOUR)
    return out


def _flags(table: pd.DataFrame, column: str = "overlap_warning") -> np.ndarray:
    if column not in table.columns:
        return np.zeros(len(table), dtype=bool)
    return table[column].fillna(False).astype(bool).to_numpy()


def _col(table: pd.DataFrame, name: str) -> np.ndarray:
    return table[name].astype(float).to_numpy()


# ----- comparison of alternatives -------------------------------------------------------------
def plot_comparison(
    table: pd.DataFrame,
    *,
    outcome_label: str,
    reference: str | None = None,
    min_important_difference: float | None = None,
    leading: str | None = None,
    lower_is_better: bool = True,
    status: Status = None,
) -> go.Figure:
    """Alternatives side by side: expected outcome (left) and effect vs reference with ±MID (right).

    Parameters
    ----------
    table
        ``Comparison.table``: one row per alternative code with ``mean, q05, q25, q75, q95`` and,
        for the right panel, ``effect_mean, effect_q05 .. effect_q95`` and ``p_benefit``.
    outcome_label
        What the outcome is, with its unit (e.g. "HbA1c change at 6 months (mmol/mol)").
    reference, leading
        Alternative codes to mark; default from the table's ``reference`` column and highest ``p_best``.
    min_important_difference
        Half-width of the shaded band around zero effect: effects inside it are not clinically
        meaningful, whatever their probability.
    status
        Banner keywords (``unreliable``, ``approximate``, ``hypothetical``); default read from the
        table's ``reliable`` / ``approximate`` columns.
    """
    if reference is None and "reference" in table.columns and len(table):
        reference = str(table["reference"].iloc[0])
    if leading is None and "p_best" in table.columns and len(table):
        leading = str(table["p_best"].astype(float).idxmax())
    has_effect = {"effect_mean", "effect_q05", "effect_q95"} <= set(table.columns)
    labels = _row_labels(table, reference, leading)
    flagged = _flags(table)
    colours = _colours(table, leading)
    direction = "lower is better" if lower_is_better else "higher is better"
    # Built as one dict and validated once: make_subplots, add_vline/add_vrect and repeated
    # update_layout calls cost ~0.2 s a figure, most of a patient switch on the server.
    traces = _interval_traces(
        labels,
        mean=_col(table, "mean"),
        q05=_col(table, "q05"),
        q25=_col(table, "q25") if "q25" in table.columns else None,
        q75=_col(table, "q75") if "q75" in table.columns else None,
        q95=_col(table, "q95"),
        flagged=flagged,
        colours=colours,
        name="Expected outcome",
        unit="",
        axes=("x", "y") if has_effect else None,
    )
    layout = _layout(f"{outcome_label}: {direction}", height=300 + ROW_PX * len(table))
    y_axis = {"autorange": "reversed", "categoryorder": "array", "categoryarray": labels}
    annotations: list[dict[str, Any]] = _value_labels(
        labels, _col(table, "mean"), _col(table, "q05"), _col(table, "q95")
    )
    shapes: list[dict[str, Any]] = []
    if has_effect:
        effect_rows = np.array([str(c) != reference for c in table.index])
        sub = table.loc[effect_rows]
        shown = [lab for lab, keep in zip(labels, effect_rows, strict=True) if keep]
        traces += _interval_traces(
            shown,
            mean=_col(sub, "effect_mean"),
            q05=_col(sub, "effect_q05"),
            q25=_col(sub, "effect_q25") if "effect_q25" in sub.columns else None,
            q75=_col(sub, "effect_q75") if "effect_q75" in sub.columns else None,
            q95=_col(sub, "effect_q95"),
            flagged=flagged[effect_rows],
            colours=[c for c, keep in zip(colours, effect_rows, strict=True) if keep],
            name="Effect vs reference",
            unit="",
            axes=("x2", "y2"),
        )
        annotations += _value_labels(
            shown, _col(sub, "effect_mean"), _col(sub, "effect_q05"), _col(sub, "effect_q95"),
            xref="x2", yref="y2",
        )
        layout["xaxis"] = {"anchor": "y", "domain": [0.0, 0.48], "title": {"text": outcome_label}}
        layout["yaxis"] = {"anchor": "x", "domain": [0.0, 1.0], **y_axis}
        layout["xaxis2"] = {
            "anchor": "y2",
            "domain": [0.52, 1.0],
            "title": {
                "text": ("difference (negative = more improvement)" if lower_is_better else "difference")
                + (
                    f"<br>grey band: within ±{min_important_difference:g}, not clinically meaningful"
                    if min_important_difference and min_important_difference > 0
                    else ""
                )
            },
        }
        layout["yaxis2"] = {"anchor": "x2", "domain": [0.0, 1.0], "matches": "y", "showticklabels": False, **y_axis}
        for x, text in (
            (0.24, f"Expected {outcome_label}"),
            (0.76, f"Difference vs {_reference_label(table, reference)}"),
        ):
            annotations.append(
                {
                    "text": text,
                    "x": x,
                    "y": 1.0,
                    "xref": "paper",
                    "yref": "paper",
                    "xanchor": "center",
                    "yanchor": "bottom",
                    "showarrow": False,
                    "font": {"size": FONT_SIZE},
                }
            )
        band_shapes, band_notes = _mid_band_items(min_important_difference, lower_is_better, "x2", "y2 domain")
        shapes += band_shapes
        del band_notes  # said in the axis title: inside the panel it collided with the last row's text
        if "p_benefit" in sub.columns:
            annotations += _p_benefit_annotations(sub, shown, min_important_difference)
    else:
        layout["xaxis"] = {"title": {"text": outcome_label}}
        layout["yaxis"] = y_axis
    notes = ["Diamond = mean; thick bar = 50% interval; thin bar = 90% interval."]
    if flagged.any():
        notes.append(OVERLAP_NOTE)
    annotations.append(_footnote_annotation("<br>".join(notes)))
    layout["margin"]["b"] = FOOTNOTE_MARGIN
    banner = _banner_annotation(_statuses(status, table))
    if banner:
        annotations.append(banner)
        layout["margin"]["t"] = 130
    layout["annotations"], layout["shapes"] = annotations, shapes
    return go.Figure(data=traces, layout=layout)


def plot_effect_vs_reference(
    table: pd.DataFrame,
    *,
    outcome_label: str,
    reference: str | None = None,
    min_important_difference: float | None = None,
    leading: str | None = None,
    lower_is_better: bool = True,
    status: Status = None,
) -> go.Figure:
    """The right panel of :func:`plot_comparison` alone, for narrow screens and the PDF notebook."""
    if reference is None and "reference" in table.columns and len(table):
        reference = str(table["reference"].iloc[0])
    if leading is None and "p_best" in table.columns and len(table):
        leading = str(table["p_best"].astype(float).idxmax())
    keep = np.array([str(c) != reference for c in table.index])
    sub = table.loc[keep]
    labels = _row_labels(sub, reference, leading)
    fig = go.Figure()
    _intervals(
        fig,
        labels,
        mean=_col(sub, "effect_mean"),
        q05=_col(sub, "effect_q05"),
        q25=_col(sub, "effect_q25") if "effect_q25" in sub.columns else None,
        q75=_col(sub, "effect_q75") if "effect_q75" in sub.columns else None,
        q95=_col(sub, "effect_q95"),
        flagged=_flags(sub),
        colours=_colours(sub, leading),
        name="Effect vs reference",
        unit="",
    )
    _mid_band(fig, min_important_difference, lower_is_better)
    fig.update_yaxes(autorange="reversed", categoryorder="array", categoryarray=labels)
    direction = "lower is better" if lower_is_better else "higher is better"
    _base_layout(
        fig,
        f"{outcome_label}: difference vs {_reference_label(table, reference)} ({direction})",
        height=300 + ROW_PX * len(sub),
    )
    if _flags(sub).any():
        _footnote(fig, OVERLAP_NOTE)
    return add_status_banner(fig, _statuses(status, table))


def _reference_label(table: pd.DataFrame, reference: str | None) -> str:
    if reference is None:
        return "reference"
    if "label" in table.columns and reference in table.index:
        return str(table.loc[reference, "label"])
    return str(reference)


def _mid_band(fig: go.Figure, mid: float | None, lower_is_better: bool) -> None:
    shapes, notes = _mid_band_items(mid, lower_is_better, "x", "y domain")
    for shape in shapes:
        fig.add_shape(shape)
    for note in notes:
        fig.add_annotation(note)


def _footnote(fig: go.Figure, text: str) -> None:
    fig.add_annotation(
        text=text,
        xref="paper",
        yref="paper",
        x=0.0,
        y=0.0,
        yshift=FOOTNOTE_SHIFT,
        xanchor="left",
        yanchor="top",
        align="left",
        showarrow=False,
        font={"size": FONT_SIZE - 3, "color": "#444444"},
        name="footnote",
    )
    fig.update_layout(margin={"b": FOOTNOTE_MARGIN})


def plot_effect_distribution(
    outcome_draws: np.ndarray,
    alternatives: Sequence[str],
    *,
    reference: str,
    min_important_difference: float,
    labels: Mapping[str, str] | None = None,
    lower_is_better: bool = True,
    status: Status = None,
) -> go.Figure:
    """Posterior density of each alternative's effect vs reference, with the MID line and P(benefit).

    ``outcome_draws`` is ``Comparison.outcome_draws`` (S, K): the effect is computed per draw
    (not from summaries) so the density keeps the correlation between alternatives.
    """
    draws = np.asarray(outcome_draws, dtype=float)
    alternatives = [str(a) for a in alternatives]
    if draws.ndim != 2 or draws.shape[1] != len(alternatives):
        raise ValueError("outcome_draws must be (draws, alternatives) in the order of `alternatives`")
    if reference not in alternatives:
        raise ValueError("reference must be one of the alternatives")
    labels = dict(labels or {})
    r = alternatives.index(reference)
    effects = draws - draws[:, [r]]
    fig = go.Figure()
    for k, alt in enumerate(alternatives):
        if k == r:
            continue
        eff = effects[:, k]
        benefit = eff < -min_important_difference if lower_is_better else eff > min_important_difference
        name = labels.get(alt, alt)
        fig.add_trace(
            go.Violin(
                x=eff,
                y=[name] * len(eff),
                orientation="h",
                side="positive",
                width=1.6,
                points=False,
                box_visible=False,
                meanline_visible=True,
                line_color=ESTIMATE_COLOUR,
                fillcolor=PALETTE["sky"],
                opacity=0.7,
                name=name,
                showlegend=False,
            )
        )
        fig.add_annotation(
            x=float(np.quantile(eff, 0.95)),
            y=name,
            xanchor="left",
            showarrow=False,
            text=f"P(benefit) {_pct(float(benefit.mean()))}",
            font={"size": FONT_SIZE - 2},
            name="p_benefit",
        )
    benefit_x = -min_important_difference if lower_is_better else min_important_difference
    fig.add_vline(x=0, line={"color": PALETTE["black"], "width": 1})
    fig.add_vline(
        x=benefit_x,
        line={"color": BENEFIT_COLOUR, "width": 2, "dash": "dash"},
        annotation_text=f"clinically meaningful ({_fmt(benefit_x, 0)})",
        annotation_position="top left",
    )
    ref_label = labels.get(reference, reference)
    direction = (
        "left of the dashed line = meaningful benefit"
        if lower_is_better
        else "right of the dashed line = meaningful benefit"
    )
    _base_layout(fig, f"How sure: difference vs {ref_label} ({direction})", height=160 + 110 * (len(alternatives) - 1))
    fig.update_xaxes(title_text="difference in expected outcome")
    return add_status_banner(fig, _statuses(status))


# ----- icon arrays ---------------------------------------------------------------------------
def icon_counts(
    probability: float, *, n: int = 100, interval: tuple[float, float] | None = None
) -> tuple[int, int, int]:
    """(sure, uncertain, unaffected) icon counts out of ``n``.

    Without an interval every affected icon is "sure". With one, the lower bound is drawn solid and
    the span up to the upper bound light, so the picture shows the range as well as the estimate.
    """
    if not 0.0 <= probability <= 1.0:
        raise ValueError("probability must be between 0 and 1")
    if interval is None:
        sure = round(probability * n)
        return sure, 0, n - sure
    lo, hi = sorted(float(v) for v in interval)
    if not (0.0 <= lo <= 1.0 and 0.0 <= hi <= 1.0):
        raise ValueError("interval bounds must be between 0 and 1")
    sure = round(lo * n)
    upper = max(round(hi * n), sure)
    return sure, upper - sure, n - upper


def _icon_groups(
    probability: float, *, n: int, kind: str, interval: tuple[float, float] | None
) -> list[tuple[int, str, str]]:
    """(count, colour, legend text) of the solid, light and grey icons, in drawing order."""
    if kind not in {"benefit", "harm"}:
        raise ValueError("kind must be 'benefit' or 'harm'")
    sure, uncertain, rest = icon_counts(probability, n=n, interval=interval)
    benefit = kind == "benefit"
    return [
        (sure, BENEFIT_COLOUR if benefit else HARM_COLOUR, f"{sure} {'benefit' if benefit else 'harmed'}"),
        (
            uncertain,
            PALETTE["sky"] if benefit else "#F4B183",
            f"{uncertain} may or may not {'benefit' if benefit else 'be harmed'}",
        ),
        (rest, PALETTE["light_grey"], f"{rest} {'no benefit' if benefit else 'not harmed'}"),
    ]


def _icon_count_text(probability: float, n: int, interval: tuple[float, float] | None) -> str:
    """The count in words, with its range when there is one (never a bare "30 out of 100")."""
    count = f"about {round(probability * n)} out of {n} patients like this one"
    if interval is not None:
        lo, hi = sorted(interval)
        count += f" (between {round(lo * n)} and {round(hi * n)})"
    return count


def plot_icon_array(
    probability: float,
    *,
    n: int = 100,
    label: str,
    columns: int = 10,
    kind: str = "benefit",
    interval: tuple[float, float] | None = None,
    status: Status = None,
) -> go.Figure:
    """Icon array, "out of 100 patients like this one", filled for those who benefit (or are harmed).

    Natural frequencies are understood better than percentages by patients and clinicians alike
    (Gigerenzer & Hoffrage 1995); the lighter icons show the interval so no-one reads the count as exact.
    The case page draws the same picture with :func:`icon_array_html` (no chart library to start).
    """
    groups = _icon_groups(probability, n=n, kind=kind, interval=interval)
    idx = np.arange(n)
    xs, ys = idx % columns, idx // columns
    fig = go.Figure()
    start = 0
    for number, fill, name in groups:
        part = slice(start, start + number)
        start += number
        fig.add_trace(
            go.Scatter(
                x=xs[part],
                y=ys[part],
                mode="markers",
                marker={
                    "symbol": "circle",
                    "size": 22,
                    "color": fill,
                    "line": {"color": "#555555", "width": 1},
                },
                name=name,
                hoverinfo="name",
            )
        )
    count = _icon_count_text(probability, n, interval)
    # Icon arrays sit side by side at half width: a one-line title was cut off at the right edge.
    lines = [*textwrap.wrap(f"{label}:", TITLE_WIDTH), count]
    _base_layout(fig, "<br>".join(lines), height=170 + 22 * len(lines) + 36 * int(np.ceil(n / columns)))
    fig.update_xaxes(visible=False, range=[-0.7, columns - 0.3])
    fig.update_yaxes(visible=False, autorange="reversed", scaleanchor="x")
    # Always a legend: with one non-empty group (e.g. "100 may or may not be harmed") Plotly drops it,
    # and an all-orange grid without its key reads as "everyone is harmed".
    fig.update_layout(legend={"orientation": "h", "y": -0.05}, showlegend=True)
    add_status_banner(fig, _statuses(status))
    # Title pinned to the top so that a taller (wrapped) title pushes the banner down, not into it.
    fig.update_layout(
        title={"y": 1.0, "yref": "container", "yanchor": "top", "pad": {"t": 26}},
        margin={"t": fig.layout.margin.t + 18 + 22 * (len(lines) - 1)},
    )
    return fig


#: Icon size and gap in the SVG icon array (px at 100% zoom; the SVG scales with its box).
ICON_PX, ICON_GAP = 26, 6


def icon_array_svg(
    probability: float,
    *,
    n: int = 100,
    columns: int = 10,
    kind: str = "benefit",
    interval: tuple[float, float] | None = None,
    title: str = "",
) -> str:
    """The icons of :func:`plot_icon_array` as a standalone SVG document (one ``<g>`` per group)."""
    groups = _icon_groups(probability, n=n, kind=kind, interval=interval)
    rows = int(np.ceil(n / columns))
    step = ICON_PX + ICON_GAP
    radius = ICON_PX / 2
    parts, index = [], 0
    for number, fill, name in groups:  # the colour and name once per group, not per icon
        icons = []
        for _ in range(number):
            cx = (index % columns) * step + radius + 1
            cy = (index // columns) * step + radius + 1
            icons.append(f'<circle cx="{cx:g}" cy="{cy:g}" r="{radius:g}"/>')
            index += 1
        parts.append(f'<g fill="{fill}" data-group="{escape(name)}">{"".join(icons)}</g>')
    width, height = columns * step - ICON_GAP + 2, rows * step - ICON_GAP + 2
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:g}" height="{height:g}" '
        f'viewBox="0 0 {width:g} {height:g}"><title>{escape(title)}</title>'
        f'<g stroke="#555555" stroke-width="1">{"".join(parts)}</g></svg>'
    )


def icon_array_html(
    probability: float,
    *,
    n: int = 100,
    label: str,
    columns: int = 10,
    kind: str = "benefit",
    interval: tuple[float, float] | None = None,
    status: Status = None,
) -> str:
    """The icon array of :func:`plot_icon_array` as self-contained HTML, for ``st.html``.

    The same counts, colours, legend, interval wording and status banner, but no chart library: a
    page draws a hundred circles without starting Plotly, which keeps switching patient fast. The
    icons are an SVG image (a data URI: ``st.html`` sanitises inline SVG away) whose text alternative
    carries the count and its range.
    """
    groups = _icon_groups(probability, n=n, kind=kind, interval=interval)
    count = _icon_count_text(probability, n, interval)
    alt = f"{label}: {count}"
    svg = icon_array_svg(probability, n=n, columns=columns, kind=kind, interval=interval, title=alt)
    source = "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
    width = columns * (ICON_PX + ICON_GAP) - ICON_GAP + 2
    legend = "".join(
        f'<span style="display:inline-flex;align-items:center;margin-right:1.2em;white-space:nowrap">'
        f'<span style="display:inline-block;width:0.9em;height:0.9em;border-radius:50%;background:{fill};'
        f'border:1px solid #555555;margin-right:0.35em"></span>{escape(name)}</span>'
        for _, fill, name in groups
    )
    banner = "".join(
        f'<div class="status-banner" style="color:{PALETTE["vermillion"]};border:2px solid {PALETTE["vermillion"]};'
        f'padding:2px 6px;margin:4px 0;font-weight:bold">{escape(BANNERS[s])}</div>'
        for s in _statuses(status)
    )
    return (
        f'<figure class="icon-array" data-kind="{kind}" style="margin:0 0 1rem 0;font-size:{FONT_SIZE}px">'
        f"{banner}"
        f'<figcaption style="margin-bottom:0.4em"><b>{escape(label)}:</b><br>{escape(count)}</figcaption>'
        f'<img alt="{escape(alt)}" src="{source}" style="width:100%;max-width:{width}px;height:auto;display:block">'
        f'<div class="icon-legend" style="margin-top:0.5em;font-size:{FONT_SIZE - 2}px">{legend}</div>'
        "</figure>"
    )


# ----- drivers, adverse events, similar patients, subgroups ----------------------------------
def plot_drivers(
    drivers_frame: pd.DataFrame,
    *,
    alternative_label: str,
    reference_label: str,
    covariate_labels: Mapping[str, str] | None = None,
    lower_is_better: bool = True,
    unit: str | None = None,
    status: Status = None,
) -> go.Figure:
    """Each covariate's contribution to this patient's effect, with 90% intervals, largest first.

    ``drivers_frame`` is one of ``CaseView.drivers``: index = covariate, columns ``value, typical,
    mean, q05, q95``. A contribution is how much this patient's value (vs a typical patient's)
    moves the effect, so the bars answer "why is this patient's estimate different?".
    """
    frame = drivers_frame.copy()
    frame = frame.reindex(frame["mean"].abs().sort_values(ascending=False).index)
    labels_map = dict(covariate_labels or {})
    labels = []
    for cov, row in frame.iterrows():
        text = labels_map.get(str(cov), str(cov))
        if "value" in frame.columns and not _missing(row["value"]):
            text += f" = {_plain_value(row['value'])}"
            if "typical" in frame.columns:
                text += f" (typical {_plain_value(row['typical'])})"
        labels.append(text)
    mean = frame["mean"].astype(float).to_numpy()
    lo = frame["q05"].astype(float).to_numpy()
    hi = frame["q95"].astype(float).to_numpy()
    favours = mean < 0 if lower_is_better else mean > 0
    colours = [BENEFIT_COLOUR if f else PALETTE["orange"] for f in favours]
    fig = go.Figure(
        go.Bar(
            y=labels,
            x=mean,
            orientation="h",
            marker={"color": colours},
            error_x={
                "type": "data",
                "symmetric": False,
                "array": hi - mean,
                "arrayminus": mean - lo,
                "thickness": 2,
                "width": 6,
            },
            text=[f"{_fmt(m, 2)} (90%: {_fmt(a, 2)} to {_fmt(b, 2)})" for m, a, b in zip(mean, lo, hi, strict=True)],
            textposition="none",  # the numbers are a column right of the plot: beside the bars they
            # overlapped the interval whiskers and ran off the edge
            customdata=np.column_stack([lo, hi]),
            hovertemplate="%{y}: %{x:.2f} (90%: %{customdata[0]:.2f} to %{customdata[1]:.2f})<extra></extra>",
            name="contribution",
        )
    )
    fig.add_vline(x=0, line={"color": PALETTE["black"], "width": 1})
    fig.update_yaxes(autorange="reversed", categoryorder="array", categoryarray=labels)
    _base_layout(
        fig,
        f"Why this estimate: {alternative_label} vs {reference_label} (blue = favours {alternative_label})",
        height=140 + 48 * len(frame),
    )
    fig.update_xaxes(
        title_text=f"contribution to the difference{f' ({unit})' if unit else ''}, vs a typical patient"
    )
    numbers = [
        {
            "x": 1.0,
            "xref": "paper",
            "xanchor": "left",
            "xshift": 12,
            "y": label,
            "yref": "y",
            "showarrow": False,
            "align": "left",
            "text": f"{_fmt(m, 2)} (90%: {_fmt(a, 2)} to {_fmt(b, 2)})",
            "font": {"size": FONT_SIZE - 2},
            "name": "driver_value",
        }
        for label, m, a, b in zip(labels, mean, lo, hi, strict=True)
    ]
    fig.update_layout(annotations=numbers, margin={"r": 250})
    return add_status_banner(fig, _statuses(status))


def _missing(value: Any) -> bool:
    """No value to print (e.g. the "(average patient)" row of a decomposition)."""
    return value is None or (isinstance(value, float | np.floating) and not np.isfinite(value))


def _plain_value(value: Any) -> str:
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, float | np.floating):
        return f"{value:.1f}" if not float(value).is_integer() else f"{value:.0f}"
    return str(value)


def plot_alternatives_received(overview: pd.DataFrame) -> go.Figure:
    """How many training patients received each alternative (exact counts, so no interval).

    ``overview`` is :func:`workbench.review.overview.alternatives_received`. A small group means a
    wide interval on the case page; the chart says so in its title rather than leaving it implied.
    """
    labels = [str(v) for v in overview["label"]] if len(overview) else []
    patients = [int(v) for v in overview["patients"]] if len(overview) else []
    layout = _layout(
        "Data behind the estimates: training patients by alternative received<br>"
        "<sup>fewer patients, wider intervals on the case page</sup>",
        height=150 + 46 * max(len(labels), 1),
    )
    layout["margin"] = {"l": 10, "r": 20, "t": 80, "b": 50}
    layout["xaxis"] = {"title": {"text": "patients"}, "rangemode": "tozero"}
    layout["yaxis"] = {"autorange": "reversed", "categoryorder": "array", "categoryarray": labels}
    layout["showlegend"] = False
    trace = {
        "type": "bar",
        "orientation": "h",
        "y": labels,
        "x": patients,
        "text": [f"{p:,}" for p in patients],
        "textposition": "inside",
        "insidetextanchor": "end",
        "marker": {"color": ESTIMATE_COLOUR},
        "hovertemplate": "%{y}: %{x:,} patients<extra></extra>",
        "name": "patients",
    }
    fig = go.Figure(data=[trace], layout=layout)
    if not labels:
        fig.add_annotation(
            text="No training patients yet: import an extract.", xref="paper", yref="paper", x=0.5, y=0.5,
            showarrow=False, font={"size": FONT_SIZE}, name="no_patients",
        )
    return fig


def plot_adverse_events(
    table: pd.DataFrame,
    *,
    leading: str | None = None,
    status: Status = None,
) -> go.Figure:
    """Adverse-event risk per alternative (percent) with 50%/90% intervals.

    Without an adverse-event run (no ``ae_*`` columns) the figure says so instead of drawing
    nothing, so the page never suggests "no risk" by omission.
    """
    needed = {"ae_mean", "ae_q05", "ae_q95"}
    if not needed <= set(table.columns) or table["ae_mean"].isna().all():
        fig = go.Figure()
        fig.add_annotation(
            text="No approved adverse-event model run: risk of harm not estimated.",
            xref="paper",
            yref="paper",
            x=0.5,
            y=0.5,
            showarrow=False,
            font={"size": FONT_SIZE},
            name="no_ae_run",
        )
        fig.update_xaxes(visible=False)
        fig.update_yaxes(visible=False)
        _base_layout(fig, "Risk of an adverse event", height=220)
        return add_status_banner(fig, _statuses(status, table))
    labels = _row_labels(table, None, leading)
    flag_col = "ae_overlap_warning" if "ae_overlap_warning" in table.columns else "overlap_warning"
    flagged = _flags(table, flag_col)
    fig = go.Figure()
    _intervals(
        fig,
        labels,
        mean=100 * _col(table, "ae_mean"),
        q05=100 * _col(table, "ae_q05"),
        q25=100 * _col(table, "ae_q25") if "ae_q25" in table.columns else None,
        q75=100 * _col(table, "ae_q75") if "ae_q75" in table.columns else None,
        q95=100 * _col(table, "ae_q95"),
        flagged=flagged,
        colours=[FLAGGED_COLOUR if f else HARM_COLOUR for f in flagged],
        name="Adverse-event risk",
        unit="%",
        fmt=lambda v: f"{v:.0f}%",
    )
    fig.update_yaxes(autorange="reversed", categoryorder="array", categoryarray=labels)
    fig.update_xaxes(title_text="risk of an adverse event within 6 months (%)", rangemode="tozero")
    _base_layout(fig, "Risk of an adverse event: lower is better", height=300 + ROW_PX * len(table))
    if flagged.any():
        _footnote(fig, OVERLAP_NOTE)
    return add_status_banner(fig, _statuses(status, table))


def plot_similar_patients(
    similar_frame: pd.DataFrame,
    *,
    outcome: str = "hba1c_change",
    outcome_label: str = "Observed HbA1c change at 6 months (mmol/mol)",
    status: Status = None,
) -> go.Figure:
    """Observed outcomes of the nearest patients, grouped by what they received.

    These are raw outcomes of a handful of patients, not estimates: the title says so, and the
    count per group is shown because three patients are an anecdote, not evidence.
    """
    frame = similar_frame.dropna(subset=[outcome])
    group_col = "treatment_label" if "treatment_label" in frame.columns else "treatment"
    fig = go.Figure()
    symbols = {True: "x", False: "circle"}
    for received, sub in frame.groupby(group_col, sort=True):
        ae = (
            sub["adverse_event"].fillna(0).astype(bool)
            if "adverse_event" in sub.columns
            else pd.Series(False, index=sub.index)
        )
        for had_ae, part in sub.groupby(ae):
            fig.add_trace(
                go.Scatter(
                    x=part[outcome].astype(float),
                    y=[f"{received} (n={len(sub)})"] * len(part),
                    mode="markers",
                    marker={
                        "symbol": symbols[bool(had_ae)],
                        "size": 16,
                        "color": HARM_COLOUR if had_ae else ESTIMATE_COLOUR,
                        "line": {"width": 1, "color": "#333333"},
                    },
                    name="had an adverse event" if had_ae else "no adverse event",
                    legendgroup=str(bool(had_ae)),
                    showlegend=False,
                    customdata=part["distance"] if "distance" in part.columns else None,
                    hovertemplate="%{x:.1f}"
                    + (" · distance %{customdata:.2f}" if "distance" in part.columns else "")
                    + "<extra></extra>",
                )
            )
    for had_ae in (False, True):  # one legend entry per marker meaning, not per group
        fig.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="markers",
                marker={
                    "symbol": symbols[had_ae],
                    "size": 14,
                    "color": HARM_COLOUR if had_ae else ESTIMATE_COLOUR,
                },
                name="had an adverse event" if had_ae else "no adverse event",
                legendgroup=str(had_ae),
            )
        )
    fig.add_vline(x=0, line={"color": PALETTE["black"], "width": 1})
    _base_layout(
        fig,
        f"What happened to the {len(frame)} most similar patients (observed, not predicted)",
        height=180 + 60 * max(frame[group_col].nunique(), 1),
    )
    fig.update_xaxes(title_text=outcome_label)
    fig.update_layout(legend={"orientation": "h", "y": -0.2})
    return add_status_banner(fig, _statuses(status))


def plot_subgroups(
    frame: pd.DataFrame,
    *,
    value: str,
    lower: str,
    upper: str,
    group: str,
    flag: str | None = None,
    reference_value: float | None = None,
    title: str = "Estimates by subgroup",
    x_title: str | None = None,
    status: Status = None,
) -> go.Figure:
    """Forest plot of subgroup estimates (equity page): one row per subgroup, interval and point.

    ``flag`` names a boolean column (e.g. "poorly calibrated") drawn in vermillion with a ⚠, so a
    subgroup poorly served by the model stands out to the chair.
    """
    labels = [str(g) for g in frame[group]]
    flagged = frame[flag].fillna(False).astype(bool).to_numpy() if flag else np.zeros(len(frame), dtype=bool)
    labels = [f"{lab} ⚠" if f else lab for lab, f in zip(labels, flagged, strict=True)]
    v = frame[value].astype(float).to_numpy()
    lo = frame[lower].astype(float).to_numpy()
    hi = frame[upper].astype(float).to_numpy()
    fig = go.Figure(
        go.Scatter(
            x=v,
            y=labels,
            mode="markers",
            marker={
                "symbol": "square",
                "size": 13,
                "color": [HARM_COLOUR if f else ESTIMATE_COLOUR for f in flagged],
            },
            error_x={
                "type": "data",
                "symmetric": False,
                "array": hi - v,
                "arrayminus": v - lo,
                "thickness": 2,
            },
            text=[f"{a:.2f} ({b:.2f} to {c:.2f})" for a, b, c in zip(v, lo, hi, strict=True)],
            hovertemplate="%{y}: %{text}<extra></extra>",
            name=value,
        )
    )
    if reference_value is not None:
        fig.add_vline(x=reference_value, line={"color": PALETTE["black"], "width": 1, "dash": "dot"})
    fig.update_yaxes(autorange="reversed", categoryorder="array", categoryarray=labels)
    _base_layout(fig, title, height=140 + 40 * len(frame))
    fig.update_xaxes(title_text=x_title or value)
    return add_status_banner(fig, _statuses(status))


# ----- diagnostics (ArviZ 1.x, Plotly backend) -----------------------------------------------
#: Default diagnostics show the low-dimensional parameters (intercepts, effects, scales): plotting
#: every per-covariate coefficient makes a figure too tall to read and slow to draw.
MAX_DEFAULT_ELEMENTS = 10
MAX_DEFAULT_VARIABLES = 6


def default_var_names(idata: Any) -> list[str]:
    """The posterior's variables with at most ``MAX_DEFAULT_ELEMENTS`` values per draw, largest last."""
    posterior = idata["posterior"]
    sizes = {}
    for name, var in posterior.data_vars.items():
        per_draw = int(np.prod([n for d, n in var.sizes.items() if d not in {"chain", "draw"}], dtype=int))
        if per_draw <= MAX_DEFAULT_ELEMENTS:
            sizes[str(name)] = per_draw
    return sorted(sizes, key=lambda n: (sizes[n], n))[:MAX_DEFAULT_VARIABLES]


def _arviz_figure(
    plot: Any, idata: Any, var_names: Sequence[str] | None, title: str, status: Status, **kw: Any
) -> go.Figure:
    names = list(var_names) if var_names else default_var_names(idata)
    # ArviZ reads its colour cycle from Plotly's default template; inside a Streamlit server that is
    # Streamlit's own template, whose colours ArviZ cannot parse. Draw with the white template.
    chosen = pio.templates.default
    pio.templates.default = "plotly_white"
    try:
        pc = plot(idata, var_names=names, backend="plotly", **kw)
    finally:
        pio.templates.default = chosen
    fig = pc.viz["figure"].item()
    fig.update_layout(title={"text": title, "x": 0.0, "xanchor": "left"}, font={"size": FONT_SIZE - 2})
    return add_status_banner(fig, _statuses(status))


def plot_trace(idata: Any, var_names: Sequence[str] | None = None, *, status: Status = None) -> go.Figure:
    """Trace and marginal density per chain: chains that disagree or wander show non-convergence."""
    import arviz_plots as azp

    return _arviz_figure(azp.plot_trace_dist, idata, var_names, "Trace and distribution per chain", status)


def plot_rank(idata: Any, var_names: Sequence[str] | None = None, *, status: Status = None) -> go.Figure:
    """Rank ECDF per chain (Vehtari et al. 2021): flat within the envelope when chains mix."""
    import arviz_plots as azp

    return _arviz_figure(azp.plot_rank, idata, var_names, "Rank plot (chains should overlap)", status)


def plot_ess(
    idata: Any, var_names: Sequence[str] | None = None, *, min_ess: int = 400, status: Status = None
) -> go.Figure:
    """Local effective sample size across quantiles, with the minimum the run must reach."""
    import arviz_plots as azp

    return _arviz_figure(
        azp.plot_ess, idata, var_names, f"Effective sample size (minimum {min_ess})", status, min_ess=min_ess
    )


def ppc_coverage(observed: np.ndarray, predicted_draws: np.ndarray, prob: float = 0.9) -> float:
    """Share of observed outcomes inside their central ``prob`` posterior predictive interval."""
    y = np.asarray(observed, dtype=float)
    pred = np.asarray(predicted_draws, dtype=float)
    if pred.ndim != 2 or pred.shape[1] != y.shape[0]:
        raise ValueError("predicted_draws must be (draws, observations)")
    lo, hi = np.quantile(pred, [(1 - prob) / 2, 1 - (1 - prob) / 2], axis=0)
    return float(np.mean((y >= lo) & (y <= hi)))


def plot_ppc(
    observed: np.ndarray,
    predicted_draws: np.ndarray,
    *,
    n_draws: int = 40,
    outcome_label: str = "outcome",
    seed: int = 0,
    status: Status = None,
) -> go.Figure:
    """Posterior predictive check: density of observed outcomes over densities of replicated data sets.

    Plain Plotly because saved runs hold posterior draws but no ``posterior_predictive`` group.
    The 90% coverage is annotated: it should be near 90%, and is the number the run's gate checks.
    """
    from scipy.stats import gaussian_kde

    y = np.asarray(observed, dtype=float)
    pred = np.asarray(predicted_draws, dtype=float)
    coverage = ppc_coverage(y, pred)
    lo, hi = np.quantile(np.concatenate([y, pred.ravel()]), [0.005, 0.995])
    grid = np.linspace(lo, hi, 200)
    rng = np.random.default_rng(seed)
    picked = rng.choice(pred.shape[0], size=min(n_draws, pred.shape[0]), replace=False)
    fig = go.Figure()
    for i, s in enumerate(picked):
        fig.add_trace(
            go.Scatter(
                x=grid,
                y=gaussian_kde(pred[s])(grid),
                mode="lines",
                line={"color": PALETTE["sky"], "width": 1},
                opacity=0.35,
                name="replicated data (posterior predictive)",
                legendgroup="rep",
                showlegend=i == 0,
                hoverinfo="skip",
            )
        )
    fig.add_trace(
        go.Scatter(
            x=grid,
            y=gaussian_kde(y)(grid),
            mode="lines",
            line={"color": PALETTE["black"], "width": 3},
            name="observed",
        )
    )
    _base_layout(
        fig,
        f"Posterior predictive check: {100 * coverage:.0f}% of observed outcomes inside their 90% interval",
    )
    fig.update_xaxes(title_text=outcome_label)
    fig.update_yaxes(title_text="density")
    fig.update_layout(legend={"orientation": "h", "y": -0.2}, meta={"coverage_90": coverage})
    return add_status_banner(fig, _statuses(status))
