"""Which language a text is written in, for the lint that flags a variant not in its declared language (CD120).

The detector is lingua, made for short and mixed-language text, offline. It tells apart only the languages asked for
(the playbook's, and English, the language a text most often slips into), which makes it faster and more accurate
than choosing among seventy-five. Its models are compiled into its extension module: building a detector and
detecting read no file (checked with strace), so this stays within the domain's rule of no I/O. The detector is built
once per set of languages, when first asked; the models load on the first detection (about 0.5 s and 90 MB for
English and Spanish), after which a clause takes well under a millisecond.

A text is read clause by clause (split at sentence and clause punctuation), because what goes wrong is a clause:
"...sobre la Orden de Evacuación, the way out is Highway 49 south, not north." Links, numbers, hashtags and the names
the incident uses in every language (a shelter's name and address) are taken out first: they belong to no language.
Each line and each clause is read once and remembered, so the composer, which lints on every keystroke, pays only
for the line being typed (bench/languages.py).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from lingua import IsoCode639_1, Language, LanguageDetector, LanguageDetectorBuilder

from crisisdesk.domain.facts import base_language

MIN_WORDS = 3  # a clause of one or two words ("Info:", "Vea", "Mill County") is too short to tell reliably
MIN_CONFIDENCE = 0.9  # how sure the detector must be that a clause is in another language
SHORT_TEXT_WORDS = 40  # a text of at most this many words is also read whole (its clauses may all be short)
# Links, e-mail and web addresses, hashtags and mentions, and anything with a digit: no language's words.
_NOT_WORDS = re.compile(
    r"https?://\S+|\S+@\S+|\b[\w-]+(?:\.[\w-]+)+(?:/\S*)?|[#@]\w+|\S*\d\S*",
    re.IGNORECASE,
)
# Clauses end at sentence and clause punctuation and at line ends; brackets set a clause apart.
_CLAUSE = re.compile(r"[^.!?¡¿;:,()\[\]\n\"«»]+")
_WORD = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)*")

_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class Passage:
    """A clause of a text that reads as another language than the text's."""

    text: str
    lang: str  # the language it reads as
    confidence: float


def _lingua(code: str) -> Language | None:
    try:
        return Language.from_iso_code_639_1(IsoCode639_1.from_str(base_language(code)))
    except ValueError:
        return None


@lru_cache(maxsize=16)
def _detector(codes: tuple[str, ...]) -> LanguageDetector:
    """One detector per set of languages, built once (lingua shares the loaded models between detectors)."""
    languages = [lang for lang in (_lingua(c) for c in codes) if lang is not None]
    return LanguageDetectorBuilder.from_languages(*languages).build()


def _codes(languages: Sequence[str]) -> tuple[str, ...]:
    """The languages the detector can tell apart, as sorted base codes ("es-US" -> "es")."""
    return tuple(sorted({base_language(c) for c in languages if _lingua(c) is not None}))


@lru_cache(maxsize=32_768)
def clause_language(words: str, codes: tuple[str, ...]) -> tuple[str, float]:
    """The most likely language of a clause (its words joined by spaces) among ``codes``, and how sure that is."""
    with _lock:  # the first call builds the detector and loads its models: once, not once per thread
        detector = _detector(codes)
    values = detector.compute_language_confidence_values(words)
    if not values:
        return "", 0.0
    best = values[0]
    return best.language.iso_code_639_1.name.lower(), best.value


def _mask(text: str, names: Sequence[str]) -> str:
    """``text`` with names, links and numbers blanked out, every character kept in its place."""
    for name in sorted(names, key=len, reverse=True):
        text = text.replace(name, "\n" + " " * (len(name) - 1))  # a name both ends a clause and is no language's
    return _NOT_WORDS.sub(lambda m: " " * len(m.group(0)), text)


def foreign_passages(text: str, lang: str, languages: Sequence[str], names: Sequence[str] = ()) -> list[Passage]:
    """The clauses of ``text`` that read as another of ``languages`` than ``lang``, surely enough to say so; a short
    text of short clauses ("ALL CLEAR: 911 works again.") is read whole.

    ``names`` are written the same in every language (places, people) and are not read. Nothing is found when the
    detector cannot tell ``lang`` from the others (an unknown language, or no other to tell it from)."""
    own = base_language(lang)
    codes = _codes([*languages, lang])
    if own not in codes or len(codes) < 2:
        return []
    kept_names = tuple(sorted({n for n in names if len(n) > 1 and "\n" not in n}))
    found: list[Passage] = []
    words: list[str] = []
    # Line by line, each line read once and remembered: typing changes one line, the others are looked up.
    for line in text.split("\n"):
        passages, line_words = _read_line(line, own, codes, kept_names)
        found += passages
        if len(words) <= SHORT_TEXT_WORDS:
            words += line_words
    if not found and MIN_WORDS <= len(words) <= SHORT_TEXT_WORDS:
        best, confidence = clause_language(" ".join(words), codes)
        if best and best != own and confidence >= MIN_CONFIDENCE:
            found.append(Passage(" ".join(text.split()), best, confidence))
    return found


@lru_cache(maxsize=8192)
def _read_line(
    line: str, own: str, codes: tuple[str, ...], names: tuple[str, ...]
) -> tuple[tuple[Passage, ...], tuple[str, ...]]:
    """A line's clauses in another language than ``own``, and its words."""
    masked = _mask(line, names)
    found = []
    words: list[str] = []
    for clause in _CLAUSE.finditer(masked):
        clause_words = _WORD.findall(clause.group(0))
        words += clause_words
        if len(clause_words) < MIN_WORDS:
            continue
        best, confidence = clause_language(" ".join(clause_words), codes)
        if best and best != own and confidence >= MIN_CONFIDENCE:
            shown = " ".join(line[clause.start() : clause.end()].split())
            found.append(Passage(shown, best, confidence))
    return tuple(found), tuple(words)


def forget() -> None:
    """Drop every remembered line and clause (the detector and its models stay): for measuring and tests."""
    _read_line.cache_clear()
    clause_language.cache_clear()
