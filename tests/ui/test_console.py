"""The console, driven offscreen: first run, sign-in, and the audit log window."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QHeaderView
from pytestqt.qtbot import QtBot

from crisisdesk.app import App
from crisisdesk.domain.roles import Actor, Role
from crisisdesk.services.passwords import Argon2Hasher
from crisisdesk.ui.dialogs.sign_in import FirstRunDialog, LoginDialog
from crisisdesk.ui.main import run_gui
from crisisdesk.ui.models.audit_log import AuditLogModel
from crisisdesk.ui.tasks import Tasks
from crisisdesk.ui.views.audit_view import verify_style
from crisisdesk.ui.views.main_window import AUDIT, MainWindow
from tests.conftest import ADMIN_PASSWORD


def click_ok(qtbot: QtBot, dialog: FirstRunDialog | LoginDialog) -> None:
    qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.StandardButton.Ok), Qt.MouseButton.LeftButton)


def test_first_run_creates_the_first_admin(qtbot: QtBot, db_path: Path, clock, hasher) -> None:  # type: ignore[no-untyped-def]
    core = App.open(db_path, create=True, clock=clock, hasher=hasher)
    dialog = FirstRunDialog(core.people, str(db_path))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.keyClicks(dialog.workstation, "EOC desk 1")
    qtbot.keyClicks(dialog.name, "alice")
    qtbot.keyClicks(dialog.password, ADMIN_PASSWORD)
    qtbot.keyClicks(dialog.repeat, "something else")
    click_ok(qtbot, dialog)
    assert dialog.error.isVisible() and "differ" in dialog.error.text()
    assert not core.people.is_initialised()

    dialog.repeat.setText(ADMIN_PASSWORD)
    click_ok(qtbot, dialog)
    assert dialog.result() == dialog.DialogCode.Accepted
    assert dialog.actor == Actor("alice", frozenset({Role.ADMIN}))
    assert core.db.conn.execute("SELECT name FROM workstations").fetchone()[0] == "EOC desk 1"
    core.close()


def test_sign_in_shows_a_wrong_password_and_stays_open(qtbot: QtBot, core: App) -> None:
    dialog = LoginDialog(core.people)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.keyClicks(dialog.name, "alice")
    qtbot.keyClicks(dialog.password, "not the password")
    click_ok(qtbot, dialog)
    assert dialog.isVisible()
    assert "wrong password" in dialog.error.text()
    assert dialog.password.text() == ""  # never left in the field

    qtbot.keyClicks(dialog.password, ADMIN_PASSWORD)
    click_ok(qtbot, dialog)
    assert dialog.result() == dialog.DialogCode.Accepted
    assert dialog.actor is not None and dialog.actor.name == "alice"
    assert [e.kind for e in core.log.events()][-2:] == ["auth.login_failed", "auth.session_started"]


@pytest.fixture
def window(qtbot: QtBot, core: App, admin: Actor) -> MainWindow:
    for i in range(12):
        core.people.add(admin, f"user{i:02d}", [Role.VIEWER], "a password")
    w = MainWindow(core, admin)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    w.show_place(AUDIT)
    return w


def test_the_window_shows_the_audit_log_newest_first(window: MainWindow, core: App) -> None:
    model = window.audit.model
    assert model.rowCount() == core.log.count() == 30  # with init's workstation.joined
    assert model.index(0, 0).data() == "30"
    assert model.index(0, 3).data() == "Password set"
    assert model.index(0, 3).data(Qt.ItemDataRole.ToolTipRole) == "user.password_set"
    assert model.index(model.rowCount() - 1, 3).data() == "Workstation set up"
    assert window.windowTitle() == "crisisdesk: EOC desk 1: alice"


def test_rows_have_a_fixed_height(window: MainWindow) -> None:
    header = window.audit.table.verticalHeader()
    assert header.sectionResizeMode(0) == QHeaderView.ResizeMode.Fixed
    heights = {window.audit.table.rowHeight(r) for r in range(window.audit.model.rowCount())}
    assert len(heights) == 1


def test_the_filter_narrows_the_log(qtbot: QtBot, window: MainWindow) -> None:
    qtbot.keyClicks(window.audit.filter, "user07")
    qtbot.keyClick(window.audit.filter, Qt.Key.Key_Return)
    assert window.audit.model.rowCount() == 2  # added, password set
    window.audit.filter.clear()
    assert window.audit.model.rowCount() == 30


def test_verify_shows_intact_then_broken(qtbot: QtBot, window: MainWindow, core: App) -> None:
    qtbot.mouseClick(window.audit.verify_button, Qt.MouseButton.LeftButton)
    assert window.audit.verify_result.text().startswith("audit log intact: 30 entries verified")
    conn = sqlite3.connect(core.db.path, isolation_level=None)
    conn.execute("DROP TRIGGER events_no_delete")
    conn.execute("DELETE FROM events WHERE position = 10")
    conn.close()
    qtbot.mouseClick(window.audit.verify_button, Qt.MouseButton.LeftButton)
    assert window.audit.verify_result.text().startswith("audit log broken at entry #11")


def test_verify_names_a_table_row_edited_behind_the_logs_back(qtbot: QtBot, window: MainWindow, core: App) -> None:
    conn = sqlite3.connect(core.db.path, isolation_level=None)
    conn.execute("INSERT INTO user_roles VALUES ('user07', 'admin', '2026-11-22T09:31:00.000000+00:00', 'alice')")
    conn.close()
    qtbot.mouseClick(window.audit.verify_button, Qt.MouseButton.LeftButton)
    lines = window.audit.verify_result.text().splitlines()
    assert lines[0].startswith("audit check FAILED: the entries chain correctly, but 1 current-state table row")
    assert lines[1].startswith("audit log intact: 30 entries verified")  # the log itself is whole
    assert "current-state tables disagree with the log in 1 place:" in lines
    assert "  user_roles (user_name='user07', role='admin'): a row the log does not have" in lines
    assert window.audit.verify_result.styleSheet() == verify_style(False)


def test_the_window_renders(window: MainWindow, tmp_path: Path) -> None:
    window.audit.verify()
    picture = window.grab()
    assert picture.width() >= 900 and picture.height() >= 500
    out = tmp_path / "main-window.png"
    assert picture.save(str(out))
    assert out.stat().st_size > 10_000


def test_the_model_pages_and_passes_the_model_tester(qtmodeltester, core: App, admin: Actor) -> None:  # type: ignore[no-untyped-def]
    for i in range(30):
        core.people.grant(admin, "alice", Role.VIEWER if i % 2 == 0 else Role.APPROVER)
        core.people.revoke(admin, "alice", Role.VIEWER if i % 2 == 0 else Role.APPROVER)
    tasks = Tasks(core)  # synchronous here: each page arrives before fetchMore returns
    model = AuditLogModel(tasks, admin)
    model.PAGE = 25
    model.reload()
    assert model.rowCount() == 25
    assert model.canFetchMore()
    model.fetchMore()
    assert model.rowCount() == 50
    while model.canFetchMore():
        model.fetchMore()
    assert model.rowCount() == core.log.count()
    positions = [model.row(i).position for i in range(model.rowCount())]
    assert positions == sorted(positions, reverse=True)
    qtmodeltester.check(model)
    tasks.stop()


def test_run_gui_signs_in_and_opens_the_window(qtbot: QtBot, core: App, monkeypatch: pytest.MonkeyPatch) -> None:
    # The real start-up path, with the production hasher swapped for the test one.
    real_open = App.open
    monkeypatch.setattr(
        App,
        "open",
        classmethod(lambda cls, path, **kw: real_open(path, hasher=Argon2Hasher(time_cost=1, memory_cost=1024), **kw)),
    )
    seen: list[str] = []

    def answer_login() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, LoginDialog):
            QTimer.singleShot(20, answer_login)
            return
        dialog.name.setText("alice")
        dialog.password.setText(ADMIN_PASSWORD)
        dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
        QTimer.singleShot(50, close_window)

    def close_window() -> None:
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        if not windows:
            QTimer.singleShot(20, close_window)
            return
        seen.append(windows[0].windowTitle())
        windows[0].close()

    QTimer.singleShot(0, answer_login)
    assert run_gui(core.db.path) == 0
    assert seen == ["crisisdesk: EOC desk 1: alice"]
