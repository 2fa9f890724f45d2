"""Data contracts: the demo extract passes, broken copies fail precisely, docs match schemas."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from workbench.contracts import (
    CSV_TABLES,
    FHIR_ELEMENTS,
    TABLE_SPECS,
    ContractError,
    ContractViolation,
    check_fhir_bundle,
    documented_fhir_elements,
    documented_field_rows,
    documented_fields,
    parse_csv_table,
    read_csv_table,
    validate_csv_extract,
    validate_csv_table,
)
from workbench.demo import generate_cohort, write_extract

SYNTHEA = Path(__file__).resolve().parents[2] / "shared" / "data" / "synthea-fhir"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("contracts_demo")
    return write_extract(generate_cohort(60, seed=99), out)


def _copy_csv(src: Path, dst: Path) -> Path:
    dst.mkdir(parents=True, exist_ok=True)
    for p in src.glob("*.csv"):
        (dst / p.name).write_bytes(p.read_bytes())
    return dst


def test_when_demo_extract_is_checked_then_it_has_no_violations(demo) -> None:
    tables, violations = validate_csv_extract(demo.csv_dir)
    assert violations == []
    assert set(tables) == set(CSV_TABLES)
    assert len(tables["patients"]) == 60


def test_when_extract_is_corrupted_then_violations_name_file_row_and_field_without_values(
    demo, tmp_path: Path
) -> None:
    folder = _copy_csv(demo.csv_dir, tmp_path / "bad")
    obs = read_csv_table(folder / "observations.csv")
    obs.loc[4, "observation_date"] = "2021-02-30"  # data row 5: no such day
    obs.to_csv(folder / "observations.csv", index=False, lineterminator="\n")
    enc = read_csv_table(folder / "encounters.csv")
    enc.loc[1, "patient_id"] = None  # data row 2
    enc.to_csv(folder / "encounters.csv", index=False, lineterminator="\n")
    pts = read_csv_table(folder / "patients.csv")
    pts.loc[2, "sex"] = "Femme"  # data row 3: unknown code
    pts.to_csv(folder / "patients.csv", index=False, lineterminator="\n")

    _, violations = validate_csv_extract(folder)

    found = {(v.file, v.row, v.field, v.problem) for v in violations}
    assert found == {
        ("observations.csv", 5, "observation_date", "not a valid date (YYYY-MM-DD)"),
        ("encounters.csv", 2, "patient_id", "required value missing"),
        ("patients.csv", 3, "sex", "not one of the allowed values"),
    }
    message = str(ContractError(violations))
    assert "observations.csv:5:observation_date: not a valid date (YYYY-MM-DD)" in message
    assert "patients.csv:3:sex: not one of the allowed values" in message
    # Nothing identifying from the broken rows (or the bad values themselves) leaks into the report.
    row = pts.loc[2]
    for value in (
        "2021-02-30",
        "Femme",
        row["given_name"],
        row["family_name"],
        row["mrn"],
        row["birth_date"],
    ):
        assert value not in message
        assert all(value not in v.problem for v in violations)


def test_when_every_value_is_bad_then_no_value_is_echoed(demo) -> None:
    pts = read_csv_table(demo.csv_tables["patients"])
    bad = pts.copy()
    for col in bad.columns:
        bad[col] = "Zelda Q. Secret-" + bad[col].fillna("x")
    violations = validate_csv_table("patients", bad, file_name="patients.csv")
    assert violations
    for v in violations:
        assert "Zelda" not in str(v) and "Secret" not in str(v)
    fields = {v.field for v in violations}
    assert {"birth_date", "sex", "zip", "consent_care", "deprivation_quintile"} <= fields


def test_when_a_column_or_file_is_missing_then_it_is_reported_without_a_row(demo, tmp_path: Path) -> None:
    folder = _copy_csv(demo.csv_dir, tmp_path / "cols")
    pts = read_csv_table(folder / "patients.csv").drop(columns=["birth_date"])
    pts.to_csv(folder / "patients.csv", index=False, lineterminator="\n")
    (folder / "notes.csv").unlink()
    _, violations = validate_csv_extract(folder)
    assert ContractViolation("patients.csv", None, "birth_date", "required column missing") in violations
    assert ContractViolation("notes.csv", None, None, "required file missing") in violations


def test_when_ids_repeat_or_references_dangle_then_both_are_violations(demo) -> None:
    meds = read_csv_table(demo.csv_tables["medications"])
    meds.loc[3, "treatment_id"] = meds.loc[2, "treatment_id"]
    v = validate_csv_table("medications", meds, file_name="medications.csv")
    assert {(x.row, x.field, x.problem) for x in v} == {
        (3, "treatment_id", "duplicate value (must be unique)"),
        (4, "treatment_id", "duplicate value (must be unique)"),
    }


def test_when_a_patient_id_is_unknown_then_the_reference_check_names_the_row(demo, tmp_path: Path) -> None:
    folder = _copy_csv(demo.csv_dir, tmp_path / "refs")
    out = read_csv_table(folder / "outcomes.csv")
    out.loc[9, "patient_id"] = "P999999"
    out.to_csv(folder / "outcomes.csv", index=False, lineterminator="\n")
    _, violations = validate_csv_extract(folder)
    assert violations == [
        ContractViolation("outcomes.csv", 10, "patient_id", "refers to a patient_id not in patients.csv")
    ]


def test_when_cells_are_blank_or_say_na_then_blank_is_missing_and_na_is_a_value(demo) -> None:
    pts = read_csv_table(demo.csv_tables["patients"])
    pts.loc[0, "family_name"] = "NA"
    pts.loc[1, "mrn"] = "   "
    v = validate_csv_table("patients", pts, file_name="patients.csv")
    assert v == [ContractViolation("patients.csv", 2, "mrn", "required value missing")]


def test_when_a_multiline_note_precedes_a_bad_row_then_row_counts_records_not_lines(
    tmp_path: Path,
) -> None:
    path = tmp_path / "notes.csv"
    path.write_text(
        "note_id,patient_id,note_date,author_name,note_type,text\n"
        'N1,P1,2021-01-02,A B,clinic_letter,"line one\nline two\n\nline four"\n'
        "N2,P1,2021-13-02,A B,clinic_letter,short\n",
        encoding="utf-8",
    )
    v = validate_csv_table("notes", read_csv_table(path), file_name="notes.csv")
    assert v == [ContractViolation("notes.csv", 2, "note_date", "not a valid date (YYYY-MM-DD)")]


def test_when_contract_error_has_many_violations_then_str_lists_twenty_and_counts_the_rest() -> None:
    err = ContractError([ContractViolation("x.csv", i, "f", "required value missing") for i in range(1, 31)])
    lines = str(err).splitlines()
    assert lines[0] == "30 data-contract violations:"
    assert lines[1].strip() == "x.csv:1:f: required value missing"
    assert len([line for line in lines if "x.csv:" in line]) == 20
    assert "and 10 more" in lines[-1]
    assert len(err.violations) == 30


def test_when_a_valid_table_is_parsed_then_columns_get_their_types(demo) -> None:
    pts = parse_csv_table("patients", read_csv_table(demo.csv_tables["patients"]))
    assert pd.api.types.is_datetime64_any_dtype(pts["birth_date"])
    assert str(pts["deprivation_quintile"].dtype) == "Int64"
    assert str(pts["consent_research"].dtype) == "boolean"
    obs = parse_csv_table("observations", read_csv_table(demo.csv_tables["observations"]))
    assert obs["value"].dtype == "float64"


@pytest.mark.parametrize("table", sorted(TABLE_SPECS))
def test_when_a_schema_field_exists_then_it_is_documented_and_vice_versa(table: str) -> None:
    schema_fields = set(CSV_TABLES[table].columns)
    assert schema_fields == {s.name for s in TABLE_SPECS[table]}
    assert documented_fields(table) == schema_fields


@pytest.mark.parametrize("table", sorted(TABLE_SPECS))
def test_when_a_field_is_documented_then_required_and_deid_handling_match_the_schema(
    table: str,
) -> None:
    rows = documented_field_rows(table)
    words = {"keep": "kept", "drop": "dropped", "pseudonymise": "pseudonymised", "shift": "shifted",
             "generalise": "generalised", "scrub": "scrubbed"}  # fmt: skip
    for spec in TABLE_SPECS[table]:
        _type, required, allowed, deid, _meaning = rows[spec.name]
        assert required == ("yes" if spec.required else "no"), spec.name
        assert words[spec.handling] in deid, spec.name
        for value in spec.allowed or ():
            assert f"`{value}`" in allowed, (spec.name, value)


def test_when_fhir_elements_are_read_then_each_is_documented_and_vice_versa() -> None:
    documented = documented_fhir_elements()
    assert documented == {k: set(v) for k, v in FHIR_ELEMENTS.items()}


def test_when_demo_bundles_are_checked_then_they_conform(demo) -> None:
    for path in demo.fhir_bundles[:20]:
        result = check_fhir_bundle(json.loads(path.read_text("utf-8")), file_name=path.name)
        assert result.violations == []
        assert result.supported["Patient"] == 1 and not result.skipped


def test_when_a_bundle_is_broken_then_violations_name_entry_and_element_without_values(demo) -> None:
    data = json.loads(demo.fhir_bundles[0].read_text("utf-8"))
    bad = copy.deepcopy(data)
    entries = bad["entry"]
    obs_pos = next(i for i, e in enumerate(entries) if e["resource"]["resourceType"] == "Observation")
    entries[obs_pos]["resource"]["status"] = "Zelda-secret-status"
    enc_pos = next(i for i, e in enumerate(entries) if e["resource"]["resourceType"] == "Encounter")
    del entries[enc_pos]["resource"]["subject"]
    cond_pos = next(i for i, e in enumerate(entries) if e["resource"]["resourceType"] == "Condition")
    entries[cond_pos]["resource"]["subject"]["reference"] = "urn:uuid:00000000-0000-0000-0000-000000000000"
    entries[obs_pos]["resource"]["valueQuantity"]["value"] = "12,5 Zelda"
    entries[0]["resource"]["birthDate"] = "1951-02-30"
    entries.append({"fullUrl": "urn:uuid:x", "resource": {"resourceType": "Claim"}})

    result = check_fhir_bundle(bad, file_name="b.json")

    located = {(v.row, v.field) for v in result.violations}
    assert (obs_pos + 1, "Observation.status") in located
    assert (obs_pos + 1, "Observation.valueQuantity.value") in located
    assert (enc_pos + 1, "Encounter.subject") in located
    assert (cond_pos + 1, "Condition.subject") in located
    assert (1, "Patient.birthDate") in located
    assert result.skipped == {"Claim": 1}
    text = str(ContractError(result.violations))
    for secret in ("Zelda", "1951-02-30", data["entry"][0]["resource"]["name"][0]["family"]):
        assert secret not in text


def test_when_a_file_is_not_a_transaction_or_collection_bundle_then_it_is_refused() -> None:
    assert check_fhir_bundle({"resourceType": "Patient"}, file_name="p.json").violations == [
        ContractViolation("p.json", None, "Bundle", "not a FHIR Bundle")
    ]
    v = check_fhir_bundle({"resourceType": "Bundle", "type": "searchset", "entry": []}, file_name="s.json")
    assert [(x.field, x.problem) for x in v.violations] == [("Bundle.type", "not one of the allowed values")]


@pytest.mark.skipif(not SYNTHEA.is_dir(), reason="shared Synthea bundles not present (../shared/data)")
def test_when_synthea_bundles_are_checked_then_they_conform_and_other_types_are_counted() -> None:
    files = sorted(SYNTHEA.glob("*.json"))
    assert files
    skipped_total: dict[str, int] = {}
    for path in files:
        result = check_fhir_bundle(json.loads(path.read_text("utf-8")), file_name=path.name)
        assert result.violations == [], path.name
        assert result.supported["Patient"] == 1
        for k, n in result.skipped.items():
            skipped_total[k] = skipped_total.get(k, 0) + n
    assert {"Claim", "ExplanationOfBenefit", "Immunization", "Practitioner", "Organization"} <= set(
        skipped_total
    )


def test_when_problems_are_listed_in_the_readme_then_each_known_problem_is_there() -> None:
    readme = (Path(__file__).resolve().parents[1] / "data_contracts" / "README.md").read_text("utf-8")
    from workbench import contracts

    problems = [v for k, v in vars(contracts).items() if k.startswith("PROBLEM_")]
    flat = re.sub(r"\s+", " ", readme)
    for problem in problems:
        assert problem.split(" (UTF-8")[0] in flat, problem


def test_when_a_coded_element_or_full_url_has_the_wrong_json_type_then_it_is_a_violation_not_a_crash(
    demo,
) -> None:
    # A list where a code belongs used to raise TypeError (unhashable) out of the check, so the
    # import stopped without naming the file, the entry or the element.
    bad = json.loads(demo.fhir_bundles[0].read_text("utf-8"))
    bad["entry"][0]["resource"]["gender"] = ["Zelda"]
    bad["entry"][1]["fullUrl"] = ["urn:uuid:Zelda"]
    result = check_fhir_bundle(bad, file_name="b.json")
    located = {(v.row, v.field) for v in result.violations}
    assert (1, "Patient.gender") in located
    assert (2, "Bundle.entry.fullUrl") in located
    assert "Zelda" not in str(ContractError(result.violations))


def test_when_a_resource_type_is_not_a_type_name_then_it_is_a_violation_not_a_skipped_count(demo) -> None:
    # Skipped types are counted by name in the import report, which is stored: a name that is
    # not a FHIR type name could be anything, so it is refused rather than stored.
    bad = json.loads(demo.fhir_bundles[0].read_text("utf-8"))
    bad["entry"].append({"fullUrl": "urn:uuid:x", "resource": {"resourceType": "Zelda Smith 1951"}})
    bad["entry"].append({"fullUrl": "urn:uuid:y", "resource": {"resourceType": 7}})
    result = check_fhir_bundle(bad, file_name="b.json")
    n = len(bad["entry"])
    assert [(v.row, v.field, v.problem) for v in result.violations] == [
        (n - 1, "Bundle.entry.resource.resourceType", "does not have the expected format"),
        (n, "Bundle.entry.resource.resourceType", "does not have the expected format"),
    ]
    assert not result.skipped


def test_when_a_table_cannot_be_opened_then_it_is_unreadable_without_the_folder_path(
    demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import workbench.contracts as contracts

    folder = _copy_csv(demo.csv_dir, tmp_path / "Zelda_Smith_extract")
    real = contracts.read_csv_table

    def read(path: Path) -> pd.DataFrame:
        # Running as root, a chmod would not stop the read: simulate the OS refusing it.
        if path.name == "notes.csv":
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(contracts, "read_csv_table", read)
    _, violations = validate_csv_extract(folder)
    assert violations == [
        ContractViolation(
            "notes.csv", None, None, "file cannot be read as CSV (UTF-8, comma-separated, header row)"
        )
    ]


def test_when_two_patients_share_an_mrn_then_it_is_a_duplicate_without_the_value(demo) -> None:
    # The MRN keys the pseudonym: two rows with one MRN would become one patient, and the second
    # row's encounters, results and letters would be dropped without a word.
    pts = read_csv_table(demo.csv_tables["patients"])
    shared = pts.loc[0, "mrn"]
    pts.loc[3, "mrn"] = shared
    v = validate_csv_table("patients", pts, file_name="patients.csv")
    assert ContractViolation("patients.csv", 4, "mrn", "duplicate value (must be unique)") in v
    assert all(x.field == "mrn" and x.problem == "duplicate value (must be unique)" for x in v)
    assert shared not in str(ContractError(v))


def test_when_a_table_starts_with_a_utf8_byte_order_mark_then_its_first_column_is_found(
    demo, tmp_path: Path
) -> None:
    folder = _copy_csv(demo.csv_dir, tmp_path / "bom")
    path = folder / "patients.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    tables, violations = validate_csv_extract(folder)
    assert violations == []
    assert tables["patients"].columns[0] == "patient_id"


def test_when_a_resource_has_a_key_that_is_no_element_name_then_the_key_is_not_repeated(demo) -> None:
    bad = json.loads(demo.fhir_bundles[0].read_text("utf-8"))
    patient = bad["entry"][0]["resource"]
    patient["Zelda Smith"] = "1951-02-03"
    patient["name"][0]["Zelda"] = "x"
    patient["gendre"] = "female"  # a misspelt element is still named, to be found and fixed
    result = check_fhir_bundle(bad, file_name="b.json")
    fields = sorted(v.field or "" for v in result.violations)
    assert fields == ["Patient.(unnamed element)", "Patient.gendre", "Patient.name.(unnamed element)"]
    assert "Zelda" not in str(ContractError(result.violations))
