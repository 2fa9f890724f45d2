"""Address blocks completed as one finding, military mail, intersections, and names
completed from their neighbours (labels, lists, envelopes, dialogue).

Recognizer-level tables run without spaCy (fast); the pipeline cases use the shared
de-identifier (NER included) because completion happens after all recognizers ran.
"""

import pytest

from workbench.deid import get_deidentifier
from workbench.deid.addresses import InternationalAddressRecognizer
from workbench.deid.names import GivenNameRecognizer
from workbench.testing import spans_cover


def covered_by(findings, text, part):
    return spans_cover(findings, text, part)


@pytest.fixture(scope="module")
def addresses():
    return InternationalAddressRecognizer()


@pytest.fixture(scope="module")
def deid():
    return get_deidentifier()


@pytest.mark.parametrize(
    ("text", "block"),
    [
        # street, unit, town, a region slot in any case, postcode: every character covered
        (
            "Send it to 4410 Lindenweg 12 Apt. 77\nOberndorf\n, xq\n 40213",
            "4410 Lindenweg 12 Apt. 77\nOberndorf\n, xq\n 40213",
        ),
        (
            "Post: 12 Kossuth Lajos u. 4.\n Suite 9\n Eger\n Hungary 33100",
            "12 Kossuth Lajos u. 4.\n Suite 9\n Eger\n Hungary 33100",
        ),
        ("Mail: 2231 P.O. Box 77 Suite 5, Tartu, Estonia", "2231 P.O. Box 77 Suite 5, Tartu, Estonia"),
        (
            "Ship to Lindholm 12 Harbour Road\n Suite 4\n Upper Hutt\n New Zealand 5018",
            "Lindholm 12 Harbour Road\n Suite 4\n Upper Hutt\n New Zealand 5018",
        ),
        ("20 Fairview Road\nSt Albans, 13 40213", "20 Fairview Road\nSt Albans, 13 40213"),
        ("Her flat: 88 Ostrava 14, Nové Město nad Metují", "88 Ostrava 14, Nové Město nad Metují"),
        ("Verda lives on 33 avenue de Provence street.", "33 avenue de Provence"),
        ("lives at 14 Andreou Str., Limassol", "14 Andreou Str., Limassol"),
        ("St Mary's Hospital\n12 Praed Street\nLondon W2 1NY\nTel: 020 7946 0000", "12 Praed Street\nLondon W2 1NY"),
    ],
)
def test_when_an_address_block_is_written_then_it_is_one_finding(addresses, text, block):
    found = {text[r.start : r.end] for r in addresses.analyze(text, [])}
    assert block in found


@pytest.mark.parametrize(
    ("text", "block"),
    [
        ("Sgt. Reyes\npsc 4410, box 2231\napo ae 09123", "psc 4410, box 2231\napo ae 09123"),
        ("PSC 1234, Box 5678\nAPO AA 34035", "PSC 1234, Box 5678\nAPO AA 34035"),
        ("address:  unit 8821 box 0345\ndpo ap 96521", "unit 8821 box 0345\ndpo ap 96521"),
        ("CMR 402 Box 17", "CMR 402 Box 17"),
    ],
)
def test_when_military_mail_is_written_in_any_case_then_it_is_an_address(addresses, text, block):
    assert block in {text[r.start : r.end] for r in addresses.analyze(text, [])}


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("Meet at the corner of Maple Avenue and 5th Street.", "the corner of Maple Avenue and 5th Street"),
        ("Home: corner of 18 Arch Street and Lime Grove", "corner of 18 Arch Street and Lime Grove"),
        ("at the intersection of ul. Polna 3 and Lipowa", "the intersection of ul. Polna 3 and Lipowa"),
        ("Please write to Karl and Gartenstrasse 9 before May.", "Karl and Gartenstrasse 9"),
        # at the start of a line that is not the first (the rule read "^" as the text start)
        ("Karin Beike\nLeasing consultant\nAnna and Hersnapvej 75", "Anna and Hersnapvej 75"),
        ("Karin Beike\nLindholm 12 Harbour Road", "Lindholm 12 Harbour Road"),
    ],
)
def test_when_a_corner_is_described_then_the_whole_description_is_an_address(addresses, text, span):
    assert span in {text[r.start : r.end] for r in addresses.analyze(text, [])}


@pytest.mark.parametrize(
    "text",
    [
        "Seen on Ward 7B, Bed 12, Room 4 overnight. Unit 4 box 2 checked.",
        "He was admitted to the Infirmary on 23 November 2022\n\nKind regards,",
        "Admitted on March 3, 2024 and 14 Feb 2023.",
        "Insulin pump unit 2, box 3 of sensors, cycle 3 day 8.",
        "The corner of the room was damp and cold.",
        "Ulcer at the corner of the eye and Lateral canthus 2 mm.",
        "Referred by Dr Green and Mr Brown on 12 June.",
        "1 Type 2 diabetes\n2 Hypertension\nPlan: review",
    ],
)
def test_when_clinical_text_has_numbers_boxes_and_dates_then_no_address_is_found(addresses, text):
    assert [text[r.start : r.end] for r in addresses.analyze(text, [])] == []


def test_when_a_street_line_is_found_in_pieces_then_the_pipeline_joins_the_block(deid):
    text = "Address: 7882 Lakeview Drive, Apt 9C\nDetroit, MI 48201\nPlan: review in 3 months"
    blocks = [f for f in deid.analyze(text) if f.type == "ADDRESS"]
    assert [text[f.start : f.end] for f in blocks] == ["7882 Lakeview Drive, Apt 9C\nDetroit, MI 48201"]


@pytest.fixture(scope="module")
def given():
    recognizer = GivenNameRecognizer()
    if not recognizer.given:
        pytest.skip("Faker is not installed: no gazetteer")
    return recognizer


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Her maiden name is lindqvist and she was born in Oslo.", "lindqvist"),
        ("What's your last name? Øvergaard", "Øvergaard"),
        ("Surname: Kowalczyk", "Kowalczyk"),
        ('"It works," says Lindqvist.', "Lindqvist"),
        ("Nowak said the results were fine.", "Nowak"),
    ],
)
def test_when_a_name_is_labelled_or_quoted_then_it_is_found(given, text, name):
    found = {text[r.start : r.end] for r in given.analyze(text, [])}
    assert name in found


@pytest.mark.parametrize(
    "text",
    [
        "Drug name: the tablets were changed.",
        "Seen by the diabetes nurse; caused by Graves disease.",
        "Featuring Kate M Begum. What a show.",
    ],
)
def test_when_labels_and_verbs_have_no_name_after_them_then_nothing_or_only_the_name_is_found(given, text):
    for r in given.analyze(text, []):
        assert text[r.start : r.end] in {"Kate M Begum"}


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("Our founders: Okonkwo, Rogers and Torres.", ["Okonkwo", "Rogers", "Torres"]),
        ("they had 3: leonti, terrence and brian.", ["leonti", "terrence", "brian"]),
        ("Bogdana Kravets\n\n12 Harbour Road\nSpringfield, IL 62704", ["Bogdana Kravets"]),
        ("Ella: What a day.\nDestiny: Indeed, Maria.", ["Ella", "Destiny", "Maria"]),
        ("directed by Tom K Fenwick and starring nobody", ["Tom K Fenwick"]),
    ],
)
def test_when_names_are_found_in_part_then_neighbours_complete_them(deid, text, names):
    findings = [f for f in deid.analyze(text) if f.type == "NAME"]
    for name in names:
        assert covered_by(findings, text, name), name


@pytest.mark.parametrize(
    "text",
    [
        "Started metformin, insulin and gliclazide.",
        "Capitalised words like Wisdom and Discipline are not names.",
        "Diabetes Centre\n12 Harbour Road\nSpringfield, IL 62704",
        "Plan: review in 6 weeks.\nDiagnosis: asthma.\nMedications: none.",
        "Seen with Dr J Metformin",
    ],
)
def test_when_clinical_or_common_words_neighbour_names_then_they_stay(deid, text):
    names = [text[f.start : f.end] for f in deid.analyze(text) if f.type == "NAME"]
    for word in ("metformin", "insulin", "gliclazide", "Discipline", "Diabetes", "Centre", "Plan", "Diagnosis"):
        assert not any(word in n for n in names), (word, names)
    assert not any("Metformin" in n for n in names)


@pytest.mark.parametrize(
    ("text", "block"),
    [
        # read back from a postcode in a strict national format to the house number
        (
            "He is staying at 7 Rose Cottages, Little Snoring, Norfolk NR21 0AA",
            "7 Rose Cottages, Little Snoring, Norfolk NR21 0AA",
        ),
        ("Contact: 18 Kingsway, Hove BN3 2WQ", "18 Kingsway, Hove BN3 2WQ"),
        ("Route 1 Box 45, Hazard, KY 41701", "Route 1 Box 45, Hazard, KY 41701"),
        ("Unit 5, 22 George St, Brisbane QLD 4000", "Unit 5, 22 George St, Brisbane QLD 4000"),
        ("Box 77, 2231 Hwy 9 South, Austin TX 78701", "Box 77, 2231 Hwy 9 South, Austin TX 78701"),
        ("3 Highfield Court\nOld Road\nLeeds\nLS6 2AB", "3 Highfield Court\nOld Road\nLeeds\nLS6 2AB"),
        ("lives at 88 elm street, boston, ma 02110", "88 elm street, boston, ma 02110"),
        ("at 300 Queen St W, Toronto, ON M5V 2A2 today", "300 Queen St W, Toronto, ON M5V 2A2"),
    ],
)
def test_when_a_postcode_ends_a_block_then_the_block_reads_back_to_its_house_number(addresses, text, block):
    assert block in {text[r.start : r.end] for r in addresses.analyze(text, [])}


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("Seen 3 times, Leeds LS6 2AB", "Seen 3 times"),
        ("Took 2 tablets, Leeds LS6 2AB", "Took 2 tablets"),
        ("Review in 2 weeks at St James, Leeds LS9 7TF", "Review in 2 weeks"),
        ("BP 120/80, HbA1c 48, Leeds LS1 3EX", "HbA1c 48"),
        ("She came back with 2 friends from Austin TX 78701", "2 friends"),
    ],
)
def test_when_clinical_text_comes_before_a_postcode_then_it_is_not_read_into_the_address(addresses, text, kept):
    start = text.index(kept)
    for r in addresses.analyze(text, []):
        assert r.end <= start or r.start >= start + len(kept), text[r.start : r.end]
