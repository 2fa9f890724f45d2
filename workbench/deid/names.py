"""Given names without a title or label: a gazetteer from Faker's name lists, plus context.

A letter or message that says "Alina is very reliable" or "Hi Victor," has no title to
anchor a name, and the English NER model misses many non-English names. Faker (MIT,
offline) ships first- and last-name lists for about 80 locales (~31,000 given names,
~29,000 surnames); we read them once, in this process, never from the network.

Precision guards, because many names are also words ("Will", "Grace", "Ward", "May"):

* a hit needs a *given* name that is not an English stop word, a common English word
  (Faker's own en_US word list), a month, a weekday or a clinical/letter word; surnames
  alone never trigger (they are eponyms too: "Parkinson", "Wilson", "Graves");
* an eponym ("Addison's disease", "Bell palsy") is not a person;
* lower-case words are names only when the whole text is lower case (chat logs,
  transcripts), or right after "my name is", "call me", "called", "named".

The finding covers the run of capitalised words and initials around the given name
("Ryan P Costa"), so no surname is left behind.
"""

from __future__ import annotations

import functools
import importlib
import logging
import pkgutil
from typing import ClassVar

import regex
from presidio_analyzer import AnalysisExplanation, LocalRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from spacy.lang.en.stop_words import STOP_WORDS

from workbench.deid.recognizers import _GENERIC_FACILITY_WORDS, _NOT_NAME_WORDS

logger = logging.getLogger(__name__)

__all__ = ["GivenNameRecognizer", "name_gazetteer"]

_EXTRA_COMMON = frozenset(
    """will may june april august grace hope faith joy mark bill rose lily iris pat sue art
    guy jack sunny summer dawn page hall king young white black brown green gray grey long
    short little wood stone cook baker house street field bush reading bath mobile china
    ward bed bay room type grade stage day week cycle sister nurse doctor patient son
    daughter wife husband mother father baby child kid carer friend neighbour neighbor
    happy love star angel honey ice sky rain river forest lake crystal amber ruby pearl
    jade ivy holly heather violet daisy poppy fern sage olive hazel autumn winter spring
    north south east west liberty justice destiny harmony melody unity trinity chance
    miles sterling hunter ray fox wolf bear lion drake rex duke earl prince princess
    queen major rich price penny cash bonnie sandy rusty dusty misty stormy
    """.split()
)
_MONTHS_DAYS = frozenset(
    """january february march april may june july august september october november
    december monday tuesday wednesday thursday friday saturday sunday""".split()
)
_EPONYM_AFTER = regex.compile(
    r"(?i)^(?:['’]s)?[ \t]+(?:disease|syndrome|sign|palsy|phenomenon|test|score|scale|"
    r"criteria|classification|staging|procedure|operation|repair|pouch|node|lymphoma|"
    r"sarcoma|tumou?r|ulcer|oesophagus|esophagus|thyroiditis|contracture|fracture|"
    r"hernia|manoeuvre|maneuver|reflex|law|formula|equation|index|catheter|tube|line|"
    r"pump|needle|incision|approach|technique|method|ward|unit|clinic|hospital|building|"
    r"street|road|avenue|lane|drive)\b"
)


def _values(v: object) -> list[str]:
    if isinstance(v, dict):
        return [str(k) for k in v]
    if isinstance(v, list | tuple | set | frozenset):
        return [str(k) for k in v]
    return []


@functools.cache
def name_gazetteer() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """Return (given names, surnames, common words), lower-cased; empty sets without Faker.

    Cached per process (~0.5 s once). The common-word list removes names that are also
    ordinary English words, so "Will you call" is not a name.
    """
    try:
        import faker.providers.lorem.en_US as lorem
        import faker.providers.person as person
    except ImportError:
        logger.warning("Faker is not installed: the given-name gazetteer is empty")
        return frozenset(), frozenset(), frozenset()
    given: set[str] = set()
    family: set[str] = set()
    for info in pkgutil.iter_modules(person.__path__):
        try:
            provider = importlib.import_module(f"{person.__name__}.{info.name}").Provider
        except (ImportError, AttributeError):
            continue
        # Every list a locale ships ("first_names_female_islamic", "last_names_male",
        # "first_romanized_names", ...): gendered surnames matter in Slavic languages.
        for attr in dir(provider):
            if attr.startswith(("first_name", "first_romanized_name", "middle_name")) and "pair" not in attr:
                given.update(n.lower() for n in _values(getattr(provider, attr, None)))
            elif ("last_name" in attr or "last_romanized_name" in attr) and "pair" not in attr:
                family.update(n.lower() for n in _values(getattr(provider, attr, None)))
        given.discard("")
        family.discard("")
    common = (
        frozenset(STOP_WORDS)
        | frozenset(w.lower() for w in lorem.Provider.word_list)
        | _EXTRA_COMMON
        | _MONTHS_DAYS
        | _NOT_NAME_WORDS
        | _GENERIC_FACILITY_WORDS
    )
    return frozenset(given), frozenset(family), frozenset(common)


_TOKEN = regex.compile(r"[\p{L}\p{M}][\p{L}\p{M}'’-]*\.?")
# "last name is Nyberg", "Surname: Ovsyannikova", "Name:  hyuuma t. maida": whatever follows
# such a label on its line is a name, listed or not (up to four words and initials).
_NAME_LABEL = regex.compile(
    r"(?i)(?<!(?:drug|brand|generic|product|file|user|company|business|street|trade|domain|host|"
    r"code|test|study|project|team|ward|unit|device|model|account|club|band|song|book|film|pet)[ \t])"
    r"\b(?:(?:first|last|given|family|middle|maiden|birth|full|sur)[ \t]*name|name)"
    r"(?:[ \t]+(?:is|was))?[ \t]*(?::|\?|-|(?<=is|was))[ \t]*"
    r"(?P<name>[\p{L}\p{M}][\p{L}\p{M}'’-]*\.?(?:[ \t]{1,2}[\p{L}\p{M}][\p{L}\p{M}'’-]*\.?){0,3})"
)
# A listed surname on its own is a person next to a verb of saying or a credit ("says
# Bergqvist", "Bergqvist said", "directed by Torpy").
_SAY = r"says|said|asks|asked|replies|replied|writes|wrote|adds|added"
_SURNAME_CONTEXT = regex.compile(
    rf"(?i:\b(?:{_SAY}|by|featuring|starring)[ \t]+)(?P<a>\p{{Lu}}[\p{{L}}\p{{M}}'’-]+)|"
    rf"(?<![\p{{L}}\p{{M}}'’-])(?P<b>\p{{Lu}}[\p{{L}}\p{{M}}'’-]+)(?=[ \t]+(?i:{_SAY})\b)"
)
# The subject of "lives at/on/in" is a person ("Tomomi Nishiyama lives at ..."); up to four
# capitalised words and initials at a sentence start.
_LIVES = regex.compile(
    r"(?:^|(?<=[.!?\n>\"“][ \t]*))(?P<name>\p{Lu}[\p{L}\p{M}'’-]+(?:[ \t]+(?:\p{Lu}\.?|\p{Lu}[\p{L}\p{M}'’-]+)){0,3})"
    r"[ \t]+(?:lives|lived|resides|resided|is[ \t]+living|was[ \t]+living|grew[ \t]+up)[ \t]+(?:at|on|in)\b",
    regex.MULTILINE,
)
# After a verb of saying, a capitalised word that is no common word, closing the clause, is
# the speaker ("..., says Hauta-aho."), listed or not.
_SPEAKER_AFTER = regex.compile(
    rf"(?i:\b(?:{_SAY})[ \t]+)(?P<name>\p{{Lu}}[\p{{L}}\p{{M}}'’-]+(?:[ \t]+\p{{Lu}}[\p{{L}}\p{{M}}'’-]+){{0,2}})"
    r"(?=[ \t]*(?:[.,;!?\"”]|$))"
)
_CONTEXT_LOWER = regex.compile(r"(?i)(?:my\s+name\s+is|name\s+is|call\s+me|called|named|i\s+am|i'm)[ \t]+$")


class GivenNameRecognizer(LocalRecognizer):
    """Capitalised runs of words that contain a known given name ("Alina", "Ryan P Costa")."""

    ENTITY: ClassVar[str] = "PERSON"
    name: str  # set by ``EntityRecognizer.__init__`` (unannotated there)
    SCORE: ClassVar[float] = 0.6

    def __init__(self) -> None:
        self.given, self.family, self.common = name_gazetteer()
        super().__init__(supported_entities=[self.ENTITY], name=type(self).__name__, supported_language="en")

    def load(self) -> None:
        """The gazetteer loads in ``__init__`` (cached per process)."""

    def _is_given(self, word: str) -> bool:
        w = word.strip(".'’").lower()
        return len(w) > 1 and w in self.given and w not in self.common

    def _result(self, start: int, end: int, pattern: str) -> RecognizerResult:
        return RecognizerResult(
            self.ENTITY,
            start,
            end,
            self.SCORE,
            analysis_explanation=AnalysisExplanation(
                recognizer=self.name,
                original_score=self.SCORE,
                pattern_name=pattern,
                textual_explanation=f"Detected by `{self.name}` using `{pattern}`",
            ),
            recognition_metadata={
                RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
            },
        )

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        """Return runs around given names (capitalised, or any case in an all-lower-case text)."""
        if not self.given:
            return []
        lower_text = not any(c.isupper() for c in text)
        tokens = list(_TOKEN.finditer(text))
        out: list[RecognizerResult] = []
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            word = tok.group()
            context = bool(_CONTEXT_LOWER.search(text[max(0, tok.start() - 20) : tok.start()]))
            cased = word[0].isupper() or lower_text or context
            if not (cased and self._is_given(word)) or (word[0].isupper() and word.isupper() and len(word) <= 3):
                i += 1
                continue
            j = i
            while j + 1 < len(tokens) and self._continues(text, tokens[j], tokens[j + 1], lower_text):
                j += 1
            start, end = tok.start(), tokens[j].end()
            if text[end - 1] == "." and len(tokens[j].group()) > 2:
                end -= 1
            if not _EPONYM_AFTER.match(text[end : end + 40]):
                out.append(self._result(start, end, "given_name" if not lower_text else "given_name_lower"))
            i = j + 1
        out += self._labelled(text)
        out += self._surnames(text)
        out += self._subjects(text)
        return out

    def _subjects(self, text: str) -> list[RecognizerResult]:
        """Who lives somewhere, and who says something, when written as a name."""
        out = []
        for rx, pattern in ((_LIVES, "lives_subject"), (_SPEAKER_AFTER, "speaker")):
            for m in rx.finditer(text):
                words = m.group("name").split()
                bare = [w.strip(".'’").lower() for w in words]
                if any(len(b) > 1 and b in self.common for b in bare) or words[0].isupper():
                    continue
                out.append(self._result(m.start("name"), m.end("name"), pattern))
        return out

    def _labelled(self, text: str) -> list[RecognizerResult]:
        """Words after a name label ("maiden name is ...", "Surname: ..."), cut at a common word."""
        out = []
        for m in _NAME_LABEL.finditer(text):
            words = list(regex.finditer(r"\S+", m.group("name")))
            keep = []
            for w in words:
                bare = w.group().strip(".,'’").lower()
                if bare in self.common and bare not in self.given and bare not in self.family:
                    break
                keep.append(w)
            if keep:
                base = m.start("name")
                end = base + keep[-1].end()
                if text[end - 1] == "." and len(keep[-1].group()) > 2:
                    end -= 1
                out.append(self._result(base + keep[0].start(), end, "name_label"))
        return out

    def _surnames(self, text: str) -> list[RecognizerResult]:
        """Listed surnames next to a verb of saying or a credit ("says Lindqvist")."""
        out = []
        for m in _SURNAME_CONTEXT.finditer(text):
            group = "a" if m.group("a") else "b"
            word = m.group(group)
            bare = word.lower()
            if word.isupper() or bare not in self.family or bare in self.common:
                continue
            end = m.end(group)
            if not _EPONYM_AFTER.match(text[end : end + 40]):
                out.append(self._result(m.start(group), end, "surname_context"))
        return out

    def _continues(self, text: str, prev: regex.Match[str], nxt: regex.Match[str], lower_text: bool) -> bool:
        """Whether ``nxt`` extends the name ending at ``prev`` (same line, one space apart)."""
        gap = text[prev.end() : nxt.start()]
        if gap not in (" ", "  ") or len(nxt.group()) > 20:
            return False
        if prev.group().endswith(".") and len(prev.group().strip(".'’")) > 1:
            return False  # "Kate M Begum. What": a full stop after a word ends the name
        w = nxt.group()
        bare = w.strip(".'’").lower()
        if bare in self.common and len(bare) > 1:
            return False
        if lower_text:
            return len(bare) == 1 or bare in self.given or bare in self.family
        return w[0].isupper() and (len(bare) == 1 or not w.isupper() or len(bare) > 3)
