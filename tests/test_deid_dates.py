import itertools
from datetime import date, datetime, timedelta

import pytest

from workbench.deid.dates import (
    find_dates,
    parse_date_text,
    shift_date,
    shift_date_text,
    shift_dates_in_text,
)


@pytest.mark.parametrize(
    ("written", "days", "expected"),
    [
        ("03/07/1951", 30, "04/06/1951"),  # month-first default: 7 March -> 6 April
        ("3/7/51", 30, "4/6/51"),
        ("7 March 1951", 30, "6 April 1951"),
        ("March 7th, 1951", 30, "April 6th, 1951"),
        ("7th Mar 2024", -40, "27th Jan 2024"),
        ("2024-03-07", 1, "2024-03-08"),
        ("2024-03-07T10:15:00Z", 1, "2024-03-08T10:15:00Z"),
        ("Mar 2024", 31, "Apr 2024"),
        ("07-Mar-2024", 365, "07-Mar-2025"),
        ("SEPT 3, 2020", 30, "OCT 3, 2020"),
        ("December 31, 2023", 1, "January 1, 2024"),
        ("1st Feb 2024", 1, "2nd Feb 2024"),
        ("21 Feb 2024", 1, "22 Feb 2024"),
        ("25/03/2024", 1, "26/03/2024"),  # only readable day-first: read that way
        ("7 March", 30, "6 April"),
    ],
)
def test_when_date_shifted_then_style_kept_and_value_moves(written, days, expected):
    assert shift_date_text(written, days) == expected


def test_when_day_first_configured_then_ambiguous_dates_read_uk_style():
    assert parse_date_text("03/07/1951", day_first=True) == date(1951, 7, 3)
    assert parse_date_text("03/07/1951") == date(1951, 3, 7)
    assert shift_date_text("03/07/1951", 1, day_first=True) == "04/07/1951"


@pytest.mark.parametrize("invalid", ["31/02/2024", "13/13/2020", "2024-02-30"])
def test_when_date_like_but_invalid_then_replaced_by_placeholder(invalid):
    text, n = shift_dates_in_text(f"seen on {invalid} in clinic", 10)
    assert n == 1
    assert text == "seen on [DATE] in clinic"


@pytest.mark.parametrize(
    "not_a_date",
    [
        "BP 120/80 today",
        "review in 3/12",
        "for 6 months",
        "twice daily",
        "metformin 2000 mg daily",
        "you may take 2 tablets",
        "eGFR 44 mL/min/1.73m2",
        "insulin 10 units at bedtime",
        "version 1.2.3",
        "in March",
    ],
)
def test_when_text_has_no_date_then_nothing_shifted(not_a_date):
    assert shift_dates_in_text(not_a_date, 45) == (not_a_date, 0)


def test_when_letter_shifted_then_every_interval_is_preserved():
    real = [date(2023, 1, 5), date(2023, 2, 14), date(2023, 11, 30), date(2024, 3, 1)]
    styles = [
        lambda d: d.strftime("%m/%d/%Y"),
        lambda d: f"{d.day} {d.strftime('%B')} {d.year}",
        lambda d: d.isoformat(),
        lambda d: f"{d.strftime('%b')} {d.day}, {d.year}",
    ]
    text = " then ".join(style(d) for style, d in zip(styles, real, strict=True))
    shifted, n = shift_dates_in_text(text, -123)
    assert n == 4
    values = [s.value for s in find_dates(shifted)]
    assert values == [d - timedelta(days=123) for d in real]
    gaps = [(b - a).days for a, b in itertools.pairwise(real)]
    new_gaps = [(b - a).days for a, b in itertools.pairwise(values)]
    assert gaps == new_gaps


def test_when_structured_values_shifted_then_type_and_precision_kept():
    assert shift_date(date(2024, 3, 7), 10) == date(2024, 3, 17)
    assert shift_date(datetime(2024, 3, 7, 9, 30), -1) == datetime(2024, 3, 6, 9, 30)
    assert shift_date("2024-03-07", 10) == "2024-03-17"
    assert shift_date("2024-03-07T09:30:00+01:00", 1) == "2024-03-08T09:30:00+01:00"
    assert shift_date("2024-03-07T09:30:00Z", 1) == "2024-03-08T09:30:00Z"
    assert shift_date("2024-03", 31) == "2024-04"


def test_when_bare_year_shifted_then_refused():
    with pytest.raises(ValueError, match="year"):
        shift_date("2019", 40)
