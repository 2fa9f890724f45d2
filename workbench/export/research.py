"""Research exports: the de-identified analysis table of patients who consented to research.

Each export re-keys patients with a study-specific pseudonym (HMAC of the workbench pseudonym under
the deployment key and the export's id), so two exports cannot be linked to each other or to the
workbench without the key.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from workbench.cohort import analysis_frame
from workbench.deid.pseudonym import pseudonymise
from workbench.store.service import Context, service


@service("export.research")
def research_export(ctx: Context, *, study: str) -> pd.DataFrame:
    """Analysis table for ``study``: research-consenting patients only, study-keyed ids; audited."""
    if not study.strip():
        raise ValueError("a research export needs a study name")
    frame = analysis_frame(ctx.session, purpose="research")
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    key = f"research:{study.strip()}:{stamp}"
    frame.index = pd.Index([pseudonymise(ctx.wb.secret, "patient", f"{key}:{p}") for p in frame.index], name="study_id")
    ctx.audit("export.research", "study", study.strip(), patients=len(frame), key=stamp)
    return frame
