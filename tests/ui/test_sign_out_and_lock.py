"""Switching people without restarting: sign out to the sign-in dialog, and lock when idle to a dialog that only
signing in dismisses (the same person gets their window back; another gets a fresh one)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from crisisdesk.app import App
from crisisdesk.domain.roles import Actor
from crisisdesk.ui.console import Console
from crisisdesk.ui.dialogs.sign_in import LoginDialog
from crisisdesk.ui.views.main_window import AUDIT, OUTBOX, MainWindow
from tests.conftest import ADMIN_PASSWORD
from tests.integration.outbox_helpers import add_team


@pytest.fixture
def console(qtbot: QtBot, core: App, admin: Actor) -> Iterator[Console]:
    add_team(core, admin)
    c = Console(core, idle_lock_ms=0)  # no idle lock unless a test sets one
    yield c
    c.stop()  # closes the window it opened (the console owns it, not qtbot)


def sign_in(qtbot: QtBot, dialog: LoginDialog, name: str, password: str) -> None:
    dialog.name.selectAll()
    qtbot.keyClicks(dialog.name, name)
    qtbot.keyClicks(dialog.password, password)
    qtbot.keyClick(dialog.password, Qt.Key.Key_Return)


def test_the_sign_in_dialog_starts_in_the_name_and_space_never_cancels(qtbot: QtBot, core: App) -> None:
    dialog = LoginDialog(core.people)
    qtbot.addWidget(dialog)
    with qtbot.waitActive(dialog):
        dialog.show()
    assert QApplication.focusWidget() is dialog.name
    assert dialog.ok_button.isDefault() and not dialog.cancel_button.isDefault()
    assert not dialog.cancel_button.autoDefault()
    assert dialog.cancel_button.focusPolicy() == Qt.FocusPolicy.NoFocus
    rejected: list[int] = []
    dialog.rejected.connect(lambda: rejected.append(1))
    # Space wherever Tab goes: typed into the fields, or presses Sign in (which says what is missing).
    seen = []
    for _ in range(4):
        widget = QApplication.focusWidget()
        seen.append(widget)
        qtbot.keyClick(widget, Qt.Key.Key_Space)
        qtbot.keyClick(widget, Qt.Key.Key_Tab)
    assert dialog.cancel_button not in seen
    assert rejected == [] and dialog.isVisible()
    assert dialog.name.text() == " "
    qtbot.keyClick(dialog.name, Qt.Key.Key_Escape)  # Escape still cancels a plain sign-in
    assert rejected == [1]


def test_sign_out_returns_to_the_sign_in_dialog_and_another_person_signs_in(
    qtbot: QtBot, core: App, console: Console
) -> None:
    first = console.open_window(core.people.actor("alice"))
    first.show_place(AUDIT)
    first.sign_out_action.trigger()
    dialog = console.dialog
    assert isinstance(dialog, LoginDialog) and dialog.isVisible() and not dialog.locked
    assert console.window is None and not first.isVisible()
    assert dialog.focusWidget() is dialog.name
    sign_in(qtbot, dialog, "ivan", "wrong")
    assert dialog.isVisible() and "wrong password" in dialog.error.text()
    dialog.password.clear()
    sign_in(qtbot, dialog, "ivan", "ivan password")
    window = console.window
    assert isinstance(window, MainWindow) and window is not first and window.isVisible()
    assert window.actor.name == "ivan" and window.header.person.text() == "Signed in as ivan"
    assert window.current_place() != AUDIT  # a fresh window, not alice's


def test_cancelling_the_sign_in_after_signing_out_quits(qtbot: QtBot, core: App, console: Console) -> None:
    window = console.open_window(core.people.actor("alice"))
    with qtbot.waitSignal(console.finished, timeout=2_000):
        window.header.sign_out_button.click()
        assert console.dialog is not None
        console.dialog.cancel_button.click()


def test_idle_locks_and_the_same_person_gets_their_window_back(qtbot: QtBot, core: App, console: Console) -> None:
    console.idle_lock_ms = 150
    window = console.open_window(core.people.actor("alice"))
    window.show_place(OUTBOX)
    qtbot.waitUntil(lambda: console.locked, timeout=5_000)
    dialog = console.dialog
    assert isinstance(dialog, LoginDialog) and dialog.isVisible()
    assert not window.isVisible()  # nothing of the console shows behind the lock
    assert "locked after 150 ms without input" in dialog.windowTitle() + " " + _intro(dialog)
    assert dialog.name.text() == "alice" and dialog.focusWidget() is dialog.name
    assert dialog.cancel_button.isHidden()
    # Only signing in leaves it: Escape, reject and closing do nothing.
    qtbot.keyClick(dialog.name, Qt.Key.Key_Escape)
    dialog.reject()
    dialog.close()
    assert dialog.isVisible() and console.locked
    qtbot.keyClicks(dialog.password, ADMIN_PASSWORD)
    qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
    assert console.window is window and window.isVisible() and window.current_place() == OUTBOX
    assert not console.locked


def test_another_person_at_a_locked_console_gets_a_fresh_window(qtbot: QtBot, core: App, console: Console) -> None:
    window = console.open_window(core.people.actor("alice"))
    window.show_place(OUTBOX)
    window.lock_action.trigger()
    assert console.locked and console.dialog is not None
    closed: list[int] = []
    window.destroyed.connect(lambda: closed.append(1))
    sign_in(qtbot, console.dialog, "carla", "carla password")
    fresh = console.window
    assert isinstance(fresh, MainWindow) and fresh is not window
    assert fresh.actor.name == "carla" and fresh.current_place() != OUTBOX
    qtbot.waitUntil(lambda: closed == [1])  # alice's window is gone, not hidden


def test_input_puts_the_idle_lock_off(qtbot: QtBot, core: App, console: Console) -> None:
    console.idle_lock_ms = 60_000
    window = console.open_window(core.people.actor("alice"))
    timer = console._idle
    assert timer.isActive()
    timer.start(5_000)  # as if 55 s had gone by without input
    qtbot.keyClick(window.nav, Qt.Key.Key_Down)
    assert timer.remainingTime() > 55_000
    # The filter stands down for a moment after input (a hundredth of the idle time) and comes back counting that
    # moment as input: the lock is never early, and at most that moment late.
    assert not console.listening and console.listen_pause_ms == 600
    timer.start(5_000)
    qtbot.waitUntil(lambda: console.listening, timeout=5_000)
    assert timer.remainingTime() > 59_000
    timer.start(5_000)
    qtbot.mouseMove(window.nav)
    qtbot.mouseClick(window.nav.viewport(), Qt.MouseButton.LeftButton)
    assert timer.remainingTime() > 55_000


def test_the_idle_lock_is_a_workstation_setting_of_15_minutes(core: App) -> None:
    assert core.people.idle_lock_minutes() == 15
    console = Console(core)
    try:
        assert console.idle_lock_ms == 15 * 60_000
    finally:
        console.stop()


def _intro(dialog: LoginDialog) -> str:
    from PySide6.QtWidgets import QLabel

    return " ".join(label.text() for label in dialog.findChildren(QLabel))


def test_the_password_is_checked_off_the_gui_thread_and_the_dialog_says_so(
    qtbot: QtBot, core: App, admin: Actor
) -> None:
    """Where tasks run on the pool (the console as shipped), the sign-in dialog checks the password (Argon2,
    120-400 ms) on a thread of its own with its own connection: the dialog keeps drawing, says it is checking, and
    a second Enter starts no second check. A refusal comes back as the dialog's line; a match signs in."""
    import threading

    real = Console(core, synchronous=False)._check_elsewhere()
    assert real is not None
    release = threading.Event()
    calls: list[tuple[str, threading.Thread]] = []

    def slow(name: str, password: str) -> Actor:
        calls.append((name, threading.current_thread()))
        assert release.wait(10)
        return real(name, password)

    dialog = LoginDialog(core.people, check_elsewhere=slow)
    qtbot.addWidget(dialog)
    dialog.show()
    sign_in(qtbot, dialog, "alice", "not the password")
    assert dialog.checking and dialog.ok_button.text() == "Checking…" and not dialog.password.isEnabled()
    qtbot.keyClick(dialog.name, Qt.Key.Key_Return)  # impatient: nothing more happens
    release.set()
    qtbot.waitUntil(lambda: not dialog.checking, timeout=10_000)
    assert len(calls) == 1 and calls[0][1] is not threading.main_thread()
    assert dialog.error.isVisible() and "password" in dialog.error.text() and dialog.actor is None
    assert dialog.password.isEnabled() and dialog.ok_button.text() == "Sign in"
    with qtbot.waitSignal(dialog.accepted, timeout=10_000):
        sign_in(qtbot, dialog, "alice", ADMIN_PASSWORD)
    assert dialog.actor is not None and dialog.actor.name == "alice" and len(calls) == 2

    # Cancelled while the check runs: it stays cancelled, even when the password was right.
    release.clear()
    again = LoginDialog(core.people, check_elsewhere=slow)
    qtbot.addWidget(again)
    again.show()
    accepted: list[bool] = []
    again.accepted.connect(lambda: accepted.append(True))
    sign_in(qtbot, again, "alice", ADMIN_PASSWORD)
    assert again.checking
    again.reject()
    release.set()
    qtbot.waitUntil(lambda: not again.checking, timeout=10_000)
    assert accepted == [] and again.actor is None and len(calls) == 3
