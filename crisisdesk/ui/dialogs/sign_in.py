"""Signing in, and creating the first admin on a new workstation."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
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


class _Form(QDialog):
    def __init__(self, title: str, intro: str, ok_text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(420)
        layout = QVBoxLayout(self)
        heading = QLabel(intro)
        heading.setWordWrap(True)
        layout.addWidget(heading)
        self.form = QFormLayout()
        layout.addLayout(self.form)
        self.error = QLabel()
        self.error.setObjectName("error")
        self.error.setStyleSheet("color: #b00020; font-weight: bold;")
        self.error.setWordWrap(True)
        self.error.hide()
        layout.addWidget(self.error)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText(ok_text)
        self.buttons.accepted.connect(self._submit)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.actor: Actor | None = None

    def field(self, label: str, *, secret: bool = False, text: str = "") -> QLineEdit:
        edit = QLineEdit(text)
        if secret:
            edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.form.addRow(label, edit)
        return edit

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
    def __init__(self, people: PeopleService, parent: QWidget | None = None) -> None:
        super().__init__("crisisdesk: sign in", "Sign in to the crisis-communications console.", "Sign in", parent)
        self.people = people
        self.name = self.field("User name")
        self.password = self.field("Password", secret=True)

    def submit(self) -> Actor:
        try:
            actor = self.people.authenticate(self.name.text().strip(), self.password.text(), via="gui")
        finally:
            self.password.clear()
        self.people.record_session(actor, "gui")
        return actor


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

    def submit(self) -> Actor:
        if self.password.text() != self.repeat.text():
            raise UserError("the two passwords differ")
        name = self.name.text().strip()
        self.setup(name, self.password.text(), workstation_name=self.workstation.text().strip() or None)
        actor = self.people.actor(name)
        self.people.record_session(actor, "gui")
        return actor
