"""Opening and running incidents: facts, status, the checklist and the update cadence, and the timeline."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from crisisdesk.domain.clock import Clock
from crisisdesk.domain.drill import DrillClock
from crisisdesk.domain.errors import NotFound, UserError
from crisisdesk.domain.events import Kind, from_body, kind_label
from crisisdesk.domain.facts import parse_duration, zone
from crisisdesk.domain.incidents import DueItem, Mode, Status, Step, due_items, working_permissions
from crisisdesk.domain.messages import fact_name, missing_translations, parse_values
from crisisdesk.domain.playbook import Playbook, parse_offset
from crisisdesk.domain.roles import Actor, Permission
from crisisdesk.services.audit import summarise
from crisisdesk.services.guard import require
from crisisdesk.services.playbooks import PlaybookService
from crisisdesk.store.db import Database
from crisisdesk.store.eventlog import EventLog
from crisisdesk.store.ledger import Ledger


@dataclass(frozen=True)
class TimelineEntry:
    at: str
    actor: str
    kind: str
    what: str
    summary: str

    def as_dict(self) -> dict[str, str]:
        return {"at": self.at, "actor": self.actor, "kind": self.kind, "what": self.what, "summary": self.summary}


@dataclass(frozen=True)
class Incident:
    id: str
    playbook_id: str
    playbook_version: str
    title: str
    mode: Mode
    status: Status
    timezone: str
    opened_at: str
    opened_by: str
    closed_at: str | None
    facts: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "playbook": self.playbook_id,
            "playbook_version": self.playbook_version,
            "title": self.title,
            "mode": self.mode.value,
            "status": self.status.value,
            "timezone": self.timezone,
            "opened_at": self.opened_at,
            "opened_by": self.opened_by,
            "closed_at": self.closed_at,
            "facts": self.facts,
        }


@dataclass(frozen=True)
class IncidentView:
    incident: Incident
    due: list[DueItem]
    timeline: list[TimelineEntry]
    missing_translations: list[tuple[str, str]] = field(default_factory=list)  # (fact, language)

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.incident.as_dict(),
            "missing_translations": [{"fact": name, "lang": lang} for name, lang in self.missing_translations],
            "due": [d.as_dict() for d in self.due],
            "timeline": [t.as_dict() for t in self.timeline],
        }


class IncidentService:
    def __init__(self, db: Database, log: EventLog, clock: Clock, playbooks: PlaybookService) -> None:
        self.db = db
        self.log = log
        self.clock = clock
        self.playbooks = playbooks
        # The clock of the drill that opened an incident, None for any other (App connects the drill service): a
        # drill's incident is due in drill time, as its evaluation measures it.
        self.drill_clock: Callable[[str], DrillClock | None] = lambda incident_id: None

    # -- opening ------------------------------------------------------------------------------------------

    def open(
        self,
        actor: Actor,
        playbook_id: str,
        mode: Mode,
        *,
        title: str | None = None,
        facts: Mapping[str, str] | None = None,
        timezone: str | None = None,
        then: Callable[[sqlite3.Connection, str], None] | None = None,
    ) -> Incident:
        """Open an incident. Its mode is fixed for its whole life.

        ``then(conn, incident_id)`` runs in the same write transaction, after the opening is recorded: what the
        caller records with it, and its checks (an exception undoes the opening too)."""
        if mode is Mode.LIVE:
            require(self.db, self.log, actor, Permission.DRAFT, "open a live incident")
        else:
            require(self.db, self.log, actor, working_permissions(mode), "open an exercise")
        playbook = self.playbooks.get(playbook_id)
        tz_name = timezone or playbook.timezone
        # Each value under the key it is kept by ("route@en" is "route" in an English-first playbook).
        raw = {fact_name(playbook, key): value for key, value in (facts or {}).items()}
        parse_values(playbook, raw, zone(tz_name))  # a mistyped fact is refused before anything is recorded
        incident_id = f"inc-{uuid.uuid4().hex[:10]}"
        with self.db.write() as conn:
            self.log.record(
                conn,
                actor.name,
                Kind.INCIDENT_OPENED,
                {
                    "incident": incident_id,
                    "playbook": playbook.id,
                    "playbook_version": playbook.version,
                    "title": title or playbook.title.get("en") or playbook.id,
                    "mode": mode.value,
                    "timezone": tz_name,
                    "facts": raw,
                },
            )
            if then is not None:
                then(conn, incident_id)
        return self.get(actor, incident_id)

    # -- reading ------------------------------------------------------------------------------------------

    def get(self, actor: Actor, incident_id: str) -> Incident:
        require(self.db, self.log, actor, Permission.READ, f"read incident {incident_id}")
        return self.get_unchecked(incident_id)

    def get_unchecked(self, incident_id: str) -> Incident:
        """For services that already checked the actor: no permission check, no refusal recorded."""
        rows = list(self.db.utils.table("incidents").rows_where("id = ?", [incident_id]))
        if not rows:
            raise NotFound(f"no incident {incident_id!r}; 'crisisdesk incident list' shows them")
        return self._incident(rows[0])

    def list_all(self, actor: Actor, *, include_closed: bool = True) -> list[Incident]:
        require(self.db, self.log, actor, Permission.READ, "list incidents")
        where = None if include_closed else "status != 'closed'"
        rows = self.db.utils.table("incidents").rows_where(where, order_by="opened_at DESC, id")
        return [self._incident(row) for row in rows]

    def playbooks_in_use(self) -> list[str]:
        """The playbooks of the incidents not closed, the most recently opened first. No actor: the console warms its
        cache of validated playbooks with them before anyone has signed in (which playbooks exist is no secret)."""
        rows = self.db.conn.execute(
            "SELECT playbook_id FROM incidents WHERE status != 'closed' "
            "GROUP BY playbook_id ORDER BY max(opened_at) DESC"
        ).fetchall()
        return [str(row[0]) for row in rows]

    def show(self, actor: Actor, incident_id: str) -> IncidentView:
        incident = self.get(actor, incident_id)
        playbook = self.playbooks.get(incident.playbook_id)
        return IncidentView(
            incident,
            self.due(incident, playbook),
            self.timeline(incident_id),
            missing_translations(playbook, incident.facts),
        )

    def due(self, incident: Incident, playbook: Playbook) -> list[DueItem]:
        done = frozenset(
            r[0]
            for r in self.db.conn.execute("SELECT step FROM incident_steps_done WHERE incident_id = ?", (incident.id,))
        )
        steps = [Step(i, parse_offset(s.at), s.do, s.owner.value) for i, s in enumerate(playbook.checklist, start=1)]
        return due_items(
            opened_at=datetime.fromisoformat(incident.opened_at),
            steps=steps,
            done_steps=done,
            update_every=parse_duration(playbook.cadence.update_every),
            last_update_at=self._last_update_at(incident.id),
            now=self.clock.now(),
            closed=incident.status is Status.CLOSED,
            drill=self.drill_clock(incident.id),
        )

    def _last_update_at(self, incident_id: str) -> datetime | None:
        """When the public last heard from us: the cadence restarts at each published alert or update."""
        row = self.db.conn.execute(
            "SELECT max(p.at) FROM publications p JOIN messages m ON m.id = p.message_id "
            "WHERE m.incident_id = ? AND m.type IN ('alert', 'update')",
            (incident_id,),
        ).fetchone()
        return datetime.fromisoformat(row[0]) if row and row[0] else None

    def timeline(self, incident_id: str) -> list[TimelineEntry]:
        rows = self.db.conn.execute(
            "SELECT hash, body FROM events WHERE json_extract(body, '$.payload.incident') = ? ORDER BY position",
            (incident_id,),
        )
        entries = []
        for stored_hash, body in rows:
            e = from_body(body, stored_hash)
            # The version's content is identified by its hash; 'message show' prints it in full.
            payload = {k: v for k, v in e.payload.items() if k not in ("incident", "content")}
            entries.append(TimelineEntry(e.at, e.actor, e.kind, kind_label(e.kind), _timeline_detail(e.kind, payload)))
        return entries

    # -- changing -----------------------------------------------------------------------------------------

    def set_fact(self, actor: Actor, incident_id: str, name: str, value: str) -> Incident:
        incident = self.writable(actor, incident_id, f"set a fact on {incident_id}")
        playbook = self.playbooks.get(incident.playbook_id)
        name = fact_name(playbook, name)
        parse_values(playbook, {name: value}, zone(incident.timezone))
        with self.db.write() as conn:
            self.log.record(conn, actor.name, Kind.FACT_SET, {"incident": incident_id, "name": name, "value": value})
        return self.get(actor, incident_id)

    def missing_translations(self, incident: Incident) -> list[tuple[str, str]]:
        """(fact, language) for each language a fact of the incident has no value in (see ``domain.facts``)."""
        return missing_translations(self.playbooks.get(incident.playbook_id), incident.facts)

    def set_status(self, actor: Actor, incident_id: str, status: Status) -> Incident:
        incident = self.writable(actor, incident_id, f"change the status of {incident_id}")
        if incident.status is status:
            return incident
        with self.db.write() as conn:
            self.log.record(conn, actor.name, Kind.STATUS_CHANGED, {"incident": incident_id, "status": status.value})
        return self.get(actor, incident_id)

    def close(self, actor: Actor, incident_id: str) -> Incident:
        return self.set_status(actor, incident_id, Status.CLOSED)

    def step_done(self, actor: Actor, incident_id: str, step: int) -> Incident:
        incident = self.writable(actor, incident_id, f"tick a checklist step on {incident_id}")
        count = len(self.playbooks.get(incident.playbook_id).checklist)
        if not 1 <= step <= count:
            raise UserError(f"{incident_id} has checklist steps 1 to {count}, not {step}")
        with self.db.write() as conn:
            self.log.record(conn, actor.name, Kind.STEP_DONE, {"incident": incident_id, "step": step})
        return self.get(actor, incident_id)

    # -- helpers -----------------------------------------------------------------------------------------

    def writable(self, actor: Actor, incident_id: str, action: str) -> Incident:
        """The incident as its events say, if the actor may work on it and it is not closed (a refusal is
        recorded). Mode, status and facts come from the log, not from the tables."""
        self.get(actor, incident_id)
        incident = self.from_log(incident_id)
        require(self.db, self.log, actor, working_permissions(incident.mode), action)
        if incident.status is Status.CLOSED:
            raise UserError(f"{incident_id} is closed; open a new incident for new events")
        return incident

    def from_log(self, incident_id: str) -> Incident:
        """The incident with its mode, status, facts, title, zone and playbook read from its events."""
        record = Ledger(self.db.conn).incident(incident_id)
        if record is None:
            raise NotFound(f"no incident {incident_id!r} in the audit log; 'crisisdesk incident list' shows them")
        shown = self.get_unchecked(incident_id)
        return replace(
            shown,
            playbook_id=record.playbook,
            title=record.title,
            mode=Mode(record.mode),
            status=Status(record.status),
            timezone=record.timezone,
            facts=dict(sorted(record.facts.items())),
        )

    def _incident(self, data: dict[str, Any]) -> Incident:
        facts = dict(
            self.db.conn.execute(
                "SELECT name, value FROM incident_facts WHERE incident_id = ? ORDER BY name", (data["id"],)
            ).fetchall()
        )
        return Incident(
            id=data["id"],
            playbook_id=data["playbook_id"],
            playbook_version=data["playbook_version"],
            title=data["title"],
            mode=Mode(data["mode"]),
            status=Status(data["status"]),
            timezone=data["timezone"],
            opened_at=data["opened_at"],
            opened_by=data["opened_by"],
            closed_at=data["closed_at"],
            facts=facts,
        )


def _timeline_detail(kind: str, payload: dict[str, Any]) -> str:
    """A timeline row's details: a drill's inject says what it did in words ("feed item 12 in 'drill: ...'", a
    note's text), not its fields; every other event its fields."""
    if kind == Kind.DRILL_INJECT_FIRED:
        words = [str(payload.get(k)) for k in ("detail", "text") if payload.get(k)]
        if words:
            return f"{payload.get('inject', '')}: " + " · ".join(words)
    return summarise(payload)
