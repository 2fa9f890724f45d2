"""The ``workbench`` command: set-up, import, de-identification, fitting, export and governance.

Each subcommand is a thin wrapper over a package function, so the dashboard, notebooks and the CLI
share one code path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from workbench.store.service import Workbench

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from workbench.governance.roles import Actor

app = typer.Typer(help="Case Review Workbench command line.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit trail.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
console = Console(stderr=True)


@app.command()
def status() -> None:
    """Show the database in use, counts and the latest model run (no patient data)."""
    from workbench.status import deployment_status

    st = deployment_status(Workbench())
    console.print(f"database: {st.database} (schema {st.schema_revision})")
    console.print(f"patients: {st.n_patients}  notes: {st.n_notes}  meetings: {st.n_meetings}")
    runs = st.approved_runs or ([st.latest_run] if st.latest_run else [])
    if not runs:
        console.print("model run: none")
    for run in runs:
        console.print(f"model run: #{run.id} {run.model_name} v{run.model_version} on {run.outcome}, {run.status}")
    for step in st.next_steps:
        console.print(f"next: {step}")


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the hash chain; exit 1 and name the first broken link if any row was altered."""
    from workbench.governance.audit import verify_chain

    wb = Workbench()
    with wb.read() as session:
        report = verify_chain(session)
    if report.ok:
        console.print(f"audit trail intact: {report.n_events} events")
        return
    console.print(f"[red]audit trail BROKEN at event {report.broken_seq}: {report.problem}[/red]")
    raise typer.Exit(1)


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Folder to write the extract into.")],
    patients: Annotated[int, typer.Option(help="Number of patients.")] = 2000,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same bytes).")] = 20240601,
) -> None:
    """Write a synthetic hospital extract (CSV tables and FHIR R4 bundles) with known truth."""
    from rich.progress import Progress

    from workbench.demo import generate_cohort, write_extract

    cohort = generate_cohort(patients, seed)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("writing extract", total=patients)
        files = write_extract(cohort, out, progress=lambda n: progress.advance(task, n))
    console.print(f"wrote demo extract for {patients} patients to {out}")
    del files


def _progress_bar() -> tuple[Progress, Callable[[str, int, int | None], None]]:
    """A Rich progress bar as the ``(stage, done, total)`` callback the package functions take."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    tasks: dict[str, TaskID] = {}

    def update(stage: str, done: int, total: int | None) -> None:
        if stage not in tasks:
            tasks[stage] = progress.add_task(stage, total=total)
        progress.update(tasks[stage], completed=done, total=total)

    return progress, update


def _report_violations(error: Exception) -> None:
    console.print(f"[red]import refused, nothing stored:[/red]\n{escape(str(error))}")


@contextmanager
def _refusals(*expected: type[Exception]) -> Iterator[None]:
    """Turn an expected refusal into one red line and exit code 2 instead of a traceback.

    Expected: no permission, an unknown pseudonym or id, a bad argument. Anything else still raises.
    """
    caught: tuple[type[Exception], ...] = (PermissionError, *expected)
    try:
        yield
    except caught as error:
        # str(KeyError("x")) quotes its message; the message itself reads better.
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        console.print(f"[red]refused:[/red] {escape(str(message))}")
        raise typer.Exit(2) from None


@app.command("import")
def import_(
    paths: Annotated[list[Path], typer.Argument(help="CSV extract folders, FHIR Bundle files or folders.")],
    workers: Annotated[int, typer.Option(help="Worker processes for de-identification.")] = 1,
) -> None:
    """Import extracts: contract check, de-identify, then store all-or-nothing (re-imports add nothing)."""
    from workbench.contracts import ContractError
    from workbench.governance.roles import SYSTEM_ACTOR
    from workbench.ingest import import_paths
    from workbench.ingest.job import ImportInputError

    wb = Workbench()
    progress, update = _progress_bar()
    try:
        with progress:
            report = import_paths(wb, SYSTEM_ACTOR, paths, progress=update, n_process=workers)
    except (ContractError, ImportInputError) as error:
        _report_violations(error)
        raise typer.Exit(2) from None
    console.print(
        f"{report.status}: {report.n_patients} patients, {report.n_notes} notes "
        f"({report.notes_touched} with identifiers removed)"
    )
    for kind, count in report.identifiers_in_notes.items():
        console.print(f"  {kind}: {count}")
    if report.skipped_resources:
        skipped = ", ".join(f"{k} {v}" for k, v in report.skipped_resources.items())
        console.print(f"skipped resource types (outside the supported subset): {skipped}")


@app.command()
def deid(
    input: Annotated[str, typer.Option("--input", help="JSONL with {id, text} per line, or - for stdin.")],
    output: Annotated[str, typer.Option("--output", help="Where to write JSONL, or - for stdout.")],
) -> None:
    """De-identify free text: {id, text} in, {id, text, entities[type, start, end, score]} out, in order."""
    import sys

    from workbench.deid import DeidInputError, deidentify_jsonl

    source = sys.stdin if input == "-" else open(input, encoding="utf-8")
    target = sys.stdout if output == "-" else open(output, "w", encoding="utf-8")
    try:
        n = deidentify_jsonl(source, target)
    except DeidInputError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None
    finally:
        if source is not sys.stdin:
            source.close()
        if target is not sys.stdout:
            target.close()
    console.print(f"de-identified {n} texts")


@app.command()
def init(
    demo: Annotated[bool, typer.Option(help="Seed the demo cohort when the database has no patients.")] = False,
    patients: Annotated[int, typer.Option(help="Demo cohort size.")] = 2000,
    seed: Annotated[int, typer.Option(help="Demo cohort seed.")] = 20240601,
) -> None:
    """Create or migrate the database; with --demo, import the demo cohort and create demo accounts."""
    from workbench.setup import initialise

    wb = Workbench()
    progress, update = _progress_bar()
    with progress:
        summary = initialise(wb, demo=demo, n_patients=patients, seed=seed, progress=update)
    for line in summary:
        console.print(line)


def _actor(username: str | None) -> Actor:
    """The CLI acts as a named account (its role applies) or, without one, as the system process."""
    from sqlalchemy import select

    from workbench.governance.roles import SYSTEM_ACTOR, Actor, Role
    from workbench.store.tables import User

    if not username:
        return SYSTEM_ACTOR
    with Workbench().read() as session:
        user = session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    if user is None:
        console.print(f"[red]no active account {username!r}[/red]")
        raise typer.Exit(2)
    return Actor(user.username, Role(user.role), user.display_name)


AsUser = Annotated[str | None, typer.Option("--as", help="Act as this account (its role applies).")]


@app.command()
def fit(
    model: Annotated[str, typer.Option(help="Registered model name (see `workbench models`).")] = "hierarchical",
    outcome: Annotated[str, typer.Option(help="hba1c_change or adverse_event.")] = "hba1c_change",
    method: Annotated[str, typer.Option(help="nuts (nutpie), pymc (PyMC NUTS) or preview (ADVI).")] = "nuts",
    seed: Annotated[int, typer.Option(help="Random seed.")] = 20240601,
    draws: Annotated[int | None, typer.Option(help="Posterior draws per chain.")] = None,
    tune: Annotated[int | None, typer.Option(help="Tuning steps per chain.")] = None,
    approve: Annotated[str | None, typer.Option(help="Approve the run with this note.")] = None,
    as_user: AsUser = None,
) -> None:
    """Fit a registered model to the stored cohort (patients who allow model training) and record the run."""
    from workbench.runs import FitRequest, RunError, approve_run, fit_run

    wb = Workbench()
    actor = _actor(as_user)
    sampler = {k: v for k, v in {"draws": draws, "tune": tune}.items() if v is not None}
    with _refusals(RunError, KeyError):
        run_id = fit_run(
            wb,
            actor,
            FitRequest(model_name=model, outcome=outcome, method=method, seed=seed, sampler_config=sampler or None),
            progressbar=True,
        )
    console.print(f"model run #{run_id} recorded")
    if approve:
        with _refusals(RunError):
            approve_run(wb, actor, run_id, approve, accept_unreliable=False)
        console.print(f"model run #{run_id} approved")


@app.command()
def models() -> None:
    """List the registered models (built-ins, entry points, notebook registrations)."""
    from workbench.models import available_models

    for name, cls in sorted(available_models().items()):
        console.print(f"{name}\t{cls.__module__}.{cls.__qualname__} v{cls.version}")


@app.command()
def effects(
    data: Annotated[Path, typer.Option(help="CSV table, one row per unit.")],
    treatment: Annotated[str, typer.Option(help="Binary treatment column.")],
    outcome: Annotated[str, typer.Option(help="Outcome column.")],
    output: Annotated[Path, typer.Option(help="Folder for effects.csv and summary.json.")],
    covariates: Annotated[str | None, typer.Option(help="Comma-separated covariates (default: all others).")] = None,
    predict: Annotated[Path | None, typer.Option(help="CSV of new rows to predict effects for.")] = None,
    model: Annotated[str, typer.Option(help="Registered model name.")] = "bcf",
    seed: Annotated[int, typer.Option(help="Random seed.")] = 1,
) -> None:
    """Fit a flat table with a binary treatment; write per-row effects with intervals (stable contract)."""
    from workbench.models.effects import run_effects

    summary = run_effects(
        data,
        treatment=treatment,
        outcome=outcome,
        output_dir=output,
        covariates=covariates.split(",") if covariates else None,
        predict_csv=predict,
        model=model,
        seed=seed,
    )
    ate = summary["average_effect"]
    reliability = "" if summary["reliable"] else " (UNRELIABLE: diagnostics failed)"
    console.print(
        f"wrote {output / 'effects.csv'}; average effect {ate['mean']:.3f} "
        f"(90% interval {ate['q05']:.3f} to {ate['q95']:.3f}){reliability}"
    )


@app.command()
def export(
    decision: Annotated[int | None, typer.Option(help="Decision id: writes its PDF and FHIR bundle.")] = None,
    meeting: Annotated[int | None, typer.Option(help="Meeting id: writes the CSV of its decisions.")] = None,
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("exports"),
    as_user: AsUser = None,
) -> None:
    """Export documented decisions: PDF for people, FHIR R4 JSON for systems, CSV per meeting."""
    from workbench.export.service import ExportError, export_decision, export_meeting_csv

    wb = Workbench()
    actor = _actor(as_user)
    if decision is None and meeting is None:
        console.print("[red]give --decision or --meeting[/red]")
        raise typer.Exit(2)
    with _refusals(ExportError):
        if decision is not None:
            for kind, path in export_decision(wb, actor, decision, out).items():
                console.print(f"{kind}: {path}")
        if meeting is not None:
            console.print(f"csv: {export_meeting_csv(wb, actor, meeting, out)}")


@app.command()
def erase(
    pseudonym: str,
    reason: Annotated[str, typer.Option(help="Why (recorded in the audit trail).")],
    as_user: AsUser = None,
) -> None:
    """Erase a patient's clinical data, notes and vault entry (privacy officer); decisions stay."""
    from workbench.governance.privacy import PrivacyError, erase_patient

    with _refusals(PrivacyError):
        result = erase_patient(Workbench(), _actor(as_user), pseudonym, reason=reason)
    console.print(f"erased {pseudonym}: {result['removed']}")
    if result["runs_to_refit"]:
        console.print(f"model runs fitted on this patient (refit them): {result['runs_to_refit']}")


@app.command()
def reidentify(
    pseudonym: str,
    reason: Annotated[str, typer.Option(help="Why (recorded in the audit trail).")],
    as_user: AsUser = None,
) -> None:
    """Show who a pseudonym is (privacy officer only; audited)."""
    from workbench.governance.privacy import PrivacyError
    from workbench.governance.privacy import reidentify as reidentify_

    with _refusals(PrivacyError):
        identity = reidentify_(Workbench(), _actor(as_user), pseudonym, reason=reason)
    for key, value in identity.items():
        typer.echo(f"{key}: {value}")


@app.command()
def consent(
    pseudonym: str,
    purpose: Annotated[str, typer.Option(help="care, model_training or research.")],
    granted: Annotated[bool, typer.Option("--granted/--declined", help="The patient's choice.")],
    reason: Annotated[str, typer.Option(help="Why it changed.")] = "",
    as_user: AsUser = None,
) -> None:
    """Record a consent change for one use (privacy officer; audited)."""
    from workbench.governance.consent import set_consent

    with _refusals(LookupError, ValueError):
        set_consent(Workbench(), _actor(as_user), pseudonym, purpose, granted, reason=reason)
    console.print(f"{pseudonym}: {purpose} {'granted' if granted else 'declined'}")


@app.command()
def retention(
    days: Annotated[
        int | None, typer.Option(help="Purge data older than this (default WORKBENCH_RETENTION_DAYS).")
    ] = None,
    as_user: AsUser = None,
) -> None:
    """Erase patients whose data are older than the retention age."""
    from workbench.governance.privacy import purge_older_than

    wb = Workbench()
    age = days or wb.settings.retention_days
    if not age:
        console.print("[red]no retention age: pass --days or set WORKBENCH_RETENTION_DAYS[/red]")
        raise typer.Exit(2)
    with _refusals(ValueError):
        purged = purge_older_than(wb, _actor(as_user), age)
    console.print(f"purged {len(purged)} patients")


users_app = typer.Typer(help="Local accounts.", no_args_is_help=True)
app.add_typer(users_app, name="users")


@users_app.command("add")
def users_add(
    username: str,
    role: Annotated[str, typer.Option(help="clinician, chair, data_scientist, privacy_officer or admin.")],
    name: Annotated[str, typer.Option(help="Display name.")],
    discipline: Annotated[str | None, typer.Option(help="Discipline, e.g. Diabetology.")] = None,
    as_user: AsUser = None,
) -> None:
    """Create an account; the password is asked for (never an argument, so it stays out of shell history)."""
    from workbench.governance.roles import Role
    from workbench.governance.users import create_user

    roles = [r.value for r in Role]
    if role not in roles:
        console.print(f"[red]refused:[/red] unknown role {escape(repr(role))}; expected one of {escape(str(roles))}")
        raise typer.Exit(2)
    password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    with _refusals(ValueError):
        create_user(
            Workbench(),
            _actor(as_user),
            username=username,
            display_name=name,
            role=Role(role),
            password=password,
            discipline=discipline,
        )
    console.print(f"account {username} ({role}) created")


@users_app.command("list")
def users_list() -> None:
    """List accounts (no password hashes)."""
    from workbench.governance.users import list_users

    for user in list_users(Workbench()):
        state = "active" if user["active"] else "inactive"
        console.print(f"{user['username']}\t{user['role']}\t{user['display_name']}\t{state}")


if __name__ == "__main__":
    app()
