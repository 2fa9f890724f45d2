"""Model plug-ins reach the registry: installed packages (entry points) and deployment plug-in files.

The example package in ``tests/plugin_example/`` is "installed" the way pip leaves a package on disk,
a ``<name>-<version>.dist-info`` folder with ``entry_points.txt``, but in a temporary directory put on
``sys.path`` together with the package source: the test sees exactly what ``importlib.metadata`` sees
after ``pip install``, without mutating the shared venv (other tests and engineers use it) and without
network or build isolation. The dist-info is written from the example's own ``pyproject.toml``, so the
test checks the declaration a plug-in author copies, not a duplicate of it.
"""

import logging
import sys
import tomllib
from pathlib import Path

import pytest

from workbench.models import TreatmentEffectModel, available_models, get_model
from workbench.models.hierarchical import HierarchicalEffectModel
from workbench.models.registry import ENTRY_POINT_GROUP, PLUGIN_PATHS_ENV, plugin_paths

EXAMPLE = Path(__file__).parent / "plugin_example"


def _install_metadata(site: Path, name: str, version: str, entry_points: dict[str, dict[str, str]]) -> None:
    dist = site / f"{name.replace('-', '_')}-{version}.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    lines = []
    for group, items in entry_points.items():
        lines += [f"[{group}]", *(f"{key} = {value}" for key, value in items.items()), ""]
    (dist / "entry_points.txt").write_text("\n".join(lines))


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A deployment home with no plug-in files and no plug-in path from the caller's environment."""
    home = tmp_path / "home"
    monkeypatch.setenv("WORKBENCH_HOME", str(home))
    monkeypatch.delenv(PLUGIN_PATHS_ENV, raising=False)
    return home


@pytest.fixture
def installed_example(isolated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    project = tomllib.loads((EXAMPLE / "pyproject.toml").read_text())["project"]
    site = tmp_path / "site-packages"
    _install_metadata(site, project["name"], project["version"], project["entry-points"])
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.syspath_prepend(str(EXAMPLE))
    yield project
    sys.modules.pop("workbench_example_plugin", None)


def test_when_the_example_plugin_is_installed_then_its_model_is_in_the_registry(installed_example):
    assert "example" in installed_example["entry-points"][ENTRY_POINT_GROUP]
    models = available_models()
    assert "example" in models
    cls = get_model("example")
    assert cls.__module__ == "workbench_example_plugin"
    assert issubclass(cls, TreatmentEffectModel)
    assert cls().model_config["modifier_scale_prior"] == "half_student_t"
    # the built-ins are still there, unchanged
    assert models["hierarchical"] is HierarchicalEffectModel


def test_when_the_example_plugin_is_not_installed_then_its_model_is_not_listed(isolated):
    assert "example" not in available_models()
    with pytest.raises(KeyError, match="no model named 'example'"):
        get_model("example")


def test_when_a_plugin_entry_point_cannot_be_imported_then_the_working_models_are_still_listed(
    isolated, tmp_path, monkeypatch, caplog
):
    site = tmp_path / "broken-site"
    _install_metadata(site, "broken-plugin", "1.0", {ENTRY_POINT_GROUP: {"broken": "no_such_module:Model"}})
    monkeypatch.syspath_prepend(str(site))
    with caplog.at_level(logging.WARNING, logger="workbench.models.registry"):
        models = available_models()
    assert {"hierarchical", "bcf"} <= set(models)
    assert any("broken" in r.getMessage() and "ModuleNotFoundError" in r.getMessage() for r in caplog.records)


PLUGIN_FILE = """
from typing import Any

from workbench.models import register_model
from workbench.models.hierarchical import HierarchicalEffectModel


@register_model
class FileModel(HierarchicalEffectModel):
    name = "{name}"
    version = "{version}"

    @property
    def default_model_config(self) -> dict[str, Any]:
        return super().default_model_config | {{"spline_knots": 0}}
"""


def _write_plugin(folder: Path, stem: str, name: str, version: str = "1.0") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}.py"
    path.write_text(PLUGIN_FILE.format(name=name, version=version))
    return path


def test_when_a_model_file_is_in_the_deployment_plugins_folder_then_it_is_available(isolated):
    assert plugin_paths() == [isolated / "var" / "plugins"]
    _write_plugin(isolated / "var" / "plugins", "file_model", "file_model")
    cls = get_model("file_model")
    assert cls.version == "1.0"
    assert cls().model_config["spline_knots"] == 0


def test_when_another_deployment_is_used_then_the_first_ones_plugin_files_are_not_listed(
    isolated, tmp_path, monkeypatch
):
    _write_plugin(isolated / "var" / "plugins", "file_model", "only_in_first")
    assert "only_in_first" in available_models()
    # @register_model inside a plug-in file must not leak into the process-wide registry
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path / "second"))
    assert "only_in_first" not in available_models()


def test_when_a_plugin_file_changes_then_the_new_version_is_listed(isolated):
    path = _write_plugin(isolated / "var" / "plugins", "file_model", "changing", version="1.0")
    assert get_model("changing").version == "1.0"
    _write_plugin(path.parent, "file_model", "changing", version="2.0")
    assert get_model("changing").version == "2.0"


def test_when_a_plugin_file_is_broken_then_a_warning_names_it_and_the_others_still_load(isolated, caplog):
    folder = isolated / "var" / "plugins"
    _write_plugin(folder, "good", "good_model")
    (folder / "broken.py").write_text("raise RuntimeError('half-written plug-in')\n")
    with caplog.at_level(logging.WARNING, logger="workbench.models.registry"):
        models = available_models()
    assert {"good_model", "hierarchical"} <= set(models)
    assert any("broken.py" in r.getMessage() and "RuntimeError" in r.getMessage() for r in caplog.records)


def test_when_workbench_plugin_paths_names_a_folder_then_its_models_are_listed(isolated, tmp_path, monkeypatch):
    _write_plugin(tmp_path / "shared-plugins", "team_model", "team_model")
    assert "team_model" not in available_models()
    monkeypatch.setenv(PLUGIN_PATHS_ENV, str(tmp_path / "shared-plugins"))
    assert "team_model" in available_models()
