"""Data contracts for hospital extracts: CSV table schemas and the supported FHIR R4 subset.

The schemas below are the single source of truth; ``data_contracts/`` holds their readable form and
``tests/test_contracts.py`` fails when the two drift apart. Violations are reported as file, row and
field with the name of the failed check, and never with the offending value: a bad value in a
hospital extract is often a name, an MRN or a date of birth, and error reports end up in logs.

Row convention (CSV): ``row`` is the 1-based number of the data record, the header being row 0. A
record whose free text spans several physical lines still counts as one row. ``row`` is ``None``
for problems of a whole file or column (a missing column, a missing file).

Row convention (FHIR): ``row`` is the 1-based position of the entry in ``Bundle.entry``; ``field``
is ``ResourceType.element.path``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import pandera.pandas as pa
from pydantic import ValidationError

from workbench.demo import ADVERSE_EVENT_TYPES, ALTERNATIVES, ETHNICITY_GROUPS

CONTRACTS_DIR = Path(__file__).resolve().parents[1] / "data_contracts"

Kind = Literal["id", "text", "date", "integer", "decimal", "code", "yesno", "binary"]
# What de-identification does with a field: "keep", "drop" (direct identifier, never stored),
# "pseudonymise" (keyed HMAC), "shift" (date moved by the per-patient offset), "generalise"
# (Safe Harbor rule), "scrub" (free text, identifiers removed).
Handling = Literal["keep", "drop", "pseudonymise", "shift", "generalise", "scrub"]


@dataclass(frozen=True)
class FieldSpec:
    """One column of a CSV table, as the contract states it."""

    name: str
    kind: Kind
    required: bool = True
    allowed: tuple[str, ...] | None = None
    pattern: str | None = None
    unique: bool = False
    handling: Handling = "keep"


@dataclass(frozen=True)
class ContractViolation:
    """One broken rule, located without repeating the value that broke it."""

    file: str
    row: int | None
    field: str | None
    problem: str

    def __str__(self) -> str:
        row = "" if self.row is None else str(self.row)
        return f"{self.file}:{row}:{self.field or ''}: {self.problem}"


class ContractError(Exception):
    """An extract broke its contract; carries every violation found (values never included)."""

    max_listed = 20

    def __init__(self, violations: Iterable[ContractViolation]) -> None:
        self.violations = list(violations)
        super().__init__(self._message())

    def _message(self) -> str:
        n = len(self.violations)
        lines = [f"{n} data-contract violation{'s' if n != 1 else ''}:"]
        lines += [f"  {v}" for v in self.violations[: self.max_listed]]
        if n > self.max_listed:
            lines.append(f"  ... and {n - self.max_listed} more")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self._message()


_YES_NO = ("yes", "no")
_SEX = ("female", "male", "other", "unknown")
_DATE_RE = r"\d{4}-\d{2}-\d{2}"

TABLE_SPECS: dict[str, tuple[FieldSpec, ...]] = {
    "patients": (
        FieldSpec("patient_id", "id", unique=True, handling="pseudonymise"),
        # Unique: the MRN is the patient's key (its pseudonym), so two rows sharing one would be
        # one patient and the second row's facts would be lost.
        FieldSpec("mrn", "text", unique=True, handling="drop"),
        FieldSpec("ssn", "text", required=False, pattern=r"\d{3}-?\d{2}-?\d{4}", handling="drop"),
        FieldSpec("health_plan_id", "text", required=False, handling="drop"),
        FieldSpec("given_name", "text", required=False, handling="drop"),
        FieldSpec("family_name", "text", required=False, handling="drop"),
        FieldSpec("birth_date", "date", handling="generalise"),
        FieldSpec("sex", "code", allowed=_SEX),
        FieldSpec("ethnicity_group", "code", required=False, allowed=(*ETHNICITY_GROUPS, "unknown")),
        FieldSpec("address_line", "text", required=False, handling="drop"),
        FieldSpec("city", "text", required=False, handling="drop"),
        FieldSpec("state", "code", required=False, pattern=r"[A-Z]{2}"),
        FieldSpec("zip", "code", required=False, pattern=r"\d{5}(-\d{4})?", handling="generalise"),
        FieldSpec("phone", "text", required=False, handling="drop"),
        FieldSpec("email", "text", required=False, handling="drop"),
        FieldSpec("deprivation_quintile", "integer", required=False, allowed=("1", "2", "3", "4", "5")),
        FieldSpec("consent_care", "yesno", allowed=_YES_NO),
        FieldSpec("consent_model_training", "yesno", allowed=_YES_NO),
        FieldSpec("consent_research", "yesno", allowed=_YES_NO),
    ),
    "encounters": (
        FieldSpec("encounter_id", "id", unique=True, handling="pseudonymise"),
        FieldSpec("patient_id", "id", handling="pseudonymise"),
        FieldSpec("encounter_date", "date", handling="shift"),
        FieldSpec(
            "encounter_type",
            "code",
            allowed=("outpatient", "inpatient", "emergency", "virtual", "other"),
        ),
        FieldSpec("clinician_name", "text", required=False, handling="pseudonymise"),
        FieldSpec("site_name", "text", required=False, handling="pseudonymise"),
    ),
    "conditions": (
        FieldSpec("condition_id", "id", unique=True, handling="pseudonymise"),
        FieldSpec("patient_id", "id", handling="pseudonymise"),
        FieldSpec("code", "code", pattern=r"\d{6,18}"),
        FieldSpec("display", "text", required=False),
        FieldSpec("onset_date", "date", required=False, handling="shift"),
    ),
    "observations": (
        FieldSpec("observation_id", "id", unique=True, handling="pseudonymise"),
        FieldSpec("patient_id", "id", handling="pseudonymise"),
        FieldSpec("observation_date", "date", handling="shift"),
        FieldSpec("code", "code", pattern=r"\d{1,7}-\d"),
        FieldSpec("display", "text", required=False),
        FieldSpec("value", "decimal"),
        FieldSpec("unit", "text"),
    ),
    "medications": (
        FieldSpec("treatment_id", "id", unique=True, handling="pseudonymise"),
        FieldSpec("patient_id", "id", handling="pseudonymise"),
        FieldSpec("start_date", "date", handling="shift"),
        FieldSpec("alternative", "code", allowed=tuple(ALTERNATIVES)),
        FieldSpec("drug_name", "text", required=False),
        FieldSpec("rxnorm_code", "code", required=False, pattern=r"\d{1,10}"),
        FieldSpec("line", "code", required=False, allowed=("first", "second", "third", "later")),
    ),
    "outcomes": (
        FieldSpec("patient_id", "id", handling="pseudonymise"),
        FieldSpec("treatment_id", "id", unique=True, handling="pseudonymise"),
        FieldSpec("outcome_date", "date", handling="shift"),
        FieldSpec("hba1c_change", "decimal", required=False),
        FieldSpec("adverse_event", "binary", required=False, allowed=("0", "1")),
        FieldSpec(
            "adverse_event_type",
            "code",
            required=False,
            allowed=tuple(sorted(set(ADVERSE_EVENT_TYPES.values()))),
        ),
    ),
    "notes": (
        FieldSpec("note_id", "id", unique=True, handling="pseudonymise"),
        FieldSpec("patient_id", "id", handling="pseudonymise"),
        FieldSpec("note_date", "date", handling="shift"),
        FieldSpec("author_name", "text", required=False, handling="pseudonymise"),
        FieldSpec(
            "note_type",
            "code",
            allowed=("clinic_letter", "discharge_summary", "progress_note", "other"),
        ),
        FieldSpec("text", "text", handling="scrub"),
    ),
}

# Foreign keys checked across tables: (table, field) -> (target table, target field).
REFERENCES: dict[tuple[str, str], tuple[str, str]] = {
    **{(t, "patient_id"): ("patients", "patient_id") for t in TABLE_SPECS if t != "patients"},
    ("outcomes", "treatment_id"): ("medications", "treatment_id"),
}

PROBLEM_MISSING = "required value missing"
PROBLEM_DATE = "not a valid date (YYYY-MM-DD)"
PROBLEM_ALLOWED = "not one of the allowed values"
PROBLEM_INTEGER = "not a whole number"
PROBLEM_DECIMAL = "not a number"
PROBLEM_PATTERN = "does not have the expected format"
PROBLEM_UNIQUE = "duplicate value (must be unique)"
PROBLEM_COLUMN = "required column missing"
PROBLEM_FILE = "required file missing"
PROBLEM_UNREADABLE = "file cannot be read as CSV (UTF-8, comma-separated, header row)"


def _is_date(s: pd.Series) -> pd.Series:
    text = s.astype(str)
    parsed = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
    return text.str.fullmatch(_DATE_RE) & parsed.notna()


def _column(spec: FieldSpec) -> pa.Column:
    checks: list[pa.Check] = []
    if spec.kind == "date":
        checks.append(pa.Check(_is_date, error=PROBLEM_DATE))
    elif spec.allowed is not None:
        checks.append(pa.Check.isin(list(spec.allowed), error=PROBLEM_ALLOWED))
    elif spec.kind == "integer":
        checks.append(pa.Check.str_matches(r"^-?\d+$", error=PROBLEM_INTEGER))
    elif spec.kind == "decimal":
        checks.append(pa.Check.str_matches(r"^-?\d+(\.\d+)?$", error=PROBLEM_DECIMAL))
    if spec.pattern is not None:
        checks.append(pa.Check.str_matches(f"^(?:{spec.pattern})$", error=PROBLEM_PATTERN))
    return pa.Column(
        None,
        nullable=not spec.required,
        unique=spec.unique,
        required=True,
        checks=checks,
        name=spec.name,
    )


def _schema(table: str, specs: tuple[FieldSpec, ...]) -> pa.DataFrameSchema:
    # strict=False: columns outside the contract are ignored by import and never stored.
    return pa.DataFrameSchema({s.name: _column(s) for s in specs}, name=table, strict=False)


CSV_TABLES: dict[str, pa.DataFrameSchema] = {t: _schema(t, s) for t, s in TABLE_SPECS.items()}

_PANDERA_PROBLEMS = {
    "not_nullable": PROBLEM_MISSING,
    "field_uniqueness": PROBLEM_UNIQUE,
    "column_in_dataframe": PROBLEM_COLUMN,
}


def read_csv_table(path: Path) -> pd.DataFrame:
    """Read one extract table exactly as written: every cell a string, only empty cells missing.

    Pandas would otherwise turn "NA" or "null" (both real surnames) into missing values and
    "007" into 7; reading strings keeps what the hospital sent for the contract to judge.
    """
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8")


def validate_csv_table(table: str, df: pd.DataFrame, *, file_name: str) -> list[ContractViolation]:
    """Check one table (as read by :func:`read_csv_table`) against its contract.

    Parameters
    ----------
    table
        Table name, the file stem (``"patients"``, ...).
    df
        The table, one row per data record in file order, default integer index.
    file_name
        Name used in the violations (the file the rows came from).
    """
    if table not in CSV_TABLES:
        return [ContractViolation(file_name, None, None, "not a table of the CSV contract")]
    df = _as_text(df.reset_index(drop=True))
    try:
        CSV_TABLES[table].validate(df, lazy=True)
    except pa.errors.SchemaErrors as err:
        return _violations(err.failure_cases, file_name)
    return []


def _as_text(df: pd.DataFrame) -> pd.DataFrame:
    """Every cell a string or missing; whitespace-only cells count as missing ("  " is no id)."""

    def cell(v: Any) -> str | None:
        if v is None or (not isinstance(v, str) and pd.isna(v)):
            return None
        text = v if isinstance(v, str) else str(v)
        return text if text.strip() else None

    return pd.DataFrame({c: df[c].map(cell).astype(object) for c in df.columns}, index=df.index)


def _violations(cases: pd.DataFrame, file_name: str) -> list[ContractViolation]:
    out = []
    for case in cases.itertuples(index=False):
        check = str(case.check)
        problem = _PANDERA_PROBLEMS.get(check, check)
        if check == "column_in_dataframe":
            # Here pandera puts the missing column's name (not a data value) in failure_case.
            out.append(ContractViolation(file_name, None, str(case.failure_case), problem))
            continue
        if problem not in _KNOWN_PROBLEMS:
            problem = "does not meet the contract"
        row = None if case.index is None or pd.isna(case.index) else int(case.index) + 1
        out.append(
            ContractViolation(file_name, row, None if case.column is None else str(case.column), problem)
        )
    out.sort(key=lambda v: (v.row is not None, v.row or 0, v.field or ""))
    return out


_KNOWN_PROBLEMS = {
    PROBLEM_MISSING,
    PROBLEM_DATE,
    PROBLEM_ALLOWED,
    PROBLEM_INTEGER,
    PROBLEM_DECIMAL,
    PROBLEM_PATTERN,
    PROBLEM_UNIQUE,
    PROBLEM_COLUMN,
}


def validate_csv_extract(folder: Path) -> tuple[dict[str, pd.DataFrame], list[ContractViolation]]:
    """Read and check every table of a CSV extract folder, including references between tables.

    Returns the tables as the contract judged them (strings; empty and whitespace-only cells
    missing, so a reader never meets a blank the checks let through) and all violations; import
    stores nothing unless the list is empty.
    """
    folder = Path(folder)
    tables: dict[str, pd.DataFrame] = {}
    violations: list[ContractViolation] = []
    for table in TABLE_SPECS:
        path = folder / f"{table}.csv"
        if not path.is_file():
            violations.append(ContractViolation(path.name, None, None, PROBLEM_FILE))
            continue
        try:
            df = read_csv_table(path)
        except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError):
            # (an OSError's message would name the folder, which may carry a patient's name)
            violations.append(ContractViolation(path.name, None, None, PROBLEM_UNREADABLE))
            continue
        tables[table] = _as_text(df)
        violations += validate_csv_table(table, df, file_name=path.name)
    for (table, col), (target, target_col) in REFERENCES.items():
        if table not in tables or target not in tables:
            continue
        src, dst = tables[table], tables[target]
        if col not in src.columns or target_col not in dst.columns:
            continue
        known = set(dst[target_col].dropna())
        bad = src[col].notna() & ~src[col].isin(known)
        for idx in src.index[bad]:
            violations.append(
                ContractViolation(
                    f"{table}.csv", int(idx) + 1, col, f"refers to a {target_col} not in {target}.csv"
                )
            )
    return tables, violations


def parse_csv_table(table: str, df: pd.DataFrame) -> pd.DataFrame:
    """Convert a validated string table to typed columns (dates, numbers, booleans).

    Dates become ``datetime64``, integers nullable ``Int64``, decimals ``float64``, yes/no and 0/1
    flags nullable ``boolean``; text and codes stay strings.
    """
    out = df.copy()
    for spec in TABLE_SPECS[table]:
        if spec.name not in out.columns:
            continue
        col = out[spec.name]
        match spec.kind:
            case "date":
                out[spec.name] = pd.to_datetime(col, format="%Y-%m-%d")
            case "integer":
                out[spec.name] = pd.to_numeric(col).astype("Int64")
            case "decimal":
                out[spec.name] = pd.to_numeric(col).astype("float64")
            case "yesno":
                out[spec.name] = col.map({"yes": True, "no": False}).astype("boolean")
            case "binary":
                out[spec.name] = col.map({"1": True, "0": False}).astype("boolean")
    return out


# --------------------------------------------------------------------------------------------------
# Documentation parity.

_DOC_ROW = re.compile(r"^\|\s*`([^`]+)`\s*\|(.*)$")


def _doc_rows(path: Path) -> list[tuple[str, list[str]]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        m = _DOC_ROW.match(line.strip())
        if m:
            cells = [c.strip() for c in m.group(2).strip().strip("|").split("|")]
            rows.append((m.group(1), cells))
    return rows


def documented_fields(table: str) -> set[str]:
    """Field names listed in ``data_contracts/csv/<table>.md`` (rows whose first cell is code)."""
    return {name for name, _ in _doc_rows(CONTRACTS_DIR / "csv" / f"{table}.md")}


def documented_field_rows(table: str) -> dict[str, list[str]]:
    """Each documented field's other cells: type, required, allowed values, de-identification."""
    return dict(_doc_rows(CONTRACTS_DIR / "csv" / f"{table}.md"))


# --------------------------------------------------------------------------------------------------
# FHIR R4 subset.

FHIR_BUNDLE_TYPES = ("transaction", "collection", "batch")
# Element paths the importer reads per supported resource type (documented in data_contracts/fhir.md).
FHIR_ELEMENTS: dict[str, tuple[str, ...]] = {
    "Patient": (
        "id",
        "identifier",
        "name",
        "telecom",
        "gender",
        "birthDate",
        "address",
        "extension",
        "deceasedDateTime",
    ),
    "Encounter": (
        "id",
        "identifier",
        "status",
        "class",
        "type",
        "subject",
        "period",
        "participant",
        "serviceProvider",
    ),
    "Condition": ("id", "identifier", "clinicalStatus", "code", "subject", "onsetDateTime", "recordedDate"),
    "Observation": (
        "id",
        "identifier",
        "status",
        "code",
        "subject",
        "encounter",
        "basedOn",
        "effectiveDateTime",
        "valueQuantity",
        "valueInteger",
        "valueBoolean",
        "valueString",
        "valueCodeableConcept",
        "component",
    ),
    "MedicationRequest": (
        "id",
        "identifier",
        "status",
        "medicationCodeableConcept",
        "subject",
        "encounter",
        "authoredOn",
        "requester",
        "extension",
    ),
    "Procedure": ("id", "identifier", "status", "code", "subject", "performedDateTime", "performedPeriod"),
    "DocumentReference": (
        "id",
        "identifier",
        "status",
        "type",
        "subject",
        "date",
        "author",
        "content",
        "context",
    ),
}
FHIR_SUPPORTED_RESOURCES = frozenset(FHIR_ELEMENTS)
# Resource types whose names are pseudonymised when met, though not otherwise read.
FHIR_NAMED_RESOURCES = frozenset({"Practitioner", "Organization"})


@dataclass
class FhirCheck:
    """Result of checking one Bundle: violations plus what was found, by resource type."""

    violations: list[ContractViolation] = field(default_factory=list)
    supported: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)


_FHIR_PROBLEMS = {
    "missing": PROBLEM_MISSING,
    "extra_forbidden": "element not defined for this resource",
    "literal_error": PROBLEM_ALLOWED,
    "enum": PROBLEM_ALLOWED,
    "string_pattern_mismatch": PROBLEM_PATTERN,
    "value_error": "invalid value for this element",
    "date_from_datetime_parsing": PROBLEM_DATE,
    "date_parsing": PROBLEM_DATE,
    "datetime_parsing": "not a valid FHIR dateTime",
    "list_type": "must be a list",
    "dict_type": "must be an object",
    "string_type": "must be a string",
    "bool_type": "must be a boolean",
    "decimal_parsing": PROBLEM_DECIMAL,
    "float_parsing": PROBLEM_DECIMAL,
    "int_parsing": PROBLEM_INTEGER,
}


# Required bindings that fhir.resources does not enforce (it checks types, not value sets).
_FHIR_REQUIRED_CODES: dict[tuple[str, str], frozenset[str]] = {
    ("Patient", "gender"): frozenset({"male", "female", "other", "unknown"}),
    ("Encounter", "status"): frozenset(
        {"planned", "arrived", "triaged", "in-progress", "onleave", "finished", "cancelled"}
        | {"entered-in-error", "unknown"}
    ),
    ("Observation", "status"): frozenset(
        {"registered", "preliminary", "final", "amended", "corrected", "cancelled"}
        | {"entered-in-error", "unknown"}
    ),
    ("MedicationRequest", "status"): frozenset(
        {"active", "on-hold", "cancelled", "completed", "entered-in-error", "stopped", "draft"} | {"unknown"}
    ),
    ("Procedure", "status"): frozenset(
        {"preparation", "in-progress", "not-done", "on-hold", "stopped", "completed"}
        | {"entered-in-error", "unknown"}
    ),
    ("DocumentReference", "status"): frozenset({"current", "superseded", "entered-in-error"}),
}


# FHIR resource type names are one capitalised word of letters (``Patient``, ``MedicationRequest``).
_RESOURCE_TYPE = re.compile(r"[A-Z][A-Za-z]{1,63}")
# FHIR element names are lowerCamelCase ASCII (``_`` starts a primitive's extension element).
_ELEMENT_NAME = re.compile(r"_?[a-z][A-Za-z0-9]{0,63}")


def _element(name: str) -> str:
    """An element path part as reported; a key that cannot be an element name is not repeated.

    An unknown key is named so that a misspelt element can be found, but a key that is no element
    name at all (``"Zelda Smith": ...``) may be data written in the wrong place.
    """
    return name if _ELEMENT_NAME.fullmatch(name) else "(unnamed element)"


def _fhir_class(resource_type: str) -> type[Any]:
    # fhir.resources >= 8 ships R5 as its default package and R4B (a compatible R4 revision) as a
    # subpackage; there is no separate R4 package, so R4 resources are validated against R4B.
    module = import_module(f"fhir.resources.R4B.{resource_type.lower()}")
    return getattr(module, resource_type)


def check_fhir_bundle(bundle: Mapping[str, Any], *, file_name: str) -> FhirCheck:
    """Check one FHIR Bundle against the supported subset.

    Supported resources are validated with ``fhir.resources`` (R4B) and must have a subject where
    the subset reads one; ``urn:uuid:`` references must resolve inside the bundle; resources of
    other types are counted in ``skipped``, never errors.
    """
    result = FhirCheck()
    if not isinstance(bundle, Mapping) or bundle.get("resourceType") != "Bundle":
        result.violations.append(ContractViolation(file_name, None, "Bundle", "not a FHIR Bundle"))
        return result
    if bundle.get("type") not in FHIR_BUNDLE_TYPES:
        result.violations.append(ContractViolation(file_name, None, "Bundle.type", PROBLEM_ALLOWED))
    entries = bundle.get("entry") or []
    if not isinstance(entries, list):
        result.violations.append(ContractViolation(file_name, None, "Bundle.entry", "must be a list"))
        return result
    full_urls = {e["fullUrl"] for e in entries if isinstance(e, Mapping) and isinstance(e.get("fullUrl"), str)}
    for pos, entry in enumerate(entries, start=1):
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        if not isinstance(resource, Mapping) or "resourceType" not in resource:
            result.violations.append(
                ContractViolation(file_name, pos, "Bundle.entry.resource", PROBLEM_MISSING)
            )
            continue
        if entry.get("fullUrl") is not None and not isinstance(entry["fullUrl"], str):
            result.violations.append(ContractViolation(file_name, pos, "Bundle.entry.fullUrl", "must be a string"))
        rtype = resource["resourceType"]
        if not isinstance(rtype, str) or not _RESOURCE_TYPE.fullmatch(rtype):
            # Not a type name: counting it among the skipped types would store whatever it says.
            result.violations.append(
                ContractViolation(file_name, pos, "Bundle.entry.resource.resourceType", PROBLEM_PATTERN)
            )
            continue
        if rtype not in FHIR_SUPPORTED_RESOURCES:
            result.skipped[rtype] += 1
            continue
        result.supported[rtype] += 1
        try:
            _fhir_class(rtype).model_validate(dict(resource))
        except ValidationError as err:
            for e in err.errors(include_input=False, include_url=False):
                loc = ".".join(_element(str(p)) for p in e["loc"] if not isinstance(p, int))
                problem = _FHIR_PROBLEMS.get(e["type"], "does not conform to FHIR R4")
                result.violations.append(
                    ContractViolation(file_name, pos, f"{rtype}.{loc}" if loc else rtype, problem)
                )
        for (code_type, element), allowed in _FHIR_REQUIRED_CODES.items():
            value = resource.get(element)
            # A list or object here is already a type violation from the model above.
            if code_type == rtype and element in resource and isinstance(value, Hashable) and value not in allowed:
                result.violations.append(
                    ContractViolation(file_name, pos, f"{rtype}.{element}", PROBLEM_ALLOWED)
                )
        if rtype != "Patient" and not isinstance(resource.get("subject"), Mapping):
            result.violations.append(ContractViolation(file_name, pos, f"{rtype}.subject", PROBLEM_MISSING))
        for path, ref in _references(resource):
            if ref.startswith("urn:uuid:") and ref not in full_urls:
                result.violations.append(
                    ContractViolation(
                        file_name, pos, f"{rtype}.{path}", "reference to an entry not in the bundle"
                    )
                )
    return result


def _references(obj: Any, path: str = "") -> Iterable[tuple[str, str]]:
    if isinstance(obj, Mapping):
        for k, v in obj.items():
            sub = f"{path}.{k}" if path else str(k)
            if k == "reference" and isinstance(v, str):
                yield path, v
            else:
                yield from _references(v, sub)
    elif isinstance(obj, list):
        for v in obj:
            yield from _references(v, path)


def documented_fhir_elements() -> dict[str, set[str]]:
    """Resource type -> elements listed in ``data_contracts/fhir.md`` (rows ``| `Type.element` |``)."""
    out: dict[str, set[str]] = {}
    for name, _ in _doc_rows(CONTRACTS_DIR / "fhir.md"):
        if "." in name:
            rtype, element = name.split(".", 1)
            if rtype in FHIR_SUPPORTED_RESOURCES:
                out.setdefault(rtype, set()).add(element)
    return out
