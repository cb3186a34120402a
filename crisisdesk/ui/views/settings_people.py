"""Settings > People: who may sign in, with which roles; admins add people, grant and revoke roles, disable and
enable them and reset passwords. Every change is a service call in a task; the service decides (from the log) and
its refusal, such as the last admin's, is shown as the line it gives."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from crisisdesk.app import App
from crisisdesk.domain.errors import CrisisdeskError
from crisisdesk.domain.roles import MIN_PASSWORD_LENGTH, Permission, Role
from crisisdesk.services.people import Person
from crisisdesk.ui.models.people import PeopleModel
from crisisdesk.ui.session import Session
from crisisdesk.ui.views.settings_common import NamedSelection, StatusLine, ask, plain_label, read_only_note
from crisisdesk.ui.views.tables import row_table

ROLE_HELP: dict[Role, str] = {
    Role.ADMIN: "people, channel accounts, feeds and rules",
    Role.COMMUNICATOR: "opens incidents, drafts, submits and publishes",
    Role.APPROVER: "approves or returns messages",
    Role.EXERCISE_CONTROLLER: "runs drills",
    Role.VIEWER: "reads everything, changes nothing",
}


def password_pair(form: QFormLayout, what: str) -> tuple[QLineEdit, QLineEdit]:
    first, again = QLineEdit(), QLineEdit()
    for edit, label in ((first, what), (again, f"{what} again")):
        edit.setEchoMode(QLineEdit.EchoMode.Password)
        edit.setAccessibleName(label)
        form.addRow(label, edit)
    first.setPlaceholderText(f"at least {MIN_PASSWORD_LENGTH} characters")
    return first, again


class _Form(QDialog):
    """A small form whose OK runs a service call; a refusal stays in the form, as its one line."""

    def __init__(self, title: str, ok: str, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setAccessibleName(title)
        self.setMinimumWidth(440)
        self.layout_ = QVBoxLayout(self)
        self.form = QFormLayout()
        self.layout_.addLayout(self.form)
        self.error = plain_label(name="Why it was not done", state="bad")
        self.error.hide()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText(ok)
        self.ok_button.setAccessibleName(ok)
        cancel = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        cancel.setAccessibleName("Cancel")
        cancel.setAutoDefault(False)
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)

    def finish_layout(self) -> None:
        self.layout_.addWidget(self.error)
        self.layout_.addWidget(self.buttons)

    def refuse(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()

    def submit(self) -> None:
        raise NotImplementedError


class AddPersonDialog(_Form):
    def __init__(self, page: PeoplePage) -> None:
        super().__init__("Add a person", "Add person", page)
        self.page = page
        self.name = QLineEdit()
        self.name.setAccessibleName("User name")
        self.name.setPlaceholderText("letters, digits, '.', '_' or '-', such as carla")
        self.form.addRow("User name", self.name)
        self.display_name = QLineEdit()
        self.display_name.setAccessibleName("Shown as")
        self.display_name.setPlaceholderText("the name the console shows (default: the user name)")
        self.form.addRow("Shown as", self.display_name)
        box = QGroupBox("Roles (at least one)")
        roles = QVBoxLayout(box)
        self.roles: dict[Role, QCheckBox] = {}
        for role in Role:
            check = QCheckBox(f"{role.value}: {ROLE_HELP[role]}")
            check.setAccessibleName(f"Role {role.value}")
            roles.addWidget(check)
            self.roles[role] = check
        self.form.addRow(box)
        self.password, self.again = password_pair(self.form, "Password")
        self.finish_layout()

    def submit(self) -> None:
        name = self.name.text().strip()
        roles = [r for r, check in self.roles.items() if check.isChecked()]
        if self.password.text() != self.again.text():
            self.refuse("The two passwords differ; type the same password twice.")
            return
        password, shown = self.password.text(), self.display_name.text().strip() or None
        actor = self.page.session.actor
        self.ok_button.setEnabled(False)
        self.page.session.tasks.run(
            lambda app: app.people.add(actor, name, roles, password, display_name=shown),
            self._added,
            lambda error: self.refuse(str(error)),
            on_done=lambda: self.ok_button.setEnabled(True),
            owner=self,
        )

    def _added(self, person: Person) -> None:
        self.password.clear()
        self.again.clear()
        self.accept()
        self.page.done(f"Added {person.name} ({', '.join(person.roles)}); they can sign in now.", select=person.name)


class ResetPasswordDialog(_Form):
    def __init__(self, page: PeoplePage, name: str) -> None:
        super().__init__(f"New password for {name}", "Set the new password", page)
        self.page = page
        self.person = name
        self.form.addRow(plain_label(f"{name}'s old password stops working at once.", name="What this does"))
        self.password, self.again = password_pair(self.form, "New password")
        self.finish_layout()

    def submit(self) -> None:
        if self.password.text() != self.again.text():
            self.refuse("The two passwords differ; type the same password twice.")
            return
        password, name, actor = self.password.text(), self.person, self.page.session.actor
        self.page.session.tasks.run(
            lambda app: app.people.reset_password(actor, name, password),
            lambda _: self._reset(),
            lambda error: self.refuse(str(error)),
            owner=self,
        )

    def _reset(self) -> None:
        self.password.clear()
        self.again.clear()
        self.accept()
        self.page.done(f"{self.person} has a new password; tell them in person, not by email.")


class PeoplePage(QWidget):
    """The People page of Settings."""

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.admin = session.actor.may(Permission.MANAGE_PEOPLE)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.read_only = read_only_note(session.actor, Permission.MANAGE_PEOPLE, "people and their roles")
        if self.read_only is not None:
            layout.addWidget(self.read_only)

        self.model = PeopleModel(parent=self)
        self.table = row_table(self.model, (110, 140, 220, 190, 0), 4)
        self.table.setAccessibleName("People")
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._selection_changed())
        layout.addWidget(self.table, 1)

        self.roles_box = QGroupBox("Roles of the selected person (a tick grants, clearing it revokes)")
        roles = QHBoxLayout(self.roles_box)
        self.role_checks: dict[Role, QCheckBox] = {}
        for role in Role:
            check = QCheckBox(role.value)
            check.setToolTip(ROLE_HELP[role])
            check.setAccessibleName(f"Role {role.value} for the selected person")
            check.clicked.connect(lambda on, r=role: self.set_role(r, on))
            roles.addWidget(check)
            self.role_checks[role] = check
        roles.addStretch(1)
        layout.addWidget(self.roles_box)

        bar = QHBoxLayout()
        self.add_button = self._button(bar, "Add person…", "Add a person with roles and a first password", self.add)
        self.reset_button = self._button(
            bar, "Reset password…", "Give the selected person a new password", self.reset_password
        )
        self.disable_button = self._button(
            bar, "Disable…", "Stop the selected person signing in; their past stays in the log", self.disable
        )
        self.enable_button = self._button(
            bar, "Enable again", "Let the selected person sign in again, with their roles", self.enable
        )
        bar.addStretch(1)
        layout.addLayout(bar)
        self.status = StatusLine("What the last change did")
        layout.addWidget(self.status)

        self.add_dialog: AddPersonDialog | None = None
        self.reset_dialog: ResetPasswordDialog | None = None
        self.confirm: QMessageBox | None = None
        self.rows = NamedSelection[Person](self.table, self.model, lambda row: row.name)
        self.loaded = False
        self._selection_changed()
        session.watcher.changed.connect(self.reload)
        self.reload()

    def _button(self, bar: QHBoxLayout, text: str, about: str, slot: Callable[[], object]) -> QPushButton:
        button = QPushButton(text)
        button.setAccessibleName(text.rstrip("…"))
        button.setToolTip(about if self.admin else "Only an admin changes people")
        button.clicked.connect(slot)
        bar.addWidget(button)
        return button

    # -- reading ----------------------------------------------------------------------------------------------

    def reload(self) -> None:
        actor = self.session.actor
        self.session.tasks.run(
            lambda app: app.people.list_people(actor),
            self._show,
            lambda error: self.status.say(f"The people could not be read: {error}", "bad"),
            owner=self,
        )

    def _show(self, people: list[Person]) -> None:
        self.rows.show(people)
        self.loaded = True
        self._selection_changed()

    def selected(self) -> Person | None:
        return self.rows.selected()

    def select(self, name: str) -> None:
        self.rows.select(name)

    def _selection_changed(self) -> None:
        person = self.selected()
        self.add_button.setEnabled(self.admin)
        for button in (self.reset_button, self.disable_button, self.enable_button):
            button.setEnabled(self.admin and person is not None)
        if person is not None:
            self.disable_button.setEnabled(self.admin and not person.disabled)
            self.enable_button.setEnabled(self.admin and person.disabled)
        self.roles_box.setTitle(
            f"Roles of {person.name} (a tick grants, clearing it revokes)"
            if person
            else "Roles: select a person in the table"
        )
        for role, check in self.role_checks.items():
            check.setChecked(person is not None and role.value in person.roles)
            check.setEnabled(self.admin and person is not None)

    # -- changing ---------------------------------------------------------------------------------------------

    def done(self, text: str, *, select: str | None = None) -> None:
        self.roles_box.setEnabled(True)
        self.status.say(text, "ok")
        self.rows.after = select
        self.reload()  # the watcher says so too, later; the person sees the change at once

    def refused(self, error: CrisisdeskError) -> None:
        self.roles_box.setEnabled(True)
        self.status.say(str(error), "bad")
        self.reload()  # a tick the service refused goes back to what the log says

    def _run(self, call: Callable[[App], object], said: Callable[[object], str]) -> None:
        self.session.tasks.run(call, lambda value: self.done(said(value)), self.refused, owner=self)

    def set_role(self, role: Role, on: bool) -> None:
        person = self.selected()
        if person is None:
            return
        name, actor = person.name, self.session.actor
        # One change at a time: two quick clicks ran a grant and a revoke side by side on the pool, and the one
        # that finished last won, whatever the person clicked last. The ticks come back when the change is done.
        self.roles_box.setEnabled(False)
        if on:
            self._run(
                lambda app: app.people.grant(actor, name, role),
                lambda changed: f"Granted {role.value} to {name}." if changed else f"{name} already has {role.value}.",
            )
        else:
            self._run(
                lambda app: app.people.revoke(actor, name, role),
                lambda changed: (
                    f"Revoked {role.value} from {name}." if changed else f"{name} does not have {role.value}."
                ),
            )

    def add(self) -> None:
        self.add_dialog = AddPersonDialog(self)
        self.add_dialog.open()

    def reset_password(self) -> None:
        person = self.selected()
        if person is not None:
            self.reset_dialog = ResetPasswordDialog(self, person.name)
            self.reset_dialog.open()

    def disable(self) -> None:
        person = self.selected()
        if person is None:
            return
        name, actor = person.name, self.session.actor
        self.confirm = ask(
            self,
            f"Disable {name}?",
            f"{name} will not be able to sign in, and a session they have open can do nothing more. "
            "Everything they did stays in the log. You can enable them again.",
            f"Disable {name}",
            lambda: self._run(
                lambda app: app.people.disable(actor, name),
                lambda changed: f"{name} is disabled: they cannot sign in." if changed else f"{name} was disabled.",
            ),
        )

    def enable(self) -> None:
        person = self.selected()
        if person is None:
            return
        name, actor = person.name, self.session.actor
        self._run(
            lambda app: app.people.enable(actor, name),
            lambda changed: f"{name} may sign in again." if changed else f"{name} was not disabled.",
        )
