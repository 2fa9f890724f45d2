import pytest

from workbench.deid.vault import VaultError, seal, unseal

SECRET = b"0123456789abcdef-test-secret"
IDENTITY = {"mrn": "4829301", "given_name": "Chidi", "family_name": "Okafor", "zip": "62704"}


def test_when_sealed_then_unseal_round_trips():
    blob = seal(SECRET, IDENTITY, pseudonym="PT-ABCDEFGHJK")
    assert unseal(SECRET, blob, pseudonym="PT-ABCDEFGHJK") == IDENTITY


def test_when_sealed_then_blob_hides_identity_and_is_randomised():
    a = seal(SECRET, IDENTITY, pseudonym="PT-1")
    b = seal(SECRET, IDENTITY, pseudonym="PT-1")
    assert a != b
    assert b"Okafor" not in a and b"4829301" not in a


def test_when_blob_tampered_then_unseal_fails():
    blob = bytearray(seal(SECRET, IDENTITY, pseudonym="PT-1"))
    blob[20] ^= 0x01
    with pytest.raises(VaultError):
        unseal(SECRET, bytes(blob), pseudonym="PT-1")


def test_when_wrong_key_then_unseal_fails():
    blob = seal(SECRET, IDENTITY, pseudonym="PT-1")
    with pytest.raises(VaultError):
        unseal(b"another-secret-of-enough-length", blob, pseudonym="PT-1")


def test_when_blob_moved_to_another_row_then_unseal_fails():
    blob = seal(SECRET, IDENTITY, pseudonym="PT-1")
    with pytest.raises(VaultError):
        unseal(SECRET, blob, pseudonym="PT-2")


def test_when_unseal_fails_then_message_holds_no_identity():
    blob = seal(SECRET, IDENTITY, pseudonym="PT-1")
    with pytest.raises(VaultError) as err:
        unseal(SECRET, blob[:-1] + bytes([blob[-1] ^ 1]), pseudonym="PT-1")
    message = str(err.value)
    assert all(v not in message for v in IDENTITY.values())


def test_when_blob_truncated_then_clear_error():
    with pytest.raises(VaultError, match="format"):
        unseal(SECRET, b"\x01abc", pseudonym="PT-1")
