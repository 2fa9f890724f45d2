"""How every surface names a model run and says how far its numbers can be trusted.

One wording for the home page, the case page and the model page, so a run is never "reliable" on one
screen and "diagnostics passed" on another. Light on purpose (no model or plotting imports): the home
page uses it before anything heavy is loaded.
"""

from __future__ import annotations

from collections.abc import Mapping

from workbench.status import RunBrief

#: What a run's diagnostics allow, in plain words (the case page's caveat box gives the reasons).
QUALITY = {
    "approximate": "APPROXIMATE PREVIEW: not a full fit, intervals may be too narrow",
    "unreliable": "DIAGNOSTICS FAILED: treat its numbers as unreliable",
    "reliable": "diagnostics passed",
}
#: The same verdicts as one word, for compact labels (a select box).
QUALITY_SHORT = {"approximate": "APPROXIMATE", "unreliable": "UNRELIABLE", "reliable": "diagnostics passed"}


def run_verdict(run: RunBrief) -> str:
    """``approximate``, ``unreliable`` or ``reliable``: an approximate preview is never called reliable."""
    if run.approximate:
        return "approximate"
    return "reliable" if run.reliable else "unreliable"


def run_quality(run: RunBrief, *, short: bool = False) -> str:
    """The run's diagnostics verdict in words (upper case when its numbers need care)."""
    return (QUALITY_SHORT if short else QUALITY)[run_verdict(run)]


def run_line(run: RunBrief, outcome_labels: Mapping[str, str] | None = None) -> str:
    """One line naming a run: number, model and version, outcome, fit date, status and diagnostics verdict.

    Markdown: the verdict is bold when the numbers need care, so it is seen on a shared screen.
    """
    outcome = (outcome_labels or {}).get(run.outcome, run.outcome)
    quality = run_quality(run)
    if run_verdict(run) != "reliable":
        quality = f"**{quality}**"
    return (
        f"Model run #{run.id}: {run.model_name} model v{run.model_version} on {outcome}, "
        f"fitted {run.created_at} UTC, {run.status}, {quality}"
    )
