"""Settings → Feed sources: the sources polled for news, alerts and public messages; add one (its kind, address and
how often), remove one, poll now, and each source's health history (its last polls, with the reason of each
failure, and when it is polled next).

People who may manage feeds (admins, communicators) change them; everyone else sees the same page read-only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from crisisdesk.app import App
from crisisdesk.domain.errors import CrisisdeskError
from crisisdesk.domain.feeds import ADDABLE_KINDS, DEFAULT_INTERVAL, KIND_HELP, MAX_INTERVAL, MIN_INTERVAL, SourceKind
from crisisdesk.domain.roles import Permission
from crisisdesk.ui import palette
from crisisdesk.ui.models.settings import PollsModel, SourcesModel, every
from crisisdesk.ui.session import Session
from crisisdesk.ui.views.tables import row_table
from crisisdesk.ui.when import moment_text, workstation_zone

if TYPE_CHECKING:  # types only: the feed service is imported by the tasks that use it, not at sign-in
    from crisisdesk.services.feeds import PollRecord, PollReport, Source

TITLE = "Feed sources"
ABOUT = "Sources polled for news, official alerts and public messages: add, remove, poll now, and each one's health."


def page_heading(layout: QVBoxLayout, title: str, about: str) -> None:
    """A settings page's title and what it is for, when it is shown on its own (the Settings place has its own)."""
    label = QLabel(title)
    font = label.font()
    font.setBold(True)
    font.setPointSizeF(font.pointSizeF() * 1.2)
    label.setFont(font)
    layout.addWidget(label)
    text = QLabel(about)
    text.setWordWrap(True)
    layout.addWidget(text)


def poll_summary(report: PollReport) -> str:
    """One line on what a poll brought."""
    if report.error:
        return f"{report.source}: failed: {report.error}"
    if report.not_modified:
        return f"{report.source}: polled, nothing changed since last time"
    found = f"{report.source}: polled, {report.new} new of {report.seen} item{'s' if report.seen != 1 else ''}"
    if report.alerts:
        found += f", {report.alerts} alert{'s' if report.alerts > 1 else ''} raised"
    if report.problems:
        found += f" (with problems: {'; '.join(report.problems)[:200]})"
    return found


def health_summary(source: Source, history: list[PollRecord]) -> str:
    """The selected source in a few lines: last success, last failure and why, next poll."""
    zone = workstation_zone()
    lines = [f"{source.name} ({source.kind.value}, {every(source.interval)}): {source.health}"]
    success = next((h for h in history if h.ok), None)
    failure = next((h for h in history if not h.ok), None)
    if success is not None:
        lines.append(f"Last success: {moment_text(success.at, zone)}, {success.items_new} new of {success.items_seen}")
    elif source.last_success:
        lines.append(f"Last success: {moment_text(source.last_success, zone)}")
    else:
        lines.append("Last success: never")
    if failure is not None:
        lines.append(f"Last failure: {moment_text(failure.at, zone)}: {failure.error}")
    elif source.last_error:
        lines.append(f"Last failure: {moment_text(source.last_error_at, zone)}: {source.last_error}")
    if source.failures:
        failed = f"{source.failures} failures in a row" if source.failures > 1 else "It failed"
        lines.append(f"{failed}: polled less often until it answers again")
    lines.append(f"Next poll: {moment_text(source.next_poll_at, zone) or 'at the next round'}")
    return "\n".join(lines)


class FeedSourcesPage(QWidget):
    def __init__(self, session: Session, parent: QWidget | None = None, *, heading: bool = True) -> None:
        """``heading``: the page's title and what it is for at its top (the Settings place shows its own)."""
        super().__init__(parent)
        self.session = session
        self.may_manage = session.actor.may(Permission.MANAGE_FEEDS)
        self.sources: list[Source] | None = None  # None until first read (the screenshots wait on it)
        self.history: list[PollRecord] | None = None
        # Asked before a source is removed; a test answers in its place.
        self.confirm: Callable[[str], bool] = self._ask
        layout = QVBoxLayout(self)

        if heading:
            page_heading(layout, TITLE, ABOUT)
        if not self.may_manage:
            note = QLabel(
                "Read-only: adding and removing sources needs the admin or communicator role. You may poll them."
            )
            note.setWordWrap(True)
            note.setStyleSheet(palette.text_style("muted"))
            layout.addWidget(note)

        self._build_form(layout)
        # One line: what the last action did, or why it was refused.
        self.status = QLabel()
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setWordWrap(True)
        self.status.setAccessibleName("What the last action did")
        layout.addWidget(self.status)

        self._build_tables(layout)

        self._kind_changed()
        self._interval_changed()
        self._update_buttons()
        session.watcher.changed.connect(self.reload)  # the poller records from its own thread
        session.watcher.tick.connect(self.reload)  # "next poll" moves on with time
        self.reload()

    def _build_form(self, layout: QVBoxLayout) -> None:
        form = QGridLayout()
        self.kind = QComboBox()
        self.kind.setAccessibleName("Kind of the new feed source")
        for kind in ADDABLE_KINDS:  # a drill's source is made by its drill
            self.kind.addItem(kind.value, kind.value)
            self.kind.setItemData(self.kind.count() - 1, KIND_HELP[kind], Qt.ItemDataRole.ToolTipRole)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self.name = QLineEdit()
        self.name.setAccessibleName("Name of the new feed source")
        self.name.setPlaceholderText("a short name, such as county-news")
        self.url = QLineEdit()
        self.url.setAccessibleName("Address of the new feed source")
        self.interval = QSpinBox()
        self.interval.setAccessibleName("How often to poll the new source, in seconds")
        self.interval.setRange(MIN_INTERVAL, MAX_INTERVAL)
        self.interval.setValue(DEFAULT_INTERVAL)
        self.interval.setSuffix(" s")
        self.interval.setSingleStep(60)
        self.interval.valueChanged.connect(self._interval_changed)
        self.add_button = QPushButton("Add source")
        self.add_button.setAccessibleName("Add the new feed source")
        self.add_button.clicked.connect(self.add_source)
        self.url.returnPressed.connect(self.add_source)
        form.addWidget(QLabel("Kind"), 0, 0)
        form.addWidget(self.kind, 0, 1)
        form.addWidget(QLabel("Name"), 0, 2)
        form.addWidget(self.name, 0, 3)
        form.addWidget(QLabel("Address"), 1, 0)
        form.addWidget(self.url, 1, 1, 1, 3)
        form.addWidget(QLabel("Poll"), 2, 0)
        self.interval_note = QLabel()
        self.interval_note.setStyleSheet(palette.text_style("muted", bold=False))
        every_row = QHBoxLayout()
        every_row.addWidget(self.interval)
        every_row.addWidget(self.interval_note, 1)
        form.addLayout(every_row, 2, 1, 1, 3)
        form.addWidget(self.add_button, 2, 4)
        self.kind_help = QLabel()
        self.kind_help.setStyleSheet(palette.text_style("muted", bold=False))
        form.addWidget(self.kind_help, 3, 1, 1, 3)
        form.setColumnStretch(3, 1)
        layout.addLayout(form)
        for control in (self.kind, self.name, self.url, self.interval, self.add_button):
            control.setEnabled(self.may_manage)

    def _build_tables(self, layout: QVBoxLayout) -> None:
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Sources (the unhealthy tinted red)"))
        bar.addStretch(1)
        self.poll_button = QPushButton("Poll now")
        self.poll_button.setAccessibleName("Poll the selected feed source now")
        self.poll_button.clicked.connect(self.poll_selected)
        self.poll_all_button = QPushButton("Poll all now")
        self.poll_all_button.setAccessibleName("Poll every feed source now")
        self.poll_all_button.clicked.connect(self.poll_all)
        self.remove_button = QPushButton("Remove…")
        self.remove_button.setAccessibleName("Remove the selected feed source")
        self.remove_button.clicked.connect(self.remove_selected)
        self.remove_button.setEnabled(False)
        for button in (self.poll_button, self.poll_all_button, self.remove_button):
            bar.addWidget(button)
        layout.addLayout(bar)

        split = QSplitter(Qt.Orientation.Vertical)
        self.model = SourcesModel()
        self.table = row_table(self.model, (130, 80, 0, 100, 210, 130, 130), 2)
        self.table.setAccessibleName("Feed sources")
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        split.addWidget(self.table)

        below = QWidget()
        below_layout = QHBoxLayout(below)
        below_layout.setContentsMargins(0, 0, 0, 0)
        self.health = QLabel("Select a source to see its health history.")
        self.health.setTextFormat(Qt.TextFormat.PlainText)
        self.health.setWordWrap(True)
        self.health.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.health.setFixedWidth(340)
        self.health.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.health.setAccessibleName("Health of the selected feed source")
        below_layout.addWidget(self.health)
        self.polls = PollsModel()
        self.polls_table = row_table(self.polls, (130, 110, 90, 50, 130, 0), 5)
        self.polls_table.setAccessibleName("Last polls of the selected feed source, newest first")
        below_layout.addWidget(self.polls_table, 1)
        split.addWidget(below)
        split.setSizes([260, 260])
        layout.addWidget(split, 1)

    # -- reading --------------------------------------------------------------------------------------------

    def selected(self) -> Source | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.row(rows[0].row()) if rows else None

    def reload(self) -> None:
        actor = self.session.actor
        self.session.tasks.run(lambda app: app.feeds().sources(actor), self._show_sources, self._refused, owner=self)

    def _show_sources(self, sources: list[Source]) -> None:
        chosen = self.selected()
        self.sources = sources
        self.model.set_rows(sources)
        if chosen is not None:
            for i, source in enumerate(sources):
                if source.name == chosen.name:
                    if self.selected() != source:
                        self.table.selectRow(i)
                    break
        self._load_history()

    def _load_history(self) -> None:
        source = self.selected()
        if source is None:
            self.history = []
            self.polls.set_rows([])
            self.health.setText("Select a source to see its health history." if self.sources else "No sources yet.")
            return
        actor, name = self.session.actor, source.name

        def fetch(app: App) -> tuple[Source, list[PollRecord]]:
            feeds = app.feeds()
            return feeds.get(name), feeds.poll_history(actor, name)

        self.session.tasks.run(fetch, self._show_history, self._refused, owner=self)

    def _show_history(self, found: tuple[Source, list[PollRecord]]) -> None:
        source, history = found
        chosen = self.selected()
        if chosen is None or chosen.name != source.name:
            return  # another source was chosen meanwhile
        self.history = history
        self.polls.set_rows(history)
        self.health.setText(health_summary(source, history))

    def _selection_changed(self) -> None:
        self._update_buttons()
        self._load_history()

    def _update_buttons(self) -> None:
        chosen = self.selected() is not None
        self.poll_button.setEnabled(chosen)
        self.remove_button.setEnabled(chosen and self.may_manage)

    # -- acting ---------------------------------------------------------------------------------------------

    def _say(self, text: str, state: palette.State | None = None) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(palette.text_style(state) if state else "")

    def _refused(self, error: CrisisdeskError) -> None:
        self._say(str(error), "bad")

    def add_source(self) -> None:
        if not self.may_manage:
            return
        actor = self.session.actor
        name, url, kind, interval = self.name.text().strip(), self.url.text().strip(), self.kind.currentData(), 0
        interval = self.interval.value()
        if not name:
            self._say("Give the source a name (letters, digits, '.', '_' or '-'), then add it.", "bad")
            return
        self.add_button.setEnabled(False)

        def added(source: Source) -> None:
            self._say(f"Added {source.name} ({source.kind.value}, {every(source.interval)}).", "ok")
            self.name.clear()
            self.url.clear()
            self.reload()

        self.session.tasks.run(
            lambda app: app.feeds().add(actor, name, url, kind, interval=interval),
            added,
            self._refused,
            on_done=lambda: self.add_button.setEnabled(self.may_manage),
            owner=self,
        )

    def poll_selected(self) -> None:
        source = self.selected()
        if source is not None:
            self._poll([source.name])

    def poll_all(self) -> None:
        self._poll([])

    def _poll(self, names: list[str]) -> None:
        actor = self.session.actor
        self._say("Polling " + (", ".join(names) if names else "every source") + "…")
        self.poll_button.setEnabled(False)
        self.poll_all_button.setEnabled(False)

        def polled(reports: list[PollReport]) -> None:
            failed = any(r.error for r in reports)
            if not reports:
                self._say("No sources to poll.")
            elif len(reports) == 1:
                self._say(poll_summary(reports[0]), "bad" if failed else "ok")
            else:
                bad = [r.source for r in reports if r.error]
                new = sum(r.new for r in reports)
                text = f"Polled {len(reports)} sources: {new} new item{'s' if new != 1 else ''}"
                self._say(text + (f"; failed: {', '.join(bad)}" if bad else ""), "bad" if bad else "ok")
            self.reload()

        def done() -> None:
            self.poll_all_button.setEnabled(True)
            self._update_buttons()

        self.session.tasks.run(
            lambda app: app.feeds().poll(names, actor=actor), polled, self._refused, on_done=done, owner=self
        )

    def remove_selected(self) -> None:
        source = self.selected()
        if source is None or not self.may_manage:
            return
        if not self.confirm(
            f"Remove the feed source {source.name}?\n{source.url}\n\nIt is no longer polled; the items it brought and "
            "the alerts they raised stay."
        ):
            return
        actor, name = self.session.actor, source.name

        def removed(_: Source) -> None:
            self._say(f"Removed {name}.", "ok")
            self.table.clearSelection()
            self.reload()

        self.session.tasks.run(lambda app: app.feeds().remove(actor, name), removed, self._refused, owner=self)

    def _ask(self, text: str) -> bool:
        box = QMessageBox(QMessageBox.Icon.Question, "Remove feed source", text, parent=self)
        box.setAccessibleName("Remove feed source")
        box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.button(QMessageBox.StandardButton.Yes).setText("Remove")
        return box.exec() == QMessageBox.StandardButton.Yes

    # -- the form's help ------------------------------------------------------------------------------------

    def _kind_changed(self) -> None:
        kind = SourceKind(self.kind.currentData())
        self.kind_help.setText(f"{kind.value}: {KIND_HELP[kind]}")
        self.url.setPlaceholderText(
            "/path/to/a/folder" if kind is SourceKind.FOLDER else "https://example.org/feed.xml"
        )

    def _interval_changed(self) -> None:
        value = self.interval.value()
        default = (
            "the default" if value == DEFAULT_INTERVAL else f"default {every(DEFAULT_INTERVAL).removeprefix('every ')}"
        )
        self.interval_note.setText(f"{every(value)} ({default})")


Page = FeedSourcesPage
