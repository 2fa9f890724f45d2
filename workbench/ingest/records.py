"""The in-memory shape of one patient as read from an extract, before de-identification.

Both readers (CSV tables, FHIR bundles) produce ``SourcePatient`` objects; de-identification turns
them into stored rows. Identifiers live only here, in memory, and in the sealed vault blob.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

#: Drug names mapped to the alternatives of the diabetes scenario; the clinical vocabulary is ours.
DRUG_CLASSES: dict[str, tuple[str, ...]] = {
    "sglt2i": ("empagliflozin", "dapagliflozin", "canagliflozin", "ertugliflozin", "sotagliflozin"),
    "glp1ra": ("semaglutide", "liraglutide", "dulaglutide", "exenatide", "lixisenatide", "tirzepatide"),
    "dpp4i": ("sitagliptin", "linagliptin", "saxagliptin", "alogliptin", "vildagliptin"),
    "basal_insulin": (
        "insulin glargine",
        "insulin detemir",
        "insulin degludec",
        "isophane insulin",
        "nph insulin",
        "glargine",
        "detemir",
        "degludec",
    ),
}


def alternative_for_drug(name: str | None) -> str | None:
    """Map a drug name (any case, with strength and form) to its alternative code, if any."""
    if not name:
        return None
    lowered = name.lower()
    for alternative, drugs in DRUG_CLASSES.items():
        if any(drug in lowered for drug in drugs):
            return alternative
    return None


@dataclass
class SourcePatient:
    """One patient from an extract, identifiers included (memory only)."""

    key: str
    locator: str
    identity: dict[str, str] = field(default_factory=dict)
    sex: str | None = None
    birth_date: dt.date | None = None
    ethnicity_group: str | None = None
    deprivation_quintile: int | None = None
    zip_code: str | None = None
    consents: dict[str, bool] | None = None
    encounters: list[dict[str, Any]] = field(default_factory=list)
    conditions: list[dict[str, Any]] = field(default_factory=list)
    observations: list[dict[str, Any]] = field(default_factory=list)
    treatments: list[dict[str, Any]] = field(default_factory=list)
    procedures: list[dict[str, Any]] = field(default_factory=list)
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    notes: list[dict[str, Any]] = field(default_factory=list)
    people: set[str] = field(default_factory=set)
    places: set[str] = field(default_factory=set)

    def index_date(self) -> dt.date | None:
        """Start of the treatment under review: the earliest second-line (else any) study alternative."""
        dated = [t for t in self.treatments if t.get("start_date") and t.get("alternative")]
        second = [t["start_date"] for t in dated if t.get("line") == "second"]
        starts = second or [t["start_date"] for t in dated]
        return min(starts) if starts else None

    def last_contact(self) -> dt.date | None:
        """The latest dated fact: age is reported at this date when there is no index treatment."""
        dates = [e["encounter_date"] for e in self.encounters if e.get("encounter_date")]
        dates += [o["effective_date"] for o in self.observations if o.get("effective_date")]
        return max(dates) if dates else None


@dataclass
class ReadResult:
    """What the readers found: patients, what they skipped, and the content hash of the inputs."""

    patients: list[SourcePatient]
    content_hash: str
    source_kind: str
    n_files: int
    skipped: dict[str, int] = field(default_factory=dict)
