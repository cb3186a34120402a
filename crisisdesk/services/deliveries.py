"""Deliveries of a published message, dead-delivery news, and the false alarm as the console runs it.

What the console's Deliveries view, its dead-delivery notifier and its False alarm dialog ask: each a question
(nothing recorded) except ``declare_false_alarm`` and ``record_false_alarm_time``, which record events.

The false alarm's clock starts when the person clicks **False alarm…**: only the window knows that moment, so it
is passed in and recorded in the ``incident.false_alarm_declared`` event, bounded by what the log knows (it cannot
be after the declaration, nor before the first message the false alarm cancels went out). It stops at the receipt
of the correction's last channel, read from the log (the ``outbox.sent`` events of the rows its publication
made). ``incident.false_alarm_corrected`` records both ends and the milliseconds between them, once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from crisisdesk.domain.accounts import KINDS, AccountKind, targets_for
from crisisdesk.domain.clock import Clock, utc_iso
from crisisdesk.domain.errors import UserError
from crisisdesk.domain.events import Event, Kind, from_body
from crisisdesk.domain.facts import fact_key
from crisisdesk.domain.roles import Actor, Permission
from crisisdesk.services.guard import current_actor
from crisisdesk.services.messages import MessageService, MessageView
from crisisdesk.services.outbox import OutboxRow, OutboxService
from crisisdesk.store.db import Database
from crisisdesk.store.eventlog import EventLog
from crisisdesk.store.ledger import Ledger

RETRYABLE = ("failed", "dead", "unknown")
NOT_SENT = ("queued", "sending", "failed", "unknown")
# Shown in the correction's preview until the person says what was wrong.
CORRECTION_PLACEHOLDER = "[what was wrong: type it below]"
# A click time this far ahead of the services' clock is a clock out of step, not a click.
CLOCK_SLACK = timedelta(seconds=5)


def cannot_retract(kind: str) -> str | None:
    """Why a channel of ``kind`` cannot take back what it delivered (None: it can)."""
    try:
        return KINDS[AccountKind(kind)].retract
    except ValueError:
        return None


@dataclass(frozen=True)
class Delivery:
    """One channel of a published message: its outbox row and what the channel can do about it."""

    row: OutboxRow
    cannot_retract: str | None  # why a delivered post stays (None: the channel can delete it)

    @property
    def retryable(self) -> bool:
        return self.row.state in RETRYABLE and not self.row.retract_state

    @property
    def retractable(self) -> bool:
        """Something a retraction would still act on: not withdrawn already, not given up."""
        return self.row.retract_state is None and self.row.state != "dead"


@dataclass(frozen=True)
class RetractPlan:
    """What a retraction of a message (or of one channel of it) does, for the person to confirm."""

    message_id: str
    mode: str
    take_back: tuple[str, ...]  # delivered; the channel deletes it
    stop: tuple[str, ...]  # not sent yet: it never goes
    cannot: tuple[tuple[str, str], ...]  # (channel, why): delivered, and the channel cannot recall it
    untouched: tuple[str, ...]  # withdrawn already or given up

    @property
    def channels(self) -> tuple[str, ...]:
        return (*self.take_back, *self.stop, *(c for c, _ in self.cannot))


@dataclass(frozen=True)
class MessageDeliveries:
    message_id: str
    incident_id: str
    incident_title: str
    timezone: str  # the incident's: times are shown in it
    type: str
    version: int
    mode: str
    state: str  # the message's state (draft, submitted, approved..., published)
    published_at: datetime | None
    published_by: str | None
    deliveries: tuple[Delivery, ...]
    now: datetime

    def retract_plan(self, account: str | None = None) -> RetractPlan:
        """What ``request_retract`` would do now, on every channel or on ``account`` (a channel's name)."""
        take_back: list[str] = []
        stop: list[str] = []
        cannot: list[tuple[str, str]] = []
        untouched: list[str] = []
        for d in self.deliveries:
            r = d.row
            if account is not None and r.account != account:
                continue
            name = f"{r.account} ({r.kind})"
            if not d.retractable:
                untouched.append(name)
            elif r.state == "sent":
                (cannot.append((name, d.cannot_retract)) if d.cannot_retract else take_back.append(name))
            elif r.state in ("unknown", "sending") and d.cannot_retract:
                cannot.append((name, f"it may have arrived already, and {d.cannot_retract}"))
            else:
                stop.append(name)
        return RetractPlan(self.message_id, self.mode, tuple(take_back), tuple(stop), tuple(cannot), tuple(untouched))


@dataclass(frozen=True)
class DeadDelivery:
    position: int  # the log entry that said so: the notifier's bookmark
    row_id: str
    message_id: str
    account: str
    kind: str
    mode: str
    reason: str
    at: datetime


@dataclass(frozen=True)
class DeadNews:
    cursor: int  # pass back as ``after`` next time
    deliveries: tuple[DeadDelivery, ...]


@dataclass(frozen=True)
class DraftPreview:
    message_type: str
    texts: dict[str, list[tuple[str, str]]]  # lang -> [(channel text, text)], only what the channels send


@dataclass(frozen=True)
class Reference:
    message_id: str
    type: str
    version: int
    published_at: datetime
    text: str  # its short text, to recognise it by


@dataclass(frozen=True)
class FalseAlarmPreview:
    incident_id: str
    incident_title: str
    timezone: str
    mode: str
    cancel: DraftPreview
    correction: DraftPreview
    correction_fact: str  # what was wrong, as the incident's fact says now ("" if not said yet)
    references: tuple[Reference, ...]
    channels: tuple[str, ...]  # the accounts the drafts go to, "name (kind)"
    approvers_needed: int
    approver_roles: tuple[str, ...]
    single_approver: bool  # the playbook lets one approver pass a false alarm (false_alarm_single_approver)
    now: datetime
    other_languages: tuple[str, ...] = ()  # the playbook's languages after its first: each says it anew
    correction_translations: dict[str, str] = field(default_factory=dict)  # lang -> what was wrong there, if said

    @property
    def first_sent(self) -> datetime | None:
        return min((r.published_at for r in self.references), default=None)


@dataclass(frozen=True)
class Step:
    """Where the cancel or the correction is: its state and, until published, what its approval waits for."""

    message_id: str
    type: str
    state: str
    approval: str  # the policy's verdict in words


@dataclass(frozen=True)
class FalseAlarmProgress:
    incident_id: str
    mode: str
    clicked_at: datetime
    declared_at: datetime
    cancel: Step
    correction: Step
    deliveries: tuple[OutboxRow, ...]  # the correction's rows, once published
    confirmed_at: datetime | None  # the correction's last receipt, when every row has one
    recorded: bool  # incident.false_alarm_corrected is in the log
    now: datetime

    @property
    def elapsed(self) -> timedelta:
        """From the click to the correction confirmed everywhere; until then, to now."""
        return (self.confirmed_at or self.now) - self.clicked_at


class DeliveryService:
    def __init__(
        self, db: Database, log: EventLog, clock: Clock, messages: MessageService, outbox: OutboxService
    ) -> None:
        self.db = db
        self.log = log
        self.clock = clock
        self.messages = messages
        self.outbox = outbox
        self.incidents = messages.incidents

    # -- one message's deliveries -------------------------------------------------------------------------

    def for_message(self, actor: Actor, message_id: str) -> MessageDeliveries:
        """Every channel of ``message_id``: state, tries, next try, receipt, reason, retraction."""
        view = self.messages.show(actor, message_id)
        incident = self.incidents.get(actor, view.incident_id)
        rows = sorted(self.outbox.rows(actor, message_id=message_id, limit=1000), key=lambda r: r.pos)
        last = view.published[-1] if view.published else None
        state = "approved" if view.state == "submitted" and view.verdict.ok else view.state
        return MessageDeliveries(
            message_id=message_id,
            incident_id=view.incident_id,
            incident_title=incident.title,
            timezone=incident.timezone,
            type=view.type,
            version=view.version,
            mode=view.mode,
            state=state,
            published_at=datetime.fromisoformat(last["at"]) if last else None,
            published_by=last["by_name"] if last else None,
            deliveries=tuple(Delivery(r, cannot_retract(r.kind)) for r in rows),
            now=self.clock.now(),
        )

    # -- dead deliveries ----------------------------------------------------------------------------------

    def dead_since(self, actor: Actor, after: int | None) -> DeadNews:
        """Deliveries that went dead after log entry ``after`` and are dead still (not withdrawn by a person:
        a withdrawal stops rows on purpose). ``after=None``: only the bookmark, for a first look (what was dead
        before is counted by the Outbox badge). A question, never recorded: who may not read hears nothing."""
        top = int(self.db.conn.execute("SELECT coalesce(max(position), 0) FROM events").fetchone()[0])
        if after is None or not current_actor(self.db, actor.name).may(Permission.READ):
            return DeadNews(top, ())
        found = self.db.conn.execute(
            "SELECT position, hash, body FROM events WHERE kind = ? AND position > ? AND position <= ? "
            "ORDER BY position",
            (Kind.OUTBOX_FAILED, after, top),
        ).fetchall()
        out = []
        for position, stored_hash, body in found:
            e = from_body(body, stored_hash)
            if not e.payload.get("dead"):
                continue
            row = self.outbox.get(e.payload["row"])
            if row.state != "dead" or row.retract_state:
                continue
            out.append(
                DeadDelivery(
                    position,
                    row.id,
                    row.message_id,
                    row.account,
                    row.kind,
                    row.mode,
                    str(e.payload.get("reason") or ""),
                    datetime.fromisoformat(e.at),
                )
            )
        return DeadNews(top, tuple(out))

    # -- the false alarm ----------------------------------------------------------------------------------

    def false_alarm_preview(
        self,
        actor: Actor,
        incident_id: str,
        correction: str = "",
        translations: Mapping[str, str] | None = None,
    ) -> FalseAlarmPreview:
        """The cancel and the correction as ``MessageService.false_alarm`` would draft them now, with
        ``correction`` as what was wrong (else the incident's fact, else a marked gap) and ``translations`` as
        what was wrong in the other languages (else the incident's ``correction@lang``; a missing one is named by
        the drafts' lint), and the messages they would reference. Nothing is recorded."""
        incident = self.incidents.get(actor, incident_id)
        playbook = self.incidents.playbooks.get(incident.playbook_id)
        what_was_wrong = playbook.correction_fact() or "correction"
        said = correction.strip() or incident.facts.get(what_was_wrong, "")
        facts = {**incident.facts, what_was_wrong: said or CORRECTION_PLACEHOLDER}
        others = tuple(playbook.languages[1:])
        translated: dict[str, str] = {}
        for lang in others:
            key = fact_key(what_was_wrong, lang, playbook.main_language)
            text = ((translations or {}).get(lang) or "").strip() or incident.facts.get(key, "")
            if text:
                translated[lang] = facts[key] = text
        flag = playbook.false_alarm_fact()
        if flag is not None:
            facts[flag[0]] = flag[1]
        targets = targets_for(self.messages.channels.active(), incident.mode.value)
        sent = {t for a in targets for t in a.spec.texts}

        def preview(message_type: str) -> DraftPreview:
            rendered = self.incidents.playbooks.render(
                incident.playbook_id,
                message_type,
                None,
                facts,
                mode=incident.mode.value,
                tz_name=incident.timezone,
            )
            return DraftPreview(
                message_type,
                {
                    lang: [(v.channel, v.text) for v in vs if not sent or v.channel in sent]
                    for lang, vs in rendered.variants.items()
                },
            )

        references = tuple(self._reference(actor, m) for m in self.messages.cancellable(incident_id))
        policy = playbook.approval
        single = policy.false_alarm_single_approver
        return FalseAlarmPreview(
            incident_id=incident_id,
            incident_title=incident.title,
            timezone=incident.timezone,
            mode=incident.mode.value,
            cancel=preview("cancel"),
            correction=preview("correction"),
            correction_fact=said,
            other_languages=others,
            correction_translations=translated,
            references=references,
            channels=tuple(f"{a.name} ({a.kind.value})" for a in targets),
            approvers_needed=1 if single else policy.count,
            approver_roles=tuple(r.value for r in policy.roles),
            single_approver=single,
            now=self.clock.now(),
        )

    def _reference(self, actor: Actor, message_id: str) -> Reference:
        view = self.messages.show(actor, message_id)
        last = view.published[-1]
        langs = sorted({v.lang for v in view.variants})
        first = langs[0] if langs else ""
        by_channel = {v.channel: v.text for v in view.variants if v.lang == first}
        text = next((by_channel[c] for c in ("sms", "mastodon", "web") if c in by_channel), "")
        return Reference(message_id, view.type, last["version"], datetime.fromisoformat(last["at"]), text)

    def declare_false_alarm(
        self,
        actor: Actor,
        incident_id: str,
        correction: str,
        *,
        clicked_at: datetime,
        translations: Mapping[str, str] | None = None,
    ) -> FalseAlarmProgress:
        """``MessageService.false_alarm`` (the cancel and the correction, drafted and submitted), and the moment
        the person clicked False alarm… recorded with them: the start of the time to correction."""
        if clicked_at.tzinfo is None:
            raise ValueError("naive datetimes are refused: give a timezone")
        now = self.clock.now()
        if clicked_at > now + CLOCK_SLACK:
            raise UserError(
                f"the false alarm was started at {utc_iso(clicked_at)}, after now ({utc_iso(now)}): "
                "this computer's clock changed; open the False alarm dialog again"
            )
        references = self.messages.cancellable(incident_id)
        first = min(
            (self._reference(actor, m).published_at for m in references),
            default=None,
        )
        if first is not None and clicked_at < first:
            raise UserError(
                f"the false alarm was started at {utc_iso(clicked_at)}, before the message it cancels went out "
                f"({utc_iso(first)}); open the False alarm dialog again"
            )
        cancel, fix = self.messages.false_alarm(
            actor, incident_id, correction=correction or None, translations=translations
        )
        with self.db.write() as conn:
            self.log.record(
                conn,
                actor.name,
                Kind.FALSE_ALARM_DECLARED,
                {
                    "incident": incident_id,
                    "cancel": cancel.id,
                    "correction": fix.id,
                    "references": cancel.references,
                    "clicked_at": utc_iso(clicked_at),
                },
            )
        progress = self.false_alarm_progress(actor, incident_id)
        assert progress is not None  # just recorded
        return progress

    def false_alarm_progress(self, actor: Actor, incident_id: str) -> FalseAlarmProgress | None:
        """The incident's latest false alarm: where its cancel and correction are, the correction's deliveries,
        and the time from the click to the correction confirmed on every channel (None: no false alarm)."""
        incident = self.incidents.get(actor, incident_id)
        ledger = Ledger(self.db.conn)
        declared: Event | None = None
        corrected: dict[str, Event] = {}
        for e in ledger.incident_events(incident_id, (Kind.FALSE_ALARM_DECLARED, Kind.FALSE_ALARM_CORRECTED)):
            if e.kind == Kind.FALSE_ALARM_DECLARED:
                declared = e
            else:
                corrected[str(e.payload["correction"])] = e
        if declared is None:
            return None
        p = declared.payload
        cancel, fix = self.messages.show(actor, p["cancel"]), self.messages.show(actor, p["correction"])
        rows: tuple[OutboxRow, ...] = ()
        confirmed_at = None
        record = ledger.message(fix.id)
        if record is not None and record.publications:
            ids = [r["row"] for r in record.publications[-1].outbox]
            rows = tuple(sorted(self.outbox.rows(actor, message_id=fix.id, limit=1000), key=lambda r: r.pos))
            sent: dict[str, datetime] = {}
            for e in ledger.row_events(ids, (Kind.OUTBOX_SENT,)):
                sent.setdefault(str(e.payload["row"]), datetime.fromisoformat(e.at))
            if ids and all(i in sent for i in ids):
                confirmed_at = max(sent[i] for i in ids)
        done = corrected.get(fix.id)
        if done is not None:
            confirmed_at = datetime.fromisoformat(done.payload["confirmed_at"])
        return FalseAlarmProgress(
            incident_id=incident_id,
            mode=incident.mode.value,
            clicked_at=datetime.fromisoformat(p["clicked_at"]),
            declared_at=datetime.fromisoformat(declared.at),
            cancel=_step(cancel),
            correction=_step(fix),
            deliveries=rows,
            confirmed_at=confirmed_at,
            recorded=done is not None,
            now=self.clock.now(),
        )

    def record_false_alarm_time(self, actor: Actor, incident_id: str) -> FalseAlarmProgress | None:
        """Record the time to correction once the correction is confirmed on every channel (once: a second call,
        from this window or another, finds it recorded). Returns the progress either way."""
        progress = self.false_alarm_progress(actor, incident_id)
        if progress is None or progress.confirmed_at is None or progress.recorded:
            return progress
        with self.db.write() as conn:
            # Looked at again inside the write: another window may have recorded it since.
            again = any(
                e.payload["correction"] == progress.correction.message_id
                for e in Ledger(conn).incident_events(incident_id, (Kind.FALSE_ALARM_CORRECTED,))
            )
            if not again:
                payload: dict[str, Any] = {
                    "incident": incident_id,
                    "cancel": progress.cancel.message_id,
                    "correction": progress.correction.message_id,
                    "clicked_at": utc_iso(progress.clicked_at),
                    "declared_at": utc_iso(progress.declared_at),
                    "confirmed_at": utc_iso(progress.confirmed_at),
                    "elapsed_ms": int(progress.elapsed / timedelta(milliseconds=1)),  # events hold no floats
                }
                self.log.record(conn, actor.name, Kind.FALSE_ALARM_CORRECTED, payload)
        return self.false_alarm_progress(actor, incident_id)


def _step(view: MessageView) -> Step:
    if view.state == "published":
        approval = "published"
    elif view.state == "submitted":
        approval = "approved: ready to publish" if view.verdict.ok else f"waiting for approval: {view.verdict.reason}"
    else:
        approval = view.state
    return Step(view.id, view.type, view.state, approval)
