"""Exports: the PDF record, the FHIR R4 Bundle, the meeting CSV and the patient explanation sheet.

Records are built by hand (fast) and once through the real store (a Workbench on a temp SQLite
file: meeting, case, signed decision and its correction, then get_decision and export).
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import io
import json
import re
from pathlib import Path

import pypdf
import pytest
from fhir.resources.R4B.bundle import Bundle
from test_plots import make_comparison

from workbench.export import write_exports
from workbench.export.csvs import CSV_COLUMNS, meeting_decisions_csv
from workbench.export.fhir import PSEUDONYM_SYSTEM, USERNAME_SYSTEM, decision_bundle
from workbench.export.patient_sheet import PLAIN_KINDS, patient_explanation, patient_explanation_pdf
from workbench.export.pdf import decision_pdf
from workbench.review.decisions import DecisionRecord, freeze_estimates
from workbench.scenario import COVARIATES

DOCS = Path(__file__).resolve().parent.parent / "docs" / "exports.md"
RATIONALE = (
    "eGFR 48 mL/min/1.73m² and established CVD: SGLT2 inhibitor for cardiorenal protection "
    "matters more than the ≥ 3 mmol/mol extra HbA1c fall of a GLP-1 RA – patient prefers tablets."
)
FIXED_TIME = dt.datetime(2024, 5, 2, 12, 0, tzinfo=dt.UTC)


def make_record(comparison=None, **overrides) -> DecisionRecord:
    c = comparison or make_comparison()
    fields = {
        "id": 12,
        "case_id": 3,
        "meeting_id": 2,
        "meeting_title": "Diabetes MDT",
        "meeting_date": dt.date(2024, 5, 2),
        "pseudonym": "P-7F3A9C21",
        "question": "Which second-line agent after metformin?",
        "version": 1,
        "supersedes_id": None,
        "superseded": False,
        "chosen_alternative": "sglt2i",
        "agrees_with_model": False,
        "leading_alternative": c.leading,
        "rationale": RATIONALE,
        "patient_preferences": "Prefers tablets to injections.",
        "dissent": "Pharmacy would have chosen the GLP-1 RA for the larger HbA1c fall.",
        "follow_up": "HbA1c and eGFR in 3 months.",
        "attendees": [
            {"name": "Dr A. Chair", "discipline": "Diabetology"},
            {"name": "B. Pharm", "discipline": "Pharmacy"},
        ],
        "signed_by": "clin01",
        "signed_by_name": "Dr C. Lin",
        "signed_at": dt.datetime(2024, 5, 2, 10, 30, tzinfo=dt.UTC),
        "model_run_id": c.run.id,
        "estimates": freeze_estimates(c),
        "content_hash": "ab" * 32,
    }
    return DecisionRecord(**(fields | overrides))


def pdf_text(data: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def flat(text: str) -> str:
    """Collapse line wrapping, so a wrapped paragraph compares equal to its source."""
    return " ".join(text.split())


# ----- PDF decision record ------------------------------------------------------------------
@pytest.fixture(scope="module")
def override_pdf() -> tuple[DecisionRecord, str, bytes]:
    record = make_record(version=2, supersedes_id=11)
    data = decision_pdf(record, generated_at=FIXED_TIME)
    return record, pdf_text(data), data


def test_when_pdf_is_rendered_then_text_has_chosen_label_rationale_verbatim_and_pseudonym(override_pdf):
    _, text, data = override_pdf
    assert data.startswith(b"%PDF")
    body = flat(text)
    assert "Chosen: SGLT2 inhibitor" in body
    assert flat(RATIONALE) in body  # Unicode (², ≥, –) survives embedding and extraction
    assert "P-7F3A9C21" in body
    assert "OVERRIDE: the model's leading alternative was GLP-1 receptor agonist" in body


def test_when_pdf_is_rendered_then_it_carries_the_full_record(override_pdf):
    record, text, _ = override_pdf
    body = flat(text)
    for expected in (
        record.question,
        record.patient_preferences,
        record.dissent,
        record.follow_up,
        "Dr A. Chair",
        "Diabetology",
        "Pharmacy",
        "Signed by Dr C. Lin (clin01) at 2024-05-02T10:30:00+00:00",
        "version 2, supersedes decision #11",
        "hierarchical v1.0",
        "adverse-event model run #8",
        record.content_hash,
    ):
        assert flat(expected) in body, expected


def test_when_pdf_is_rendered_then_estimates_table_shows_each_interval(override_pdf):
    record, text, _ = override_pdf
    body = flat(text)
    glp = record.estimates["alternatives"]["glp1ra"]
    mean = f"{glp['mean']:+.1f}".replace("-", "−")
    q90 = f"{glp['q05']:+.1f} to {glp['q95']:+.1f}".replace("-", "−")
    effect90 = f"{glp['effect_q05']:+.1f} to {glp['effect_q95']:+.1f}".replace("-", "−")
    assert mean in body and flat(q90) in body and flat(effect90) in body
    assert f"{100 * glp['p_benefit']:.0f}%" in body
    assert f"{100 * glp['ae_mean']:.0f}% ({100 * glp['ae_q05']:.0f}% to {100 * glp['ae_q95']:.0f}%)" in body
    # the extrapolated alternative is flagged in words, not only by colour
    assert "extrapolation" in body


def test_when_pdf_is_rendered_then_the_comparison_chart_is_embedded_as_an_image(override_pdf):
    _, _, data = override_pdf
    reader = pypdf.PdfReader(io.BytesIO(data))
    images = [img for page in reader.pages for img in page.images]
    assert len(images) == 1
    assert images[0].image.width > 800  # rendered at print resolution, not a thumbnail


def test_when_run_was_unreliable_then_pdf_says_so_before_the_numbers():
    text = flat(pdf_text(decision_pdf(make_record(make_comparison(reliable=False)))))
    assert "UNRELIABLE RUN" in text
    assert text.index("UNRELIABLE RUN") < text.index("Expected change")


def test_when_decision_is_superseded_then_pdf_says_so():
    text = flat(pdf_text(decision_pdf(make_record(superseded=True))))
    assert "SUPERSEDED" in text


def test_when_optional_fields_are_empty_then_pdf_says_none_recorded():
    record = make_record(agrees_with_model=True, chosen_alternative="glp1ra", rationale=None, dissent=None)
    text = flat(pdf_text(decision_pdf(record)))
    assert "AGREES with the model's leading alternative" in text
    assert text.count("none recorded") == 2


# ----- FHIR -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bundle() -> tuple[DecisionRecord, dict]:
    record = make_record(version=2, supersedes_id=11)
    return record, decision_bundle(record, exported_at=FIXED_TIME, exported_by="clin02")


def _resources(b: dict, kind: str) -> list[dict]:
    return [e["resource"] for e in b["entry"] if e["resource"]["resourceType"] == kind]


def _one(b: dict, kind: str) -> dict:
    found = _resources(b, kind)
    assert len(found) == 1, kind
    return found[0]


def test_when_bundle_is_built_then_it_validates_as_an_r4b_document(bundle):
    _, b = bundle
    Bundle.model_validate(b)  # raises on any invalid resource
    assert b["type"] == "document" and b["identifier"]["value"] and b["timestamp"]
    assert b["entry"][0]["resource"]["resourceType"] == "Composition"  # FHIR bdl-11
    kinds = [e["resource"]["resourceType"] for e in b["entry"]]
    for kind in (
        "Patient",
        "Practitioner",
        "CarePlan",
        "GuidanceResponse",
        "Device",
        "Provenance",
        "AuditEvent",
        "Parameters",
    ):
        assert kinds.count(kind) == 1, kind
    assert kinds.count("RiskAssessment") == 4


def test_when_a_resource_is_broken_then_r4b_validation_refuses_the_bundle(bundle):
    _, b = bundle
    broken = copy.deepcopy(b)
    plan = next(e["resource"] for e in broken["entry"] if e["resource"]["resourceType"] == "CarePlan")
    del plan["intent"]
    with pytest.raises(ValueError, match="intent"):
        Bundle.model_validate(broken)


def test_when_bundle_is_built_then_every_reference_resolves_inside_it(bundle):
    _, b = bundle
    full_urls = {e["fullUrl"] for e in b["entry"]}
    assert all(u.startswith("urn:uuid:") for u in full_urls) and len(full_urls) == len(b["entry"])
    refs = re.findall(r'"reference": "([^"]+)"', json.dumps(b))
    assert refs and set(refs) <= full_urls
    sections = _one(b, "Composition")["section"]
    referenced = {r["reference"] for s in sections for r in s.get("entry", [])}
    # the Composition ties together everything except the patient and signer it names directly
    assert referenced == full_urls - {
        b["entry"][0]["fullUrl"],
        *[e["fullUrl"] for e in b["entry"] if e["resource"]["resourceType"] in {"Patient", "Practitioner"}],
    }


def test_when_exported_twice_then_full_urls_are_identical_and_change_with_the_content_hash(bundle):
    record, b = bundle
    again = decision_bundle(record, exported_at=FIXED_TIME + dt.timedelta(days=1))
    assert [e["fullUrl"] for e in again["entry"]] == [e["fullUrl"] for e in b["entry"]]
    altered = make_record(version=2, supersedes_id=11, content_hash="cd" * 32)
    other = decision_bundle(altered, exported_at=FIXED_TIME)
    assert not {e["fullUrl"] for e in other["entry"]} & {e["fullUrl"] for e in b["entry"]}


def test_when_bundle_is_built_then_patient_is_only_a_pseudonym(bundle):
    record, b = bundle
    patient = _one(b, "Patient")
    assert patient["identifier"] == [{"system": PSEUDONYM_SYSTEM, "value": record.pseudonym}]
    assert set(patient) == {"resourceType", "identifier"}
    practitioner = _one(b, "Practitioner")
    assert practitioner["identifier"] == [{"system": USERNAME_SYSTEM, "value": "clin01"}]
    assert "name" not in practitioner


def test_when_bundle_is_built_then_careplan_is_the_decision_with_rationale(bundle):
    _record, b = bundle
    plan = _one(b, "CarePlan")
    assert plan["intent"] == "plan" and plan["status"] == "active"
    detail = plan["activity"][0]["detail"]
    assert detail["code"]["coding"][0]["code"] == "sglt2i"
    assert detail["code"]["text"] == "SGLT2 inhibitor"
    assert "override" in detail["description"]
    assert {"text": f"Rationale: {RATIONALE}"} in plan["note"]
    assert plan["replaces"][0]["identifier"]["value"] == "11"
    assert _one(b, "Composition")["status"] == "amended"


def test_when_bundle_is_built_then_risk_assessments_carry_the_frozen_numbers(bundle):
    record, b = bundle
    risks = {r["code"]["coding"][0]["code"]: r for r in _resources(b, "RiskAssessment")}
    glp = record.estimates["alternatives"]["glp1ra"]
    benefit, best, ae = risks["glp1ra"]["prediction"]
    assert benefit["probabilityDecimal"] == pytest.approx(glp["p_benefit"], abs=1e-4)
    assert best["probabilityDecimal"] == pytest.approx(glp["p_best"], abs=1e-4)
    assert ae["probabilityDecimal"] == pytest.approx(glp["ae_mean"], abs=1e-4)
    assert ae["qualitativeRisk"]["coding"][0]["code"] == "moderate"
    effect = {x["url"]: x for x in benefit["extension"][0]["extension"]}
    assert effect["q05"]["valueQuantity"]["value"] == pytest.approx(glp["effect_q05"], abs=1e-4)
    assert effect["q95"]["valueQuantity"]["value"] == pytest.approx(glp["effect_q95"], abs=1e-4)
    assert effect["reference"]["valueCoding"]["code"] == "dpp4i"
    # the reference has no benefit-vs-itself prediction
    assert [p["outcome"]["coding"][0]["code"] for p in risks["dpp4i"]["prediction"]] == [
        "best-expected-hba1c-change",
        "adverse-event-6m",
    ]
    assert "Extrapolation" in risks["basal_insulin"]["note"][0]["text"]


def test_when_bundle_is_built_then_provenance_names_model_version_and_signer(bundle):
    _, b = bundle
    urls = {e["resource"]["resourceType"]: e["fullUrl"] for e in b["entry"]}
    prov = _one(b, "Provenance")
    agents = {a["type"]["coding"][0]["code"]: a["who"]["reference"] for a in prov["agent"]}
    assert agents == {"assembler": urls["Device"], "author": urls["Practitioner"]}
    device = _one(b, "Device")
    assert device["version"][0]["value"] == "1.0" and device["deviceName"][0]["name"] == "hierarchical v1.0"
    guidance = _one(b, "GuidanceResponse")
    assert guidance["moduleCanonical"].endswith("/model/hierarchical|1.0")
    audit = _one(b, "AuditEvent")
    assert audit["agent"][0]["who"]["identifier"]["value"] == "clin02"
    assert audit["recorded"].startswith("2024-05-02T12:00:00")


# ----- CSV ----------------------------------------------------------------------------------
def _documented_csv_columns() -> set[str]:
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("## CSV columns", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([a-z0-9_]+)` \|", section, flags=re.M))


def test_when_csv_columns_are_listed_then_each_is_documented():
    assert DOCS.exists()
    documented = _documented_csv_columns()
    assert set(CSV_COLUMNS) <= documented, sorted(set(CSV_COLUMNS) - documented)
    assert documented <= set(CSV_COLUMNS), sorted(documented - set(CSV_COLUMNS))


def test_when_fhir_resources_are_exported_then_each_type_is_in_the_mapping_table(bundle):
    _, b = bundle
    text = DOCS.read_text(encoding="utf-8")
    for kind in {e["resource"]["resourceType"] for e in b["entry"]}:
        assert f"| {kind} |" in text, kind


def test_when_meeting_has_two_versions_then_csv_has_one_row_each_with_frozen_numbers():
    first = make_record(superseded=True)
    second = make_record(id=13, version=2, supersedes_id=12, chosen_alternative="glp1ra", agrees_with_model=True)
    rows = list(csv.DictReader(io.StringIO(meeting_decisions_csv([first, second]))))
    assert [r["decision_id"] for r in rows] == ["12", "13"]
    assert [r["superseded"] for r in rows] == ["true", "false"]
    assert rows[1]["supersedes_id"] == "12" and rows[0]["supersedes_id"] == ""
    assert rows[0]["rationale"] == RATIONALE
    sglt = first.estimates["alternatives"]["sglt2i"]
    assert float(rows[0]["chosen_p_benefit"]) == pytest.approx(sglt["p_benefit"], rel=1e-5)
    assert float(rows[0]["chosen_mean"]) == pytest.approx(sglt["mean"], rel=1e-5)
    assert rows[1]["chosen_label"] == "GLP-1 receptor agonist"
    assert rows[0]["attendees"] == "Dr A. Chair (Diabetology); B. Pharm (Pharmacy)"


def test_when_free_text_starts_like_a_formula_then_csv_neutralises_it_but_keeps_numbers():
    record = make_record(rationale='=HYPERLINK("http://x.example","click")', dissent="-2 would be safer")
    row = next(csv.DictReader(io.StringIO(meeting_decisions_csv([record]))))
    assert row["rationale"].startswith("'=")
    assert row["dissent"] == "'-2 would be safer"
    assert row["chosen_mean"].startswith("-")  # negative numbers stay numeric


# ----- patient explanation sheet ------------------------------------------------------------
def _sentences(texts: list[str]) -> list[str]:
    return [s for t in texts for s in re.split(r"(?<=[.!?:])\s+", t) if s.strip()]


def test_when_sheet_is_written_then_template_sentences_are_short_enough_for_reading_age_12():
    record = make_record(rationale=None, patient_preferences=None, follow_up=None, dissent=None)
    sections = patient_explanation(record)
    texts = [t for s in sections for t in [s.heading, *s.paragraphs, *s.bullets, *s.closing]]
    lengths = [len(s.split()) for s in _sentences(texts)]
    assert sum(lengths) / len(lengths) <= 12, sum(lengths) / len(lengths)
    assert max(lengths) <= 22, max(lengths)
    jargon = {"posterior", "propensity", "quantile", "interval", "diagnostics", "R-hat", "P(", "mmol"}
    body = " ".join(texts)
    assert not [w for w in jargon if w in body]


def test_when_sheet_is_written_then_every_model_input_is_named_as_a_kind_of_information():
    assert set(COVARIATES) <= set(PLAIN_KINDS)
    sections = {s.heading: s for s in patient_explanation(make_record())}
    used = sections["What information we used"]
    assert all(PLAIN_KINDS[c] in used.bullets for c in COVARIATES)
    assert any("did not use your name" in p for p in used.closing)


def test_when_sheet_is_written_then_chances_are_natural_frequencies_with_icon_arrays():
    record = make_record()
    sglt = record.estimates["alternatives"]["sglt2i"]
    sections = {s.heading: s for s in patient_explanation(record)}
    chances = sections["Your chances with SGLT2 inhibitor"]
    benefit = round(100 * sglt["p_benefit"])
    harm = round(100 * sglt["ae_mean"])
    assert f"about {benefit} in 100" in chances.paragraphs[0]
    assert f"about {harm} would get a side effect" in chances.paragraphs[1]
    assert (
        f"as few as {round(100 * sglt['ae_q05'])} or as many as {round(100 * sglt['ae_q95'])}" in chances.paragraphs[1]
    )
    assert len(chances.images) == 2 and all(png.startswith(b"\x89PNG") for _, png in chances.images)


def test_when_reference_is_chosen_then_sheet_does_not_claim_a_benefit_over_itself():
    record = make_record(chosen_alternative="dpp4i")
    sections = {s.heading: s for s in patient_explanation(record)}
    chances = sections["Your chances with DPP-4 inhibitor"]
    assert "usual choice" in chances.paragraphs[0]
    assert len(chances.images) == 1  # harm only


def test_when_run_is_unreliable_and_option_extrapolated_then_sheet_says_how_sure_in_plain_words():
    record = make_record(make_comparison(reliable=False), chosen_alternative="basal_insulin")
    sure = {s.heading: s for s in patient_explanation(record)}["How sure are we?"].paragraphs
    assert any("found problems" in p for p in sure)
    assert any("Few people like you have had Basal insulin" in p for p in sure)
    assert sure[-1] == "No one can be sure how a medicine will work for one person."


def test_when_sheet_pdf_is_rendered_then_it_names_the_decision_made_with_the_patient():
    record = make_record()
    data = patient_explanation_pdf(record, generated_at=FIXED_TIME)
    text = flat(pdf_text(data))
    assert "You and your care team chose SGLT2 inhibitor." in text
    assert "Prefers tablets to injections." in text
    assert "not the option the computer ranked first" in text
    reader = pypdf.PdfReader(io.BytesIO(data))
    assert sum(len(p.images) for p in reader.pages) == 2


def test_when_writing_all_exports_then_files_exist_and_names_omit_the_pseudonym(tmp_path):
    record = make_record()
    paths = write_exports(record, tmp_path / "out")
    assert set(paths) == {"pdf", "fhir", "csv", "patient_sheet"}
    for path in paths.values():
        assert path.exists() and path.stat().st_size > 0
        assert record.pseudonym not in path.name
    Bundle.model_validate(json.loads(paths["fhir"].read_text(encoding="utf-8")))


# ----- end to end through the real store ----------------------------------------------------
IDENTITY = {"name": "Margaret Okonkwo-Smith", "mrn": "MRN 4829301", "address": "14 Larch Road, Leeds"}


def test_when_a_decision_is_signed_in_the_store_then_its_exports_are_complete_and_leak_no_identity(tmp_path):
    from workbench.config import Settings
    from workbench.deid.vault import seal
    from workbench.governance.roles import Actor, Role
    from workbench.review.decisions import DecisionInput, get_decision, meeting_decisions, record_decision
    from workbench.review.meetings import add_attendee, add_case, create_meeting
    from workbench.store import db
    from workbench.store.service import Workbench
    from workbench.store.tables import ModelRun, Patient, VaultEntry

    wb = Workbench(Settings(home=tmp_path, database_url=f"sqlite:///{tmp_path}/wb.db"))
    try:
        pseudonym = "P-E2E00001"
        with db.transaction(wb.sessions) as session:
            session.add(Patient(pseudonym=pseudonym, sex="female", age_band="60-69"))
            # the identity exists in this deployment (sealed in the vault) and must not reach any export
            session.add(
                VaultEntry(kind="patient", pseudonym=pseudonym, sealed=seal(wb.secret, IDENTITY, pseudonym=pseudonym))
            )
            for run_id, outcome in ((7, "hba1c_change"), (8, "adverse_event")):
                session.add(
                    ModelRun(
                        id=run_id,
                        model_name="hierarchical",
                        model_version="1.0",
                        model_id="0" * 16,
                        outcome=outcome,
                        method="nuts",
                        reliable=True,
                        data_hash="0" * 64,
                        n_patients=40,
                        posterior_path=f"run{run_id}.nc",
                        created_by="ds01",
                        status="approved",
                    )
                )
        chair = Actor("chair01", Role.CHAIR, "Dr A. Chair")
        clinician = Actor("clin01", Role.CLINICIAN, "Dr C. Lin")
        meeting_id = create_meeting(wb, chair, "Diabetes MDT", dt.date(2024, 5, 2))
        add_attendee(wb, chair, meeting_id, "Dr A. Chair", "Diabetology", "chair01")
        add_attendee(wb, chair, meeting_id, "B. Pharm", "Pharmacy")
        case_id = add_case(wb, chair, meeting_id, pseudonym, "Which second-line agent after metformin?")
        comparison = make_comparison()
        first_id = record_decision(
            wb,
            clinician,
            case_id,
            DecisionInput("sglt2i", rationale=RATIONALE, patient_preferences="Prefers tablets.", follow_up="3 months."),
            comparison,
        )
        second_id = record_decision(
            wb,
            clinician,
            case_id,
            DecisionInput("sglt2i", rationale=RATIONALE + " Corrected follow-up.", follow_up="6 weeks."),
            comparison,
            correction_of=first_id,
        )
        record = get_decision(wb, second_id)
        assert record.version == 2 and record.supersedes_id == first_id
        out = write_exports(record, tmp_path / "exports")
        pdf_body = flat(pdf_text(out["pdf"].read_bytes()))
        sheet_body = flat(pdf_text(out["patient_sheet"].read_bytes()))
        fhir_text = out["fhir"].read_text(encoding="utf-8")
        meeting_csv = meeting_decisions_csv(meeting_decisions(wb, meeting_id))
    finally:
        db.dispose_engine(wb.url)

    assert "Chosen: SGLT2 inhibitor" in pdf_body
    assert flat(RATIONALE + " Corrected follow-up.") in pdf_body
    assert pseudonym in pdf_body and "supersedes decision" in pdf_body
    assert record.content_hash in pdf_body
    Bundle.model_validate(json.loads(fhir_text))
    rows = list(csv.DictReader(io.StringIO(meeting_csv)))
    assert [int(r["decision_id"]) for r in rows] == [first_id, second_id]
    assert [r["superseded"] for r in rows] == ["true", "false"]
    for text in (pdf_body, sheet_body, fhir_text, meeting_csv):
        for value in IDENTITY.values():
            for token in (value, *value.split(", ")):
                assert token not in text
        assert "4829301" not in text and "Okonkwo" not in text
