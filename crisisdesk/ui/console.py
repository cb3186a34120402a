"""One workstation's console over a session: who is signed in, signing out, and locking when idle.

The Console owns the GUI thread's App's watcher and, at any time, at most one person's ``MainWindow``:

- **Sign out** (File menu, Ctrl+Shift+O, or the header's button): the window closes and the sign-in dialog
  shows; cancelling it quits the console.
- **Lock** (idle for the workstation's ``idle_lock_minutes``, or File > Lock, Ctrl+L): the window hides and a
  sign-in dialog that cannot be cancelled shows. The same person signing in gets their window back as it was;
  another person gets a fresh window, and the first person's is closed.

Idle means no key, mouse, wheel or touch input anywhere in the application (an event filter on the
QApplication restarts the timer). A filter written in Python is called for every event Qt delivers, input or not:
while a view is built that is thousands of calls, a third of the GUI thread's time. So after each input the filter
stands down for a moment (``listen_pause_ms``: a hundredth of the idle time, at most 5 s) and comes back counting
that moment as input: the lock comes at least the idle time after the last input, and at most that moment later.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication

from crisisdesk.app import App
from crisisdesk.domain.roles import Actor
from crisisdesk.ui.dialogs.sign_in import FirstRunDialog, LoginDialog
from crisisdesk.ui.tasks import Tasks
from crisisdesk.ui.watcher import Watcher

if TYPE_CHECKING:
    # Imported when the first window opens (or warmed while the sign-in dialog waits, see ``crisisdesk.ui.main``):
    # the window brings every view and most services, which the sign-in dialog needs none of.
    from crisisdesk.ui.views.main_window import MainWindow

_INPUT = frozenset(
    {
        QEvent.Type.KeyPress,
        QEvent.Type.MouseButtonPress,
        QEvent.Type.MouseMove,
        QEvent.Type.Wheel,
        QEvent.Type.TouchBegin,
        QEvent.Type.TabletPress,
    }
)


class _InputSeen(QObject):
    """An event filter that calls back on any input, and lets every event through."""

    def __init__(self, seen: object, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.seen = seen

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in _INPUT:
            self.seen()  # type: ignore[operator]
        return False


class Console(QObject):
    """``finished`` when the person quits (closes the window, or cancels the sign-in after signing out)."""

    finished = Signal()
    window_opened = Signal(object)  # the new MainWindow
    MAX_LISTEN_PAUSE_MS = 5_000

    def __init__(self, core: App, *, idle_lock_ms: int | None = None, synchronous: bool | None = None) -> None:
        super().__init__()
        self.core = core
        self.synchronous = synchronous
        self.watcher = Watcher(core, self)
        self.watcher.start()
        self.window: MainWindow | None = None
        self.dialog: LoginDialog | None = None
        if idle_lock_ms is None:
            idle_lock_ms = core.people.idle_lock_minutes() * 60_000
        self.idle_lock_ms = idle_lock_ms
        self._idle = QTimer(self)
        self._idle.setSingleShot(True)
        self._idle.timeout.connect(self._idle_too_long)
        self._input = _InputSeen(self._input_seen, self)
        self.listening = False  # whether the input filter is installed
        self._listen_again = QTimer(self)
        self._listen_again.setSingleShot(True)
        self._listen_again.timeout.connect(self._resume_listening)
        if self.idle_lock_ms > 0:  # a console that never locks has no input to watch
            self._listen()

    @property
    def locked(self) -> bool:
        return self.dialog is not None and self.dialog.locked

    # -- signing in ----------------------------------------------------------------------------------------------

    def first_sign_in(
        self, *, shown: Callable[[], object] | None = None, pressed: Callable[[], object] | None = None
    ) -> Actor | None:
        """At start: create the first admin on a new workstation, else the sign-in dialog (modal).
        None when the person cancels. ``shown`` is called once the dialog is up (its event loop running),
        ``pressed`` when its OK button is pressed, before the password is checked."""
        dialog: LoginDialog | FirstRunDialog
        if self.core.people.is_initialised():
            dialog = LoginDialog(self.core.people, check_elsewhere=self._check_elsewhere())
        else:
            dialog = FirstRunDialog(self.core.people, str(self.core.db.path), setup=self.core.initialise)
        if shown is not None:
            QTimer.singleShot(0, shown)
        if pressed is not None:
            dialog.ok_button.pressed.connect(pressed)
        if dialog.exec() != dialog.DialogCode.Accepted:
            return None
        return dialog.actor

    def _check_elsewhere(self) -> Callable[[str, str], Actor] | None:
        """How the sign-in dialog checks a password off the GUI thread: a connection of its own on the check's
        thread. None where tasks run synchronously (the tests' default): the dialog checks on its own thread."""
        synchronous = Tasks.synchronous_default if self.synchronous is None else self.synchronous
        if synchronous:
            return None
        core = self.core

        def check(name: str, password: str) -> Actor:
            app = core.sibling(any_thread=True)
            try:
                actor = app.people.authenticate(name, password, via="gui")
                app.people.record_session(actor, "gui")
                return actor
            finally:
                app.close()

        return check

    def open_window(self, actor: Actor) -> MainWindow:
        """A fresh window for ``actor`` (closing any other person's)."""
        from crisisdesk.ui.views.main_window import MainWindow

        if self.window is not None:
            self.window.dispose()
        window = MainWindow(self.core, actor, watcher=self.watcher, synchronous=self.synchronous)
        window.sign_out_requested.connect(self.sign_out)
        window.lock_requested.connect(self.lock)
        window.quit_requested.connect(self._quit)
        self.window = window
        window.show()
        window.activateWindow()  # the keyboard goes to the new person's window (its shortcuts too), not nowhere
        self._restart_idle()
        self.window_opened.emit(window)
        return window

    def sign_out(self) -> None:
        """Close the window; the sign-in dialog shows (cancelling it quits)."""
        if self.window is None:
            return
        # shown before the window closes: never no window at all
        self._ask(LoginDialog(self.core.people, check_elsewhere=self._check_elsewhere()))
        self.window.dispose()
        self.window = None
        self._idle.stop()

    def lock(self, why: str = "") -> None:
        """Hide the window behind a sign-in dialog that only signing in dismisses."""
        if self.window is None or self.locked:
            return
        if self.dialog is not None:  # a plain sign-in is already showing: nothing to hide
            return
        self._ask(
            LoginDialog(
                self.core.people, locked_by=self.window.actor.name, why=why, check_elsewhere=self._check_elsewhere()
            )
        )
        self.window.hide()
        self._idle.stop()

    def _ask(self, dialog: LoginDialog) -> None:
        self.dialog = dialog
        dialog.accepted.connect(self._signed_in)
        dialog.rejected.connect(self._quit)
        dialog.open()

    def _signed_in(self) -> None:
        dialog, self.dialog = self.dialog, None
        if dialog is None or dialog.actor is None:
            return
        dialog.deleteLater()
        actor = dialog.actor
        window = self.window
        if window is not None and actor.name.casefold() == window.actor.name.casefold():
            window.show()  # the same person: their window as they left it
            window.activateWindow()
            window.refresh_attention()  # their roles may have changed meanwhile
            self._restart_idle()
        else:
            self.open_window(actor)

    def _quit(self) -> None:
        self._idle.stop()
        self.finished.emit()

    # -- idle --------------------------------------------------------------------------------------------------

    def _restart_idle(self) -> None:
        if self.idle_lock_ms > 0 and self.window is not None and self.dialog is None:
            self._idle.start(self.idle_lock_ms)
            self._listen()

    @property
    def listen_pause_ms(self) -> int:
        return min(self.idle_lock_ms // 100, self.MAX_LISTEN_PAUSE_MS)

    def _listen(self) -> None:
        app = QApplication.instance()
        if app is not None and not self.listening:
            app.installEventFilter(self._input)
            self.listening = True

    def _stop_listening(self) -> None:
        app = QApplication.instance()
        if app is not None and self.listening:
            app.removeEventFilter(self._input)  # safe from inside the filter's own call
        self.listening = False

    def _input_seen(self) -> None:
        if self._idle.isActive():
            self._idle.start(self.idle_lock_ms)
            if self.listen_pause_ms > 0:
                self._stop_listening()
                self._listen_again.start(self.listen_pause_ms)

    def _resume_listening(self) -> None:
        """After the pause: input may have come meanwhile, unseen, so the idle time counts from now."""
        if self._idle.isActive():
            self._idle.start(self.idle_lock_ms)
        self._listen()

    def _idle_too_long(self) -> None:
        minutes = self.idle_lock_ms / 60_000
        shown = f"{minutes:g} minute{'s' if minutes != 1 else ''}" if minutes >= 1 else f"{self.idle_lock_ms} ms"
        self.lock(f" after {shown} without input")

    def stop(self) -> None:
        """Close everything this console opened (the App stays open: the caller owns it)."""
        self._idle.stop()
        self._listen_again.stop()
        self._stop_listening()
        dialog, self.dialog = self.dialog, None
        if dialog is not None:
            dialog.accepted.disconnect(self._signed_in)
            dialog.rejected.disconnect(self._quit)
            dialog.locked = False
            dialog.done(0)
            dialog.deleteLater()
        if self.window is not None:
            self.window.dispose()
            self.window = None
        self.watcher.stop()
