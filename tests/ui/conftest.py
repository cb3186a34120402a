"""UI tests: every task runs at once on the test's thread, and no window outlives its test, nor its database.

Tasks (see crisisdesk.ui.tasks): a test that checks the threading makes its own ``Tasks(..., synchronous=False)``.

Windows: a window closed at the end of a test is only hidden until Qt deletes it; its timers keep running and, in
a later test's event loop, read a database the earlier test already closed ("Cannot operate on a closed
database", seen under load). Every top-level widget is deleted after each test, before the test's database is
closed, and the deletions are carried out at once.

Garbage: as in the console (``crisisdesk.ui.collector``), cycles are collected on the GUI thread only, on a timer
while an event loop runs and after each test; otherwise a task's pool thread could collect an earlier test's widget
and delete it there (a crash).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import QApplication

from crisisdesk.app import App
from crisisdesk.ui.collector import Collector
from crisisdesk.ui.tasks import run_synchronously


def delete_windows() -> None:
    for widget in QApplication.topLevelWidgets():
        widget.close()
        widget.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


@pytest.fixture(scope="session", autouse=True)
def collector(qapp: QApplication) -> Iterator[Collector]:
    running = Collector(qapp).start()
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def synchronous_tasks() -> Iterator[None]:
    run_synchronously(True)
    yield
    run_synchronously(False)


@pytest.fixture
def core(core: App, qapp: QApplication) -> Iterator[App]:
    """The shared ``core``, with every window gone before it closes."""
    yield core
    delete_windows()


@pytest.fixture(autouse=True)
def no_window_outlives_its_test(qapp: QApplication) -> Iterator[None]:
    yield
    delete_windows()
    gc.collect()
