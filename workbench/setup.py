"""First-run set-up: migrate, and for the demo deployment seed the cohort, accounts and a meeting.

The demo cohort goes through the real import path (contracts, de-identification, one transaction),
so what the dashboard shows on `make run` is exactly what a hospital extract would become.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, select

from workbench.governance.roles import SYSTEM_ACTOR, Role
from workbench.governance.users import create_user
from workbench.store.service import Workbench
from workbench.store.tables import Patient, User

#: Demo accounts, for the synthetic demo cohort only (documented in the README). A real deployment
#: creates its first admin with `workbench users add` and lets the admin create the others.
DEMO_ACCOUNTS = [
    ("chair", "Dr Morgan Chair (demo)", Role.CHAIR, "Diabetology"),
    ("clinician", "Dr Sam Clinician (demo)", Role.CLINICIAN, "Diabetology"),
    ("pharmacist", "Alex Pharmacist (demo)", Role.CLINICIAN, "Pharmacy"),
    ("datasci", "Riley Data Scientist (demo)", Role.DATA_SCIENTIST, "Data science"),
    ("privacy", "Jordan Privacy Officer (demo)", Role.PRIVACY_OFFICER, "Information governance"),
    ("admin", "Casey Admin (demo)", Role.ADMIN, None),
]
DEMO_PASSWORD_SUFFIX = "-demo-pass"  # noqa: S105 - synthetic demo deployment only

Progress = Callable[[str, int, int | None], None]


def demo_password(username: str) -> str:
    """Demo accounts' password: the username followed by ``-demo-pass`` (demo cohort only)."""
    return f"{username}{DEMO_PASSWORD_SUFFIX}"


def ensure_demo_accounts(wb: Workbench) -> list[str]:
    """Create the demo accounts that do not exist yet; return the usernames created."""
    created = []
    with wb.read() as session:
        existing = set(session.scalars(select(User.username)))
    for username, name, role, discipline in DEMO_ACCOUNTS:
        if username not in existing:
            create_user(
                wb,
                SYSTEM_ACTOR,
                username=username,
                display_name=name,
                role=role,
                password=demo_password(username),
                discipline=discipline,
            )
            created.append(username)
    return created


def initialise(
    wb: Workbench,
    *,
    demo: bool,
    n_patients: int = 2000,
    seed: int = 20240601,
    progress: Progress | None = None,
    fit: bool = True,
) -> list[str]:
    """Bring a deployment to a usable state; returns lines to print (no patient data)."""
    lines = [f"database ready: {wb.settings.describe_database()}"]
    if not demo:
        return lines
    with wb.read() as session:
        n_existing = session.scalar(select(func.count()).select_from(Patient)) or 0
    if n_existing == 0:
        from workbench.demo import generate_cohort, write_extract
        from workbench.ingest import import_paths

        extract = wb.settings.var_dir / "demo-extract"
        write_extract(generate_cohort(n_patients, seed), extract, formats=("csv",))
        report = import_paths(wb, SYSTEM_ACTOR, [Path(extract) / "csv"], progress=progress)
        lines.append(
            f"demo cohort imported: {report.n_patients} patients, {report.n_notes} letters de-identified"
        )
    created = ensure_demo_accounts(wb)
    if created:
        lines.append(
            "demo accounts (demo cohort only): "
            + ", ".join(created)
            + f"; password = username + '{DEMO_PASSWORD_SUFFIX}', e.g. chair / {demo_password('chair')}"
        )
    if fit:
        from workbench.runs import ensure_demo_runs

        lines += ensure_demo_runs(wb, progress=progress)
    return lines
