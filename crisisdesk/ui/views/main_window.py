"""The main window: the audit log with its chain check, and the outbox."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from crisisdesk.app import App
from crisisdesk.domain.errors import CrisisdeskError
from crisisdesk.domain.roles import Actor
from crisisdesk.ui.models.audit_log import AuditLogModel
from crisisdesk.ui.views.feeds_view import FeedsView
from crisisdesk.ui.views.outbox_view import OutboxView

OK_STYLE = "color: #1b5e20; font-weight: bold;"
BAD_STYLE = "color: #ffffff; background: #b00020; font-weight: bold; padding: 2px 6px;"


class MainWindow(QMainWindow):
    def __init__(self, core: App, actor: Actor) -> None:
        super().__init__()
        self.core = core
        self.actor = actor
        ws_row = core.db.conn.execute(
            "SELECT name FROM workstations WHERE id = ?", (core.log.workstation_id(),)
        ).fetchone()
        self.workstation_name = ws_row[0] if ws_row else "workstation"
        self.setWindowTitle(f"crisisdesk: {self.workstation_name}: {actor.name}")
        self.resize(1100, 640)

        central = QWidget()
        layout = QVBoxLayout(central)
        title = QLabel("Audit log")
        title.setStyleSheet("font-size: 16px; font-weight: bold;")
        layout.addWidget(title)

        bar = QHBoxLayout()
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter by event, person or content")
        self.filter.setClearButtonEnabled(True)
        self.filter.returnPressed.connect(self._apply_filter)
        self.filter.textChanged.connect(self._filter_cleared)
        bar.addWidget(self.filter, 1)
        self.verify_button = QPushButton("Verify chain")
        self.verify_button.setToolTip(
            "Recompute every hash in the audit log, look for its head kept in the keyring, and compare every "
            "table with a replay of the log; name whatever disagrees"
        )
        self.verify_button.clicked.connect(self.verify)
        bar.addWidget(self.verify_button)
        layout.addLayout(bar)

        self.verify_result = QLabel()
        self.verify_result.setTextFormat(Qt.TextFormat.PlainText)
        self.verify_result.setWordWrap(True)
        self.verify_result.hide()  # shown once the chain has been checked
        layout.addWidget(self.verify_result)

        self.model = AuditLogModel(
            lambda before, limit, text: core.audit.page(actor, before=before, limit=limit, text=text)
        )
        self.table = self._build_table()
        layout.addWidget(self.table, 1)
        self.tabs = QTabWidget()
        self.tabs.addTab(central, "Audit log")
        self.outbox = OutboxView(core, actor)
        self.tabs.addTab(self.outbox, "Outbox")
        self.feeds = FeedsView(core, actor)
        self.tabs.addTab(self.feeds, "Feeds")
        self.setCentralWidget(self.tabs)

        self._build_menu()
        roles = ", ".join(sorted(r.value for r in actor.roles)) or "no roles"
        self.statusBar().addWidget(QLabel(f"Signed in as {actor.name} ({roles})"))
        self.statusBar().addPermanentWidget(QLabel(str(core.db.path)))
        self.model.reload()

    def _build_table(self) -> QTableView:
        table = QTableView()
        table.setModel(self.model)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setAlternatingRowColors(True)
        table.setWordWrap(False)
        # Fixed row heights: Qt never measures rows, so a million entries scroll as fast as ten.
        vertical = table.verticalHeader()
        vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vertical.setDefaultSectionSize(table.fontMetrics().height() + 8)
        vertical.hide()
        header = table.horizontalHeader()
        for col, width in enumerate((60, 150, 110, 190, 0, 110)):
            if width:
                header.resizeSection(col, width)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        return table

    def _build_menu(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        export = QAction("&Export audit log…", self)
        export.triggered.connect(self.export_dialog)
        file_menu.addAction(export)
        file_menu.addSeparator()
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        view_menu = self.menuBar().addMenu("&View")
        refresh = QAction("&Refresh", self)
        refresh.setShortcut(QKeySequence.StandardKey.Refresh)
        refresh.triggered.connect(self.model.reload)
        view_menu.addAction(refresh)

    def _apply_filter(self) -> None:
        self.model.set_filter(self.filter.text())

    def _filter_cleared(self, text: str) -> None:
        if not text:
            self.model.set_filter("")

    def verify(self) -> bool:
        report = self.core.audit.verify(deep=True)
        self.verify_result.setText(report.describe())
        self.verify_result.setStyleSheet(OK_STYLE if report.ok else BAD_STYLE)
        self.verify_result.show()
        return report.ok

    def export_dialog(self) -> None:
        path, chosen = QFileDialog.getSaveFileName(
            self, "Export audit log", "crisisdesk-audit.jsonl", "JSON lines (*.jsonl);;CSV (*.csv)"
        )
        if not path:
            return
        fmt = "csv" if path.endswith(".csv") or "CSV" in chosen else "jsonl"
        try:
            with open(path, "w", encoding="utf-8", newline="") as out:
                n = self.core.audit.export(self.actor, fmt, out)
        except (OSError, CrisisdeskError) as exc:
            QMessageBox.warning(self, "Export failed", f"The audit log was not exported: {exc}")
            return
        self.statusBar().showMessage(f"Exported {n} entries to {path}", 10_000)
