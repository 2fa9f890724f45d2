"""Synthetic demo cohort with known truth, and the hospital extract it would arrive as.

Scenario: adults with type 2 diabetes on metformin who need a second-line drug. Four alternatives
compete; treatment choice is confounded the way it is in clinics; the expected HbA1c change of every
patient under every alternative (``true_mu``) and the adverse-event risk are kept, so every model,
plot and de-identification benchmark downstream can be checked against a known answer.

The effect patterns follow published evidence, simplified:

- every class lowers HbA1c more when baseline HbA1c is higher (regression to a floor; DeFronzo 2015);
- the glycaemic effect of SGLT2 inhibitors depends on filtered glucose and fades below eGFR ~45
  (Cherney 2018, DELIGHT/CREDENCE glucose subanalyses);
- GLP-1 receptor agonists lower HbA1c and weight more in people with higher BMI (SUSTAIN pooled);
- basal insulin has no ceiling, so it wins at very high HbA1c, at the price of hypoglycaemia that rises
  with age and low eGFR (ACCORD, UKPDS);
- DPP-4 inhibitors are modest but well tolerated (TECOS).

Identifiers in the extract (names, MRNs, letters) are drawn from a random stream derived from the
cohort seed but separate from the one that draws covariates, so writing an extract never changes
the cohort and the same seed always gives byte-identical files.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import string
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from workbench.scenario import ALTERNATIVE_LABELS, COVARIATES, REFERENCE  # noqa: F401 - re-exported: the demo's scenario

ALTERNATIVES: dict[str, str] = ALTERNATIVE_LABELS
SEXES = ("female", "male")
ETHNICITY_GROUPS = ("white", "black", "asian", "hispanic", "other")
IDENTIFIER_TYPES: tuple[str, ...] = (
    "NAME",
    "ADDRESS",
    "LOCATION",
    "ZIP",
    "DATE",
    "AGE",
    "PHONE",
    "FAX",
    "EMAIL",
    "SSN",
    "MRN",
    "HEALTH_PLAN",
    "ACCOUNT",
    "LICENSE",
    "VEHICLE",
    "DEVICE",
    "URL",
    "IP_ADDRESS",
    "HOSPITAL",
)
ADVERSE_EVENT_TYPES: dict[str, str] = {
    "sglt2i": "genital_infection",
    "glp1ra": "gi_intolerance",
    "dpp4i": "other",
    "basal_insulin": "hypoglycaemia",
}

# Local code systems and identifier systems used in the FHIR bundles (documented in data_contracts/fhir.md).
FHIR_BASE = "https://casereview.example.org/fhir"
SYSTEM_OUTCOMES = f"{FHIR_BASE}/CodeSystem/outcomes"
SYSTEM_OBSERVATIONS = f"{FHIR_BASE}/CodeSystem/observations"
SYSTEM_ALTERNATIVES = f"{FHIR_BASE}/CodeSystem/alternatives"
SYSTEM_NOTE_TYPES = f"{FHIR_BASE}/CodeSystem/note-types"
SID_PATIENT = f"{FHIR_BASE}/sid/patient-id"
SID_MRN = f"{FHIR_BASE}/sid/mrn"
SID_HEALTH_PLAN = f"{FHIR_BASE}/sid/health-plan-member"
SID_ENCOUNTER = f"{FHIR_BASE}/sid/encounter-id"
SID_CONDITION = f"{FHIR_BASE}/sid/condition-id"
SID_OBSERVATION = f"{FHIR_BASE}/sid/observation-id"
SID_TREATMENT = f"{FHIR_BASE}/sid/treatment-id"
SID_NOTE = f"{FHIR_BASE}/sid/note-id"
SID_SSN = "http://hl7.org/fhir/sid/us-ssn"
EXT_ETHNICITY = f"{FHIR_BASE}/StructureDefinition/ethnicity-group"
EXT_CONSENT = f"{FHIR_BASE}/StructureDefinition/consent"
EXT_TREATMENT_LINE = f"{FHIR_BASE}/StructureDefinition/treatment-line"
SYSTEM_LOINC = "http://loinc.org"
SYSTEM_SNOMED = "http://snomed.info/sct"
SYSTEM_RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SYSTEM_UCUM = "http://unitsofmeasure.org"

LOINC_BMI = ("39156-5", "Body mass index (BMI) [Ratio]", "kg/m2")
LOINC_EGFR = (
    "33914-3",
    "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum or Plasma by "
    "Creatinine-based formula (MDRD)",
    "mL/min/{1.73_m2}",
)
LOINC_HBA1C = ("59261-8", "Hemoglobin A1c/Hemoglobin.total in Blood by IFCC protocol", "mmol/mol")
SNOMED_T2D = ("44054006", "Diabetes mellitus type 2")
SNOMED_CVD = (
    ("53741008", "Coronary arteriosclerosis"),
    ("22298006", "Myocardial infarction"),
    ("230690007", "Cerebrovascular accident"),
    ("399211009", "History of myocardial infarction"),
)
SNOMED_HF = ("84114007", "Heart failure")

# (ingredient, RxNorm ingredient RxCUI, dose phrase) per alternative.
DRUGS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "sglt2i": (
        ("empagliflozin", "1545653", "10 mg once daily"),
        ("dapagliflozin", "1488564", "10 mg once daily"),
        ("canagliflozin", "1373458", "100 mg once daily"),
    ),
    "glp1ra": (
        ("semaglutide", "1991302", "0.25 mg once weekly, titrating to 1 mg"),
        ("liraglutide", "475968", "0.6 mg daily, increasing to 1.2 mg after a week"),
        ("dulaglutide", "1551291", "1.5 mg once weekly"),
    ),
    "dpp4i": (
        ("sitagliptin", "593411", "100 mg once daily"),
        ("linagliptin", "1100699", "5 mg once daily"),
        ("saxagliptin", "857974", "5 mg once daily"),
    ),
    "basal_insulin": (
        ("insulin glargine", "274783", "10 units at bedtime, titrating by 2 units every 3 days"),
        ("insulin detemir", "139825", "10 units once daily"),
        ("insulin degludec", "1670007", "10 units once daily"),
    ),
}
CSV_TABLES = (
    "patients",
    "encounters",
    "conditions",
    "observations",
    "medications",
    "outcomes",
    "notes",
)

_FOLLOW_UP_DAYS = 182
_INDEX_START = dt.date(2019, 1, 1)
_INDEX_SPAN_DAYS = 5 * 365


@dataclass(frozen=True)
class DemoCohort:
    """A synthetic cohort and the truth behind it.

    ``patients`` holds what a study would observe; the ``true_*`` frames hold what no real study can
    see (the expected outcome, adverse-event risk and treatment probability under every alternative),
    so model output can be scored against it.
    """

    patients: pd.DataFrame
    true_mu: pd.DataFrame
    true_ae_risk: pd.DataFrame
    true_propensity: pd.DataFrame
    seed: int

    def true_effects(self, reference: str = REFERENCE) -> pd.DataFrame:
        """Return the true conditional effect of every alternative against ``reference``.

        Negative values favour the alternative (HbA1c falls more than with the reference).
        """
        if reference not in self.true_mu.columns:
            raise ValueError(f"unknown reference alternative {reference!r}")
        return self.true_mu.sub(self.true_mu[reference], axis=0)


@dataclass(frozen=True)
class ExtractFiles:
    """Paths written by :func:`write_extract` (``truth`` files are not part of the extract)."""

    root: Path
    csv_dir: Path | None
    fhir_dir: Path | None
    csv_tables: dict[str, Path] = field(default_factory=dict)
    fhir_bundles: tuple[Path, ...] = ()
    truth_csv: Path | None = None
    note_spans: Path | None = None


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _true_mu(x: pd.DataFrame) -> pd.DataFrame:
    """Expected 6-month HbA1c change (mmol/mol) under each alternative, from covariates alone."""
    hba1c = x["hba1c_baseline"].to_numpy(float)
    egfr = x["egfr"].to_numpy(float)
    bmi = x["bmi"].to_numpy(float)
    age = x["age"].to_numpy(float)
    # Shared part: metformin-treated people fall further from a higher start (about 0.3 of the excess
    # over 58 mmol/mol), a little less in older people with long-standing beta-cell loss.
    common = -2.0 - 0.30 * (hba1c - 58.0) + 0.04 * (age - 60.0)
    # SGLT2i lowering scales with filtered glucose, so it fades with eGFR: half at 50, little below 45.
    sglt2_renal = _sigmoid((egfr - 50.0) / 6.0)
    mu = {
        "sglt2i": common - 7.5 * sglt2_renal,
        "glp1ra": common - np.clip(7.0 + 0.45 * (bmi - 30.0), 2.0, 16.0),
        "dpp4i": common - 3.5,
        "basal_insulin": common - np.clip(4.0 + 0.28 * (hba1c - 70.0), 1.0, 20.0),
    }
    return pd.DataFrame(mu, index=x.index)[list(ALTERNATIVES)]


def _true_ae_risk(x: pd.DataFrame) -> pd.DataFrame:
    """Adverse-event probability under each alternative (one characteristic event per class)."""
    age = x["age"].to_numpy(float)
    egfr = x["egfr"].to_numpy(float)
    bmi = x["bmi"].to_numpy(float)
    female = (x["sex"] == "female").to_numpy(float)
    risk = {
        # Genital mycotic infection: commoner in women and with obesity.
        "sglt2i": _sigmoid(-2.7 + 0.6 * female + 0.03 * (bmi - 30.0)),
        # Nausea/vomiting leading to stopping: fairly flat, slightly less in older people.
        "glp1ra": _sigmoid(-2.1 - 0.01 * (age - 60.0)),
        # Low baseline rate of anything attributable.
        "dpp4i": _sigmoid(-3.6 + 0.01 * (age - 60.0)),
        # Hypoglycaemia: rises with age and with falling eGFR (insulin clearance).
        "basal_insulin": _sigmoid(-1.6 + 0.05 * (age - 60.0) - 0.025 * (egfr - 70.0)),
    }
    return pd.DataFrame(risk, index=x.index)[list(ALTERNATIVES)]


def _true_propensity(x: pd.DataFrame) -> pd.DataFrame:
    """Probability of receiving each alternative, as clinicians choose (multinomial logit)."""
    age = x["age"].to_numpy(float)
    egfr = x["egfr"].to_numpy(float)
    bmi = x["bmi"].to_numpy(float)
    hba1c = x["hba1c_baseline"].to_numpy(float)
    duration = x["diabetes_duration"].to_numpy(float)
    cvd = x["cvd"].to_numpy(float)
    hf = x["heart_failure"].to_numpy(float)
    logits = np.column_stack(
        [
            # SGLT2i: cardio-renal protection favours it with HF/CVD; avoided at low eGFR, rarely
            # started below 30 (thin overlap there, on purpose).
            -0.5 + 0.04 * (egfr - 60.0) - 1.5 * (egfr < 30) + 1.2 * hf + 0.6 * cvd - 0.02 * (age - 60.0),
            # GLP-1 RA: weight loss makes it the choice at high BMI.
            0.2 + 0.16 * (bmi - 30.0) + 0.5 * cvd - 0.03 * (age - 60.0),
            # DPP-4i (reference): the gentle option for the old and frail.
            0.5 + 0.04 * (age - 65.0) + 0.4 * (egfr < 45),
            # Basal insulin: very high HbA1c and long duration.
            -0.5 + 0.08 * (hba1c - 70.0) + 0.08 * (duration - 8.0),
        ]
    )
    return pd.DataFrame(_softmax(logits), index=x.index, columns=list(ALTERNATIVES))


def generate_cohort(n_patients: int = 2000, seed: int = 20240601) -> DemoCohort:
    """Draw a cohort with confounded treatment choice and known individual effects.

    Parameters
    ----------
    n_patients
        Number of patients; ids run ``P000001`` upwards.
    seed
        Seed of the only random stream used, so the same seed gives the same cohort.
    """
    if n_patients < 1:
        raise ValueError("n_patients must be at least 1")
    rng = np.random.default_rng([seed, 0])
    n = n_patients
    ids = pd.Index([f"P{i:06d}" for i in range(1, n + 1)], name="patient_id")

    # Age: mostly 35-89 around 62, plus ~3% aged 90+ (an identifier under Safe Harbor when stated).
    age = np.clip(rng.normal(62.0, 11.5, n), 30.0, 89.9)
    very_old = rng.random(n) < 0.03
    age[very_old] = rng.uniform(90.0, 98.0, very_old.sum())
    age = np.round(age, 1)
    sex = np.where(rng.random(n) < 0.45, "female", "male")
    ethnicity = rng.choice(ETHNICITY_GROUPS, size=n, p=[0.58, 0.14, 0.12, 0.12, 0.04])
    deprivation = rng.choice(np.arange(1, 6), size=n, p=[0.26, 0.23, 0.20, 0.17, 0.14])
    bmi_raw = (
        31.5
        + 0.9 * (3 - deprivation)
        - 3.0 * (ethnicity == "asian")
        + 0.8 * (sex == "female")
        - 0.05 * (age - 60.0)
        + rng.normal(0.0, 5.0, n)
    )
    bmi = np.round(np.clip(bmi_raw, 19.0, 58.0), 1)
    egfr_raw = 96.0 - 0.9 * (age - 40.0) + rng.normal(0.0, 17.0, n)
    egfr = np.round(np.clip(egfr_raw, 15.0, 130.0), 0)
    duration_raw = rng.gamma(2.0, 3.2, n) + 0.08 * np.maximum(age - 50.0, 0.0)
    duration = np.round(np.clip(duration_raw, 0.5, age - 18.0), 1)
    hba1c_raw = 58.0 + rng.gamma(2.2, 6.5, n) + 0.25 * duration
    hba1c = np.round(np.clip(hba1c_raw, 58.0, 110.0), 0)
    cvd = (
        rng.random(n) < _sigmoid(-2.2 + 0.05 * (age - 60.0) + 0.45 * (sex == "male") + 0.04 * duration)
    ).astype(int)
    hf = (
        rng.random(n)
        < _sigmoid(-3.0 + 1.7 * cvd + 0.04 * (age - 60.0) + 0.04 * (bmi - 30.0) - 0.01 * (egfr - 70))
    ).astype(int)

    x = pd.DataFrame(
        {
            "age": age,
            "sex": sex,
            "ethnicity_group": ethnicity,
            "bmi": bmi,
            "egfr": egfr,
            "hba1c_baseline": hba1c,
            "diabetes_duration": duration,
            "cvd": cvd,
            "heart_failure": hf,
            "deprivation_quintile": deprivation.astype(int),
        },
        index=ids,
    )
    true_mu = _true_mu(x)
    true_ae = _true_ae_risk(x)
    true_ps = _true_propensity(x)

    codes = np.array(list(ALTERNATIVES))
    cum = true_ps.to_numpy().cumsum(axis=1)
    chosen = (rng.random(n)[:, None] > cum).sum(axis=1).clip(0, len(codes) - 1)
    treatment = codes[chosen]
    rows = np.arange(n)
    mu_obs = true_mu.to_numpy()[rows, chosen]
    hba1c_change = np.round(mu_obs + rng.normal(0.0, 7.0, n), 1)
    ae_p = true_ae.to_numpy()[rows, chosen]
    adverse = (rng.random(n) < ae_p).astype(int)
    ae_type = np.where(adverse == 1, [ADVERSE_EVENT_TYPES[c] for c in treatment], "")
    offsets = rng.integers(0, _INDEX_SPAN_DAYS, n)
    index_date = [_INDEX_START + dt.timedelta(days=int(o)) for o in offsets]

    patients = x.copy()
    patients["treatment"] = treatment
    patients["hba1c_change"] = hba1c_change
    patients["adverse_event"] = adverse
    patients["adverse_event_type"] = ae_type
    patients["index_date"] = index_date
    return DemoCohort(
        patients=patients,
        true_mu=true_mu,
        true_ae_risk=true_ae,
        true_propensity=true_ps,
        seed=seed,
    )


# --------------------------------------------------------------------------------------------------
# Identities: deterministic lists, so output does not depend on the version of a fake-data library.

_GIVEN: dict[str, dict[str, tuple[str, ...]]] = {
    "white": {
        "female": (
            "Margaret",
            "Susan",
            "Linda",
            "Karen",
            "Emily",
            "Sarah",
            "Jennifer",
            "Patricia",
            "Deborah",
            "Hannah",
            "Claire",
            "Ruth",
            "Joan",
            "Kathleen",
            "Megan",
            "Abigail",
            "Siobhan",
            "Ingrid",
            "Agnieszka",
            "Giulia",
            "Heather",
            "Brenda",
            "Colleen",
            "Nora",
        ),
        "male": (
            "Robert",
            "James",
            "William",
            "Thomas",
            "Richard",
            "Gary",
            "Kevin",
            "Brian",
            "Patrick",
            "Gregory",
            "Dennis",
            "Walter",
            "Harold",
            "Lukas",
            "Piotr",
            "Stefan",
            "Connor",
            "Dale",
            "Eugene",
            "Francis",
            "Ronald",
            "Douglas",
            "Neil",
            "Craig",
        ),
    },
    "black": {
        "female": (
            "Aaliyah",
            "Keisha",
            "Latoya",
            "Imani",
            "Ebony",
            "Tamika",
            "Amina",
            "Ngozi",
            "Chiamaka",
            "Abena",
            "Fatoumata",
            "Shanice",
            "Yolanda",
            "Monique",
            "Adaeze",
            "Folake",
            "Wanjiru",
            "Precious",
            "Gloria",
            "Dorothy",
        ),
        "male": (
            "DeShawn",
            "Jamal",
            "Tyrone",
            "Darnell",
            "Marcus",
            "Kwame",
            "Chinedu",
            "Oluwaseun",
            "Emeka",
            "Kofi",
            "Mamadou",
            "Terrell",
            "Andre",
            "Reginald",
            "Cedric",
            "Tunde",
            "Jerome",
            "Otis",
            "Desmond",
            "Winston",
        ),
    },
    "asian": {
        "female": (
            "Priya",
            "Aisha",
            "Mei",
            "Yuki",
            "Sunita",
            "Anjali",
            "Xiu Ying",
            "Hiroko",
            "Ji-woo",
            "Thi Lan",
            "Farah",
            "Nasreen",
            "Deepa",
            "Lakshmi",
            "Ayumi",
            "Lin",
            "Min-ji",
            "Rukhsana",
            "Kavya",
            "Hoa",
        ),
        "male": (
            "Rajesh",
            "Arjun",
            "Wei",
            "Hiroshi",
            "Sanjay",
            "Vikram",
            "Jun",
            "Minh",
            "Imran",
            "Tariq",
            "Ravi",
            "Kenji",
            "Hyun-woo",
            "Bao",
            "Anil",
            "Zhen",
            "Farhan",
            "Naveen",
            "Takeshi",
            "Jia Hao",
        ),
    },
    "hispanic": {
        "female": (
            "María",
            "Guadalupe",
            "Rosa",
            "Carmen",
            "Lucía",
            "Ana",
            "Josefina",
            "Marisol",
            "Yesenia",
            "Beatriz",
            "Alejandra",
            "Graciela",
            "Paola",
            "Esperanza",
            "Ximena",
            "Dolores",
            "Inés",
            "Valeria",
            "Leticia",
            "Consuelo",
        ),
        "male": (
            "José",
            "Juan",
            "Luis",
            "Carlos",
            "Miguel",
            "Jesús",
            "Francisco",
            "Alejandro",
            "Ramón",
            "Héctor",
            "Javier",
            "Rafael",
            "Esteban",
            "Joaquín",
            "Diego",
            "Arturo",
            "Ernesto",
            "Óscar",
            "Raúl",
            "Santiago",
        ),
    },
    "other": {
        "female": (
            "Leilani",
            "Noor",
            "Yasmin",
            "Aroha",
            "Zainab",
            "Leyla",
            "Mariam",
            "Nizhoni",
            "Sina",
            "Kalani",
            "Shirin",
            "Tala",
        ),
        "male": (
            "Keoni",
            "Omar",
            "Ahmad",
            "Tane",
            "Dakota",
            "Yusuf",
            "Karim",
            "Mahmoud",
            "Tiva",
            "Ariel",
            "Sione",
            "Behrouz",
        ),
    },
}
_FAMILY: dict[str, tuple[str, ...]] = {
    "white": (
        "Smith",
        "Johnson",
        "Miller",
        "Anderson",
        "Murphy",
        "O'Brien",
        "Kowalski",
        "Schneider",
        "Sullivan",
        "Baker",
        "Fitzgerald",
        "Novak",
        "Larsen",
        "McAllister",
        "Rossi",
        "Bianchi",
        "Hughes",
        "Walsh",
        "Henderson",
        "Price",
        "Lindqvist",
        "Dubois",
        "Thompson",
        "Carter",
        "Brennan",
        "Whitaker",
        "Fischer",
        "Morrison",
    ),
    "black": (
        "Washington",
        "Jefferson",
        "Okafor",
        "Mensah",
        "Adeyemi",
        "Banks",
        "Freeman",
        "Coleman",
        "Diallo",
        "Mwangi",
        "Osei",
        "Eze",
        "Nwosu",
        "Boateng",
        "Jackson",
        "Robinson",
        "Owusu",
        "Abernathy",
        "Greene",
        "Toussaint",
        "Kamara",
        "Obi",
    ),
    "asian": (
        "Patel",
        "Shah",
        "Chen",
        "Wang",
        "Nguyen",
        "Tanaka",
        "Kim",
        "Park",
        "Rahman",
        "Khan",
        "Iyer",
        "Reddy",
        "Choudhury",
        "Yamamoto",
        "Tran",
        "Zhang",
        "Liu",
        "Gupta",
        "Sato",
        "Hossain",
        "Le",
        "Mehta",
    ),
    "hispanic": (
        "Hernández",
        "García",
        "Martínez",
        "López",
        "Rodríguez",
        "González",
        "Pérez",
        "Ramírez",
        "Torres",
        "Flores",
        "Rivera",
        "Gómez",
        "Díaz",
        "Reyes",
        "Morales",
        "Cruz",
        "Ortiz",
        "Gutiérrez",
        "Castillo",
        "Vargas",
        "Mendoza",
        "De la Cruz",
    ),
    "other": (
        "Kahananui",
        "Haddad",
        "Begay",
        "Nasser",
        "Tuilagi",
        "Kealoha",
        "Rahimi",
        "Yazzie",
        "Farouk",
        "Fonoti",
        "Al-Masri",
        "Tsosie",
    ),
}
# (3-digit ZIP area, city, state, area codes). The last block are Safe Harbor small-population
# areas (fewer than 20,000 people), whose ZIPs must be removed rather than truncated.
_ZIP_AREAS_LARGE: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("021", "Boston", "MA", ("617", "857")),
    ("100", "New York", "NY", ("212", "646")),
    ("606", "Chicago", "IL", ("312", "773")),
    ("941", "San Francisco", "CA", ("415", "628")),
    ("770", "Houston", "TX", ("713", "832")),
    ("191", "Philadelphia", "PA", ("215", "267")),
    ("303", "Atlanta", "GA", ("404", "678")),
    ("850", "Phoenix", "AZ", ("602", "480")),
    ("482", "Detroit", "MI", ("313",)),
    ("981", "Seattle", "WA", ("206",)),
    ("331", "Miami", "FL", ("305", "786")),
    ("900", "Los Angeles", "CA", ("213", "323")),
    ("752", "Dallas", "TX", ("214", "469")),
    ("554", "Minneapolis", "MN", ("612",)),
    ("802", "Denver", "CO", ("303", "720")),
    ("112", "Brooklyn", "NY", ("718", "347")),
)
_ZIP_AREAS_SMALL: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("036", "Claremont", "NH", ("603",)),
    ("059", "Newport", "VT", ("802",)),
    ("063", "New London", "CT", ("860",)),
    ("102", "New York", "NY", ("212",)),
    ("203", "Washington", "DC", ("202",)),
    ("556", "Two Harbors", "MN", ("218",)),
    ("692", "Valentine", "NE", ("402",)),
    ("790", "Amarillo", "TX", ("806",)),
    ("821", "Mammoth", "WY", ("307",)),
    ("823", "Rawlins", "WY", ("307",)),
    ("830", "Rock Springs", "WY", ("307",)),
    ("831", "Kemmerer", "WY", ("307",)),
    ("878", "Socorro", "NM", ("575",)),
    ("879", "Truth or Consequences", "NM", ("575",)),
    ("884", "Tucumcari", "NM", ("575",)),
    ("890", "Las Vegas", "NV", ("702",)),
    ("893", "Ely", "NV", ("775",)),
)
_STREETS = (
    "Maple",
    "Oak",
    "Elm",
    "Cedar",
    "Washington",
    "Lincoln",
    "Park",
    "Highland",
    "Lakeview",
    "Church",
    "Pleasant",
    "Franklin",
    "Chestnut",
    "Willow",
    "Sunset",
    "Riverside",
    "Hillcrest",
    "Magnolia",
    "Jefferson",
    "Madison",
    "Prospect",
    "Spring",
    "Walnut",
    "Dogwood",
    "Harbor",
    "Juniper",
    "Cottonwood",
    "Aspen",
    "Mesa Verde",
    "Rosewood",
    "Linden",
    "Quincy",
    "Beacon",
)
_STREET_SUFFIX = ("Street", "Avenue", "Road", "Drive", "Lane", "Court", "Boulevard", "Way", "St.", "Ave")
_HOSPITALS = (
    "St Mary's Hospital",
    "Riverside General Hospital",
    "Lakeview Medical Center",
    "Mercy Diabetes Center",
    "Grace Memorial Hospital",
    "Northgate Community Hospital",
    "Harbor View Medical Center",
    "St Luke's Hospital",
    "Cedar Ridge Clinic",
    "Fairmont Endocrine Clinic",
)
_WARDS = ("Ward 7B", "Ward 4A", "Ward 12", "Nightingale Ward", "Ward 3 East", "Osler Ward", "Ward 9C")
_EMAIL_DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "icloud.com", "aol.com", "hotmail.com")
_PLAN_PREFIXES = ("BCX", "UHC", "AET", "MCD", "HUM", "CIG", "KPX")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_DEVICES = (
    ("Dexcom G6 CGM", "serial SN {s}"),
    ("FreeStyle Libre 2 sensor", "serial no. {s}"),
    ("Medtronic MiniMed 780G insulin pump", "SN {s}"),
    ("Omnipod 5 controller", "serial number {s}"),
    ("dual-chamber pacemaker", "serial {s}"),
)
_NOTE_TYPES = ("clinic_letter",)


@dataclass(frozen=True)
class _Person:
    given: str
    family: str
    sex: str


@dataclass(frozen=True)
class _Identity:
    patient_id: str
    person: _Person
    mrn: str
    ssn: str
    health_plan_id: str
    account: str
    birth_date: dt.date
    address_line: str
    city: str
    state: str
    zip: str
    phone: tuple[str, str, str]
    email: str
    consent_training: bool
    consent_research: bool
    site: str
    clinician: _Person
    gp: _Person
    drug: tuple[str, str, str]
    cvd_condition: tuple[str, str] | None
    follow_up: dt.date
    letter_date: dt.date
    cvd_onset: dt.date | None
    hf_onset: dt.date | None


def _pick(rng: np.random.Generator, seq: Sequence[Any]) -> Any:
    return seq[int(rng.integers(len(seq)))]


def _person(rng: np.random.Generator, sex: str | None = None, group: str | None = None) -> _Person:
    group = group or str(rng.choice(ETHNICITY_GROUPS, p=[0.5, 0.15, 0.17, 0.13, 0.05]))
    sex = sex or _pick(rng, SEXES)
    return _Person(_pick(rng, _GIVEN[group][sex]), _pick(rng, _FAMILY[group]), sex)


def _ssn(rng: np.random.Generator) -> str:
    while True:
        area = int(rng.integers(1, 900))
        group = int(rng.integers(1, 100))
        serial = int(rng.integers(1, 10000))
        digits = f"{area:03d}{group:02d}{serial:04d}"
        if area != 666 and len(set(digits)) > 1 and digits not in ("078051120", "123456789"):
            return f"{area:03d}-{group:02d}-{serial:04d}"


def _phone(rng: np.random.Generator, area_codes: Sequence[str]) -> tuple[str, str, str]:
    # NANP: exchange starts 2-9, is not N11 and not 555 (so number validators accept it).
    while True:
        exchange = int(rng.integers(200, 1000))
        if exchange % 100 != 11 and exchange != 555:
            break
    return (_pick(rng, area_codes), f"{exchange:03d}", f"{int(rng.integers(0, 10000)):04d}")


def _identities(cohort: DemoCohort) -> list[_Identity]:
    """Draw every patient's direct identifiers from the cohort seed (stream 1)."""
    pts = cohort.patients
    n = len(pts)
    rng = np.random.default_rng([cohort.seed, 1])
    mrns = rng.choice(9_000_000, size=n, replace=False) + 1_000_000
    accounts = rng.choice(90_000_000, size=n, replace=False) + 10_000_000
    clinicians = [_person(rng) for _ in range(40)]
    gps = [_person(rng) for _ in range(120)]
    out = []
    for i, (pid, row) in enumerate(pts.iterrows()):
        person = _person(rng, sex=row["sex"], group=row["ethnicity_group"])
        area = _pick(rng, _ZIP_AREAS_SMALL) if rng.random() < 0.06 else _pick(rng, _ZIP_AREAS_LARGE)
        zip_code = f"{area[0]}{int(rng.integers(1, 100)):02d}"
        index_date: dt.date = row["index_date"]
        birth = index_date - dt.timedelta(days=round(float(row["age"]) * 365.25))
        number = int(rng.integers(1, 9999))
        line = f"{number} {_pick(rng, _STREETS)} {_pick(rng, _STREET_SUFFIX)}"
        if rng.random() < 0.15:
            line += f", Apt {int(rng.integers(1, 30))}{_pick(rng, 'ABCD')}"
        sep = _pick(rng, (".", "_", ""))
        email = (
            f"{_ascii(person.given).lower()}{sep}{_ascii(person.family).lower()}"
            f"{int(rng.integers(1, 99)) if rng.random() < 0.6 else ''}@{_pick(rng, _EMAIL_DOMAINS)}"
        )
        plan = f"{_pick(rng, _PLAN_PREFIXES)}{int(rng.integers(100_000_000, 1_000_000_000))}"
        cvd_condition = _pick(rng, SNOMED_CVD) if row["cvd"] == 1 else None
        follow_up = index_date + dt.timedelta(days=_FOLLOW_UP_DAYS + int(rng.integers(-14, 15)))
        out.append(
            _Identity(
                patient_id=str(pid),
                person=person,
                mrn=str(mrns[i]),
                ssn=_ssn(rng),
                health_plan_id=plan,
                account=str(accounts[i]),
                birth_date=birth,
                address_line=line,
                city=area[1],
                state=area[2],
                zip=zip_code,
                phone=_phone(rng, area[3]),
                email=email,
                consent_training=bool(rng.random() > 0.04),
                consent_research=bool(rng.random() > 0.06),
                site=_pick(rng, _HOSPITALS),
                clinician=_pick(rng, clinicians),
                gp=_pick(rng, gps),
                drug=_pick(rng, DRUGS[row["treatment"]]),
                cvd_condition=cvd_condition,
                follow_up=follow_up,
                letter_date=follow_up + dt.timedelta(days=int(rng.integers(1, 8))),
                cvd_onset=index_date - dt.timedelta(days=int(rng.integers(60, 3650)))
                if cvd_condition
                else None,
                hf_onset=index_date - dt.timedelta(days=int(rng.integers(30, 2500)))
                if row["heart_failure"] == 1
                else None,
            )
        )
    return out


def _ascii(text: str) -> str:
    import unicodedata

    norm = unicodedata.normalize("NFKD", text)
    return "".join(c for c in norm if c.isascii() and (c.isalnum())).strip()


# --------------------------------------------------------------------------------------------------
# Letters with gold identifier spans.


class _Letter:
    """Assembles text while recording where each identifier lands."""

    _fmt = string.Formatter()

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.spans: list[dict[str, Any]] = []
        self.pos = 0

    def text(self, s: str) -> None:
        self.parts.append(s)
        self.pos += len(s)

    def ident(self, s: str, kind: str) -> None:
        assert kind in IDENTIFIER_TYPES, kind  # noqa: S101 - a typo here would corrupt the gold set
        self.spans.append({"type": kind, "start": self.pos, "end": self.pos + len(s)})
        self.text(s)

    def put(self, template: str, **fields: Any) -> None:
        """Write ``template``; a field given as ``(text, TYPE)`` or a list of parts becomes spans."""
        for literal, name, _spec, _conv in self._fmt.parse(template):
            self.text(literal)
            if name is None:
                continue
            self._value(fields[name])

    def _value(self, value: Any) -> None:
        if isinstance(value, tuple):
            self.ident(value[0], value[1])
        elif isinstance(value, list):
            for v in value:
                self._value(v)
        else:
            self.text(str(value))

    def result(self) -> tuple[str, list[dict[str, Any]]]:
        return "".join(self.parts), self.spans


def _fmt_date(d: dt.date, style: int) -> str:
    month = _MONTHS[d.month - 1]
    match style % 7:
        case 0:
            return f"{d.month:02d}/{d.day:02d}/{d.year}"
        case 1:
            return f"{d.day} {month} {d.year}"
        case 2:
            return f"{month} {d.day}, {d.year}"
        case 3:
            return d.isoformat()
        case 4:
            return f"{d.day:02d}-{month[:3]}-{d.year}"
        case 5:
            return f"{d.month}/{d.day}/{d.year % 100:02d}"
        case _:
            suffix = "th" if 11 <= d.day <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(d.day % 10, "th")
            return f"{d.day}{suffix} {month} {d.year}"


def _fmt_phone(p: tuple[str, str, str], style: int) -> str:
    a, e, n = p
    match style % 4:
        case 0:
            return f"({a}) {e}-{n}"
        case 1:
            return f"{a}.{e}.{n}"
        case 2:
            return f"+1 {a} {e} {n}"
        case _:
            return f"{a}-{e}-{n}"


def _fmt_ssn(ssn: str, style: int) -> str:
    match style % 3:
        case 0:
            return ssn
        case 1:
            return ssn.replace("-", " ")
        case _:
            return ssn.replace("-", "")


def _title(p: _Person, rng: np.random.Generator) -> str:
    if p.sex == "male":
        return _pick(rng, ("Mr", "Mr."))
    return _pick(rng, ("Mrs", "Ms", "Ms.", "Mrs."))


def _pronouns(sex: str) -> tuple[str, str, str]:
    return ("she", "her", "her") if sex == "female" else ("he", "him", "his")


def _dr(rng: np.random.Generator, p: _Person) -> list[Any]:
    """A clinician as clinicians write one: 'Dr Aisha Rahman', 'Dr. Rahman', 'Dr A. Rahman'."""
    title = _pick(rng, ("Dr ", "Dr. "))
    style = int(rng.integers(3))
    name = (p.given + " " + p.family, p.family, f"{p.given[0]}. {p.family}")[style]
    return [title, (name, "NAME")]


def _letter(ident: _Identity, row: pd.Series, rng: np.random.Generator) -> tuple[str, list[dict[str, Any]]]:
    """Write one diabetes clinic letter to the GP, returning the text and its gold spans."""
    L = _Letter()
    p = ident.person
    she, _her_obj, her = _pronouns(p.sex)
    She = she.capitalize()
    title = _title(p, rng)
    age_years = int(row["age"])
    age_phrase: list[Any] | None = None
    if age_years >= 90:
        age_phrase = ["a ", (f"{age_years}-year-old", "AGE")]
    elif rng.random() < 0.6:
        age_phrase = [f"a {age_years}-year-old"]
    ds = int(rng.integers(7))
    visit = row["index_date"]
    hba1c0 = int(row["hba1c_baseline"])
    hba1c1 = round(float(row["hba1c_baseline"]) + float(row["hba1c_change"]), 1)
    egfr = int(row["egfr"])
    bmi = float(row["bmi"])
    drug, _rx, dose = ident.drug
    site = (ident.site, "HOSPITAL")
    # The clinic's own numbers share the patient's area code: letters come from the local hospital.
    clinic_fax = _phone(rng, (ident.phone[0],))
    clinic_tel = _phone(rng, (ident.phone[0],))
    header = int(rng.integers(3))

    # Header: letterhead, contact lines, date, recipient, re: block.
    if header == 0:
        L.put("{site}\nDiabetes and Endocrinology Department\n", site=site)
        L.put(
            "Tel: {t}   Fax: {f}\n\n",
            t=(_fmt_phone(clinic_tel, 0), "PHONE"),
            f=(_fmt_phone(clinic_fax, 0), "FAX"),
        )
        L.put("Date: {d}\n\n", d=(_fmt_date(ident.letter_date, ds), "DATE"))
    elif header == 1:
        L.put("DIABETES CLINIC - {site}\n", site=site)
        L.put("Fax {f}\n", f=(_fmt_phone(clinic_fax, 1), "FAX"))
        L.put(
            "Dictated {d}, typed {d2}\n\n",
            d=(_fmt_date(ident.follow_up, ds + 1), "DATE"),
            d2=(_fmt_date(ident.letter_date, ds + 1), "DATE"),
        )
    else:
        L.put("{d}\n\n", d=(_fmt_date(ident.letter_date, 2), "DATE"))
    L.put("Dear {dr},\n\n", dr=_dr(rng, ident.gp))

    dob_style = int(rng.integers(7))
    re_style = int(rng.integers(3))
    addr = [
        (ident.address_line, "ADDRESS"),
        ", ",
        (ident.city, "LOCATION"),
        ", ",
        (ident.state, "LOCATION"),
        " ",
        (ident.zip, "ZIP"),
    ]
    mrn_label = _pick(rng, ("MRN: ", "Hosp No. ", "MRN ", "Medical record number "))
    if re_style == 0:
        L.put(
            "Re: {name}, DOB: {dob}, {mrn_label}{mrn}\n",
            name=(f"{p.given} {p.family}", "NAME"),
            dob=(_fmt_date(ident.birth_date, dob_style), "DATE"),
            mrn_label=mrn_label,
            mrn=(ident.mrn, "MRN"),
        )
        L.put("{addr}\n", addr=addr)
    elif re_style == 1:
        L.put(
            "RE: {name} (born {dob})\n{mrn_label}{mrn}   Acct No. {acct}\n",
            name=(f"{p.family.upper()}, {p.given}", "NAME"),
            dob=(_fmt_date(ident.birth_date, 1), "DATE"),
            mrn_label=mrn_label,
            mrn=(ident.mrn, "MRN"),
            acct=(ident.account, "ACCOUNT"),
        )
        L.put("Address: {addr}\n", addr=addr)
    else:
        L.put(
            "Patient: {t} {name}   DOB {dob}   {mrn_label}{mrn}\n",
            t=title,
            name=(f"{p.given} {p.family}", "NAME"),
            dob=(_fmt_date(ident.birth_date, 3), "DATE"),
            mrn_label=mrn_label,
            mrn=(ident.mrn, "MRN"),
        )
        L.put("{addr}   Tel {tel}\n", addr=addr, tel=(_fmt_phone(ident.phone, dob_style), "PHONE"))
    if rng.random() < 0.5:
        L.put(
            "Insurance: member ID {plan}",
            plan=(ident.health_plan_id, "HEALTH_PLAN"),
        )
        if rng.random() < 0.5:
            L.put("; SSN {ssn}", ssn=(_fmt_ssn(ident.ssn, int(rng.integers(3))), "SSN"))
        L.text("\n")
    L.text("\n")

    # Paragraph 1: who, when, background.
    intro = int(rng.integers(4))
    dx_year = max(int(row["index_date"].year - row["diabetes_duration"]), ident.birth_date.year + 18)
    agep = age_phrase or ["a"]
    man = "woman" if p.sex == "female" else "man"
    if intro == 0:
        L.put(
            "I saw {t} {fam} in the diabetes clinic on {d}. {She} is {agep} {man} with Type 2 "
            "diabetes diagnosed in {y}, currently on metformin 1 g twice daily.",
            t=title,
            fam=(p.family, "NAME"),
            d=(_fmt_date(visit, ds), "DATE"),
            She=She,
            agep=agep,
            man=man,
            y=(str(dx_year), "DATE"),
        )
    elif intro == 1:
        L.put(
            "Thank you for referring {name}, whom I reviewed at {site} on {d}. {She} has had "
            "type 2 diabetes for about {dur} years and takes metformin 1 g BD.",
            name=(f"{p.given} {p.family}", "NAME"),
            site=site,
            d=(_fmt_date(visit, ds), "DATE"),
            She=She,
            dur=int(row["diabetes_duration"]) or "less than one",
        )
        if age_phrase:
            L.put(" {She} is now {agep}.", She=She, agep=[*age_phrase, f" {man}"])
    elif intro == 2:
        L.put(
            "{given} attended the diabetes review at {site} on {d}",
            given=(p.given, "NAME"),
            site=site,
            d=(_fmt_date(visit, ds), "DATE"),
        )
        rel, nok_sex = _pick(
            rng,
            (
                ("daughter", "female"),
                ("son", "male"),
                ("husband", "male") if p.sex == "female" else ("wife", "female"),
                ("niece", "female"),
                ("brother", "male"),
            ),
        )
        L.put(
            ", accompanied by {her} {rel}, {nok}.",
            her=her,
            rel=rel,
            nok=(_nok_name(rng, p, nok_sex), "NAME"),
        )
        if age_phrase:
            L.put(" As you know, {she} is {agep} {man}.", she=she, agep=age_phrase, man=man)
    else:
        L.put(
            "Review of {t} {fam}",
            t=title,
            fam=(p.family, "NAME"),
        )
        if age_phrase:
            L.put(" ({agep} {man})", agep=age_phrase, man=man)
        L.put(
            " in clinic, {d}. Diagnosed with T2DM in {y}; HbA1c has drifted up despite metformin.",
            d=(_fmt_date(visit, 5), "DATE"),
            y=(str(dx_year), "DATE"),
        )
    comorb = []
    if row["cvd"] == 1 and ident.cvd_condition is not None:
        comorb.append(ident.cvd_condition[1].lower())
    if row["heart_failure"] == 1:
        comorb.append("heart failure (EF 38%)" if rng.random() < 0.5 else "heart failure")
    if comorb:
        L.put(" Past history includes {c}.", c=" and ".join(comorb))
    if rng.random() < 0.25:
        L.put(
            " {She} was admitted to {ward} at {site} on {d} with a foot ulcer, now healed.",
            She=She,
            ward=(_pick(rng, _WARDS), "HOSPITAL"),
            site=site,
            d=(_fmt_date(visit - dt.timedelta(days=int(rng.integers(90, 900))), ds + 2), "DATE"),
        )
    L.text("\n\n")

    # Paragraph 2: numbers (tempting, non-identifying) and the decision.
    bp = f"{int(rng.integers(118, 165))}/{int(rng.integers(68, 96))}"
    ckd = (
        "" if egfr >= 60 else (" (CKD G3a)" if egfr >= 45 else (" (CKD G3b)" if egfr >= 30 else " (CKD G4)"))
    )
    variant = int(rng.integers(3))
    if variant == 0:
        L.text(
            f"On examination BMI {bmi:.1f} kg/m2, BP {bp}. Baseline HbA1c was {hba1c0} mmol/mol, "
            f"eGFR {egfr} mL/min/1.73m2{ckd}. "
        )
    elif variant == 1:
        L.text(
            f"Results: HbA1c {hba1c0} mmol/mol; eGFR {egfr}{ckd}; BMI {bmi:.1f}; BP {bp} mmHg; "
            f"LDL {rng.uniform(1.4, 3.6):.1f} mmol/L. "
        )
    else:
        L.text(
            f"{She} weighs in at a BMI of {bmi:.1f}. Today's HbA1c is {hba1c0} (target 53), "
            f"with an eGFR of {egfr}{ckd} and blood pressure {bp}. "
        )
    L.text(
        f"After discussing the options ({_options_phrase(rng)}), we agreed to start {drug} "
        f"{dose} as second-line therapy, in line with the ADA {visit.year} Standards of Care and NICE NG28. "
    )
    L.text(
        _pick(
            rng,
            (
                "Review in 3/12 with repeat bloods at 2/52 if symptomatic.",
                "I have asked the practice nurse to check a U&E in 2-3 weeks.",
                "Type 2 diabetes education session booked; foot check 10/10 monofilament.",
                f"Retinal screening {visit.year - 1}: R0M0.",
            ),
        )
    )
    L.text("\n\n")

    # Paragraph 3: follow-up outcome.
    fu = [(_fmt_date(ident.follow_up, ds + 3), "DATE")]
    L.put(
        "At follow-up on {d} HbA1c was {h1} mmol/mol (from {h0}).",
        d=fu,
        h1=f"{hba1c1:g}",
        h0=hba1c0,
    )
    if row["adverse_event"] == 1:
        L.text(" " + _ae_phrase(row["adverse_event_type"], She, her, rng))
    else:
        L.text(f" {She} has tolerated {drug} well with no side effects.")
    if row["adverse_event_type"] == "hypoglycaemia" or (
        row["treatment"] == "basal_insulin" and rng.random() < 0.5
    ):
        L.text(f" We discussed hypoglycaemia and driving; {she} should check glucose before driving.")
        if rng.random() < 0.5:
            L.put(
                " {Her} driver's license ({lic}) details were noted for the DMV form.",
                Her=her.capitalize(),
                lic=(_license(rng, ident.state), "LICENSE"),
            )
    L.text("\n\n")

    # Optional paragraph: rarer Safe Harbor identifiers.
    extras = []
    if rng.random() < 0.12:
        dev_name, fmt = _pick(rng, _DEVICES)
        serial = _serial(rng)
        pre, post = fmt.split("{s}")
        extras.append([f"{She} uses a {dev_name} ({pre}", (serial, "DEVICE"), f"{post})."])
    if rng.random() < 0.10:
        slug = _ascii(ident.site).lower()[:12]
        url = f"https://portal.{slug}.org/patient/{ident.mrn}"
        extras.append([f"Results are visible on {her} patient portal at ", (url, "URL"), "."])
    if rng.random() < 0.08:
        octets = (rng.integers(11, 223), *rng.integers(0, 256, 2), rng.integers(1, 255))
        ip = ".".join(str(int(o)) for o in octets)
        extras.append(["CGM data were uploaded remotely from IP address ", (ip, "IP_ADDRESS"), "."])
    if rng.random() < 0.06:
        plate = _plate(rng)
        extras.append(["A disabled parking permit was requested for vehicle ", (plate, "VEHICLE"), "."])
    if rng.random() < 0.25:
        extras.append(
            [
                f"{She} can be contacted on ",
                (_fmt_phone(ident.phone, int(rng.integers(4))), "PHONE"),
                " or by email at ",
                (ident.email, "EMAIL"),
                ".",
            ]
        )
    if rng.random() < 0.10 and "HEALTH_PLAN" not in [s["type"] for s in L.spans]:
        extras.append(
            ["Health plan no. ", (ident.health_plan_id, "HEALTH_PLAN"), " for the prior authorization."]
        )
    if rng.random() < 0.08:
        extras.append(["Please quote account ", (ident.account, "ACCOUNT"), " on any correspondence."])
    if rng.random() < 0.06:
        extras.append(["SSN on file: ", (_fmt_ssn(ident.ssn, 0), "SSN"), "."])
    if extras:
        for j, e in enumerate(extras):
            if j:
                L.text(" ")
            L._value(e)
        L.text("\n\n")

    # Sign-off.
    clin = ident.clinician
    L.text(_pick(rng, ("Yours sincerely,\n\n", "Kind regards,\n\n", "With best wishes,\n\n")))
    L.put(
        "{dr}\nConsultant Diabetologist, {site}\n",
        dr=["Dr ", (f"{clin.given} {clin.family}", "NAME")],
        site=site,
    )
    if rng.random() < 0.3:
        L.put(
            "cc: {t} {name}, {addr}\n",
            t=title,
            name=(f"{p.given[0]}. {p.family}", "NAME"),
            addr=addr,
        )
    return L.result()


def _options_phrase(rng: np.random.Generator) -> str:
    return _pick(
        rng,
        (
            "SGLT2 inhibitor, GLP-1 RA, DPP-4 inhibitor or basal insulin",
            "an SGLT2i, a GLP-1 receptor agonist, a gliptin, or insulin",
            "empagliflozin, semaglutide, sitagliptin and glargine",
        ),
    )


def _ae_phrase(kind: str, She: str, her: str, rng: np.random.Generator) -> str:
    match kind:
        case "hypoglycaemia":
            return (
                f"{She} reported {int(rng.integers(2, 6))} episodes of symptomatic hypoglycaemia, "
                f"lowest capillary glucose {rng.uniform(2.4, 3.8):.1f} mmol/L."
            )
        case "genital_infection":
            return f"{She} developed a genital mycotic infection treated with clotrimazole 1% cream."
        case "gi_intolerance":
            return f"{She} had nausea and vomiting in the first 4 weeks, which limited {her} dose."
        case _:
            return f"{She} reported mild arthralgia, which settled."


def _nok_name(rng: np.random.Generator, p: _Person, sex: str) -> str:
    other = _person(rng, sex=sex)
    return f"{other.given} {p.family}" if rng.random() < 0.7 else f"{other.given} {other.family}"


def _serial(rng: np.random.Generator) -> str:
    chars = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
    return "".join(_pick(rng, chars) for _ in range(int(rng.integers(8, 12))))


def _license(rng: np.random.Generator, state: str) -> str:
    letter = _pick(rng, "ABCDEFGHJKLMNPRSTVWXYZ")
    return f"{state} {letter}{int(rng.integers(10_000_000, 100_000_000))}"


def _plate(rng: np.random.Generator) -> str:
    letters = "".join(_pick(rng, "ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(3))
    return f"{int(rng.integers(1, 10))}{letters}{int(rng.integers(100, 1000))}"


# --------------------------------------------------------------------------------------------------
# Writers.


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    df.to_csv(path, index=False, lineterminator="\n")


def _uuid(seed: int, *parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{FHIR_BASE}/demo/{seed}/" + "/".join(parts)))


def write_extract(
    cohort: DemoCohort,
    out_dir: Path,
    *,
    formats: Iterable[str] = ("csv", "fhir"),
    progress: Callable[[int], None] | None = None,
) -> ExtractFiles:
    """Write the cohort as a hospital extract (CSV tables and/or FHIR R4 Bundles) plus truth files.

    Parameters
    ----------
    cohort
        The cohort; identifiers and letters are drawn from its seed, so output is reproducible.
    out_dir
        Target folder; ``csv/``, ``fhir/`` and ``truth/`` are created beneath it.
    formats
        Any of ``"csv"`` and ``"fhir"``.
    progress
        Called with the number of patients finished (1 per call), for a progress bar.
    """
    formats = set(formats)
    unknown = formats - {"csv", "fhir"}
    if unknown:
        raise ValueError(f"unknown extract formats: {sorted(unknown)}")
    out_dir = Path(out_dir)
    csv_dir = out_dir / "csv" if "csv" in formats else None
    fhir_dir = out_dir / "fhir" if "fhir" in formats else None
    truth_dir = out_dir / "truth"
    for d in (csv_dir, fhir_dir, truth_dir):
        if d is not None:
            d.mkdir(parents=True, exist_ok=True)

    idents = _identities(cohort)
    rows: dict[str, list[dict[str, Any]]] = {t: [] for t in CSV_TABLES}
    span_lines: list[str] = []
    bundles: list[Path] = []
    for i, ((pid, row), ident) in enumerate(zip(cohort.patients.iterrows(), idents, strict=True)):
        records = _patient_records(ident, row, np.random.default_rng([cohort.seed, 2, i]))
        for table, recs in records.items():
            if table != "_spans":
                rows[table].extend(recs)
        note = records["notes"][0]
        span_lines.append(
            json.dumps(
                {"note_id": note["note_id"], "patient_id": pid, "spans": records["_spans"]},
                sort_keys=True,
                ensure_ascii=False,
            )
        )
        if fhir_dir is not None:
            bundle = _bundle(cohort.seed, ident, row, records)
            path = fhir_dir / f"{pid}.json"
            path.write_text(
                json.dumps(bundle, indent=1, sort_keys=True, ensure_ascii=False) + "\n",
                encoding="utf-8",
            )
            bundles.append(path)
        if progress is not None:
            progress(1)

    csv_tables: dict[str, Path] = {}
    if csv_dir is not None:
        for table in CSV_TABLES:
            path = csv_dir / f"{table}.csv"
            _write_csv(pd.DataFrame(rows[table]), path)
            csv_tables[table] = path

    truth = pd.DataFrame(
        {"patient_id": cohort.patients.index, "treatment": cohort.patients["treatment"].to_numpy()}
    )
    for frame, prefix in (
        (cohort.true_mu, "mu"),
        (cohort.true_ae_risk, "ae_risk"),
        (cohort.true_propensity, "propensity"),
    ):
        for code in ALTERNATIVES:
            truth[f"{prefix}_{code}"] = [f"{v:.6f}" for v in frame[code].to_numpy()]
    truth_csv = truth_dir / "truth.csv"
    _write_csv(truth, truth_csv)
    spans_path = truth_dir / "note_spans.jsonl"
    spans_path.write_text("\n".join(span_lines) + "\n", encoding="utf-8")
    return ExtractFiles(
        root=out_dir,
        csv_dir=csv_dir,
        fhir_dir=fhir_dir,
        csv_tables=csv_tables,
        fhir_bundles=tuple(bundles),
        truth_csv=truth_csv,
        note_spans=spans_path,
    )


def _yn(flag: bool) -> str:
    return "yes" if flag else "no"


def _patient_records(ident: _Identity, row: pd.Series, rng: np.random.Generator) -> dict[str, Any]:
    """All CSV rows of one patient (the FHIR bundle is built from the same rows)."""
    pid = ident.patient_id
    num = pid[1:]
    p = ident.person
    index_date: dt.date = row["index_date"]
    phone = _fmt_phone(ident.phone, 0)
    patient = {
        "patient_id": pid,
        "mrn": ident.mrn,
        "ssn": ident.ssn,
        "health_plan_id": ident.health_plan_id,
        "given_name": p.given,
        "family_name": p.family,
        "birth_date": ident.birth_date.isoformat(),
        "sex": row["sex"],
        "ethnicity_group": row["ethnicity_group"],
        "address_line": ident.address_line,
        "city": ident.city,
        "state": ident.state,
        "zip": ident.zip,
        "phone": phone,
        "email": ident.email,
        "deprivation_quintile": int(row["deprivation_quintile"]),
        "consent_care": "yes",
        "consent_model_training": _yn(ident.consent_training),
        "consent_research": _yn(ident.consent_research),
    }
    clin = f"{ident.clinician.given} {ident.clinician.family}"
    encounters = [
        {
            "encounter_id": f"E{num}-1",
            "patient_id": pid,
            "encounter_date": index_date.isoformat(),
            "encounter_type": "outpatient",
            "clinician_name": clin,
            "site_name": ident.site,
        },
        {
            "encounter_id": f"E{num}-2",
            "patient_id": pid,
            "encounter_date": ident.follow_up.isoformat(),
            "encounter_type": "outpatient",
            "clinician_name": clin,
            "site_name": ident.site,
        },
    ]
    onset = index_date - dt.timedelta(days=round(float(row["diabetes_duration"]) * 365.25))
    conditions = [
        {
            "condition_id": f"C{num}-1",
            "patient_id": pid,
            "code": SNOMED_T2D[0],
            "display": SNOMED_T2D[1],
            "onset_date": onset.isoformat(),
        }
    ]
    if ident.cvd_condition is not None and ident.cvd_onset is not None:
        conditions.append(
            {
                "condition_id": f"C{num}-2",
                "patient_id": pid,
                "code": ident.cvd_condition[0],
                "display": ident.cvd_condition[1],
                "onset_date": ident.cvd_onset.isoformat(),
            }
        )
    if ident.hf_onset is not None:
        conditions.append(
            {
                "condition_id": f"C{num}-3",
                "patient_id": pid,
                "code": SNOMED_HF[0],
                "display": SNOMED_HF[1],
                "onset_date": ident.hf_onset.isoformat(),
            }
        )
    follow_hba1c = float(row["hba1c_baseline"]) + float(row["hba1c_change"])
    obs_specs = [
        (LOINC_BMI, index_date, f"{float(row['bmi']):.1f}"),
        (LOINC_EGFR, index_date, f"{float(row['egfr']):.0f}"),
        (LOINC_HBA1C, index_date, f"{float(row['hba1c_baseline']):.0f}"),
        (LOINC_HBA1C, ident.follow_up, f"{follow_hba1c:.1f}"),
    ]
    observations = [
        {
            "observation_id": f"O{num}-{j}",
            "patient_id": pid,
            "observation_date": d.isoformat(),
            "code": code[0],
            "display": code[1],
            "value": value,
            "unit": code[2],
        }
        for j, (code, d, value) in enumerate(obs_specs, start=1)
    ]
    drug, rxnorm, _dose = ident.drug
    medications = [
        {
            "treatment_id": f"T{num}",
            "patient_id": pid,
            "start_date": index_date.isoformat(),
            "alternative": row["treatment"],
            "drug_name": drug,
            "rxnorm_code": rxnorm,
            "line": "second",
        }
    ]
    outcomes = [
        {
            "patient_id": pid,
            "treatment_id": f"T{num}",
            "outcome_date": ident.follow_up.isoformat(),
            "hba1c_change": f"{float(row['hba1c_change']):.1f}",
            "adverse_event": int(row["adverse_event"]),
            "adverse_event_type": row["adverse_event_type"],
        }
    ]
    text, spans = _letter(ident, row, rng)
    notes = [
        {
            "note_id": f"N{num}",
            "patient_id": pid,
            "note_date": ident.letter_date.isoformat(),
            "author_name": clin,
            "note_type": _NOTE_TYPES[0],
            "text": text,
        }
    ]
    return {
        "patients": [patient],
        "encounters": encounters,
        "conditions": conditions,
        "observations": observations,
        "medications": medications,
        "outcomes": outcomes,
        "notes": notes,
        "_spans": spans,
    }


def _ref(url: str) -> dict[str, str]:
    return {"reference": url}


def _entry(url: str, resource: dict[str, Any]) -> dict[str, Any]:
    return {
        "fullUrl": url,
        "resource": resource,
        "request": {"method": "POST", "url": resource["resourceType"]},
    }


def _bundle(seed: int, ident: _Identity, row: pd.Series, records: dict[str, Any]) -> dict[str, Any]:
    """One FHIR R4 transaction Bundle per patient, from the same rows as the CSV tables."""
    pid = ident.patient_id
    pt = records["patients"][0]

    def urn(*parts: str) -> str:
        return "urn:uuid:" + _uuid(seed, pid, *parts)

    patient_url = urn("Patient")
    patient = {
        "resourceType": "Patient",
        "identifier": [
            {"system": SID_PATIENT, "value": pid},
            {
                "use": "usual",
                "type": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                            "code": "MR",
                            "display": "Medical record number",
                        }
                    ]
                },
                "system": SID_MRN,
                "value": ident.mrn,
            },
            {
                "type": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                            "code": "SS",
                            "display": "Social Security number",
                        }
                    ]
                },
                "system": SID_SSN,
                "value": ident.ssn,
            },
            {
                "type": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                            "code": "MB",
                            "display": "Member Number",
                        }
                    ]
                },
                "system": SID_HEALTH_PLAN,
                "value": ident.health_plan_id,
            },
        ],
        "name": [{"use": "official", "family": pt["family_name"], "given": [pt["given_name"]]}],
        "telecom": [
            {"system": "phone", "value": pt["phone"], "use": "home"},
            {"system": "email", "value": pt["email"]},
        ],
        "gender": pt["sex"],
        "birthDate": pt["birth_date"],
        "address": [
            {
                "use": "home",
                "line": [pt["address_line"]],
                "city": pt["city"],
                "state": pt["state"],
                "postalCode": pt["zip"],
                "country": "US",
            }
        ],
        "extension": [
            {"url": EXT_ETHNICITY, "valueCode": pt["ethnicity_group"]},
            {
                "url": EXT_CONSENT,
                "extension": [
                    {"url": "care", "valueBoolean": pt["consent_care"] == "yes"},
                    {"url": "model_training", "valueBoolean": pt["consent_model_training"] == "yes"},
                    {"url": "research", "valueBoolean": pt["consent_research"] == "yes"},
                ],
            },
        ],
    }
    entries = [_entry(patient_url, patient)]
    enc_urls = []
    for enc in records["encounters"]:
        url = urn("Encounter", enc["encounter_id"])
        enc_urls.append(url)
        entries.append(
            _entry(
                url,
                {
                    "resourceType": "Encounter",
                    "identifier": [{"system": SID_ENCOUNTER, "value": enc["encounter_id"]}],
                    "status": "finished",
                    "class": {
                        "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                        "code": "AMB",
                        "display": "ambulatory",
                    },
                    "type": [{"text": enc["encounter_type"]}],
                    "subject": _ref(patient_url),
                    "participant": [{"individual": {"display": enc["clinician_name"]}}],
                    "period": {"start": enc["encounter_date"], "end": enc["encounter_date"]},
                    "serviceProvider": {"display": enc["site_name"]},
                },
            )
        )
    for cond in records["conditions"]:
        entries.append(
            _entry(
                urn("Condition", cond["condition_id"]),
                {
                    "resourceType": "Condition",
                    "identifier": [{"system": SID_CONDITION, "value": cond["condition_id"]}],
                    "clinicalStatus": {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                "code": "active",
                            }
                        ]
                    },
                    "verificationStatus": {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                                "code": "confirmed",
                            }
                        ]
                    },
                    "code": {
                        "coding": [
                            {
                                "system": SYSTEM_SNOMED,
                                "code": cond["code"],
                                "display": cond["display"],
                            }
                        ],
                        "text": cond["display"],
                    },
                    "subject": _ref(patient_url),
                    "onsetDateTime": cond["onset_date"],
                },
            )
        )
    med = records["medications"][0]
    med_url = urn("MedicationRequest", med["treatment_id"])
    for obs in records["observations"]:
        category = "vital-signs" if obs["code"] == LOINC_BMI[0] else "laboratory"
        resource: dict[str, Any] = {
            "resourceType": "Observation",
            "identifier": [{"system": SID_OBSERVATION, "value": obs["observation_id"]}],
            "status": "final",
            "category": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                            "code": category,
                        }
                    ]
                }
            ],
            "code": {"coding": [{"system": SYSTEM_LOINC, "code": obs["code"], "display": obs["display"]}]},
            "subject": _ref(patient_url),
            "encounter": _ref(
                enc_urls[0] if obs["observation_date"] == _enc_date(records, 0) else enc_urls[1]
            ),
            "effectiveDateTime": obs["observation_date"],
            "valueQuantity": {
                "value": float(obs["value"]),
                "unit": obs["unit"],
                "system": SYSTEM_UCUM,
                "code": obs["unit"],
            },
        }
        if obs["observation_date"] != _enc_date(records, 0):
            resource["basedOn"] = [_ref(med_url)]
        entries.append(_entry(urn("Observation", obs["observation_id"]), resource))
    entries.append(
        _entry(
            urn("Observation", "deprivation"),
            {
                "resourceType": "Observation",
                "status": "final",
                "code": {
                    "coding": [
                        {
                            "system": SYSTEM_OBSERVATIONS,
                            "code": "deprivation-quintile",
                            "display": "Area deprivation quintile (1 = most deprived)",
                        }
                    ]
                },
                "subject": _ref(patient_url),
                "effectiveDateTime": _enc_date(records, 0),
                "valueInteger": int(pt["deprivation_quintile"]),
            },
        )
    )
    entries.append(
        _entry(
            med_url,
            {
                "resourceType": "MedicationRequest",
                "identifier": [{"system": SID_TREATMENT, "value": med["treatment_id"]}],
                "status": "active",
                "intent": "order",
                "medicationCodeableConcept": {
                    "coding": [
                        {"system": SYSTEM_RXNORM, "code": med["rxnorm_code"], "display": med["drug_name"]},
                        {
                            "system": SYSTEM_ALTERNATIVES,
                            "code": med["alternative"],
                            "display": ALTERNATIVES[med["alternative"]],
                        },
                    ],
                    "text": med["drug_name"],
                },
                "subject": _ref(patient_url),
                "encounter": _ref(enc_urls[0]),
                "authoredOn": med["start_date"],
                "requester": {"display": records["encounters"][0]["clinician_name"]},
                "extension": [{"url": EXT_TREATMENT_LINE, "valueCode": med["line"]}],
            },
        )
    )
    out = records["outcomes"][0]
    ae: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "code": {
            "coding": [{"system": SYSTEM_OUTCOMES, "code": "adverse-event", "display": "Adverse event"}]
        },
        "subject": _ref(patient_url),
        "encounter": _ref(enc_urls[1]),
        "basedOn": [_ref(med_url)],
        "effectiveDateTime": out["outcome_date"],
        "valueBoolean": bool(out["adverse_event"]),
    }
    if out["adverse_event"]:
        ae["component"] = [
            {
                "code": {"coding": [{"system": SYSTEM_OUTCOMES, "code": "adverse-event-type"}]},
                "valueString": out["adverse_event_type"],
            }
        ]
    entries.append(_entry(urn("Observation", "adverse-event"), ae))
    entries.append(
        _entry(
            urn("Observation", "hba1c-change"),
            {
                "resourceType": "Observation",
                "status": "final",
                "code": {
                    "coding": [
                        {
                            "system": SYSTEM_OUTCOMES,
                            "code": "hba1c-change",
                            "display": "HbA1c change at 6 months",
                        }
                    ]
                },
                "subject": _ref(patient_url),
                "encounter": _ref(enc_urls[1]),
                "basedOn": [_ref(med_url)],
                "effectiveDateTime": out["outcome_date"],
                "valueQuantity": {
                    "value": float(out["hba1c_change"]),
                    "unit": "mmol/mol",
                    "system": SYSTEM_UCUM,
                    "code": "mmol/mol",
                },
            },
        )
    )
    note = records["notes"][0]
    entries.append(
        _entry(
            urn("DocumentReference", note["note_id"]),
            {
                "resourceType": "DocumentReference",
                "identifier": [{"system": SID_NOTE, "value": note["note_id"]}],
                "status": "current",
                "type": {
                    "coding": [
                        {"system": SYSTEM_LOINC, "code": "11488-4", "display": "Consult note"},
                        {"system": SYSTEM_NOTE_TYPES, "code": note["note_type"]},
                    ]
                },
                "subject": _ref(patient_url),
                "date": f"{note['note_date']}T09:00:00Z",
                "author": [{"display": note["author_name"]}],
                "content": [
                    {
                        "attachment": {
                            "contentType": "text/plain",
                            "language": "en-US",
                            "data": base64.b64encode(note["text"].encode("utf-8")).decode("ascii"),
                            "title": "Diabetes clinic letter",
                        }
                    }
                ],
                "context": {"encounter": [_ref(enc_urls[1])]},
            },
        )
    )
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def _enc_date(records: dict[str, Any], k: int) -> str:
    """Date of the ``k``-th encounter of a patient's records (0 = index visit)."""
    return str(records["encounters"][k]["encounter_date"])
