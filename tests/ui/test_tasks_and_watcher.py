"""The task helper (results and refusals back on the GUI thread, bugs to a dialog, synchronous in tests) and the
change watcher (one ``changed`` per change, whoever made it; nothing when the database is quiet)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from crisisdesk.app import App
from crisisdesk.domain.errors import CrisisdeskError, PermissionDenied
from crisisdesk.domain.roles import Actor, Role
from crisisdesk.ui.tasks import Tasks
from crisisdesk.ui.watcher import Watcher
from tests.conftest import actor


@pytest.fixture
def threaded(qtbot: QtBot, core: App) -> Tasks:
    tasks = Tasks(core, synchronous=False)
    yield tasks  # type: ignore[misc]
    tasks.stop()


def test_a_call_runs_in_a_pool_thread_on_its_own_app_and_its_result_comes_back_on_the_gui_thread(
    qtbot: QtBot, core: App, admin: Actor, threaded: Tasks
) -> None:
    gui = threading.get_ident()
    seen: dict[str, object] = {}

    def call(app: App) -> list[str]:
        seen["thread"] = threading.get_ident()
        seen["app"] = app
        return [p.name for p in app.people.list_people(admin)]

    got: list[list[str]] = []
    task = threaded.run(call, lambda names: got.append(names) or seen.setdefault("back on", threading.get_ident()))
    with qtbot.waitSignal(task.finished, timeout=10_000):
        pass
    assert got == [["alice"]]
    assert seen["thread"] != gui and seen["back on"] == gui
    assert seen["app"] is not core and isinstance(seen["app"], App)
    assert seen["app"].clock is core.clock and seen["app"].secrets is core.secrets  # type: ignore[attr-defined]
    # A second call borrows the same App (opened once, kept with its services).
    again = threaded.run(lambda app: app)
    with qtbot.waitSignal(again.result, timeout=10_000) as blocker:
        pass
    assert blocker.args == [seen["app"]]


def test_a_write_in_a_task_is_committed_and_seen_by_the_gui_app(
    qtbot: QtBot, core: App, admin: Actor, threaded: Tasks
) -> None:
    task = threaded.run(lambda app: app.people.add(admin, "bea", [Role.VIEWER], "bea password"))
    with qtbot.waitSignal(task.finished, timeout=10_000):
        pass
    assert "bea" in {p.name for p in core.people.list_people(admin)}


def test_a_refusal_comes_back_with_its_one_line_message(qtbot: QtBot, core: App, threaded: Tasks) -> None:
    errors: list[CrisisdeskError] = []
    nobody = actor("vic", Role.VIEWER)
    task = threaded.run(lambda app: app.people.add(nobody, "x", [Role.VIEWER], "a password"), on_error=errors.append)
    with qtbot.waitSignal(task.finished, timeout=10_000):
        pass
    assert len(errors) == 1 and isinstance(errors[0], PermissionDenied)
    assert "\n" not in str(errors[0]) and str(errors[0])
    assert threaded.bug_dialog is None


def test_a_bug_is_logged_with_its_traceback_and_shown_in_an_error_dialog(
    qtbot: QtBot, core: App, threaded: Tasks, caplog: pytest.LogCaptureFixture
) -> None:
    parent = QWidget()
    qtbot.addWidget(parent)
    errors: list[CrisisdeskError] = []

    def broken(app: App) -> None:
        raise KeyError("a key nobody expected")

    task = threaded.run(broken, on_error=errors.append)
    with qtbot.waitSignal(threaded.bug, timeout=10_000) as blocker:
        pass
    qtbot.waitUntil(lambda: not threaded.busy)
    assert errors == []  # a bug is not a refusal for the view to show
    assert blocker.args[0] == "KeyError: 'a key nobody expected'"
    assert "in broken" in blocker.args[1]
    assert any("a key nobody expected" in r.getMessage() and "Traceback" in r.getMessage() for r in caplog.records)
    dialog = threaded.bug_dialog
    assert isinstance(dialog, QMessageBox) and dialog.isVisible()
    assert dialog.icon() == QMessageBox.Icon.Critical and "KeyError" in dialog.text()
    assert "in broken" in dialog.detailedText()
    dialog.close()
    assert task.done


def test_synchronous_tasks_deliver_before_run_returns(core: App, admin: Actor) -> None:
    tasks = Tasks(core)  # the UI tests' fixture made this synchronous
    assert tasks.synchronous
    got: list[object] = []
    order: list[str] = []
    tasks.run(lambda app: threading.get_ident(), got.append, on_done=lambda: order.append("done"))
    order.append("returned")
    assert got == [threading.get_ident()] and order == ["done", "returned"]
    errors: list[CrisisdeskError] = []
    tasks.run(lambda app: app.incidents().get(admin, "inc-none"), got.append, errors.append)
    assert len(errors) == 1 and "no incident 'inc-none'" in str(errors[0])
    tasks.stop()


def test_a_result_for_a_widget_that_is_gone_is_dropped(qtbot: QtBot, core: App, threaded: Tasks) -> None:
    owner = QWidget()
    release = threading.Event()
    got: list[object] = []
    task = threaded.run(lambda app: release.wait(10), got.append, owner=owner)
    owner.deleteLater()
    qtbot.waitUntil(lambda: not _alive(owner))
    release.set()
    qtbot.waitUntil(lambda: not threaded.busy, timeout=10_000)  # delivered (on the GUI thread), to nobody
    assert got == [] and task.done


def _alive(widget: QWidget) -> bool:
    import shiboken6

    return bool(shiboken6.isValid(widget))


# -- the watcher --------------------------------------------------------------------------------------------------


def count(watcher: Watcher) -> list[int]:
    seen: list[int] = []
    watcher.changed.connect(lambda: seen.append(1))
    return seen


def test_a_commit_by_another_connection_is_one_change(core: App, admin: Actor, db_path: Path) -> None:
    watcher = Watcher(core)
    seen = count(watcher)
    assert watcher.check() is False and seen == []  # a quiet database says nothing
    other = core.sibling()
    try:
        other.people.add(admin, "bea", [Role.VIEWER], "bea password")  # several statements, one transaction
        other.people.grant(admin, "bea", Role.APPROVER)
    finally:
        other.close()
    assert watcher.check() is True and seen == [1]  # two commits between looks: one change
    assert watcher.check() is False and seen == [1]


def test_a_commit_by_the_watchers_own_app_is_one_change(core: App, admin: Actor) -> None:
    watcher = Watcher(core)
    seen = count(watcher)
    core.people.add(admin, "bea", [Role.VIEWER], "bea password")
    assert watcher.check() is True and seen == [1]
    core.people.list_people(admin)  # reading changes nothing
    assert watcher.check() is False and seen == [1]


def test_the_watcher_looks_on_its_timer(qtbot: QtBot, core: App, admin: Actor) -> None:
    watcher = Watcher(core, check_ms=20)
    watcher.start()
    try:
        with qtbot.assertNotEmitted(watcher.changed, wait=200):
            pass
        other = core.sibling()
        with qtbot.waitSignal(watcher.changed, timeout=5_000):
            other.people.add(admin, "bea", [Role.VIEWER], "bea password")
        other.close()
    finally:
        watcher.stop()
