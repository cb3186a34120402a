"""Validating a playbook file: every problem at its file, line and column."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crisisdesk.domain.facts import LANG_SEP, BadFact, FactType, parse_fact, translation_problem
from crisisdesk.domain.message_types import MESSAGE_TYPES, MODES
from crisisdesk.domain.messages import parse_values, render_message
from crisisdesk.domain.playbook import (
    FALLBACK,
    TEMPLATE_KEYS,
    Path_,
    Playbook,
    Positions,
    Problem,
    parse_playbook,
    resolve_example,
)
from crisisdesk.domain.render import TemplateError, check_source, fact_context, render_source
from crisisdesk.domain.text_rules import Channel

# The "now" that relative example times ("+2h") are read from when a playbook is validated: 7:30 PM on a Sunday,
# so an example two hours on reads "9:30 PM Sunday".
EXAMPLE_MOMENT = datetime(2026, 11, 22, 19, 30)


class _Problems:
    def __init__(self, source: str, pos: Positions, text: str) -> None:
        self.source, self.pos, self.items = source, pos, list[Problem]()
        self.lines = text.splitlines()

    def add_at_token(self, path: Path_, token: str, message: str) -> None:
        """Report at the first place ``token`` is written inside the value at ``path``."""
        start, _ = self.pos.at(path)
        end = self.pos.ends.get(path, start)
        pattern = re.compile(rf"(?<![\w.]){re.escape(token)}(?!\w)")
        for number in range(start, min(end, len(self.lines)) + 1):
            m = pattern.search(self.lines[number - 1])
            if m:
                self.items.append(Problem(self.source, number, m.start() + 1, message))
                return
        self.add(path, message)

    def add(self, path: Path_, message: str, *, key: bool = False, template_line: int = 0) -> None:
        line, col = self.pos.at(path, key=key)
        if template_line:
            # A block scalar's text starts on the line after its '|'; a plain one on its own line.
            line += template_line if self.pos.block.get(path) else template_line - 1
        self.items.append(Problem(self.source, line, col, message))


def validate_text(text: str, source: str) -> tuple[Playbook | None, list[Problem]]:
    """Check one playbook. Returns it only if it has no problem at all."""
    playbook, pos, problems = parse_playbook(text, source)
    if playbook is None:
        return None, problems
    found = _Problems(source, pos, text)
    _check_languages(playbook, found)
    _check_messages(playbook, found)
    _check_facts(playbook, found)
    _check_responses(playbook, found)
    if not found.items:
        _check_rendering(playbook, found)
    out = sorted(found.items, key=lambda p: (p.line, p.column, p.message))
    return (None if out else playbook), out


def _check_languages(pb: Playbook, found: _Problems) -> None:
    for field in ("title", "sender", "event"):
        for lang in pb.languages:
            if not getattr(pb, field).get(lang):
                found.add((field,), f"{field} has no {lang!r} text")
    for name, fact in pb.facts.items():
        for lang in pb.languages:
            if not fact.label.get(lang):
                found.add(("facts", name, "label"), f"fact {name!r} has no {lang!r} label")
        for choice, labels in fact.choices.items():
            for lang in pb.languages:
                if not labels.get(lang):
                    found.add(("facts", name, "choices", choice), f"choice {choice!r} has no {lang!r} label")
    try:
        ZoneInfo(pb.timezone)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "America" is a folder of zones; a long name
        found.add(("timezone",), f"unknown time zone {pb.timezone!r}: use an IANA name such as America/Chicago")
    if "alert" not in pb.cap.response:
        found.add(("cap", "response"), "cap.response needs at least the 'alert' response type")


def _check_messages(pb: Playbook, found: _Problems) -> None:
    for message_type in MESSAGE_TYPES:
        if message_type not in pb.messages:
            why = (
                " (every playbook ships pre-approved correction and cancel messages)"
                if message_type in ("correction", "cancel")
                else ""
            )
            found.add(("messages",), f"missing the {message_type!r} template{why}", key=True)
    facts = set(pb.facts)
    for message_type, by_lang in pb.messages.items():
        if message_type not in MESSAGE_TYPES:
            found.add(
                ("messages", message_type),
                f"unknown message type {message_type!r}: use " + ", ".join(MESSAGE_TYPES),
                key=True,
            )
            continue
        for lang in pb.languages:
            if lang not in by_lang:
                found.add(("messages", message_type), f"missing the {lang!r} text of {message_type!r}", key=True)
        for lang, texts in by_lang.items():
            if lang not in pb.languages:
                found.add(
                    ("messages", message_type, lang), f"{lang!r} is not one of the playbook's languages", key=True
                )
                continue
            for key in texts:
                if key not in TEMPLATE_KEYS:
                    found.add(
                        ("messages", message_type, lang, key),
                        f"unknown template key {key!r}: use a channel name or one of headline, short, long, "
                        "instruction",
                        key=True,
                    )
            uncovered = [c.value for c in Channel if not any(k in texts for k in FALLBACK[c])]
            if uncovered:
                found.add(
                    ("messages", message_type, lang),
                    f"{message_type}/{lang} has no text for {', '.join(uncovered)}: give 'headline', 'short', "
                    "'long' and 'instruction', or each channel's own key",
                    key=True,
                )
            for key, source in texts.items():
                path = ("messages", message_type, lang, key)
                names, template_problems = check_source(source)
                for line, message in template_problems:
                    found.add(path, message, template_line=line)
                for name in sorted(names - facts):
                    found.add_at_token(path, name, f"the template names {name!r}, which is not a declared fact")


def _check_responses(pb: Playbook, found: _Problems) -> None:
    facts = set(pb.facts)
    for name, by_lang in pb.responses.items():
        for lang in pb.languages:
            if not by_lang.get(lang):
                found.add(("responses", name), f"response {name!r} has no {lang!r} text", key=True)
        for lang, source in by_lang.items():
            path = ("responses", name, lang)
            if lang not in pb.languages:
                found.add(path, f"{lang!r} is not one of the playbook's languages", key=True)
                continue
            names, template_problems = check_source(source)
            for line, message in template_problems:
                found.add(path, message, template_line=line)
            for fact in sorted(names - facts):
                found.add_at_token(path, fact, f"the response names {fact!r}, which is not a declared fact")


def _check_facts(pb: Playbook, found: _Problems) -> None:
    tz = ZoneInfo("UTC")
    for name, fact in pb.facts.items():
        if LANG_SEP in name:
            found.add(
                ("facts", name),
                f"a fact's name cannot hold {LANG_SEP!r}: it joins a fact to a language, as route@es",
                key=True,
            )
        path = ("facts", name, "example")
        if isinstance(fact.example, dict):
            for lang in fact.example:
                if lang not in pb.languages:
                    found.add((*path, lang), f"{lang!r} is not one of the playbook's languages", key=True)
            for lang, text in fact.examples(pb.languages).items():
                if lang != pb.main_language and fact.type is FactType.AREA and "|" in text:
                    found.add(
                        (*path, lang),
                        f"the {lang!r} example of {name!r} is the description only: give the "
                        f"shapes once, in the {pb.main_language!r} example",
                    )
                    continue
                try:
                    parse_fact(fact.spec(name), text, tz)
                except BadFact as exc:
                    found.add(
                        (*path, lang), f"{lang!r} example of {name!r} does not fit its type {fact.type.value}: {exc}"
                    )
        else:
            try:
                parse_fact(fact.spec(name), resolve_example(fact, EXAMPLE_MOMENT.replace(tzinfo=tz), tz), tz)
            except BadFact as exc:
                found.add(path, f"example of {name!r} does not fit its type {fact.type.value}: {exc}")
        if len(pb.languages) > 1 and (fact.translated or isinstance(fact.example, dict)):
            have = fact.examples(pb.languages) if isinstance(fact.example, dict) else {pb.main_language: ""}
            for lang in pb.languages:
                if lang not in have:
                    found.add(
                        path,
                        f"{translation_problem(name, lang)} in its example: a {fact.type.value} fact is written in "
                        f"each language, so give example: {{{', '.join(f'{x}: ...' for x in pb.languages)}}}",
                    )


def _check_rendering(pb: Playbook, found: _Problems) -> None:
    """Render every template with the example facts, live and exercise: over-limit texts and lint errors."""

    tz = ZoneInfo(pb.timezone)
    # Relative example times are read from one fixed moment, so a playbook validates alike at any hour.
    values = parse_values(pb, pb.example_facts(EXAMPLE_MOMENT.replace(tzinfo=tz)), tz)
    specs = pb.fact_specs()
    for name, by_lang in pb.responses.items():
        for lang, source in by_lang.items():
            _renders(
                ("responses", name, lang),
                f"response {name}/{lang}",
                source,
                fact_context(specs, values, lang, tz, main_lang=pb.main_language),
                found,
            )
    runs: list[tuple[str, Mapping[str, Any], str]] = [(t, values, "the example facts") for t in MESSAGE_TYPES]
    flag = pb.false_alarm_fact()
    if flag is not None:
        # A false alarm's cancel and correction are written apart ({% if false_alarm %}): check them too.
        flagged = {**values, **parse_values(pb, {flag[0]: flag[1]}, tz)}
        runs += [(t, flagged, f"the example facts and {flag[0]}") for t in ("cancel", "correction")]
    for message_type, given, with_what in runs:
        for lang in pb.languages:
            # Each template once on its own first, so a template that fails (a limit, a fact the example facts
            # lack) is reported at its own line, and not rendered again for every channel and mode that uses it.
            context = fact_context(specs, given, lang, tz, main_lang=pb.main_language)
            rendered = [
                _renders(
                    ("messages", message_type, lang, key),
                    f"{message_type}/{lang}/{key}",
                    source,
                    context,
                    found,
                    with_what=with_what,
                )
                for key, source in pb.messages[message_type][lang].items()
            ]
            if not all(rendered):
                continue
            for mode in MODES:
                try:
                    variants = render_message(pb, message_type, lang, given, mode=mode, tz=tz)
                except TemplateError as exc:
                    found.add(("messages", message_type, lang), f"{message_type}/{lang} ({mode}): {exc}")
                    continue
                for variant in variants:
                    template = pb.template(message_type, lang, Channel(variant.channel))
                    key = template[0] if template else ""
                    for finding in variant.findings:
                        if finding.severity == "error":
                            found.add(
                                ("messages", message_type, lang, key),
                                f"{message_type}/{lang}/{variant.channel} with {with_what} ({mode}): "
                                f"{finding.code} {finding.message}",
                            )


def _renders(
    path: Path_,
    what: str,
    source: str,
    context: Mapping[str, Any],
    found: _Problems,
    *,
    with_what: str = "the example facts",
) -> bool:
    try:
        render_source(source, context)
    except TemplateError as exc:
        found.add(path, f"{what} with {with_what}: {exc}")
        return False
    return True
