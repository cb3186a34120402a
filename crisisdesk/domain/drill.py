"""A drill's clock, from its control events: pure arithmetic, no I/O.

Drill time starts at 0 when the drill starts and, while it runs, advances ``compression`` drill seconds per wall
second. A pause stops it, a resume starts it again, a change of compression applies from its moment, and a jump
sets it forward to an inject's offset. Every one of those is an event with its wall time, so the drill time of any
moment (an inject, a message published, an approval) is computed from the log, never kept.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

STARTED = "drill.started"
PAUSED = "drill.paused"
RESUMED = "drill.resumed"
JUMPED = "drill.jumped"
COMPRESSION_SET = "drill.compression_set"
ENDED = "drill.ended"
CONTROL_KINDS = frozenset({STARTED, PAUSED, RESUMED, JUMPED, COMPRESSION_SET, ENDED})
LOADED = "drill.loaded"
FIRED = "drill.inject_fired"
SKIPPED = "drill.inject_skipped"
RATED = "drill.rated"
REPORT_EDITED = "drill.report_edited"
# Every event that says what a drill is and where it stands (ratings and the report are the after-action's).
STATE_KINDS = CONTROL_KINDS | {LOADED, FIRED, SKIPPED}
CHANNEL_OUTAGE = "channel-outage"
NETWORK_LOSS = "network-loss"


MIN_FACTOR, MAX_FACTOR = 1.0, 60.0


def _number(value: Any, low: float = 0.0, high: float = math.inf) -> float | None:
    """A finite number in [low, high] (events keep them as decimal strings), else None."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and low <= number <= high else None


def malformed(kind: str, payload: Mapping[str, Any]) -> str | None:
    """Why a drill event cannot be folded or read (a field missing, not a number, out of range, a rating or a plan's
    day that is none), or None. The services write them well formed; one written by hand through the log's API, or
    arriving from another workstation, is passed over rather than stop every reader of every drill (or throw a
    drill's clock to NaN, backwards or past its end)."""
    if kind == STARTED and "compression" in payload and _number(payload["compression"], MIN_FACTOR, MAX_FACTOR) is None:
        return "a compression outside 1-60"
    if kind == STARTED and not isinstance(payload.get("incidents", {}), Mapping):
        return "incidents that are not a mapping"
    if kind == COMPRESSION_SET and _number(payload.get("factor"), MIN_FACTOR, MAX_FACTOR) is None:
        return "a factor outside 1-60"
    if kind == JUMPED and _number(payload.get("to_seconds")) is None:
        return "no drill time to jump to"
    if kind == RATED:
        if not isinstance(payload.get("objective"), str) or payload.get("rating") not in ("P", "S", "M", "U"):
            return "no objective or no HSEEP rating"
        if not isinstance(payload.get("note", ""), str):
            return "a note that is not text"
    if kind == REPORT_EDITED:
        return _edit_problem(payload)
    if kind in (FIRED, SKIPPED):
        if not isinstance(payload.get("inject"), str) or not payload["inject"]:
            return "no inject"
        if "drill_seconds" in payload and _number(payload["drill_seconds"]) is None:
            return "a drill time that is not a number"
        if kind == FIRED and payload.get("kind") in (CHANNEL_OUTAGE, NETWORK_LOSS):
            if _number(payload.get("until_seconds")) is None:
                return "an outage without its end"
            if not isinstance(payload.get("accounts", []), list):
                return "accounts that are not a list"
    return None


def _day(value: Any) -> bool:
    """Empty, or a day as the plan keeps it (2026-12-01)."""
    if not value:
        return True
    try:
        date.fromisoformat(str(value))
    except ValueError:
        return False
    return True


def _edit_problem(payload: Mapping[str, Any]) -> str | None:
    if "plan" in payload:
        rows = payload["plan"]
        if rows is None:
            return None
        if not isinstance(rows, list) or not all(isinstance(r, Mapping) for r in rows):
            return "a plan that is not rows"
        if not all(_day(r.get("start")) and _day(r.get("completion")) for r in rows):
            return "a plan row's day that is not a date"
        return None
    if not isinstance(payload.get("objective"), str):
        return "no objective and no plan"
    for key in ("strengths", "areas"):
        value = payload.get(key, [])
        if value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            return f"{key} that are not lines of text"
    return None


@dataclass(frozen=True, slots=True)
class _Segment:
    wall: datetime  # from this wall moment...
    drill: float  # ...drill time is this many seconds...
    rate: float  # ...and advances this many drill seconds per wall second (0: paused or ended)


class DrillClock:
    """Drill time at any wall moment, for one drill. Build it with ``from_events`` from that drill's control events
    (kind, wall time, payload), in log order; events of other kinds are ignored."""

    def __init__(self) -> None:
        self._segments: list[_Segment] = []
        self.compression = 1.0
        self.running = False
        self.ended = False

    @classmethod
    def from_events(cls, events: Iterable[tuple[str, datetime, Mapping[str, Any]]]) -> DrillClock:
        clock = cls()
        for kind, at, payload in events:
            clock.apply(kind, at, payload)
        return clock

    @property
    def started(self) -> datetime | None:
        return self._segments[0].wall if self._segments else None

    def apply(self, kind: str, at: datetime, payload: Mapping[str, Any]) -> None:
        if kind not in CONTROL_KINDS or self.ended or malformed(kind, payload):
            return
        if kind == STARTED:
            if self._segments:
                return
            self.compression = float(payload.get("compression", 1.0))
            self.running = True
            self._segments.append(_Segment(at, 0.0, self.compression))
            return
        if not self._segments:
            return
        now = self.seconds(at)
        if kind == PAUSED:
            self.running = False
        elif kind == RESUMED:
            self.running = True
        elif kind == COMPRESSION_SET:
            self.compression = float(payload["factor"])
        elif kind == JUMPED:
            now = max(now, float(payload["to_seconds"]))
        elif kind == ENDED:
            self.running = False
            self.ended = True
        self._segments.append(_Segment(at, now, self.compression if self.running else 0.0))

    def seconds(self, wall: datetime) -> float:
        """Drill seconds at ``wall`` (0 before the start; frozen while paused and after the end)."""
        if not self._segments or wall < self._segments[0].wall:
            return 0.0
        segment = self._segments[0]
        for candidate in self._segments:
            if candidate.wall > wall:
                break
            segment = candidate
        return segment.drill + max(0.0, (wall - segment.wall).total_seconds()) * segment.rate

    def drill_time(self, wall: datetime) -> timedelta:
        return timedelta(seconds=self.seconds(wall))

    def wall_at(self, drill_seconds: float) -> datetime | None:
        """The wall moment drill time reaches ``drill_seconds`` if the clock keeps its present pace (None while
        paused or ended, or before the start); the past moment it did, if it already has."""
        if not self._segments:
            return None
        for segment, following in zip(self._segments, [*self._segments[1:], None], strict=True):
            if segment.drill >= drill_seconds:
                return segment.wall
            if segment.rate <= 0:
                continue
            # Where this stretch's own pace takes drill time before the next control event (a jump may then set
            # it further on: a moment jumped over was reached at the jump).
            reach = (
                None
                if following is None
                else segment.drill + (following.wall - segment.wall).total_seconds() * segment.rate
            )
            if reach is None or reach >= drill_seconds:
                return segment.wall + timedelta(seconds=(drill_seconds - segment.drill) / segment.rate)
        return None

    @property
    def rate(self) -> float:
        """Drill seconds per wall second now (0 before the start, while paused and after the end)."""
        return self._segments[-1].rate if self._segments else 0.0


@dataclass(frozen=True, slots=True)
class Outage:
    """An injected failure of exercise accounts, in force until drill time ``until_seconds``."""

    inject: str
    kind: str  # channel-outage or network-loss
    accounts: tuple[str, ...]
    until_seconds: float

    @property
    def reason(self) -> str:
        what = "channel outage" if self.kind == CHANNEL_OUTAGE else "network loss"
        return f"drill: {what} injected until {offset_text(self.until_seconds)}"


@dataclass
class DrillRecord:
    """One drill as its events say, folded in log order: what was loaded, started, fired and skipped, and its
    clock. Pure: the service reads the events, this decides."""

    id: str
    loaded: Mapping[str, Any]
    loaded_at: datetime
    loaded_by: str
    started: Mapping[str, Any] | None = None
    started_by: str | None = None
    ended_at: datetime | None = None
    clock: DrillClock = field(default_factory=DrillClock)
    fired: dict[str, tuple[datetime, Mapping[str, Any]]] = field(default_factory=dict)
    skipped: dict[str, tuple[datetime, Mapping[str, Any]]] = field(default_factory=dict)

    @classmethod
    def from_events(cls, events: Iterable[tuple[str, datetime, str, Mapping[str, Any]]]) -> DrillRecord | None:
        """(kind, wall time, actor, payload) of one drill's events in log order; None without its ``loaded``."""
        record: DrillRecord | None = None
        for kind, at, actor, payload in events:
            if kind == LOADED:
                if record is None:
                    record = cls(str(payload["drill"]), payload, at, actor)
                continue
            if record is None:
                continue
            record.apply(kind, at, actor, payload)
        return record

    def apply(self, kind: str, at: datetime, actor: str, payload: Mapping[str, Any]) -> None:
        if malformed(kind, payload):
            return
        if kind == STARTED and self.started is None:
            self.started, self.started_by = payload, actor
        elif kind == ENDED and self.ended_at is None and self.started is not None:
            self.ended_at = at
        elif kind == FIRED and not self.done(str(payload["inject"])):
            self.fired[str(payload["inject"])] = (at, payload)
        elif kind == SKIPPED and not self.done(str(payload["inject"])):
            self.skipped[str(payload["inject"])] = (at, payload)
        self.clock.apply(kind, at, payload)

    def done(self, inject_id: str) -> bool:
        return inject_id in self.fired or inject_id in self.skipped

    @property
    def status(self) -> str:
        if self.started is None:
            return "loaded"
        if self.clock.ended:
            return "ended"
        return "running" if self.clock.running else "paused"

    def outages(self, wall: datetime) -> list[Outage]:
        """The outages in force at ``wall``: fired, not yet over in drill time, and the drill not ended (a drill's
        end ends its outages; a pause holds them, as it holds drill time)."""
        if self.status not in ("running", "paused"):
            return []
        now = self.clock.seconds(wall)
        out = []
        for _, payload in self.fired.values():
            kind = payload.get("kind")
            if kind not in (CHANNEL_OUTAGE, NETWORK_LOSS):
                continue
            until = float(payload["until_seconds"])
            if now >= until:
                continue
            accounts = (payload.get("account"),) if kind == CHANNEL_OUTAGE else tuple(payload.get("accounts") or ())
            accounts = tuple(
                a for a in accounts if a
            )  # an outage not applied (its account was not exercise) names none
            if not accounts:
                continue
            out.append(Outage(str(payload["inject"]), str(kind), tuple(str(a) for a in accounts), until))
        return out


def offset_text(drill: timedelta | float) -> str:
    """Drill time as the controllers write it: T+0, T+5m, T+1h05m, T+12m30s."""
    total = int(drill.total_seconds() if isinstance(drill, timedelta) else drill)
    hours, rest = divmod(max(total, 0), 3600)
    minutes, seconds = divmod(rest, 60)
    if total <= 0:
        return "T+0"
    text = f"{hours}h{minutes:02d}m" if hours else f"{minutes}m"
    if seconds:
        text += f"{seconds:02d}s" if (hours or minutes) else ""
        if not (hours or minutes):
            text = f"{seconds}s"
    return f"T+{text}"
