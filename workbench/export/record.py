"""Reading a signed decision's frozen estimates the same way in every export.

Exports never recompute anything: they show the numbers frozen with the decision (what the team
saw), so a PDF printed next year matches the FHIR bundle and the CSV to the last digit.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from workbench.review.decisions import ESTIMATE_COLUMNS, DecisionRecord
from workbench.scenario import ALTERNATIVE_LABELS

OUTCOME_LABEL = "HbA1c change at 6 months (mmol/mol)"
OUTCOME_UNIT = "mmol/mol"


@dataclass(frozen=True)
class Estimate:
    """One alternative's frozen numbers; ``None`` where the run did not provide them."""

    code: str
    label: str
    mean: float | None
    q05: float | None
    q25: float | None
    q75: float | None
    q95: float | None
    effect_mean: float | None
    effect_q05: float | None
    effect_q25: float | None
    effect_q75: float | None
    effect_q95: float | None
    p_benefit: float | None
    p_best: float | None
    overlap_warning: bool
    ae_mean: float | None
    ae_q05: float | None
    ae_q95: float | None


def _num(value: Any) -> float | None:
    if value is None:
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(out) else out


def estimates(record: DecisionRecord) -> list[Estimate]:
    """The alternatives in the order the team saw them."""
    rows = (record.estimates or {}).get("alternatives", {}) or {}
    out = []
    for code, row in rows.items():
        out.append(
            Estimate(
                code=str(code),
                label=str(row.get("label") or ALTERNATIVE_LABELS.get(str(code), str(code))),
                overlap_warning=bool(row.get("overlap_warning") or False),
                **{name: _num(row.get(name)) for name in ESTIMATE_COLUMNS if name not in ("label", "overlap_warning")},
            )
        )
    return out


def label_of(record: DecisionRecord, code: str | None) -> str:
    """Human label of an alternative code, from the frozen estimates first."""
    if code is None:
        return "none"
    for e in estimates(record):
        if e.code == code:
            return e.label
    return ALTERNATIVE_LABELS.get(code, code)


def chosen(record: DecisionRecord) -> Estimate | None:
    """The chosen alternative's estimate (None if the record carries no estimates)."""
    return next((e for e in estimates(record) if e.code == record.chosen_alternative), None)


def reference(record: DecisionRecord) -> str | None:
    """The reference alternative the effects are against."""
    ref = (record.estimates or {}).get("reference")
    return str(ref) if ref is not None else None


def mid(record: DecisionRecord) -> float | None:
    """The minimal clinically important difference used for P(benefit)."""
    return _num((record.estimates or {}).get("min_important_difference"))


def run_caveats(record: DecisionRecord) -> list[str]:
    """Run-level caveats (unreliable / approximate) the record must never lose."""
    est = record.estimates or {}
    out = []
    if est.get("approximate"):
        out.append("APPROXIMATE PREVIEW: the model run was a fast approximation, not a full fit.")
    elif est.get("reliable") is False:
        out.append("UNRELIABLE RUN: the model run failed its sampler diagnostics.")
    return out


def warnings(record: DecisionRecord) -> list[str]:
    """Every warning shown to the team, run-level caveats first."""
    return [*run_caveats(record), *[str(w) for w in (record.estimates or {}).get("warnings", []) or []]]


def signed(value: float | None, digits: int = 1) -> str:
    """A signed number with a true minus sign, or "n/a"."""
    if value is None:
        return "n/a"
    text = f"{value:+.{digits}f}" if round(value, digits) != 0 else f"{0:.{digits}f}"
    return text.replace("-", "−")


def percent(value: float | None) -> str:
    """A probability as a whole percent, or "n/a"."""
    return "n/a" if value is None else f"{100 * value:.0f}%"


def interval(lo: float | None, hi: float | None, digits: int = 1) -> str:
    """An interval "a to b", or "n/a"."""
    if lo is None or hi is None:
        return "n/a"
    return f"{signed(lo, digits)} to {signed(hi, digits)}"


def timestamp(value: Any) -> str:
    """A datetime as ISO 8601 in UTC (naive values are taken as UTC, as the store writes them)."""
    if value is None:
        return "n/a"
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)
