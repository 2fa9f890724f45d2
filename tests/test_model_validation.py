"""The model card's validation sentences, read from figures in the shape the benchmark writes them."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from workbench.models.validation import validation_lines

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench() -> Any:
    spec = importlib.util.spec_from_file_location("models_bench", ROOT / "benchmarks" / "models_bench.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _setting(bench: Any, truth_effect: np.ndarray, width: float, version: str, passed: bool = True) -> dict:
    """One ACIC setting's entry as `acic()` stores it: the per-alternative metrics of known draws."""
    rng = np.random.default_rng(0)
    truth = np.column_stack([np.zeros_like(truth_effect), truth_effect])
    draws = truth[None] + rng.normal(0.0, 0.3, size=truth.shape) + rng.normal(0.0, width, (400, *truth.shape))
    per = bench._report("hierarchical", ("control", "treated"), bench._metrics(draws, truth))
    figures = {"model_version": version, "passed": passed} | per["treated"]
    return {"linear_t_learner": {"sqrt_pehe": 0.5}, "hierarchical": figures}


def test_when_a_model_under_covers_a_setting_then_its_card_says_so_first(bench):
    rng = np.random.default_rng(1)
    varying = rng.normal(2.0, 1.0, 300)
    validation = {
        "acic2016": {
            "settings": {
                "4": _setting(bench, varying, 0.05, "2.2"),  # intervals far narrower than the error
                "6": _setting(bench, varying, 0.30, "2.2"),  # about right
                "2": _setting(bench, np.full(300, 4.0), 0.30, "2.2", passed=False),  # constant effect
            }
        }
    }
    lines = validation_lines(validation, "hierarchical", "2.2")
    assert lines[0].startswith("TOO NARROW on ACIC 2016 settings 4 (")
    assert "6 (" not in lines[0]
    # the constant-effect setting is not read against the window, but its failed gate is reported
    assert "2 settings whose true effect varies" in lines[1] and "1 of 2 inside 85 %-97 %" in lines[1]
    assert "closer to the truth than a linear T-learner's (sqrt(PEHE)) on 3 of 3" in lines[2]
    assert "diagnostics failed on setting(s) 2" in lines[2]
    assert not any("version" in line for line in lines)


def test_when_all_rows_were_fitted_too_then_the_card_reads_both_and_names_the_rows(bench):
    rng = np.random.default_rng(2)
    varying = rng.normal(2.0, 1.0, 300)
    validation = {
        "acic2016": {"rows": 1000, "of_rows": 4802, "settings": {"5": _setting(bench, varying, 0.30, "2.2")}},
        "acic2016_all_rows": {
            "rows": 4802,
            "of_rows": 4802,
            "settings": {"5": _setting(bench, varying, 0.05, "2.2")},  # covered on 1,000 rows, not on all
        },
    }
    lines = validation_lines(validation, "hierarchical", "2.2")
    assert lines[0].startswith("TOO NARROW on ACIC 2016 (all 4,802 rows) settings 5 (")
    assert not any(line.startswith("TOO NARROW on ACIC 2016 (1,000 rows of 4,802)") for line in lines)
    assert any(
        line.startswith("ACIC 2016 (1,000 rows of 4,802), 1 settings whose true effect varies") for line in lines
    )
    assert any(line.startswith("ACIC 2016 (all 4,802 rows), 1 settings whose true effect varies") for line in lines)


def test_when_the_benchmark_fits_all_rows_then_it_records_them_under_their_own_key(bench, tmp_path, monkeypatch):
    # a two-row covariate table and no settings are enough to see where acic() files its figures
    root = tmp_path / "acic2016"
    root.mkdir()
    pd.DataFrame({"x_1": [0.0, 1.0]}).to_csv(root / "x.csv", index=False)
    monkeypatch.setattr(bench, "RESULTS", {})
    bench.acic(tmp_path, [], 0, [], 1)
    assert bench.RESULTS["acic2016_all_rows"] | {"settings": None} == {
        "rows": 2,
        "of_rows": 2,
        "subsample_seed": 1,
        "settings": None,
    }
    bench.acic(tmp_path, [], 1, [], 1)
    assert bench.RESULTS["acic2016"]["rows"] == 1


def test_when_the_figures_are_of_another_model_version_then_the_card_asks_for_a_rerun(bench):
    validation = {"acic2016": {"settings": {"1": _setting(bench, np.linspace(0, 3, 200), 0.3, "2.1")}}}
    lines = validation_lines(validation, "hierarchical", "2.2")
    assert any("figures of version 2.1; this run is version 2.2: rerun the benchmark" in line for line in lines)


def test_when_the_benchmark_has_no_figures_for_a_model_then_the_card_has_no_sentences(bench):
    validation = {"acic2016": {"settings": {"1": _setting(bench, np.linspace(0, 3, 200), 0.3, "2.2")}}}
    assert validation_lines(validation, "bcf", "2.4") == []
    assert validation_lines(None, "hierarchical", "2.2") == []
    assert validation_lines({"acic2016": {"skipped": "not found"}}, "hierarchical", "2.2") == []


def test_when_demo_cohorts_were_scored_then_the_card_counts_pairs_inside_the_window():
    def fig(*coverages: float) -> dict:
        return {"model_version": "2.2", "alternatives": {f"a{i}": {"coverage90": c} for i, c in enumerate(coverages)}}

    by_seed = {"1": fig(0.95, 0.80), "2": fig(0.90, 0.99)}
    validation = {"demo_recovery": {"results": {"hba1c_change": {"hierarchical": by_seed}}}}
    (line,) = validation_lines(validation, "hierarchical", "2.2")
    assert "2 cohorts x 2 alternatives" in line
    assert "covered 80 %-99 %" in line and "mean 91 %" in line and "2 of 4 inside" in line


def test_when_a_deployment_has_run_the_benchmark_then_its_figures_replace_the_recorded_ones(tmp_path):
    import json

    from workbench.models.validation import RECORDED_VALIDATION, VALIDATION_FILE, load_validation

    figures, source = load_validation(tmp_path)
    assert figures == json.loads(RECORDED_VALIDATION.read_text())
    assert source.startswith("the benchmark run recorded with this release")
    local = {"generated_at": "2026-12-03T10:00:00", "machine": {"cpus": 8}}
    (tmp_path / VALIDATION_FILE).write_text(json.dumps(local))
    figures, source = load_validation(tmp_path)
    assert figures == local
    assert source == "this deployment's benchmark run (make bench), 2026-12-03T10:00:00, 8 CPUs"


def test_when_figures_are_recorded_with_the_release_then_they_are_of_the_models_it_ships():
    # A model whose version moves on must have its figures re-recorded (benchmarks/models_bench.py).
    import json

    from workbench.models import get_model
    from workbench.models.validation import ACIC_BLOCKS, RECORDED_VALIDATION

    recorded = json.loads(RECORDED_VALIDATION.read_text())
    versions: dict[str, set[str]] = {}
    acic_settings = [s for key in ACIC_BLOCKS for s in recorded.get(key, {}).get("settings", {}).values()]
    for setting in acic_settings:
        for name, fig in setting.items():
            if isinstance(fig, dict) and "passed" in fig:  # a model's entry, not the linear baseline's
                versions.setdefault(name, set()).add(fig["model_version"])
    for by_model in recorded["demo_recovery"]["results"].values():
        for name, by_seed in by_model.items():
            versions.setdefault(name, set()).update(fig["model_version"] for fig in by_seed.values())
    assert {"bcf", "hierarchical"} <= set(versions)
    for name, seen in versions.items():
        assert seen == {get_model(name).version}, name
