"""A playbook's message, rendered for every channel of one language, with counts and lint."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo
from typing import Any

from crisisdesk.domain.errors import UserError
from crisisdesk.domain.facts import (
    WORDED,
    BadFact,
    FactType,
    fact_key,
    format_fact,
    format_time_of,
    format_when,
    parse_area_description,
    parse_fact,
    split_key,
    value_in,
)
from crisisdesk.domain.lint import LintContext, lint
from crisisdesk.domain.message_types import MESSAGE_TYPES, MODES
from crisisdesk.domain.playbook import Playbook
from crisisdesk.domain.render import TemplateError, fact_context, mark_exercise, render_source
from crisisdesk.domain.text_rules import Channel, Finding, Measure, measure


@dataclass(frozen=True, slots=True)
class Variant:
    channel: str
    lang: str
    text: str
    measure: Measure
    findings: tuple[Finding, ...]

    @property
    def clean(self) -> bool:
        """No errors or warnings (information findings are allowed)."""
        return all(f.severity == "info" for f in self.findings)

    @property
    def has_errors(self) -> bool:
        return any(f.severity == "error" for f in self.findings)

    def as_dict(self) -> dict[str, Any]:
        m = self.measure
        return {
            "channel": self.channel,
            "lang": self.lang,
            "text": self.text,
            "length": m.length,
            "unit": m.unit,
            "limit": m.limit,
            "segments": m.segments,
            "encoding": m.encoding,
            "findings": [f.as_dict() for f in self.findings],
        }


def fact_name(playbook: Playbook, key: str) -> str:
    """The key a fact's value is kept under: ``route@es`` for a value in Spanish, the plain name for the first
    language's (``route@en`` is ``route`` in an English-first playbook). A clear error for an unknown fact or
    language, or a value per language of a fact that is the same in every language."""
    name, lang = split_key(key)
    specs = playbook.fact_specs()
    if name not in specs:
        known = ", ".join(specs) or "none"
        raise UserError(f"{playbook.id} has no fact {name!r}; its facts are: {known}")
    if lang is None:
        return name
    if lang not in playbook.languages:
        raise UserError(f"fact {key}: {playbook.id} is written in {', '.join(playbook.languages)}, not {lang!r}")
    if specs[name].type not in WORDED:
        raise UserError(f"fact {key}: a {specs[name].type.value} is the same in every language; give it as {name}=...")
    return fact_key(name, lang, playbook.main_language)


def parse_values(playbook: Playbook, raw: Mapping[str, str], tz: tzinfo) -> dict[str, Any]:
    """Typed fact values from what a person typed, under the keys ``fact_name`` gives (a value per language as
    ``name@lang``); a clear error for an unknown or malformed fact."""
    specs = playbook.fact_specs()
    values: dict[str, Any] = {}
    for key, text in raw.items():
        name = fact_name(playbook, key)
        base, lang = split_key(name)
        try:
            if lang is not None and specs[base].type is FactType.AREA:
                if not text.strip():
                    raise BadFact("empty")
                values[name] = parse_area_description(base, lang, text)
            else:
                values[name] = parse_fact(specs[base], text, tz)
        except BadFact as exc:
            raise UserError(f"fact {key}: {exc}") from None
    return values


def fact_keys(playbook: Playbook) -> list[str]:
    """Every value a person fills in, in order: each fact, then a translated fact's value in each other language."""
    keys = []
    for name, fact in playbook.facts.items():
        keys.append(name)
        if fact.translated:
            keys += [fact_key(name, lang, playbook.main_language) for lang in playbook.languages[1:]]
    return keys


def missing_translations(playbook: Playbook, raw: Mapping[str, str]) -> list[tuple[str, str]]:
    """(fact, language) for each language a given fact has no value in: a translated fact needs its own value in
    each of the playbook's languages; any other fact, a value for each (its plain one serves all)."""
    specs = playbook.fact_specs()
    given = set()
    for key, text in raw.items():
        if not text.strip():
            continue
        try:
            given.add(fact_name(playbook, key))
        except UserError:  # a fact the playbook no longer has: not this question
            continue
    missing = []
    for name, spec in specs.items():
        if spec.type not in WORDED or not any(split_key(k)[0] == name for k in given):
            continue
        for lang in playbook.languages:
            found = value_in(spec, dict.fromkeys(given, True), lang, playbook.main_language)
            if found is None or not found[1]:
                missing.append((name, lang))
    return missing


def fact_problem(playbook: Playbook, name: str, text: str, tz: tzinfo) -> str | None:
    """What is wrong with ``text`` as fact ``name`` (``route@es`` for its Spanish value), in the words opening or
    setting it would refuse it with; None when it would be taken. Empty is no problem here: whether a fact may stay
    empty is the form's to say."""
    if not text.strip():
        return None
    try:
        parse_values(playbook, {name: text}, tz)
    except UserError as exc:
        return str(exc)
    return None


def check_message_type(message_type: str) -> str:
    if message_type not in MESSAGE_TYPES:
        raise UserError(f"unknown message type {message_type!r}: choose one of {', '.join(MESSAGE_TYPES)}")
    return message_type


def lint_context(
    playbook: Playbook, message_type: str, lang: str, values: Mapping[str, Any], *, mode: str, tz: tzinfo
) -> LintContext:
    where, expiry, names, untranslated = [], [], [], []
    specs = playbook.fact_specs()
    for name, fact in playbook.facts.items():
        found = value_in(specs[name], values, lang, playbook.main_language)
        if found is None:
            continue
        value, own = found
        shown = format_fact(specs[name], value, lang, tz)
        if not own:
            untranslated.append((name, shown))
        elif fact.type in WORDED and not fact.translated:
            names.append(shown)
        if fact.role == "where":
            where.append(shown)
        elif fact.role == "expiry" and isinstance(value, datetime):
            expiry += [format_when(value, lang, tz), format_time_of(value, lang, tz)]
        elif fact.role == "expiry":
            expiry.append(shown)
    corrected, false_alarm = correction_facts(playbook, lang, values, tz=tz)
    return LintContext(
        mode=mode,
        message_type=message_type,
        reading_grade=playbook.reading_grade,
        who=[playbook.sender.get(lang, ""), playbook.sender_short.get(lang, "")],
        what=[playbook.event.get(lang, "")],
        where=where,
        expiry=expiry,
        languages=language_check(playbook),
        names=names,
        untranslated=untranslated,
        corrected=corrected,
        false_alarm=false_alarm,
    )


def with_language_check(
    ctx: LintContext, playbook: Playbook, lang: str, values: Mapping[str, Any], *, tz: tzinfo
) -> LintContext:
    """``ctx`` with what the language lint needs: the languages to tell apart, the names written alike in every
    language, and the facts with no value in ``lang`` (CD120, CD121)."""
    full = lint_context(playbook, ctx.message_type, lang, values, mode=ctx.mode, tz=tz)
    # tuples: a context that hashes is linted once per text (domain.lint)
    return replace(ctx, languages=tuple(full.languages), names=tuple(full.names), untranslated=tuple(full.untranslated))


def language_check(playbook: Playbook) -> tuple[str, ...]:
    """The languages a variant's text is told apart from: the playbook's, and English, which a text slips into."""
    return tuple(dict.fromkeys([*playbook.languages, "en"]))


def correction_facts(
    playbook: Playbook, lang: str, values: Mapping[str, Any], *, tz: tzinfo
) -> tuple[tuple[str, ...], bool]:
    """What a correction must state, as the text writes it in ``lang`` (nothing when the fact is not given), and
    whether the incident is a false alarm: the lint's view of corrections and cancels (CD110-CD112). A translated
    correction fact is looked for in ``lang``'s own value (``correction@es``) when there is one, else the main one."""
    name = playbook.correction_fact()
    corrected: tuple[str, ...] = ()
    if name is not None:
        spec = playbook.facts[name].spec(name)
        if value_in(spec, values, lang, playbook.main_language) is not None:
            shown = fact_context({name: spec}, values, lang, tz, main_lang=playbook.main_language)[name]
            corrected = (str(shown),)
    flag = playbook.false_alarm_fact()
    return corrected, flag is not None and flag[0] in values


def render_message(
    playbook: Playbook,
    message_type: str,
    lang: str,
    values: Mapping[str, Any],
    *,
    mode: str = "live",
    tz: tzinfo,
    channels: Sequence[Channel] | None = None,
    mastodon_limit: int = 500,
) -> list[Variant]:
    """Every channel's text for one message type and language. Raises ``TemplateError`` naming a missing fact."""
    check_message_type(message_type)
    if lang not in playbook.languages:
        raise UserError(f"{playbook.id} has no {lang!r} text; its languages are {', '.join(playbook.languages)}")
    if mode not in MODES:
        raise UserError(f"unknown mode {mode!r}: live or exercise")
    context = fact_context(playbook.fact_specs(), values, lang, tz, main_lang=playbook.main_language)
    lint_ctx = lint_context(playbook, message_type, lang, values, mode=mode, tz=tz)
    variants = []
    for channel in channels or list(Channel):
        found = playbook.template(message_type, lang, channel)
        if found is None:
            raise TemplateError(f"{playbook.id} has no {channel.value} text for {message_type} in {lang}")
        text = render_source(found[1], context)
        if mode == "exercise":
            text = mark_exercise(text, channel, lang)
        m = measure(channel, text, mastodon_limit=mastodon_limit)
        findings = (*m.findings, *lint(text, channel, lang, lint_ctx))
        variants.append(Variant(channel.value, lang, text, m, findings))
    return variants
