"""Names (titled, role-labelled, signature, NER, known identifiers) and hospitals/wards."""

import pytest

from workbench.deid import KnownIdentifiers, get_deidentifier


@pytest.fixture(scope="module")
def deid():
    return get_deidentifier()


def found(deid, text, known=None):
    return {(f.type, text[f.start : f.end]) for f in deid.analyze(text, known=known)}


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Dear Dr Aisha Rahman,", "Aisha Rahman"),
        ("I discussed this with Dr. Patel today.", "Patel"),
        ("Reviewed by Prof. Oluwaseun Adeyemi-Cole", "Oluwaseun Adeyemi-Cole"),
        ("Nurse Bridget O'Neill will call.", "Bridget O'Neill"),
        ("Sister McAllister changed the dressing", "McAllister"),
        ("Consultant: J. Whitaker", "J. Whitaker"),
        ("Kind regards,\n\nRichard Whitaker\nConsultant Diabetologist", "Richard Whitaker"),
        ("RE: HUGHES, Kevin (born 1957)", "HUGHES, Kevin"),
        ("accompanied by her husband, Neil Morrison.", "Neil Morrison"),
        ("Mrs. Zoë Ångström attended", "Zoë Ångström"),
    ],
)
def test_when_name_written_then_whole_name_found_without_title(deid, text, name):
    assert ("NAME", name) in found(deid, text)


@pytest.mark.parametrize(
    "text",
    [
        "Consultant Diabetologist, Diabetes Centre",
        "Dear Colleague,",
        "She started Metformin and Empagliflozin last year.",
        "HbA1c 58 mmol/mol, eGFR 44, LDL 2.1",
        "DOB: see above. MRN: pending",
        "Type 2 diabetes with CKD G3a",
        "Seen in the Diabetes Clinic by the MDT",
    ],
)
def test_when_clinical_words_only_then_no_name_found(deid, text):
    assert not {t for t, _ in found(deid, text)} & {"NAME"}


def test_when_patient_name_missed_by_ner_then_known_identifiers_catch_it(deid):
    text = "plan agreed with okafor and her daughter; okafor's sister agrees. okafor to return"
    known = KnownIdentifiers.from_record({"given_name": "Chidi", "family_name": "Okafor"})
    results = [f for f in deid.analyze(text, known=known) if f.type == "NAME"]
    assert [text[f.start : f.end] for f in results] == ["okafor"] * 3  # possessive without 's
    assert {f.recognizer for f in results} == {"KnownIdentifiersRecognizer"}


def test_when_known_name_is_a_common_word_then_matched_only_capitalised(deid):
    known = KnownIdentifiers(names=("Will", "Hope"))
    text = "Will Hope said she will hope for the best."
    spans = {(f.start, f.end) for f in deid.analyze(text, known=known) if f.type == "NAME"}
    covered = {i for s, e in spans for i in range(s, e)}
    assert set(range(0, 9)) <= covered
    assert not covered & set(range(text.index("will"), len(text)))


@pytest.mark.parametrize(
    ("text", "hospital"),
    [
        ("admitted to St Mary's Hospital on Monday", "St Mary's Hospital"),
        ("transferred to the Royal Infirmary", "Royal Infirmary"),
        ("He was on Ward 7B for two nights", "Ward 7B"),
        ("admitted to Ward 3 East overnight", "Ward 3 East"),
        ("seen at Cedar Ridge Medical Center", "Cedar Ridge Medical Center"),
        ("DIABETES CLINIC - Fairmont Endocrine Clinic", "Fairmont Endocrine Clinic"),
        ("moved to Osler Ward", "Osler Ward"),
    ],
)
def test_when_facility_named_then_found(deid, text, hospital):
    assert ("HOSPITAL", hospital) in found(deid, text)


@pytest.mark.parametrize(
    "text",
    [
        "Seen in the Diabetes Clinic today",
        "Refer to the Fracture Clinic",
        "the ward round",
        "Intensive Care Unit",
        "Emergency Department",
    ],
)
def test_when_department_not_named_facility_then_no_hospital(deid, text):
    assert "HOSPITAL" not in {t for t, _ in found(deid, text)}
