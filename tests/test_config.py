import stat
from pathlib import Path

from workbench.config import load_settings, secret_key


def test_when_no_database_url_is_set_then_sqlite_under_var_is_used(tmp_path: Path):
    settings = load_settings({"WORKBENCH_HOME": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path.resolve() / 'var' / 'workbench.db'}"
    assert settings.is_sqlite


def test_when_database_url_is_set_then_it_wins_and_its_password_is_hidden(tmp_path: Path):
    url = "postgresql+psycopg://crw:s3cret@db.example:5432/crw"
    settings = load_settings({"WORKBENCH_HOME": str(tmp_path), "WORKBENCH_DATABASE_URL": url})
    assert settings.database_url == url
    assert "s3cret" not in settings.describe_database()


def test_when_secret_key_is_first_used_then_it_is_created_owner_only_and_stable(tmp_path: Path):
    settings = load_settings({"WORKBENCH_HOME": str(tmp_path)})
    key = secret_key(settings)
    assert len(key) == 32
    mode = stat.S_IMODE(settings.secret_key_path.stat().st_mode)
    assert mode == 0o600
    assert stat.S_IMODE(settings.secrets_dir.stat().st_mode) == 0o700
    assert secret_key(settings) == key


def test_when_two_deployments_start_then_their_keys_differ(tmp_path: Path):
    a = secret_key(load_settings({"WORKBENCH_HOME": str(tmp_path / "a")}))
    b = secret_key(load_settings({"WORKBENCH_HOME": str(tmp_path / "b")}))
    assert a != b
