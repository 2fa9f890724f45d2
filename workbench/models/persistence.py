"""Reading and writing a run's ``xarray.DataTree`` as NetCDF.

NetCDF-4 groups (h5netcdf) need ``h5py``; where it is not installed the tree is flattened into one
classic NetCDF-3 file (scipy engine): variables and dimensions are prefixed with their group path
(``posterior.alpha``) and group attributes are kept as JSON, so the reloaded tree is identical.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import xarray as xr

_SEP = "."
_FLAT_MARK = "workbench_flat_datatree"


def has_netcdf4() -> bool:
    """Whether NetCDF-4 (HDF5) writing is available."""
    return importlib.util.find_spec("h5py") is not None


def write_tree(tree: xr.DataTree, path: Path) -> None:
    """Write ``tree`` to ``path`` (NetCDF-4 if possible, else flattened NetCDF-3)."""
    if has_netcdf4():
        tree.to_netcdf(path, engine="h5netcdf")
        return
    variables: dict[str, xr.Variable] = {}
    group_attrs: dict[str, dict] = {}
    for node in tree.subtree:
        group = node.path.strip("/")
        if not group:
            continue
        ds = node.to_dataset(inherit=False)
        group_attrs[group] = {k: v for k, v in ds.attrs.items()}
        for name, var in ds.variables.items():
            dims = tuple(f"{group}{_SEP}{d}" for d in var.dims)
            variables[f"{group}{_SEP}{name}"] = xr.Variable(dims, var.values, var.attrs)
    flat = xr.Dataset(variables)
    flat.attrs = dict(tree.attrs)
    flat.attrs[_FLAT_MARK] = json.dumps({"groups": group_attrs, "coords": _coord_names(tree)}, default=str)
    flat.to_netcdf(path, engine="scipy")


def _coord_names(tree: xr.DataTree) -> dict[str, list[str]]:
    return {
        node.path.strip("/"): list(node.to_dataset(inherit=False).coords)
        for node in tree.subtree
        if node.path.strip("/")
    }


def read_tree(path: Path) -> xr.DataTree:
    """Read a tree written by :func:`write_tree`, fully into memory."""
    try:
        with xr.open_dataset(path, engine="scipy") as flat:
            flat = flat.load()
    except Exception:  # not NetCDF-3: a NetCDF-4 tree
        return xr.open_datatree(path, engine="h5netcdf").load()
    meta = json.loads(flat.attrs.pop(_FLAT_MARK))
    groups: dict[str, xr.Dataset] = {}
    for group, attrs in meta["groups"].items():
        prefix = group + _SEP
        names = [n for n in flat.variables if str(n).startswith(prefix)]
        data_vars, coords = {}, {}
        for n in names:
            var = flat.variables[n]
            short = str(n)[len(prefix) :]
            v = xr.Variable(tuple(d[len(prefix) :] for d in var.dims), var.values, var.attrs)
            (coords if short in meta["coords"][group] else data_vars)[short] = v
        groups["/" + group] = xr.Dataset(data_vars, coords=coords, attrs=attrs)
    tree = xr.DataTree.from_dict(groups)
    tree.attrs = dict(flat.attrs)
    return tree
