"""Identifier-number recognizers: MRN, health plan, account, NHS, SSN, licence, vehicle, device."""

import pytest

from workbench.deid import get_deidentifier
from workbench.deid.recognizers import nhs_checksum_ok, vin_checksum_ok


@pytest.fixture(scope="module")
def deid():
    return get_deidentifier()


def found(deid, text, known=None):
    return {(f.type, text[f.start : f.end]) for f in deid.analyze(text, known=known)}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("MRN: 4829301", ("MRN", "4829301")),
        ("MRN 00482930", ("MRN", "00482930")),
        ("Hosp No. 8882706 seen today", ("MRN", "8882706")),
        ("hospital number RXH1234567.", ("MRN", "RXH1234567")),
        ("Medical record number: 55-10-2231", ("MRN", "55-10-2231")),
        ("Patient ID 77312045", ("MRN", "77312045")),
        ("member ID KPX105843462", ("HEALTH_PLAN", "KPX105843462")),
        ("Policy number: POL-99812-33", ("HEALTH_PLAN", "POL-99812-33")),
        ("Medicare 1EG4-TE5-MK73", ("HEALTH_PLAN", "1EG4-TE5-MK73")),
        ("Acct No. 27018795", ("ACCOUNT", "27018795")),
        ("account number 4410-2290-18", ("ACCOUNT", "4410-2290-18")),
        ("NHS No: 943 476 5919", ("NHS_NUMBER", "943 476 5919")),
        ("NHS number 9434765919.", ("NHS_NUMBER", "9434765919")),
        ("SSN 512-38-6030", ("SSN", "512-38-6030")),
        ("SSN: 512 38 6030", ("SSN", "512 38 6030")),
        ("social security number 512386030", ("SSN", "512386030")),
        ("driver's license (TX P21914420)", ("LICENSE", "TX P21914420")),
        ("DEA number AB1234563", ("LICENSE", "AB1234563")),
        ("licence plate 7ABC123", ("VEHICLE", "7ABC123")),
        ("parking permit for vehicle 1YTN750.", ("VEHICLE", "1YTN750")),
        ("VIN 1HGCM82633A004352 recorded", ("VEHICLE", "1HGCM82633A004352")),
        ("pacemaker (serial XW507RPZC9).", ("DEVICE", "XW507RPZC9")),
        ("insulin pump (SN 4GR1255KYAE)", ("DEVICE", "4GR1255KYAE")),
        ("Dexcom G6 CGM (serial SN RZZTY6C1ENY).", ("DEVICE", "RZZTY6C1ENY")),
        ("S/N: PMP-4471923", ("DEVICE", "PMP-4471923")),
    ],
)
def test_when_labelled_identifier_then_found_exactly(deid, text, expected):
    assert expected in found(deid, text)


@pytest.mark.parametrize(
    ("text", "absent_type"),
    [
        ("HbA1c 4829301 is not a label", "MRN"),
        ("Took 4829301 steps", "MRN"),
        ("Member of the diabetes team", "HEALTH_PLAN"),
        ("on account of her frailty", "ACCOUNT"),
        ("NHS No: 943 476 5918", "NHS_NUMBER"),  # bad checksum
        ("call 943 476 5919", "NHS_NUMBER"),  # no NHS label
        ("SSN 000-12-3456", "SSN"),  # never issued
        ("SSN 666-12-3456", "SSN"),
        ("licence to drive was discussed", "LICENSE"),
        ("VIN 1HGCM82633A004353 recorded", "VEHICLE"),  # bad check digit
        ("vehicle accident in 2019", "VEHICLE"),
        ("serial measurements of HbA1c", "DEVICE"),
        ("insulin pump started at 10 units", "DEVICE"),
    ],
)
def test_when_near_miss_then_type_not_reported(deid, text, absent_type):
    assert absent_type not in {t for t, _ in found(deid, text)}


def test_when_checksums_computed_then_known_values_validate():
    assert nhs_checksum_ok("943 476 5919")
    assert not nhs_checksum_ok("943 476 5918")
    assert not nhs_checksum_ok("111 111 1111")
    assert vin_checksum_ok("1HGCM82633A004352")
    assert not vin_checksum_ok("1HGCM82633A004353")


def test_when_known_mrn_written_with_spaces_then_found(deid):
    from workbench.deid import KnownIdentifiers

    known = KnownIdentifiers(mrns=("4829301",))
    text = "Ref 482 9301 attached"
    assert ("MRN", "482 9301") in found(deid, text, known)
