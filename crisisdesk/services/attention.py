"""What waits for a person: the numbers behind the console's badges, in one read."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from crisisdesk.domain.incidents import Status
from crisisdesk.domain.roles import Actor, Permission
from crisisdesk.services.drills import DrillService
from crisisdesk.services.guard import current_actor
from crisisdesk.services.incidents import IncidentService
from crisisdesk.services.messages import MessageService
from crisisdesk.store.db import Database


@dataclass(frozen=True, slots=True)
class Attention:
    approvals: tuple[str, ...]  # submitted messages this person may approve now
    failed: int  # outbox rows that failed and will be tried again
    dead: int  # outbox rows that gave up: a person must act
    overdue: int  # checklist steps and public updates past their time, on active incidents
    # The notes for this person's roles in the drills started and not ended, each "drill/inject": the console
    # counts those it has not shown yet (what was shown is the window's to know, not the log's).
    notes: tuple[str, ...] = ()
    urgent_comments: int = 0  # urgent public comments on open incidents nobody has triaged yet

    @property
    def deliveries(self) -> int:
        return self.failed + self.dead


NOTHING = Attention((), 0, 0, 0)
# Urgent public comments waiting for triage: the undecided (an urgent priority from the rules or the drill's
# script, through the triage index) and those decided 'new' with an urgent priority; each concerning an incident
# still open (an alert on it) or a drill under way with one open (a drill's comment is its incident's: the script
# says so even where no keyword raised an alert). The marks are question marks only.
URGENT_WAITING = """SELECT count(*) FROM (
    SELECT i.fingerprint, i.extra FROM feed_items i INDEXED BY feed_items_triage
    WHERE i.public = 1 AND i.priority = 'urgent'
      AND NOT EXISTS (SELECT 1 FROM triage_decisions d WHERE d.fingerprint = i.fingerprint)
    UNION
    SELECT i.fingerprint, i.extra FROM triage_decisions d JOIN feed_items i ON i.fingerprint = d.fingerprint
    WHERE i.public = 1 AND d.status = 'new' AND coalesce(d.priority, i.priority) = 'urgent'
) waiting WHERE EXISTS (
    SELECT 1 FROM feed_alerts a JOIN incidents n ON n.id = a.incident_id
    WHERE a.fingerprint = waiting.fingerprint AND n.status != 'closed'
) OR json_extract(waiting.extra, '$.drill.drill') IN ({drills})"""


class AttentionService:
    def __init__(
        self,
        db: Database,
        messages: MessageService,
        incidents: IncidentService,
        drills: Callable[[], DrillService] | None = None,
    ) -> None:
        self.db = db
        self.messages = messages
        self.incidents = incidents
        self._drills = drills

    def for_person(self, actor: Actor) -> Attention:
        """What waits for ``actor``, roles read from the log now. A question, never recorded: someone who may
        not read sees nothing waiting rather than a refusal each time the console looks."""
        now = current_actor(self.db, actor.name)
        if not now.may(Permission.READ):
            return NOTHING
        states = dict(
            self.db.conn.execute(
                "SELECT state, count(*) FROM outbox WHERE state IN ('failed', 'dead') GROUP BY state"
            ).fetchall()
        )
        return Attention(
            approvals=tuple(self.messages.awaiting_approval(actor)),
            failed=int(states.get("failed", 0)),
            dead=int(states.get("dead", 0)),
            overdue=self._overdue(),
            notes=self._notes(now),
            urgent_comments=self._urgent_comments(),
        )

    def _urgent_comments(self) -> int:
        under_way = []  # the drills started, not ended, with an incident still open
        for record in self._drills().running() if self._drills is not None else ():
            incidents = ((record.started or {}).get("incidents") or {}).values()
            if any(self._open(str(i)) for i in incidents):
                under_way.append(record.id)
        sql = URGENT_WAITING.format(drills=",".join("?" * len(under_way)))
        return int(self.db.conn.execute(sql, sorted(under_way)).fetchone()[0])

    def _open(self, incident_id: str) -> bool:
        row = self.db.conn.execute("SELECT status FROM incidents WHERE id = ?", (incident_id,)).fetchone()
        return row is not None and row[0] != "closed"

    def _notes(self, actor: Actor) -> tuple[str, ...]:
        """The notes to this person's roles in the drills under way (running or paused), oldest first."""
        if self._drills is None:
            return ()
        drills = self._drills()
        found = []
        for drill_id in sorted(drills.running_ids()):
            drill = drills.view(drill_id)
            found += [(n.fired_at, f"{drill.id}/{n.inject_id}") for n in drill.notes if n.to in actor.roles]
        return tuple(key for _, key in sorted(found))

    def _overdue(self) -> int:
        count = 0
        for row in self.db.select("incidents", "status != 'closed'"):
            incident = self.incidents.from_log(row["id"])  # the log says whether it is still open
            if incident.status is Status.CLOSED:
                continue
            playbook = self.incidents.playbooks.get(incident.playbook_id)
            count += sum(1 for item in self.incidents.due(incident, playbook) if item.state == "overdue")
        return count
