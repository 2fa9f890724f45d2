"""De-identification: pseudonyms, date shifting, generalisation, free-text scrubbing, vault.

Hospital extracts pass through here before anything is stored. Import this package
freely: the spaCy model loads only when a :class:`TextDeidentifier` is first built.
"""

from workbench.deid.dates import shift_date, shift_date_text, shift_dates_in_text
from workbench.deid.engine import (
    CANONICAL_TYPES,
    DeidConfig,
    DeidInputError,
    DeidResult,
    Finding,
    KnownIdentifiers,
    TextDeidentifier,
    deidentify_jsonl,
    get_deidentifier,
)
from workbench.deid.generalise import (
    age_band,
    birth_year_only,
    generalise_uk_postcode,
    generalise_zip,
    safe_age,
)
from workbench.deid.pseudonym import date_shift_days, pseudonymise
from workbench.deid.vault import VaultError, seal, unseal

__all__ = [
    "CANONICAL_TYPES",
    "DeidConfig",
    "DeidInputError",
    "DeidResult",
    "Finding",
    "KnownIdentifiers",
    "TextDeidentifier",
    "VaultError",
    "age_band",
    "birth_year_only",
    "date_shift_days",
    "deidentify_jsonl",
    "generalise_uk_postcode",
    "generalise_zip",
    "get_deidentifier",
    "pseudonymise",
    "safe_age",
    "seal",
    "shift_date",
    "shift_date_text",
    "shift_dates_in_text",
    "unseal",
]
