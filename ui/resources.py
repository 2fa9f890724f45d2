"""Cached handles: one Workbench per process, created (and migrated) once."""

from __future__ import annotations

import streamlit as st

from workbench.config import load_settings
from workbench.store.service import Workbench


@st.cache_resource(show_spinner=False)
def _workbench(database_url: str) -> Workbench:
    return Workbench(load_settings())


def workbench() -> Workbench:
    """The deployment handle for this server process (keyed by database URL)."""
    return _workbench(load_settings().database_url)
