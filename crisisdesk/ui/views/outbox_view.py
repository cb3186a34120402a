"""The Outbox place: what went where, with receipts, reasons and retractions; retry and retract from here.

A year's outbox is tens of thousands of rows: the table reads a page at a time in a task as it is scrolled
(``OutboxModel``), and a change in the database reads only the newest page again.
"""

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
from crisisdesk.ui.models.outbox import PAGE, OutboxModel
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

        self.model = OutboxModel(self._read_page)
        self.table = row_table(self.model, (110, 150, 170, 105, 70, 45, 0, 130), 6)
        self.table.setAccessibleName("Outbox deliveries")
        layout.addWidget(self.table, 1)

        # The worker writes from its own thread: the watcher says when to look again.
        session.watcher.changed.connect(self.reload)
        self.reload()

        self.loaded: bool = False  # the first page came (a measurement waits for it)

    def reload(self) -> None:
        """The accounts and the newest page, read again (new rows go on top, changed ones change in place)."""
        actor = self.session.actor

        def fetch(app: App) -> tuple[list[Account], list[OutboxRow]]:
            return app.channels().accounts(actor), app.outbox().rows(actor, limit=PAGE)

        self.session.tasks.run(fetch, self._show, self._not_loaded, owner=self)

    def _show(self, found: tuple[list[Account], list[OutboxRow]]) -> None:
        accounts, rows = found
        text = describe_channels(accounts)
        if self.channels.text() != text:
            self.channels.setText(text)
        self.model.merge_newest(rows)
        self.loaded = True

    def _read_page(self, before: int) -> None:
        actor = self.session.actor
        self.session.tasks.run(
            lambda app: app.outbox().rows(actor, limit=PAGE, before=before),
            lambda rows: self.model.add_page(before, rows),
            self._page_not_read,
            owner=self,
        )

    def _page_not_read(self, error: CrisisdeskError) -> None:
        self.model.page_failed()
        self._not_loaded(error)

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
            self._retried,
            lambda e: QMessageBox.warning(self, "Not retried", str(e)),
            owner=self,
        )

    def _retried(self, row: OutboxRow) -> None:
        self.model.replace_row(row)  # it may be far below the newest page
        self.reload()  # at once, not at the watcher's next look

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
