from datetime import date

import pytest

from workbench.deid.generalise import (
    age_band,
    birth_year_only,
    generalise_uk_postcode,
    generalise_zip,
    safe_age,
)


@pytest.mark.parametrize(
    ("zip_code", "expected"),
    [
        ("62704", "627"),
        ("62704-1234", "627"),
        (" 10010 ", "100"),
        ("03601", "000"),  # 036 is a small-population area
        ("89301", "000"),
        ("82158", "000"),  # 821
        ("1234", None),
        ("ABCDE", None),
        ("", None),
        (None, None),
    ],
)
def test_when_zip_generalised_then_safe_harbor_rule_applies(zip_code, expected):
    assert generalise_zip(zip_code) == expected


@pytest.mark.parametrize(
    ("postcode", "expected"),
    [
        ("SW1A 1AA", "SW1A"),
        ("m1 1ae", "M1"),
        ("EH10 4BF", "EH10"),
        ("B33 8TH", "B33"),
        ("NOT A CODE", None),
        ("12345", None),
        (None, None),
    ],
)
def test_when_uk_postcode_generalised_then_outward_code_or_none(postcode, expected):
    assert generalise_uk_postcode(postcode) == expected


@pytest.mark.parametrize(
    ("age", "width", "band"),
    [
        (0, 10, "0-9"),
        (44.9, 10, "40-49"),
        (44, 5, "40-44"),
        (45, 5, "45-49"),
        (89.9, 10, "80-89"),
        (90, 10, "90+"),
        (103, 5, "90+"),
        (67, 1, "67"),
    ],
)
def test_when_age_banded_then_band_matches(age, width, band):
    assert age_band(age, width=width) == band


def test_when_age_negative_then_refused():
    with pytest.raises(ValueError):
        age_band(-1)
    with pytest.raises(ValueError):
        safe_age(-1)


@pytest.mark.parametrize(("age", "expected"), [(45.5, 45.5), (89.9, 89.9), (90, 90.0), (104, 90.0)])
def test_when_age_over_89_then_safe_age_is_90(age, expected):
    assert safe_age(age) == expected


def test_when_birth_date_given_then_only_year_kept_unless_90_plus():
    assert birth_year_only("1960-01-23", as_of=date(2024, 1, 1)) == 1960
    assert birth_year_only(date(1934, 6, 1), as_of=date(2024, 6, 1)) is None  # exactly 90
    assert birth_year_only(date(1934, 6, 2), as_of=date(2024, 6, 1)) == 1934  # still 89
    assert birth_year_only(None) is None
    assert birth_year_only("") is None
