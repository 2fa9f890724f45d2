"""Static PNG charts for the PDFs, drawn with matplotlib (no browser, no kaleido/Chrome).

The same conventions as :mod:`workbench.plots` (Okabe-Ito palette, thick 50% / thin 90% bars,
hatching for extrapolated alternatives) so the printed record looks like what the meeting saw.
``matplotlib.figure.Figure`` is used directly, not pyplot, so rendering is thread-safe in the
dashboard's server and never opens a window.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from workbench.export.record import Estimate
from workbench.plots import (
    BENEFIT_COLOUR,
    ESTIMATE_COLOUR,
    FLAGGED_COLOUR,
    HARM_COLOUR,
    LEADING_COLOUR,
    PALETTE,
    icon_counts,
)

DPI = 200


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    return buffer.getvalue()


def _forest(ax: Axes, rows: list[tuple[str, float, float, float | None, float | None, float, str, bool]]) -> None:
    for i, (_label, mean, q05, q25, q75, q95, colour, flagged) in enumerate(rows):
        ax.hlines(i, q05, q95, color=colour, linewidth=2.0, alpha=0.7)
        if q25 is not None and q75 is not None:
            ax.barh(
                i,
                q75 - q25,
                left=q25,
                height=0.38,
                color=colour,
                hatch="///" if flagged else None,
                edgecolor="white" if flagged else colour,
            )
        ax.plot([mean], [i], marker="D", color="black", markersize=6, zorder=3)
    ax.set_yticks(range(len(rows)), [r[0] for r in rows])
    ax.grid(axis="x", color="#DDDDDD", linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def comparison_png(
    items: Sequence[Estimate],
    *,
    reference: str | None,
    leading: str | None,
    chosen: str | None = None,
    min_important_difference: float | None,
    outcome_label: str,
    banner: str | None = None,
) -> bytes:
    """Expected outcome and effect vs reference per alternative, with 50%/90% intervals, as PNG."""
    usable = [e for e in items if None not in (e.mean, e.q05, e.q95)]
    fig = Figure(figsize=(8.0, 1.3 + 0.55 * max(len(usable), 1)))
    ax_out, ax_eff = fig.subplots(1, 2, sharey=True, gridspec_kw={"wspace": 0.08})

    def colour(e: Estimate) -> str:
        if e.overlap_warning:
            return FLAGGED_COLOUR
        return LEADING_COLOUR if e.code == leading else ESTIMATE_COLOUR

    def name(e: Estimate) -> str:
        text = e.label + (" ★" if e.code == leading else "") + (" (ref.)" if e.code == reference else "")
        text += " [chosen]" if e.code == chosen else ""
        return text + (" ⚠" if e.overlap_warning else "")

    _forest(
        ax_out,
        [(name(e), e.mean, e.q05, e.q25, e.q75, e.q95, colour(e), e.overlap_warning) for e in usable],  # type: ignore[misc]
    )
    ax_out.set_title(f"Expected {outcome_label}\n(lower is better)", fontsize=9)
    eff_rows: list[tuple[Any, ...]] = []
    for e in usable:
        if e.code == reference or e.effect_mean is None or e.effect_q05 is None or e.effect_q95 is None:
            eff_rows.append((name(e), np.nan, np.nan, None, None, np.nan, colour(e), False))
        else:
            eff_rows.append(
                (
                    name(e),
                    e.effect_mean,
                    e.effect_q05,
                    e.effect_q25,
                    e.effect_q75,
                    e.effect_q95,
                    colour(e),
                    e.overlap_warning,
                )
            )
    _forest(ax_eff, eff_rows)  # type: ignore[arg-type]
    ax_eff.axvline(0, color="black", linewidth=0.8)
    if min_important_difference:
        ax_eff.axvspan(
            -min_important_difference, min_important_difference, color=PALETTE["light_grey"], alpha=0.6, zorder=0
        )
        ax_eff.axvline(-min_important_difference, color=BENEFIT_COLOUR, linestyle="--", linewidth=1)
    ax_eff.set_title("Difference vs reference\n(grey band = not clinically meaningful)", fontsize=9)
    fig.text(
        0.0,
        -0.02,
        "Diamond = mean; thick bar = 50% interval; thin line = 90% interval; hatched grey = extrapolation.",
        fontsize=7,
    )
    if banner:
        fig.suptitle(banner, color=HARM_COLOUR, fontsize=10, fontweight="bold", y=1.0 + 0.5 / fig.get_figheight())
    ax_out.invert_yaxis()  # shared y: inverting once flips both panels, first alternative on top
    for ax in (ax_out, ax_eff):
        ax.tick_params(labelsize=8)
    for tick, e in zip(ax_out.get_yticklabels(), usable, strict=True):
        if e.code == chosen:
            tick.set_fontweight("bold")
    return _png(fig)


def icon_array_png(
    probability: float,
    *,
    kind: str = "benefit",
    interval: tuple[float, float] | None = None,
    n: int = 100,
    columns: int = 10,
) -> bytes:
    """A 10 x 10 icon array as PNG: solid = affected, light = may or may not be, grey = not affected."""
    sure, uncertain, _ = icon_counts(probability, n=n, interval=interval)
    solid = BENEFIT_COLOUR if kind == "benefit" else HARM_COLOUR
    light = PALETTE["sky"] if kind == "benefit" else "#F4B183"
    rows = int(np.ceil(n / columns))
    cell = 0.32  # inches per icon
    fig = Figure(figsize=(cell * columns, cell * rows))
    ax = fig.subplots()
    fig.subplots_adjust(0, 0, 1, 1)
    idx = np.arange(n)
    x, y = idx % columns, rows - 1 - idx // columns
    fills = [solid if i < sure else light if i < sure + uncertain else PALETTE["light_grey"] for i in idx]
    points = 72 * cell  # marker sizes are in points: scale them to the cell so icons never touch
    # Two scatter calls (head, body) instead of 2n patches: same picture, a tenth of the time.
    ax.scatter(x, y + 0.2, s=(0.3 * points) ** 2, c=fills, edgecolors="#555555", linewidths=0.5)
    ax.scatter(x, y - 0.17, s=(0.5 * points) ** 2, c=fills, edgecolors="#555555", linewidths=0.5, marker="o")
    ax.set_xlim(-0.6, columns - 0.4)
    ax.set_ylim(-0.6, rows - 0.4)
    ax.axis("off")
    return _png(fig)
