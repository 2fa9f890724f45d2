"""The ``workbench`` command: set-up, import, de-identification, fitting, export and governance.

Each subcommand is a thin wrapper over a package function, so the dashboard, notebooks and the CLI
share one code path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from workbench.store.service import Workbench

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
    run = st.approved_run or st.latest_run
    console.print(f"model run: {'none' if run is None else f'#{run.id} {run.model_name} {run.status}'}")
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


if __name__ == "__main__":
    app()
