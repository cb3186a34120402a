"""The outbox tab: what went where, with receipts, reasons and retractions; retry and retract from here."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from crisisdesk.app import App
from crisisdesk.domain.errors import CrisisdeskError
from crisisdesk.domain.roles import Actor
from crisisdesk.ui.models.outbox import OutboxModel
from crisisdesk.ui.views.tables import row_table


class OutboxView(QWidget):
    def __init__(self, core: App, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.core = core
        self.actor = actor
        layout = QVBoxLayout(self)
        self.channels = QLabel()
        self.channels.setTextFormat(Qt.TextFormat.PlainText)
        self.channels.setWordWrap(True)
        layout.addWidget(self.channels)

        bar = QHBoxLayout()
        self.retry_button = QPushButton("Retry selected")
        self.retry_button.setToolTip("Send a failed, dead or unknown row again now")
        self.retry_button.clicked.connect(self.retry_selected)
        self.retract_button = QPushButton("Retract message…")
        self.retract_button.setToolTip("Take the selected row's message back on every channel that allows it")
        self.retract_button.clicked.connect(self.retract_selected)
        bar.addWidget(self.retry_button)
        bar.addWidget(self.retract_button)
        bar.addStretch(1)
        layout.addLayout(bar)

        self.model = OutboxModel(lambda: core.outbox().rows(actor, limit=500))
        self.table = row_table(self.model, (120, 150, 190, 80, 80, 50, 0, 200), 6)
        layout.addWidget(self.table, 1)

        # The worker runs in another thread and writes its own connection: poll, cheaply, for changes.
        self.timer = QTimer(self)
        self.timer.setInterval(2000)
        self.timer.timeout.connect(self.reload)
        self.timer.start()
        self.reload()

    def reload(self) -> None:
        accounts = self.core.channels().accounts(self.actor)
        parts = []
        for a in accounts:
            note = "" if a.spec.retract is None else f" (cannot retract: {a.spec.retract})"
            parts.append(f"{a.name} [{a.kind.value}, {a.mode.upper()}]{note}")
        self.channels.setText("Channels: " + ("; ".join(parts) or "none"))
        self.model.reload()

    def _selected(self) -> int | None:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].row() if rows else None

    def retry_selected(self) -> None:
        index = self._selected()
        if index is None:
            return
        try:
            self.core.outbox().retry(self.actor, self.model.row(index).id)
        except CrisisdeskError as exc:
            QMessageBox.warning(self, "Not retried", str(exc))
        self.reload()

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
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        try:
            self.core.outbox().request_retract(self.actor, message)
        except CrisisdeskError as exc:
            QMessageBox.warning(self, "Not retracted", str(exc))
        self.reload()
