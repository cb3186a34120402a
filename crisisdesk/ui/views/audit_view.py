"""The Audit place: the audit log, newest first, with filters that find what the table shows, its chain check
with progress and a way to stop it, and export.

Everything that reads the log runs in a task: each page, the filters' choices, the check, the export. The check
reports progress to a small holder the GUI thread reads on a timer, and stops when asked.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from PySide6.QtCore import QDateTime, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from crisisdesk.app import App
from crisisdesk.domain.clock import utc_iso
from crisisdesk.domain.errors import CrisisdeskError
from crisisdesk.services.audit import AuditChoices, AuditFilter, CheckCancelled, VerifyReport
from crisisdesk.ui import palette
from crisisdesk.ui.models.audit_log import AuditLogModel
from crisisdesk.ui.session import Session
from crisisdesk.ui.views.tables import row_table

ANY_TIME = QDateTime(2000, 1, 1, 0, 0, 0)  # the date editors' "not set" value (shown as their special text)
TYPING_PAUSE_MS = 400  # the free-text filter applies when typing pauses (or at once on Enter)
PHASES = {
    "structure": "Checking the file's structure…",
    "chain": "Checking the chain: {done:,} of {total:,} entries",
    "tables": "Replaying the log to compare the tables: {done:,} of {total:,} entries",
    "signatures": "Checking each entry's signature ({total:,} entries)…",
}


def verify_style(ok: bool) -> str:
    """Intact: the ok colour. Broken: white on red, a band nobody misses (and its first word says it)."""
    if ok:
        return palette.text_style("ok")
    background, foreground = palette.badge_colours(urgent=True)
    return f"color: {foreground.name()}; background: {background.name()}; font-weight: bold; padding: 2px 6px;"


class _Progress:
    """The check's progress, written by its pool thread and shown by the GUI thread's timer.

    Not a queued signal: in PySide6 6.12.0 each ``Signal.emit`` from Python loses a reference to ``True``, and a
    check of a million entries reports often. A timer also shows at most ten updates a second, whatever the rate."""

    def __init__(self, show: Callable[[str, int, int], None]) -> None:
        self.latest: tuple[str, int, int] | None = None
        self._show = show

    def __call__(self, phase: str, done: int, total: int) -> None:
        if threading.current_thread() is threading.main_thread():
            self._show(phase, done, total)  # tasks run synchronously (the tests): show at once
        else:
            self.latest = (phase, done, total)  # one assignment: the GUI thread reads a whole tuple or the last one

    def poll(self) -> None:
        latest, self.latest = self.latest, None
        if latest is not None:
            self._show(*latest)


def _moment_edit(name: str, special: str) -> QDateTimeEdit:
    edit = QDateTimeEdit()
    edit.setAccessibleName(name)
    edit.setCalendarPopup(True)
    edit.setDisplayFormat("dd MMM yyyy HH:mm")
    edit.setMinimumDateTime(ANY_TIME)
    edit.setSpecialValueText(special)  # shown while the value is the minimum: "not set"
    edit.setDateTime(ANY_TIME)
    edit.setToolTip(f"{name}, in this workstation's time; pick a date from the calendar, or leave it at '{special}'")
    return edit


def _utc(edit: QDateTimeEdit) -> str | None:
    if edit.dateTime() == ANY_TIME:
        return None
    return utc_iso(datetime.fromtimestamp(edit.dateTime().toSecsSinceEpoch(), UTC))


class AuditView(QWidget):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.choices: AuditChoices | None = None
        self.last_report: VerifyReport | None = None
        self.exported: tuple[Path, int] | None = None  # the last export: where, how many entries
        self._cancel: threading.Event | None = None
        self._phase = ""  # the check's phase last shown
        self._relay: _Progress | None = None
        self._poll = QTimer(self)
        self._poll.setInterval(100)
        self._poll.timeout.connect(lambda: self._relay.poll() if self._relay is not None else None)
        self._reveal: int | None = None  # an entry to select once its page has arrived
        self._stale = False
        self._kept_top: int | None = None  # the entry at the top of the view while rows are put above it
        layout = QVBoxLayout(self)
        layout.addLayout(self._build_filters())
        layout.addLayout(self._build_actions())

        self.verify_result = QLabel()
        self.verify_result.setWordWrap(True)
        self.verify_result.setAccessibleName("Audit check result")
        self.verify_result.hide()  # shown once the chain has been checked
        layout.addWidget(self.verify_result)

        self.model = AuditLogModel(session.tasks, session.actor, self)
        self.model.on_loaded = self._loaded
        self.model.rowsAboutToBeInserted.connect(self._keep_top)
        self.model.rowsInserted.connect(self._restore_top)
        self.table = self._build_table()
        layout.addWidget(self.table, 1)
        session.watcher.changed.connect(self._changed)
        self.model.reload()
        self._load_choices()

    # -- building ------------------------------------------------------------------------------------------------

    def _build_filters(self) -> QHBoxLayout:
        bar = QHBoxLayout()
        self.kind = QComboBox()
        self.kind.setAccessibleName("Show only this kind of event")
        self.kind.addItem("Every event", "")
        self.kind.setMinimumContentsLength(16)  # "Message approved" whole
        self.kind.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.person = QComboBox()
        self.person.setAccessibleName("Show only what this person did")
        self.person.addItem("Everyone", "")
        self.incident = QComboBox()
        self.incident.setAccessibleName("Show only this incident's entries")
        self.incident.addItem("Every incident", "")
        self.incident.setMinimumContentsLength(18)
        self.incident.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        for combo in (self.kind, self.person, self.incident):
            combo.currentIndexChanged.connect(self._apply_filter)
        self.since = _moment_edit("From", "from any time")
        self.until = _moment_edit("Up to", "up to now")
        for edit in (self.since, self.until):
            edit.dateTimeChanged.connect(self._apply_filter)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Find an event, person, incident or detail")
        self.filter.setAccessibleName("Find in the audit log")
        self.filter.setToolTip("Finds what the table shows: 'Message approved', a name, an incident's title, an id")
        self.filter.setClearButtonEnabled(True)
        self._typing = QTimer(self)
        self._typing.setSingleShot(True)
        self._typing.setInterval(TYPING_PAUSE_MS)
        self._typing.timeout.connect(self._apply_filter)
        self.filter.returnPressed.connect(self._apply_filter)
        self.filter.textChanged.connect(self._typed)
        self.clear_button = QPushButton("Clear filters")
        self.clear_button.setAccessibleName("Clear every filter")
        self.clear_button.clicked.connect(self.clear_filters)
        for widget in (self.kind, self.person, self.incident, self.since, self.until):
            bar.addWidget(widget)
        bar.addWidget(self.filter, 1)
        bar.addWidget(self.clear_button)
        return bar

    def _build_actions(self) -> QHBoxLayout:
        bar = QHBoxLayout()
        self.verify_button = QPushButton("Verify chain")
        self.verify_button.setAccessibleName("Verify the audit log chain")
        self.verify_button.setToolTip(
            "Recompute every hash in the audit log, look for its head kept in the keyring, and compare every "
            "table with a replay of the log; name whatever disagrees"
        )
        self.verify_button.clicked.connect(self.verify)
        self.deep = QCheckBox("Compare the tables too")
        self.deep.setAccessibleName("Also compare every table with a replay of the log (slower)")
        self.deep.setToolTip("Replays the whole log into a scratch copy and names any table row that disagrees")
        self.deep.setChecked(True)
        self.progress = QProgressBar()
        self.progress.setAccessibleName("Audit check progress")
        self.progress.setTextVisible(True)
        self.progress.setMinimumWidth(260)
        self.progress.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setAccessibleName("Stop the audit check")
        self.cancel_button.clicked.connect(self.cancel_verify)
        self.cancel_button.hide()
        self.newest_button = QPushButton("Back to the newest entries")
        self.newest_button.setAccessibleName("Show the newest entries again")
        self.newest_button.clicked.connect(self.show_newest)
        self.newest_button.hide()
        self.export_button = QPushButton("Export…")
        self.export_button.setAccessibleName("Export the audit log")
        self.export_button.clicked.connect(self.export_dialog)
        self._export_wording()
        for widget in (self.verify_button, self.deep, self.progress, self.cancel_button):
            bar.addWidget(widget)
        bar.addStretch(1)
        bar.addWidget(self.newest_button)
        bar.addWidget(self.export_button)
        return bar

    def _build_table(self) -> QTableView:
        table = row_table(self.model, (60, 150, 90, 190, 160, 0, 110), stretch=5)
        table.setAccessibleName("Audit log")
        table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        table.setAlternatingRowColors(True)
        return table

    # -- filters -------------------------------------------------------------------------------------------------

    def current_filter(self) -> AuditFilter:
        kind = self.kind.currentData() or ""
        return AuditFilter(
            kinds=(kind,) if kind else (),
            person=self.person.currentData() or "",
            incident=self.incident.currentData() or "",
            since=_utc(self.since),
            until=_utc(self.until),
            text=self.filter.text().strip(),
        )

    def _apply_filter(self) -> None:
        self._typing.stop()
        wanted = self.current_filter()
        self._export_wording()
        if wanted != self.model.filter or self.model.anchored is not None:
            self.newest_button.hide()
            self.model.set_filter(wanted)

    def _typed(self, text: str) -> None:
        if text:
            self._typing.start()
        else:
            self._apply_filter()  # cleared: at once

    def clear_filters(self) -> None:
        self._clear_filter_widgets()
        self._apply_filter()

    def _clear_filter_widgets(self) -> None:
        """Every filter back to 'all', without reading the log once per widget."""
        widgets = (self.kind, self.person, self.incident, self.since, self.until, self.filter)
        for widget in widgets:
            widget.blockSignals(True)
        try:
            for combo in (self.kind, self.person, self.incident):
                combo.setCurrentIndex(0)
            self.since.setDateTime(ANY_TIME)
            self.until.setDateTime(ANY_TIME)
            self.filter.clear()
        finally:
            for widget in widgets:
                widget.blockSignals(False)
        self._export_wording()

    def _load_choices(self) -> None:
        actor = self.session.actor
        self.session.tasks.run(lambda app: app.audit.choices(actor), self._show_choices, owner=self)

    def _show_choices(self, choices: AuditChoices) -> None:
        self.choices = choices
        kinds = [(label, kind) for label, kind in choices.kinds]
        people = [(name, name) for name in choices.people]
        incidents = [(title, i) for i, title, _zone in choices.incidents]
        for combo, items in ((self.kind, kinds), (self.person, people), (self.incident, incidents)):
            chosen = combo.currentData()
            combo.blockSignals(True)
            try:
                while combo.count() > 1:
                    combo.removeItem(1)
                for text, data in items:
                    combo.addItem(text, data)
                at = combo.findData(chosen)
                combo.setCurrentIndex(max(at, 0))
            finally:
                combo.blockSignals(False)
        for i, (incident_id, title, zone) in enumerate(choices.incidents, start=1):
            self.incident.setItemData(i, f"{title} ({incident_id}, times in {zone})", 3)  # 3: the tooltip role

    # -- following the log ---------------------------------------------------------------------------------------

    def reload(self) -> None:
        self._stale = False
        self.model.reload()

    def _changed(self) -> None:
        if not self.isVisible():
            self._stale = True
            return
        self.model.refresh_newest()
        self._load_choices()  # someone new may have acted, an incident may have opened

    def showEvent(self, event: object) -> None:
        if self._stale:
            self._stale = False
            self.model.refresh_newest()
            self._load_choices()
        super().showEvent(event)  # type: ignore[arg-type]

    def _keep_top(self, _parent: object, first: int, _last: int) -> None:
        # New entries go on top. Someone reading further down keeps their rows in place: remember the entry at
        # the top of the view, and scroll back to it once the new rows are in.
        top = self.table.rowAt(0)
        scrolled = self.table.verticalScrollBar().value() > 0
        self._kept_top = self.model.row(top).position if first == 0 and scrolled and top >= 0 else None

    def _restore_top(self, _parent: object, _first: int, _last: int) -> None:
        if self._kept_top is None:
            return
        row = self.model.row_of(self._kept_top)
        self._kept_top = None
        if row is not None:
            self.table.updateGeometries()
            self.table.scrollTo(self.model.index(row, 0), QAbstractItemView.ScrollHint.PositionAtTop)

    def _loaded(self) -> None:
        self.newest_button.setVisible(self.model.anchored is not None)
        if self._reveal is not None:
            position, self._reveal = self._reveal, None
            self._select(position)

    # -- the check -----------------------------------------------------------------------------------------------

    @property
    def verifying(self) -> bool:
        return self._cancel is not None

    def verify(self) -> None:
        """Check the chain off the GUI thread, with progress and a way to stop; the result shows in place."""
        if self._cancel is not None:
            return
        cancel = self._cancel = threading.Event()
        self._phase = ""
        relay = self._relay = _Progress(self._progressed)
        self._poll.start()
        deep = self.deep.isChecked()
        self.verify_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.cancel_button.setText("Cancel")
        self.cancel_button.show()
        self.progress.setRange(0, 0)  # busy until the first count
        self.progress.setFormat("Starting the check…")
        self.progress.show()
        self.verify_result.hide()
        self.model.mark(None)

        def check(app: App) -> VerifyReport | None:
            # A stopped check comes back as None rather than as the exception (see export_to).
            try:
                return app.audit.verify(deep=deep, progress=relay, cancel=cancel)
            except CheckCancelled:
                return None

        self.session.tasks.run(
            check,
            self._verified,
            self._not_verified,
            on_done=self._verify_done,
            owner=self,
        )

    def cancel_verify(self) -> None:
        if self._cancel is not None:
            self._cancel.set()
            self.cancel_button.setEnabled(False)
            self.cancel_button.setText("Stopping…")
            self.progress.setFormat("Stopping the check…")

    def _progressed(self, phase: str, done: int, total: int) -> None:
        if self._cancel is None or self._cancel.is_set():
            return
        text = PHASES.get(phase, phase).format(done=done, total=total)
        if phase != self._phase:
            self._phase = phase
            self.progress.reset()  # each phase counts from its start
        self.progress.setFormat(text)
        self.progress.setToolTip(text)
        if total:
            self.progress.setRange(0, total)
            self.progress.setValue(min(done, total))
        else:
            self.progress.setRange(0, 0)  # no count yet: Qt's busy bar

    def _verify_done(self) -> None:
        self._poll.stop()
        self._relay = None
        self._cancel = None
        self.verify_button.setEnabled(True)
        self.cancel_button.hide()
        self.progress.hide()

    def _verified(self, report: VerifyReport | None) -> None:
        if report is None:
            self.verify_result.setText("Check stopped before it finished: nothing was concluded.")
            self.verify_result.setStyleSheet(palette.text_style("muted", bold=False))
            self.verify_result.show()
            return
        self.last_report = report
        self.verify_result.setText(report.describe())
        self.verify_result.setStyleSheet(verify_style(report.ok))
        self.verify_result.show()
        chain = report.chain
        if chain is not None and not chain.ok and chain.bad_position:
            self.reveal(chain.bad_position)

    def _not_verified(self, error: CrisisdeskError) -> None:
        self.verify_result.setText(f"The audit log could not be checked: {error}")
        self.verify_result.setStyleSheet(verify_style(False))
        self.verify_result.show()

    def reveal(self, position: int) -> None:
        """Select entry ``position`` and scroll to it, tinted; the filters are cleared if they hide it, and an
        older stretch of the log is read if it is not loaded."""
        self.model.mark(position)
        if self.model.row_of(position) is not None:
            self._select(position)
            return
        self._reveal = position
        self._clear_filter_widgets()
        self.model.show_from(position, AuditFilter())

    def _select(self, position: int) -> None:
        row = self.model.row_of(position)
        if row is None:
            return
        index = self.model.index(row, 0)
        self.table.selectRow(row)
        self.table.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter)
        self.table.setFocus()

    def show_newest(self) -> None:
        self.newest_button.hide()
        self.model.show_newest()

    # -- export --------------------------------------------------------------------------------------------------

    def _export_wording(self) -> None:
        filtered = not self.current_filter().empty
        self.export_button.setText("Export these entries…" if filtered else "Export the whole log…")
        self.export_button.setToolTip(
            "Write the entries the filters find, with the exact bytes that were hashed"
            if filtered
            else "Write every entry of the audit log, with the exact bytes that were hashed"
        )

    def export_dialog(self) -> None:
        where = self.current_filter()
        title = "Export the entries the filters find" if not where.empty else "Export the whole audit log"
        path, chosen = QFileDialog.getSaveFileName(
            self, title, "crisisdesk-audit.jsonl", "JSON lines (*.jsonl);;CSV (*.csv)"
        )
        if not path:
            return
        self.export_to(Path(path), "csv" if path.endswith(".csv") or "CSV" in chosen else "jsonl")

    def export_to(self, path: Path, fmt: str) -> None:
        """Write the entries the filters find (all of them with no filter) to ``path``, in a task."""
        actor, where = self.session.actor, self.current_filter()
        self.export_button.setEnabled(False)

        def write(app: App) -> int | str:
            # A file that cannot be written comes back as its reason, not as an exception: the task's error path
            # keeps the exception's frames (and the App) in a reference cycle, which the tests saw end in a crash
            # when collected while the window painted.
            try:
                out = path.open("w", encoding="utf-8", newline="")
            except OSError as exc:
                return f"the audit log was not exported to {path}: {exc.strerror or exc}"
            with out:
                return app.audit.export(actor, fmt, out, where)

        self.session.tasks.run(
            write,
            lambda done: self._exported(path, done, where),
            self._export_failed,
            on_done=lambda: self.export_button.setEnabled(True),
            owner=self,
        )

    def _exported(self, path: Path, done: int | str, where: AuditFilter) -> None:
        if isinstance(done, str):
            self._export_failed(done)
            return
        n = done
        self.exported = (path, n)
        which = "the entries the filters find" if not where.empty else "the whole log"
        self._status(f"Exported {n:,} entries ({which}) to {path}")

    def _export_failed(self, error: CrisisdeskError | str) -> None:
        self.verify_result.setText(f"Export failed: {error}")
        self.verify_result.setStyleSheet(verify_style(False))
        self.verify_result.show()

    def _status(self, text: str) -> None:
        window = self.window()
        if isinstance(window, QMainWindow):
            window.statusBar().showMessage(text, 10_000)
        self.export_button.setToolTip(text)
