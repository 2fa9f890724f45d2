"""The notebooks are documentation that runs: CI executes every one on small settings, and they stay clean.

Execution uses nbclient with a real kernel from this venv. The small settings and a temporary
``WORKBENCH_HOME`` are injected papermill-style, as a cell right after the one tagged ``parameters``,
so what runs is the committed notebook plus one assignment cell. Notebook 01 imports the demo cohort
(real de-identification) and fits and approves a run; 02 and 04 start from copies of that deployment,
where their ``initialise`` call finds the cohort already imported: two fewer Presidio imports per run.

Committed notebooks carry no outputs (outputs are regenerated, and an executed notebook is megabytes
of Plotly JSON); a test fails when one does. Clear them with
``jupyter nbconvert --clear-output --inplace notebooks/*.ipynb`` before committing.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from workbench.config import Settings
from workbench.store.db import dispose_engine
from workbench.store.service import Workbench
from workbench.testing import SHARED_DATA

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
COMMITTED = sorted(NOTEBOOKS.glob("*.ipynb"))
#: CI sizes: real sampling, short chains. The notebooks' own defaults are a little larger.
SMALL = {"N_PATIENTS": 150, "DRAWS": 200, "TUNE": 200, "CHAINS": 2}
CELL_TIMEOUT = 900


def _wb(home: Path) -> Workbench:
    return Workbench(Settings(home=home, database_url=f"sqlite:///{home / 'var' / 'workbench.db'}"))


def _parameters_index(nb: nbformat.NotebookNode) -> int:
    tagged = [i for i, cell in enumerate(nb.cells) if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1, "a notebook needs exactly one cell tagged 'parameters'"
    return tagged[0]


def execute(name: str, home: Path, *, extra_cells: tuple[str, ...] = (), **params: object) -> nbformat.NotebookNode:
    """Run ``notebooks/<name>`` on small settings in ``home``; raises (failing the test) if a cell fails."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    values = SMALL | {"WORKBENCH_HOME": str(home)} | params
    injected = nbformat.v4.new_code_cell(
        "# Injected by tests/test_notebooks.py\n" + "\n".join(f"{k} = {v!r}" for k, v in values.items())
    )
    injected.metadata["tags"] = ["injected-parameters"]
    nb.cells.insert(_parameters_index(nb) + 1, injected)
    nb.cells += [nbformat.v4.new_code_cell(source) for source in extra_cells]
    client = NotebookClient(
        nb, timeout=CELL_TIMEOUT, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    )
    try:
        client.execute()
    finally:
        # kept beside the deployment for whoever debugs a failure
        nbformat.write(nb, home.parent / f"executed-{name}")
    return nb


def _text(nb: nbformat.NotebookNode, *, figures: bool = True) -> str:
    """Everything the notebook printed or displayed, as one string (``figures=False``: text outputs only)."""
    parts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                parts.append(output["text"])
            elif "data" in output:
                parts += [
                    value if isinstance(value, str) else json.dumps(value)
                    for mimetype, value in output["data"].items()
                    if figures or mimetype.startswith("text/")
                ]
            elif output.get("output_type") == "error":
                parts.append("\n".join(output.get("traceback", [])))
    return "\n".join(parts)


# ----- committed notebooks: clean, parameterised, linted ------------------------------------------
def test_when_the_notebooks_folder_is_listed_then_the_four_documented_notebooks_are_there():
    assert [p.name for p in COMMITTED] == [
        "01_tour.ipynb",
        "02_extend_a_model.ipynb",
        "03_validate.ipynb",
        "04_equity_and_overrides.ipynb",
    ]


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: p.stem)
def test_when_a_notebook_is_committed_then_it_has_no_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count") is not None)
    ]
    assert not dirty, f"{path.name}: cells {dirty} carry outputs; clear them before committing"


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: p.stem)
def test_when_a_notebook_is_committed_then_its_parameters_default_to_small_sizes_and_a_temporary_home(path):
    nb = nbformat.read(path, as_version=4)
    namespace: dict[str, object] = {}
    exec(nb.cells[_parameters_index(nb)].source, namespace)  # noqa: S102 - our own committed cell
    assert namespace["WORKBENCH_HOME"] == ""
    assert namespace["FULL"] is False
    assert 100 <= namespace["N_PATIENTS"] <= 300
    assert namespace["DRAWS"] <= 300 and namespace["CHAINS"] == 2


def _ruff() -> str | None:
    return shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")


def test_when_ruff_checks_the_notebooks_then_they_pass():
    ruff = _ruff()
    if ruff is None:
        pytest.skip("ruff is not installed in this environment")
    result = subprocess.run([ruff, "check", "--no-cache", str(NOTEBOOKS)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


# ----- the notebooks run ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tour(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, nbformat.NotebookNode]:
    """Notebook 01 executed once: its deployment (cohort imported, one approved run) seeds 02 and 04."""
    home = tmp_path_factory.mktemp("tour") / "home"
    nb = execute("01_tour.ipynb", home)
    return home, nb


def _copy(home: Path, target: Path) -> Path:
    shutil.copytree(home, target / "home", ignore=shutil.ignore_patterns("extract"))
    return target / "home"


@pytest.mark.sampling
@pytest.mark.slow
def test_when_the_tour_runs_then_the_cohort_is_imported_and_an_approved_run_recorded(tour):
    from workbench.runs import list_runs

    home, nb = tour
    wb = _wb(home)
    runs = list_runs(wb)
    dispose_engine(wb.url)
    assert [(r.model_name, r.outcome, r.status) for r in runs] == [("hierarchical", "hba1c_change", "approved")]
    assert runs[0].n_patients > 100
    text = _text(nb)
    assert "PT-" in text  # the case it opened is shown by pseudonym
    mimetypes = {key for cell in nb.cells for output in cell.get("outputs", []) for key in output.get("data", {})}
    assert "application/vnd.plotly.v1+json" in mimetypes


@pytest.mark.sampling
@pytest.mark.slow
def test_when_the_tour_runs_then_no_identifier_from_the_hospital_extract_appears_in_its_outputs(tour):
    import pandas as pd

    home, nb = tour
    patients = pd.read_csv(home / "extract" / "csv" / "patients.csv", dtype=str)
    identifiers = {v for column in ("mrn", "ssn", "health_plan_id", "phone", "email") for v in patients[column]}
    text, everything = _text(nb, figures=False), _text(nb)
    assert len(identifiers) > 400
    # Figure JSON is long runs of digits, where a 7-digit record number can occur by chance: there,
    # only identifiers with a non-digit (SSN, phone, e-mail, health-plan id) are looked for.
    leaked = sorted(v for v in identifiers if v in text or (not v.isdigit() and v in everything))
    assert not leaked, f"{len(leaked)} extract identifiers appear in the tour's outputs"


@pytest.mark.sampling
@pytest.mark.slow
def test_when_the_extension_notebook_has_run_then_its_model_is_in_the_dashboards_model_list(
    tour, tmp_path, monkeypatch
):
    from streamlit.testing.v1 import AppTest

    from workbench.governance.users import sign_in
    from workbench.runs import list_runs
    from workbench.setup import demo_password

    home = _copy(tour[0], tmp_path)
    execute("02_extend_a_model.ipynb", home)
    plugin = home / "var" / "plugins" / "robust_linear.py"
    assert plugin.exists()
    # ruff skips %%writefile cells when it lints the notebook: lint the module the cell wrote, as project code
    ruff = _ruff()
    if ruff is not None:
        lint = subprocess.run(
            [ruff, "check", "--no-cache", "--config", str(ROOT / "pyproject.toml"), str(plugin)],
            capture_output=True,
            text=True,
        )
        assert lint.returncode == 0, lint.stdout
    wb = _wb(home)
    assert "robust_linear" in [r.model_name for r in list_runs(wb)]
    dispose_engine(wb.url)

    def model_options(deployment: Path) -> list[str]:
        monkeypatch.setenv("WORKBENCH_HOME", str(deployment))
        monkeypatch.delenv("WORKBENCH_DATABASE_URL", raising=False)
        monkeypatch.delenv("WORKBENCH_PLUGIN_PATHS", raising=False)
        monkeypatch.chdir(ROOT)
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.session_state["auth_token"] = sign_in(_wb(deployment), "datasci", demo_password("datasci")).token
        at.run()
        at.switch_page("pages/model.py").run()
        assert not at.exception, at.exception
        return list(at.selectbox(key="fit_model").options)

    assert "robust_linear" in model_options(home)
    # the same dashboard on the tour's deployment (no plug-in file) must not offer it
    assert "robust_linear" not in model_options(tour[0])


@pytest.mark.sampling
@pytest.mark.slow
def test_when_the_validation_notebook_runs_then_every_model_is_scored_on_known_truth(tmp_path):
    acic_present = (SHARED_DATA / "acic2016" / "x.csv").exists()
    summary = (
        "import json\n"
        "print('SCORES', json.dumps({'names': names, 'demo': demo_scores.to_dict('records'),"
        " 'acic': None if acic_scores is None else acic_scores.to_dict('records')}))"
    )
    nb = execute("03_validate.ipynb", tmp_path / "home", ACIC_ROWS=200, extra_cells=(summary,))
    line = next(x for x in _text(nb).splitlines() if x.startswith("SCORES "))
    scores = json.loads(line.removeprefix("SCORES "))
    assert {"hierarchical", "bcf"} <= set(scores["names"])
    demo = scores["demo"]
    assert {(r["model"], r["alternative"]) for r in demo} == {
        (m, a) for m in scores["names"] for a in ("sglt2i", "glp1ra", "basal_insulin")
    }
    for row in demo + (scores["acic"] or []):
        assert 0.0 <= row["90% coverage"] <= 1.0
        assert 0.0 < row["sqrt(PEHE)"] < float("inf")
    if acic_present:
        assert {r["model"] for r in scores["acic"]} == set(scores["names"])
    else:
        assert scores["acic"] is None and "ACIC 2016 skipped" in _text(nb)
    text = _text(nb)
    # the fits of the demo cohort are compared by PSIS-LOO, and the advice names one of them
    advice = next(x for x in text.splitlines() if x.startswith("PSIS-LOO advice: "))
    assert advice.removeprefix("PSIS-LOO advice: ").split(" (")[0] in scores["names"]
    assert "share of patients with Pareto k > 0.7" in text
    # the last cell quotes the full benchmark as the model card does (a fresh home: the recorded run)
    assert "From the benchmark run recorded with this release" in text
    for name in ("hierarchical", "bcf"):
        assert any(x.startswith(f"- {name}: ACIC 2016") for x in text.splitlines()), name


@pytest.mark.sampling
@pytest.mark.slow
def test_when_the_equity_notebook_runs_then_decisions_are_recorded_and_the_report_covers_every_group(tour, tmp_path):
    from workbench.governance.equity import ATTRIBUTES, equity_report
    from workbench.review.meetings import list_meetings

    home = _copy(tour[0], tmp_path)
    nb = execute("04_equity_and_overrides.ipynb", home, N_CASES=10)
    wb = _wb(home)
    meetings = list_meetings(wb)
    report = equity_report(wb)
    dispose_engine(wb.url)
    assert len(meetings) == 1 and len(meetings[0].cases) == 10
    assert all(case.status == "decided" for case in meetings[0].cases)
    assert int(report.overrides.groupby("attribute")["n"].sum().iloc[0]) == 10
    assert set(report.calibration["attribute"]) == set(ATTRIBUTES)
    overridden = int(report.overrides.groupby("attribute")["overrides"].sum().iloc[0])
    if overridden:
        assert "refused: an override of the model's leading alternative requires a rationale" in _text(nb)
