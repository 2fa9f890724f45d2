"""What the home page and ``workbench status`` say about a deployment: no PHI, only counts and runs."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select

from workbench.store.db import current_revision, head_revision
from workbench.store.service import Workbench
from workbench.store.tables import ImportJob, Meeting, ModelRun, Note, Patient


@dataclass(frozen=True)
class RunBrief:
    """The few facts about a model run that every surface names."""

    id: int
    model_name: str
    model_version: str
    outcome: str
    status: str
    reliable: bool
    approximate: bool
    created_at: str


@dataclass(frozen=True)
class Status:
    """Counts and the latest run, plus what to do next when something is missing."""

    database: str
    schema_revision: str | None
    schema_current: bool
    n_patients: int
    n_notes: int
    n_imports: int
    n_meetings: int
    latest_run: RunBrief | None
    approved_run: RunBrief | None
    next_steps: list[str] = field(default_factory=list)
    # The run each outcome's case pages use (the newest approved one per outcome): a meeting
    # sees the glycaemic and the adverse-event model side by side, so both are named.
    approved_runs: list[RunBrief] = field(default_factory=list)


def run_brief(run: ModelRun | None) -> RunBrief | None:
    """The facts about a run that every surface names (None stays None)."""
    if run is None:
        return None
    return RunBrief(
        id=run.id,
        model_name=run.model_name,
        model_version=run.model_version,
        outcome=run.outcome,
        status=run.status,
        reliable=run.reliable,
        approximate=run.approximate,
        created_at=run.created_at.strftime("%Y-%m-%d %H:%M"),
    )


def deployment_status(wb: Workbench) -> Status:
    """Summarise the deployment for the home page."""
    with wb.read() as session:
        n_patients = (
            session.scalar(select(func.count()).select_from(Patient).where(Patient.erased_at.is_(None))) or 0
        )
        n_notes = session.scalar(select(func.count()).select_from(Note)) or 0
        n_imports = session.scalar(select(func.count()).select_from(ImportJob)) or 0
        n_meetings = session.scalar(select(func.count()).select_from(Meeting)) or 0
        latest = session.scalars(select(ModelRun).order_by(ModelRun.id.desc()).limit(1)).first()
        approved_all = session.scalars(
            select(ModelRun).where(ModelRun.status == "approved").order_by(ModelRun.id.desc())
        ).all()
        per_outcome: dict[str, ModelRun] = {}
        for run in approved_all:
            per_outcome.setdefault(run.outcome, run)
        approved = approved_all[0] if approved_all else None
    revision = current_revision(wb.url)
    steps: list[str] = []
    if n_patients == 0:
        steps.append(
            "Import an extract: `workbench import PATH` or the Import page "
            "(`make run` seeds the demo cohort)."
        )
    if latest is None and n_patients:
        steps.append(
            "Fit a model: `workbench fit` (data scientist), then approve the run on the Model & data page."
        )
    elif latest is not None and approved is None:
        steps.append("Approve a model run (data scientist) so the case pages can show its estimates.")
    if n_meetings == 0 and n_patients:
        steps.append("Create a meeting and add cases on the Meetings page.")
    return Status(
        database=wb.settings.describe_database(),
        schema_revision=revision,
        schema_current=revision == head_revision(),
        n_patients=n_patients,
        n_notes=n_notes,
        n_imports=n_imports,
        n_meetings=n_meetings,
        latest_run=run_brief(latest),
        approved_run=run_brief(approved),
        next_steps=steps,
        approved_runs=[b for r in sorted(per_outcome.values(), key=lambda r: r.outcome) if (b := run_brief(r))],
    )
