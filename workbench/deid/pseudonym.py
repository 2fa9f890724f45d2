"""Keyed pseudonyms and per-patient date offsets.

Pseudonyms are HMAC-SHA256 of the source identifier under a secret key, so the same
patient maps to the same pseudonym in every import, yet nobody without the key can
re-derive or brute-force them (a plain hash of an MRN is trivially reversible by
enumerating MRNs). Each kind of identifier is domain-separated so a patient id and an
encounter id that happen to share a string never collide.
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = [
    "CROCKFORD_ALPHABET",
    "PREFIXES",
    "date_shift_days",
    "is_pseudonym",
    "pseudonymise",
]

#: Crockford base32: no I, L, O, U, so a pseudonym read aloud in a meeting is unambiguous.
CROCKFORD_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

#: Readable prefixes; clinicians see ``PT-...`` and know it is a patient, not a person.
PREFIXES: dict[str, str] = {
    "patient": "PT",
    "practitioner": "CL",
    "organization": "ORG",
    "encounter": "EN",
    "location": "LOC",
    "note": "NT",
    "observation": "OB",
    "condition": "CN",
    "medication": "MD",
    "procedure": "PR",
}

_MIN_SECRET_BYTES = 16
_BODY_CHARS = 10  # 50 bits: collision-free in practice for any one hospital's patients
_SHIFT_MIN, _SHIFT_MAX = 30, 365


def _check_secret(secret: bytes) -> None:
    if not isinstance(secret, bytes | bytearray) or len(secret) < _MIN_SECRET_BYTES:
        raise ValueError(f"secret must be at least {_MIN_SECRET_BYTES} bytes")


def _crockford(data: bytes, n_chars: int) -> str:
    value = int.from_bytes(data, "big")
    total_bits = len(data) * 8
    out = []
    for i in range(n_chars):
        shift = total_bits - 5 * (i + 1)
        out.append(CROCKFORD_ALPHABET[(value >> shift) & 31])
    return "".join(out)


def _mac(secret: bytes, domain: str, *parts: str) -> bytes:
    message = "\x00".join(("workbench/v1", domain, *parts)).encode("utf-8")
    return hmac.new(bytes(secret), message, hashlib.sha256).digest()


def pseudonymise(secret: bytes, kind: str, source_id: str) -> str:
    """Return the stable, keyed pseudonym of ``source_id`` of the given ``kind``.

    Parameters
    ----------
    secret
        The installation secret (>= 16 bytes); a different secret gives unrelated pseudonyms.
    kind
        ``"patient"``, ``"practitioner"``, ``"organization"``, ``"encounter"``, ... Known kinds
        get a readable prefix (``PT-``, ``CL-``, ``ORG-``); other kinds use their first three
        letters upper-cased.
    source_id
        The identifier in the source system. Leading/trailing whitespace is ignored so a
        padded CSV cell maps like the FHIR id.
    """
    _check_secret(secret)
    if not kind or not kind.replace("_", "").isalpha():
        raise ValueError("kind must be a non-empty word such as 'patient'")
    kind = kind.lower()
    prefix = PREFIXES.get(kind, kind[:3].upper())
    digest = _mac(secret, "pseudonym", kind, str(source_id).strip())
    return f"{prefix}-{_crockford(digest[:8], _BODY_CHARS)}"


def is_pseudonym(value: str, kind: str | None = None) -> bool:
    """Tell whether ``value`` looks like one of our pseudonyms (for store-side assertions)."""
    prefix, sep, body = value.partition("-")
    if not sep or len(body) != _BODY_CHARS or any(c not in CROCKFORD_ALPHABET for c in body):
        return False
    if kind is None:
        return prefix.isalpha() and prefix.isupper()
    return prefix == PREFIXES.get(kind.lower(), kind[:3].upper())


def date_shift_days(secret: bytes, patient_pseudonym: str) -> int:
    """Return the patient's date offset in days, in [-365, -30] or [30, 365].

    Derived by HMAC from the pseudonym (not from a random draw) so a re-import shifts the
    same patient identically. Never within a month of zero, so a shifted date cannot
    coincide with the real one.
    """
    _check_secret(secret)
    digest = _mac(secret, "date-shift", patient_pseudonym)
    value = int.from_bytes(digest[:8], "big")
    magnitude = _SHIFT_MIN + (value >> 1) % (_SHIFT_MAX - _SHIFT_MIN + 1)
    return magnitude if value & 1 else -magnitude
