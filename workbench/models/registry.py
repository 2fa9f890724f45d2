"""Registry of effect models by name: built-ins, installed plug-ins, plug-in files and notebook registrations.

Installed packages add models through the ``workbench.models`` entry-point group; a notebook adds one
to its own process with ``@register_model``.  A model written in a notebook reaches other processes
(the dashboard, the CLI) as a *plug-in file*: a ``.py`` module in the deployment's ``var/plugins/``
folder or in a folder listed in ``$WORKBENCH_PLUGIN_PATHS``.  The dashboard lists :func:`available_models`.

Plug-in files run as code in every process that lists models, so only the people who may already
write the deployment's ``var/`` (which holds its secret key) can add one.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import logging
import os
import sys
import threading
from importlib.metadata import entry_points
from pathlib import Path

from workbench.models.base import TreatmentEffectModel

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "workbench.models"
#: Extra plug-in folders (or single ``.py`` files), separated by ``os.pathsep``.
PLUGIN_PATHS_ENV = "WORKBENCH_PLUGIN_PATHS"
_REGISTERED: dict[str, type[TreatmentEffectModel]] = {}
#: Plug-in file -> (content hash, models it defines): a file is imported again only when its content changes
#: (a hash, not the mtime: two saves within the filesystem's timestamp granularity must not be missed).
_FILES: dict[Path, tuple[str, dict[str, type[TreatmentEffectModel]]]] = {}
_FILES_LOCK = threading.Lock()


def register_model[T: type[TreatmentEffectModel]](cls: T) -> T:
    """Class decorator: make ``cls`` available under ``cls.name`` (later registrations win)."""
    if not (isinstance(cls, type) and issubclass(cls, TreatmentEffectModel)):
        raise TypeError("only TreatmentEffectModel subclasses can be registered")
    _REGISTERED[cls.name] = cls
    return cls


def _builtins() -> dict[str, type[TreatmentEffectModel]]:
    from workbench.models.bcf import BCFModel
    from workbench.models.hierarchical import HierarchicalEffectModel

    return {HierarchicalEffectModel.name: HierarchicalEffectModel, BCFModel.name: BCFModel}


def _from_entry_points() -> dict[str, type[TreatmentEffectModel]]:
    found: dict[str, type[TreatmentEffectModel]] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            cls = ep.load()
        except Exception as exc:  # a broken plug-in must not hide the working models
            log.warning("could not load model plug-in %s: %s", ep.name, type(exc).__name__)
            continue
        if isinstance(cls, type) and issubclass(cls, TreatmentEffectModel):
            found[cls.name] = cls
    return found


def plugin_paths() -> list[Path]:
    """Where plug-in files are looked for: ``$WORKBENCH_PLUGIN_PATHS``, then the deployment's ``var/plugins``.

    Read on every call (not at import) so a process that changes ``WORKBENCH_HOME`` sees that
    deployment's plug-ins and no other's.
    """
    from workbench.config import load_settings

    extra = [Path(p) for p in os.environ.get(PLUGIN_PATHS_ENV, "").split(os.pathsep) if p.strip()]
    return [*extra, load_settings().var_dir / "plugins"]


def _plugin_files() -> list[Path]:
    files: list[Path] = []
    for entry in plugin_paths():
        if entry.is_file() and entry.suffix == ".py":
            files.append(entry.resolve())
        elif entry.is_dir():
            files += sorted(p.resolve() for p in entry.glob("*.py") if not p.name.startswith(("_", ".")))
    return list(dict.fromkeys(files))


def _load_file(path: Path) -> dict[str, type[TreatmentEffectModel]]:
    """Import one plug-in file (again only if it changed); its models are the ones it defines or registers."""
    stamp = hashlib.sha256(path.read_bytes()).hexdigest()
    cached = _FILES.get(path)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    # A stable, unique module name per file: classes pickle and show a meaningful __module__.
    module_name = f"workbench_plugins.{path.stem}_{hashlib.sha256(str(path).encode()).hexdigest()[:8]}"
    before = dict(_REGISTERED)
    found: dict[str, type[TreatmentEffectModel]] = {}
    try:
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise ImportError(module_name)
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    except Exception as exc:  # a broken plug-in file must not hide the working models
        sys.modules.pop(module_name, None)
        log.warning("could not load model plug-in file %s: %s", path.name, type(exc).__name__)
    else:
        found = {
            obj.name: obj
            for obj in vars(module).values()
            if isinstance(obj, type)
            and issubclass(obj, TreatmentEffectModel)
            and obj.__module__ == module_name
            and not inspect.isabstract(obj)
        }
        found |= {name: cls for name, cls in _REGISTERED.items() if before.get(name) is not cls}
    finally:
        # ``@register_model`` in a plug-in file must not outlive the file (or leak to other deployments).
        _REGISTERED.clear()
        _REGISTERED.update(before)
    _FILES[path] = (stamp, found)
    return found


def _from_plugin_files() -> dict[str, type[TreatmentEffectModel]]:
    found: dict[str, type[TreatmentEffectModel]] = {}
    with _FILES_LOCK:
        for path in _plugin_files():
            found |= _load_file(path)
    return found


def available_models() -> dict[str, type[TreatmentEffectModel]]:
    """All models by name; registrations override plug-in files, then installed plug-ins, then built-ins."""
    return _builtins() | _from_entry_points() | _from_plugin_files() | _REGISTERED


def get_model(name: str) -> type[TreatmentEffectModel]:
    """The model class registered as ``name``."""
    models = available_models()
    if name not in models:
        raise KeyError(f"no model named {name!r}; available: {sorted(models)}")
    return models[name]
