"""A playbook's message, rendered for every channel of one language, with counts and lint."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from crisisdesk.domain.errors import UserError
from crisisdesk.domain.facts import BadFact, format_time_of, format_when, parse_fact
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


def parse_values(playbook: Playbook, raw: Mapping[str, str], tz: tzinfo) -> dict[str, Any]:
    """Typed fact values from what a person typed; a clear error for an unknown or malformed fact."""
    specs = playbook.fact_specs()
    values: dict[str, Any] = {}
    for name, text in raw.items():
        if name not in specs:
            known = ", ".join(specs) or "none"
            raise UserError(f"{playbook.id} has no fact {name!r}; its facts are: {known}")
        try:
            values[name] = parse_fact(specs[name], text, tz)
        except BadFact as exc:
            raise UserError(f"fact {name}: {exc}") from None
    return values


def fact_problem(playbook: Playbook, name: str, text: str, tz: tzinfo) -> str | None:
    """What is wrong with ``text`` as fact ``name``, in the words opening or setting it would refuse it with; None
    when it would be taken. Empty is no problem here: whether a fact may stay empty is the form's to say."""
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
    where, expiry = [], []
    for name, fact in playbook.facts.items():
        if name not in values:
            continue
        value = values[name]
        if fact.role == "where":
            where.append(str(value))
        elif fact.role == "expiry" and isinstance(value, datetime):
            expiry += [format_when(value, lang, tz), format_time_of(value, lang, tz)]
        elif fact.role == "expiry":
            expiry.append(str(value))
    corrected, false_alarm = correction_facts(playbook, lang, values, tz=tz)
    return LintContext(
        mode=mode,
        message_type=message_type,
        reading_grade=playbook.reading_grade,
        who=[playbook.sender.get(lang, ""), playbook.sender_short.get(lang, "")],
        what=[playbook.event.get(lang, "")],
        where=where,
        expiry=expiry,
        corrected=corrected,
        false_alarm=false_alarm,
    )


def correction_facts(
    playbook: Playbook, lang: str, values: Mapping[str, Any], *, tz: tzinfo
) -> tuple[tuple[str, ...], bool]:
    """What a correction must state, as the text writes it in ``lang`` (nothing when the fact is not given), and
    whether the incident is a false alarm: the lint's view of corrections and cancels (CD110-CD112)."""
    name = playbook.correction_fact()
    corrected: tuple[str, ...] = ()
    if name is not None and name in values:
        corrected = (str(fact_context({name: playbook.facts[name].spec(name)}, values, lang, tz)[name]),)
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
    context = fact_context(playbook.fact_specs(), values, lang, tz)
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
