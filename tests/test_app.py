"""Every page renders under Streamlit's AppTest against a real SQLite file."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def app_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path))
    monkeypatch.delenv("WORKBENCH_DATABASE_URL", raising=False)
    monkeypatch.chdir(ROOT)
    return tmp_path


def test_when_database_is_empty_then_home_says_what_to_do_next(app_env: Path):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception
    assert at.metric[0].value == "0"
    text = " ".join(m.value for m in at.markdown)
    assert "Import an extract" in text
    assert str(app_env) in text
