import pytest

from workbench.deid.pseudonym import (
    CROCKFORD_ALPHABET,
    date_shift_days,
    is_pseudonym,
    pseudonymise,
)

SECRET = b"0123456789abcdef-test-secret"
OTHER = b"fedcba9876543210-other-secret"


def test_when_same_inputs_then_pseudonym_is_stable_and_readable():
    a = pseudonymise(SECRET, "patient", "P000123")
    assert a == pseudonymise(SECRET, "patient", "P000123")
    assert a.startswith("PT-")
    body = a[3:]
    assert len(body) == 10 and all(c in CROCKFORD_ALPHABET for c in body)
    assert is_pseudonym(a, "patient")


def test_when_secret_differs_then_pseudonym_differs():
    assert pseudonymise(SECRET, "patient", "P1") != pseudonymise(OTHER, "patient", "P1")


def test_when_kind_differs_then_same_source_id_does_not_collide():
    p = pseudonymise(SECRET, "patient", "42")
    e = pseudonymise(SECRET, "encounter", "42")
    assert p[3:] != e.split("-", 1)[1]
    assert pseudonymise(SECRET, "practitioner", "42").startswith("CL-")
    assert pseudonymise(SECRET, "organization", "42").startswith("ORG-")


def test_when_many_patients_then_no_collisions_and_source_not_embedded():
    ids = [f"MRN{i:07d}" for i in range(5000)]
    pseudonyms = {i: pseudonymise(SECRET, "patient", i) for i in ids}
    assert len(set(pseudonyms.values())) == len(ids)
    assert not any(i[3:] in p for i, p in pseudonyms.items())


def test_when_source_id_padded_then_same_pseudonym():
    assert pseudonymise(SECRET, "patient", " P1 ") == pseudonymise(SECRET, "patient", "P1")


@pytest.mark.parametrize("secret", [b"", b"short", "not-bytes-0123456789"])
def test_when_secret_is_weak_then_refused(secret):
    with pytest.raises(ValueError, match="secret"):
        pseudonymise(secret, "patient", "P1")


def test_when_shift_derived_then_in_range_never_near_zero_and_deterministic():
    shifts = []
    for i in range(2000):
        pid = pseudonymise(SECRET, "patient", str(i))
        s = date_shift_days(SECRET, pid)
        assert s == date_shift_days(SECRET, pid)
        assert 30 <= abs(s) <= 365
        shifts.append(s)
    assert any(s < 0 for s in shifts) and any(s > 0 for s in shifts)
    # spread over the whole range, not a handful of values
    assert len(set(shifts)) > 300


def test_when_secret_differs_then_shift_differs_for_most_patients():
    pids = [pseudonymise(SECRET, "patient", str(i)) for i in range(200)]
    same = sum(date_shift_days(SECRET, p) == date_shift_days(OTHER, p) for p in pids)
    assert same < 10


def test_when_value_is_not_a_pseudonym_then_is_pseudonym_is_false():
    assert not is_pseudonym("PT-123")
    assert not is_pseudonym("PT-IIIIIIIIII")  # I is not in Crockford base32
    assert not is_pseudonym(pseudonymise(SECRET, "patient", "1"), "encounter")
