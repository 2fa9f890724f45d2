"""Shared fixtures: real SQLite files, a real PostgreSQL server, a real Streamlit server and Chromium."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from workbench.config import Settings
from workbench.store.db import dispose_engine
from workbench.store.service import Workbench
from workbench.testing import PostgresServer, postgres_server

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
