"""The Outbox place: what went where, with receipts, reasons and retractions; retry and retract from here."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from crisisdesk.app import App
from crisisdesk.domain.accounts import Account
from crisisdesk.domain.errors import CrisisdeskError
from crisisdesk.services.outbox import OutboxRow
from crisisdesk.ui.models.outbox import OutboxModel
from crisisdesk.ui.session import Session
from crisisdesk.ui.views.tables import row_table


def describe_channels(accounts: list[Account]) -> str:
    parts = []
    for a in accounts:
        note = "" if a.spec.retract is None else f" (cannot retract: {a.spec.retract})"
        parts.append(f"{a.name} [{a.kind.value}, {a.mode.upper()}]{note}")
    return "Channels: " + ("; ".join(parts) or "none")


class OutboxView(QWidget):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        layout = QVBoxLayout(self)
        self.channels = QLabel()
        self.channels.setTextFormat(Qt.TextFormat.PlainText)
        self.channels.setWordWrap(True)
        self.channels.setAccessibleName("Channels")
        layout.addWidget(self.channels)

        bar = QHBoxLayout()
        self.retry_button = QPushButton("Retry selected")
        self.retry_button.setAccessibleName("Retry the selected delivery")
        self.retry_button.setToolTip("Send a failed, dead or unknown row again now")
        self.retry_button.clicked.connect(self.retry_selected)
        self.retract_button = QPushButton("Retract message…")
        self.retract_button.setAccessibleName("Retract the selected row's message")
        self.retract_button.setToolTip("Take the selected row's message back on every channel that allows it")
        self.retract_button.clicked.connect(self.retract_selected)
        bar.addWidget(self.retry_button)
        bar.addWidget(self.retract_button)
        bar.addStretch(1)
        layout.addLayout(bar)

        self.model = OutboxModel()
        self.table = row_table(self.model, (110, 150, 170, 105, 70, 45, 0, 130), 6)
        self.table.setAccessibleName("Outbox deliveries")
        layout.addWidget(self.table, 1)

        # The worker writes from its own thread: the watcher says when to look again.
        session.watcher.changed.connect(self.reload)
        self.reload()

    def reload(self) -> None:
        actor = self.session.actor

        def fetch(app: App) -> tuple[list[Account], list[OutboxRow]]:
            return app.channels().accounts(actor), app.outbox().rows(actor, limit=500)

        self.session.tasks.run(fetch, self._show, self._not_loaded, owner=self)

    def _show(self, found: tuple[list[Account], list[OutboxRow]]) -> None:
        accounts, rows = found
        self.channels.setText(describe_channels(accounts))
        self.model.set_rows(rows)

    def _not_loaded(self, error: CrisisdeskError) -> None:
        self.channels.setText(f"The outbox could not be read: {error}")

    def _selected(self) -> int | None:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].row() if rows else None

    def retry_selected(self) -> None:
        index = self._selected()
        if index is None:
            return
        actor, row_id = self.session.actor, self.model.row(index).id
        self.session.tasks.run(
            lambda app: app.outbox().retry(actor, row_id),
            lambda _: self.reload(),  # at once, not at the watcher's next look
            lambda e: QMessageBox.warning(self, "Not retried", str(e)),
            owner=self,
        )

    def retract_selected(self) -> None:
        index = self._selected()
        if index is None:
            return
        message = self.model.row(index).message_id
        answer = QMessageBox.question(
            self,
            "Retract message",
            f"Take {message} back on every channel that allows it? Channels that cannot retract "
            "(email, SMS, Apprise) keep what they delivered: publish a correction there.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,  # the safe answer is the default
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        actor = self.session.actor
        self.session.tasks.run(
            lambda app: app.outbox().request_retract(actor, message),
            lambda _: self.reload(),  # at once, not at the watcher's next look
            lambda e: QMessageBox.warning(self, "Not retracted", str(e)),
            owner=self,
        )
