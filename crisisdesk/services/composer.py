"""What the composer needs about one message version, in one call: the message as ``MessageService.show`` gives it,
the lint context of each language (so the window lints as the playbook would, on every keystroke), the channel
accounts it may choose from (the incident's mode only), the CAP summary of the version, and what changed since the
last published version, word by word.

Reading only: every change goes through ``MessageService`` (edit, set_targets, submit), which decides from the log.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson

from crisisdesk.domain.accounts import Account, targets_for
from crisisdesk.domain.cap import parse_xml
from crisisdesk.domain.composing import Change, word_diff
from crisisdesk.domain.facts import zone
from crisisdesk.domain.lint import LintContext, lint
from crisisdesk.domain.messages import lint_context, parse_values
from crisisdesk.domain.roles import Actor
from crisisdesk.domain.text_rules import Channel, Finding, Measure, measure
from crisisdesk.services.messages import MessageService, MessageView

MASTODON_DEFAULT_LIMIT = 500


@dataclass(frozen=True)
class CapInfoSummary:
    """One language's <info> as a person checks it."""

    lang: str
    event: str
    urgency: str
    severity: str
    certainty: str
    response: str
    areas: tuple[str, ...]
    expires: str | None
    headline: str | None
    sender_name: str | None


@dataclass(frozen=True)
class CapSummary:
    """The CAP alert a publish of this version would send (status, type, and per language what the public's
    phones and the alerting systems read), built the same way ``publish`` builds it."""

    identifier: str
    status: str  # Actual | Exercise
    msg_type: str  # Alert | Update | Cancel
    references: str | None
    infos: tuple[CapInfoSummary, ...]

    @property
    def expires(self) -> str | None:
        return next((i.expires for i in self.infos if i.expires), None)


@dataclass(frozen=True)
class VariantChange:
    channel: str
    lang: str
    changes: tuple[Change, ...]

    @property
    def changed(self) -> bool:
        return any(c.op != "same" for c in self.changes)


@dataclass(frozen=True)
class WordDiff:
    """Each variant against the same variant of the last published version (of this message, else of its
    incident). ``base`` names that version; None when nothing was published yet (every text is new)."""

    base: str | None
    variants: tuple[VariantChange, ...]

    def of(self, channel: str, lang: str) -> VariantChange | None:
        return next((v for v in self.variants if (v.channel, v.lang) == (channel, lang)), None)


@dataclass(frozen=True)
class Composition:
    message: MessageView
    incident_title: str
    mode: str  # the incident's: live | exercise
    lint: dict[str, LintContext]  # per language
    offered: list[Account]  # the accounts of the incident's mode: the only ones it may target
    cap: CapSummary
    diff: WordDiff
    mastodon_limit: int = MASTODON_DEFAULT_LIMIT
    returned_comment: str | None = None  # what the approver asked to change, when it was returned
    # Each saved variant's count and findings, (channel, lang) -> (measure, findings): worked out with the reading,
    # off the GUI thread (every variant of a version took 34-53 ms there).
    checks: dict[tuple[str, str], tuple[Measure, list[Finding]]] = field(default_factory=dict)

    def check(self, channel: str, lang: str, text: str) -> tuple[Measure, list[Finding]]:
        """The count and the findings of ``text`` in this variant, as the playbook's rules give them: pure domain
        calls, fast enough for every keystroke."""
        m = measure(channel, text, mastodon_limit=self.mastodon_limit)
        ctx = self.lint.get(lang) or LintContext(mode=self.mode, message_type=self.message.type)
        return m, [*m.findings, *lint(text, Channel(channel), lang, ctx)]


class ComposerService:
    def __init__(self, messages: MessageService) -> None:
        self.messages = messages

    def open(self, actor: Actor, message_id: str) -> Composition:
        """Everything the composer shows for the current version of ``message_id``."""
        view = self.messages.show(actor, message_id)
        incident = self.messages.incidents.from_log(view.incident_id)
        composition = Composition(
            message=view,
            incident_title=incident.title,
            mode=incident.mode.value,
            lint=self._lint_contexts(view),
            offered=self._offered(view),
            cap=self._cap_summary(view),
            diff=self._word_diff(view),
            returned_comment=self.messages.returned_comment(view),
        )
        for v in view.variants:
            composition.checks[(v.channel, v.lang)] = composition.check(v.channel, v.lang, v.text)
        return composition

    def lint_contexts(self, actor: Actor, message_id: str) -> dict[str, LintContext]:
        """Per language, what lint needs beyond the text: the playbook's sender and event names, the incident's
        area and expiry as they are written in the text, the reading grade, the mode and the message type."""
        return self._lint_contexts(self.messages.show(actor, message_id))

    def _lint_contexts(self, view: MessageView) -> dict[str, LintContext]:
        incident = self.messages.incidents.from_log(view.incident_id)
        playbook = self.messages.incidents.playbooks.get(incident.playbook_id)
        tz = zone(incident.timezone)
        values = parse_values(playbook, incident.facts, tz)
        langs = dict.fromkeys(v.lang for v in view.variants)
        return {
            lang: lint_context(playbook, view.type, lang, values, mode=view.mode, tz=tz)
            if lang in playbook.languages
            else LintContext(mode=view.mode, message_type=view.type, reading_grade=playbook.reading_grade)
            for lang in langs
        }

    def offered_accounts(self, actor: Actor, message_id: str) -> list[Account]:
        """The channel accounts a person may choose for this message: those of its incident's mode, never the
        other's (``set_targets`` refuses them anyway; the composer does not offer them)."""
        return self._offered(self.messages.show(actor, message_id))

    def _offered(self, view: MessageView) -> list[Account]:
        incident = self.messages.incidents.from_log(view.incident_id)
        return targets_for(self.messages.channels.active(), incident.mode.value)

    def cap_summary(self, actor: Actor, message_id: str) -> CapSummary:
        """The CAP alert of the current version: event, urgency, severity, certainty, area and expiry per
        language, from the same builder ``publish`` uses (so what is checked is what is sent)."""
        return self._cap_summary(self.messages.show(actor, message_id))

    def _cap_summary(self, view: MessageView) -> CapSummary:
        record = self.messages._record(view.id)
        incident = self.messages.incidents.from_log(record.incident)
        content = orjson.loads(record.current.content)
        alert = parse_xml(self.messages._cap(incident, record, content))
        return CapSummary(
            identifier=alert.identifier,
            status=alert.status,
            msg_type=alert.msg_type,
            references=alert.references,
            infos=tuple(
                CapInfoSummary(
                    lang=info.language or "",
                    event=info.event,
                    urgency=info.urgency,
                    severity=info.severity,
                    certainty=info.certainty,
                    response=", ".join(info.response_types),
                    areas=tuple(a.description for a in info.areas),
                    expires=info.expires,
                    headline=info.headline,
                    sender_name=info.sender_name,
                )
                for info in alert.infos
            ),
        )

    def word_diff(self, actor: Actor, message_id: str) -> WordDiff:
        """The current version against the last published one, word by word, per variant."""
        return self._word_diff(self.messages.show(actor, message_id))

    def _word_diff(self, view: MessageView) -> WordDiff:
        return changes_since_published(self.messages, view)


def changes_since_published(messages: MessageService, view: MessageView) -> WordDiff:
    """Each variant of ``view`` against the last published version (of this message, else of its incident), word
    by word: what the composer shows and what the approver reads."""
    base = messages.last_published(view.incident_id, view.id)
    if base is None:
        variants = tuple(VariantChange(v.channel, v.lang, (Change("added", v.text),)) for v in view.variants)
        return WordDiff(None, variants)
    content, base_id, base_version = base
    old = {(v["channel"], v["lang"]): v["text"] for v in content["variants"]}
    return WordDiff(
        f"{base_id} v{base_version}",
        tuple(
            VariantChange(v.channel, v.lang, tuple(word_diff(old.get((v.channel, v.lang), ""), v.text)))
            for v in view.variants
        ),
    )
