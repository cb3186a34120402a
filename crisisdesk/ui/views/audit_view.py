"""The Audit place: the audit log, newest first, with a filter, its chain check, and export."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from crisisdesk.domain.errors import CrisisdeskError
from crisisdesk.services.audit import VerifyReport
from crisisdesk.ui import palette
from crisisdesk.ui.models.audit_log import AuditLogModel
from crisisdesk.ui.session import Session


def verify_style(ok: bool) -> str:
    """Intact: the ok colour. Broken: white on red, a band nobody misses (and its first word says it)."""
    if ok:
        return palette.text_style("ok")
    background, foreground = palette.badge_colours(urgent=True)
    return f"color: {foreground.name()}; background: {background.name()}; font-weight: bold; padding: 2px 6px;"


class AuditView(QWidget):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        layout = QVBoxLayout(self)
        bar = QHBoxLayout()
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter by event, person or content, then press Enter")
        self.filter.setAccessibleName("Filter the audit log")
        self.filter.setClearButtonEnabled(True)
        self.filter.returnPressed.connect(self._apply_filter)
        self.filter.textChanged.connect(self._filter_cleared)
        bar.addWidget(self.filter, 1)
        self.verify_button = QPushButton("Verify chain")
        self.verify_button.setAccessibleName("Verify the audit log chain")
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
        self.verify_result.setAccessibleName("Audit check result")
        self.verify_result.hide()  # shown once the chain has been checked
        layout.addWidget(self.verify_result)

        actor = session.actor
        # Paged on the GUI thread's App: a page is one indexed query, and the view scrolls into the next page
        # as Qt asks (fetchMore), which must answer at once.
        self.model = AuditLogModel(
            lambda before, limit, text: session.core.audit.page(actor, before=before, limit=limit, text=text)
        )
        self.table = self._build_table()
        layout.addWidget(self.table, 1)
        self._stale = False
        session.watcher.changed.connect(self._changed)
        self.model.reload()

    def _build_table(self) -> QTableView:
        table = QTableView()
        table.setAccessibleName("Audit log")
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

    def reload(self) -> None:
        self._stale = False
        self.model.reload()

    def _changed(self) -> None:
        # New entries go on top. Reloading under someone reading further down would move the rows away from
        # them: reload only when the top is in view, else when the view is shown again.
        if self.isVisible() and self.table.verticalScrollBar().value() == 0:
            self.reload()
        else:
            self._stale = True

    def showEvent(self, event: object) -> None:
        if self._stale:
            self.reload()
        super().showEvent(event)  # type: ignore[arg-type]

    def _apply_filter(self) -> None:
        self.model.set_filter(self.filter.text())

    def _filter_cleared(self, text: str) -> None:
        if not text:
            self.model.set_filter("")

    def verify(self) -> None:
        """Check the chain off the GUI thread (a deep check reads every table); the result shows in place."""
        self.verify_button.setEnabled(False)
        self.verify_result.setText("Checking the audit log…")
        self.verify_result.setStyleSheet(palette.text_style("muted", bold=False))
        self.verify_result.show()
        self.session.tasks.run(
            lambda app: app.audit.verify(deep=True),
            self._verified,
            self._not_verified,
            on_done=lambda: self.verify_button.setEnabled(True),
            owner=self,
        )

    def _verified(self, report: VerifyReport) -> None:
        self.verify_result.setText(report.describe())
        self.verify_result.setStyleSheet(verify_style(report.ok))

    def _not_verified(self, error: CrisisdeskError) -> None:
        self.verify_result.setText(f"The audit log could not be checked: {error}")
        self.verify_result.setStyleSheet(verify_style(False))

    def export_dialog(self) -> None:
        path, chosen = QFileDialog.getSaveFileName(
            self, "Export audit log", "crisisdesk-audit.jsonl", "JSON lines (*.jsonl);;CSV (*.csv)"
        )
        if not path:
            return
        fmt = "csv" if path.endswith(".csv") or "CSV" in chosen else "jsonl"
        try:
            with open(path, "w", encoding="utf-8", newline="") as out:
                n = self.session.core.audit.export(self.session.actor, fmt, out)
        except (OSError, CrisisdeskError) as exc:
            QMessageBox.warning(self, "Export failed", f"The audit log was not exported: {exc}")
            return
        self.window().statusBar().showMessage(f"Exported {n} entries to {path}", 10_000)  # type: ignore[attr-defined]
