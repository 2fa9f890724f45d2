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

Years on their own ("in 2019") are left alone: Safe Harbor permits the year, and
shifting a bare year by a fraction of a year cannot be done faithfully. Month names on
their own ("in March") are also left alone (see ``docs/deidentification.md``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import regex

__all__ = [
    "DATE_PATTERNS",
    "DateSpan",
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

#: (name, regex, score). Named groups: y, m (number), mon (name), d, ord, yy (2-digit year).
#: The regexes are case-sensitive (month names are title/upper case by construction).
DATE_PATTERNS: list[tuple[str, str, float]] = [
    (
        "iso",
        r"(?<![\w-])(?P<y>(?:1[89]|20)\d{2})-(?P<m>[01]?\d)-(?P<d>[0-3]?\d)"
        r"(?:[T ](?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
        r"(?![\w-])",
        0.9,
    ),
    (
        "numeric",
        r"(?<![\w/.-])(?P<a>\d{1,2})(?P<sep>[/.-])(?P<b>\d{1,2})(?P=sep)"
        r"(?P<y>(?:1[89]|20)\d{2}|\d{2})(?![\w/-]|\.\d)",
        0.7,
    ),
    (
        "day_month_year",
        r"(?<!\w)(?P<d>[0-3]?\d)(?P<ord>" + _ORD + r")?(?:\s+of)?[\s-]+(?P<mon>" + _MON + r")"
        r"\.?,?[\s-]+(?P<y>(?:1[89]|20)\d{2}|'?\d{2})(?!\w)",
        0.9,
    ),
    (
        "month_day_year",
        r"(?<!\w)(?P<mon>" + _MON + r")\.?\s+(?:the\s+)?(?P<d>[0-3]?\d)(?P<ord>" + _ORD + r")?"
        r",?\s+(?P<y>(?:1[89]|20)\d{2})(?!\w)",
        0.9,
    ),
    (
        "month_year",
        r"(?<!\w)(?P<mon>" + _MON + r")\.?,?\s+(?P<y>(?:1[89]|20)\d{2})(?!\w)",
        0.8,
    ),
    (
        "numeric_month_year",
        r"(?<![\w/.-])(?P<m>0?[1-9]|1[0-2])/(?P<y>(?:19|20)\d{2})(?![\w/])",
        0.6,
    ),
    (
        "day_month",
        r"(?<!\w)(?P<d>[0-3]?\d)(?P<ord>" + _ORD + r")?(?:\s+of)?\s+(?P<mon>" + _MON + r")"
        r"(?![\w.]|\.\w)",
        0.7,
    ),
    (
        "month_day",
        r"(?<!\w)(?P<mon>" + _MON + r")\.?\s+(?:the\s+)?(?P<d>[0-3]?\d)(?P<ord>" + _ORD + r")?"
        r"(?![\w:.,/]\d|\w|\s*(?i:mg|ml|units?|mmol|kg|%))",
        0.6,
    ),
]

_COMPILED = [(name, regex.compile(rx), score) for name, rx, score in DATE_PATTERNS]
_MONTH_LOOKUP = {
    **{full.lower(): i for i, (full, _) in enumerate(_MONTHS, 1)},
    **{short.lower(): i for i, (_, short) in enumerate(_MONTHS, 1)},
    "sept": 9,
}
_NO_YEAR_REFERENCE = 2001  # non-leap reference year for "7 March" style dates
_LEAP_REFERENCE = 2000


@dataclass(frozen=True)
class DateSpan:
    """A date-like match: ``value`` is None when it does not form a valid calendar date."""

    start: int
    end: int
    kind: str
    value: date | None


def _year(text: str) -> int:
    text = text.lstrip("'")
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
    candidates.sort(key=lambda c: (-(c[1] - c[0]), c[2], c[0]))
    taken: list[tuple[int, int]] = []
    out: list[DateSpan] = []
    for start, end, _p, kind, m in candidates:
        if any(start < e and s < end for s, e in taken):
            continue
        taken.append((start, end))
        out.append(DateSpan(start, end, kind, _value(kind, m, day_first)))
    out.sort(key=lambda s: s.start)
    return out


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


def _month_name(template: str, month: int) -> str:
    full, short = _MONTHS[month - 1]
    stem = template.rstrip(".")
    if stem.lower() == "sept" or len(stem) == 3 or (len(stem) == 4 and stem.lower() != "june"):
        word = short if stem.lower() != "sept" else ("Sept" if month == 9 else short)
    else:
        word = full
    if len(stem) > 1 and stem.isupper():
        word = word.upper()
    return word


def _render(kind: str, m: regex.Match[str], new: date, day_first: bool) -> str:
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
    # Without a written year ("7 March") none is added, even if the shift crosses New Year.
    return _render(kind, m, value + timedelta(days=days), day_first)


def shift_date_text(text: str, days: int, *, day_first: bool = False) -> str | None:
    """Shift a string that is one date (any supported style); None if it is not a valid date."""
    stripped = text.strip()
    for kind, rx, _score in _COMPILED:
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
