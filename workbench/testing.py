"""Fixtures the tests, notebooks, benchmarks and plugins share: real services, started and stopped here.

PostgreSQL runs as a throw-away cluster in a temporary directory (as the ``postgres`` user when we
are root, because the server refuses root); Streamlit runs as a real server on a free loopback port;
Chromium is Debian's, driven by Playwright without downloading a browser.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PG_BIN = Path(os.environ.get("WORKBENCH_PG_BIN", "/usr/lib/postgresql/15/bin"))
CHROMIUM = os.environ.get("WORKBENCH_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: Public data sets with ground truth beside the project (absent in a user's clone: tests skip).
SHARED_DATA = Path(os.environ.get("WORKBENCH_SHARED_DATA", PROJECT_ROOT.parent / "shared" / "data"))
#: The small demo cohort tests import (big enough for every table, small enough for real Presidio runs).
SMALL_COHORT = 40
SMALL_SEED = 424242


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@dataclass
class PostgresServer:
    """A running throw-away PostgreSQL cluster."""

    port: int
    data_dir: Path
    user: str = "workbench"

    def url(self, database: str) -> str:
        """SQLAlchemy URL of a database on this server."""
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create a fresh database and return its SQLAlchemy URL."""
        subprocess.run(
            _as_postgres(
                [
                    str(PG_BIN / "createdb"),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "-U",
                    self.user,
                    name,
                ]
            ),
            check=True,
            capture_output=True,
        )
        return self.url(name)


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """Start PostgreSQL 15 in a fresh temporary directory; stop and delete it afterwards."""
    if not (PG_BIN / "initdb").exists():
        raise RuntimeError(f"PostgreSQL binaries not found in {PG_BIN}; run `make test` (installs them)")
    root = Path(tempfile.mkdtemp(prefix="workbench-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    os.chmod(root, 0o755)  # noqa: S103 - the postgres user must traverse it
    port = free_port()
    server = PostgresServer(port=port, data_dir=data)
    subprocess.run(
        _as_postgres(
            [
                str(PG_BIN / "initdb"),
                "-D",
                str(data),
                "-U",
                server.user,
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ]
        ),
        check=True,
        capture_output=True,
    )
    log = root / "server.log"
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off"
    subprocess.run(
        _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "start"]),
        check=True,
        capture_output=True,
    )
    try:
        yield server
    finally:
        subprocess.run(
            _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class StreamlitServer:
    """A running ``streamlit run app.py``."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path


@contextmanager
def streamlit_server(
    env: dict[str, str], *, log_dir: Path, timeout: float = 60.0, script: Path | None = None
) -> Iterator[StreamlitServer]:
    """Serve the dashboard on a free port with the given environment; wait for its health check."""
    port = free_port()
    log_path = log_dir / f"streamlit-{port}.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(script or PROJECT_ROOT / "app.py"),
            "--server.headless",
            "true",
            "--server.address",
            "127.0.0.1",
            "--server.port",
            str(port),
            "--browser.gatherUsageStats",
            "false",
            "--server.fileWatcherType",
            "none",
            "--client.toolbarMode",
            "viewer",
        ],
        cwd=PROJECT_ROOT,
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:  # noqa: S310
                    if response.read().strip() == b"ok":
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Streamlit did not start; see {log_path}")
            time.sleep(0.3)
        yield StreamlitServer(url=url, process=process, log_path=log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def comparison_from_draws(
    draws: Any,
    alternatives: tuple[str, ...],
    *,
    reference: str,
    run_id: int,
    pseudonym: str = "PT-TEST",
    min_important_difference: float = 5.0,
) -> Any:
    """A ``Comparison`` built from hand-made posterior draws (S, K), for tests where sampling is not tested."""
    import numpy as np

    from workbench.models import EffectPosterior
    from workbench.review.case import Comparison
    from workbench.scenario import ALTERNATIVE_LABELS
    from workbench.status import RunBrief

    draws = np.asarray(draws, dtype=float)
    posterior = EffectPosterior(
        draws=draws[:, None, :],
        patient_ids=(pseudonym,),
        alternatives=alternatives,
        reference=reference,
        lower_is_better=True,
        approximate=False,
        propensity=np.full((1, len(alternatives)), 1 / len(alternatives)),
    )
    effects = posterior.for_patient(pseudonym, min_important_difference=min_important_difference)
    table = effects.table.copy()
    table["label"] = [ALTERNATIVE_LABELS.get(a, a) for a in table.index]
    run = RunBrief(
        id=run_id,
        model_name="hierarchical",
        model_version="test",
        outcome="hba1c_change",
        status="approved",
        reliable=True,
        approximate=False,
        created_at="2026-01-01 00:00",
    )
    return Comparison(
        table=table,
        outcome_draws=effects.draws,
        reference=reference,
        leading=str(table["p_best"].idxmax()),
        min_important_difference=min_important_difference,
        run=run,
        ae_run=None,
        warnings=[],
        hypothetical=False,
        approximate=False,
        reliable=True,
    )


#: Small but real sampling for tests: enough draws for stable summaries, thresholds scaled to them.
TEST_SAMPLER = {
    "draws": 300,
    "tune": 300,
    "chains": 2,
    "prediction_draws": 300,
    "thresholds": {"ess_bulk_min": 100.0, "ess_tail_min": 100.0, "rhat_max": 1.05},
}


def fit_and_approve_demo_runs(wb: Any) -> list[int]:
    """Fit the default model on both outcomes with ``TEST_SAMPLER`` and approve the runs (real sampling)."""
    from workbench.governance.roles import SYSTEM_ACTOR
    from workbench.runs import FitRequest, approve_run, fit_run

    ids = []
    for outcome in ("hba1c_change", "adverse_event"):
        run_id = fit_run(wb, SYSTEM_ACTOR, FitRequest(outcome=outcome, sampler_config=TEST_SAMPLER))
        approve_run(wb, SYSTEM_ACTOR, run_id, "test fixture", accept_unreliable=True)
        ids.append(run_id)
    return ids


#: The demo alternatives with the reference first, so effect column 0 is the reference's (zero).
DEMO_ALTERNATIVES = ("dpp4i", "glp1ra", "sglt2i", "basal_insulin")


def demo_effect_data(n: int, seed: int, outcome: str = "hba1c_change") -> tuple[Any, Any, Any]:
    """The demo cohort as a model input, with its true effects against the reference.

    Returns ``(cohort, EffectData, true_effects)``; ``true_effects`` is (N, K) in
    ``DEMO_ALTERNATIVES`` order (expected-outcome differences, or risk differences for the adverse event).
    """
    from workbench.demo import generate_cohort
    from workbench.models import EffectData
    from workbench.scenario import COVARIATES

    cohort = generate_cohort(n, seed)
    data = EffectData.from_frame(
        cohort.patients,
        treatment="treatment",
        outcome=outcome,
        covariates=COVARIATES,
        reference=DEMO_ALTERNATIVES[0],
        alternatives=list(DEMO_ALTERNATIVES),
        outcome_kind="continuous" if outcome == "hba1c_change" else "binary",
    )
    truth = (cohort.true_mu if outcome == "hba1c_change" else cohort.true_ae_risk)[list(DEMO_ALTERNATIVES)].to_numpy()
    return cohort, data, truth - truth[:, [0]]


def spans_cover(spans: Any, text: str, part: str, *, kind: str | None = None) -> bool:
    """Whether every non-space character of ``part`` (its first occurrence) lies inside a span.

    ``spans`` are findings or Presidio results (``start``/``end``; ``type`` when ``kind`` is
    given). Recall counts a half-covered identifier as a leak, so the tests check every character.
    """
    start = text.index(part)
    mask: set[int] = set()
    for span in spans:
        if kind is None or span.type == kind:
            mask.update(range(span.start, span.end))
    return all(i in mask for i in range(start, start + len(part)) if not text[i].isspace())
