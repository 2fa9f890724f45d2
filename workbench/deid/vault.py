"""Authenticated encryption of the pseudonym -> identity mapping.

Only a privacy officer may re-identify; what the store keeps is an AES-GCM blob per
pseudonym. The key is derived from the installation secret with HKDF (so the vault key is
never the raw secret used for pseudonyms), and the pseudonym is the associated data: a
blob copied onto another row fails authentication instead of silently re-identifying
the wrong patient.
"""

from __future__ import annotations

import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["VaultError", "seal", "unseal"]

_VERSION = b"\x01"
_NONCE_BYTES = 12  # 96-bit random nonce, the size GCM is designed for
_SALT = b"workbench-vault-v1"


class VaultError(ValueError):
    """A blob could not be opened (wrong key, tampered, wrong row or unknown format)."""


def _key(secret: bytes) -> bytes:
    if not isinstance(secret, bytes | bytearray) or len(secret) < 16:
        raise ValueError("secret must be at least 16 bytes")
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=b"vault-key")
    return hkdf.derive(bytes(secret))


def seal(secret: bytes, identity: dict[str, Any], *, pseudonym: str) -> bytes:
    """Encrypt ``identity`` (JSON-serialisable) bound to ``pseudonym``.

    Returns ``version || nonce || ciphertext+tag``; a fresh random nonce per call means
    sealing the same identity twice gives different blobs (no equality leak).
    """
    if not pseudonym:
        raise ValueError("pseudonym is required as associated data")
    plaintext = json.dumps(identity, sort_keys=True, separators=(",", ":"), default=str)
    nonce = os.urandom(_NONCE_BYTES)
    ciphertext = AESGCM(_key(secret)).encrypt(nonce, plaintext.encode("utf-8"), pseudonym.encode("utf-8"))
    return _VERSION + nonce + ciphertext


def unseal(secret: bytes, blob: bytes, *, pseudonym: str) -> dict[str, Any]:
    """Decrypt a blob made by :func:`seal` for the same ``pseudonym``.

    Raises
    ------
    VaultError
        If the key is wrong, the blob was altered, or it belongs to another pseudonym. The
        message never contains any part of the blob or identity.
    """
    if len(blob) < 1 + _NONCE_BYTES + 16 or blob[:1] != _VERSION:
        raise VaultError("vault blob has an unknown format or is truncated")
    nonce, ciphertext = blob[1 : 1 + _NONCE_BYTES], blob[1 + _NONCE_BYTES :]
    try:
        plaintext = AESGCM(_key(secret)).decrypt(nonce, ciphertext, pseudonym.encode("utf-8"))
    except InvalidTag:
        raise VaultError("vault blob failed authentication (wrong key, tampered, or another row's blob)") from None
    return json.loads(plaintext)
