"""Addresses, ZIPs, locations, phones/faxes, e-mail, URL, IP address and ages over 89."""

import pytest

from workbench.deid import get_deidentifier
from workbench.testing import spans_cover


@pytest.fixture(scope="module")
def deid():
    return get_deidentifier()


def found(deid, text, known=None):
    return {(f.type, text[f.start : f.end]) for f in deid.analyze(text, known=known)}


def covered(deid, text, part):
    return spans_cover(deid.analyze(text), text, part)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Lives at 42 Elm Street, Springfield", ("ADDRESS", "42 Elm Street, Springfield")),
        ("Address: 8947 Mesa Verde Ave, Brooklyn, NY 11259", ("ADDRESS", "8947 Mesa Verde Ave, Brooklyn, NY 11259")),
        ("c/o 1200 W. Martin Luther King Jr Blvd Apt 4B", ("ADDRESS", "1200 W. Martin Luther King Jr Blvd Apt 4B")),
        ("6125 Riverside St., Brooklyn", ("ADDRESS", "6125 Riverside St., Brooklyn")),
        ("send to PO Box 4471", ("ADDRESS", "PO Box 4471")),
        # an address block found in pieces is one finding: no comma left between placeholders
        ("Fulham Road, London SW3 6JJ", ("ADDRESS", "Fulham Road, London SW3 6JJ")),
        ("Dr H Carter\n27 Kingsway\nHove BN3 2WQ", ("ADDRESS", "27 Kingsway\nHove BN3 2WQ")),
        ("Please contact 07700 900123 if worse", ("PHONE", "07700 900123")),
        ("Brooklyn, NY 11259", ("ZIP", "11259")),
        ("Brooklyn, NY 11259", ("LOCATION", "NY")),
        ("Denver, CO 80273-1140", ("ZIP", "80273-1140")),
        ("zip code 02176", ("ZIP", "02176")),
        ("London SW1A 1AA", ("ZIP", "SW1A 1AA")),
        ("Tel: (347) 649-5943", ("PHONE", "(347) 649-5943")),
        ("call 303.345.6912 after 5", ("PHONE", "303.345.6912")),
        ("mobile +1 215 373 0236", ("PHONE", "+1 215 373 0236")),
        ("Tel 0161 496 0123", ("PHONE", "0161 496 0123")),
        ("Fax: (347) 612-0888", ("FAX", "(347) 612-0888")),
        ("fax 347-612-0888", ("FAX", "347-612-0888")),
        ("email chidi.okafor@example.com today", ("EMAIL", "chidi.okafor@example.com")),
        (
            "results at https://portal.example.org/patient/1619080.",
            ("URL", "https://portal.example.org/patient/1619080"),
        ),
        ("logged in from 192.168.14.201", ("IP_ADDRESS", "192.168.14.201")),
        ("see www.mercy-diabetes.org/portal/88123 now", ("URL", "www.mercy-diabetes.org/portal/88123")),
        ("results: portal.example.com/patient/1619080", ("URL", "portal.example.com/patient/1619080")),
        ("She is a 91-year-old woman", ("AGE", "91-year-old")),
        ("aged 93, lives alone", ("AGE", "93")),
        ("Age: 102", ("AGE", "102")),
        ("a ninety-two year old man", ("AGE", "ninety-two year old")),
    ],
)
def test_when_contact_or_place_written_then_found(deid, text, expected):
    assert expected in found(deid, text)


@pytest.mark.parametrize(
    ("text", "absent"),
    [
        ("She is a 62-year-old woman", "AGE"),  # under 90 is not identifying
        ("aged 89", "AGE"),
        ("BP 125/93, pulse 88", "PHONE"),
        ("metformin 1000 mg twice daily", "PHONE"),
        ("took 2 steps up the hill", "ADDRESS"),
        ("Type 2 diabetes for 10 years", "ADDRESS"),
        ("Problems:\n1 Hypertension\n2 Atrial Fibrillation\nPlan: review", "ADDRESS"),
        ("dose 0.5 mg then 1.5 mg", "PHONE"),
        ("HbA1c 67 mmol/mol on 3 occasions", "ZIP"),
        ("eGFR 44 mL/min/1.73m2", "IP_ADDRESS"),
        ("eGFR 44 mL/min/1.73m2", "URL"),
        ("dose 1.5 mg/kg e.g. twice daily", "URL"),
    ],
)
def test_when_near_miss_then_type_not_reported(deid, text, absent):
    assert absent not in {t for t, _ in found(deid, text)}


def test_when_street_line_has_unit_and_city_then_nothing_is_left_visible(deid):
    text = "Address: 7882 Lakeview Drive, Apt 9C, Detroit, MI 48201"
    for part in ("7882 Lakeview Drive", "Apt 9C", "Detroit", "MI", "48201"):
        assert covered(deid, text, part), part
