"""Lint: what a communicator must see before a text goes out, each finding with a code and a plain message."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from crisisdesk.domain.facts import language_name, translation_problem
from crisisdesk.domain.languages import foreign_passages
from crisisdesk.domain.readability import grade, word_count
from crisisdesk.domain.render import strip_exercise_marks
from crisisdesk.domain.text_rules import Channel, Finding, find_urls

# Characters that IPAWS and many handsets mangle: typographic quotes, dashes and ellipses, odd spaces.
IPAWS_UNSAFE = {
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201b": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u2013": "-",
    "\u2014": "-",
    "\u2026": "...",
    "\u00a0": " ",
    "\u2022": "-",
    "\u00b4": "'",
    "\u2032": "'",
    "\u2033": '"',
}
STRICT_CHANNELS = frozenset(
    {
        Channel.WEA_90,
        Channel.WEA_360,
        Channel.SMS,
        Channel.CAP_HEADLINE,
        Channel.CAP_DESCRIPTION,
        Channel.CAP_INSTRUCTION,
    }
)
BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff\u180e")
NOT_A_DRILL = {
    "en": (
        "this is not a drill",
        "not a drill",
        "this is not an exercise",
        "not an exercise",
        "this is not a test",
        "not a test",
        "real emergency",
        "this is real",
    ),
    "es": (
        "esto no es un simulacro",
        "no es un simulacro",
        "no es un ejercicio",
        "esto no es una prueba",
        "no es una prueba",
        "emergencia real",
        "esto es real",
    ),
}
PROTECTIVE_ACTIONS = {
    "en": r"\b("
    r"evacuate|leave|go|move|shelter|stay|avoid|boil|call|do not|don't|turn around|get|seek|take|check|conserve|"
    r"limit|keep|close|follow|prepare|report|drink|use|wear|lock|help|find|watch|listen|text|be ready"
    r")\b",
    "es": r"\b("
    r"evac[uú]e|salga|vaya|mu[eé]vase|ref[uú]giese|qu[eé]dese|permanezca|evite|hierva|llame|no|d[eé] la vuelta|"
    r"busque|tome|revise|prep[aá]rese|ag[aá]chese|c[uú]brase|ag[aá]rrese|suba|reporte|beba|use|cierre|siga|"
    r"ahorre|mantenga|ayude|escuche|env[ií]e|est[eé] listo|dir[ií]jase|entre|consiga"
    r")\b",
}
# Channels on which an alert must be complete on its own (the short headline channels are not).
COMPLETE_CHANNELS = frozenset(
    {
        Channel.SMS,
        Channel.WEA_360,
        Channel.X,
        Channel.MASTODON,
        Channel.BLUESKY,
        Channel.FACEBOOK,
        Channel.EMAIL_BODY,
        Channel.WEB,
    }
)
# Words that say the earlier alert no longer applies, which every cancel must say (CD111).
NO_LONGER_APPLIES = {
    "en": r"\b("
    r"cancel(?:l?ed|s|l?ing)?|no longer (?:in effect|applies|valid)|called off|withdrawn|rescinded|lifted"
    r")\b",
    "es": r"\b("
    r"cancel(?:ad[oa]s?|a|amos|[oó]|aron)|ya no (?:est[aá] vigente|aplica|rige|es v[aá]lid[oa])|"
    r"(?:queda|qued[oó]) sin efecto|anulad[oa]s?|levantad[oa]s?|retirad[oa]s?"
    r")\b",
}
# Words that say the alert was sent in error, which a false alarm's cancel and correction must say (CD112). A
# correction that says so states what was wrong (all of it), so it also answers CD110.
SENT_IN_ERROR = {
    "en": r"\b(?:(?:sent|issued) (?:in error|by mistake)|false alarm)\b",
    "es": r"\b(?:(?:enviad[oa]s?|emitid[oa]s?|se envi[oó]|se emiti[oó]) por (?:error|equivocaci[oó]n)|falsa alarma)\b",
}
# Channels that carry what a correction or cancel says; the CAP instruction says only what to do, next to the CAP
# description, which says the rest.
STATING_CHANNELS = frozenset(Channel) - {Channel.CAP_INSTRUCTION}
SOCIAL_CHANNELS = frozenset(
    {Channel.X, Channel.MASTODON, Channel.BLUESKY, Channel.FACEBOOK, Channel.WEB, Channel.EMAIL_BODY}
)
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{%|%\}|\[\[|\]\]|<<|>>|\bTBD\b|\bXXX+\b|\[INSERT|\bFIXME\b", re.I)
_HASHTAG = re.compile(r"(?<![\w&])#([^\W_][\w]*)")
_PHONE = re.compile(r"(?<!\d)(?:\+?1[\s.-]?)?(?:\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}|\b[2-9]11\b)(?!\d)")
MIN_WORDS_FOR_GRADE = 25


@dataclass(frozen=True, slots=True)
class LintContext:
    """What the lint needs to know beyond the text itself."""

    mode: str = "live"  # live | exercise
    message_type: str = "alert"
    reading_grade: int = 8
    who: Sequence[str] = ()  # the sender's names in this language
    what: Sequence[str] = ()  # the event's names in this language
    where: Sequence[str] = ()  # the rendered area and place facts
    expiry: Sequence[str] = ()  # the rendered expiry facts
    media: Sequence[tuple[str, str | None]] = field(default=())  # (file, alt text in this language)
    # The languages to tell a text's language from (the playbook's and English); none: the language is not checked.
    languages: Sequence[str] = ()
    names: Sequence[str] = ()  # facts written the same in every language (a shelter's name): no language's words
    # Translated facts with no value in this language: (fact, the other language's value the text shows instead).
    untranslated: Sequence[tuple[str, str]] = ()
    # What a correction must state (what was wrong, what is true now) as written in this language; None: not known
    # here (a bare text check), so not checked.
    corrected: Sequence[str] | None = None
    false_alarm: bool = False  # the incident is a false alarm: its cancel and correction must say so


def _says(text: str, patterns: dict[str, str], lang: str) -> bool:
    return re.search(patterns.get(lang, patterns["en"]), text, re.I) is not None


def _flat(text: str) -> str:
    return " ".join(text.split()).casefold()


def _contains(text: str, needles: Sequence[str]) -> bool:
    low = text.casefold()
    return any(n and n.casefold() in low for n in needles)


def lint(text: str, channel: Channel, lang: str, ctx: LintContext) -> list[Finding]:
    """The findings on one variant's text. The same text in the same context is checked once: a message is shown
    after each step of its life (drafted, submitted, approved, published) and an incident's updates repeat texts,
    and the language and reading checks are the costly part (a year of 20,000 messages: 60% of their time)."""
    try:
        hash(ctx)
    except TypeError:  # a context built with lists: checked every time
        return _lint(text, channel, lang, ctx)
    return list(_lint_once(text, channel, lang, ctx))


@lru_cache(maxsize=4096)
def _lint_once(text: str, channel: Channel, lang: str, ctx: LintContext) -> tuple[Finding, ...]:
    return tuple(_lint(text, channel, lang, ctx))


def _lint(text: str, channel: Channel, lang: str, ctx: LintContext) -> list[Finding]:
    findings: list[Finding] = []
    strict = channel in STRICT_CHANNELS

    unsafe = sorted({ch for ch in text if ch in IPAWS_UNSAFE})
    if unsafe:
        shown = ", ".join(f"{ch!r} (use {IPAWS_UNSAFE[ch]!r})" for ch in unsafe)
        findings.append(
            Finding("CD101", "error" if strict else "warning", f"characters that break IPAWS and some phones: {shown}")
        )
    if strict and any(ord(ch) > 0xFFFF for ch in text):
        findings.append(Finding("CD101", "error", "emoji and other characters beyond the BMP do not reach WEA or CAP"))

    hidden = []
    for ch in sorted(set(text)):
        if ch in BIDI:
            hidden.append(f"bidi control U+{ord(ch):04X}")
        elif ch in ZERO_WIDTH:
            hidden.append(f"zero-width U+{ord(ch):04X}")
        elif unicodedata.category(ch) == "Cc" and ch not in "\n\t":
            hidden.append(f"control U+{ord(ch):04X}")
    if hidden:
        findings.append(Finding("CD102", "error", "invisible characters: " + ", ".join(hidden)))

    if ctx.mode == "exercise":
        phrases = NOT_A_DRILL.get(lang, ()) + NOT_A_DRILL["en"]
        said = [p for p in phrases if p in text.casefold()]
        if said:
            findings.append(Finding("CD103", "error", f"exercise text must never say {said[0]!r}"))

    if channel in SOCIAL_CHANNELS:
        for file, alt in ctx.media:
            if not alt or not alt.strip():
                findings.append(Finding("CD104", "error", f"image {file} has no alt text in {lang}"))

    for tag in _HASHTAG.findall(text):
        letters = [c for c in tag if c.isalpha()]
        if len(tag) >= 8 and letters and (all(c.islower() for c in letters) or all(c.isupper() for c in letters)):
            findings.append(
                Finding(
                    "CD105",
                    "warning",
                    f"#{tag}: write hashtags in CamelCase (a capital for each word) so screen readers say the words",
                )
            )

    prose = strip_exercise_marks(text) if ctx.mode == "exercise" else text
    if word_count(prose) >= MIN_WORDS_FOR_GRADE:
        level = grade(prose, lang)
        if level > ctx.reading_grade:
            findings.append(
                Finding(
                    "CD106",
                    "warning",
                    f"reads at grade {level:.1f}, above the target {ctx.reading_grade}: "
                    "use shorter sentences and shorter words",
                )
            )

    if ctx.message_type == "alert" and channel in COMPLETE_CHANNELS:
        missing = []
        if ctx.who and not _contains(text, ctx.who):
            missing.append("who (the sender)")
        if ctx.what and not _contains(text, ctx.what):
            missing.append("what (the event)")
        if ctx.where and not _contains(text, ctx.where):
            missing.append("where")
        if not re.search(PROTECTIVE_ACTIONS.get(lang, PROTECTIVE_ACTIONS["en"]), text, re.I):
            missing.append("a protective action")
        if ctx.expiry and not _contains(text, ctx.expiry):
            missing.append("until when")
        if not find_urls(text) and not _PHONE.search(text):
            missing.append("a source link or phone number")
        if missing:
            findings.append(Finding("CD107", "warning", "the alert does not say " + ", ".join(missing)))

    findings += _corrections_and_cancels(text, channel, lang, ctx)

    left = sorted({m.group(0) for m in _PLACEHOLDER.finditer(text)})
    if left:
        findings.append(Finding("CD108", "error", "unrendered placeholder: " + " ".join(left)))

    for url in find_urls(text):
        if url.has_scheme and not url.https:
            findings.append(Finding("CD109", "error", f"{url.text}: links must use https://"))
        elif not url.has_scheme:
            findings.append(Finding("CD109", "warning", f"{url.text}: write the link in full with https://"))

    findings += _language_findings(text, prose, lang, ctx)
    return findings


def _language_findings(text: str, prose: str, lang: str, ctx: LintContext) -> list[Finding]:
    """CD121: a fact with no value in this language shows another language's; CD120: clauses in another language."""
    findings = []
    language = language_name(lang)
    for name, shown in ctx.untranslated:
        if shown and shown in text:
            findings.append(
                Finding(
                    "CD121",
                    "warning",
                    f"{translation_problem(name, lang)}: this text shows {shorten(shown)!r} instead; give "
                    f"{name}@{lang} and draft again, or write it in {language} here",
                )
            )
    if ctx.languages:
        passages = foreign_passages(prose, lang, ctx.languages, ctx.names)
        if passages:
            shown = "; ".join(repr(shorten(p.text)) for p in passages[:3])
            others = sorted({language_name(p.lang) for p in passages})
            findings.append(
                Finding(
                    "CD120",
                    "warning",
                    f"not in {language}: {shown} reads as {' and '.join(others)}; write it in {language}",
                )
            )
    return findings


def shorten(text: str, most: int = 60) -> str:
    return text if len(text) <= most else text[: most - 3].rstrip() + "..."


def _corrections_and_cancels(text: str, channel: Channel, lang: str, ctx: LintContext) -> list[Finding]:
    """A correction states what was wrong and what is true now; a cancel says the earlier alert no longer applies;
    a false alarm's cancel and correction say it was sent in error. On every channel: a person may see only one."""
    if channel not in STATING_CHANNELS or ctx.message_type not in ("correction", "cancel"):
        return []
    findings = []
    in_error = _says(text, SENT_IN_ERROR, lang)
    if ctx.message_type == "correction" and ctx.corrected is not None and not in_error:
        stated = [c for c in ctx.corrected if c.strip()]
        if not stated:
            findings.append(
                Finding(
                    "CD110",
                    "error",
                    "a correction must say what was wrong and what is true now: "
                    "fill in the playbook's correction fact (What was wrong)",
                )
            )
        elif not any(_flat(c) in _flat(text) for c in stated):
            findings.append(
                Finding(
                    "CD110",
                    "error",
                    f"the correction does not say what was wrong and what is true now ({stated[0]!r}): "
                    "write the correction fact into the text",
                )
            )
    if ctx.message_type == "cancel" and not in_error and not _says(text, NO_LONGER_APPLIES, lang):
        word = {"es": "cancelado"}.get(lang, "canceled")
        findings.append(
            Finding("CD111", "error", f"the cancel does not say that the earlier alert no longer applies ({word!r})")
        )
    if ctx.false_alarm and not in_error:
        phrase = {"es": "enviada por error"}.get(lang, "sent in error")
        findings.append(
            Finding(
                "CD112",
                "error",
                f"this is a false alarm: the {ctx.message_type} must say that the alert was {phrase!r}",
            )
        )
    return findings
