import stat
from pathlib import Path

import pytest

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


def test_when_many_processes_start_at_once_then_all_get_one_key_and_none_sees_it_half_written(tmp_path: Path):
    # The key file used to be created empty and then written: a process starting at the same
    # moment could read it in between and fail with "truncated; restore it from backup".
    import threading

    for trial in range(200):
        settings = load_settings({"WORKBENCH_HOME": str(tmp_path / str(trial))})
        barrier = threading.Barrier(6)
        got: list[object] = []

        def start(settings=settings, barrier=barrier, got=got) -> None:
            barrier.wait()
            try:
                got.append(secret_key(settings))
            except RuntimeError as error:
                got.append(error)

        threads = [threading.Thread(target=start) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert [type(k) for k in got] == [bytes] * 6, got
        assert len(set(got)) == 1
        assert sorted(p.name for p in settings.secrets_dir.iterdir()) == [settings.secret_key_path.name]
        assert stat.S_IMODE(settings.secret_key_path.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WORKBENCH_SESSION_MINUTES", "8h"),
        ("WORKBENCH_SESSION_MINUTES", "0"),
        ("WORKBENCH_RETENTION_DAYS", "-3"),
        ("WORKBENCH_MIN_IMPORTANT_DIFFERENCE", "five"),
        ("WORKBENCH_MIN_IMPORTANT_DIFFERENCE", "nan"),
    ],
)
def test_when_a_numeric_setting_is_malformed_then_the_error_names_the_variable(tmp_path: Path, name, value):
    with pytest.raises(ValueError, match=f"^{name} must be"):
        load_settings({"WORKBENCH_HOME": str(tmp_path), name: value})


def test_when_numeric_settings_are_given_then_they_are_read(tmp_path: Path):
    settings = load_settings(
        {
            "WORKBENCH_HOME": str(tmp_path),
            "WORKBENCH_SESSION_MINUTES": " 60 ",
            "WORKBENCH_RETENTION_DAYS": "365",
            "WORKBENCH_MIN_IMPORTANT_DIFFERENCE": "0",
        }
    )
    assert (settings.session_minutes, settings.retention_days, settings.min_important_difference) == (60, 365, 0.0)
