"""Exercise control: load a scenario, start, pause, resume, jump, compress time, inject by hand, end.

CONTRACT (issue 15; the lead wrote the shapes, the drill-service helper fills them in). Every control action is an
event (``Kind.DRILL_*``), and a drill's state (status, drill time, which injects fired) is derived from those events
at the moment it is asked for, never from a table. Injects go through the real feed, triage and outbox paths into
the drill's exercise-only feed source and exercise accounts; nothing in a drill can reach a LIVE account.

Drill time: from the control events, each with its wall time (UTC): while running, drill time advances at
``compression`` drill seconds per wall second (1 to 60); a pause stops it; a jump sets it forward to an inject's
offset. ``crisisdesk.domain.drill`` holds that arithmetic, pure.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from crisisdesk.domain.playbook import Problem
from crisisdesk.domain.roles import Actor, Role
from crisisdesk.domain.scenario import InjectKind, Scenario

MIN_COMPRESSION = 1.0
MAX_COMPRESSION = 60.0


class DrillStatus(enum.StrEnum):
    LOADED = "loaded"
    RUNNING = "running"
    PAUSED = "paused"
    ENDED = "ended"


class InjectStatus(enum.StrEnum):
    PENDING = "pending"
    FIRED = "fired"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class InjectState:
    id: str
    kind: InjectKind
    scheduled: timedelta  # its offset from the start, in drill time
    summary: str  # one line for the controller's list: "Comment (urgent, es): ¿Dónde está el refugio?"
    incident_id: str | None  # the drill incident it concerns, once started
    status: InjectStatus
    fired_at: timedelta | None = None  # drill time it fired
    fired_wall: datetime | None = None  # UTC
    by_hand: bool = False
    detail: str = ""  # what it did: "feed item 123 in 'drill: Flash flood'", "'sms-exercise' failing until T+35m"


@dataclass(frozen=True, slots=True)
class PlayerNote:
    inject_id: str
    to: Role
    source: str
    text: str
    fired_at: timedelta


@dataclass(frozen=True, slots=True)
class Drill:
    id: str
    scenario: Scenario
    source: str  # the scenario file's name
    status: DrillStatus
    compression: float
    drill_time: timedelta  # at the moment it was read
    loaded_by: str
    started_at: datetime | None = None
    ended_at: datetime | None = None
    incidents: dict[str, str] = field(default_factory=dict)  # scenario key -> incident id
    injects: list[InjectState] = field(default_factory=list)
    notes: list[PlayerNote] = field(default_factory=list)
    outages: list[str] = field(default_factory=list)  # what is failing now, one line each

    @property
    def next_inject(self) -> InjectState | None:
        pending = [i for i in self.injects if i.status is InjectStatus.PENDING]
        return min(pending, key=lambda i: i.scheduled) if pending else None


@dataclass(frozen=True, slots=True)
class ScenarioFile:
    path: Path
    scenario: Scenario | None
    problems: list[Problem]


class DrillService:
    """See the module's docstring. Methods that act take the ``Actor`` and require ``Permission.RUN_EXERCISES``
    (re-read from the log)."""

    def scenarios(self) -> list[ScenarioFile]:
        """Every scenario file (shipped, then the user's folder), each checked, broken ones with their problems."""
        raise NotImplementedError

    def validate(self, path: Path) -> tuple[Scenario | None, list[Problem]]:
        """The file checked: schema, then cross-references (inject ids unique, objectives' injects and incidents
        exist, playbooks exist, outage accounts are exercise accounts). Problems as ``file:line:column``."""
        raise NotImplementedError

    def load(self, actor: Actor, path: Path) -> Drill:
        """A checked scenario becomes a drill (``drill.loaded``, with the scenario's text and hash in the event)."""
        raise NotImplementedError

    def drills(self, actor: Actor, *, include_ended: bool = True) -> list[Drill]:
        raise NotImplementedError

    def get(self, actor: Actor, drill_id: str) -> Drill:
        raise NotImplementedError

    def start(self, actor: Actor, drill_id: str, *, compression: float = 1.0) -> Drill:
        """Opens the scenario's EXERCISE incidents and the drill's exercise-only feed source; ``drill.started``."""
        raise NotImplementedError

    def pause(self, actor: Actor, drill_id: str) -> Drill:
        raise NotImplementedError

    def resume(self, actor: Actor, drill_id: str) -> Drill:
        raise NotImplementedError

    def set_compression(self, actor: Actor, drill_id: str, factor: float) -> Drill:
        raise NotImplementedError

    def jump(self, actor: Actor, drill_id: str, inject_id: str) -> Drill:
        """Drill time moves forward to the inject's offset and it fires; earlier pending injects are skipped (an
        event each). Backwards is refused."""
        raise NotImplementedError

    def inject(self, actor: Actor, drill_id: str, inject_id: str) -> Drill:
        """Fire a pending inject now, by hand."""
        raise NotImplementedError

    def end(self, actor: Actor, drill_id: str) -> Drill:
        raise NotImplementedError

    def tick(self, now: datetime | None = None) -> list[InjectState]:
        """Fire every inject of every running drill whose time has come (as the system); what fired."""
        raise NotImplementedError

    def next_due(self, now: datetime | None = None) -> timedelta | None:
        """Wall time until the next pending inject of any running drill (None: nothing running)."""
        raise NotImplementedError

    def outage(self, account_id: str, now: datetime | None = None) -> str | None:
        """Why sends to this exercise account fail now (an injected outage or network loss), or None. Never for a
        LIVE account."""
        raise NotImplementedError
