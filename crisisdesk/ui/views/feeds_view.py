"""The feeds tab: source health, alerts for incidents, and the triage queue of public messages."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from crisisdesk.app import App
from crisisdesk.domain.errors import CrisisdeskError
from crisisdesk.domain.roles import Actor
from crisisdesk.ui.models.feeds import AlertsModel, TriageModel
from crisisdesk.ui.views.tables import row_table


class FeedsView(QWidget):
    def __init__(self, core: App, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.core = core
        self.actor = actor
        feeds = core.feeds()
        layout = QVBoxLayout(self)
        self.health = QLabel()
        self.health.setTextFormat(Qt.TextFormat.PlainText)
        self.health.setWordWrap(True)
        layout.addWidget(self.health)

        split = QSplitter(Qt.Orientation.Vertical)
        alerts_box = QWidget()
        alerts_layout = QVBoxLayout(alerts_box)
        alerts_layout.setContentsMargins(0, 0, 0, 0)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Alerts: items that match an incident or cross a threshold"))
        bar.addStretch(1)
        self.ack_button = QPushButton("Acknowledge")
        self.ack_button.clicked.connect(lambda: self._handle("acknowledged"))
        self.dismiss_button = QPushButton("Dismiss")
        self.dismiss_button.clicked.connect(lambda: self._handle("dismissed"))
        bar.addWidget(self.ack_button)
        bar.addWidget(self.dismiss_button)
        alerts_layout.addLayout(bar)
        self.alerts = AlertsModel(lambda: feeds.alerts(actor))
        self.alerts_table = row_table(self.alerts, (130, 120, 380, 0, 110), 3)
        alerts_layout.addWidget(self.alerts_table)
        split.addWidget(alerts_box)

        triage_box = QWidget()
        triage_layout = QVBoxLayout(triage_box)
        triage_layout.setContentsMargins(0, 0, 0, 0)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Triage: public messages, most pressing first"))
        bar.addStretch(1)
        for status, label in (("acknowledged", "Acknowledge"), ("answered", "Answered"), ("ignored", "Ignore")):
            button = QPushButton(label)
            button.clicked.connect(lambda _=False, s=status: self._triage(s))
            bar.addWidget(button)
        triage_layout.addLayout(bar)
        self.triage = TriageModel(lambda: feeds.triage(actor))
        self.triage_table = row_table(self.triage, (70, 100, 90, 80, 140, 0, 100), 5)
        triage_layout.addWidget(self.triage_table)
        split.addWidget(triage_box)
        layout.addWidget(split, 1)

        # The poller writes from its own threads: look again every few seconds.
        self.timer = QTimer(self)
        self.timer.setInterval(3000)
        self.timer.timeout.connect(self.reload)
        self.timer.start()
        self.reload()

    def reload(self) -> None:
        sources = self.core.feeds().sources(self.actor)
        parts = []
        for s in sources:
            state = s.health.upper()
            why = f": {s.last_error}" if s.failures and s.last_error else ""
            parts.append(f"{s.name} [{s.kind.value}] {state}{why}")
        self.health.setText("Sources: " + ("; ".join(parts) or "none (add them with 'crisisdesk feeds add')"))
        self.alerts.reload()
        self.triage.reload()

    @staticmethod
    def _selected(table: QTableView) -> int | None:
        rows = table.selectionModel().selectedRows()
        return rows[0].row() if rows else None

    def _handle(self, status: str) -> None:
        index = self._selected(self.alerts_table)
        if index is None:
            return
        try:
            self.core.feeds().handle_alert(self.actor, self.alerts.row(index).id, status)
        except CrisisdeskError as exc:
            QMessageBox.warning(self, "Not changed", str(exc))
        self.reload()

    def _triage(self, status: str) -> None:
        index = self._selected(self.triage_table)
        if index is None:
            return
        try:
            self.core.feeds().set_triage(self.actor, str(self.triage.row(index).id), status=status)
        except CrisisdeskError as exc:
            QMessageBox.warning(self, "Not changed", str(exc))
        self.reload()
