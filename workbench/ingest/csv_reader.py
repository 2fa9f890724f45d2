"""Read a CSV extract folder (one file per table) into ``SourcePatient`` objects.

Every table is checked against its data contract first; any violation stops the import before
anything is de-identified or stored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from workbench.contracts import ContractError, validate_csv_extract
from workbench.ingest.records import SourcePatient, alternative_for_drug

IDENTITY_COLUMNS = (
    "given_name",
    "family_name",
    "birth_date",
    "address_line",
    "city",
    "state",
    "zip",
    "phone",
    "email",
    "mrn",
    "ssn",
    "health_plan_id",
)
CONSENT_COLUMNS = {
    "consent_care": "care",
    "consent_model_training": "model_training",
    "consent_research": "research",
}


def is_csv_extract(path: Path) -> bool:
    """A folder is a CSV extract when it holds ``patients.csv``."""
    return path.is_dir() and (path / "patients.csv").is_file()


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def _float(value: str | None) -> float | None:
    return float(value) if value not in (None, "") else None


def read_tables(folder: Path) -> dict[str, pd.DataFrame]:
    """Load and contract-check every table of the extract, references between tables included."""
    tables, violations = validate_csv_extract(folder)
    if violations:
        raise ContractError(violations)
    return {name: frame.fillna("") for name, frame in tables.items()}


def read_csv_extract(folder: Path, *, progress: Callable[[int], None] | None = None) -> list[SourcePatient]:
    """Turn a checked CSV extract into one ``SourcePatient`` per row of ``patients.csv``."""
    frames = read_tables(folder)
    patients: dict[str, SourcePatient] = {}
    for row_number, row in enumerate(frames["patients"].to_dict("records"), start=1):
        identity = {col: row[col] for col in IDENTITY_COLUMNS if row.get(col)}
        consents = {
            purpose: row[col].strip().lower() in {"yes", "y", "true", "1"}
            for col, purpose in CONSENT_COLUMNS.items()
            if row.get(col)
        }
        patients[row["patient_id"]] = SourcePatient(
            key=row.get("mrn") or row["patient_id"],
            locator=f"patients.csv row {row_number}",
            identity=identity,
            sex=row.get("sex") or None,
            birth_date=_date(row.get("birth_date")),
            ethnicity_group=row.get("ethnicity_group") or None,
            deprivation_quintile=int(row["deprivation_quintile"])
            if row.get("deprivation_quintile")
            else None,
            zip_code=row.get("zip") or None,
            consents=consents or None,
        )
    treatment_ids: dict[str, dict] = {}
    for row in frames.get("encounters", pd.DataFrame()).to_dict("records"):
        p = patients[row["patient_id"]]
        p.encounters.append(
            {
                "source_id": row["encounter_id"],
                "encounter_type": row.get("encounter_type") or None,
                "encounter_date": _date(row.get("encounter_date")),
                "clinician": row.get("clinician_name") or None,
                "site": row.get("site_name") or None,
            }
        )
        for name in (row.get("clinician_name"),):
            if name:
                p.people.add(name)
        if row.get("site_name"):
            p.places.add(row["site_name"])
    for row in frames.get("conditions", pd.DataFrame()).to_dict("records"):
        patients[row["patient_id"]].conditions.append(
            {
                "system": "http://snomed.info/sct",
                "code": row["code"],
                "display": row.get("display") or None,
                "onset_date": _date(row.get("onset_date")),
            }
        )
    for row in frames.get("observations", pd.DataFrame()).to_dict("records"):
        patients[row["patient_id"]].observations.append(
            {
                "system": "http://loinc.org",
                "code": row["code"],
                "display": row.get("display") or None,
                "value": _float(row.get("value")),
                "unit": row.get("unit") or None,
                "effective_date": _date(row.get("observation_date")),
            }
        )
    for row in frames.get("medications", pd.DataFrame()).to_dict("records"):
        treatment = {
            "source_id": row["treatment_id"],
            "alternative": row.get("alternative") or alternative_for_drug(row.get("drug_name")),
            "drug_name": row.get("drug_name") or None,
            "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
            "code": row.get("rxnorm_code") or None,
            "line": row.get("line") or None,
            "start_date": _date(row.get("start_date")),
        }
        patients[row["patient_id"]].treatments.append(treatment)
        treatment_ids[row["treatment_id"]] = treatment
    for row in frames.get("outcomes", pd.DataFrame()).to_dict("records"):
        patients[row["patient_id"]].outcomes.append(
            {
                "treatment_source_id": row.get("treatment_id") or None,
                "outcome_date": _date(row.get("outcome_date")),
                "hba1c_change": _float(row.get("hba1c_change")),
                "adverse_event": row["adverse_event"] in {"1", "true", "yes"}
                if row.get("adverse_event")
                else None,
                "adverse_event_type": row.get("adverse_event_type") or None,
            }
        )
    for row in frames.get("notes", pd.DataFrame()).to_dict("records"):
        p = patients[row["patient_id"]]
        p.notes.append(
            {
                "note_type": row.get("note_type") or None,
                "note_date": _date(row.get("note_date")),
                "author": row.get("author_name") or None,
                "text": row.get("text") or "",
            }
        )
        if row.get("author_name"):
            p.people.add(row["author_name"])
    if progress:
        progress(len(patients))
    return list(patients.values())
