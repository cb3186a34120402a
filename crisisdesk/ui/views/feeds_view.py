"""The Monitor place: source health, alerts for incidents, and the triage queue of public messages."""

from __future__ import annotations

from PySide6.QtCore import Qt
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
from crisisdesk.services.feeds import Alert, ItemView, Source
from crisisdesk.ui.models.feeds import AlertsModel, TriageModel
from crisisdesk.ui.session import Session
from crisisdesk.ui.views.tables import row_table

Found = tuple[list[Source], list[Alert], list[ItemView]]


def describe_sources(sources: list[Source]) -> str:
    parts = []
    for s in sources:
        why = f": {s.last_error}" if s.failures and s.last_error else ""
        parts.append(f"{s.name} [{s.kind.value}] {s.health.upper()}{why}")
    return "Sources: " + ("; ".join(parts) or "none (add them with 'crisisdesk feeds add')")


class FeedsView(QWidget):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        layout = QVBoxLayout(self)
        self.health = QLabel()
        self.health.setTextFormat(Qt.TextFormat.PlainText)
        self.health.setWordWrap(True)
        self.health.setAccessibleName("Feed sources and their health")
        layout.addWidget(self.health)

        split = QSplitter(Qt.Orientation.Vertical)
        alerts_box = QWidget()
        alerts_layout = QVBoxLayout(alerts_box)
        alerts_layout.setContentsMargins(0, 0, 0, 0)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Alerts: items that match an incident or cross a threshold"))
        bar.addStretch(1)
        self.ack_button = QPushButton("Acknowledge")
        self.ack_button.setAccessibleName("Acknowledge the selected alert")
        self.ack_button.clicked.connect(lambda: self._handle("acknowledged"))
        self.dismiss_button = QPushButton("Dismiss")
        self.dismiss_button.setAccessibleName("Dismiss the selected alert")
        self.dismiss_button.clicked.connect(lambda: self._handle("dismissed"))
        bar.addWidget(self.ack_button)
        bar.addWidget(self.dismiss_button)
        alerts_layout.addLayout(bar)
        self.alerts = AlertsModel()
        self.alerts_table = row_table(self.alerts, (130, 120, 380, 0, 110), 3)
        self.alerts_table.setAccessibleName("Feed alerts")
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
            button.setAccessibleName(f"Mark the selected public message {status}")
            button.clicked.connect(lambda _=False, s=status: self._triage(s))
            bar.addWidget(button)
        triage_layout.addLayout(bar)
        self.triage = TriageModel()
        self.triage_table = row_table(self.triage, (70, 100, 90, 80, 140, 0, 100), 5)
        self.triage_table.setAccessibleName("Triage queue")
        triage_layout.addWidget(self.triage_table)
        split.addWidget(triage_box)
        layout.addWidget(split, 1)

        # The poller writes from its own threads: the watcher says when to look again.
        session.watcher.changed.connect(self.reload)
        self.reload()

    def reload(self) -> None:
        actor = self.session.actor

        def fetch(app: App) -> Found:
            feeds = app.feeds()
            return feeds.sources(actor), feeds.alerts(actor), feeds.triage(actor)

        self.session.tasks.run(fetch, self._show, self._not_loaded, owner=self)

    def _show(self, found: Found) -> None:
        sources, alerts, triage = found
        self.health.setText(describe_sources(sources))
        self.alerts.set_rows(alerts)
        self.triage.set_rows(triage)

    def _not_loaded(self, error: CrisisdeskError) -> None:
        self.health.setText(f"The feeds could not be read: {error}")

    @staticmethod
    def _selected(table: QTableView) -> int | None:
        rows = table.selectionModel().selectedRows()
        return rows[0].row() if rows else None

    def _handle(self, status: str) -> None:
        index = self._selected(self.alerts_table)
        if index is None:
            return
        actor, alert_id = self.session.actor, self.alerts.row(index).id
        self.session.tasks.run(
            lambda app: app.feeds().handle_alert(actor, alert_id, status),
            lambda _: self.reload(),  # at once, not at the watcher's next look
            lambda e: QMessageBox.warning(self, "Not changed", str(e)),
            owner=self,
        )

    def _triage(self, status: str) -> None:
        index = self._selected(self.triage_table)
        if index is None:
            return
        actor, item_id = self.session.actor, str(self.triage.row(index).id)
        self.session.tasks.run(
            lambda app: app.feeds().set_triage(actor, item_id, status=status),
            lambda _: self.reload(),  # at once, not at the watcher's next look
            lambda e: QMessageBox.warning(self, "Not changed", str(e)),
            owner=self,
        )
