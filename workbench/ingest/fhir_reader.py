"""Read FHIR R4 Bundles (transaction or collection) into ``SourcePatient`` objects.

Only the supported subset is read (see ``data_contracts/fhir.md``); every supported resource is
validated with ``fhir.resources`` (R4B models, which accept R4 content for these resources). Other
resource types are skipped and counted, never errors. Practitioner and Organization names are kept
only to pseudonymise them and to add them to the deny-list of the bundle's patients' letters.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from workbench.contracts import (
    FHIR_NAMED_RESOURCES,
    FHIR_SUPPORTED_RESOURCES,
    ContractError,
    ContractViolation,
    check_fhir_bundle,
)
from workbench.ingest.records import SourcePatient, alternative_for_drug

SUPPORTED = FHIR_SUPPORTED_RESOURCES | FHIR_NAMED_RESOURCES
LOCAL_SYSTEM = "https://casereview.example.org/fhir/CodeSystem"
ALTERNATIVE_SYSTEM_SUFFIX = "alternatives"
IDENTIFIER_TYPES = {
    "MR": "mrn",
    "SS": "ssn",
    "DL": "drivers_license",
    "PPN": "passport",
    "MB": "health_plan_id",
    "SN": "health_plan_id",
    "AN": "account",
}
OMB_RACE = {"2106-3": "white", "2054-5": "black", "2028-9": "asian"}
HISPANIC = "2135-2"


def _date(value: str | None) -> dt.date | None:
    if not value:
        return None
    return dt.date.fromisoformat(value[:10]) if len(value) >= 10 else None


def _coding(concept: dict[str, Any] | None) -> tuple[str | None, str | None, str | None]:
    if not concept:
        return None, None, None
    codings = concept.get("coding") or [{}]
    first = codings[0]
    return first.get("system"), first.get("code"), first.get("display") or concept.get("text")


def _human_name(names: list[dict[str, Any]] | None) -> tuple[str, str]:
    if not names:
        return "", ""
    name = next((n for n in names if n.get("use") == "official"), names[0])
    return " ".join(name.get("given") or []), name.get("family") or ""


def _display_name(resource: dict[str, Any]) -> str | None:
    if resource["resourceType"] == "Organization":
        return resource.get("name")
    given, family = _human_name(resource.get("name"))
    full = f"{given} {family}".strip()
    return full or None


def _ethnicity(extensions: list[dict[str, Any]]) -> str | None:
    race = ethnicity = None
    for ext in extensions:
        url = ext.get("url", "")
        inner = {e.get("url"): e for e in ext.get("extension", [])}
        code = (inner.get("ombCategory") or {}).get("valueCoding", {}).get("code")
        if url.endswith("us-core-race"):
            race = OMB_RACE.get(code or "", "other") if code else None
        elif url.endswith("us-core-ethnicity"):
            ethnicity = code
        elif url.endswith("ethnicity-group"):
            return ext.get("valueCode") or ext.get("valueString")
    if ethnicity == HISPANIC:
        return "hispanic"
    return race


def _patient(resource: dict[str, Any], locator: str, full_url: str | None = None) -> SourcePatient:
    identity: dict[str, str] = {}
    for ident in resource.get("identifier") or []:
        code = ((ident.get("type") or {}).get("coding") or [{}])[0].get("code")
        if ident.get("system", "").endswith("us-ssn"):
            code = "SS"
        key = IDENTIFIER_TYPES.get(code or "", "other_identifier")
        if ident.get("value"):
            identity.setdefault(key, ident["value"])
    given, family = _human_name(resource.get("name"))
    identity.update({"given_name": given, "family_name": family})
    for telecom in resource.get("telecom") or []:
        if telecom.get("value"):
            identity.setdefault("email" if telecom.get("system") == "email" else "phone", telecom["value"])
    address = (resource.get("address") or [{}])[0]
    identity.update(
        {
            "address_line": " ".join(address.get("line") or []),
            "city": address.get("city", ""),
            "state": address.get("state", ""),
            "zip": address.get("postalCode", ""),
        }
    )
    if resource.get("birthDate"):
        identity["birth_date"] = resource["birthDate"]
    places: set[str] = set()
    for ext in resource.get("extension") or []:
        if ext.get("url", "").endswith("mothersMaidenName") and ext.get("valueString"):
            identity["mothers_maiden_name"] = ext["valueString"]
        if ext.get("url", "").endswith("patient-birthPlace"):
            places.add((ext.get("valueAddress") or {}).get("city", ""))
    deprivation = None
    gender = resource.get("gender")
    return SourcePatient(
        # Without an MRN or id, the fullUrl is the patient's name within the extract; the locator
        # (file position) only when there is not even that.
        key=identity.get("mrn") or resource.get("id") or full_url or locator,
        locator=locator,
        identity={k: v for k, v in identity.items() if v},
        sex=gender if gender in {"female", "male"} else ("other" if gender else None),
        birth_date=_date(resource.get("birthDate")),
        ethnicity_group=_ethnicity(resource.get("extension") or []),
        deprivation_quintile=deprivation,
        zip_code=address.get("postalCode"),
        places={p for p in places if p},
    )


def _attachment_text(resource: dict[str, Any]) -> str | None:
    for content in resource.get("content") or []:
        attachment = content.get("attachment") or {}
        if attachment.get("data") and (attachment.get("contentType") or "text/plain").startswith("text/"):
            try:
                return base64.b64decode(attachment["data"], validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return None
    return None


def read_bundle(data: dict[str, Any], label: str, skipped: Counter[str]) -> list[SourcePatient]:
    """Read one parsed Bundle; raise ``ContractError`` naming the file label, resource and field."""
    check = check_fhir_bundle(data, file_name=label)
    if check.violations:
        raise ContractError(check.violations)
    skipped.update({k: v for k, v in check.skipped.items() if k not in FHIR_NAMED_RESOURCES})
    violations: list[ContractViolation] = []
    # Each supported resource once, in bundle order, with its entry position (violations name the
    # entry, as the contract check does: many resources carry no id). FHIR lets a resource go
    # without an id (or a fullUrl): it is then reachable by neither reference but is still read; a
    # Type/id repeated later in the bundle is the same resource and is read once.
    resources: list[tuple[int, dict[str, Any]]] = []
    by_ref: dict[str, dict[str, Any]] = {}
    full_url_of: dict[int, str] = {}
    for position, entry in enumerate(data.get("entry") or [], start=1):
        resource = entry["resource"]
        if resource["resourceType"] not in SUPPORTED:
            continue
        local = f"{resource['resourceType']}/{resource['id']}" if resource.get("id") else None
        if local is not None and local in by_ref:
            continue
        resources.append((position, resource))
        if entry.get("fullUrl"):
            full_url_of[id(resource)] = entry["fullUrl"]
        for ref in (entry.get("fullUrl"), local):
            if ref:
                by_ref[ref] = resource

    # Keyed by the Patient resource object itself: its id may be absent.
    patients: dict[int, SourcePatient] = {}
    for position, resource in resources:
        if resource["resourceType"] == "Patient":
            patients[id(resource)] = _patient(
                resource, f"{label} entry {position} (Patient)", full_url_of.get(id(resource))
            )
    people = {
        name for _, r in resources if r["resourceType"] == "Practitioner" if (name := _display_name(r))
    }
    places = {
        name for _, r in resources if r["resourceType"] == "Organization" if (name := _display_name(r))
    }

    def subject(resource: dict[str, Any], position: int) -> SourcePatient | None:
        ref = (resource.get("subject") or resource.get("patient") or {}).get("reference")
        target = by_ref.get(ref) if isinstance(ref, str) else None
        if target is None or target["resourceType"] != "Patient":
            violations.append(
                ContractViolation(
                    label,
                    position,
                    f"{resource['resourceType']}.subject",
                    "does not refer to a Patient in this bundle",
                )
            )
            return None
        return patients[id(target)]

    def name_of(reference: dict[str, Any] | None) -> str | None:
        if not reference:
            return None
        target = by_ref.get(reference.get("reference") or "")
        return _display_name(target) if target else reference.get("display")

    for position, resource in resources:
        rtype = resource["resourceType"]
        if rtype in {"Patient", "Practitioner", "Organization"}:
            continue
        patient = subject(resource, position)
        if patient is None:
            continue
        if rtype == "Encounter":
            participant = (resource.get("participant") or [{}])[0].get("individual")
            _, _, type_text = _coding((resource.get("type") or [None])[0])
            patient.encounters.append(
                {
                    "source_id": resource.get("id"),
                    "encounter_type": type_text,
                    "encounter_date": _date((resource.get("period") or {}).get("start")),
                    "clinician": name_of(participant),
                    "site": name_of(resource.get("serviceProvider")),
                }
            )
        elif rtype == "Condition":
            system, code, display = _coding(resource.get("code"))
            patient.conditions.append(
                {
                    "system": system,
                    "code": code or "unknown",
                    "display": display,
                    "onset_date": _date(resource.get("onsetDateTime") or resource.get("recordedDate")),
                }
            )
        elif rtype == "Observation":
            _observation(resource, patient)
        elif rtype == "MedicationRequest":
            concept = resource.get("medicationCodeableConcept") or {}
            system, code, display = _coding(concept)
            alternative = next(
                (
                    c.get("code")
                    for c in concept.get("coding") or []
                    if (c.get("system") or "").endswith(ALTERNATIVE_SYSTEM_SUFFIX)
                ),
                None,
            ) or alternative_for_drug(display)
            line = next(
                (
                    c.get("code")
                    for cat in resource.get("category") or []
                    for c in cat.get("coding") or []
                    if (c.get("system") or "").endswith("treatment-line")
                ),
                None,
            )
            patient.treatments.append(
                {
                    "source_id": resource.get("id"),
                    "alternative": alternative,
                    "drug_name": display,
                    "system": system,
                    "code": code,
                    "line": line,
                    "start_date": _date(resource.get("authoredOn")),
                }
            )
        elif rtype == "Procedure":
            system, code, display = _coding(resource.get("code"))
            performed = resource.get("performedDateTime") or (resource.get("performedPeriod") or {}).get(
                "start"
            )
            patient.procedures.append(
                {
                    "system": system,
                    "code": code or "unknown",
                    "display": display,
                    "performed_date": _date(performed),
                }
            )
        elif rtype == "DocumentReference":
            text = _attachment_text(resource)
            if text is None:
                violations.append(
                    ContractViolation(
                        label,
                        position,
                        "DocumentReference.content",
                        "needs inline base64 text/plain attachment data",
                    )
                )
                continue
            _, _, type_text = _coding(resource.get("type"))
            author = name_of((resource.get("author") or [None])[0])
            patient.notes.append(
                {
                    "note_type": type_text,
                    "note_date": _date(resource.get("date")),
                    "author": author,
                    "text": text,
                }
            )
            if author:
                patient.people.add(author)
    if violations:
        raise ContractError(violations)
    for patient in patients.values():
        patient.people |= people
        patient.places |= places
        for encounter in patient.encounters:
            patient.people.update(n for n in [encounter["clinician"]] if n)
            patient.places.update(n for n in [encounter["site"]] if n)
        _derive_outcome(patient)
    return list(patients.values())


def _observation(resource: dict[str, Any], patient: SourcePatient) -> None:
    system, code, display = _coding(resource.get("code"))
    when = _date(resource.get("effectiveDateTime") or (resource.get("effectivePeriod") or {}).get("start"))
    if code == "adverse-event" and (system or "").startswith(LOCAL_SYSTEM):
        patient.outcomes.append(
            {
                "treatment_source_id": None,
                "outcome_date": when,
                "hba1c_change": None,
                "adverse_event": bool(resource.get("valueBoolean")),
                "adverse_event_type": (resource.get("note") or [{}])[0].get("text")
                or _coding(resource.get("valueCodeableConcept"))[2],
            }
        )
        return
    if code == "deprivation-quintile" and (system or "").startswith(LOCAL_SYSTEM):
        value = resource.get("valueInteger") or (resource.get("valueQuantity") or {}).get("value")
        patient.deprivation_quintile = int(value) if value is not None else None
        return
    parts = [(code, display, resource)] + [
        (*_coding(component.get("code"))[1:], component) for component in resource.get("component") or []
    ]
    for part_code, part_display, holder in parts:
        quantity = holder.get("valueQuantity")
        concept = holder.get("valueCodeableConcept")
        if quantity is None and concept is None and "valueBoolean" not in holder:
            continue
        patient.observations.append(
            {
                "system": system,
                "code": part_code or "unknown",
                "display": part_display,
                "value": float(quantity["value"]) if quantity and quantity.get("value") is not None else None,
                "value_text": _coding(concept)[2] if concept else None,
                "unit": (quantity or {}).get("unit") or (quantity or {}).get("code"),
                "effective_date": when,
            }
        )


HBA1C_CODES = {"59261-8", "4548-4", "17856-6"}


def _derive_outcome(patient: SourcePatient) -> None:
    """FHIR has no outcome table: HbA1c change is the ~6-month value minus the baseline value."""
    index = patient.index_date()
    if index is None:
        return
    hba1c = sorted(
        (o["effective_date"], o["value"])
        for o in patient.observations
        if o["code"] in HBA1C_CODES and o["value"] is not None and o["effective_date"] and o["unit"] != "%"
    )
    baseline = [v for d, v in hba1c if d <= index]
    follow = [(abs((d - index).days - 182), d, v) for d, v in hba1c if 120 <= (d - index).days <= 270]
    change = round(min(follow)[2] - baseline[-1], 3) if baseline and follow else None
    if patient.outcomes:
        for outcome in patient.outcomes:
            outcome["hba1c_change"] = (
                outcome["hba1c_change"] if outcome["hba1c_change"] is not None else change
            )
            if change is not None and outcome["outcome_date"] is None:
                outcome["outcome_date"] = min(follow)[1]
    elif change is not None:
        patient.outcomes.append(
            {
                "treatment_source_id": None,
                "outcome_date": min(follow)[1],
                "hba1c_change": change,
                "adverse_event": None,
                "adverse_event_type": None,
            }
        )


def bundle_files(path: Path) -> list[Path]:
    """The JSON files of a path (a file, or a folder of bundles), in a stable order."""
    if path.is_file():
        return [path]
    return sorted(p for p in path.glob("*.json") if p.is_file())


def read_fhir_files(
    files: Iterable[Path], *, progress: Callable[[int], None] | None = None
) -> tuple[list[SourcePatient], Counter[str]]:
    """Read bundles one file at a time (streamed), collecting every file's violations before failing."""
    skipped: Counter[str] = Counter()
    patients: list[SourcePatient] = []
    violations: list[ContractViolation] = []
    files = list(files)
    for number, path in enumerate(files, start=1):
        # File names of real extracts carry patient names: errors name the file by position only.
        label = f"FHIR file {number} of {len(files)}"
        # OSError messages carry the path, so the violation says only what went wrong.
        try:
            raw = path.read_bytes()
        except OSError:
            violations.append(ContractViolation(label, None, None, "cannot be read"))
            continue
        try:
            data = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            violations.append(ContractViolation(label, None, None, "is not valid JSON"))
            continue
        except RecursionError:
            violations.append(ContractViolation(label, None, None, "is nested too deeply to read"))
            continue
        try:
            patients += read_bundle(data, label, skipped)
        except ContractError as error:
            violations += error.violations
        if progress:
            progress(1)
    if violations:
        raise ContractError(violations)
    return patients, skipped
