"""Weekdays and years in date context are dates: found, shifted with the patient, or replaced.

Dates are shifted per patient, so a weekday or a year left as written beside shifted dates
would give the offset away (mod 7) or undo part of it. Amounts that look like years
("2000 mg", "of 1500 patients") must not be touched.
"""

from datetime import date, timedelta

import pytest

from workbench.deid import TextDeidentifier, deidentify_jsonl
from workbench.deid.dates import find_dates, shift_date_text, shift_dates_in_text

WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def found(text: str) -> list[str]:
    return [text[s.start : s.end] for s in find_dates(text)]


@pytest.mark.parametrize(
    ("text", "dates"),
    [
        ("Diagnosed with type 2 diabetes in 2019.", ["2019"]),
        # in a note with 24-hour times, a year that cannot be a time is still a year, "in
        # 2019" too; "until 2015" could be 20:15 there and is left
        ("Obs at 0800; smoked from 1975 until 2015 and in 2019.", ["1975", "2019"]),
        ("On insulin since 2015 and on metformin since early 2012.", ["2015", "2012"]),
        ("Lived in Leeds from 2001 to 2008, then abroad until 2015.", ["2001", "2008", "2015"]),
        ("Smoked between 1978 and 1995.", ["1978", "1995"]),
        ("Hip replacements in 2015, 2017 and 2020.", ["2015", "2017", "2020"]),
        ("Worked as a nurse 2015-2018, then 2019–21.", ["2015-2018", "2019–21"]),
        ("Lived there from 1950-2000 and in the year 2015/16.", ["1950-2000", "2015/16"]),
        ("Appendicectomy (2009), cholecystectomy (2012).", ["2009", "2012"]),
        ("She was in the class of 1998 and moved in mid-2004.", ["1998", "2004"]),
        ("Heavy drinker in the 1990s and the '80s.", ["1990s", "'80s"]),
        ("Last admitted back in '98.", ["'98"]),
        ("Seen during the summer of 2016 and circa 1990.", ["2016", "1990"]),
        ("Injury in May of 2015.", ["May of 2015"]),
        ("Review on Monday; dialysis on Tuesdays.", ["Monday", "Tuesdays"]),
        ("NEXT APPOINTMENT: THURSDAY", ["THURSDAY"]),
        ("she said see you friday", ["friday"]),
        ("Dialysis Mon/Wed/Fri, physio Tues and Thurs.", ["Mon", "Wed", "Fri", "Tues", "Thurs"]),
        ("Clinic Sat 3 March, bloods Wed 14:00, call Sun 9am.", ["Sat 3 March", "Wed", "Sun"]),
        ("Phone him on Sat or next Wed morning.", ["Sat", "Wed"]),
        ("Seen Monday, 4 March 2024 in clinic.", ["Monday, 4 March 2024"]),
        ("A 2015 audit found it; she starred in a 1998 film.", ["2015", "1998"]),
    ],
)
def test_when_weekday_or_year_in_date_context_then_found(text, dates):
    assert found(text) == dates


@pytest.mark.parametrize(
    "text",
    [
        "Metformin 2000 mg daily, fluids 1500 mL, diet 1800 kcal.",
        "Took 2000 mg of paracetamol in 2000 mL of water.",
        "A total of 2000 patients were screened; 1950 of them consented.",
        "In 2000 patients the rate was lower.",
        "CK of 1950 and ferritin of 2000 on admission.",
        "Platelets increased by 2000 overnight.",
        "Intake rose from 1500 to 2000 over the week.",
        "Target from 2000 to 3000 steps.",
        "Bleeding of 1200 ml (2000 mg tranexamic acid given).",
        "Call 555-2015 or 020 1990 2000.",
        "Ref 1-800-1990-2011.",
        "Room 2010, bed 12.",
        "CK 1900-2000 overnight, ferritin 1950-2000.",
        "Dosing at 2000 and 0800.",
        "Give the 2000 dose; the 1930 obs were stable.",
        "Glucose rose after the 2000 feed and before the 2200 insulin.",
        "Obs at 0800 stable; NBM until 2000, fluids from 1930.",
        "It was a 2000 patient cohort in a 1900 bed hospital.",
        "Born in 1850 according to the story; planned for 2150.",
        "O2 Sat 94% on room air. Sat up in bed.",
        "Avoid Sun exposure; they wed in June.",
        "Sun Pharma supplies it.",
    ],
)
def test_when_number_is_an_amount_code_or_word_then_no_date(text):
    assert found(text) == []


@pytest.mark.parametrize("days", [-365, -200, -31, 30, 45, 183, 365])
def test_when_shifted_then_weekday_and_year_move_with_the_full_dates(days):
    text = "Seen Monday, 4 March 2024; diagnosed in 2019; dialysis on Tuesdays and Fri 8 March 2024."
    out, n = shift_dates_in_text(text, days)
    assert n == 4
    new = date(2024, 3, 4) + timedelta(days=days)
    # the weekday written with the date is the shifted date's own weekday
    assert out.startswith(f"Seen {WEEKDAYS[new.weekday()]}, {new.day} {new.strftime('%B')} {new.year};")
    assert f"diagnosed in {(date(2019, 7, 1) + timedelta(days=days)).year};" in out
    assert f"on {WEEKDAYS[(1 + days) % 7]}s and" in out
    assert f"{WEEKDAYS[(4 + days) % 7][:3]} {(date(2024, 3, 8) + timedelta(days=days)).day} " in out


@pytest.mark.parametrize(
    ("written", "days", "expected"),
    [
        ("MONDAY", 2, "WEDNESDAY"),
        ("friday", 3, "monday"),
        ("Tues", -1, "Mon"),
        ("Tues", 1, "Weds"),
        ("Sun", 1, "Mon"),
        ("Saturdays", 7, "Saturdays"),
        ("2019", 183, "2019"),  # 1 July 2019 + 183 days = 31 December 2019
        ("2019", 184, "2020"),
        ("2019", 30, "2019"),
        ("2019", -200, "2018"),
        ("'98", 200, "'99"),
        ("2015-18", 200, "2016-19"),
        ("1990s", -365, "1990s"),
    ],
)
def test_when_partial_date_shifted_then_style_kept(written, days, expected):
    assert shift_date_text(written, days) == expected


@pytest.fixture(scope="module")
def deid():
    return TextDeidentifier()


def test_when_patient_offset_known_then_years_and_weekdays_shift_consistently(deid):
    text = "Mrs Okafor was diagnosed in 2016 and seen on Monday 4 March 2024; review next Thursday."
    for days in (-300, -45, 60, 250):
        out = deid.deidentify(text, date_shift_days=days).text
        new = date(2024, 3, 4) + timedelta(days=days)
        assert f"diagnosed in {(date(2016, 7, 1) + timedelta(days=days)).year} and" in out
        assert f"on {WEEKDAYS[new.weekday()]} {new.day} {new.strftime('%B')} {new.year};" in out
        assert out.endswith(f"review next {WEEKDAYS[(3 + days) % 7]}.")
        assert "Okafor" not in out


def test_when_no_offset_then_years_and_weekdays_become_the_date_placeholder(deid):
    text = "Diagnosed in 2016; dialysis Mon/Wed/Fri; seen Thursday. Metformin 2000 mg."
    assert deid.deidentify(text).text == (
        "Diagnosed in [DATE]; dialysis [DATE]/[DATE]/[DATE]; seen [DATE]. Metformin 2000 mg."
    )


def test_when_deid_contract_used_then_years_and_weekdays_are_date_entities_into_the_input(deid):
    import io
    import json

    text = "Since 2015 on dialysis every Tuesday; takes 1500 mL fluid."
    out = io.StringIO()
    deidentify_jsonl(io.StringIO(json.dumps({"id": "n1", "text": text}) + "\n"), out, deidentifier=deid)
    rec = json.loads(out.getvalue())
    assert rec["id"] == "n1"
    assert [(e["type"], text[e["start"] : e["end"]]) for e in rec["entities"]] == [
        ("DATE", "2015"),
        ("DATE", "Tuesday"),
    ]
    assert rec["text"] == "Since [DATE] on dialysis every [DATE]; takes 1500 mL fluid."
