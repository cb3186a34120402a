"""The one change watcher: views refresh when the database changes, whoever changed it.

    watcher.changed.connect(self.reload)   # after any commit: this console's, a task's, the outbox worker's, the CLI's
    watcher.tick.connect(self.countdown)   # every half minute: for what changes with time alone (due, overdue)

It asks the GUI thread's App for ``data_version`` on a timer: SQLite's ``PRAGMA data_version`` (moves on other
connections' commits) paired with that App's own count of write transactions (its own commits, which
``data_version`` never shows). Both are cheap (no table is read), so the GUI thread can ask often. Several commits
between two looks are one ``changed``.
"""

from __future__ import annotations

import logging
import sqlite3

from PySide6.QtCore import QObject, QTimer, Signal

from crisisdesk.app import App

log = logging.getLogger(__name__)

CHECK_MS = 500
TICK_MS = 30_000


class Watcher(QObject):
    changed = Signal()
    tick = Signal()

    def __init__(self, core: App, parent: QObject | None = None, *, check_ms: int = CHECK_MS) -> None:
        super().__init__(parent)
        self.core = core
        self._seen = core.data_version()
        self._timer = QTimer(self)
        self._timer.setInterval(check_ms)
        self._timer.timeout.connect(self.check)
        self._ticker = QTimer(self)
        self._ticker.setInterval(TICK_MS)
        self._ticker.timeout.connect(self.tick)

    def start(self) -> None:
        self._timer.start()
        self._ticker.start()

    def stop(self) -> None:
        self._timer.stop()
        self._ticker.stop()

    def check(self) -> bool:
        """Look now; emit ``changed`` (once) if the database changed since the last look."""
        try:
            now = self.core.data_version()
        except (sqlite3.Error, OSError) as exc:  # a busy or vanished file: look again next time
            log.warning("could not ask the database whether it changed: %s", exc)
            return False
        if now == self._seen:
            return False
        self._seen = now
        self.changed.emit()
        return True
