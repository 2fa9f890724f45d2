"""Reading and writing a run's ``xarray.DataTree`` as NetCDF-4 (HDF5 groups, via h5netcdf).

One group per DataTree node (``posterior``, ``sample_stats``, ``posterior_predictive``...), provenance in the
root attributes.  Reading loads everything into memory and closes the file, so a run file can be
replaced while a dashboard process still serves the run it loaded.
"""

from __future__ import annotations

from pathlib import Path

import xarray as xr


def write_tree(tree: xr.DataTree, path: Path) -> None:
    """Write ``tree`` to ``path`` as NetCDF-4 with groups."""
    tree.to_netcdf(path, engine="h5netcdf")


def read_tree(path: Path) -> xr.DataTree:
    """Read a tree written by :func:`write_tree`, fully into memory."""
    with xr.open_datatree(path, engine="h5netcdf") as tree:
        return tree.load().copy()
