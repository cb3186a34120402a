"""Reading grade, offline: Flesch-Kincaid grade for English, Crawford's grade for Spanish.

Syllables are counted by rule (vowel groups with silent endings in English; vowel nuclei with diphthongs
and hiatus in Spanish). textstat was the obvious library but downloads NLTK's cmudict at run time for
English, which an offline console cannot do.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)*")  # don't, and the same with a typographic apostrophe
_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)|\n{1,}")
_URL = re.compile(r"https?://\S+|\b\S+\.(?:gov|org|com|net|us)\S*", re.I)

_EN_SILENT = re.compile(r"(?:[^laeiouy]es|ed|[^laeiouy]e)$")
_EN_VOWELS = re.compile(r"[aeiouy]{1,2}")
_ES_STRONG = set("aeoáéíóú")
_ES_WEAK = set("iuü")


def syllables_en(word: str) -> int:
    w = word.lower()
    if len(w) <= 3:
        return 1
    w = _EN_SILENT.sub("", w)
    w = w.removeprefix("y")
    return max(1, len(_EN_VOWELS.findall(w)))


def syllables_es(word: str) -> int:
    w = word.lower()
    count, prev = 0, ""
    for ch in w:
        if ch in _ES_STRONG or ch in _ES_WEAK:
            # two strong vowels side by side are two syllables (hiatus); any weak one joins (diphthong)
            if not prev or (prev in _ES_STRONG and ch in _ES_STRONG):
                count += 1
            prev = ch
        else:
            prev = ""
    if w.endswith("y") and len(w) > 1 and w[-2] not in _ES_STRONG | _ES_WEAK:
        count += 1  # "muy" no, "hay" no, but "y" after a consonant is a vowel
    return max(1, count)


def _counts(text: str, lang: str) -> tuple[int, int, int]:
    text = _URL.sub(" ", text)
    words = _WORD.findall(text)
    sentences = max(1, len([s for s in _SENTENCE_END.split(text) if _WORD.search(s)]))
    count = syllables_es if lang == "es" else syllables_en
    return len(words), sentences, sum(count(w) for w in words)


def word_count(text: str) -> int:
    return len(_WORD.findall(_URL.sub(" ", text)))


def grade(text: str, lang: str) -> float:
    """US school grade needed to read ``text`` (0 for empty text)."""
    words, sentences, syllables = _counts(text, lang)
    if not words:
        return 0.0
    if lang == "es":
        per100_sentences = sentences * 100 / words
        per100_syllables = syllables * 100 / words
        return -0.205 * per100_sentences + 0.049 * per100_syllables - 3.407
    return 0.39 * words / sentences + 11.8 * syllables / words - 15.59
