"""Signing in, and creating the first admin on a new workstation.

The space bar never cancels: OK is the default button, Cancel is neither default nor auto-default and takes no
keyboard focus (so Tab never lands on it and a space typed into the wrong place cannot press it); Escape still
cancels where cancelling is allowed. A locked console's dialog cannot be cancelled at all.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QCloseEvent, QShowEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from crisisdesk.domain.errors import CrisisdeskError, UserError
from crisisdesk.domain.roles import Actor
from crisisdesk.services.people import PeopleService
from crisisdesk.ui import palette

log = logging.getLogger(__name__)

# Checks a name and a password and records the session, on a thread of its own with its own connection; None: on
# the GUI thread (the tests' synchronous mode).
CheckElsewhere = Callable[[str, str], Actor]


class _Relay(QObject):
    """Carries a check's outcome from its thread to the dialog's (a queued signal)."""

    checked = Signal(object, object)  # the Actor or None, the refusal or None


class _Form(QDialog):
    def __init__(self, title: str, intro: str, ok_text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(420)
        layout = QVBoxLayout(self)
        heading = QLabel(intro)
        heading.setTextFormat(Qt.TextFormat.PlainText)
        heading.setWordWrap(True)
        layout.addWidget(heading)
        self.form = QFormLayout()
        layout.addLayout(self.form)
        self.error = QLabel()
        self.error.setObjectName("error")
        self.error.setAccessibleName("Sign-in problem")
        self.error.setStyleSheet(palette.text_style("bad"))
        self.error.setWordWrap(True)
        self.error.hide()
        layout.addWidget(self.error)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText(ok_text)
        self.ok_button.setAccessibleName(ok_text)
        self.ok_button.setDefault(True)
        self.cancel_button = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        self.cancel_button.setAccessibleName("Cancel")
        self.cancel_button.setAutoDefault(False)
        self.cancel_button.setDefault(False)
        self.cancel_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.buttons.accepted.connect(self._submit)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.actor: Actor | None = None
        self.first_field: QLineEdit | None = None

    def field(self, label: str, *, secret: bool = False, text: str = "") -> QLineEdit:
        edit = QLineEdit(text)
        edit.setAccessibleName(label)
        if secret:
            edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.form.addRow(label, edit)
        return edit

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self.first_field is not None:
            self.first_field.setFocus(Qt.FocusReason.OtherFocusReason)
            self.first_field.selectAll()

    def show_error(self, message: str) -> None:
        self.error.setTextFormat(Qt.TextFormat.PlainText)  # messages may quote what the person typed
        self.error.setText(message)
        self.error.show()

    def _submit(self) -> None:
        try:
            self.actor = self.submit()
        except CrisisdeskError as exc:
            self.show_error(str(exc))
            return
        self.accept()

    def submit(self) -> Actor:
        raise NotImplementedError


class LoginDialog(_Form):
    """Sign in. ``locked_by``: the console locked (idle, or Lock) while this person was signed in; the dialog
    then says so, offers their name, and can be left only by signing in, as them or as someone else."""

    def __init__(
        self,
        people: PeopleService,
        parent: QWidget | None = None,
        *,
        locked_by: str | None = None,
        why: str = "",
        check_elsewhere: CheckElsewhere | None = None,
    ) -> None:
        if locked_by is None:
            title, intro = "crisisdesk: sign in", "Sign in to the crisis-communications console."
        else:
            title = "crisisdesk: locked"
            intro = (
                f"The console is locked{why}. {locked_by} was signed in.\n"
                "Sign in to continue: as them to carry on where they were, or as another person to start afresh."
            )
        super().__init__(title, intro, "Sign in", parent)
        self.people = people
        self.locked = locked_by is not None
        self.check_elsewhere = check_elsewhere
        self.checking = False
        self.ok_text = "Sign in"
        self._relay = _Relay(self)
        self._relay.checked.connect(self._checked, Qt.ConnectionType.QueuedConnection)
        self.name = self.field("User name", text=locked_by or "")
        self.password = self.field("Password", secret=True)
        self.first_field = self.name
        if self.locked:
            self.cancel_button.hide()

    def reject(self) -> None:
        if not self.locked:  # a locked console is left only by signing in
            super().reject()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.locked:
            event.ignore()
            return
        super().closeEvent(event)

    def submit(self) -> Actor:
        try:
            actor = self.people.authenticate(self.name.text().strip(), self.password.text(), via="gui")
        finally:
            self.password.clear()
        self.people.record_session(actor, "gui")
        return actor

    def _submit(self) -> None:
        """With ``check_elsewhere``: the password's hash (Argon2, 120-400 ms) is checked on a thread, the dialog
        keeps drawing and says it is checking; a second Enter meanwhile does nothing."""
        if self.check_elsewhere is None:
            super()._submit()
            return
        if self.checking:
            return
        name, password = self.name.text().strip(), self.password.text()
        self.password.clear()
        self._set_checking(True)
        relay = self._relay
        check = self.check_elsewhere

        def work() -> None:
            actor: Actor | None = None
            refusal: str | None = None
            try:
                actor = check(name, password)
            except CrisisdeskError as exc:
                refusal = str(exc)
            except Exception:  # a bug: a line for the person, the traceback for the log file
                log.exception("the sign-in check failed")
                refusal = "the sign-in could not be checked (a fault, written to the log file); try again"
            # RuntimeError: the dialog is gone (the console closed meanwhile) and nobody waits for the answer
            with contextlib.suppress(RuntimeError):
                relay.checked.emit(actor, refusal)

        threading.Thread(target=work, name="sign-in check", daemon=True).start()

    def _set_checking(self, on: bool) -> None:
        self.checking = on
        for widget in (self.name, self.password, self.ok_button):
            widget.setEnabled(not on)
        self.ok_button.setText("Checking…" if on else self.ok_text)

    def _checked(self, actor: Actor | None, refusal: str | None) -> None:
        self._set_checking(False)
        if not self.isVisible():
            return  # cancelled while the password was checked: cancelled it stays, whatever the check said
        if actor is None:
            self.show_error(refusal or "not signed in")
            self.password.setFocus(Qt.FocusReason.OtherFocusReason)
            return
        self.actor = actor
        self.accept()


class FirstRunDialog(_Form):
    def __init__(
        self,
        people: PeopleService,
        db_path: str,
        parent: QWidget | None = None,
        *,
        setup: Callable[..., str] | None = None,
    ) -> None:
        super().__init__(
            "crisisdesk: set up this workstation",
            f"This workstation has no people yet. Create the first administrator.\nDatabase: {db_path}",
            "Create and sign in",
            parent,
        )
        self.people = people
        self.setup = setup or people.initialise  # the app's setup also adds the local-folder channels
        self.workstation = self.field("Workstation name")
        self.workstation.setPlaceholderText("e.g. EOC desk 1 (default: this computer's name)")
        self.name = self.field("Admin user name")
        self.password = self.field("Password", secret=True)
        self.repeat = self.field("Repeat password", secret=True)
        self.first_field = self.workstation

    def submit(self) -> Actor:
        if self.password.text() != self.repeat.text():
            raise UserError("the two passwords differ")
        name = self.name.text().strip()
        self.setup(name, self.password.text(), workstation_name=self.workstation.text().strip() or None)
        actor = self.people.actor(name)
        self.people.record_session(actor, "gui")
        return actor
