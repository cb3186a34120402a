"""The heartbeat the console's tests hold the GUI thread to: a 10 ms timer; between two beats, the GUI thread's own
CPU time is how long it was kept busy."""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from PySide6.QtCore import QTimer


@dataclass
class Heartbeat:
    """A 10 ms timer on the GUI thread. Between two beats, the GUI thread's own CPU time (``time.thread_time``) is how
    long it was kept busy; the wall-clock gap also counts other processes' and threads' turns on a shared machine,
    so it is kept for the report, not held. ``step(name)`` names what the beats belong to."""

    busiest: dict[str, float] = field(default_factory=dict)  # step -> the most GUI-thread time between two beats
    widest: dict[str, float] = field(default_factory=dict)  # step -> the longest wall-clock gap
    beats: int = 0
    current: str = "start"
    _last: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        self.timer = QTimer()
        self.timer.setInterval(10)
        self.timer.timeout.connect(self.beat)

    def beat(self) -> None:
        now = (time.perf_counter(), time.thread_time())
        if self._last is not None:
            wall, busy = now[0] - self._last[0], now[1] - self._last[1]
            self.busiest[self.current] = max(self.busiest.get(self.current, 0.0), busy)
            self.widest[self.current] = max(self.widest.get(self.current, 0.0), wall)
        self._last = now
        self.beats += 1

    def step(self, name: str) -> None:
        self.beat()  # what came before belongs to the step before
        self.current = name

    @contextlib.contextmanager
    def aside(self) -> Iterator[None]:
        """Work the test does for someone else (another desk's service call): not the console's."""
        beating = self.timer.isActive()
        self.timer.stop()
        try:
            yield
        finally:
            self._last = None
            if beating:
                self.timer.start()

    def __enter__(self) -> Heartbeat:
        # The test process holds far more objects than a console does (pytest's, earlier tests'): a full collection
        # of them is not the console's. Frozen, they are not scanned; what the flow makes still is.
        gc.collect()
        gc.freeze()
        self.timer.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.beat()
        self.timer.stop()
        gc.unfreeze()

    def report(self) -> str:
        return "\n".join(
            f"  {name}: {self.busiest[name] * 1000:.0f} ms busy, {self.widest[name] * 1000:.0f} ms wall"
            for name in self.busiest
        )

    @property
    def longest(self) -> float:
        """The most GUI-thread time between two beats, over every step."""
        return max(self.busiest.values(), default=0.0)
