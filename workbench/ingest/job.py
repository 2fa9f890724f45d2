"""Import jobs: read, contract-check, de-identify in memory, preview, then store in one transaction.

``prepare_import`` does everything that can fail (reading, contracts, de-identification) without
touching the database; ``commit_import`` writes the prepared rows, vault entries, consents and the
audit event in a single transaction, so an import is all-or-nothing. The content hash makes
re-importing the same files a no-op.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select

from workbench.contracts import ContractError, ContractViolation
from workbench.deid import KnownIdentifiers, get_deidentifier
from workbench.deid.generalise import age_band, age_in_years, generalise_zip, safe_age
from workbench.deid.pseudonym import date_shift_days, pseudonymise
from workbench.deid.vault import seal
from workbench.ingest.csv_reader import is_csv_extract, read_csv_extract
from workbench.ingest.fhir_reader import bundle_files, read_fhir_files
from workbench.ingest.records import SourcePatient
from workbench.store.service import Context, Workbench, service
from workbench.store.tables import (
    Condition,
    Consent,
    Encounter,
    ImportJob,
    Note,
    Observation,
    Outcome,
    Patient,
    Procedure,
    Treatment,
    VaultEntry,
)

PURPOSES = ("care", "model_training", "research")
#: When an extract carries no consent: care review always; model training under the service's
#: opt-out policy; research only on explicit opt-in. The privacy officer can change each one.
DEFAULT_CONSENT = {"care": True, "model_training": True, "research": False}
FACT_TABLES = (Encounter, Condition, Observation, Treatment, Procedure, Outcome, Note)
PREVIEW_NOTES = 5

Progress = Callable[[str, int, int | None], None]


class ImportInputError(ValueError):
    """A path given to the import is neither a CSV extract folder nor FHIR bundle JSON."""


@dataclass
class PreparedPatient:
    """One patient ready to store: de-identified rows plus the sealed identity for the vault."""

    pseudonym: str
    patient: dict[str, Any]
    facts: dict[str, list[dict[str, Any]]]
    sealed_identity: bytes
    consents: dict[str, bool] | None
    #: For each of ``facts["outcomes"]``, the index in ``facts["treatments"]`` of the treatment the
    #: extract names for it (CSV ``outcomes.treatment_id``), or None when it names none (FHIR).
    outcome_treatments: list[int | None] = field(default_factory=list)


@dataclass
class ImportReport:
    """What an import found and did; counts only, safe to show and to store."""

    content_hash: str
    source_kind: str
    n_files: int
    n_patients: int = 0
    n_notes: int = 0
    notes_touched: int = 0
    facts: dict[str, int] = field(default_factory=dict)
    identifiers_in_notes: dict[str, int] = field(default_factory=dict)
    structured_identifiers_removed: dict[str, int] = field(default_factory=dict)
    skipped_resources: dict[str, int] = field(default_factory=dict)
    preview: list[dict[str, Any]] = field(default_factory=list)
    status: str = "prepared"
    import_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """Plain dict for storage with the import job (the preview is not stored)."""
        return {
            "n_patients": self.n_patients,
            "n_notes": self.n_notes,
            "notes_touched": self.notes_touched,
            "facts": self.facts,
            "identifiers_in_notes": self.identifiers_in_notes,
            "structured_identifiers_removed": self.structured_identifiers_removed,
            "skipped_resources": self.skipped_resources,
        }


@dataclass
class PreparedImport:
    """An import that passed its contracts and de-identification, not yet stored."""

    patients: list[PreparedPatient]
    report: ImportReport


def _content_hash(files: Sequence[Path]) -> str:
    # Names are left out on purpose: the same content under other file names is the same import.
    digests = sorted(hashlib.sha256(p.read_bytes()).hexdigest() for p in files)
    return hashlib.sha256("\n".join(digests).encode()).hexdigest()


def read_sources(
    paths: Sequence[Path], progress: Progress | None = None
) -> tuple[list[SourcePatient], str, str, int, Counter[str]]:
    """Read every path (CSV extract folders, bundle files or folders of bundles)."""
    patients: list[SourcePatient] = []
    files: list[Path] = []
    kinds: set[str] = set()
    skipped: Counter[str] = Counter()
    where: dict[int, str] = {}  # patient object -> "path i of n, <locator>" (no identifying value)
    for number, path in enumerate(map(Path, paths), start=1):
        if is_csv_extract(path) and any(path.glob("*.json")):
            # Reading it as CSV alone would skip the bundles without a word; reading both would
            # merge a patient present in each by whichever came first.
            raise ImportInputError(
                f"path {number} of {len(paths)} holds both a CSV extract (patients.csv) and .json "
                "files; give the CSV tables and the FHIR bundles as separate folders"
            )
        if is_csv_extract(path):
            kinds.add("csv")
            files += sorted(path.glob("*.csv"))
            patients += read_csv_extract(path)
            if progress:
                progress("read", len(patients), None)
        elif (path.is_file() and path.suffix == ".json") or (path.is_dir() and any(path.glob("*.json"))):
            kinds.add("fhir")
            bundles = bundle_files(path)
            files += bundles
            done = 0

            def tick(n: int, total: int = len(bundles)) -> None:
                nonlocal done
                done += n
                if progress:
                    progress("read", done, total)

            found, skip = read_fhir_files(bundles, progress=tick)
            patients += found
            skipped += skip
        else:
            # Named by position: extract paths may carry patients' names.
            raise ImportInputError(
                f"path {number} of {len(paths)} is not a CSV extract folder (with patients.csv), a FHIR "
                "Bundle .json file, or a folder of bundles"
            )
        where.update({id(p): f"path {number} of {len(paths)}, {p.locator}" for p in patients if id(p) not in where})
    _refuse_repeated_patients(patients, where)
    return patients, _content_hash(files), "+".join(sorted(kinds)), len(files), skipped


def _refuse_repeated_patients(patients: Sequence[SourcePatient], where: dict[int, str]) -> None:
    """One import holds one record per patient.

    The same patient (same MRN, else the same source id) twice in one import, from a CSV extract
    and a FHIR bundle or from two bundles, has two versions of their facts and nothing says which
    is right: keeping the first would drop the other silently, and joining them would count the
    same encounter twice.  Each record is a snapshot; importing them one after the other makes the
    later one replace the earlier, as any re-import does.
    """
    first: dict[str, SourcePatient] = {}
    violations: list[ContractViolation] = []
    for patient in patients:
        seen = first.setdefault(patient.key, patient)
        if seen is not patient:
            violations.append(
                ContractViolation(
                    where[id(patient)],
                    None,
                    "patient",
                    f"is the same patient (same MRN or id) as {where[id(seen)]}; one import holds one "
                    "record per patient: import the two sources separately (the later replaces the earlier)",
                )
            )
    if violations:
        raise ContractError(violations)


def _known(patient: SourcePatient) -> KnownIdentifiers:
    record: dict[str, str | list[str]] = {
        **patient.identity,
        "other_names": sorted(patient.people),
        "other_places": sorted(patient.places),
    }
    return KnownIdentifiers.from_record(record)


def _outcome_treatments(source: SourcePatient) -> list[int | None]:
    position = {t["source_id"]: i for i, t in enumerate(source.treatments) if t.get("source_id") is not None}
    return [position.get(o["treatment_source_id"]) for o in source.outcomes]


def _shift(value: dt.date | None, days: int) -> dt.date | None:
    return value + dt.timedelta(days=days) if value else None


def _deid_patient(
    secret: bytes, source: SourcePatient
) -> tuple[str, int, dict[str, Any], dict[str, list[dict[str, Any]]]]:
    pseudonym = pseudonymise(secret, "patient", source.key)
    days = date_shift_days(secret, pseudonym)
    index = source.index_date()
    when = index or source.last_contact()
    age = age_in_years(source.birth_date, when) if source.birth_date and when else None
    capped = safe_age(float(age)) if age is not None else None
    patient = {
        "pseudonym": pseudonym,
        "sex": source.sex,
        "age_at_index": capped,
        "age_band": age_band(capped) if capped is not None else None,
        "ethnicity_group": source.ethnicity_group,
        "deprivation_quintile": source.deprivation_quintile,
        "zip3": generalise_zip(source.zip_code) if source.zip_code else None,
        "index_date": _shift(index, days),
    }

    def people(name: str | None, kind: str) -> str | None:
        return pseudonymise(secret, kind, name.strip().lower()) if name else None

    facts: dict[str, list[dict[str, Any]]] = {
        "encounters": [
            {
                "encounter_type": e["encounter_type"],
                "encounter_date": _shift(e["encounter_date"], days),
                "clinician": people(e["clinician"], "practitioner"),
                "site": people(e["site"], "organization"),
            }
            for e in source.encounters
        ],
        "conditions": [{**c, "onset_date": _shift(c["onset_date"], days)} for c in source.conditions],
        "observations": [{**o, "effective_date": _shift(o["effective_date"], days)} for o in source.observations],
        "treatments": [
            {k: v for k, v in t.items() if k != "source_id"} | {"start_date": _shift(t["start_date"], days)}
            for t in source.treatments
        ],
        "procedures": [{**p, "performed_date": _shift(p["performed_date"], days)} for p in source.procedures],
        "outcomes": [
            {k: v for k, v in o.items() if k != "treatment_source_id"}
            | {"outcome_date": _shift(o["outcome_date"], days)}
            for o in source.outcomes
        ],
    }
    return pseudonym, days, patient, facts


def prepare_import(
    wb: Workbench, paths: Sequence[Path], *, progress: Progress | None = None, n_process: int = 1
) -> PreparedImport:
    """Read, check and de-identify; nothing is stored. Raises ``ContractError`` on any violation."""
    sources, content_hash, kind, n_files, skipped = read_sources(paths, progress)
    secret = wb.secret
    report = ImportReport(
        content_hash=content_hash,
        source_kind=kind,
        n_files=n_files,
        skipped_resources=dict(sorted(skipped.items())),
    )
    with wb.read() as session:
        previous = session.scalar(select(ImportJob.id).where(ImportJob.content_hash == content_hash))
    if previous is not None:
        # Same content as an earlier import: nothing to de-identify, nothing will be stored.
        report.status = "already imported"
        report.import_id = previous
        return PreparedImport(patients=[], report=report)
    removed: Counter[str] = Counter()
    prepared: list[PreparedPatient] = []
    note_jobs: list[tuple[int, str, KnownIdentifiers, int]] = []
    for source in sources:
        pseudonym, days, patient, facts = _deid_patient(secret, source)
        removed.update(k for k in source.identity)
        identity = dict(source.identity)
        facts["notes"] = []
        known = _known(source)
        for note in source.notes:
            facts["notes"].append(
                {
                    "note_type": note["note_type"],
                    "note_date": _shift(note["note_date"], days),
                    "author": pseudonymise(secret, "practitioner", note["author"].strip().lower())
                    if note["author"]
                    else None,
                    "text": "",
                    "n_findings": 0,
                }
            )
            note_jobs.append((len(prepared), note["text"], known, days))
        prepared.append(
            PreparedPatient(
                pseudonym=pseudonym,
                patient=patient,
                facts=facts,
                sealed_identity=seal(secret, identity, pseudonym=pseudonym),
                consents=source.consents,
                outcome_treatments=_outcome_treatments(source),
            )
        )
    deidentifier = get_deidentifier()
    found: Counter[str] = Counter()
    cursor: Counter[int] = Counter()
    results = deidentifier.deidentify_many(
        ((text, known, days) for _, text, known, days in note_jobs), n_process=n_process
    )
    for done, ((owner, _, _, _), result) in enumerate(zip(note_jobs, results, strict=True), start=1):
        note_row = prepared[owner].facts["notes"][cursor[owner]]
        cursor[owner] += 1
        note_row["text"] = result.text
        note_row["n_findings"] = len(result.findings)
        found.update(f.type for f in result.findings)
        report.notes_touched += bool(result.findings)
        if len(report.preview) < PREVIEW_NOTES:
            report.preview.append(
                {
                    "pseudonym": prepared[owner].pseudonym,
                    "text": result.text,
                    "findings": dict(Counter(f.type for f in result.findings)),
                }
            )
        if progress and (done % 25 == 0 or done == len(note_jobs)):
            progress("de-identify", done, len(note_jobs))
    report.n_patients = len(prepared)
    report.n_notes = len(note_jobs)
    report.identifiers_in_notes = dict(sorted(found.items()))
    report.structured_identifiers_removed = dict(sorted(removed.items()))
    report.facts = {
        name: sum(len(p.facts[name]) for p in prepared)
        for name in (
            "encounters",
            "conditions",
            "observations",
            "treatments",
            "procedures",
            "outcomes",
            "notes",
        )
    }
    return PreparedImport(patients=prepared, report=report)


_MODEL_FOR = {
    "encounters": Encounter,
    "conditions": Condition,
    "observations": Observation,
    "treatments": Treatment,
    "procedures": Procedure,
    "outcomes": Outcome,
    "notes": Note,
}


@service("import.run")
def commit_import(ctx: Context, prepared: PreparedImport) -> ImportReport:
    """Store a prepared import in one transaction (or nothing, if its content was imported before)."""
    report = prepared.report
    session = ctx.session
    existing = session.scalar(select(ImportJob).where(ImportJob.content_hash == report.content_hash))
    if existing is not None:
        report.status = "already imported"
        report.import_id = existing.id
        return report
    job = ImportJob(
        content_hash=report.content_hash,
        source_kind=report.source_kind,
        n_files=report.n_files,
        report=report.as_dict(),
        imported_by=ctx.actor.username,
    )
    session.add(job)
    session.flush()
    pseudonyms = [p.pseudonym for p in prepared.patients]
    current = {
        p.pseudonym: p
        for chunk in range(0, len(pseudonyms), 500)
        for p in session.scalars(select(Patient).where(Patient.pseudonym.in_(pseudonyms[chunk : chunk + 500])))
    }
    replaced = 0
    for item in prepared.patients:
        patient = current.get(item.pseudonym)
        if patient is None:
            patient = Patient(**item.patient, import_id=job.id)
            session.add(patient)
            session.flush()
        else:
            # A newer extract is a new snapshot of the patient: its facts replace the old ones.
            replaced += 1
            for column, value in item.patient.items():
                setattr(patient, column, value)
            patient.import_id = job.id
            patient.erased_at = None
            for table in FACT_TABLES:
                session.execute(delete(table).where(table.patient_id == patient.id))
        treatments: list[Treatment] = []
        outcomes: list[Outcome] = []
        for name, rows in item.facts.items():
            objects = [_MODEL_FOR[name](patient_id=patient.id, **row) for row in rows]
            session.add_all(objects)
            if name == "treatments":
                treatments = [t for t in objects if isinstance(t, Treatment)]
            elif name == "outcomes":
                outcomes = [o for o in objects if isinstance(o, Outcome)]
        if treatments and outcomes:
            session.flush()
            # Each outcome goes with the treatment the extract names for it; one that names none
            # (FHIR has no such link) with the second-line treatment, else the first.
            main = next((t for t in treatments if t.line == "second"), treatments[0])
            links = item.outcome_treatments or [None] * len(outcomes)
            for outcome, link in zip(outcomes, links, strict=True):
                outcome.treatment_id = (treatments[link] if link is not None else main).id
        _record_consents(ctx, patient, item.consents, is_new=item.pseudonym not in current)
        vault = session.scalar(select(VaultEntry).where(VaultEntry.pseudonym == item.pseudonym))
        if vault is None:
            session.add(VaultEntry(kind="patient", pseudonym=item.pseudonym, sealed=item.sealed_identity))
        else:
            vault.sealed = item.sealed_identity
    report.status = "imported"
    report.import_id = job.id
    ctx.audit(
        "import.committed",
        "import",
        job.id,
        patients=report.n_patients,
        replaced=replaced,
        notes=report.n_notes,
        source_kind=report.source_kind,
        content_hash=report.content_hash,
    )
    return report


def _record_consents(ctx: Context, patient: Patient, consents: dict[str, bool] | None, *, is_new: bool) -> None:
    if consents is None and not is_new:
        return
    wanted = DEFAULT_CONSENT | (consents or {})
    current = (
        {c.purpose: c.granted for c in sorted(patient.consents, key=lambda c: c.recorded_at)} if not is_new else {}
    )
    for purpose in PURPOSES:
        if current.get(purpose) != wanted[purpose]:
            ctx.session.add(
                Consent(
                    patient_id=patient.id,
                    purpose=purpose,
                    granted=wanted[purpose],
                    source="import" if consents and purpose in consents else "default policy",
                    recorded_by=ctx.actor.username,
                )
            )


def import_paths(
    wb: Workbench, actor: Any, paths: Sequence[Path], *, progress: Progress | None = None, n_process: int = 1
) -> ImportReport:
    """Prepare and commit in one call (the CLI and ``make run``)."""
    prepared = prepare_import(wb, paths, progress=progress, n_process=n_process)
    return commit_import(wb, actor, prepared)
