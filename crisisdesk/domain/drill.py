"""A drill's clock, from its control events: pure arithmetic, no I/O.

Drill time starts at 0 when the drill starts and, while it runs, advances ``compression`` drill seconds per wall
second. A pause stops it, a resume starts it again, a change of compression applies from its moment, and a jump
sets it forward to an inject's offset. Every one of those is an event with its wall time, so the drill time of any
moment (an inject, a message published, an approval) is computed from the log, never kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

STARTED = "drill.started"
PAUSED = "drill.paused"
RESUMED = "drill.resumed"
JUMPED = "drill.jumped"
COMPRESSION_SET = "drill.compression_set"
ENDED = "drill.ended"
CONTROL_KINDS = frozenset({STARTED, PAUSED, RESUMED, JUMPED, COMPRESSION_SET, ENDED})


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
        if kind not in CONTROL_KINDS or self.ended:
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
        if not self._segments or wall <= self._segments[0].wall:
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
            end = following.drill if following is not None else None
            if segment.drill >= drill_seconds:
                return segment.wall
            if segment.rate > 0 and (end is None or end >= drill_seconds):
                return segment.wall + timedelta(seconds=(drill_seconds - segment.drill) / segment.rate)
        return None


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
