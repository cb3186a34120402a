"""What waits for a person: the numbers behind the console's badges, in one read."""

from __future__ import annotations

from dataclasses import dataclass

from crisisdesk.domain.incidents import Status
from crisisdesk.domain.roles import Actor, Permission
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

    @property
    def deliveries(self) -> int:
        return self.failed + self.dead


NOTHING = Attention((), 0, 0, 0)


class AttentionService:
    def __init__(self, db: Database, messages: MessageService, incidents: IncidentService) -> None:
        self.db = db
        self.messages = messages
        self.incidents = incidents

    def for_person(self, actor: Actor) -> Attention:
        """What waits for ``actor``, roles read from the log now. A question, never recorded: someone who may
        not read sees nothing waiting rather than a refusal each time the console looks."""
        if not current_actor(self.db, actor.name).may(Permission.READ):
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
        )

    def _overdue(self) -> int:
        count = 0
        for row in self.db.select("incidents", "status != 'closed'"):
            incident = self.incidents.from_log(row["id"])  # the log says whether it is still open
            if incident.status is Status.CLOSED:
                continue
            playbook = self.incidents.playbooks.get(incident.playbook_id)
            count += sum(1 for item in self.incidents.due(incident, playbook) if item.state == "overdue")
        return count
