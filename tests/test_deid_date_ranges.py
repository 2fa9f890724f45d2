"""Ranges of days written once with their month ("3-5 March 2024", "March 3-5, 2024").

Before, only the end next to the month was found, so the other day number stayed in the text
beside a shifted date: a leak of the real date and of the offset.
"""

import pytest

from workbench.deid import get_deidentifier
from workbench.deid.dates import find_dates


@pytest.fixture(scope="module")
def deid():
    return get_deidentifier()


def spans(text: str) -> list[str]:
    return [text[s.start : s.end] for s in find_dates(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Admitted 3-5 March 2024 with DKA.", ["3-5 March 2024"]),
        ("Inpatient 3–5 Mar, then home.", ["3–5 Mar"]),
        ("On the ward from 3rd to 5th March.", ["3rd to 5th March"]),
        ("Seen between 3 and 5 March 2024.", ["3 and 5 March 2024"]),
        ("Reviewed March 3-5, 2024 in clinic.", ["March 3-5, 2024"]),
        ("Away March 3rd to 5th.", ["March 3rd to 5th"]),
    ],
)
def test_when_a_range_of_days_shares_its_month_then_the_whole_range_is_one_date(text, expected):
    assert spans(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Took 3-5 mg on 5 March.", ["5 March"]),  # a dose before a date
        ("Pain 3-5 on 7 March.", ["7 March"]),  # a score: the first day must be before the second
        ("Symptoms for 10-5 March.", ["5 March"]),  # not a forward range
        ("Seen March 3, then 5 days of rest.", ["March 3"]),
        ("Started March 3 to 5 days ago.", ["March 3"]),  # "5 days" is a duration
        ("Seen 12 March 2024.", ["12 March 2024"]),
    ],
)
def test_when_numbers_beside_a_date_are_no_range_of_days_then_they_stay_out(text, expected):
    assert spans(text) == expected


def test_when_a_range_is_deidentified_then_no_day_of_it_is_left_and_single_dates_still_shift(deid):
    text = "Admitted 3-5 March 2024; reviewed March 7-9, 2024 and on 12 March 2024."
    out = deid.deidentify(text, date_shift_days=40).text
    assert out == "Admitted [DATE]; reviewed [DATE] and on 21 April 2024."
