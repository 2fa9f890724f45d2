"""Shared fixtures: real SQLite files, a real PostgreSQL server, a real Streamlit server and Chromium."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from workbench.config import Settings
from workbench.store.db import dispose_engine
from workbench.store.service import Workbench
from workbench.testing import SMALL_COHORT, SMALL_SEED, PostgresServer, postgres_server

_db_counter = itertools.count()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    """One PostgreSQL 15 cluster for the whole test session (never skipped: make test installs it)."""
    with postgres_server() as server:
        yield server


def make_settings(home: Path, url: str | None = None) -> Settings:
    return Settings(home=home, database_url=url or f"sqlite:///{home / 'var' / 'workbench.db'}")


@pytest.fixture
def sqlite_wb(tmp_path: Path) -> Iterator[Workbench]:
    wb = Workbench(make_settings(tmp_path))
    yield wb
    dispose_engine(wb.url)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_wb(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Workbench]:
    """The same test on a SQLite file and on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        url = None
    else:
        server: PostgresServer = request.getfixturevalue("pg_server")
        url = server.create_database(f"wb{next(_db_counter)}")
    wb = Workbench(make_settings(tmp_path, url))
    yield wb
    dispose_engine(wb.url)


@pytest.fixture(scope="session")
def small_extract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 40-patient demo extract (CSV tables, FHIR bundles, truth), written once per test session."""
    from workbench.demo import generate_cohort, write_extract

    out = tmp_path_factory.mktemp("extract")
    write_extract(generate_cohort(SMALL_COHORT, SMALL_SEED), out)
    return out


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory, small_extract: Path) -> Path:
    """A deployment home with the small cohort imported (real Presidio) and the demo accounts."""
    from workbench.governance.roles import SYSTEM_ACTOR
    from workbench.ingest import import_paths
    from workbench.setup import ensure_demo_accounts

    home = tmp_path_factory.mktemp("seeded")
    wb = Workbench(make_settings(home))
    import_paths(wb, SYSTEM_ACTOR, [small_extract / "csv"])
    ensure_demo_accounts(wb)
    dispose_engine(wb.url)
    return home


@pytest.fixture
def seeded_wb(seeded_template: Path, tmp_path: Path) -> Iterator[Workbench]:
    """A private copy of the seeded deployment (SQLite file and secret key) for one test."""
    import shutil

    home = tmp_path / "home"
    shutil.copytree(seeded_template, home)
    wb = Workbench(make_settings(home))
    yield wb
    dispose_engine(wb.url)


@pytest.fixture(scope="session")
def fitted_template(tmp_path_factory: pytest.TempPathFactory, seeded_template: Path) -> Path:
    """The seeded deployment plus approved model runs on both outcomes (real, small sampling)."""
    import shutil

    from workbench.testing import fit_and_approve_demo_runs

    home = tmp_path_factory.mktemp("fitted")
    shutil.copytree(seeded_template, home, dirs_exist_ok=True)
    wb = Workbench(make_settings(home))
    fit_and_approve_demo_runs(wb)
    dispose_engine(wb.url)
    return home


@pytest.fixture
def fitted_home(fitted_template: Path, tmp_path: Path) -> Path:
    """A private copy of the fitted deployment for one test."""
    import shutil

    home = tmp_path / "fitted"
    shutil.copytree(fitted_template, home)
    return home
