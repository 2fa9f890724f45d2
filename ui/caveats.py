"""The comparison's caveats as one compact box, so the chart stays on the first screen."""

from __future__ import annotations

import streamlit as st

from workbench.review.case import Comparison


def show_caveats(comparison: Comparison) -> None:
    """Every caveat as one short line in a single warning; the full sentences one click away.

    Nothing is dropped: the box lists one line per warning, and the expander holds the plain-words
    explanation of each (the same text that is frozen with a decision and printed on its record).
    """
    full = list(comparison.warnings)
    if not full:
        return
    lines = list(comparison.warning_lines)
    if len(lines) != len(full):  # a comparison built without short lines: show the sentences themselves
        lines = full
    count = f"{len(full)} caveat{'s' if len(full) > 1 else ''}"
    st.warning(f"**Read before deciding ({count}):**\n" + "\n".join(f"- {line}" for line in lines), icon="⚠️")
    if lines is not full:
        with st.expander("What these caveats mean"):
            st.markdown("\n".join(f"- {sentence}" for sentence in full))
