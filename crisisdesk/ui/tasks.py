"""The one way a view calls a service: off the GUI thread, with the result or the error back on it.

    tasks.run(
        lambda app: app.messages().awaiting_approval(actor),   # runs in a pool thread, on that thread's App
        on_result=self.show_queue,                              # runs on the GUI thread
        on_error=self.show_refusal,                             # CrisisdeskError: its one-line message to show
        owner=self,                                             # dropped if this widget is gone by then
    )

Errors: a ``CrisisdeskError`` (``UserError``, ``PermissionDenied``, ``ExternalError``...) is the service saying
no, with a message a person can act on: it goes to ``on_error`` (or, without one, to a warning box). Anything
else is a bug: logged with its traceback, and shown as an error dialog; ``on_error`` is not called.

Connections: an SQLite connection belongs to the thread that opened it, and the GUI's App holds one. A task
therefore never gets the GUI's App: it borrows one from a small pool of Apps opened lazily from the same file with
the same clock, secrets and password hasher (``App.sibling``), uses it in the pool thread, and gives it back. Each
App is used by one task at a time (so it is opened with ``any_thread``), there are never more Apps than pool
threads, and a borrowed App keeps its built services (the playbook library loads once). ``stop`` waits for running
tasks, then closes every App. Writes through a task's App are another connection's commits, which the watcher
sees; nothing else is shared.

Tests: ``run_synchronously(True)`` (the UI tests' autouse fixture) makes every ``Tasks`` run each call at once on
the calling thread, still on a borrowed App and through the same delivery, so a test reads the widgets right
after acting. A ``Tasks(..., synchronous=False)`` keeps the real pool in a test that checks the threading.
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

import shiboken6
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from crisisdesk.app import App
from crisisdesk.domain.errors import CrisisdeskError

log = logging.getLogger(__name__)

T = TypeVar("T")


def run_synchronously(on: bool) -> None:
    """Every ``Tasks`` made after this (without its own ``synchronous``) runs calls at once, on the caller's thread:
    for tests, switched by their fixture."""
    Tasks.synchronous_default = on


class _Apps:
    """Apps lent to one task at a time; opened when none is free, all closed at the end."""

    def __init__(self, open_app: Callable[[], App]) -> None:
        self._open = open_app
        self._free: list[App] = []
        self._all: list[App] = []
        self._lock = threading.Lock()

    def borrow(self) -> App:
        with self._lock:
            if self._free:
                return self._free.pop()
        app = self._open()  # outside the lock: opening reads the file
        with self._lock:
            self._all.append(app)
        return app

    def give_back(self, app: App) -> None:
        with self._lock:
            self._free.append(app)

    def close(self) -> None:
        with self._lock:
            apps, self._all, self._free = self._all, [], []
        for app in apps:
            app.close()


class Task(QObject):
    """One call in flight. Its signals arrive on the GUI thread: ``result`` with the value, ``failed`` with the
    ``CrisisdeskError``, and ``finished`` after either (also after a bug)."""

    result = Signal(object)
    failed = Signal(object)
    finished = Signal()

    def __init__(self, call: Callable[[App], Any], owner: QObject | None) -> None:
        super().__init__()
        self.call = call
        self.owner = owner
        self.done = False


class _Relay(QObject):
    """Carries (task, value, error, traceback) from a pool thread to the GUI thread (a queued signal)."""

    delivered = Signal(object, object, object, object)


class _Job(QRunnable):
    def __init__(self, tasks: Tasks, task: Task) -> None:
        super().__init__()
        self.tasks = tasks
        self.task = task

    def run(self) -> None:
        self.tasks._execute(self.task)


class Tasks(QObject):
    """Runs service calls for the views; one per signed-in session (see ``MainWindow.tasks``).

    ``bug`` is emitted with a one-line summary and the traceback when a call fails with anything but a
    ``CrisisdeskError``; the default handler logs and shows an error dialog (kept in ``bug_dialog``).
    """

    bug = Signal(str, str)
    synchronous_default: ClassVar[bool] = False

    def __init__(
        self,
        core: App,
        parent: QObject | None = None,
        *,
        synchronous: bool | None = None,
        max_threads: int = 2,
        dialog_parent: Callable[[], QWidget | None] | None = None,
    ) -> None:
        super().__init__(parent)
        self.synchronous = Tasks.synchronous_default if synchronous is None else synchronous
        self._apps = _Apps(lambda: core.sibling(any_thread=True))
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max_threads)
        self._relay = _Relay()
        self._relay.delivered.connect(self._deliver)  # Tasks lives on the GUI thread: queued from the pool
        self._running: set[Task] = set()  # kept alive until delivered
        self._stopped = False
        self._dialog_parent = dialog_parent or (lambda: None)
        self.bug_dialog: QMessageBox | None = None
        self.bug.connect(self._show_bug)

    def run(
        self,
        call: Callable[[App], T],
        on_result: Callable[[T], object] | None = None,
        on_error: Callable[[CrisisdeskError], object] | None = None,
        *,
        on_done: Callable[[], object] | None = None,
        owner: QObject | None = None,
    ) -> Task:
        """Run ``call(app)`` off the GUI thread; ``on_result(value)`` or ``on_error(error)`` on the GUI thread,
        then ``on_done()`` whatever happened (to enable a button again, say).

        ``owner``: a widget the callbacks belong to; if it is deleted first, they are not called. Without
        ``on_error``, a refusal is shown in a warning box. Pass the callbacks here rather than connecting to the
        returned ``Task`` afterwards: synchronously it has finished before ``run`` returns. The ``Task`` is for a
        test to wait on (``qtbot.waitSignal(task.finished)``)."""
        task = Task(call, owner)
        if on_result is not None:
            task.result.connect(on_result)
        task.failed.connect(on_error if on_error is not None else self._show_refusal)
        if on_done is not None:
            task.finished.connect(on_done)
        if self._stopped:
            log.debug("a task was asked for after its session ended; dropped")
            return task
        self._running.add(task)
        if self.synchronous:
            self._execute(task)
        else:
            self._pool.start(_Job(self, task))
        return task

    @property
    def busy(self) -> bool:
        """True while some task has not been delivered."""
        return bool(self._running)

    def stop(self) -> None:
        """Wait for running tasks, then close the pool's Apps. Results still in flight are dropped."""
        self._stopped = True
        self._pool.waitForDone()
        self._apps.close()
        self._running.clear()

    # -- inside -----------------------------------------------------------------------------------------------

    def _execute(self, task: Task) -> None:
        """In the pool thread (or the caller's, synchronously): the call, on a borrowed App."""
        value: object = None
        error: BaseException | None = None
        trace: str | None = None
        try:
            app = self._apps.borrow()
            try:
                value = task.call(app)
            finally:
                self._apps.give_back(app)
        except Exception as exc:
            if not isinstance(exc, CrisisdeskError):
                trace = traceback.format_exc()
            # Without its traceback: the frames it holds (this one among them, with the task and the borrowed App)
            # made a cycle that the collector broke later, at any moment, deleting Qt objects mid-paint (a crash).
            error = exc.with_traceback(None)
        if self.synchronous:
            self._deliver(task, value, error, trace)
        else:
            self._relay.delivered.emit(task, value, error, trace)

    def _deliver(self, task: Task, value: object, error: BaseException | None, trace: str | None) -> None:
        """On the GUI thread."""
        self._running.discard(task)
        if self._stopped or task.done:
            return
        task.done = True
        if task.owner is not None and not shiboken6.isValid(task.owner):
            return  # the view went away (signed out, closed): nobody to tell
        if error is None:
            task.result.emit(value)
        elif isinstance(error, CrisisdeskError):
            task.failed.emit(error)
        else:
            log.error("bug in a console task: %s\n%s", error, trace)
            self.bug.emit(f"{type(error).__name__}: {error}", trace or "")
        task.finished.emit()

    def _show_refusal(self, error: CrisisdeskError) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, "Not done", str(error), parent=self._dialog_parent())
        box.setAccessibleName("Not done")
        box.open()

    def _show_bug(self, summary: str, trace: str) -> None:
        box = QMessageBox(
            QMessageBox.Icon.Critical,
            "crisisdesk: something went wrong",
            "crisisdesk hit a fault it did not expect; what you were doing was not finished.\n"
            f"{summary}\nThe details are in the log; please report them.",
            parent=self._dialog_parent(),
        )
        box.setAccessibleName("crisisdesk: something went wrong")
        box.setDetailedText(trace)
        box.open()
        self.bug_dialog = box
