"""Incidents: a playbook put to work, LIVE or EXERCISE for its whole life, with what is due when."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from crisisdesk.domain.choices import parse_choice
from crisisdesk.domain.drill import DrillClock, offset_text
from crisisdesk.domain.roles import Permission

DUE_SOON = timedelta(minutes=10)


class Mode(enum.StrEnum):
    LIVE = "live"
    EXERCISE = "exercise"

    @classmethod
    def parse(cls, text: str) -> Mode:
        return parse_choice(cls, text, "mode")


class Status(enum.StrEnum):
    ACTIVE = "active"
    MONITORING = "monitoring"
    CLOSED = "closed"

    @classmethod
    def parse(cls, text: str) -> Status:
        return parse_choice(cls, text, "status")


def working_permissions(mode: Mode) -> tuple[Permission, ...]:
    """Who may work on an incident: communicators always; exercise controllers in exercises too."""
    return (Permission.DRAFT, Permission.RUN_EXERCISES) if mode is Mode.EXERCISE else (Permission.DRAFT,)


@dataclass(frozen=True, slots=True)
class Step:
    """A checklist step as the playbook gives it."""

    index: int
    offset: timedelta
    do: str
    owner: str


@dataclass(frozen=True, slots=True)
class DueItem:
    kind: str  # "step" or "update"
    what: str
    owner: str
    # The wall moment (UTC) it is due. In a drill: the moment drill time reaches it at the drill's present pace,
    # None while the drill is paused or ended (no wall moment will bring it).
    due_at: datetime | None
    state: str  # done, overdue, due (within ten minutes), upcoming
    step: int | None = None
    drill_at: float | None = None  # in a drill's incident: the drill time it is due, in seconds from the start
    drill_now: float | None = None  # ...and the drill time when it was read

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "kind": self.kind,
            "what": self.what,
            "owner": self.owner,
            "due_at": self.due_at.isoformat() if self.due_at else None,
            "state": self.state,
            "step": self.step,
        }
        if self.drill_at is not None:
            out["drill_at"] = offset_text(self.drill_at)
        return out


def _state(due_at: datetime, now: datetime, done: bool) -> str:
    if done:
        return "done"
    if now > due_at:
        return "overdue"
    if due_at - now <= DUE_SOON:
        return "due"
    return "upcoming"


def _drill_state(due: float, now: float, done: bool) -> str:
    if done:
        return "done"
    if now > due:
        return "overdue"
    if due - now <= DUE_SOON.total_seconds():
        return "due"
    return "upcoming"


def due_items(
    *,
    opened_at: datetime,
    steps: Sequence[Step],
    done_steps: frozenset[int],
    update_every: timedelta,
    last_update_at: datetime | None,
    now: datetime,
    closed: bool = False,
    drill: DrillClock | None = None,
) -> list[DueItem]:
    """The checklist against the clock, and the next update the playbook's cadence asks for. An incident a drill
    opened (``drill``, that drill's clock) is measured in drill time, as its evaluation is: at 60x a step due
    30 minutes after opening is due 30 wall seconds after it, and nothing falls due while the drill is paused."""
    if drill is not None:
        return _drill_due(opened_at, steps, done_steps, update_every, last_update_at, now, closed, drill)
    items = [
        DueItem(
            "step",
            s.do,
            s.owner,
            opened_at + s.offset,
            _state(opened_at + s.offset, now, s.index in done_steps),
            s.index,
        )
        for s in steps
    ]
    if not closed:
        next_update = (last_update_at or opened_at) + update_every
        items.append(DueItem("update", "Send an update", "communicator", next_update, _state(next_update, now, False)))
    return sorted(items, key=lambda i: (i.due_at or now, i.kind))


def _drill_due(  # noqa: PLR0917 - due_items' parts, passed on
    opened_at: datetime,
    steps: Sequence[Step],
    done_steps: frozenset[int],
    update_every: timedelta,
    last_update_at: datetime | None,
    now: datetime,
    closed: bool,
    clock: DrillClock,
) -> list[DueItem]:
    origin, present = clock.seconds(opened_at), clock.seconds(now)

    def item(kind: str, what: str, owner: str, at: float, *, done: bool = False, step: int | None = None) -> DueItem:
        return DueItem(kind, what, owner, clock.wall_at(at), _drill_state(at, present, done), step, at, present)

    items = [
        item("step", s.do, s.owner, origin + s.offset.total_seconds(), done=s.index in done_steps, step=s.index)
        for s in steps
    ]
    if not closed:
        since = clock.seconds(last_update_at) if last_update_at is not None else origin
        items.append(item("update", "Send an update", "communicator", since + update_every.total_seconds()))
    return sorted(items, key=lambda i: (i.drill_at or 0.0, i.kind))
