"""Round 4: names extended over their neighbours, propagated through the note, subjects of
"lives at" and speakers; address blocks under unit lines and with upper-case regions;
the two known bugs ("Drug name: Metformin", "Dr A Smith"). Real Presidio and spaCy.

Every text here is invented for the test (no value from any data set).
"""

import pytest

from workbench.deid import get_deidentifier
from workbench.deid.addresses import InternationalAddressRecognizer
from workbench.testing import spans_cover


@pytest.fixture(scope="module")
def deid():
    return get_deidentifier()


@pytest.fixture(scope="module")
def addresses():
    return InternationalAddressRecognizer()


def covered(findings, text, part, *, kind=None):
    """Whether every non-space character of ``part`` lies inside a finding (of ``kind``)."""
    return spans_cover(findings, text, part, kind=kind)


def names(deid, text):
    return [text[f.start : f.end] for f in deid.analyze(text) if f.type == "NAME"]


@pytest.mark.parametrize(
    ("text", "name"),
    [
        # the known partial leak: an undotted initial after a title
        ("Seen today by Dr A Smith in clinic.", "A Smith"),
        ("Letter copied to Mr J Okonkwo-Bell.", "J Okonkwo-Bell"),
        # a common word written with a capital mid-sentence, beside a name
        ("We called Crystal Murdock about her results.", "Crystal Murdock"),
        # a particle inside the surname, after a listed given name
        ("The note was written by Pieter van Dijkstra on the ward.", "Pieter van Dijkstra"),
        # the subject of "lives at" and a speaker closing the clause
        ("Tomomi Nishiyama lives at 12 Oak Street.", "Tomomi Nishiyama"),
        ('"I feel better," says Hauta-aho.', "Hauta-aho"),
    ],
)
def test_when_part_of_a_name_is_found_then_the_whole_name_is_redacted(deid, text, name):
    assert covered(deid.analyze(text), text, name, kind="NAME"), names(deid, text)


def test_when_a_name_is_found_once_then_its_other_mentions_are_redacted(deid):
    text = "Dr Gyala Antall wrote to us on Monday.\n> Gyala Antall\n> Antall asked for a copy."
    found = deid.analyze(text)
    assert text.count("Antall") == 3
    start = 0
    for _ in range(3):
        start = text.index("Antall", start)
        assert any(f.start <= start and start + 6 <= f.end and f.type == "NAME" for f in found)
        start += 6


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        # greetings, job words and nobility at a sentence start do not join a name
        ("Hi Victor, I am writing about the results.", "Hi"),
        ("Producer Liviana Palerma explained the plan.", "Producer"),
        ("The Princess Royal arrived this morning.", "Princess"),
        # a street word or a facility word after a name is not part of it
        ("Review at Murdock Hospital next week.", "Hospital"),
        # "Drug name:" labels a drug, not a person (the known false positive)
        ("Drug name: Metformin 500 mg twice daily.", "Metformin"),
        ("Drug name: Zestril 10 mg once daily.", "Zestril"),
        # a verb of saying followed by an ordinary word
        ("She says Yes to the plan.", "Yes"),
        # a place, not a person, lives on
        ("The patient lives at home with her son.", "patient"),
    ],
)
def test_when_a_neighbour_is_not_a_name_part_then_it_is_kept(deid, text, kept):
    found = deid.analyze(text)
    start = text.index(kept)
    assert not any(f.start < start + len(kept) and start < f.end and f.type == "NAME" for f in found), names(deid, text)


@pytest.mark.parametrize(
    ("text", "block"),
    [
        # a street line without a street word, above a unit line
        (
            "Head office\n\nFjordby 41 Marek Dam\n Suite 860\n NORDBY VEST\n Norway 56687",
            "Fjordby 41 Marek Dam\n Suite 860\n NORDBY VEST\n Norway 56687",
        ),
        # upper-case region codes that are also English words ("AT", "NO") before a postcode
        (
            "Send it to: 462 Hauptweg 80 Apt. 608\nVilla San Marco, AT 31295",
            "462 Hauptweg 80 Apt. 608\nVilla San Marco, AT 31295",
        ),
        ("903 83 Dora Creek Apt. 176\nSCHEIBBS, NO 14908", "903 83 Dora Creek Apt. 176\nSCHEIBBS, NO 14908"),
        # a lower-case particle inside a town name
        ("My address: 638 2229 Baker St\nPorto do Sol, RS 24893", "638 2229 Baker St\nPorto do Sol, RS 24893"),
        # an upper-case locality line that contains a street word
        (
            "New address is 11 Soutar Road Green Prairie\n Suite 445\n LOW STREET\n United Kingdom 10543",
            "11 Soutar Road Green Prairie\n Suite 445\n LOW STREET\n United Kingdom 10543",
        ),
    ],
)
def test_when_an_address_block_has_unit_and_region_lines_then_it_is_one_finding(addresses, text, block):
    found = addresses.analyze(text, [])
    assert any(text[f.start : f.end] == block for f in found), [text[f.start : f.end] for f in found]


@pytest.mark.parametrize(
    "text",
    [
        "Plan\nReview in 3 months\nSuite 4",  # prose above a unit line
        "Seen on 3 March 2024\nSuite 4",  # a date above a unit line
        "12 Oak Street\nSpringfield\nDIAGNOSIS\nType 2 diabetes",  # a heading ends the block
    ],
)
def test_when_a_unit_or_heading_line_follows_prose_then_the_block_does_not_grow(addresses, text):
    for f in addresses.analyze(text, []):
        span = text[f.start : f.end]
        assert "Review" not in span and "March" not in span and "DIAGNOSIS" not in span


def test_when_many_notes_use_worker_processes_then_results_equal_one_process(deid):
    texts = [f"Dr A Smith{i} saw Crystal Murdock on 2024-02-{i % 27 + 1:02d} at 12 Oak Street." for i in range(24)]
    items = [(t, None, 10) for t in texts]
    single = list(deid.deidentify_many(items, batch_size=8))
    try:
        multi = list(deid.deidentify_many(items, batch_size=4, n_process=2))
    finally:
        deid.close()
    assert [r.text for r in multi] == [r.text for r in single]
    assert [r.findings for r in multi] == [r.findings for r in single]


@pytest.mark.parametrize(
    ("text", "street"),
    [
        ("He lives on the north side of Ramon Llull 2906.", "Ramon Llull 2906"),
        ("The shop is at the far end of Via Roma 12, past the bridge.", "Via Roma 12"),
    ],
)
def test_when_a_street_follows_a_side_of_phrase_then_it_is_found(addresses, text, street):
    assert any(text[f.start : f.end] == street for f in addresses.analyze(text, []))


@pytest.mark.parametrize(
    "text", ["She lives on the north side of town.", "He lives at the far end of the ward 3 corridor."]
)
def test_when_a_side_of_phrase_has_no_street_then_nothing_is_found(addresses, text):
    assert addresses.analyze(text, []) == []
