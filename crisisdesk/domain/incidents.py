"""Incidents: a playbook put to work, LIVE or EXERCISE for its whole life, with what is due when."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from crisisdesk.domain.choices import parse_choice
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
    due_at: datetime
    state: str  # done, overdue, due (within ten minutes), upcoming
    step: int | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "what": self.what,
            "owner": self.owner,
            "due_at": self.due_at.isoformat(),
            "state": self.state,
            "step": self.step,
        }


def _state(due_at: datetime, now: datetime, done: bool) -> str:
    if done:
        return "done"
    if now > due_at:
        return "overdue"
    if due_at - now <= DUE_SOON:
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
) -> list[DueItem]:
    """The checklist against the clock, and the next update the playbook's cadence asks for."""
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
    return sorted(items, key=lambda i: (i.due_at, i.kind))
