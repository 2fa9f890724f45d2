"""What the benchmarks found about a model, in sentences for its model card.

`benchmarks/models_bench.py --save var/validation.json` scores every model on data with a known truth
(the demo cohort, ACIC 2016).  The approver of a run should not have to read that JSON to learn that a
model's intervals were too narrow somewhere, so this turns the file's figures for one model into a few
plain lines, the misses first.  Only figures the file holds are quoted; nothing here is a constant.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

#: Where 90 % intervals of the true individual effects should land (issue 4's target).
COVERAGE_WINDOW = (0.85, 0.97)
#: How a sentence reporting intervals too narrow on a benchmark starts (what an approver must see).
TOO_NARROW = "TOO NARROW"
#: The benchmark's ACIC 2016 figures: on a subsample of rows, and on all of them (``--acic-rows 0``).
ACIC_BLOCKS = ("acic2016", "acic2016_all_rows")
#: What ``make bench`` writes in a deployment's var directory.
VALIDATION_FILE = "validation.json"
#: The figures of the benchmark run recorded with this release, so that a card has them before any
#: local run (``make bench`` takes an hour or more); a local run replaces them.
RECORDED_VALIDATION = Path(__file__).with_name("recorded_validation.json")


def load_validation(var_dir: Path) -> tuple[dict[str, Any] | None, str]:
    """The benchmark figures a card should quote, and where they come from (local run first)."""
    for path, source in (
        (var_dir / VALIDATION_FILE, "this deployment's benchmark run (make bench)"),
        (RECORDED_VALIDATION, "the benchmark run recorded with this release"),
    ):
        if path.exists():
            figures = json.loads(path.read_text())
            machine = figures.get("machine", {})
            where = f"{machine.get('cpus', '?')} CPUs" if machine else "machine not recorded"
            return figures, f"{source}, {figures.get('generated_at', 'date not recorded')}, {where}"
    return None, ""


def _pct(x: float) -> str:
    return f"{100 * x:.0f} %"


def _span(values: list[float]) -> str:
    return _pct(min(values)) if min(values) == max(values) else f"{_pct(min(values))}-{_pct(max(values))}"


def _version_note(figures: list[Mapping[str, Any]], version: str | None) -> str:
    seen = {str(f["model_version"]) for f in figures if "model_version" in f}
    if version is None:
        return ""
    if not seen:
        return " (model version not recorded)"
    if seen != {version}:
        return f" (figures of version {', '.join(sorted(seen))}; this run is version {version}: rerun the benchmark)"
    return ""


def _demo_lines(block: Mapping[str, Any], model: str, version: str | None) -> list[str]:
    lines = []
    for outcome, by_model in block.get("results", {}).items():
        by_seed = by_model.get(model)
        if not by_seed:
            continue
        cover = [a["coverage90"] for fig in by_seed.values() for a in fig["alternatives"].values()]
        lo, hi = COVERAGE_WINDOW
        inside = sum(lo <= c <= hi for c in cover)
        mean = sum(cover) / len(cover)
        lines.append(
            f"Demo cohort, {outcome} ({len(by_seed)} cohort{'s' if len(by_seed) > 1 else ''} x "
            f"{len(cover) // len(by_seed)} alternatives): "
            f"90 % intervals covered {_span(cover)} of the true individual effects, mean {_pct(mean)}; "
            f"{inside} of {len(cover)} inside {_pct(lo)}-{_pct(hi)}"
            + _version_note(list(by_seed.values()), version)
            + "."
        )
    return lines


def _acic_label(block: Mapping[str, Any]) -> str:
    """The benchmark name with the rows fitted: coverage depends on them (more rows, a narrower posterior)."""
    n, of = block.get("rows"), block.get("of_rows")
    if n is None:
        return "ACIC 2016"
    if of is not None and n == of:
        return f"ACIC 2016 (all {n:,} rows)"
    return f"ACIC 2016 ({n:,} rows{f' of {of:,}' if of else ''})"


def _acic_lines(block: Mapping[str, Any], model: str, version: str | None) -> list[str]:
    rows = {s: r for s, r in block.get("settings", {}).items() if model in r}
    if not rows:
        return []
    acic = _acic_label(block)
    lo, hi = COVERAGE_WINDOW
    varying = {s: r[model] for s, r in rows.items() if r[model].get("truth_sd", 1.0) > 0}
    narrow = [f"{s} ({_pct(f['coverage90'])})" for s, f in varying.items() if f["coverage90"] < lo]
    wide = [f"{s} ({_pct(f['coverage90'])})" for s, f in varying.items() if f["coverage90"] > hi]
    better = sum(r[model]["sqrt_pehe"] < r["linear_t_learner"]["sqrt_pehe"] for r in rows.values())
    failed = [s for s, r in rows.items() if r[model].get("passed") is False]
    lines = []
    if narrow:
        lines.append(
            f"{TOO_NARROW} on {acic} settings {', '.join(narrow)}: there its 90 % intervals missed the true "
            "effect of more patients than 90 % intervals should."
        )
    if varying:
        cover = [f["coverage90"] for f in varying.values()]
        lines.append(
            f"{acic}, {len(varying)} settings whose true effect varies: coverage {_span(cover)}, "
            f"{len(cover) - len(narrow) - len(wide)} of {len(cover)} inside {_pct(lo)}-{_pct(hi)}"
            + (f"; too wide on {', '.join(wide)}" if wide else "")
            + _version_note([r[model] for r in rows.values()], version)
            + "."
        )
    lines.append(
        f"{acic}: individual effects closer to the truth than a linear T-learner's (sqrt(PEHE)) on "
        f"{better} of {len(rows)} settings"
        + (f"; sampler diagnostics failed on setting(s) {', '.join(failed)}" if failed else "")
        + "."
    )
    return lines


def validation_lines(validation: Mapping[str, Any] | None, model: str, version: str | None = None) -> list[str]:
    """Sentences on ``model``'s benchmark figures, misses first; empty when the file has none for it."""
    if not validation:
        return []
    acic = [line for key in ACIC_BLOCKS for line in _acic_lines(validation.get(key, {}), model, version)]
    demo = _demo_lines(validation.get("demo_recovery", {}), model, version)
    narrow = misses(acic)
    return narrow + demo + [line for line in acic if line not in narrow]


def misses(lines: list[str]) -> list[str]:
    """The sentences that report intervals too narrow somewhere: shown where a run is approved."""
    return [line for line in lines if line.startswith(TOO_NARROW)]
