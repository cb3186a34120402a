"""What the console's incident views read: the board's rows, an incident's workspace, its messages with their
states, and the playbooks to open an incident from. Reading only: every change goes through the incident and
message services, which decide from the log."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from crisisdesk.domain.drill import DrillClock, offset_text
from crisisdesk.domain.errors import PermissionDenied
from crisisdesk.domain.facts import zone
from crisisdesk.domain.incidents import DueItem, Status, working_permissions
from crisisdesk.domain.message_types import MESSAGE_TYPES
from crisisdesk.domain.messages import fact_keys, fact_problem
from crisisdesk.domain.playbook import Playbook
from crisisdesk.domain.roles import Actor, Permission
from crisisdesk.services.guard import current_actor
from crisisdesk.services.incidents import Incident, IncidentService
from crisisdesk.services.messages import MessageService, MessageView
from crisisdesk.services.outbox import OutboxService
from crisisdesk.store.db import Database

# A message's state as a person reads it: the log's four (draft, submitted, returned, published) with "approved"
# for a submitted version whose approvals meet the playbook's policy (it waits for a publisher).
MESSAGE_STATES = ("draft", "submitted", "returned", "approved", "published")
# Closed incidents come a page at a time (newest first): a year holds a thousand, each row reads its latest message
# (5-6 ms), and the board is read again at every tick of the watcher.
CLOSED_PAGE = 25


@dataclass(frozen=True, slots=True)
class Delivery:
    """One channel's delivery of a published message, as the outbox has it."""

    account: str
    kind: str
    state: str  # queued, sending, sent, failed, dead, unknown
    detail: str  # the receipt's address, or the reason and the next try


@dataclass(frozen=True, slots=True)
class MessageRow:
    id: str
    incident_id: str
    type: str
    mode: str
    state: str  # one of MESSAGE_STATES
    version: int
    author: str
    content_hash: str
    approval: str  # the policy's verdict in words: who approved, or what is still needed
    comment: str | None  # the approver's comment when the message was returned
    published_at: str | None  # UTC, ISO
    deliveries: tuple[Delivery, ...] = ()

    @property
    def delivered(self) -> int:
        return sum(1 for d in self.deliveries if d.state == "sent")

    def describe(self) -> str:
        """The state in a few words: "returned: 'say which road'", "published: delivered 2 of 3"."""
        if self.state == "returned" and self.comment:
            return f"returned: {self.comment!r}"
        if self.state == "published" and self.deliveries:
            trouble = [d for d in self.deliveries if d.state in ("failed", "dead", "unknown")]
            extra = f", {len(trouble)} {'needs' if len(trouble) == 1 else 'need'} attention" if trouble else ""
            return f"published: delivered {self.delivered} of {len(self.deliveries)}{extra}"
        return self.state


@dataclass(frozen=True, slots=True)
class BoardRow:
    id: str
    title: str
    mode: str  # live or exercise
    status: str
    playbook_id: str
    playbook_title: str
    hazard: str
    timezone: str
    opened_at: str  # UTC, ISO
    next_update_at: str | None  # UTC, ISO; None once closed
    update_state: str  # upcoming, due (within ten minutes), overdue; "" once closed
    overdue_steps: int
    latest: MessageRow | None
    drill: DrillTime | None = None  # the incident a drill opened: its reminders are in drill time
    next_update_drill: float | None = None  # the drill time the next update is due (seconds), in a drill


@dataclass(frozen=True, slots=True)
class Board:
    now: str  # UTC, ISO: what the countdowns count from
    rows: tuple[BoardRow, ...]
    more_closed: bool = False  # closed incidents older than the last one here remain (``closed_page``)


@dataclass(frozen=True, slots=True)
class DrillTime:
    """Where the drill that opened an incident stands when it was read: what its reminders count in."""

    seconds: float  # drill time now
    status: str  # running, paused, ended
    compression: float

    @property
    def text(self) -> str:
        return offset_text(self.seconds)

    @classmethod
    def of(cls, clock: DrillClock | None, now: datetime) -> DrillTime | None:
        if clock is None:
            return None
        status = "ended" if clock.ended else "running" if clock.running else "paused"
        return cls(clock.seconds(now), status, clock.compression)


@dataclass(frozen=True, slots=True)
class StepRow:
    step: int | None  # the checklist step's number; None for the next update
    kind: str  # step or update
    what: str
    owner: str
    due_at: str | None  # UTC, ISO; in a drill, None while it is paused (no wall moment brings it)
    due_local: str  # in the incident's zone
    state: str  # done, overdue, due, upcoming
    drill_at: float | None = None  # in a drill's incident: the drill time it is due (seconds from the start)


@dataclass(frozen=True, slots=True)
class TimelineRow:
    at: str  # UTC, ISO
    local: str  # in the incident's zone
    actor: str
    what: str
    summary: str
    drill_at: float | None = None  # in a drill's incident: the drill time it happened (seconds from the start)


@dataclass(frozen=True, slots=True)
class FactRow:
    name: str
    value: str | None  # as typed; None while unset


@dataclass(frozen=True)
class Workspace:
    now: str
    incident: Incident
    playbook: Playbook
    facts: tuple[FactRow, ...]
    due: tuple[StepRow, ...]
    timeline: tuple[TimelineRow, ...]  # newest first
    messages: tuple[MessageRow, ...]  # oldest first
    message_types: tuple[str, ...]  # the types this playbook has templates for
    published: bool  # something other than a cancel went out: a false alarm can be raised
    may_work: bool  # the person may draft, set facts, tick steps (the services decide again)
    may_approve: bool
    drill: DrillTime | None = None  # the incident a drill opened: its times read in drill time

    @property
    def cadence(self) -> str:
        return self.playbook.cadence.update_every


def local_time(at: str, tz_name: str) -> str:
    """A UTC ISO time in an incident's zone, short and unambiguous: "Sun 22 Nov 15:30 CST"."""
    moment = datetime.fromisoformat(at).astimezone(zone(tz_name))
    return moment.strftime("%a %d %b %H:%M %Z")


class BoardService:
    def __init__(
        self, db: Database, incidents: IncidentService, messages: MessageService, outbox: OutboxService
    ) -> None:
        self.db = db
        self.incidents = incidents
        self.messages = messages
        self.outbox = outbox

    # -- the board --------------------------------------------------------------------------------------

    def board(self, actor: Actor, *, include_closed: bool = False, closed_limit: int | None = None) -> Board:
        """Incidents with what a person needs at a glance: active ones newest first, then (``include_closed``) the
        newest ``closed_limit`` closed ones (a page, ``CLOSED_PAGE``, unless told); ``closed_page`` reads on."""
        self._may_read(actor)
        now = self.incidents.clock.now()
        rows = [self._board_row(actor, incident) for incident in self.incidents.list_all(actor, include_closed=False)]
        more = False
        if include_closed:
            closed, more = self._closed(actor, None, closed_limit or CLOSED_PAGE)
            rows += closed
        return Board(now.isoformat(), tuple(rows), more_closed=more)

    def closed_page(self, actor: Actor, after: BoardRow, limit: int | None = None) -> Board:
        """The closed incidents that follow ``after`` on the board (older, or as old with a later id)."""
        self._may_read(actor)
        now = self.incidents.clock.now()
        rows, more = self._closed(actor, after, limit or CLOSED_PAGE)
        return Board(now.isoformat(), tuple(rows), more_closed=more)

    def _closed(self, actor: Actor, after: BoardRow | None, limit: int) -> tuple[list[BoardRow], bool]:
        # The board's order (opened_at DESC, id), read from a place: a year's closed incidents are not all read.
        where, params = "status = 'closed'", []
        if after is not None:
            where += " AND (opened_at < ? OR (opened_at = ? AND id > ?))"
            params = [after.opened_at, after.opened_at, after.id]
        ids = [
            r[0]
            for r in self.db.conn.execute(
                f"SELECT id FROM incidents WHERE {where} ORDER BY opened_at DESC, id LIMIT ?",  # noqa: S608
                (*params, limit + 1),
            )
        ]
        rows = [self._board_row(actor, self.incidents.get(actor, i)) for i in ids[:limit]]
        return rows, len(ids) > limit

    def _board_row(self, actor: Actor, incident: Incident) -> BoardRow:
        playbook = self.incidents.playbooks.get(incident.playbook_id)
        due = self.incidents.due(incident, playbook)
        update = next((d for d in due if d.kind == "update"), None)
        ids = self._message_ids(incident.id)
        drill = DrillTime.of(self.incidents.drill_clock(incident.id), self.incidents.clock.now())
        return BoardRow(
            id=incident.id,
            title=incident.title,
            mode=incident.mode.value,
            status=incident.status.value,
            playbook_id=playbook.id,
            playbook_title=playbook.title.get("en") or playbook.id,
            hazard=playbook.hazard,
            timezone=incident.timezone,
            opened_at=incident.opened_at,
            next_update_at=update.due_at.isoformat() if update and update.due_at else None,
            update_state=update.state if update else "",
            overdue_steps=sum(1 for d in due if d.kind == "step" and d.state == "overdue"),
            latest=self._message_row(actor, ids[-1]) if ids else None,
            drill=drill,
            next_update_drill=update.drill_at if update else None,
        )

    # -- one incident -----------------------------------------------------------------------------------

    def workspace(self, actor: Actor, incident_id: str) -> Workspace:
        """Everything the incident's workspace shows, in one read."""
        self._may_read(actor)
        self.incidents.get(actor, incident_id)
        incident = self.incidents.from_log(incident_id)  # mode, status and facts as the log says
        playbook = self.incidents.playbooks.get(incident.playbook_id)
        tz = incident.timezone
        due = tuple(self._step(d, tz) for d in self.incidents.due(incident, playbook))
        messages = tuple(self._message_row(actor, m) for m in self._message_ids(incident_id))
        now = current_actor(self.db, actor.name)
        clock, wall = self.incidents.drill_clock(incident_id), self.incidents.clock.now()
        return Workspace(
            now=wall.isoformat(),
            incident=incident,
            playbook=playbook,
            facts=tuple(FactRow(key, incident.facts.get(key)) for key in fact_keys(playbook)),  # route, route@es
            due=due,
            timeline=self.timeline(actor, incident, messages, clock),
            messages=messages,
            message_types=tuple(t for t in MESSAGE_TYPES if t in playbook.messages),
            published=any(m.state == "published" and m.type != "cancel" for m in messages),
            may_work=incident.status is not Status.CLOSED
            and any(now.may(p) for p in working_permissions(incident.mode)),
            may_approve=now.may(Permission.APPROVE),
            drill=DrillTime.of(clock, wall),
        )

    def incident_messages(self, actor: Actor, incident_id: str) -> list[MessageRow]:
        """The incident's messages, oldest first, each with its state and, once published, its deliveries."""
        self._may_read(actor)
        self.incidents.get(actor, incident_id)
        return [self._message_row(actor, m) for m in self._message_ids(incident_id)]

    def timeline(
        self,
        actor: Actor,
        incident: Incident,
        messages: tuple[MessageRow, ...],
        drill: DrillClock | None = None,
    ) -> tuple[TimelineRow, ...]:
        """People's actions on the incident and the deliveries of its messages, newest first; each with its drill
        time when a drill opened the incident (``drill``, its clock)."""
        tz = incident.timezone
        rows = [
            TimelineRow(t.at, local_time(t.at, tz), t.actor, t.what, t.summary)
            for t in self.incidents.timeline(incident.id)
        ]
        for message in messages:
            for row in self.outbox.rows(actor, message_id=message.id):
                if row.sent_at:
                    receipt = row.remote_url or row.remote_id or ""
                    rows.append(
                        TimelineRow(
                            row.sent_at,
                            local_time(row.sent_at, tz),
                            "outbox",
                            f"Delivered on {row.account}",
                            f"{message.type} {message.id} v{row.version} ({row.kind}) {receipt}".strip(),
                        )
                    )
        # Newest first; within one moment, the later-recorded first (the log's order, deliveries after their publish).
        order = sorted(enumerate(rows), key=lambda p: (datetime.fromisoformat(p[1].at), p[0]), reverse=True)
        if drill is not None:
            return tuple(replace(r, drill_at=drill.seconds(datetime.fromisoformat(r.at))) for _, r in order)
        return tuple(r for _, r in order)

    # -- opening ----------------------------------------------------------------------------------------

    def playbooks(self, actor: Actor) -> list[Playbook]:
        """The playbooks an incident can be opened from, by title."""
        self._may_read(actor)
        library = self.incidents.playbooks.library()
        return sorted(library.playbooks.values(), key=lambda p: (p.title.get("en") or p.id).casefold())

    def check_fact(self, playbook_id: str, name: str, text: str, timezone: str | None = None) -> str | None:
        """What opening an incident (or setting the fact) would say about ``text`` as fact ``name``; None if it
        would be taken."""
        playbook = self.incidents.playbooks.get(playbook_id)
        return fact_problem(playbook, name, text, zone(timezone or playbook.timezone))

    # -- inside -----------------------------------------------------------------------------------------

    def _may_read(self, actor: Actor) -> None:
        # Asked again at every look of the console: a refusal here is not recorded (the watcher would see the
        # record as a change and ask again, for ever); the services record refusals of what people do.
        now = current_actor(self.db, actor.name)
        if not now.may(Permission.READ):
            raise PermissionDenied(now.refusal(Permission.READ) or f"{actor.name} may not read incidents")

    def _message_ids(self, incident_id: str) -> list[str]:
        rows = self.db.conn.execute("SELECT id FROM messages WHERE incident_id = ? ORDER BY rowid", (incident_id,))
        return [r[0] for r in rows]

    def _message_row(self, actor: Actor, message_id: str) -> MessageRow:
        view = self.messages.show(actor, message_id)
        return _row(view, self.messages.returned_comment(view), self._deliveries(actor, view))

    def _deliveries(self, actor: Actor, view: MessageView) -> tuple[Delivery, ...]:
        if not view.published:
            return ()
        out = []
        for row in sorted(self.outbox.rows(actor, message_id=view.id), key=lambda r: r.pos):
            if row.state == "sent":
                detail = row.remote_url or row.remote_id or ""
            elif row.state == "failed":
                detail = f"{row.reason}; next try {row.next_try_at or 'now'}"
            else:
                detail = row.reason or ""
            out.append(Delivery(row.account, row.kind, row.state, detail))
        return tuple(out)

    @staticmethod
    def _step(item: DueItem, tz: str) -> StepRow:
        at = item.due_at.isoformat() if item.due_at else None
        local = local_time(at, tz) if at else "paused"
        return StepRow(item.step, item.kind, item.what, item.owner, at, local, item.state, item.drill_at)


def _row(view: MessageView, comment: str | None, deliveries: tuple[Delivery, ...]) -> MessageRow:
    state = view.state
    if state == "submitted" and view.verdict.ok:
        state = "approved"
    return MessageRow(
        id=view.id,
        incident_id=view.incident_id,
        type=view.type,
        mode=view.mode,
        state=state,
        version=view.version,
        author=view.author,
        content_hash=view.content_hash,
        approval=view.verdict.reason,
        comment=comment,
        published_at=view.published[-1]["at"] if view.published else None,
        deliveries=deliveries,
    )
