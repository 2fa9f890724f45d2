"""What the home page tells the meeting about the data behind every estimate (counts only, no PHI)."""

from __future__ import annotations

import pandas as pd

from workbench.cohort import cached_analysis_frame
from workbench.scenario import ALTERNATIVE_LABELS
from workbench.store.service import Workbench


def alternatives_received(wb: Workbench) -> pd.DataFrame:
    """Patients of the model-training cohort by the alternative they received, largest group first.

    Columns ``alternative, label, patients``. An estimate for an alternative few patients received
    rests on little data, so its interval is wider: the meeting should know the group sizes before it
    reads any one patient's comparison. The frame is the cached one the case page uses.
    """
    with wb.read() as session:
        frame = cached_analysis_frame(session, purpose="model_training")
    if frame.empty or "treatment" not in frame.columns:
        return pd.DataFrame(columns=["alternative", "label", "patients"])
    counts = frame["treatment"].dropna().astype(str).value_counts(sort=False)
    out = (
        counts.rename("patients")
        .rename_axis("alternative")
        .reset_index()
        .sort_values(["patients", "alternative"], ascending=[False, True], kind="stable", ignore_index=True)
    )
    out.insert(1, "label", [ALTERNATIVE_LABELS.get(a, a) for a in out["alternative"]])
    return out
