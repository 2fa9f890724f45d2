"""Dates found by their context or written in less common styles, and their near misses.

A year that names a statute or a public event ("the Civil Rights Act of 1964", "the 2016
election"), a year after a date label ("DOB: 1951"), "Mar-2024", "March '98" and a day and
month ending a sentence ("seen on 3rd March.") are dates, shifted with the patient's offset
like the other years and dates. Doses, lab values, counts and 24-hour times next to the
same words are not.
"""

from datetime import date, timedelta

import pytest

from workbench.deid.dates import find_dates, shift_date_text, shift_dates_in_text


def found(text: str) -> list[str]:
    return [text[s.start : s.end] for s in find_dates(text)]


@pytest.mark.parametrize(
    ("text", "dates"),
    [
        ("Title VII of the Civil Rights Act of 1964 protects employees.", ["1964"]),
        ("Detained under section 3 of the Mental Health Act 1983.", ["1983"]),
        # "in" after a number is the preposition, not inches
        ("Detained under the Mental Health Act 1983 in 2019.", ["1983", "2019"]),
        ("Capacity assessed under the Mental Capacity Act 2005.", ["2005"]),
        ("Rights under the Treaty of 1948 and the Amendments of 1992.", ["1948", "1992"]),
        ("She campaigned in the 2016 election.", ["2016"]),
        ("Lost his job in the 2008 financial crisis.", ["2008"]),
        ("Volunteered at the 2012 London Olympics.", ["2012"]),
        ("DOB: 1951", ["1951"]),
        ("Date of diagnosis: 2019.", ["2019"]),
        ("Year = 2015", ["2015"]),
        ("First seen Xmas 2019.", ["2019"]),
        ("Reviewed Mar-2024 and again in March '98.", ["Mar-2024", "March '98"]),
        ("Seen on 3rd March.", ["3rd March"]),
        ("Next review 14 Feb. Bloods before.", ["14 Feb"]),
    ],
)
def test_when_context_names_a_year_or_date_then_found(text, dates):
    assert found(text) == dates


@pytest.mark.parametrize(
    "text",
    [
        "the law of 2000 patients",  # lower-case "law": no statute named
        "Gave the 2000 dose and the 1500 feed.",  # 24-hour times, not events
        "Gave the 2000 feed after the war.",  # the event noun is too far from the number
        "Under the Act of 2000 mg per day.",  # a unit after it: an amount
        "Platelets: 1500; WBC = 2000.",  # a label that is not a date
        "Date: 2000 mg",
        "Total of 2000 patients in the war.",
        "Dose 3 Mar.2 tablets",  # no full stop ending a sentence
        "Ward Mar-20",  # a month name and a two-digit number: no year written
        "CK 1950-2500 after the Act.",
    ],
)
def test_when_number_next_to_context_words_is_not_a_year_then_no_date(text):
    assert found(text) == []


@pytest.mark.parametrize("days", [-400, -200, -31, 30, 200, 365])
def test_when_shifted_then_new_kinds_move_with_the_patient(days):
    text = "Act of 1964 passed; voted in the 2016 election; DOB: 1951; seen Mar-2024, March '98 and on 3rd March."
    out, n = shift_dates_in_text(text, days)
    assert n == 6

    def year(y: int) -> int:
        return (date(y, 7, 1) + timedelta(days=days)).year

    mar24 = date(2024, 3, 15) + timedelta(days=days)
    mar98 = date(1998, 3, 15) + timedelta(days=days)
    third = date(2001, 3, 3) + timedelta(days=days)
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(third.day % 10 if not 11 <= third.day <= 13 else 0, "th")
    assert out == (
        f"Act of {year(1964)} passed; voted in the {year(2016)} election; DOB: {year(1951)}; "
        f"seen {mar24.strftime('%b')}-{mar24.year}, {mar98.strftime('%B')} '{mar98.year % 100:02d} "
        f"and on {third.day}{suffix} {third.strftime('%B')}."
    )


@pytest.mark.parametrize(
    ("written", "days", "expected"),
    [
        ("Mar-2024", 31, "Apr-2024"),
        ("Dec-2023", 20, "Jan-2024"),  # 15 December + 20 days: 4 January
        ("March '98", -90, "December '97"),
        ("3rd March", 1, "4th March"),
        ("July 2017", 400, "August 2018"),  # a four-letter full name stays a full name
        ("June 2017", 30, "July 2017"),
        ("Sept 2017", 30, "Oct 2017"),
    ],
)
def test_when_new_styles_shifted_then_style_kept(written, days, expected):
    assert shift_date_text(written, days) == expected


@pytest.mark.parametrize(
    ("written", "days", "expected"),
    [
        ("03MAR2024", 40, "12APR2024"),  # the compact form of clinical systems keeps its case and padding
        ("3Mar24", 300, "28Dec24"),
        ("2024/03/07", -10, "2024/02/26"),
        ("2024.12.30", 5, "2025.01.04"),
    ],
)
def test_when_compact_or_year_first_dates_are_shifted_then_found_and_style_kept(written, days, expected):
    assert found(f"Bloods taken {written} in clinic.") == [written]
    assert shift_date_text(written, days) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Firmware v2019.1.2 installed.",  # a version: one-digit month and day
        "Code 2019.01.32 logged.",  # no 32nd day
        "Sample 12DEC2023X received.",  # part of an identifier
        "Batch 10-2024/03/07 used.",
    ],
)
def test_when_digits_look_like_compact_dates_but_are_not_then_no_date(text):
    assert found(text) == []
