"""docs/models.md documents every configuration key of the built-in models, and only those.

A data scientist tunes a model through these dicts; a key the docs do not name is a setting nobody
can find, and a documented key the code dropped silently does nothing (the merge with ``|`` accepts
any key).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from workbench.models.bcf import BCFModel
from workbench.models.diagnostics import DEFAULT_THRESHOLDS
from workbench.models.hierarchical import HierarchicalEffectModel
from workbench.models.registry import _builtins
from workbench.models.residual import residual_config

DOCS = Path(__file__).resolve().parent.parent / "docs" / "models.md"
RESIDUAL_KEYS = set(residual_config("half_normal"))


def _section(title: str) -> str:
    """The text of one level-2 section of docs/models.md."""
    text = DOCS.read_text()
    start = text.index(f"## {title}")
    end = text.find("\n## ", start + 1)
    return text[start : end if end >= 0 else len(text)]


def _table_keys(section: str, caption: str) -> set[str]:
    """First-column keys of the table that follows a bold caption in a section."""
    start = section.index(f"**{caption}**")
    rows = []
    for line in section[start:].splitlines()[1:]:
        if rows and not line.startswith("|"):
            break
        if line.startswith("| `"):
            rows.append(line)
    return {m.group(1) for row in rows if (m := re.match(r"\| `([a-z_0-9]+)` \|", row))}


def test_when_the_builtin_models_are_listed_then_the_config_tables_cover_both() -> None:
    assert set(_builtins()) == {"hierarchical", "bcf"}, "a new built-in model needs its own table here"


def test_when_a_sampler_key_exists_then_it_is_documented_and_vice_versa() -> None:
    documented = _table_keys(_section("Configuration keys"), "Sampler")
    for cls in (HierarchicalEffectModel, BCFModel):
        assert set(cls().default_sampler_config) == documented, cls.name


@pytest.mark.parametrize(
    ("cls", "caption"),
    [(HierarchicalEffectModel, "`hierarchical`"), (BCFModel, "`bcf`")],
)
def test_when_a_model_key_exists_then_it_is_documented_and_vice_versa(cls: type, caption: str) -> None:
    section = _section("Configuration keys")
    own = set(cls().default_model_config) - RESIDUAL_KEYS
    assert own == _table_keys(section, caption)
    assert RESIDUAL_KEYS <= set(cls().default_model_config)


def test_when_a_residual_key_exists_then_it_is_documented_and_vice_versa() -> None:
    assert _table_keys(_section("Configuration keys"), "Residual effect term") == RESIDUAL_KEYS


def test_when_a_diagnostic_threshold_exists_then_its_gate_is_documented() -> None:
    gates = _section("Diagnostics that gate")
    named = set(re.findall(r"`([a-z_]+)`", gates))
    assert set(DEFAULT_THRESHOLDS) <= named, sorted(set(DEFAULT_THRESHOLDS) - named)
