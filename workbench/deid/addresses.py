"""International street addresses: street lines in many European formats, and address blocks.

The clinical ``StreetAddressRecognizer`` knows the US/UK shape "number + words + street
suffix". Patients also live at "Koskikatu 25", "Rue de Virton 38", "ul. Narewska 94" or
"Friedhofstrasse 33": the house number comes after the name and the street word is a
prefix ("Rue", "Via", "Calle", "ul.") or is glued to the name ("-strasse", "-katu",
"-vägen"). Loosening the US rule to "word + number" would catch "Ward 7", "Type 2" and
"Stage 3" in every letter, so a street line here needs one of:

* a street word from the languages below (prefix or suffix, glued or separate);
* the shape "number + name + number" ("727 Gesterbyntie 68") that clinical text does not
  produce, with clinical head words ("Ward", "Bed", "Type", ...) excluded;
* an address context right before it ("lives at", "address is", "deliver to").

An address rarely stops at the street line, so from each street line the block is
extended over what follows it: a unit ("Apt. 641"), place names, a state code and a
postcode, on the same line after commas or on the next few short lines. Each extension
line is a separate finding without its quoting prefix ("> ", "??? "), so nothing that is
not address is redacted.
"""

from __future__ import annotations

from typing import ClassVar

import regex
from presidio_analyzer import AnalysisExplanation, LocalRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from spacy.lang.en.stop_words import STOP_WORDS

from workbench.deid.recognizers import (
    _GENERIC_FACILITY_WORDS,
    _NOT_NAME_WORDS,
    _US_STATE_NAMES,
    _US_STATES,
    STREET_SUFFIX,
)

__all__ = ["PREFIX_STREET_WORDS", "SUFFIX_STREET_WORDS", "InternationalAddressRecognizer"]

#: Street words written before the name ("Rue de Virton", "Via Roma", "ul. Narewska").
PREFIX_STREET_WORDS = (
    # French, Italian, Spanish, Portuguese/Galician
    r"rue|avenue|av\.|boulevard|bd\.?|chemin|allée|impasse|quai|route|cours|place|"
    r"via|viale|piazza|piazzale|piazzetta|corso|largo|vicolo|contrada|strada|"
    r"calle|c/|avenida|avda\.?|paseo|plaza|camino|carrera|carretera|travesía|ronda|glorieta|"
    r"rua|rúa|travessa|praça|estrada|alameda|carrer|avinguda|passeig|plaça|"
    # Polish, Czech, Slovak, Romanian, Balkan
    r"ul\.|ulica|al\.|aleja|pl\.|plac|os\.|osiedle|ulice|nám\.|náměstí|třída|"
    r"str\.|calea|bulevardul|bulevar|aleea|șoseaua|soseaua|splaiul|piața|piata|intrarea|"
    # Russian, Ukrainian, Bulgarian (transliterated and Cyrillic)
    r"ulitsa|ulica|prospekt|pereulok|shosse|naberezhnaya|bulvar|vulytsya|vul\.|"
    r"улица|ул\.|проспект|просп\.|переулок|пер\.|шоссе|бульвар|набережная|площадь|вулиця|вул\.|"
    # Indonesian, Malay
    r"jl\.|jln\.?|jalan|lorong|"
    # Greek (transliterated and Greek script)
    r"odos|leoforos|plateia|οδός|λεωφόρος|πλατεία"
)
#: Street words written after the name, alone or glued to it ("Friedhofstrasse", "Pohlstr.").
SUFFIX_STREET_WORDS = (
    # German, Dutch/Flemish
    r"straße|strasse|str\.|gasse|weg|platz|allee|damm|ufer|steig|"
    r"straat|laan|plein|gracht|dijk|kade|singel|steeg|"
    # Nordic
    r"gatan|gata|vägen|väg|gränd|stigen|torget|gate|gaten|veien|vegen|vei|veg|stien|"
    r"gade|vej|vænget|stræde|plads|vegur|stræti|stígur|braut|"
    # Finnish, Estonian, Latvian, Lithuanian, Hungarian, South Slavic
    r"katu|kuja|polku|tori|väylä|raitti|tie|tee|maantee|puiestee|iela|gatvė|"
    r"utca|út|útja|tér|körút|köz|sor|cesta|ulica|u\.|krt\.|rkp\.|rakpart|fasor|sétány|"
    # Czech/Slovak after an adjective ("Václavské náměstí 1"), Turkish
    r"náměstí|nám\.|nábřeží|třída|námestie|nábrežie|caddesi|cad\.|cd\.|sokak|sokağı|sok\.|sk\.|bulvarı|"
    # Norwegian/Danish/French terraces, transliterated Greek "str"
    r"terrasse|terrassen|str"
)
# Words that never start or end a street name here but do in clinical text ("Ward 7B").
_CLINICAL_HEADS = frozenset(
    """ward bed bay room rm type grade stage cycle day week weeks month year level floor
    phase arm dose doses table figure fig step line page visit score class zone lead cohort
    group sample trial study section chapter item question part unit suite apt apartment
    flat box cd bmi gcs ecog nyha tnm t n m g pt hr bp no number ref version v tier band
    clinic theatre theater lab station desk window gate bus route platform appendix grade
    mg mcg ml mmol kg cm mm units tablets tablet capsules puffs drops hours hrs minutes
    mins seconds years months days times x""".split()
)
_PARTICLES = (
    r"de|du|des|la|le|les|del|della|delle|dei|degli|di|da|do|dos|das|van|von|der|den|het|"
    r"y|e|i|z|u|v|na|am|an|im|zum|zur|al|el|d'|l'|dello|sul|sur|upon|on|op|ter|te|ten|nad|pod"
)
# (a unit word only when a number follows: "Alexander Flat", "Mill Unit" may be names)
_NOT_UNIT = r"(?!(?i:apt|apartment|suite|ste|unit|flat|box|floor|fl)\b\.?[ \t]*#?[ \t]*\d)"
# Capitalised word (optionally abbreviated: "Avda.", "Str.") or an initial.
_WORD = rf"(?:{_NOT_UNIT}\p{{Lu}}[\p{{L}}\p{{M}}'’-]*\.?|\p{{Lu}}\.)"
_ANYWORD = rf"(?:{_WORD}|(?:{_PARTICLES})(?![\p{{L}}])|{_NOT_UNIT}\p{{Ll}}[\p{{L}}\p{{M}}'’-]*\.?)"
# house number, optionally with staircase/flat ("88/2/14", "10-12")
_HOUSE = r"\d{1,5}[A-Za-z]?(?:[-/]\d{1,4}[A-Za-z]?){0,2}\.?"
# a house number with its marker after a street word: "Calle Mayor, nº 5", "Jl. Sudirman
# No. 12", "Atatürk Cad. No:5", "Hauptstr. Nr. 3"
_MARKED_HOUSE = rf"(?:(?:n[º°]|n\.[º°]|N[º°]|No[.:]|no\.|Nr\.?|nr\.|núm\.|Núm\.)[ \t]*)?{_HOUSE}"
_HOUSE_MARK = regex.compile(r"(?<=[\p{L}.,][ \t]*)(?:N[º°o]|n[º°o]|n\.[º°]|Nr|nr|núm|Núm)[.:]?[ \t]*(?=\d)")
# A number followed by a unit of time, dose or count is no house number ("2 weeks", "5 mg").
_NOT_A_COUNT = (
    r"(?![ \t]*(?i:days?|weeks?|wks?|months?|years?|yrs?|hours?|hrs?|minutes?|mins?|times|mg|mcg|ml|g|kg|"
    r"units?|tablets?|tabs?|doses?|cycles?|puffs?|drops?|x|%|/)(?![\p{L}]))"
)
_LEAD = r"(?:\d{1,6}[A-Za-z]?[ \t]+){0,2}"  # "6750 " (building) "50 " (house) before the name

_STREET_PATTERNS: list[tuple[str, str, float]] = [
    # "Rue de Virton 38", "36 rue de pologne", "ul. Biskupa Bogedaina 118", "C/ Señores Curas 88"
    (
        "prefix_street",
        # ("Av" without its dot only as written, before a capital: "AV block" is no street)
        rf"(?<![\p{{L}}\d])(?P<id>{_LEAD}(?:(?i:{PREFIX_STREET_WORDS})|Av(?=[ \t]+\p{{Lu}}\p{{Ll}}{{2}}))"
        r"(?<=[\p{L}./])[ \t]*"
        rf"(?:{_ANYWORD}[ \t]+){{0,4}}(?:{_WORD}|\p{{Ll}}[\p{{L}}\p{{M}}'’-]+)(?:,?[ \t]+{_MARKED_HOUSE})?)"
        r"(?![\p{L}\d])",
        0.7,
    ),
    # "Friedhofstrasse 33", "Hegedûs Gyula utca 76.", "Luite tee 87", "Pohlstr. 9"
    (
        "suffix_street",
        rf"(?<![\p{{L}}\d])(?P<id>{_LEAD}(?:{_WORD}[ \t]+){{0,3}}"
        # glued: the whole word, then one look back for the suffix (no per-letter backtracking)
        rf"(?:\p{{Lu}}[\p{{L}}\p{{M}}'’-]{{3,}}\.?(?<=\p{{L}}{{2}}(?i:{SUFFIX_STREET_WORDS}))|"
        rf"(?i:{SUFFIX_STREET_WORDS})(?<=[\p{{L}}.])),?[ \t]+{_MARKED_HOUSE})(?![\p{{L}}\d])",
        0.7,
    ),
    # "Grafton Street 15": an English street word with the house number after it (Irish,
    # continental usage); only the words that are nothing but streets.
    (
        "english_suffix_number",
        rf"(?<![\p{{L}}\d])(?P<id>(?:{_WORD}[ \t]+){{1,3}}"
        r"(?:Street|Road|Avenue|Lane|Drive|Boulevard|Crescent|Terrace|Square|Gardens)[ \t]+"
        rf"{_HOUSE})(?![\p{{L}}\d])",
        0.65,
    ),
    # "975 3968 Bay Street": the English shape, here so that the block extension follows it.
    (
        "english_street",
        rf"(?<![\p{{L}}\d.,/:-])(?P<id>{_LEAD}\d{{1,6}}[A-Za-z]?[ \t]+(?:{_WORD}[ \t]+){{1,4}}{STREET_SUFFIX}\.?)"
        r"(?![\p{L}\d])",
        0.7,
    ),
    # "727 Gesterbyntie 68", "5850 Jana Nerudy 894": number, name, number, then nothing
    # more on the clause (so "1 Type 2 diabetes" is not one).
    (
        "number_name_number",
        rf"(?<![\p{{L}}\d.,/:-])(?P<id>\d{{1,6}}[ \t]+(?:{_WORD}[ \t]+){{1,3}}\d{{1,5}}[A-Za-z]?\.?)"
        r"(?=[ \t]*(?:$|\n|,|;|(?:Apt|Suite|Unit|Flat|Ste)\b|\.(?:\s|$)))",
        0.6,
    ),
    # "136 Filadelfeos Str.", "808 Kálmán Imre u. 12.": number, name, a street word after it.
    (
        "number_name_suffix",
        rf"(?<![\p{{L}}\d.,/:-])(?P<id>{_LEAD}\d{{1,6}}[A-Za-z]?[ \t]+(?:{_WORD}[ \t]+){{1,4}}"
        rf"(?i:{SUFFIX_STREET_WORDS})(?<=[\p{{L}}.])(?:[ \t]+{_HOUSE})?)(?![\p{{L}}\d])",
        0.65,
    ),
    # "0912 P.O. Box 287", "po box 12": a post box starts an address block like a street.
    (
        "po_box",
        rf"(?<![\p{{L}}\d])(?P<id>{_LEAD}(?i:p\.?[ \t]?o\.?[ \t]*box)[ \t]+\d{{1,6}})(?![\p{{L}}\d])",
        0.8,
    ),
    # US military mail, any case: "PSC 1234, Box 5678", "CMR 450 Box 19", or "Unit 4526 Box
    # 0671" followed by its "APO/FPO/DPO AA/AE/AP 09xxx" line; or that line alone.
    (
        "military",
        r"(?<![\p{L}\d])(?P<id>(?i:(?:psc|unit|cmr)[ \t]+\d{3,5},?[ \t]+box[ \t]+\d{2,5}"
        r"(?:[ \t]*[,\n][ \t]*|[ \t]+)(?:apo|fpo|dpo)[ \t]+a[aep][ \t]+\d{5}|"
        r"(?:psc|cmr)[ \t]+\d{3,5},?[ \t]+box[ \t]+\d{2,5}|(?:apo|fpo|dpo)[ \t]+a[aep][ \t]+\d{5}))"
        r"(?![\p{L}\d])",
        0.85,
    ),
    # A street line anchored by its secondary unit (USPS Publication 28: primary number,
    # street name, secondary unit designator, secondary number), in any case or script:
    # "3747 3911 fourth avenue suite 112", "0605 πεντέλης 210 apt. 999". The unit after a
    # house-number-led name is what marks it; the name words may not be stop words
    # (single letters and particles aside) or clinical heads ("2 days ago unit 5").
    (
        "unit_street",
        rf"(?<![\p{{L}}\d.,/:-])(?P<id>{_LEAD}\d{{1,6}}[A-Za-z]?[ \t]+"
        rf"(?P<name>(?:{_NOT_UNIT}[\p{{L}}\p{{M}}][\p{{L}}\p{{M}}'’.-]*[ \t]+){{1,5}}?)(?:{_HOUSE}[ \t]+)?"
        r"(?i:apt|apartment|suite|ste|unit|flat)\.?[ \t]*#?[ \t]*\d{1,5}[A-Za-z]?)(?![\p{L}\d])",
        0.6,
    ),
    # After an address context: "lives on Peter Zuidhove 188", "address is Bygget 64".
    (
        "context_street",
        r"(?i:(?:lives?|living|lived|reside[sd]?|residing|located|situated|based|moved|stay(?:s|ing)?)"
        r"\s+(?:on|at|in|to)|address(?:\s+is)?\s*:?|deliver(?:ed|y)?\s+to|sent\s+to|ship(?:ped)?\s+to|"
        r"drops?\s+you\s+off\s+at|meet\s+(?:me|you)\s+at|corner\s+of|is\s+(?:at|on)|"
        # "the address of Persint is", "update the billing address with", "change my address
        # to": the noun (after a determiner, so not the verb "address the pain with"), then
        # a verb or preposition introducing it later in the clause
        r"(?:the|my|your|his|her|their|our|its|this|that|new|old|billing|home|postal|mailing|current|"
        r"delivery|shipping|work|business|office|an?)\s+address(?:es)?\b[^\n.?!:;]{0,40}?\b(?:is|to|with|as|at)\s*:?|"
        # "send a new one to", "have the statement sent to", "call a taxi to"
        r"(?:send|sent|mail(?:ed)?|post(?:ed)?|forward(?:ed)?|ship(?:ped)?|deliver(?:ed)?)\b[^\n.?!:;]{0,30}?\bto|"
        r"taxi\s+to|(?:drive|take)\s+(?:me|us|you|him|her|them)\s+to)[ \t]+"
        # "lives on the north side of ...", "at the far end of ..."
        r"(?i:the[ \t]+(?:north|south|east|west|other|far|near|upper|lower|top|bottom)[ \t]+"
        r"(?:side|end|part)[ \t]+of[ \t]+)?"
        # (not an abbreviation in capitals, "sent to CT 2", nor a count: "Dermatology 2 weeks")
        rf"(?P<id>{_LEAD}(?!\p{{Lu}}{{2,3}}[ \t]){_WORD}(?:[ \t]+{_ANYWORD}){{0,3}}[ \t]+{_HOUSE})(?![\p{{L}}\d])"
        rf"{_NOT_A_COUNT}",
        0.6,
    ),
    # After a residence context, the English order without a street word: "lives on 69 Av
    # Sidi Lakhmi", "resides at 4 Rose Cottages". Two name words at least, checked by
    # ``_residence_name_ok`` ("lives at 3 West" is a ward, "is on 3 March" a date).
    (
        "residence_street",
        r"(?i:(?:lives?|living|lived|reside[sd]?|residing)\s+(?:on|at)|home\s+address(?:\s+is)?\s*:?)[ \t]+"
        rf"(?P<id>\d{{1,5}}[A-Za-z]?[ \t]+(?P<name>(?:{_WORD}[ \t]+){{1,3}}{_WORD}))(?![\p{{L}}\d])",
        0.6,
    ),
    # "the corner of Maple Avenue and 5th Street", "intersection of ul. Cicha 86 and Oak
    # Trail": the whole description names the place, so it is one finding.
    (
        "intersection",
        r"(?P<id>(?i:(?:the[ \t]+)?(?:corner|intersection|junction)[ \t]+of)[ \t]+"
        # the first side starts like a street: a number, a capital or a street word
        rf"(?=\d|\p{{Lu}}|(?i:{PREFIX_STREET_WORDS})[ \t])"
        r"(?:[\p{L}\d][\p{L}\p{M}\d'’./-]*[ \t]+){1,6}?(?:and|&)[ \t]+"
        # (the second side may open with a particle: "and van Ness Avenue", "and de la Paix")
        rf"(?:(?:{_PARTICLES})[ \t]+(?=\p{{Lu}}))*"
        rf"(?:{_WORD}|\d{{1,5}}(?:st|nd|rd|th)?\.?)"
        rf"(?:[ \t]+(?:{_WORD}|(?:{_PARTICLES})(?![\p{{L}}])|\d{{1,5}}\.?)){{0,4}})"
        r"(?![\p{L}\d])",
        0.65,
    ),
]
# Patterns whose own words ("Unit", "Box") are clinical heads elsewhere, or that need no number
# (the unit-anchored street checks its name words itself, ``_unit_street_ok``).
_NO_HEAD_CHECK = frozenset({"po_box", "military", "intersection", "unit_street"})
_NO_NUMBER_NEEDED = frozenset({"intersection"})

_UNIT_RX = (
    r"(?:(?:Apt|APT|Apartment|Suite|SUITE|Ste|Unit|UNIT|Flat|FLAT|Box|BOX|apt|suite)\.?[ \t]*#?[ \t]*\d{1,5}[A-Za-z]?"
    # Iberian, Polish, Russian flat designators: "Apto. 101", "Dpto 4B", "m. 5", "kv. 12"
    r"|(?:Apto|apto|Dpto|dpto|Depto|depto|Piso|piso|m|lok|kv|кв)\.?[ \t]*\d{1,4}[A-Za-z]?(?![\p{L}\d])"
    # Iberian floor and door after the house number: "2ºB", "3º izq.", "1.º D"
    r"|\d{1,2}\.?[ºª°](?:[ \t]?(?:[A-Za-z]\b|(?i:izq|dcha|esq|dto|drcha)\.?))?)"
)
# Postcodes by shape: 5 digits (+3/4), 4 digits (+2 letters), "111 51", "90-006",
# "1100-053" (Portugal), 6 digits (Romania, Russia, India, China, ...), 3 digits only
# before a town ("101 Reykjavík"), UK, Canada, Ireland ("D02 XY45").
_POSTCODE = (
    r"(?:\d{5}(?:-\d{3,4})?|\d{4}(?:-\d{3}|[ \t]?[A-Z]{2})?|\d{3}[ \t]\d{2}|\d{2}-\d{3}|\d{6}|"
    r"\d{3}(?=[ \t]+\p{Lu}\p{Ll})|"
    r"[A-Z]{1,2}\d[A-Z\d]?[ \t]?\d[A-Z]{2}|[A-Z]\d[A-Z][ \t]?\d[A-Z]\d|"
    r"(?:[AC-FHKNPRTV-Y]\d{2}|D6W)[ \t]?[0-9AC-FHKNPRTV-Y]{4})"  # ... Canada, Ireland (Eircode)
)
_PLACE_WORD = rf"(?:{_WORD}(?!\d)|\p{{Lu}}{{2,}}|(?:{_PARTICLES})(?![\p{{L}}]))"
# A place name: up to five words, particles allowed inside, a bracketed gloss at the end,
# or a city district number ("Praha 1", "Dublin 2", "Wien 7").
# A dot after a long word or a code ends the sentence, not an abbreviation ("... Upper
# Austria. Please call", "Veszprém VE. It serves"); "St.", "Mt.", "a." go on.
_NOT_AFTER_STOP = r"(?<!(?:\p{L}{4,}|\p{Lu}{2,})\.)"
_PLACE = (
    rf"{_PLACE_WORD}(?:{_NOT_AFTER_STOP}[ \t]+(?:{_PLACE_WORD}|\([^()\n]{{1,30}}\))){{0,4}}"
    r"(?:[ \t]+\d{1,2}(?![\p{L}\d.:/-]))?"
)
# (a spaced dash separates the parts of a Brazilian address: "1578 - Bela Vista, São Paulo - SP")
_SEP = r"(?:[ \t]*,[ \t]*|[ \t]+[-–][ \t]+|[ \t]+|\.[ \t]+(?=(?i:apt|suite|unit|flat|ste)\b))"
# A region slot between a town and its postcode, in any case or as a number: "Kaster, vwv
# 04494", "Nicosia, 13 44939" (a lower-case word is taken only when a postcode follows).
_SLOT = rf"(?:\p{{Ll}}{{2,3}}|\d{{1,2}})(?=[ \t]*,?[ \t]*\n?[ \t]*{_POSTCODE}(?![\w-]))"
# An empty field of an exported record, written as pandas/SQL write a missing value ("Oslo,
# nan, Norway 0150"): part of the block, so the block goes on over it.
_EMPTY_FIELD = r"(?:nan|NaN|NAN|NULL|null|N/A|n/a)(?![\p{L}\d/])"
_ITEM = (
    rf"(?:{_EMPTY_FIELD}|{_UNIT_RX}|{_POSTCODE}(?![\w-])|{_SLOT}|(?:(?:St|Ste|Mt)\.?[ \t]+)?{_PLACE}|\b[A-Z]{{2,3}}\b)"
)
# One element of an address after its street: ", Apt. 641", ", Grubbenvorst", ", CO", " 64677".
_TAIL_ITEM = regex.compile(rf"\G{_SEP}{_ITEM}")
_FIRST_ITEM = regex.compile(rf"\G(?:,[ \t]*)?{_ITEM}")
# A street line written all in lower case (typed messages) has its town in lower case too:
# "... suite 112 calgary alberta", "delmas, mp 35739". Stop words still end the block.
_LOWER_PLACE_WORD = r"\p{Ll}[\p{Ll}\p{M}'’-]+(?:\p{Lu}[\p{Ll}\p{M}]+)?"  # "φλαμουΔι" (a look-alike Δ)
_LOWER_ITEM = (
    rf"(?:{_EMPTY_FIELD}|{_UNIT_RX}|{_POSTCODE}(?![\w-])|{_SLOT}|"
    rf"{_LOWER_PLACE_WORD}(?:[ \t]+(?:{_LOWER_PLACE_WORD}|\([^()\n]{{1,30}}\))){{0,3}}(?![\p{{L}}\d]))"
)
_LOWER_TAIL_ITEM = regex.compile(rf"\G{_SEP}{_LOWER_ITEM}")
_LOWER_FIRST_ITEM = regex.compile(rf"\G(?:,[ \t]*)?{_LOWER_ITEM}")
# What may follow the last element on a line: nothing, sentence punctuation, or prose.
_LINE_REST = regex.compile(r"\G[ \t]*(?:$|[.?!;,)]|\p{Ll})", regex.MULTILINE)
_STOP_WORDS = (
    frozenset(
        """dear re date tel telephone phone fax mobile email e-mail mail diagnosis plan
    impression history examination summary medications allergies dob mrn nhs patient
    consultant doctor dr mr mrs ms miss prof hospital clinic ward yours sincerely regards
    kind thanks thank please hello hi the a an and or with for from to of in on at by is was
    subject cc copy ref our your my his her their this that phone: website personal info
    name address office desk home work st st. street road""".split()
    )
    | (frozenset(STOP_WORDS) - frozenset(_PARTICLES.split("|")))
    | _NOT_NAME_WORDS
    | _GENERIC_FACILITY_WORDS
)
_PREFIX_RX = regex.compile(r"[^\p{L}\p{N}(,]*")
_POSTCODE_TAIL = regex.compile(rf"(?<![\w-]){_POSTCODE}$")


def _words(s: str) -> list[str]:  # lower-cased words without edge punctuation
    return [w.strip(".,()'’").lower() for w in s.split()]


_HEAD_NUMBER = regex.compile(r"(?i)(?<![\p{L}])(\p{L}+)\.?[ \t]+\d")


def _is_clinical_head(span: str) -> bool:
    """Whether a clinical head word is followed by a number ("Ward 7B", "1 Type 2")."""
    return any(m.group(1).lower() in _CLINICAL_HEADS for m in _HEAD_NUMBER.finditer(span))


class InternationalAddressRecognizer(LocalRecognizer):
    """Street lines in European formats, extended over unit, place and postcode lines.

    Custom ``analyze`` (not a ``PatternRecognizer``): the extension over the following
    lines is a small loop, not a regular expression.
    """

    ENTITY: ClassVar[str] = "ADDRESS"
    name: str  # set by ``EntityRecognizer.__init__`` (unannotated there)
    MAX_BLOCK_LINES: ClassVar[int] = 5

    def __init__(self) -> None:
        self._patterns = [(name, regex.compile(rx, regex.MULTILINE), score) for name, rx, score in _STREET_PATTERNS]
        super().__init__(
            supported_entities=[self.ENTITY, "LOCATION", "ZIP"], name=type(self).__name__, supported_language="en"
        )

    def load(self) -> None:
        """Nothing to load: the patterns compile in ``__init__``."""

    def _result(self, start: int, end: int, score: float, pattern: str, kind: str = "ADDRESS") -> RecognizerResult:
        explanation = AnalysisExplanation(
            recognizer=self.name,
            original_score=score,
            pattern_name=pattern,
            textual_explanation=f"Detected by `{self.name}` using pattern `{pattern}`",
        )
        return RecognizerResult(
            kind,
            start,
            end,
            score,
            analysis_explanation=explanation,
            recognition_metadata={
                RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
            },
        )

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        """Find street lines, then extend each into its whole address block."""
        # Greek place names typed with look-alike symbols ("∆ΟΜΕΤΙΟΣ": U+2206 for Δ) read
        # as letters; one code point for one, so every offset stays valid.
        text = text.translate(_LOOKALIKE_LETTERS)
        out: list[RecognizerResult] = []
        tails: dict[tuple[int, bool], list[tuple[int, int]]] = {}  # several patterns often end at one place
        for name, rx, score in self._patterns:
            for m in rx.finditer(text):
                start, end = m.span("id")
                if name not in _NO_HEAD_CHECK:
                    end = _cut_at_prose(text, start, end)
                span = text[start:end]
                # A street line carries a house number ("Rue de Virton" alone is a street,
                # not an address); clinical heads ("Ward 7", "Stage 3") are never streets.
                if name not in _NO_HEAD_CHECK and _is_clinical_head(_HOUSE_MARK.sub(" ", span)):
                    continue
                if name not in _NO_NUMBER_NEEDED and not any(c.isdigit() for c in span):
                    continue
                if _DATE_IN_SPAN.search(span):
                    continue  # "on 3 March 2023": number, month name, year is a date
                while end > start and text[end - 1] in " \t,.":
                    end -= 1
                end = _keep_number_dot(text, start, end)
                if _ABBREVIATION_END.search(text, start, end) and text[end : end + 1] == ".":
                    end += 1  # "Andreou Str.", "Kossuth u.": the dot belongs to the street word
                start = _and_street_start(text, start)
                if name == "unit_street" and not _unit_street_ok(m.group("name")):
                    continue
                if name == "residence_street" and not _residence_name_ok(m.group("name")):
                    continue
                lower = not any(c.isupper() for c in text[start:end])
                if (end, lower) not in tails:
                    tails[end, lower] = self._extend(text, end, lower=lower)
                items = [(start, end), *tails[end, lower]]
                out += self._emit(text, items, score, name)
        out += self._unit_blocks(text, tails)
        out += self._postcode_blocks(text)
        return out

    def _postcode_blocks(self, text: str) -> list[RecognizerResult]:
        """Blocks read backwards from a postcode to the house number that starts them.

        A postcode in a strict national format ("NR21 0AA", "IL 62704", "ON M5V 2A2", "NSW
        2000") ends an address, and what comes before it, element by element (commas, line
        breaks), is the town, the region, the street and perhaps a unit: "7 Rose Cottages,
        Little Snoring, Norfolk NR21 0AA", "18 Kingsway, Hove BN3 2WQ", "3 Highfield
        Court / Old Road / Leeds / LS6 2AB". The street line needs no street word here,
        because the postcode already says this is an address; it must start with a house
        number (or be a post box / rural route), and every element on the way must be a
        short run of name words, so prose stops the walk.
        """
        out: list[RecognizerResult] = []
        last = -1
        # The digits that end every such postcode are found first; the whole format is
        # then checked on the few characters before them (the full alternation scanned
        # over the whole letter cost a millisecond a note).
        for tail in _POSTCODE_TAIL_DIGITS.finditer(text):
            m = _POSTCODE_ANCHOR.search(text, max(last + 1, tail.start() - 24), tail.end())
            if m is None or m.end() != tail.end():
                continue
            last = m.end()
            lower = m.group().islower() or not any(c.isupper() for c in m.group())
            start = _walk_back(text, m.start(), lower=lower)
            if start is not None:
                out.append(self._result(start, m.end(), 0.65, "postcode_block"))
        return out

    def _unit_blocks(self, text: str, tails: dict[tuple[int, bool], list[tuple[int, int]]]) -> list[RecognizerResult]:
        """A unit line ("Suite 860") alone on its line, under a line with a house number.

        The line above is the street even when it has no street word ("Fuglie 41 Popovic
        Dam"); the block goes on below the unit line as after any street.
        """
        out: list[RecognizerResult] = []
        for m in _UNIT_LINE.finditer(text):
            line_start = m.start()
            if line_start < 2:
                continue
            prev_start = text.rfind("\n", 0, line_start - 1) + 1
            # the whole line, else its end after the sentence that leads to it
            for rx in (_STREET_ABOVE.fullmatch, _STREET_ABOVE_TAIL.search):
                street = rx(text, prev_start, line_start - 1)
                if not street:
                    continue
                s, e = street.span("street")
                span = text[s:e]
                if not (_has_stop_word(span) or _is_clinical_head(span) or _DATE_IN_SPAN.search(span)):
                    break
            else:
                continue
            end = m.end("unit")
            if (end, False) not in tails:
                tails[end, False] = self._extend(text, end)
            out += self._emit(text, [(s, end), *tails[end, False]], 0.6, "unit_block")
        return out

    @staticmethod
    def _scan(text: str, pos: int, *, first: bool, lower: bool = False) -> list[tuple[int, int]]:
        """Spans of the address elements in the run starting at ``pos`` (separators excluded)."""
        items: list[tuple[int, int]] = []
        tail = _LOWER_TAIL_ITEM if lower else _TAIL_ITEM
        rx = (_LOWER_FIRST_ITEM if lower else _FIRST_ITEM) if first else tail
        while (m := rx.match(text, pos)) and m.end() > pos:
            if _has_stop_word(m.group()) or (lower and _has_clinical_word(m.group())):
                break
            s = m.start()
            while s < m.end() and text[s] in " \t,.":
                s += 1
            e = m.end()
            while e > s and text[e - 1] in " \t,.":
                e -= 1
            if e > s:
                items.append((s, e))
            pos = m.end()
            rx = tail
        return items

    def _emit(self, text: str, items: list[tuple[int, int]], score: float, pattern: str) -> list[RecognizerResult]:
        """Findings for a block: the street (first item) and its neighbours become one ADDRESS.

        Elements separated only by spaces, line breaks and commas are one finding, so no
        comma, region code or line of the block is left between placeholders. Elements
        cut off from the street (by a quoting prefix such as "> ") are typed on their own:
        unit -> ADDRESS, postcode -> ZIP, place -> LOCATION. A state code inside a block
        goes with it (Safe Harbor would permit a US state, but "[ADDRESS], IL [ZIP]" keeps
        nothing useful and the code is often not a US state at all).
        """
        typed: list[tuple[int, int, str]] = []
        for k, (s, e) in enumerate(items):
            value = text[s:e]
            if k == 0 or regex.fullmatch(_UNIT_RX, value):
                kind = "ADDRESS"
            elif regex.fullmatch(_POSTCODE, value):
                kind = "ZIP"
            else:
                kind = "LOCATION"
            typed.append((s, e, kind))
        groups: list[list[tuple[int, int, str]]] = []
        for item in typed:
            last = groups[-1][-1] if groups else None
            if last and _BLOCK_GAP.fullmatch(text, last[1], item[0]):
                groups[-1].append(item)
            else:
                groups.append([item])
        out = []
        for k, g in enumerate(groups):
            kind = g[0][2] if len(g) == 1 else "ADDRESS"
            out.append(self._result(g[0][0], g[-1][1], score if k == 0 else score * 0.9, pattern, kind))
        return out

    def _extend(self, text: str, end: int, *, lower: bool = False) -> list[tuple[int, int]]:
        """Spans of the unit/place/postcode elements after a street line ending at ``end``.

        ``lower``: the street line is all lower case, so its place names may be too.
        """
        items = self._scan(text, end, first=False, lower=lower)  # same line: ", Apt. 641, Grubbenvorst, ..."
        out = list(items)
        pos = max([end, *(e for _, e in items)])
        line_end = text.find("\n", pos)
        if line_end < 0 or text[pos:line_end].strip(" \t.,"):
            return out  # no next line, or the line goes on with something else
        # Following lines, each without its quoting prefix ("> ", "??? ", spaces).
        blank = taken = 0
        cursor = line_end + 1
        while cursor < len(text) and taken < self.MAX_BLOCK_LINES:
            nl = text.find("\n", cursor)
            stop = len(text) if nl < 0 else nl
            prefix = _PREFIX_RX.match(text, cursor, stop)
            body = prefix.end() if prefix else cursor
            if not text[body:stop].strip():
                blank += 1
                if blank > 1:
                    break
                cursor = stop + 1
                continue
            items = self._scan(text, body, first=True, lower=lower)
            if not items:
                break
            found = items[-1][1]
            # (a line that ends in a postcode is the block's last, whatever follows it)
            closed = bool(_POSTCODE_TAIL.search(text[body:found]))
            if ":" in text[body:found] or not (_LINE_REST.match(text, found) or closed):
                break
            if blank and not _POSTCODE_TAIL.search(text[body:found]):
                break  # after a blank line only "Spain 61709" still belongs to the block
            out += items
            taken += 1
            blank = 0
            if text[found:stop].strip(" \t.,"):
                break  # the sentence goes on after the address
            cursor = stop + 1
        return out


#: Mathematical symbols that legacy Greek encodings and fonts put in place of letters.
_LOOKALIKE_LETTERS = str.maketrans({"\u2206": "\u0394", "\u2211": "\u03a3", "\u220f": "\u03a0"})

_UNIT_LINE = regex.compile(rf"(?m)^[ \t]*(?:>[ \t]*)*(?P<unit>{_UNIT_RX})[ \t]*,?[ \t]*$")
# A street line without a street word: capitalised words and a house number, nothing else.
_STREET_ABOVE = regex.compile(
    r"[ \t]*(?:>[ \t]*)*(?P<street>(?=[^\n]*\d)(?=[^\n]*\p{Lu})[\p{L}\p{M}\d][\p{L}\p{M}\d'’./ \t-]{3,60}?)[ \t,]*"
)
# The same street line at the end of a sentence: "The address of Persint is Fuglie 41
# Popović Dam" over "Suite 860": capitalised words and numbers after a lower-case word or
# a colon, a number among them, a capital or a number first.
_STREET_ABOVE_TAIL = regex.compile(
    r"(?:(?<=[:>][ \t]*)|(?<=\p{Ll}[ \t]+))"
    rf"(?P<street>(?=[^\n]*\d)(?:\p{{Lu}}[\p{{L}}\p{{M}}'’.-]*|\d{{1,6}}[A-Za-z]?)"
    rf"(?:[ \t]+(?:\p{{Lu}}[\p{{L}}\p{{M}}'’.-]*|\d{{1,6}}[A-Za-z]?|(?:{_PARTICLES})(?![\p{{L}}]))){{1,6}})[ \t,]*$"
)
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)(?:[a-z]*)\.?"
_DATE_IN_SPAN = regex.compile(
    rf"(?i)(?<![\p{{L}}\d])(?:\d{{1,2}}(?:st|nd|rd|th)?[ \t]+(?:of[ \t]+)?{_MONTH}[ \t]+\d{{2,4}}|"
    rf"{_MONTH}[ \t]+\d{{1,2}}(?:st|nd|rd|th)?,?[ \t]+\d{{4}})(?![\p{{L}}\d])"
)
# What may separate two elements of one block finding: spaces, line breaks, commas.
_BLOCK_GAP = regex.compile(r"[ \t]*(?:[,\n][ \t]*)*")
_NUMBER_DOT = regex.compile(r"\.(?=[ \t]*\n|[ \t]+(?i:apt|apartment|suite|ste|unit|flat)\b)")
# "Anna and Hersnapvej 75", "Oak and 5th Street": a named corner before a street line, at
# the start of a line, after a colon, a question or exclamation mark, or after a
# preposition of place. (Not after a full stop: "Mr. Smith and ..." would lose its title.)
# (MULTILINE: the search starts at the line's start, where "^" must match.)
_AND_BEFORE = regex.compile(
    r"(?m)(?:^|[:>?!]|\b(?i:to|at|on|in|is|of))[ \t]+((?:\p{Lu}[\p{L}\p{M}'’-]*[ \t]+){1,2}(?:and|&)[ \t]+)$|"
    r"^((?:\p{Lu}[\p{L}\p{M}'’-]*[ \t]+){1,2}(?:and|&)[ \t]+)$"
)


_NAME_BEFORE_NUMBER = regex.compile(
    r"(?m)(?:^[^\p{L}\p{N}\n]*|(?:[:]|\b(?i:to|at|in|on|is))[ \t]+)(\p{Lu}[\p{L}\p{M}'’-]{2,})[ \t]+$"
)


_ABBREVIATION_END = regex.compile(r"(?<![\p{L}])(?i:str|st|u|krt|rkp|ave|av|rd|blvd|avda|pl|ul|al|os)$")


# Hungarian street words: a house number after them is an ordinal, written with its dot
# ("Kossuth Lajos utca 12.", "Andrássy út 5."), so the dot is the number's, not a full stop.
_HUNGARIAN_STREET = regex.compile(
    r"(?<![\p{L}])(?i:utca|út|útja|tér|tere|körút|köz|u\.|krt\.|rkp\.|rakpart|fasor|sétány|sor)"
    r"[ \t]+\d{1,5}[A-Za-z]?(?:[-/]\d{1,4}[A-Za-z]?)?$"
)


def _keep_number_dot(text: str, start: int, end: int) -> int:
    """Keep the dot of a house number written "13." inside a block or after a Hungarian street word.

    ("Kossuth u. 4." at a line end, "útja 62. St.")
    """
    if end and text[end - 1].isdigit() and text[end : end + 1] == ".":
        if _NUMBER_DOT.match(text, end) or _HUNGARIAN_STREET.search(text, start, end):
            return end + 1
    return end


def _and_street_start(text: str, start: int) -> int:
    """Move ``start`` back over "Name and " or a name written before the house number.

    "Karl and Gartenstrasse 9" is one side of a corner; "Lindholm 12 Harbour Road" names the
    building before its street. Only at the start of a line or after a preposition of place.
    """
    line_start = text.rfind("\n", 0, start) + 1
    m = _AND_BEFORE.search(text, line_start, start)
    if not m:
        w = _NAME_BEFORE_NUMBER.search(text, line_start, start) if text[start : start + 1].isdigit() else None
        if w and not _has_stop_word(w.group(1)) and w.group(1).lower() not in _CLINICAL_HEADS:
            return w.start(1)
        return start
    group = 1 if m.group(1) else 2
    if _has_stop_word(m.group(group).rsplit(None, 1)[0]):
        return start
    return m.start(group)


# Postcodes in formats that are nothing else, with the region code written before them.
_POSTCODE_ANCHOR = regex.compile(
    r"(?<![\p{L}\d-])(?:"
    r"(?:[A-Z]{1,2}\d[A-Z\d]?|GIR)[ \t]?\d[ABD-HJLNP-UW-Z]{2}"  # UK
    rf"|(?:{_US_STATES}|{_US_STATE_NAMES})\.?,?[ \t]+\d{{5}}(?:-\d{{4}})?"  # US
    rf"|(?:{_US_STATES.lower()})[ \t]+\d{{5}}(?:-\d{{4}})?"  # US, typed in lower case
    r"|(?:AB|BC|MB|NB|NL|NS|NT|NU|ON|PE|QC|SK|YT)[ \t]+[A-Z]\d[A-Z][ \t]?\d[A-Z]\d"  # Canada
    r"|(?:NSW|VIC|QLD|SA|WA|TAS|NT|ACT)[ \t]+\d{4}"  # Australia
    r")(?![\p{L}\d-])"
)
# The last characters of every anchor format: digits (US, Australia), digit + two letters
# (UK), letter + digit after a digit (Canada).
_POSTCODE_TAIL_DIGITS = regex.compile(r"(?<=\d)(?:\d{3}|[A-Z]{2}|[A-Z]\d)(?![\p{L}\d-])")
_BACK_WORD = r"(?:[\p{L}\p{M}][\p{L}\p{M}\d'’.-]*|\d{1,4}(?i:st|nd|rd|th))"
# An element: a place (1-5 name words, a bracketed gloss allowed), a unit ("Flat 3"), or the
# street: house number + up to five words (numbers allowed inside: "2231 Hwy 9 South"), a
# post box or a rural route ("Route 1 Box 45").
_BACK_STREET = regex.compile(
    rf"(?:(?<![\p{{L}}\d])\d{{1,6}}[A-Za-z]?(?:[-/]\d{{1,4}}[A-Za-z]?)?"
    rf"[ \t]+{_BACK_WORD}(?:[ \t]+(?:{_BACK_WORD}|\d{{1,5}})){{0,4}}"
    r"|(?i:p\.?[ \t]?o\.?[ \t]*box|box|route|rr|hc)[ \t]+\d{1,6}(?:[ \t]+(?i:box)[ \t]+\d{1,6})?)$"
)
_BACK_UNIT = regex.compile(
    r"(?i:apt|apartment|suite|ste|unit|flat|floor|box|p\.?[ \t]?o\.?[ \t]*box)\.?[ \t]*#?[ \t]*\d{1,5}[A-Za-z]?"
)
_UNIT_NUMBER = regex.compile(r"(?i)\b(?:p\.?[ \t]?o\.?[ \t]*box|box|route|apt|suite|unit|flat)\.?[ \t]+\d")
_BACK_PLACE = regex.compile(rf"{_BACK_WORD}(?:[ \t]+(?:{_BACK_WORD}|\([^()\n]{{1,30}}\))){{0,4}}")


_BACK_STOP = _STOP_WORDS - frozenset({"st", "st.", "street", "road"})
# Heads of place names that are stop words on their own (as ``_SAINT``, in any case).
_PLACE_HEADS = frozenset(
    "st ste mt new upper lower north south east west great little old port mount fort san santa saint".split()
)
_UNIT_WORDS = frozenset({"unit", "suite", "apt", "apartment", "flat", "box", "floor", "route"})


def _element_words_ok(piece: str, *, lower: bool) -> bool:
    """Name words only: capitalised (all lower case in a lower-case block), no stop word.

    A leading "The" ("12 The Avenue"), particles inside ("Caxias do Sul") and short
    upper-case codes ("NW", "TX") are allowed; street words are ("Old Road").
    """
    words = [w for w in piece.split() if not w[0].isdigit() and not w.startswith("(")]
    for i, raw in enumerate(words):
        w = raw.strip(".,()'’").lower()
        if not w:
            continue
        code = raw.isupper() and len(raw.strip(".")) <= 3
        if (w in _PARTICLE_SET and i) or (w in _PLACE_HEADS and i < len(words) - 1):
            continue  # "Caxias do Sul", "New York", "Upper Hutt", "Old Road"
        if lower and not (raw.islower() or code):
            return False
        if not lower and not raw[0].isupper():
            return False
        if w in _BACK_STOP and not (i == 0 and w == "the") and not code:
            return False
        if w in _CLINICAL_HEADS and w not in _UNIT_WORDS:
            return False
    return True


def _walk_back(text: str, anchor: int, *, lower: bool) -> int | None:
    """Start of the address that ends with the postcode at ``anchor``, or None.

    Elements are separated by commas and line breaks (at most 4 lines up); the walk ends
    at the first element that starts with a house number, and takes a unit element written
    just before it ("Unit 5, 22 George St").
    """
    pos = anchor
    elements = 0
    lines = 0
    while elements < 6:
        # the element before ``pos``: back to the previous comma or line break
        seg_start = pos
        while seg_start > 0 and text[seg_start - 1] not in ",\n":
            seg_start -= 1
        seg = text[seg_start:pos]
        body = seg.strip(" \t")
        if body:
            street = _BACK_STREET.search(body)
            # (a unit, box or route number is no clinical head: "Route 1 Box 45")
            if (
                street
                and _element_words_ok(street.group(), lower=lower)
                and not _is_clinical_head(_UNIT_NUMBER.sub("", street.group()))
            ):
                begin = seg_start + (len(seg) - len(seg.lstrip(" \t"))) + street.start()
                return _unit_before(text, begin)
            if not (_BACK_PLACE.fullmatch(body) and _element_words_ok(body, lower=lower)):
                return None
            elements += 1
        elif pos == anchor:
            pass  # the postcode starts its line or follows a comma directly
        else:
            return None  # an empty element: ", ," or a blank line
        if seg_start == 0:
            return None
        if text[seg_start - 1] == "\n":
            lines += 1
            if lines > 4:
                return None
        pos = seg_start - 1
    return None


def _unit_before(text: str, begin: int) -> int:
    """Move ``begin`` back over a unit element written before the street ("Flat 3, ")."""
    m = regex.search(rf"(?:^|(?<=[\s,:]))({_BACK_UNIT.pattern})[ \t]*,[ \t]*$", text[max(0, begin - 30) : begin])
    return begin - (len(text[max(0, begin - 30) : begin]) - m.start(1)) if m else begin


_CALENDAR_WORDS = frozenset(
    """january february march april may june july august september october november december
    jan feb mar apr jun jul aug sep sept oct nov dec monday tuesday wednesday thursday friday
    saturday sunday am pm a.m. p.m. o'clock oclock north south east west""".split()
)


def _residence_name_ok(name: str) -> bool:
    """Whether the words after "lives at 12" can name a street.

    No stop word, clinical head, month, weekday, clock word or bare compass word ("lives at
    3 West Ward", "on 3 March").
    """
    for w in _words(name):
        bare = w.rstrip("s") if len(w) > 3 else w  # "Theatres", "Wards"
        if w in _STOP_WORDS or w in _CLINICAL_HEADS or bare in _CLINICAL_HEADS or w in _CALENDAR_WORDS:
            return False
    return True


def _has_clinical_word(piece: str) -> bool:
    return any(w in _CLINICAL_HEADS for w in _words(piece))


def _unit_street_ok(name: str) -> bool:
    """Whether the name words of a unit-anchored street can be a street name.

    No stop word (single letters and particles aside: "r josé a madeira"), no clinical
    head ("2 days ago unit 5"), no word closing a sentence ("4 overnight. Unit 4").
    """
    for raw in name.split():
        w = raw.strip(".,()'’").lower()
        if raw.endswith(".") and len(w) > 3:
            return False  # "4 overnight. Unit 4": a full stop ends the sentence, not a word
        if len(w) > 1 and w not in _PARTICLE_SET and (w in _STOP_WORDS or w in _CLINICAL_HEADS):
            return False
    return True


_LOWER_STOP = (frozenset(STOP_WORDS) - frozenset(_PARTICLES.split("|"))) | {"street", "road", "st", "avenue"}


def _cut_at_prose(text: str, start: int, end: int) -> int:
    """End the street before the first lower-case English word ("... St. the first three")."""
    lead = True  # "33 avenue de Provence": the street word after the numbers stays
    for w in regex.finditer(r"\S+", text[start:end]):
        word = w.group()
        if lead and not word[0].isdigit():
            lead = False
            continue
        if w.start() and word[0].islower() and word.strip(".,").lower() in _LOWER_STOP:
            return start + w.start()
    return end


# Capitalised heads of place names that are stop words on their own ("New Zealand",
# "Upper Austria", "St Georges"); dropped before the stop-word test when a name follows.
_SAINT = regex.compile(
    r"\b(?:St|Ste|Mt|New|NEW|Upper|UPPER|Lower|LOWER|North|NORTH|South|SOUTH|East|EAST|West|WEST|"
    r"Great|Little|Old|Port|Mount|Fort|San|Santa|Saint)\.?[ \t]+(?=\p{Lu})"
)


_FUNCTION_WORDS = frozenset(
    "the a an and or with for from to of in on at by is was no so as up st st. street road".split()
)
# Upper-case words stop a block only when they are letter or clinical words ("DIAGNOSIS",
# "DEAR"); "LOW STREET", "NO 14908" (a region code), "AT" are parts of an address.
_CAPS_STOP = (_STOP_WORDS - frozenset(STOP_WORDS) - _FUNCTION_WORDS - _GENERIC_FACILITY_WORDS) | frozenset(
    "clinic hospital ward diagnosis plan dear re".split()
)
_PARTICLE_SET = frozenset(_PARTICLES.split("|"))


def _has_stop_word(piece: str) -> bool:
    """Whether a candidate element holds a word that ends an address block.

    A lower-case particle between capitalised words is part of a place ("Caxias do Sul"),
    and an upper-case word is tested only against letter and clinical words.
    """
    if regex.match(rf"[ \t,.]*{_UNIT_RX}", piece):
        return False
    raw = _SAINT.sub("", piece).split()  # "St Georges" is a place, "St" alone a street word
    for i, word in enumerate(raw):
        bare = word.strip(".,()'’").lower()
        if bare not in _STOP_WORDS:
            continue
        if (
            word.islower()
            and bare in _PARTICLE_SET
            and 0 < i < len(raw) - 1
            and raw[i - 1][:1].isupper()
            and raw[i + 1][:1].isupper()
        ):
            continue
        if word.strip(".,()").isupper() and len(bare) > 1 and bare not in _CAPS_STOP:
            continue
        return True
    return False
