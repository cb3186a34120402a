"""Settings > Channel accounts: where messages go. Admins add an account with a form per kind (each setting with
its help), choose LIVE or EXERCISE deliberately (there is no default, and LIVE is confirmed), type the secret into
a password field that goes to the OS keyring and nowhere else, test the connection (off the GUI thread: it talks
to a network) and remove an account. When no usable keyring exists the page says what to do and stores no secret.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from crisisdesk.app import App
from crisisdesk.domain.accounts import KINDS, Account, AccountKind
from crisisdesk.domain.errors import CrisisdeskError
from crisisdesk.domain.roles import Permission
from crisisdesk.ui import palette
from crisisdesk.ui.models.accounts import AccountsModel
from crisisdesk.ui.models.deliveries import mode_words
from crisisdesk.ui.session import Session
from crisisdesk.ui.views.settings_common import NamedSelection, StatusLine, ask, plain_label, read_only_note
from crisisdesk.ui.views.settings_people import _Form
from crisisdesk.ui.views.tables import row_table

# What each setting means, in a person's words: (kind, setting) first, then the setting alone.
SETTING_HELP: dict[tuple[AccountKind | None, str], str] = {
    (AccountKind.FOLDER, "path"): "the folder for the page, its feed and the CAP files; a plain name is a folder "
    "under crisisdesk's data folder (default: the account's name)",
    (AccountKind.FOLDER, "title"): "the public page's title",
    (AccountKind.FOLDER, "base_url"): "the address the page is published at, for the links in its feed",
    (None, "langs"): "the languages to carry, comma-separated, such as en,es (empty: every language of the message)",
    (None, "lang"): "the one language this account posts in, such as en",
    (AccountKind.EMAIL, "host"): "the SMTP server's host name, such as smtp.example.org",
    (AccountKind.EMAIL, "from"): "the sender address, such as alerts@example.org",
    (AccountKind.EMAIL, "to"): "the recipients' addresses, comma-separated",
    (AccountKind.EMAIL, "port"): "the SMTP port",
    (AccountKind.EMAIL, "security"): "starttls, tls, or none (a relay without TLS)",
    (AccountKind.EMAIL, "username"): "the SMTP login (empty: a relay that takes no login)",
    (AccountKind.EMAIL, "cafile"): "a PEM certificate file to trust (empty: the system's certificates)",
    (AccountKind.MASTODON, "base_url"): "the server's address, such as https://mastodon.example",
    (AccountKind.MASTODON, "visibility"): "public, unlisted, private or direct",
    (AccountKind.BLUESKY, "handle"): "the account's handle, such as county.bsky.social",
    (AccountKind.BLUESKY, "base_url"): "the account's server (PDS)",
    (AccountKind.MATRIX, "base_url"): "the homeserver's address, such as https://matrix.example.org",
    (AccountKind.MATRIX, "room"): "the room's id (!abc123:example.org) or alias (#alerts:example.org)",
    (AccountKind.MATRIX, "user"): "the sending user's id, such as @alerts:example.org",
    (AccountKind.WEBHOOK, "url"): "the whole address the JSON is posted to, such as https://example.org/hook",
    (AccountKind.SMS, "base_url"): "the gateway's address (a Twilio-compatible API)",
    (AccountKind.SMS, "account_sid"): "the gateway account's id",
    (AccountKind.SMS, "from"): "the sending number, such as +1 555 010 0100",
    (AccountKind.SMS, "to"): "the recipients' numbers, comma-separated",
    (AccountKind.APPRISE, "text"): "which text to send: web (long) or sms (short)",
}


def setting_help(kind: AccountKind, key: str) -> str:
    return SETTING_HELP.get((kind, key)) or SETTING_HELP.get((None, key)) or ""


LIVE_WARNING = "● LIVE: whatever is published through this account reaches the public."


class AddAccountDialog(_Form):
    """One form; its settings change with the kind chosen."""

    def __init__(self, page: AccountsPage) -> None:
        super().__init__("Add a channel account", "Add account", page)
        self.page = page
        self.setMinimumWidth(620)
        self.kind = QComboBox()
        self.kind.setAccessibleName("Channel kind")
        for kind in AccountKind:
            self.kind.addItem(kind.value, kind.value)
        self.form.addRow("Kind", self.kind)
        self.kind_help = plain_label(name="What this kind does", state="muted")
        self.form.addRow("", self.kind_help)
        self.name = QLineEdit()
        self.name.setAccessibleName("Account name")
        self.name.setPlaceholderText("lower-case letters, digits, '.', '_' or '-', such as county-webhook")
        self.form.addRow("Name", self.name)

        # LIVE or EXERCISE: chosen every time, never defaulted, and fixed for the account's life.
        mode_box = QGroupBox("Mode: choose one (it cannot be changed later)")
        modes = QVBoxLayout(mode_box)
        self.modes = QButtonGroup(self)
        self.live = QRadioButton(f"{mode_words('live')}: reaches the public; LIVE incidents publish here")
        self.live.setAccessibleName("LIVE: reaches the public")
        self.exercise = QRadioButton(f"{mode_words('exercise')}: drills only; EXERCISE incidents publish here")
        self.exercise.setAccessibleName("EXERCISE: drills only")
        for button in (self.live, self.exercise):
            self.modes.addButton(button)
            modes.addWidget(button)
        self.live_warning = plain_label(LIVE_WARNING, name="LIVE warning", state="live")
        loud = self.live_warning.font()
        loud.setPointSizeF(loud.pointSizeF() * 1.15)
        self.live_warning.setFont(loud)
        self.live_confirm = QCheckBox("Yes, this account is LIVE: it reaches the public")
        self.live_confirm.setAccessibleName("Confirm this account is LIVE")
        modes.addWidget(self.live_warning)
        modes.addWidget(self.live_confirm)
        self.form.addRow(mode_box)
        self.modes.buttonToggled.connect(lambda *_: self._mode_changed())

        self.settings_box = QGroupBox("Settings")
        self.settings_form = QFormLayout(self.settings_box)
        self.form.addRow(self.settings_box)
        self.fields: dict[str, QLineEdit] = {}
        self.secret_given = False
        self.secret_label = QLabel("Secret")
        self.secret = QLineEdit()
        self.secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.secret.setAccessibleName("Secret")
        self.secret_note = plain_label(name="Where the secret goes", state="muted")
        self.form.addRow(self.secret_label, self.secret)
        self.form.addRow("", self.secret_note)
        self.finish_layout()
        self.kind.currentIndexChanged.connect(lambda _: self._kind_changed())
        self._kind_changed()
        self._mode_changed()

    def chosen_kind(self) -> AccountKind:
        return AccountKind(str(self.kind.currentData()))

    def choose_kind(self, kind: AccountKind) -> None:
        self.kind.setCurrentIndex(self.kind.findData(kind.value))

    def _kind_changed(self) -> None:
        kind = self.chosen_kind()
        spec = KINDS[kind]
        self.kind_help.setText(spec.help)
        while self.settings_form.rowCount():
            self.settings_form.removeRow(0)
        self.fields = {}
        for key in (*spec.required, *spec.optional):
            required = key in spec.required
            edit = QLineEdit()
            default = spec.optional.get(key, "")
            edit.setPlaceholderText("required" if required else (f"default: {default}" if default else "optional"))
            edit.setAccessibleName(f"Setting {key}")
            about = setting_help(kind, key)
            edit.setToolTip(about)
            column = QVBoxLayout()
            column.setSpacing(2)
            column.addWidget(edit)
            if about:
                column.addWidget(plain_label(about, name=f"About {key}", state="muted"))
            self.settings_form.addRow(f"{key} *" if required else key, column)
            self.fields[key] = edit
        self.settings_box.setTitle("Settings (* required)" if spec.required else "Settings (all optional)")
        label = spec.secret_label
        self.secret.clear()
        for widget in (self.secret_label, self.secret, self.secret_note):
            widget.setVisible(label is not None)
        refusal = self.page.keyring_refusal
        self.secret.setEnabled(label is not None and refusal is None)
        if label is not None:
            self.secret_label.setText(label[:1].upper() + label[1:].split(" (")[0])
            self.secret.setAccessibleName(label)
            optional = " (optional: leave it empty for a relay that takes no login)" if spec.secret_optional else ""
            self.secret_note.setText(
                f"No secret can be stored: {refusal}"
                if refusal
                else f"Kept in this computer's keyring only, never in the database{optional}."
            )
            self.secret_note.setStyleSheet(palette.text_style("bad" if refusal else "muted", bold=bool(refusal)))

    def _mode_changed(self) -> None:
        live = self.live.isChecked()
        self.live_warning.setVisible(live)
        self.live_confirm.setVisible(live)
        if not live:
            self.live_confirm.setChecked(False)

    def settings(self) -> list[str]:
        return [f"{key}={edit.text().strip()}" for key, edit in self.fields.items() if edit.text().strip()]

    def submit(self) -> None:
        kind = self.chosen_kind()
        spec = KINDS[kind]
        if not (self.live.isChecked() or self.exercise.isChecked()):
            self.refuse("Choose LIVE or EXERCISE: there is no default, because a drill must never reach the public.")
            return
        if self.live.isChecked() and not self.live_confirm.isChecked():
            self.refuse("This account is LIVE: tick the box that says it reaches the public, or choose EXERCISE.")
            return
        secret = self.secret.text() if self.secret.isEnabled() else ""
        self.secret_given = bool(secret.strip())
        refusal = self.page.keyring_refusal
        if refusal and spec.secret_label and not spec.secret_optional:
            self.refuse(f"No secret can be stored, so a {kind.value} account cannot be added: {refusal}")
            return
        name, exercise, pairs = self.name.text().strip(), self.exercise.isChecked(), self.settings()
        actor = self.page.session.actor
        self.ok_button.setEnabled(False)
        self.page.session.tasks.run(
            lambda app: app.channels().add(
                actor, kind.value, name, exercise=exercise, settings=pairs, secret=secret or None
            ),
            self._added,
            lambda error: self.refuse(str(error)),
            on_done=lambda: self.ok_button.setEnabled(True),
            owner=self,
        )

    def _added(self, account: Account) -> None:
        self.secret.clear()
        self.accept()
        where = " Its secret is in the keyring." if self.secret_given else ""
        self.page.done(f"Added {account.name}: {account.kind.value}, {account.mode.upper()}.{where}", account.name)


class AccountsPage(QWidget):
    """The Channel accounts page of Settings."""

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.admin = session.actor.may(Permission.MANAGE_CHANNELS)
        self.keyring_refusal: str | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.read_only = read_only_note(session.actor, Permission.MANAGE_CHANNELS, "channel accounts")
        if self.read_only is not None:
            layout.addWidget(self.read_only)
        self.keyring_line = plain_label(name="Keyring problem", state="bad")
        self.keyring_line.hide()
        layout.addWidget(self.keyring_line)

        self.model = AccountsModel(parent=self)
        self.table = row_table(self.model, (150, 110, 80, 0, 120, 90), 3)
        self.table.setAccessibleName("Channel accounts")
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._selection_changed())
        layout.addWidget(self.table, 1)

        bar = QHBoxLayout()
        self.add_button = self._button(bar, "Add account…", "Add a channel account", self.add)
        self.test_button = self._button(
            bar, "Test connection", "Check the selected account's connection and credentials without posting", self.test
        )
        self.remove_button = self._button(bar, "Remove…", "Remove the selected account and its secret", self.remove)
        bar.addStretch(1)
        layout.addLayout(bar)
        self.answer = StatusLine("The channel's answer")
        layout.addWidget(self.answer)
        self.status = StatusLine("What the last change did")
        layout.addWidget(self.status)

        self.add_dialog: AddAccountDialog | None = None
        self.confirm: QMessageBox | None = None
        self.loaded = False
        self.rows = NamedSelection[Account](self.table, self.model, lambda row: row.name)
        self._selection_changed()
        session.watcher.changed.connect(self.reload)
        self.reload()

    def _button(self, bar: QHBoxLayout, text: str, about: str, slot: Callable[[], object]) -> QPushButton:
        button = QPushButton(text)
        button.setAccessibleName(text.rstrip("…"))
        button.setToolTip(about)
        button.clicked.connect(slot)
        bar.addWidget(button)
        return button

    def reload(self) -> None:
        actor = self.session.actor

        def fetch(app: App) -> tuple[list[Account], str | None]:
            channels = app.channels()
            return channels.accounts(actor), channels.secret_store_refusal()

        self.session.tasks.run(
            fetch, self._show, lambda e: self.status.say(f"The accounts could not be read: {e}", "bad"), owner=self
        )

    def _show(self, found: tuple[list[Account], str | None]) -> None:
        accounts, refusal = found
        self.keyring_refusal = refusal
        self.keyring_line.setText(f"Secrets cannot be stored here: {refusal}" if refusal else "")
        self.keyring_line.setVisible(refusal is not None)
        self.rows.show(accounts)
        self.loaded = True
        self._selection_changed()

    def selected(self) -> Account | None:
        return self.rows.selected()

    def select(self, name: str) -> None:
        self.rows.select(name)

    def _selection_changed(self) -> None:
        chosen = self.selected() is not None
        self.add_button.setEnabled(self.admin)
        self.remove_button.setEnabled(self.admin and chosen)
        self.test_button.setEnabled(chosen)
        if not self.admin:
            self.add_button.setToolTip("Only an admin adds channel accounts")
            self.remove_button.setToolTip("Only an admin removes channel accounts")

    def done(self, text: str, select: str | None = None) -> None:
        self.status.say(text, "ok")
        self.rows.after = select
        self.reload()

    def add(self) -> None:
        self.add_dialog = AddAccountDialog(self)
        self.add_dialog.open()

    def test(self) -> None:
        account = self.selected()
        if account is None:
            return
        name, actor = account.name, self.session.actor
        self.test_button.setEnabled(False)
        self.answer.say(f"{name}: testing…", "muted")
        self.session.tasks.run(
            lambda app: app.channels().test(actor, name),
            lambda detail: self.answer.say(f"{name}: connection works. {detail}", "ok"),
            lambda error: self.answer.say(f"{name}: the test failed. {error}", "bad"),
            on_done=self._selection_changed,
            owner=self,
        )

    def remove(self) -> None:
        account = self.selected()
        if account is None:
            return
        name, actor = account.name, self.session.actor
        mode = account.mode.upper()
        self.confirm = ask(
            self,
            f"Remove {name}?",
            f"Remove the {mode} {account.kind.value} account {name}? Messages will no longer go there"
            + (", and its secret is deleted from the keyring." if account.spec.secret_label else ".")
            + " What was sent through it stays in the log.",
            f"Remove {name}",
            lambda: self.session.tasks.run(
                lambda app: app.channels().remove(actor, name),
                lambda _: self.done(f"Removed {name}."),
                lambda error: self.status.say(str(error), "bad"),
                owner=self,
            ),
        )

    def refused(self, error: CrisisdeskError) -> None:
        self.status.say(str(error), "bad")
