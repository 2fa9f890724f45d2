"""Generalisation of quasi-identifiers (ZIP, postcode, age, birth date).

Rules follow the HIPAA Safe Harbor method (45 CFR 164.514(b)(2)): 3-digit ZIP unless
that area holds 20,000 people or fewer, ages over 89 aggregated to "90 or older", and of
a birth date only the year (itself aggregated for people aged 90+). The UK has no Safe
Harbor; we keep the postcode district (outward code), the granularity NHS Digital
publishes in its open data, and drop anything that does not parse as a postcode.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime

__all__ = [
    "RESTRICTED_ZIP3",
    "age_band",
    "age_in_years",
    "birth_year_only",
    "generalise_uk_postcode",
    "generalise_zip",
    "safe_age",
]

#: 3-digit ZIP areas with 20,000 or fewer people (2000 Census, as listed in the HHS
#: de-identification guidance); Safe Harbor requires these be reported as "000".
RESTRICTED_ZIP3 = frozenset(
    {
        "036", "059", "063", "102", "203", "556", "692", "790", "821",
        "823", "830", "831", "878", "879", "884", "890", "893",
    }
)  # fmt: skip

_US_ZIP = re.compile(r"^\s*(\d{5})(?:[-\s]?\d{4})?\s*$")
_UK_POSTCODE = re.compile(
    r"^\s*([A-Z]{1,2}\d[A-Z\d]?)\s*(\d[A-Z]{2})?\s*$",
    re.IGNORECASE,
)
_OLD_AGE = 90


def generalise_zip(zip_code: str | None) -> str | None:
    """Return the Safe Harbor 3-digit ZIP (``"000"`` for small areas) or None if unparseable.

    ``"000"`` rather than None for restricted areas keeps "we know it is a US address in a
    small area" distinct from "no ZIP recorded", which the HHS guidance also does.
    """
    if zip_code is None:
        return None
    m = _US_ZIP.match(str(zip_code))
    if not m:
        return None
    zip3 = m.group(1)[:3]
    return "000" if zip3 in RESTRICTED_ZIP3 else zip3


def generalise_uk_postcode(postcode: str | None) -> str | None:
    """Return the outward code (postcode district, e.g. ``"SW1A"``) or None.

    A full postcode covers ~15 households, far too few; the district averages some
    thousands of addresses. Input that is not a UK postcode is dropped (None) rather than
    guessed at.
    """
    if postcode is None:
        return None
    m = _UK_POSTCODE.match(str(postcode))
    if not m:
        return None
    return m.group(1).upper()


def safe_age(age_years: float | None) -> float | None:
    """Return the age usable as a number: 90 for anyone aged 90 or more (Safe Harbor).

    Models need a number; capping at 90 keeps the column numeric while hiding the exact
    age of the very old, who are few enough to be identifiable.
    """
    if age_years is None or (isinstance(age_years, float) and math.isnan(age_years)):
        return None
    if age_years < 0:
        raise ValueError("age must not be negative")
    return float(_OLD_AGE) if math.floor(age_years) >= _OLD_AGE else float(age_years)


def age_band(age_years: float, *, width: int = 10) -> str:
    """Return a display band such as ``"40-49"`` (width 10) or ``"40-44"`` (width 5); ``"90+"``."""
    if age_years < 0:
        raise ValueError("age must not be negative")
    if width not in (1, 5, 10):
        raise ValueError("width must be 1, 5 or 10")
    whole = math.floor(age_years)
    if whole >= _OLD_AGE:
        return "90+"
    low = whole - whole % width
    return str(low) if width == 1 else f"{low}-{low + width - 1}"


def _as_date(value: date | datetime | str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value).strip()[:10])


def age_in_years(birth: date | datetime | str, on: date | datetime | str) -> int:
    """Return completed years between ``birth`` and ``on`` (birthday not yet reached -> -1)."""
    b, d = _as_date(birth), _as_date(on)
    return d.year - b.year - ((d.month, d.day) < (b.month, b.day))


def birth_year_only(birth: date | datetime | str | None, *, as_of: date | datetime | str | None = None) -> int | None:
    """Return the birth year, or None when the person is 90 or older on ``as_of``.

    Safe Harbor allows the year of birth except for people over 89, whose birth years must
    fold into one "90 or older" category; callers store None and show ``age_band`` "90+".
    ``as_of`` defaults to today.
    """
    if birth is None or (isinstance(birth, str) and not birth.strip()):
        return None
    b = _as_date(birth)
    ref = _as_date(as_of) if as_of is not None else date.today()
    if age_in_years(b, ref) >= _OLD_AGE:
        return None
    return b.year
