"""Cycles are collected on the GUI thread only (``crisisdesk.ui.collector``): a Qt object caught in a reference cycle
is deleted there, not by whichever thread allocated when the interpreter's collector would have run. A full test
run crashed (a segmentation fault, after "Timers cannot be stopped from another thread") when a task's pool thread
collected an earlier test's widgets."""

from __future__ import annotations

import gc
import threading

from PySide6.QtCore import QObject, Qt
from pytestqt.qtbot import QtBot

from crisisdesk.ui.collector import Collector


def _qt_object_in_a_cycle(deleted_on: list[int]) -> None:
    thing = QObject()
    thing.setProperty("note", "in a cycle")
    thing.me = thing  # type: ignore[attr-defined]  # only the cycle collector can free it now
    # Direct: queued to this thread, the call would never come for an object deleted on another one.
    thing.destroyed.connect(lambda: deleted_on.append(threading.get_ident()), Qt.ConnectionType.DirectConnection)


def _allocate_cycles_on_another_thread() -> int:
    """What a busy pool thread does: allocate enough containers (in cycles) to pass the youngest generation's
    threshold many times over."""
    seen: list[int] = []

    def work() -> None:
        seen.append(threading.get_ident())
        for _ in range(50 * gc.get_threshold()[0]):
            a: list[object] = []
            a.append(a)

    worker = threading.Thread(target=work)
    worker.start()
    worker.join()
    return seen[0]


def test_without_it_another_thread_deletes_the_qt_object(qtbot: QtBot, collector: Collector) -> None:
    """The hazard, shown: with the interpreter's own collector, the allocating thread frees the Qt object."""
    collector.stop()
    try:
        gc.collect()
        deleted_on: list[int] = []
        _qt_object_in_a_cycle(deleted_on)
        worker = _allocate_cycles_on_another_thread()
        assert deleted_on == [worker]
    finally:
        collector.start()


def test_with_it_the_gui_thread_deletes_the_qt_object_on_its_timer(qtbot: QtBot, collector: Collector) -> None:
    gc.collect()
    deleted_on: list[int] = []
    _qt_object_in_a_cycle(deleted_on)
    _allocate_cycles_on_another_thread()
    assert deleted_on == []  # the busy thread left it alone
    assert not gc.isenabled()
    qtbot.waitUntil(lambda: bool(deleted_on), timeout=10_000)  # the timer's look, on this thread
    assert deleted_on == [threading.get_ident()]


def test_stopping_it_collects_and_gives_the_interpreter_its_collector_back(qapp: object) -> None:
    was = gc.isenabled()
    gc.enable()
    try:
        own = Collector().start()
        assert not gc.isenabled()
        deleted_on: list[int] = []
        _qt_object_in_a_cycle(deleted_on)
        for _ in range(2 * gc.get_threshold()[0]):
            a: list[object] = []
            a.append(a)
        own.stop()
        assert gc.isenabled() and deleted_on == [threading.get_ident()]
    finally:
        if not was:
            gc.disable()
