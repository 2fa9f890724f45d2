"""Finding and shifting the dates clinicians write.

Every patient's dates move by the same offset (``pseudonym.date_shift_days``) so intervals
-- time to progression, days between chemo cycles -- survive de-identification exactly.
A shifted date keeps the written style of the original ("7th Mar 2024" stays
"ordinal day, short month, 4-digit year") so letters still read naturally.

Ambiguity: ``03/07/1951`` is 7 March in the US and 3 July in the UK. The default is
month-first (``day_first=False``) because the Safe Harbor method and our extracts are US;
set ``DeidConfig.day_first`` for UK sources. A numeric date that only parses one way
(``25/03/2024``) is read that way whatever the default. A date-like string that parses
neither way is not shifted but replaced by ``[DATE]``.

Partial dates are dates too. We shift dates instead of cutting them to the year, so a
weekday or a year left as written beside shifted dates would undo part of the shift (a
weekday gives the offset mod 7). Weekday names ("Monday", "Tues", "WED") and four-digit
years *in date context* ("in 2019", "since 2015", "2015-2018", "the 1990s", "in '98")
are therefore found as dates (as i2b2/n2c2 annotation marks them) and shifted: a weekday
by the same offset (mod 7), a year to the year of its 1 July plus the offset. A number
with a unit or a count ("2000 mg", "of 1500 patients", "from 1500 to 2000") is not a
year. A year that names a statute or a public event ("the Civil Rights Act of 1964",
"Mental Health Act 1983", "the 2016 election") or follows a date label ("DOB: 1951") is a
year in date context too (statute and event years are replaced, not shifted: see
``names_public_year``). Month names on their own ("in March")
are left alone (see
``docs/deidentification.md``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import regex
from spacy.lang.en.stop_words import STOP_WORDS

__all__ = [
    "DATE_PATTERNS",
    "PARTIAL_DATE_KINDS",
    "DateSpan",
    "date_score",
    "find_dates",
    "parse_date_text",
    "shift_date",
    "shift_date_text",
    "shift_dates_in_text",
]

_MONTHS = [
    ("January", "Jan"),
    ("February", "Feb"),
    ("March", "Mar"),
    ("April", "Apr"),
    ("May", "May"),
    ("June", "Jun"),
    ("July", "Jul"),
    ("August", "Aug"),
    ("September", "Sep"),
    ("October", "Oct"),
    ("November", "Nov"),
    ("December", "Dec"),
]


def _month_alternation() -> str:
    # Title case or upper case only: lower-case "may"/"march" are verbs far more often
    # than dates in letters.
    forms: list[str] = []
    for full, short in _MONTHS:
        for word in {full, short, "Sept"} if short == "Sep" else {full, short}:
            forms += [word, word.upper()]
    forms.sort(key=len, reverse=True)
    return "(?:" + "|".join(forms) + ")"


_MON = _month_alternation()
_ORD = r"(?i:st|nd|rd|th)"
_MON_SHORT = "|".join(x for _, short in _MONTHS for x in (short, short.upper()))

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_WEEKDAY_SHORT = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
#: The longer abbreviations ("Tues", "Weds", "Thurs"); a shifted "Tues" keeps that style.
_WEEKDAY_LONG_SHORT = ("Mon", "Tues", "Weds", "Thurs", "Fri", "Sat", "Sun")
_WEEKDAY_LOOKUP = {
    **{w.lower(): i for i, w in enumerate(_WEEKDAYS)},
    **{w.lower(): i for i, w in enumerate(_WEEKDAY_SHORT)},
    **{w.lower(): i for i, w in enumerate(_WEEKDAY_LONG_SHORT)},
    "thur": 3,
}


def _alternation(words: list[str]) -> str:
    return "(?:" + "|".join(sorted(set(words), key=len, reverse=True)) + ")"


# Full weekday names in any case (no English word is spelt like one); abbreviations in
# title or upper case only, and only with a date context (see _weekday_context_ok):
# "Sun", "Sat", "Wed" are also words ("sun exposure", "sat up", "they wed").
_WD_FULL = _alternation([f(w) for w in _WEEKDAYS for f in (str, str.upper, str.lower)])
_WD_SHORT = _alternation([f(w) for w in (*_WEEKDAY_SHORT, *_WEEKDAY_LONG_SHORT, "Thur") for f in (str, str.upper)])
_WD_ANY = f"(?:{_WD_FULL}|{_WD_SHORT})"
# A weekday written before a full date belongs to it ("Monday, 3 March 2024").
_WD_PREFIX = rf"(?:(?P<wd>{_WD_ANY})\.?,?\s+(?:the\s+)?)?"

#: (name, regex, score). Named groups: y, m (number), mon (name), d, ord, yy (2-digit year).
#: The regexes are case-sensitive (month names are title/upper case by construction).
DATE_PATTERNS: list[tuple[str, str, float]] = [
    (
        "iso",
        r"(?<![\w-])" + _WD_PREFIX + r"(?P<y>(?:1[89]|20)\d{2})-(?P<m>[01]?\d)-(?P<d>[0-3]?\d)"
        r"(?:[T ](?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
        r"(?![\w-])",
        0.9,
    ),
    (
        # "2024/03/07", "2024.03.07": year first with two-digit month and day ("2019.1.2" is a version)
        "ymd_slash",
        r"(?<![\w./-])(?P<y>(?:1[89]|20)\d{2})(?P<sep>[/.])(?P<m>0[1-9]|1[0-2])(?P=sep)(?P<d>[0-2]\d|3[01])"
        r"(?![\w/-]|\.\d)",
        0.8,
    ),
    (
        # "03MAR2024", "3Mar24", "12DEC23": the compact form of clinical systems (a three-letter month)
        "dmy_compact",
        r"(?<![\w.-])(?P<d>[0-2]?\d|3[01])(?P<mon>" + _MON_SHORT + r")(?P<y>(?:1[89]|20)\d{2}|\d{2})(?!\w)",
        0.8,
    ),
    (
        "numeric",
        r"(?<![\w/.-])" + _WD_PREFIX + r"(?P<a>\d{1,2})(?P<sep>[/.-])(?P<b>\d{1,2})(?P=sep)"
        r"(?P<y>(?:1[89]|20)\d{2}|\d{2})(?![\w/-]|\.\d)",
        0.7,
    ),
    (
        "day_month_year",
        r"(?<!\w)" + _WD_PREFIX + r"(?P<d>[0-3]?\d)(?P<ord>" + _ORD + r")?(?:\s+of)?[\s-]+(?P<mon>" + _MON + r")"
        r"\.?,?[\s-]+(?P<y>(?:1[89]|20)\d{2}|'?\d{2})(?!\w)",
        0.9,
    ),
    (
        "month_day_year",
        r"(?<!\w)" + _WD_PREFIX + r"(?P<mon>" + _MON + r")\.?\s+(?:the\s+)?(?P<d>[0-3]?\d)(?P<ord>" + _ORD + r")?"
        r",?\s+(?P<y>(?:1[89]|20)\d{2})(?!\w)",
        0.9,
    ),
    (
        "month_year",
        # "March 2024", "Mar. 2024", "May of 2015", "Mar-2024", "March '98"
        r"(?<!\w)(?P<mon>" + _MON + r")\.?(?:,?\s+(?:of\s+)?|-)(?P<y>(?:1[89]|20)\d{2}|'\d{2})(?!\w)",
        0.8,
    ),
    (
        "numeric_month_year",
        r"(?<![\w/.-])(?P<m>0?[1-9]|1[0-2])/(?P<y>(?:19|20)\d{2})(?![\w/])",
        0.6,
    ),
    (
        "day_month",
        r"(?<!\w)" + _WD_PREFIX + r"(?P<d>[0-3]?\d)(?P<ord>" + _ORD + r")?(?:\s+of)?\s+(?P<mon>" + _MON + r")"
        r"(?!\w|\.\w)",  # a full stop ends the sentence ("seen 3rd March."); "Mar.2" does not
        0.7,
    ),
    (
        "month_day",
        r"(?<!\w)" + _WD_PREFIX + r"(?P<mon>" + _MON + r")\.?\s+(?:the\s+)?(?P<d>[0-3]?\d)(?P<ord>" + _ORD + r")?"
        r"(?![\w:.,/]\d|\w|\s*(?i:mg|ml|units?|mmol|kg|%))",
        0.6,
    ),
]

_STOP_WORDS = frozenset(STOP_WORDS)
_SCORES = {name: score for name, _rx, score in DATE_PATTERNS}
_COMPILED = [(name, regex.compile(rx), score) for name, rx, score in DATE_PATTERNS]

# -- partial dates: weekdays, years in date context, year ranges, decades -------------------
#: Kinds that name a weekday, a year or a decade, not one calendar day. Their ``value`` is a
#: representative date (1 July of the year; the middle of a decade; for a weekday, that
#: weekday in the first week of 2001) so that shifting it moves them like the full dates.
PARTIAL_DATE_KINDS = frozenset({"year", "year_short", "year_range", "decade", "weekday"})
_PARTIAL_SCORES = {"year": 0.6, "year_short": 0.6, "year_range": 0.7, "decade": 0.6, "weekday": 0.7}
_Y4 = r"(?:19|20)\d{2}"  # plausible years for events in a living person's record
_APOS = "'’‘"
#: The forms ``shift_date_text`` accepts for the partial kinds (the caller knows it is a date).
_BARE = [
    ("year_range", regex.compile(rf"(?P<y>{_Y4})(?P<sep>\s*[-–—/]\s*)(?P<y2>{_Y4}|\d{{2}})")),
    ("decade", regex.compile(rf"(?P<y>(?:19|20)\d0|[{_APOS}]\d0)[{_APOS}]?s")),
    ("year", regex.compile(rf"(?P<y>{_Y4})")),
    ("year_short", regex.compile(rf"(?P<y>[{_APOS}]\d{{2}})")),
    ("weekday", regex.compile(rf"(?:(?P<wd>{_WD_FULL})(?:[{_APOS}]?[sS])?|(?P<wd>{_WD_SHORT}))")),
]
_BARE_BY_KIND = dict(_BARE)

# Candidates: a 4-digit year, optionally a range or a decade; an apostrophe year.
_YEAR_CANDIDATE = regex.compile(
    rf"(?<![\w.,/:#$£€¥+{_APOS}]|\d[-–])(?P<y>{_Y4})"
    rf"(?:(?P<sep>\s*[-–—/]\s*)(?P<y2>{_Y4}|\d{{2}}))?(?P<dec>[{_APOS}]?s)?"
    r"(?![\w]|[.,:/\-–]\d)"
)
_SHORT_YEAR_CANDIDATE = regex.compile(rf"(?<![\w{_APOS}])(?P<y>[{_APOS}]\d{{2}})(?P<dec>s)?(?![\w{_APOS}]|[.,:/-]\d)")
# What makes a number a year: a temporal preposition or a season before it ("in 2019",
# "since 2015", "during the summer of 1998", "until late 2020", "circa 1990", "year
# 2000", "born 1951"), "mid-"/"pre-"/"post-" glued to it, or brackets round it
# ("appendicectomy (2009)"). "of" only after a word of time ("class of 2015", "the
# spring of 1998"): after anything else it mostly counts ("a total of 2000", "CK of
# 1950"). Checked on the text just before the candidate.
_TIME_NOUNS = r"class|spring|summer|autumn|fall|winter|year|end|start|beginning|middle|turn|half|part|quarter"
_YEAR_CONTEXT = regex.compile(
    r"(?i)(?:"
    r"(?<!\w)(?:in|since|from|during|until|till|til|by|circa|ca\.|c\.|before|after|years?|between|"
    r"throughout|born|died|diagnosed|dx|spring|summer|autumn|fall|winter|christmas|xmas|easter|"
    rf"(?:{_TIME_NOUNS})\s+of)\s+"
    # "the" only with a modifier ("in the early 2000s", "during the summer of 2016"): "after
    # the 2000 dose" is a 24-hour time
    rf"(?:(?:the\s+)?(?:early|mid|late|(?:{_TIME_NOUNS})\s+of)[\s-]+)?"
    r"|(?<!\w)(?:mid|pre|post|early|late)[-–]\s*"
    r"|\(\s*"
    # "a 2017 film", "a 1998 study": an indefinite article before a bare number names one
    # thing of that year (a 24-hour time takes "the": "the 2000 dose"; a round number
    # after "a" is a count used as an adjective: "a 2000 patient cohort", see below)
    r"|(?<!\w)(?P<art>an?)\s+"
    r")$"
)
# Contexts that leave a number no reading but a year, so only a unit after it ("Act of
# 2000 mg") makes it an amount, not a word that looks like a plural noun ("the Civil Rights
# Act of 1964 protects ..."): a statute or treaty named by its year, capitalised as a title
# ("Mental Health Act 1983", "the Treaty of 1948"; "law of 2000" is not one), and a label
# that names a date ("DOB: 1951", "Date of diagnosis: 2019", "Year = 2015").
_STATUTE = (
    r"(?<!\w)(?:Acts?|Regulations)\s+(?:of\s+)?"
    r"|(?<!\w)(?:Amendments?|Law|Treaty|Accord|Convention|Declaration|Charter|Statute|Directive)\s+of\s+"
)
_STATUTE_BEFORE = regex.compile(rf"(?:{_STATUTE})$")
_NAMED_YEAR_CONTEXT = regex.compile(
    rf"(?:{_STATUTE}"
    r"|(?i:(?<!\w)(?:dob|d\.o\.b\.?|date(?:\s+of(?:\s+\w+){1,2})?|year(?:\s+of(?:\s+\w+){1,2})?)\s*[:=]\s*))$"
)
# "increased by 2000", "rose by 1500": after a verb of change, "by" takes an amount.
_BY_AMOUNT = regex.compile(
    r"(?i)(?<!\w)(?:increas|decreas|reduc|rais|rose|ris|fell|fall|drop|grow|grew|lower|elevat|multipl|divid|"
    r"improv|worsen|up|down|chang|vari|offset)\w*\s+by\s+$"
)
# A year listed after a year already found: "2015 and 2016", "from 2015 to 2018", "2015, 2017".
_YEAR_CHAIN = regex.compile(rf"(?i)(?:{_Y4}|[{_APOS}]\d{{2}})\s*(?:,|&|and|or|to|through|thru|until|till|[-–])\s*$")
# Units and count words: a number followed by one is an amount, not a year.
_UNITS = frozenset(
    """% ‰ mg mcg µg ug ng g gm gms gram grams kg kgs lb lbs oz ml mls l dl cl cc mmol mol umol µmol nmol meq
    iu units unit u kcal cal cals calorie calories kj j cm mm m km mi mile miles ft feet foot inch inches yd
    h hr hrs hour hours min mins minute minutes s sec secs second seconds d day days wk wks week weeks mo mos month
    months y yr yrs year years x times steps bpm rpm mmhg ppm ppb rem rad gy msv °c °f c f degrees dollars euros
    pounds usd eur gbp cfu copies cells""".split()
)
_NEXT_TOKEN = regex.compile(r"[ \t]*(?:([%‰°]\w?|[^\W\d_][\w/°µ.]*))")
_CHAIN_NUMBERS = regex.compile(r"(?:\s*(?:,|&|and|or|to|through|thru|[-–/])\s*(\d+(?:[.,]\d+)*))+")


def _amount_follows(text: str, end: int, *, units_only: bool = False) -> bool:
    """True when what follows makes the number an amount: a unit, a plural noun, a non-year.

    ``units_only``: after a context that names a year (``_NAMED_YEAR_CONTEXT``) only a unit
    or a range of non-years counts, not a plural-looking word.
    """
    chain = _CHAIN_NUMBERS.match(text, end)
    if chain:
        for number in chain.captures(1):
            if not regex.fullmatch(_Y4, number):
                return True  # "from 2000 to 3000", "1950-2500": a range of amounts
        end = chain.end()
    m = _NEXT_TOKEN.match(text, end)
    if not m:
        return False
    word = m.group(1)
    low = word.lower().rstrip(".")
    if low in _UNITS or "/" in word:  # "mg", "U/L", "mL/min"
        return True
    if units_only:
        return False
    # "of 1998 respondents", "2000 patients": a lower-case plural noun counts things.
    return word.islower() and len(word) > 3 and word.endswith("s") and low not in _STOP_WORDS


# A note that writes 24-hour times as four digits ("0800", "2100 hrs") may write "until
# 2000" for 8 pm: there a year-like number that is also a valid time, after a preposition
# of time of day, is left alone.
_CLOCK_STYLE = regex.compile(
    r"(?<![\w.,:/-])(?:(?:[01]\d|2[0-3])[0-5]\d[ \t]*(?i:h|hrs?|hours)\b|0\d[0-5]\d(?![\w.,:/-]))"
)
_CLOCK_PREPOSITION = regex.compile(r"(?i)(?<!\w)(?:until|till|til|by|from|before|after|since|at)\s+$")


def _looks_like_clock(digits: str) -> bool:
    return int(digits[:2]) <= 23 and int(digits[2:]) <= 59


# "the 2016 election", "the 2008 financial crisis", "the 2012 London Olympics": "the",
# the year and (after at most two words) a noun for a public event that is named by its
# year. A dose or a feed ("the 2000 dose", a 24-hour time) is not such a noun.
_EVENT_NOUNS = (
    r"elections?|census|olympics|games|world\s+cup|pandemic|epidemic|outbreak|earthquake|floods?|hurricane|"
    r"tsunami|war|revolution|recession|crisis|referendum"
)
_THE_BEFORE = regex.compile(r"(?i)(?<!\w)the\s+$")
_EVENT_AFTER = regex.compile(rf"(?i)(?:\s+[^\W\d_][\w'-]*){{0,2}}?\s+(?:{_EVENT_NOUNS})(?!\w)")


def names_public_year(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` is a year naming a statute or a public event, not the patient's.

    Such a year is still removed (annotation standards count it, and it dates the note) but is
    replaced, not shifted: "Mental Health Act 1983" shifted to 1982 would tell a reader something
    false, and anyone who knows the real year would learn the direction and size of the patient's
    offset from it.
    """
    if not regex.fullmatch(_Y4, text[start:end]):
        return False
    return bool(_STATUTE_BEFORE.search(text, max(0, start - 24), start)) or _names_event(text, start, end)


def _names_event(text: str, start: int, end: int) -> bool:
    """Event years such as 'the 2016 election': "the", the number, then an event noun within two words."""
    return bool(_THE_BEFORE.search(text, max(0, start - 8), start) and _EVENT_AFTER.match(text, end))


def _year_context_ok(text: str, start: int, accepted_ends: set[int], end: int | None = None) -> bool:
    lo = max(0, start - 48)
    if end is not None and _names_event(text, start, end):
        return True
    m = _YEAR_CONTEXT.search(text, lo, start)
    if m:
        if m.group("art") and text[start + 2 : start + 4] == "00":
            return False  # "a 2000 patient cohort", "a 1900 bed hospital"
        return not _BY_AMOUNT.search(text, lo, start)
    chain = _YEAR_CHAIN.search(text, lo, start)
    if chain:
        # the year before must itself have been found as a date
        prev = regex.search(rf"(?:{_Y4}|[{_APOS}]\d{{2}})", text[chain.start() : chain.end()])
        return prev is not None and chain.start() + prev.end() in accepted_ends
    return False


# Abbreviated weekdays need one of: a date or time after them ("Sat 3 March", "Wed
# 14:00", "Fri 12/03", "Sun 9am", "Mon 3rd"), a part of the day ("Sat morning"), another
# weekday in a list or range ("Mon/Wed/Fri", "Mon-Fri", "Tues and Thurs"), or a temporal
# word before them ("on Sat", "every Wed", "next Thurs").
_WD_RIGHT = regex.compile(
    r"\.?,?\s*(?:"
    r"(?:[12]?\d|3[01])(?:" + _ORD + r"\b|\s+" + _MON + r"\b|[/.-]\d)"
    r"|(?:[01]?\d|2[0-3])[:.][0-5]\d|(?:1[0-2]|0?\d)\s*(?i:[ap]\.?m\b)|" + _MON + r"\b"
    r"|(?i:morning|afternoon|evening|night|am\b|pm\b)"
    r"|(?:[/&,+–-]|(?i:and|or|to|through|thru|till|until)\b)\s*" + _WD_ANY + r"\b)"
)
_WD_LEFT = regex.compile(
    r"(?:" + _WD_ANY + r"\.?\s*(?:[/&,+–-]|(?i:and|or|to|through|thru|till|until))\s*"
    r"|(?<!\w)(?i:on|every|each|next|last|this|until|till|by|from|since|before|after|until)\s+)$"
)
_WEEKDAY_CANDIDATE = regex.compile(rf"(?<!\w)(?:(?P<full>{_WD_FULL})(?:[{_APOS}]?[sS])?|(?P<short>{_WD_SHORT}))(?!\w)")


def _partial_candidates(text: str) -> list[tuple[int, int, str]]:
    """Weekdays and years in date context, as (start, end, kind)."""
    out: list[tuple[int, int, str]] = []
    if any(c.isdigit() for c in text):
        clock = _CLOCK_STYLE.search(text) is not None
        accepted_ends: set[int] = set()
        found = [(m, False) for m in _YEAR_CANDIDATE.finditer(text)]
        found += [(m, True) for m in _SHORT_YEAR_CANDIDATE.finditer(text)]
        found.sort(key=lambda item: item[0].start())
        for m, short in found:
            start, end = m.span()
            if m.group("dec"):
                if (short or not m.group("y2")) and m.group("y").endswith("0"):
                    out.append((start, end, "decade"))  # "the 1990s", "the '80s"
                continue
            if short:
                if _year_context_ok(text, start, accepted_ends) and not _amount_follows(text, end):
                    accepted_ends.add(end)
                    out.append((start, end, "year_short"))
                continue
            if m.group("y2"):
                first, tail = int(m.group("y")), m.group("y2")
                second = int(tail) if len(tail) == 4 else first // 100 * 100 + int(tail)
                slash = "/" in m.group("sep")
                # A range runs forward ("2015-2018", "2015-18"); "2015-03" is not one. Round
                # ends ("CK 1900-2000", "1950-2000") read as a range of values unless a date
                # context says otherwise, as does "/" ("2015/16").
                round_ends = first % 50 == 0 and second % 50 == 0
                ok = first < second <= first + 100 and (
                    not (slash or round_ends) or _year_context_ok(text, start, accepted_ends)
                )
                if ok and not _amount_follows(text, end):
                    accepted_ends.add(end)
                    out.append((start, end, "year_range"))
                continue
            named = _NAMED_YEAR_CONTEXT.search(text, max(0, start - 48), start) is not None
            if named and not _amount_follows(text, end, units_only=True):
                accepted_ends.add(end)
                out.append((start, end, "year"))
            elif _year_context_ok(text, start, accepted_ends, end) and not _amount_follows(text, end):
                if (
                    clock
                    and _looks_like_clock(m.group("y"))
                    and _CLOCK_PREPOSITION.search(text, max(0, start - 8), start)
                ):
                    continue  # "NBM until 2000" in a note that writes "0800": a 24-hour time
                if text.startswith("(", max(0, start - 1)) and not text.startswith(")", end):
                    if not _YEAR_CONTEXT.search(text, max(0, start - 48), start - 1):
                        continue  # "(2000 mg": a bracket alone needs the closing one
                accepted_ends.add(end)
                out.append((start, end, "year"))
    for m in _WEEKDAY_CANDIDATE.finditer(text):
        start, end = m.span()
        if m.group("short") and not (_WD_RIGHT.match(text, end) or _WD_LEFT.search(text, max(0, start - 40), start)):
            continue
        out.append((start, end, "weekday"))
    return out


_MONTH_LOOKUP = {
    **{full.lower(): i for i, (full, _) in enumerate(_MONTHS, 1)},
    **{short.lower(): i for i, (_, short) in enumerate(_MONTHS, 1)},
    "sept": 9,
}
_NO_YEAR_REFERENCE = 2001  # non-leap reference year for "7 March" style dates; 1 Jan 2001 is a Monday
_LEAP_REFERENCE = 2000


@dataclass(frozen=True)
class DateSpan:
    """A date-like match: ``value`` is None when it does not form a valid calendar date."""

    start: int
    end: int
    kind: str
    value: date | None


def _year(text: str) -> int:
    text = text.lstrip(_APOS)
    if len(text) == 4:
        return int(text)
    yy = int(text)
    # Two-digit years: a date in a letter is at most "now"; anything later is last century.
    return 2000 + yy if yy <= date.today().year % 100 else 1900 + yy


def _safe_date(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


def _numeric_order(a: int, b: int, day_first: bool) -> tuple[int, int]:
    """Return (month, day) for ``a/b``; an impossible reading decides over the default."""
    if a > 12 >= b:
        return b, a
    if b > 12 >= a:
        return a, b
    return (b, a) if day_first else (a, b)


def _value(kind: str, m: regex.Match[str], day_first: bool) -> date | None:
    g = m.groupdict()
    if kind == "weekday":
        return date(_NO_YEAR_REFERENCE, 1, 1 + _WEEKDAY_LOOKUP[g["wd"].lower()])
    if kind == "decade":
        return date(_year(g["y"]) + 5, 7, 1)
    if kind in PARTIAL_DATE_KINDS:
        return date(_year(g["y"]), 7, 1)
    if kind == "numeric":
        month, day = _numeric_order(int(g["a"]), int(g["b"]), day_first)
        return _safe_date(_year(g["y"]), month, day)
    month = int(g["m"]) if g.get("m") else _MONTH_LOOKUP[g["mon"].lower()]
    if kind in ("month_year", "numeric_month_year"):
        return _safe_date(_year(g["y"]), month, 15)
    day = int(g["d"])
    if kind in ("day_month", "month_day"):
        return _safe_date(_NO_YEAR_REFERENCE, month, day) or _safe_date(_LEAP_REFERENCE, month, day)
    return _safe_date(_year(g["y"]), month, day)


def find_dates(text: str, *, day_first: bool = False) -> list[DateSpan]:
    """Return non-overlapping date matches in ``text``, longest match winning."""
    candidates: list[tuple[int, int, int, str, regex.Match[str]]] = []
    for priority, (kind, rx, _score) in enumerate(_COMPILED):
        for m in rx.finditer(text):
            candidates.append((m.start(), m.end(), priority, kind, m))
    for start, end, kind in _partial_candidates(text):
        bare = _BARE_BY_KIND[kind].fullmatch(text, start, end)
        if bare is not None:
            candidates.append((start, end, len(_COMPILED), kind, bare))
    candidates.sort(key=lambda c: (-(c[1] - c[0]), c[2], c[0]))
    taken: list[tuple[int, int]] = []
    out: list[DateSpan] = []
    for start, end, _p, kind, m in candidates:
        if any(start < e and s < end for s, e in taken):
            continue
        taken.append((start, end))
        out.append(DateSpan(*_day_range(text, start, end, kind, m), kind, _value(kind, m, day_first)))
    out.sort(key=lambda s: s.start)
    return out


# A range of days written once with its month: "3-5 March 2024", "3rd to 5th March" (the first
# day before a day-month), "March 3-5, 2024", "March 3rd to 5th" (the last day, and a year after
# it, after a month-day). The other end is the patient's date too, and left behind it would give
# the shift away; the whole range is one span. It has no single date, so it is replaced, not
# shifted (``shift_date_text`` reads only one date).
_RANGE_JOIN = r"\s*(?:-|–|—|\s(?:to|and|until|till|through|thru)\s)\s*"
_RANGE_FIRST_DAY = regex.compile(r"(?<![\w./:-])(?P<d1>[0-3]?\d)(?:" + _ORD + r")?" + _RANGE_JOIN + "$")
_RANGE_LAST_DAY = regex.compile(
    _RANGE_JOIN + r"(?P<d2>[0-3]?\d)(?:" + _ORD + r")?"
    r"(?![\w:/]|\.\d|\s*(?i:mg|ml|units?|mmol|kg|%|days?|weeks?|hours?))"
    r"(?:,?\s+(?:1[89]|20)\d{2}(?!\w))?"
)


def _day_range(text: str, start: int, end: int, kind: str, m: regex.Match[str]) -> tuple[int, int]:
    """Widen a day-month or month-day match over the other end of a range of days."""
    if kind in ("day_month", "day_month_year"):
        first = _RANGE_FIRST_DAY.search(text, max(0, start - 12), start)
        if first and 1 <= int(first.group("d1")) < int(m.group("d")):
            return first.start(), end
    elif kind == "month_day":
        last = _RANGE_LAST_DAY.match(text, end)
        if last and int(m.group("d")) < int(last.group("d2")) <= 31:
            return start, last.end()
    return start, end


def date_score(kind: str) -> float:
    """Confidence of a date found as ``kind`` (the pattern's score)."""
    return _PARTIAL_SCORES.get(kind) or _SCORES[kind]


def parse_date_text(text: str, *, day_first: bool = False) -> date | None:
    """Parse a string that is exactly one date in any supported style, else None."""
    spans = find_dates(text.strip(), day_first=day_first)
    if len(spans) == 1 and spans[0].end - spans[0].start == len(text.strip()):
        return spans[0].value
    return None


def _ordinal(day: int) -> str:
    if 11 <= day % 100 <= 13:
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")


_FULL_MONTHS = frozenset(full.lower() for full, _ in _MONTHS)


def _month_name(template: str, month: int) -> str:
    full, short = _MONTHS[month - 1]
    stem = template.rstrip(".")
    if stem.lower() in _FULL_MONTHS:  # "June", "July" are full names of four letters
        word = full
    elif stem.lower() == "sept" or len(stem) in (3, 4):
        word = short if stem.lower() != "sept" else ("Sept" if month == 9 else short)
    else:
        word = full
    if len(stem) > 1 and stem.isupper():
        word = word.upper()
    return word


def _weekday_name(template: str, index: int) -> str:
    """Weekday ``index`` (Monday = 0) written like ``template`` (full or short, case)."""
    low = template.lower()
    if low in (w.lower() for w in _WEEKDAYS):
        word = _WEEKDAYS[index]
    elif len(low) > 3:
        word = _WEEKDAY_LONG_SHORT[index]  # "Tues" -> "Weds", "Thurs"
    else:
        word = _WEEKDAY_SHORT[index]
    if template.isupper():
        return word.upper()
    return word.lower() if template.islower() else word


def _shift_year_text(year_text: str, delta: int) -> str:
    """Move a written year (``2019``, ``'19``, ``19``) by ``delta`` years, keeping its form."""
    digits = year_text.lstrip(_APOS)
    lead = year_text[: len(year_text) - len(digits)]
    if len(digits) == 4:
        return lead + str(int(digits) + delta)
    return lead + f"{(int(digits) + delta) % 100:02d}"


def _render_partial(kind: str, m: regex.Match[str], value: date, new: date) -> str:
    text = m.group(0)
    if kind == "decade":
        return text  # the middle of a decade moved by under a year stays in that decade
    if kind == "weekday":
        s, e = m.start("wd") - m.start(), m.end("wd") - m.start()
        return text[:s] + _weekday_name(m.group("wd"), new.weekday()) + text[e:]
    delta = new.year - value.year
    pieces = [(m.start("y"), m.end("y"), _shift_year_text(m.group("y"), delta))]
    if kind == "year_range":
        pieces.append((m.start("y2"), m.end("y2"), _shift_year_text(m.group("y2"), delta)))
    out, last = [], m.start()
    for s, e, new_text in pieces:
        out += [m.string[last:s], new_text]
        last = e
    out.append(m.string[last : m.end()])
    return "".join(out)


def _render(kind: str, m: regex.Match[str], new: date, day_first: bool, days: int = 0) -> str:
    text = m.group(0)
    offset = m.start()

    def replace(groups: dict[str, str]) -> str:
        pieces = []
        last = 0
        spans = sorted(
            ((m.start(name) - offset, m.end(name) - offset, new_text)
             for name, new_text in groups.items() if m.start(name) >= 0),
        )  # fmt: skip
        for s, e, new_text in spans:
            pieces.append(text[last:s])
            pieces.append(new_text)
            last = e
        pieces.append(text[last:])
        return "".join(pieces)

    g = m.groupdict()
    # Zero-padding: ISO always pads; otherwise pad when the writer visibly did (a leading
    # zero anywhere, or both day and month written with two digits).
    fields = [g[k] for k in ("a", "b", "m", "d") if g.get(k)]
    pad = (
        kind == "iso"
        or any(f.startswith("0") for f in fields)
        or (len(fields) >= 2 and all(len(f) == 2 for f in fields))
    )

    def _like(template: str, value: int) -> str:
        return f"{value:02d}" if pad else str(value)

    year_text = g.get("y") or ""
    if year_text:
        if year_text.startswith("'"):
            new_year = "'" + f"{new.year % 100:02d}"
        elif len(year_text) == 2:
            new_year = f"{new.year % 100:02d}"
        else:
            new_year = str(new.year)
    groups: dict[str, str] = {}
    if year_text:
        groups["y"] = new_year
    if g.get("wd"):
        # the weekday written before the date moves with it
        groups["wd"] = _weekday_name(g["wd"], (_WEEKDAY_LOOKUP[g["wd"].lower()] + days) % 7)
    if kind == "numeric":
        a, b = g["a"], g["b"]
        month_first = _numeric_order(int(a), int(b), day_first) == (int(a), int(b))
        if month_first:
            groups["a"], groups["b"] = _like(a, new.month), _like(b, new.day)
        else:
            groups["a"], groups["b"] = _like(a, new.day), _like(b, new.month)
        return replace(groups)
    if g.get("m") is not None:
        groups["m"] = _like(g["m"], new.month)
    if g.get("mon") is not None:
        groups["mon"] = _month_name(g["mon"], new.month)
    if g.get("d") is not None:
        groups["d"] = _like(g["d"], new.day)
    if g.get("ord"):
        suffix = _ordinal(new.day)
        groups["ord"] = suffix.upper() if g["ord"].isupper() else suffix
    return replace(groups)


def _shift_match(kind: str, m: regex.Match[str], days: int, day_first: bool) -> str | None:
    value = _value(kind, m, day_first)
    if value is None:
        return None
    if kind in PARTIAL_DATE_KINDS:
        return _render_partial(kind, m, value, value + timedelta(days=days))
    # Without a written year ("7 March") none is added, even if the shift crosses New Year.
    return _render(kind, m, value + timedelta(days=days), day_first, days)


def shift_date_text(text: str, days: int, *, day_first: bool = False) -> str | None:
    """Shift a string that is one date (any supported style); None if it is not a valid date.

    The string is taken to be a date, so partial forms are shifted without their context:
    a weekday by ``days`` mod 7 ("Monday", 3 -> "Thursday"), a year or both ends of a year
    range to the year of its 1 July plus ``days`` ("2019", -200 -> "2018"), a decade kept.
    """
    stripped = text.strip()
    for kind, rx in [(kind, rx) for kind, rx, _score in _COMPILED] + _BARE:
        m = rx.fullmatch(stripped)
        if m:
            shifted = _shift_match(kind, m, days, day_first)
            if shifted is None:
                return None
            lead = text[: len(text) - len(text.lstrip())]
            trail = text[len(text.rstrip()) :]
            return lead + shifted + trail
    return None


def shift_dates_in_text(
    text: str, days: int, *, day_first: bool = False, placeholder: str = "[DATE]"
) -> tuple[str, int]:
    """Shift every date in ``text`` by ``days``; return the new text and how many were found.

    Invalid date-like strings (``31/02/2024``) become ``placeholder``.
    """
    spans = find_dates(text, day_first=day_first)
    pieces: list[str] = []
    last = 0
    for span in spans:
        pieces.append(text[last : span.start])
        shifted = shift_date_text(text[span.start : span.end], days, day_first=day_first)
        pieces.append(shifted if shifted is not None else placeholder)
        last = span.end
    pieces.append(text[last:])
    return "".join(pieces), len(spans)


def shift_date[T: (date, datetime, str)](value: T, days: int) -> T:
    """Shift a structured date, datetime or ISO string, keeping its type and time of day.

    ISO strings keep their precision and time zone suffix: ``"1951-03-07"`` stays a date,
    ``"2024-03-07T10:15:00+00:00"`` keeps its time and offset.
    """
    if isinstance(value, datetime):
        return value + timedelta(days=days)
    if isinstance(value, date):
        return value + timedelta(days=days)
    if not isinstance(value, str):
        raise TypeError("value must be a date, datetime or ISO string")
    s = value.strip()
    if len(s) == 4 and s.isdigit():
        raise ValueError("a bare year cannot be shifted by days; generalise it instead")
    if len(s) == 7 and s[4] == "-":  # FHIR partial date YYYY-MM
        moved = date.fromisoformat(s + "-15") + timedelta(days=days)
        return moved.strftime("%Y-%m")
    if len(s) == 10:
        return (date.fromisoformat(s) + timedelta(days=days)).isoformat()
    parsed = datetime.fromisoformat(s.replace("Z", "+00:00"))
    moved_dt = parsed + timedelta(days=days)
    out = moved_dt.isoformat()
    if s.endswith("Z"):
        out = out.replace("+00:00", "Z")
    return out
