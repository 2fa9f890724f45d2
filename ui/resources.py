"""Cached handles: one Workbench per process, created (and migrated) once."""

from __future__ import annotations

import threading

import streamlit as st

from workbench.config import load_settings
from workbench.store.service import Workbench


@st.cache_resource(show_spinner=False)
def _workbench(database_url: str) -> Workbench:
    return Workbench(load_settings())


def workbench() -> Workbench:
    """The deployment handle for this server process (keyed by database URL)."""
    return _workbench(load_settings().database_url)


@st.cache_resource(show_spinner=False)
def _warm_up(database_url: str) -> threading.Thread:
    from workbench.review.case import warm_up

    thread = threading.Thread(target=_quietly, args=(warm_up, workbench()), name="workbench-warm-up", daemon=True)
    thread.start()
    return thread


def _quietly(fn, *args) -> None:
    # A failed warm-up only costs speed: the page will load what it needs itself and show the error.
    try:
        fn(*args)
    except Exception:  # noqa: S110
        pass


def start_warm_up() -> None:
    """Load posteriors and cohort frames in the background once per server process."""
    _warm_up(load_settings().database_url)
