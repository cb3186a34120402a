"""Python's cycle collector, run on the GUI thread only.

The collector runs in whichever thread happens to allocate when a generation's count passes its threshold. A Qt
object caught in a reference cycle (a widget whose slot closes over the widget, a dialog kept by a lambda) is
then deleted by that thread: a task's pool thread, the outbox worker, the feed scheduler. Qt objects must be
deleted by the thread they live in; from another one Qt first warns ("Timers cannot be stopped from another
thread") and then, with a widget mid-paint, the process crashes. Seen: a full test run died with a segmentation
fault that way while a task opened its database.

``Collector.start`` switches the automatic collector off and runs it from a timer on the GUI thread instead, with
the interpreter's own thresholds, so a generation is collected as often as before, only always here. Garbage
without cycles is freed by reference counting as always, on any thread.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

CHECK_MS = 250


class Collector(QObject):
    def __init__(self, parent: QObject | None = None, check_ms: int = CHECK_MS) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setInterval(check_ms)
        self._timer.timeout.connect(self.check)
        self._was_enabled = gc.isenabled()

    def start(self) -> Collector:
        self._was_enabled = gc.isenabled()
        gc.disable()
        self._timer.start()
        return self

    def stop(self) -> None:
        self._timer.stop()
        self.check()
        if self._was_enabled:
            gc.enable()

    def check(self) -> int:
        """Collect the oldest generation whose count passed its threshold, as the interpreter would have; the
        number of objects found unreachable."""
        counts = gc.get_count()
        thresholds = gc.get_threshold()
        for generation in (2, 1, 0):
            threshold = thresholds[generation]
            if threshold and counts[generation] > threshold:
                return gc.collect(generation)
        return 0
