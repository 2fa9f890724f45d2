"""Settings from the environment, and the secret key created on first run.

The secret keys the pseudonyms (HMAC) and the re-identification vault (AES-GCM). Losing it means
pseudonyms change on the next import and the vault cannot be opened, so it lives in its own file under
``var/secrets/`` with owner-only permissions and is never logged, printed or put in an exception.
"""

from __future__ import annotations

import math
import os
import secrets
import tempfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

SECRET_BYTES = 32


@dataclass(frozen=True)
class Settings:
    """Where the workbench keeps its state; read from ``WORKBENCH_*`` environment variables."""

    home: Path
    database_url: str
    session_minutes: int = 480
    retention_days: int | None = None
    min_important_difference: float = 5.0
    reference_alternative: str = "dpp4i"

    @property
    def var_dir(self) -> Path:
        """Runtime state: database file, secrets, posterior files."""
        return self.home / "var"

    @property
    def runs_dir(self) -> Path:
        """Posterior files of model runs (NetCDF), one per run."""
        return self.var_dir / "runs"

    @property
    def secrets_dir(self) -> Path:
        """Owner-only folder for the deployment key."""
        return self.var_dir / "secrets"

    @property
    def secret_key_path(self) -> Path:
        """The key file itself."""
        return self.secrets_dir / "workbench.key"

    @cached_property
    def is_sqlite(self) -> bool:
        """True for the embedded default."""
        return self.database_url.startswith("sqlite")

    def describe_database(self) -> str:
        """Name the database without its password, for the home page and logs."""
        from sqlalchemy.engine import make_url

        return make_url(self.database_url).render_as_string(hide_password=True)


def _default_home() -> Path:
    return Path(os.environ.get("WORKBENCH_HOME") or Path.cwd()).resolve()


def _number[T: (int, float)](
    env: dict[str, str], name: str, kind: type[T], default: str, what: str, *, allow_zero: bool = False
) -> T:
    """A numeric setting; a malformed one names its variable (int("8h") would not say which)."""
    raw = env.get(name, default).strip()
    try:
        value = kind(raw)
    except ValueError:
        raise ValueError(f"{name} must be {what}, got {raw!r}") from None
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be {what}, got {raw!r}")
    return value


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Read settings from ``env`` (default: the process environment)."""
    env = dict(os.environ if env is None else env)
    home = Path(env.get("WORKBENCH_HOME") or _default_home()).resolve()
    url = env.get("WORKBENCH_DATABASE_URL") or f"sqlite:///{home / 'var' / 'workbench.db'}"
    retention = env.get("WORKBENCH_RETENTION_DAYS")
    return Settings(
        home=home,
        database_url=url,
        session_minutes=_number(env, "WORKBENCH_SESSION_MINUTES", int, "480", "a positive whole number of minutes"),
        retention_days=_number(env, "WORKBENCH_RETENTION_DAYS", int, "", "a positive whole number of days")
        if retention
        else None,
        min_important_difference=_number(
            env, "WORKBENCH_MIN_IMPORTANT_DIFFERENCE", float, "5.0", "a number >= 0 (outcome units)", allow_zero=True
        ),
        reference_alternative=env.get("WORKBENCH_REFERENCE", "dpp4i"),
    )


def secret_key(settings: Settings) -> bytes:
    """Return the deployment's secret key, creating it (mode 0600) on first use.

    The key is written to a private temporary file and published with ``os.link``, which fails if
    the key exists: two processes starting together cannot write two different keys, and no
    process ever reads a key file that is still being written (it would look truncated).
    """
    path = settings.secret_key_path
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(path.parent, 0o700)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".key-")  # created 0600
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(secrets.token_bytes(SECRET_BYTES))
                handle.flush()
                os.fsync(handle.fileno())
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass  # another process published its key first: use that one
        finally:
            os.unlink(tmp)
    data = path.read_bytes()
    if len(data) < SECRET_BYTES:
        raise RuntimeError(f"secret key file {path} is truncated; restore it from backup")
    return data[:SECRET_BYTES]
