"""The drills' clock in the background: fires each inject of every running drill when its drill time comes.

Not a fixed poll: after each tick the runner asks when the next pending inject is due (from each drill's clock: its
compression, pauses and jumps, all events) and sleeps until that very moment, at most ``cap`` seconds. It wakes sooner
when the database changes (a drill started, resumed, jumped or re-paced from the console or another process) or on
``wake()``. At 60x a drill second is 17 ms of wall time, so the wake-up is computed, not polled for.

Two runners on one database (the console's and a ``crisisdesk worker``'s) are safe: an inject is fired under the
write lock after re-reading the log, so it fires once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from crisisdesk.domain.errors import ExternalError, UserError
from crisisdesk.services.drills import DrillService, InjectState

log = logging.getLogger(__name__)


class DrillRunner:
    """``open_drills`` is called in the runner's thread (SQLite connections belong to the thread that made them).
    ``until``: stop once it says so (``drill run`` stops when its drill ends); ``on_fire``: told what fired."""

    def __init__(
        self,
        open_drills: Callable[[], DrillService],
        *,
        cap: float = 1.0,
        poll: float = 0.05,
        until: Callable[[DrillService], bool] | None = None,
        on_fire: Callable[[list[InjectState]], None] | None = None,
    ) -> None:
        self.open_drills = open_drills
        self.cap = cap
        self.poll = poll  # how often a database change is looked for while asleep (PRAGMA data_version: no read)
        self.until = until
        self.on_fire = on_fire
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None
        self.ticks = 0

    def wake(self) -> None:
        self._wake.set()

    def run(self) -> None:
        """Run in the calling thread until ``stop`` (or ``until``)."""
        drills = self.open_drills()
        try:
            self._loop(drills)
        finally:
            drills.db.close()

    def _loop(self, drills: DrillService) -> None:
        warmed: frozenset[str] | None = None
        while not self._stop.is_set():
            due: float | None = None
            try:
                running = drills.running_ids()
                if running != warmed:  # a drill started: read what its injects need now, not when they are due
                    drills.warm()
                    warmed = running
                fired = drills.tick()
                self.ticks += 1
                if fired and self.on_fire is not None:
                    self.on_fire(fired)
                wait = drills.next_due()
                due = None if wait is None else wait.total_seconds()
            except (UserError, ExternalError) as exc:  # a busy database, a drill that cannot fire: try again
                log.warning("drill clock: %s", exc)
            except Exception:  # a bug: logged, and the clock goes on
                log.exception("drill clock failed unexpectedly")
            # Outside the guard: whatever stops ``until`` (a refusal, a mistake) stops the clock and reaches the caller.
            if self.until is not None and self.until(drills):
                return
            self._sleep(self.cap if due is None else min(self.cap, due), drills)

    def _sleep(self, seconds: float, drills: DrillService) -> None:
        """Until ``seconds`` from now, unless woken or the database changes first."""
        deadline = time.monotonic() + max(0.0, seconds)
        version = drills.db.data_version()
        while not self._stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            if self._wake.wait(min(left, self.poll)):
                break
            if drills.db.data_version() != version:
                break
        self._wake.clear()

    def start(self) -> None:
        def target() -> None:
            try:
                self.run()
            except (UserError, ExternalError) as exc:  # a refusal or a mistake ``until`` met: the caller says it
                self.error = exc
            except BaseException as exc:  # kept for the caller to show
                self.error = exc
                log.exception("drill clock stopped")

        self._thread = threading.Thread(target=target, name="drill-clock", daemon=True)
        self._thread.start()

    def is_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None and self._thread.ident is not None:  # started
            self._thread.join(timeout)
