"""Address rules of round 5: empty fields, look-alike letters, address contexts, unit lines
under a sentence, house-number markers; each with clinical near misses that stay."""

import pytest

from workbench.deid.addresses import InternationalAddressRecognizer
from workbench.testing import spans_cover


@pytest.fixture(scope="module")
def addresses():
    return InternationalAddressRecognizer()


def covered(findings, text, part):
    return spans_cover(findings, text, part)


@pytest.mark.parametrize(
    ("text", "part"),
    [
        ("Address: 8 Hill View\nLeeds\nnan\nLS6 2AB", "8 Hill View\nLeeds\nnan\nLS6 2AB"),
        ("Odos Ermou 15\nΑΓΙΟΣ ∆ΟΜΕΤΙΟΣ\nCyprus 25572", "Odos Ermou 15\nΑΓΙΟΣ ∆ΟΜΕΤΙΟΣ\nCyprus 25572"),
        ("The address of the company is Grössgstötten 50", "Grössgstötten 50"),
        ("Calle Mayor, nº 5, 28013 Madrid", "Calle Mayor, nº 5, 28013 Madrid"),
        ("Jl. Sudirman No. 12, Jakarta", "Jl. Sudirman No. 12, Jakarta"),
        ("ul. Marszałkowska 10/12 m. 5, 00-590 Warszawa", "ul. Marszałkowska 10/12 m. 5, 00-590 Warszawa"),
        ("Ulitsa Tverskaya 7, Moscow 125009", "Ulitsa Tverskaya 7, Moscow 125009"),
        ("She lives on 69 Av Sidi Lakhmi street.", "69 Av Sidi Lakhmi"),
        ("Take a taxi to 12 Kossuth u. 4. Suite 9 Eger HU. Thanks", "12 Kossuth u. 4. Suite 9 Eger HU"),
        (
            "The letter went to Fuglie 41 Popović Dam\n Suite 860\n Sweden 56687 last night.",
            "Fuglie 41 Popović Dam\n Suite 860\n Sweden 56687",
        ),
    ],
)
def test_when_an_address_is_written_then_all_of_it_is_found(addresses, text, part):
    assert covered(addresses.analyze(text, []), text, part)


@pytest.mark.parametrize(
    "text",
    [
        "Transferred to 4 West ward overnight.",
        "Park in Building 2 car park.",
        "Seen in Room 12 by the registrar.",
        "ECG: ST elevation in leads V2-V4.",
        "Follow-up is on 3 March at clinic.",
        "Av Hb 120 over 3 months.",
        "Second degree AV block, Mobitz 2.",
        "sent to Dermatology 2 weeks ago",
        "sent to CT 2 days ago",
        "We will address his pain with Oxycodone 5 mg",
        "Metformin 500 mg nan",
        "Ward 7B, Bay 3, Bed 12",
    ],
)
def test_when_clinical_text_looks_like_an_address_then_nothing_is_found(addresses, text):
    assert addresses.analyze(text, []) == []
