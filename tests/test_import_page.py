"""The dashboard's import page: upload, preview, confirm, in a real AppTest run with real Presidio."""

import tempfile
from pathlib import Path

import pytest
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from workbench.config import Settings
from workbench.governance.users import sign_in
from workbench.setup import demo_password, ensure_demo_accounts
from workbench.store.db import dispose_engine
from workbench.store.service import Workbench
from workbench.store.tables import Patient

ROOT = Path(__file__).resolve().parent.parent


def make_settings(home: Path) -> Settings:
    return Settings(home=home, database_url=f"sqlite:///{home / 'var' / 'workbench.db'}")


@pytest.fixture
def empty_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    wb = Workbench(make_settings(home))
    ensure_demo_accounts(wb)
    dispose_engine(wb.url)
    monkeypatch.setenv("WORKBENCH_HOME", str(home))
    monkeypatch.delenv("WORKBENCH_DATABASE_URL", raising=False)
    monkeypatch.chdir(ROOT)
    return home


def _patients(home: Path) -> int:
    wb = Workbench(make_settings(home))
    with wb.read() as session:
        count = session.scalar(select(func.count()).select_from(Patient))
    dispose_engine(wb.url)
    return int(count or 0)


def _import_page(home: Path) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    wb = Workbench(make_settings(home))
    at.session_state["auth_token"] = sign_in(wb, "admin", demo_password("admin")).token
    at.run()
    at.switch_page("pages/import_data.py").run()
    return at


def _uploads(folder: Path) -> list[tuple[str, bytes, str]]:
    return [(p.name, p.read_bytes(), "text/csv") for p in sorted(folder.glob("*.csv"))]


def test_when_an_extract_is_uploaded_then_it_is_stored_only_after_confirming_and_no_raw_copy_remains(
    empty_home: Path, small_extract: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    staging_root = tmp_path / "tmp"
    staging_root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(staging_root))

    at = _import_page(empty_home)
    at.file_uploader[0].set_value(_uploads(small_extract / "csv")).run()
    at.button(key="import_prepare").click().run()
    assert not at.exception, at.exception
    assert any(m.label == "Patients" and m.value == "40" for m in at.metric)
    assert _patients(empty_home) == 0  # the preview stores nothing
    # The staged upload is identifiable raw data: it must not outlive the preview.
    assert list(staging_root.iterdir()) == []

    at.button(key="import_confirm").click().run()
    assert not at.exception, at.exception
    assert any("40 patients" in s.value for s in at.success)
    assert _patients(empty_home) == 40


def test_when_an_uploaded_table_breaks_its_contract_then_the_page_refuses_and_stores_nothing(
    empty_home: Path, small_extract: Path
):
    files = _uploads(small_extract / "csv")
    broken = []
    for name, content, mime in files:
        if name == "patients.csv":
            header, first, *rest = content.decode().splitlines()
            columns = header.split(",")
            cells = first.split(",")
            cells[columns.index("birth_date")] = "not-a-date"
            content = "\n".join([header, ",".join(cells), *rest]).encode()
        broken.append((name, content, mime))

    at = _import_page(empty_home)
    at.file_uploader[0].set_value(broken).run()
    at.button(key="import_prepare").click().run()
    assert not at.exception, at.exception
    assert any("nothing was stored" in e.value for e in at.error)
    report = "\n".join(c.value for c in at.code)
    assert "patients.csv" in report and "birth_date" in report and "not-a-date" not in report
    assert not [b for b in at.button if b.key == "import_confirm"]
    assert _patients(empty_home) == 0
