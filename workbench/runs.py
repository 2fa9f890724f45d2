"""Model runs on the stored cohort: fit (consenting patients only), record with provenance, approve, load.

Fitting is slow, so it runs outside any database transaction: the permission is checked first,
the cohort is read, the model sampled, and only then is the run recorded (one short transaction).
A case page shows a run only once a data scientist has approved it.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import select

from workbench.cohort import analysis_frame
from workbench.governance.roles import SYSTEM_ACTOR, Actor, require
from workbench.models import EffectData, TreatmentEffectModel, get_model
from workbench.models.comparison import Comparison, compare_runs
from workbench.models.validation import load_validation, validation_lines
from workbench.scenario import ALTERNATIVES, COVARIATES, OUTCOME_KIND, OUTCOMES
from workbench.store.service import Context, Workbench, service
from workbench.store.tables import ModelRun, ModelRunPatient

Progress = Callable[[str, int, int | None], None]


class RunError(RuntimeError):
    """A run cannot be fitted, approved or loaded as asked."""


def effect_data(frame: Any, outcome: str, *, reference: str) -> EffectData:
    """The stored cohort as a model's input: covariates, received alternative and one outcome."""
    rows = frame.dropna(subset=["treatment", outcome, *COVARIATES])
    present = tuple(a for a in ALTERNATIVES if a in set(rows["treatment"]))
    if reference not in present:
        raise RunError(f"no patient in the cohort received the reference alternative {reference!r}")
    return EffectData.from_frame(
        rows,
        treatment="treatment",
        outcome=outcome,
        covariates=COVARIATES,
        reference=reference,
        alternatives=list(present),
        outcome_kind=OUTCOME_KIND[outcome],  # type: ignore[arg-type]
        lower_is_better=True,
    )


@dataclass(frozen=True)
class FitRequest:
    """What to fit; defaults are the dashboard's."""

    model_name: str = "hierarchical"
    outcome: str = "hba1c_change"
    method: str = "nuts"
    seed: int = 20240601
    sampler_config: dict[str, Any] | None = None
    model_config: dict[str, Any] | None = None


def fit_run(wb: Workbench, actor: Actor, request: FitRequest, *, progressbar: bool = False) -> int:
    """Fit a registered model to the consenting cohort and record the run; returns its id."""
    require(actor, "model.fit")
    if request.outcome not in OUTCOMES:
        raise RunError(f"unknown outcome {request.outcome!r}; expected one of {sorted(OUTCOMES)}")
    with wb.read() as session:
        frame = analysis_frame(session, purpose="model_training")
    data = effect_data(frame, request.outcome, reference=wb.settings.reference_alternative)
    model: TreatmentEffectModel = get_model(request.model_name)(
        model_config=request.model_config, sampler_config=request.sampler_config
    )
    started = time.perf_counter()
    model.fit(data, method=request.method, random_seed=request.seed, progressbar=progressbar)  # type: ignore[arg-type]
    seconds = time.perf_counter() - started
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
    path = wb.settings.runs_dir / f"{stamp}-{request.model_name}-{request.outcome}.nc"
    model.save(path)
    return _record_run(wb, actor, model, request, path, seconds, list(data.patient_ids))


@service("model.fit")
def _record_run(
    ctx: Context,
    model: TreatmentEffectModel,
    request: FitRequest,
    path: Path,
    seconds: float,
    patients: list[str],
) -> int:
    diagnostics = model.diagnostics
    if diagnostics is None:
        raise RunError("the model has no diagnostics: fit it first")
    run = ModelRun(
        model_name=model.name,
        model_version=model.version,
        model_id=model.model_id,
        outcome=request.outcome,
        method=request.method,
        approximate=diagnostics.approximate,
        reliable=diagnostics.passed and not diagnostics.approximate,
        diagnostics=diagnostics.to_dict(),
        provenance={
            k: v
            for k, v in model.provenance.items()
            if k in {"packages", "seed", "sampler_config", "model_config", "fit_info", "sampler"}
        },
        data_hash=model.provenance["data_hash"],
        n_patients=len(patients),
        posterior_path=str(path.relative_to(ctx.wb.settings.runs_dir)),
        seed=request.seed,
        seconds=seconds,
        created_by=ctx.actor.username,
    )
    ctx.session.add(run)
    ctx.session.flush()
    ctx.session.add_all(ModelRunPatient(run_id=run.id, pseudonym=p) for p in patients)
    ctx.audit(
        "model.fitted",
        "model_run",
        run.id,
        model=model.name,
        version=model.version,
        outcome=request.outcome,
        patients=len(patients),
        reliable=run.reliable,
    )
    return run.id


@service("model.approve")
def approve_run(ctx: Context, run_id: int, note: str, *, accept_unreliable: bool = False) -> None:
    """Approve a run for the case pages (data scientist, with a note)."""
    run = ctx.session.get(ModelRun, run_id)
    if run is None:
        raise RunError(f"no model run #{run_id}")
    if not note.strip():
        raise RunError("an approval needs a note saying why the run is fit for use")
    if not run.reliable and not accept_unreliable:
        raise RunError(f"run #{run_id} failed its diagnostics; approve only with accept_unreliable=True")
    run.status = "approved"
    run.reviewed_by = ctx.actor.username
    run.reviewed_at = dt.datetime.now(dt.UTC)
    run.review_note = note
    ctx.audit("model.approved", "model_run", run_id, note=note, reliable=run.reliable)


def approved_run(wb: Workbench, outcome: str) -> ModelRun | None:
    """The newest approved run for an outcome: what the case page uses."""
    with wb.read() as session:
        return session.scalars(
            select(ModelRun)
            .where(ModelRun.outcome == outcome, ModelRun.status == "approved")
            .order_by(ModelRun.id.desc())
            .limit(1)
        ).first()


def list_runs(wb: Workbench) -> list[ModelRun]:
    """Every run, newest first."""
    with wb.read() as session:
        return list(session.scalars(select(ModelRun).order_by(ModelRun.id.desc())))


def run_patients(wb: Workbench, run_id: int) -> set[str]:
    """Pseudonyms a run was fitted on."""
    with wb.read() as session:
        return set(session.scalars(select(ModelRunPatient.pseudonym).where(ModelRunPatient.run_id == run_id)))


@lru_cache(maxsize=8)
def _load(path: str, model_name: str) -> TreatmentEffectModel:
    return get_model(model_name).load(path)


def load_run(wb: Workbench, run: ModelRun) -> TreatmentEffectModel:
    """The fitted model of a run (cached per process: posteriors load once)."""
    path = wb.settings.runs_dir / run.posterior_path
    if not path.exists():
        raise RunError(f"posterior file of run #{run.id} is missing")
    return _load(str(path), run.model_name)


def comparable_runs(wb: Workbench, run: ModelRun) -> list[ModelRun]:
    """Other full (not preview) runs fitted to exactly the same data as ``run``, newest first.

    Same outcome and same data hash (so the same patients and values): only such runs can be
    compared by how well they predict held-out outcomes.
    """
    return [
        r
        for r in list_runs(wb)
        if r.id != run.id and not r.approximate and r.outcome == run.outcome and r.data_hash == run.data_hash
    ]


def compare_with_comparable_runs(wb: Workbench, run: ModelRun) -> Comparison | None:
    """PSIS-LOO of ``run`` against the runs fitted to the same data; ``None`` when there are none.

    ``run`` is kept unless another predicts held-out outcomes clearly better
    (:func:`workbench.models.comparison.compare_runs`).  Previews are left out: PSIS reweights
    posterior draws, and a variational approximation's draws are not those.
    """
    others = comparable_runs(wb, run)
    if run.approximate or not others:
        return None
    runs = {f"#{r.id} {r.model_name} v{r.model_version}": r for r in [run, *others]}
    return compare_runs({label: load_run(wb, r) for label, r in runs.items()}, prefer=next(iter(runs)))


def ensure_demo_runs(wb: Workbench, *, progress: Progress | None = None) -> list[str]:
    """Fit and approve the default model on both outcomes when no approved run exists (demo only)."""
    lines = []
    for i, outcome in enumerate(OUTCOMES, start=1):
        if approved_run(wb, outcome) is not None:
            continue
        if progress:
            progress("fitting demo models", i - 1, len(OUTCOMES))
        run_id = fit_run(wb, SYSTEM_ACTOR, FitRequest(outcome=outcome))
        approve_run(
            wb,
            SYSTEM_ACTOR,
            run_id,
            "Demo deployment: approved automatically at set-up.",
            accept_unreliable=True,
        )
        lines.append(f"model run #{run_id} fitted and approved for {outcome}")
    return lines


@dataclass(frozen=True)
class ModelCard:
    """What a clinician should know before trusting a run: use, data, assumptions, limits, validation."""

    run_id: int
    title: str
    intended_use: str
    data: list[str]
    assumptions: list[str]
    limits: list[str]
    diagnostics: dict[str, Any]
    validation: dict[str, Any] | None
    #: the benchmark figures of this run's model in sentences, its misses first
    validation_summary: list[str]
    #: which benchmark run the figures come from (local, or recorded with the release)
    validation_source: str


def model_card(wb: Workbench, run: ModelRun) -> ModelCard:
    """The model card of a run; validation figures from the local benchmark run, else the recorded one."""
    validation, validation_source = load_validation(wb.settings.var_dir)
    diagnostics = dict(run.diagnostics)
    try:
        model_limits = list(get_model(run.model_name).card_limits)
    except KeyError:  # a model from a package no longer installed: its run still has a card
        model_limits = []
    reviewed = (
        f"approved by {run.reviewed_by} on {run.reviewed_at:%Y-%m-%d}: {run.review_note}"
        if run.status == "approved" and run.reviewed_at
        else "not approved"
    )
    return ModelCard(
        run_id=run.id,
        title=f"{run.model_name} v{run.model_version} on {run.outcome} (run #{run.id})",
        intended_use=(
            "Decision support for a multidisciplinary team choosing second-line therapy for type 2 diabetes "
            "after metformin: expected HbA1c change at 6 months and adverse-event risk under each alternative, "
            "with uncertainty. It informs; clinicians decide with the patient. Not for use outside adults "
            "with type 2 diabetes, or for alternatives and covariate ranges the data do not cover."
        ),
        data=[
            f"{run.n_patients} patients whose consent allows model training (others are left out and not listed).",
            f"Data hash {run.data_hash[:16]}…; patient list stored with the run.",
            f"Fitted {run.created_at:%Y-%m-%d %H:%M} UTC by {run.created_by}, seed {run.seed}, "
            f"method {run.method}, {run.seconds or 0:.0f} s; {reviewed}.",
        ],
        assumptions=[
            "No unmeasured confounding: every reason clinicians chose a treatment that also affects the outcome "
            "is among the covariates (age, sex, ethnicity, BMI, eGFR, HbA1c, duration, CVD, heart failure, "
            "deprivation).",
            "Overlap: patients like this one received each alternative; where they did not (estimated propensity "
            "below 5% or above 95%), the estimate is flagged as an extrapolation.",
            "One patient's treatment does not change another's outcome (SUTVA); outcomes measured at ~6 months.",
            "The model's functional form and priors (see docs/models.md).",
        ],
        limits=[
            "Observational data: estimates are associations adjusted for measured confounders, not trial results.",
            "Individual estimates are uncertain; the intervals say how much. P(best) is not P(benefit).",
            "Adverse events are modelled as one binary outcome; their kinds differ by drug.",
            "Patients who declined model training are not represented.",
            *model_limits,
        ],
        diagnostics=diagnostics,
        validation=validation,
        validation_summary=validation_lines(validation, run.model_name, run.model_version),
        validation_source=validation_source,
    )
