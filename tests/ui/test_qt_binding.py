"""The Qt binding we pin keeps Python's reference counts.

PySide6 6.12.0 lost a reference to ``True`` on every ``Signal.emit`` (connected or not, with or without
arguments, from any thread). On Python 3.11 ``True`` is an ordinary object with a few hundred references, so a
console session that had emitted a few hundred signals (every task emits several) aborted with "Fatal Python
error: bool_dealloc". pyproject.toml pins a release without that bug; this test fails on one with it.
"""

from __future__ import annotations

import sys
import threading

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication


class Talker(QObject):
    bare = Signal()
    carrying = Signal(object)


def test_emitting_signals_keeps_the_count_of_true(qapp: QApplication) -> None:
    talker = Talker()
    heard: list[object] = []
    talker.carrying.connect(heard.append)
    before = sys.getrefcount(True)
    for n in range(200):
        talker.bare.emit()
        talker.carrying.emit(n)
    worker = threading.Thread(target=lambda: [talker.bare.emit() for _ in range(200)])
    worker.start()
    worker.join()
    after = sys.getrefcount(True)
    assert len(heard) == 200
    # A few references may come and go with the interpreter's own work; 600 emits must not take 600 away.
    assert abs(after - before) < 50, f"True lost {before - after} references over 600 emits"
