"""The Monitor place: source health (unhealthy first), alerts, full-text search over the items with filters, the
triage queue with its responses, and the public mood about the open incidents as a chart.

Everything is read and written through ``session.tasks``; the found items come a page at a time as the table
scrolls. QtCharts loads only when the chart is first shown (``monitor_chart``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QDateTime, QEvent, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QDateTimeEdit,
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from crisisdesk.app import App
from crisisdesk.domain.errors import CrisisdeskError
from crisisdesk.domain.facts import zone
from crisisdesk.domain.feeds import SourceKind
from crisisdesk.domain.incidents import Mode
from crisisdesk.domain.playbook import Playbook
from crisisdesk.domain.triage_policy import IGNORE_REASONS
from crisisdesk.services.incidents import Incident
from crisisdesk.ui import palette, when
from crisisdesk.ui.dialogs.new_incident import ModeChoice
from crisisdesk.ui.models.feeds import (
    AlertsModel,
    ItemsModel,
    SourcesModel,
    TriageModel,
    by_health,
    mood_text,
)
from crisisdesk.ui.session import Session
from crisisdesk.ui.views.tables import row_table

if TYPE_CHECKING:  # services.feeds brings httpx and pydantic, monitor_chart QtCharts: both when first used
    from crisisdesk.services.feeds import Alert, ItemView, MoodCount, Response, Source
    from crisisdesk.ui.views.monitor_chart import MoodChart

Found = tuple[list["Source"], list["Alert"], int, list["ItemView"], list[Incident]]
ALERTS_SHOWN = 1000  # the newest unhandled alerts; a year leaves tens of thousands nobody handled

TIME_RANGES: tuple[tuple[str, str | None], ...] = (
    ("Any time", None),
    ("Last hour", "1h"),
    ("Last 6 hours", "6h"),
    ("Last 24 hours", "24h"),
    ("Last 7 days", "7d"),
    ("Last 30 days", "30d"),
    ("Between…", "between"),
)
ALERT_CHOICES: tuple[tuple[str, bool | None], ...] = (
    ("With or without alerts", None),
    ("With an alert", True),
    ("Without an alert", False),
)


def describe_sources(sources: list[Source]) -> str:
    """One line a person reads first: how many sources, and how many are in trouble."""
    if not sources:
        return "No feed sources yet: an admin adds them in Settings → Feed sources (or 'crisisdesk feeds add')."
    bad = sum(s.health == "unhealthy" for s in sources)
    problems = sum(s.health == "problems" for s in sources)
    parts = [f"{len(sources)} sources"]
    if bad:
        parts.append(f"{bad} UNHEALTHY (failing; retried with back-off)")
    if problems:
        parts.append(f"{problems} with problems")
    if not bad and not problems:
        parts.append("all healthy")
    return ", ".join(parts)


def _plain(text: str = "", name: str = "") -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    if name:
        label.setAccessibleName(name)
    return label


def _button(text: str, name: str) -> QPushButton:
    button = QPushButton(text)
    button.setAccessibleName(name)
    return button


def _reader(name: str) -> QPlainTextEdit:
    box = QPlainTextEdit()
    box.setReadOnly(True)
    box.setAccessibleName(name)
    return box


def _selected(table: QTableView) -> int | None:
    rows = table.selectionModel().selectedRows()
    return rows[0].row() if rows else None


def _zone(name: str) -> tzinfo | None:
    try:
        return zone(name)
    except CrisisdeskError:
        return None  # a zone this machine does not know: the workstation's is shown


def web_address(url: str | None) -> QUrl | None:
    """The item's link if it is a web address; a feed's ``javascript:`` or ``file:`` link is never opened."""
    if not url:
        return None
    address = QUrl(url.strip())
    return address if address.isValid() and address.scheme() in ("http", "https") and address.host() else None


@dataclass(frozen=True)
class Filters:
    """What a search asks ``FeedService.find`` for."""

    query: str = ""
    source: str | None = None
    kind: str | None = None
    since: str | None = None
    until: str | None = None
    incident: str | None = None
    has_alert: bool | None = None

    def arguments(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


class FeedsView(QWidget):
    """The Monitor. ``incident_opened(incident_id)`` after an incident was opened from an alert."""

    incident_opened = Signal(str)

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.chart: MoodChart | None = None
        self._item: ItemView | None = None  # shown in the search's detail
        self._item_alerts: list[Alert] = []
        self._triaged: ItemView | None = None  # shown in the triage detail
        self._responses: list[Response] = []
        self.open_dialog: OpenIncidentDialog | None = None

        layout = QVBoxLayout(self)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self._health_box())
        self.tabs = QTabWidget()
        self.tabs.setAccessibleName("Monitor sections")
        self.tabs.addTab(self._alerts_tab(), "Alerts")
        self.tabs.addTab(self._search_tab(), "Search items")
        self.tabs.addTab(self._triage_tab(), "Triage")
        self.tabs.addTab(self._chart_tab(), "Public mood")
        self.tabs.currentChanged.connect(self._tab_changed)
        split.addWidget(self.tabs)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 3)
        layout.addWidget(split, 1)

        # The poller writes from its own threads: the watcher says when to look again.
        session.watcher.changed.connect(self.reload)
        self.reload()

    # -- source health ----------------------------------------------------------------------------------------

    def _health_box(self) -> QWidget:
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        self.health = _plain("Reading the feed sources…", "Feed sources in short")
        self.health.setStyleSheet("font-weight: bold;")
        layout.addWidget(self.health)
        self.sources = SourcesModel()
        self.sources_table = row_table(self.sources, (110, 140, 80, 0, 140, 140, 80), 3)
        self.sources_table.setAccessibleName("Feed sources by health, unhealthy first, with reason and next try")
        layout.addWidget(self.sources_table)
        return box

    # -- alerts ---------------------------------------------------------------------------------------------

    def _alerts_tab(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        bar = QHBoxLayout()
        bar.addWidget(_plain("Items that match an open incident or cross a threshold, newest first"), 1)
        self.open_button = _button("Open incident from this alert…", "Open an incident from the selected alert")
        self.open_button.clicked.connect(lambda: self._open_from(self._selected_alert()))
        self.ack_button = _button("Acknowledge", "Acknowledge the selected alert")
        self.ack_button.clicked.connect(lambda: self._handle("acknowledged"))
        self.dismiss_button = _button("Dismiss", "Dismiss the selected alert as not relevant")
        self.dismiss_button.clicked.connect(lambda: self._handle("dismissed"))
        for b in (self.open_button, self.ack_button, self.dismiss_button):
            bar.addWidget(b)
        layout.addLayout(bar)
        self.alerts = AlertsModel()
        self.alerts_table = row_table(self.alerts, (140, 130, 380, 0, 110), 3)
        self.alerts_table.setAccessibleName("Feed alerts not yet handled")
        layout.addWidget(self.alerts_table)
        self.alerts_note = _plain("", "How many alerts are shown")
        self.alerts_note.hide()
        layout.addWidget(self.alerts_note)
        return page

    def _selected_alert(self) -> Alert | None:
        index = _selected(self.alerts_table)
        return None if index is None else self.alerts.row(index)

    def _handle(self, status: str) -> None:
        alert = self._selected_alert()
        if alert is None:
            return
        actor = self.session.actor
        self.session.tasks.run(
            lambda app: app.feeds().handle_alert(actor, alert.id, status),
            lambda _: self.reload(),  # at once, not at the watcher's next look
            owner=self,
        )

    def _open_from(self, alert: Alert | None) -> None:
        if alert is None:
            return
        self.open_dialog = OpenIncidentDialog(self.session, alert, self)
        self.open_dialog.opened.connect(self._incident_opened)
        self.open_dialog.open()

    def _incident_opened(self, incident_id: str) -> None:
        self.reload()
        if self._item is not None:
            self._show_item(self._item)
        self.incident_opened.emit(incident_id)

    # -- search ---------------------------------------------------------------------------------------------

    def _search_tab(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        words = QHBoxLayout()
        self.query = QLineEdit()
        self.query.setPlaceholderText('Words (all must match), "a phrase", prefix*, OR; empty: every item')
        self.query.setAccessibleName("Search feed items for these words")
        self.query.setClearButtonEnabled(True)
        self.query.returnPressed.connect(self.search)
        self.search_button = _button("Search", "Search feed items")
        self.search_button.clicked.connect(self.search)
        words.addWidget(self.query, 1)
        words.addWidget(self.search_button)
        layout.addLayout(words)

        filters = QHBoxLayout()
        self.source_filter = self._combo("Only items from this source", [("Any source", None)])
        self.kind_filter = self._combo(
            "Only items of this kind", [("Any kind", None), *((k.value, k.value) for k in SourceKind)]
        )
        self.time_filter = self._combo("Only items from this time", list(TIME_RANGES))
        self.time_filter.currentIndexChanged.connect(self._time_range_changed)
        now = QDateTime.currentDateTime()
        self.from_time = QDateTimeEdit(now.addDays(-1))
        self.from_time.setAccessibleName("Items from this time")
        self.to_time = QDateTimeEdit(now)
        self.to_time.setAccessibleName("Items up to this time")
        for edit in (self.from_time, self.to_time):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("dd MMM yyyy HH:mm")
            edit.hide()
        self.incident_filter = self._combo("Only items alerted for this incident", [("Any incident", None)])
        self.alert_filter = self._combo("Only items with or without an alert", list(ALERT_CHOICES))
        for widget in (
            self.source_filter,
            self.kind_filter,
            self.time_filter,
            self.from_time,
            self.to_time,
            self.incident_filter,
            self.alert_filter,
        ):
            filters.addWidget(widget)
        filters.addStretch(1)
        layout.addLayout(filters)

        split = QSplitter(Qt.Orientation.Horizontal)
        results = QWidget()
        results_layout = QVBoxLayout(results)
        results_layout.setContentsMargins(0, 0, 0, 0)
        self.found = ItemsModel(self)
        self.found.loaded.connect(self._found_count)
        self.found.failed.connect(self._not_searched)
        self.found_table = row_table(self.found, (140, 90, 80, 0, 110), 3)
        self.found_table.setAccessibleName("Feed items found, newest first")
        self.found_table.selectionModel().selectionChanged.connect(lambda *_: self._found_picked())
        results_layout.addWidget(self.found_table, 1)
        self.found_label = _plain("Search by words, or leave them empty and filter.", "How many items were found")
        results_layout.addWidget(self.found_label)
        split.addWidget(results)

        detail = QWidget()
        detail_layout = QVBoxLayout(detail)
        detail_layout.setContentsMargins(0, 0, 0, 0)
        self.item_text = _reader("The selected item in full")
        detail_layout.addWidget(self.item_text, 1)
        self.link_button = _button("Open link in browser", "Open the selected item's link in the web browser")
        self.link_button.setEnabled(False)
        self.link_button.clicked.connect(self.open_link)
        detail_layout.addWidget(self.link_button)
        self.item_alerts = _plain("", "Alerts the selected item raised")
        detail_layout.addWidget(self.item_alerts)
        self.item_open_button = _button(
            "Open incident from this alert…", "Open an incident from the selected item's alert"
        )
        self.item_open_button.setEnabled(False)
        self.item_open_button.clicked.connect(self._open_from_item)
        detail_layout.addWidget(self.item_open_button)
        split.addWidget(detail)
        split.setSizes([640, 420])
        layout.addWidget(split, 1)
        return page

    @staticmethod
    def _combo(name: str, choices: list[tuple[str, Any]]) -> QComboBox:
        combo = QComboBox()
        combo.setAccessibleName(name)
        for text, value in choices:
            combo.addItem(text, value)
        return combo

    def _time_range_changed(self) -> None:
        between = self.time_filter.currentData() == "between"
        self.from_time.setVisible(between)
        self.to_time.setVisible(between)

    @staticmethod
    def _picked_time(edit: QDateTimeEdit) -> str:
        """The edit's moment (shown in the workstation's local time), as ISO with its offset, for the service."""
        return datetime.fromtimestamp(edit.dateTime().toSecsSinceEpoch(), UTC).isoformat()

    def filters(self) -> Filters:
        span = self.time_filter.currentData()
        since = until = None
        if span == "between":
            since, until = self._picked_time(self.from_time), self._picked_time(self.to_time)
        elif span:
            since = span
        return Filters(
            query=self.query.text().strip(),
            source=self.source_filter.currentData(),
            kind=self.kind_filter.currentData(),
            since=since,
            until=until,
            incident=self.incident_filter.currentData(),
            has_alert=self.alert_filter.currentData(),
        )

    def search(self) -> None:
        """Start a search with the words and filters shown; its first page is read in a task."""
        actor, arguments = self.session.actor, self.filters().arguments()
        self.found_label.setText("Searching…")
        self._show_item(None)

        def load(before: int | None, deliver: Any, fail: Any) -> None:
            self.session.tasks.run(
                lambda app: app.feeds().find(actor, **arguments, before=before, limit=ItemsModel.PAGE),
                deliver,
                lambda error: fail(str(error)),
                owner=self,
            )

        self.found.start(load)

    def _not_searched(self, why: str) -> None:
        self.found_label.setText(f"Not searched: {why}")

    def _found_count(self) -> None:
        n = self.found.rowCount()
        if n == 0:
            self.found_label.setText("Nothing found. Fewer words or filters find more.")
        elif self.found.complete:
            self.found_label.setText(f"{n:,} items found.")
        else:
            self.found_label.setText(f"{n:,} items shown, newest first; more load as you scroll.")

    def _found_picked(self) -> None:
        index = _selected(self.found_table)
        self._show_item(None if index is None else self.found.row(index))

    def _show_item(self, item: ItemView | None) -> None:
        self._item = item
        self._item_alerts = []
        self.item_open_button.setEnabled(False)
        self.item_alerts.setText("")
        if item is None:
            self.item_text.setPlainText("")
            self.link_button.setEnabled(False)
            return
        # a post's title is its first words: said once
        same = " ".join(item.text.split()).startswith(" ".join(item.title.split()).rstrip("…. "))
        lines = [] if same else [item.title, ""]
        lines += [
            f"{when.full(item.at)} · {item.source} ({item.kind})" + (f" · from {item.author}" if item.author else ""),
        ]
        if item.public:
            lines.append(
                f"Public message: {item.status or 'new'}, priority {item.priority or '-'}, "
                f"group {item.stakeholder or '-'}, sentiment {mood_text(item.sentiment) or '-'}"
            )
        if item.severity or item.magnitude is not None or item.event:
            lines.append(
                "Alerting: "
                + ", ".join(
                    p
                    for p in (
                        item.event,
                        f"severity {item.severity}" if item.severity else "",
                        f"magnitude {item.magnitude:g}" if item.magnitude is not None else "",
                    )
                    if p
                )
            )
        lines += ["", item.text, "", f"Link: {item.url or 'none'}"]
        self.item_text.setPlainText("\n".join(lines))
        self.link_button.setEnabled(web_address(item.url) is not None)
        actor, item_id = self.session.actor, item.id
        self.session.tasks.run(
            lambda app: app.feeds().alerts_of(actor, item_id),
            lambda alerts: self._show_item_alerts(item_id, alerts),
            owner=self,
        )

    def _show_item_alerts(self, item_id: int, alerts: list[Alert]) -> None:
        if self._item is None or self._item.id != item_id:
            return  # another item was picked meanwhile
        self._item_alerts = alerts
        if not alerts:
            self.item_alerts.setText("This item raised no alert.")
            return
        lines = []
        for a in alerts:
            about = f"for {a.incident_id}" if a.incident_id else "no incident"
            done = f"opened {a.opened_incident}" if a.opened_incident else a.status
            raised = when.moment_text(a.raised_at, self.alerts.zone(a))  # in the incident's zone, as in Alerts
            lines.append(f"Alert {raised} ({about}, {done}): {'; '.join(a.reasons)}")
        self.item_alerts.setText("\n".join(lines))
        self.item_open_button.setEnabled(any(a.opened_incident is None for a in alerts))

    def _open_from_item(self) -> None:
        self._open_from(next((a for a in self._item_alerts if a.opened_incident is None), None))

    def open_link(self) -> None:
        """The selected item's link in the web browser (only an http or https address)."""
        address = web_address(self._item.url if self._item else None)
        if address is not None:
            QDesktopServices.openUrl(address)

    # -- triage ---------------------------------------------------------------------------------------------

    def _triage_tab(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addWidget(_plain("Public messages, most pressing first (someone in danger at the top)"))
        # The queue across the whole width; below it the message, its responses, and the decision, side by side.
        split = QSplitter(Qt.Orientation.Vertical)
        self.triage = TriageModel()
        self.triage_table = row_table(self.triage, (70, 100, 0, 110, 80, 130, 140, 90), 2)
        self.triage_table.setAccessibleName("Triage queue of public messages")
        self.triage_table.selectionModel().selectionChanged.connect(lambda *_: self._triage_picked())
        split.addWidget(self.triage_table)

        detail = QWidget()
        columns = QHBoxLayout(detail)
        columns.setContentsMargins(0, 0, 0, 0)
        self.triage_text = _reader("The selected public message in full")
        columns.addWidget(self.triage_text, 3)

        answer = QVBoxLayout()
        answer.addWidget(_plain("Responses (the templates of the incidents this message concerns):"))
        self.response_choice = QComboBox()
        self.response_choice.setAccessibleName("Response template for this message")
        self.response_choice.currentIndexChanged.connect(self._response_picked)
        answer.addWidget(self.response_choice)
        self.response_text = _reader("The chosen response, filled in")
        answer.addWidget(self.response_text, 1)
        self.copy_button = _button("Copy response", "Copy the chosen response to the clipboard")
        self.copy_button.setEnabled(False)
        self.copy_button.clicked.connect(self.copy_response)
        answer.addWidget(self.copy_button)
        columns.addLayout(answer, 3)

        decide = QVBoxLayout()
        statuses = QHBoxLayout()
        self.acknowledge_button = _button("Acknowledge", "Mark the selected public message acknowledged")
        self.acknowledge_button.clicked.connect(lambda: self._triage("acknowledged"))
        self.answered_button = _button("Mark answered", "Mark the selected public message answered")
        self.answered_button.clicked.connect(lambda: self._triage("answered"))
        statuses.addWidget(self.acknowledge_button)
        statuses.addWidget(self.answered_button)
        decide.addLayout(statuses)
        decide.addWidget(_plain("Not answering it? Say why (the acceptable-use policy):"))
        self.ignore_reason = QComboBox()
        self.ignore_reason.setAccessibleName("Why it is not answered: a reason from the acceptable-use policy")
        self.ignore_reason.addItem("Choose a reason…", None)
        for reason in IGNORE_REASONS:
            self.ignore_reason.addItem(reason, reason)
        self.ignore_reason.setMinimumContentsLength(24)
        self.ignore_reason.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.ignore_reason.currentIndexChanged.connect(lambda _: self._update_triage_buttons())
        decide.addWidget(self.ignore_reason)
        self.ignore_note = QLineEdit()
        self.ignore_note.setAccessibleName("A note on why it is not answered (optional)")
        self.ignore_note.setPlaceholderText("Note (optional): what else a reviewer should know")
        decide.addWidget(self.ignore_note)
        self.ignore_button = _button("Ignore for this reason", "Ignore the selected public message for this reason")
        self.ignore_button.clicked.connect(self.ignore)
        decide.addWidget(self.ignore_button)
        self.triage_status = _plain("", "What the last triage action did")
        decide.addWidget(self.triage_status)
        decide.addStretch(1)
        columns.addLayout(decide, 2)
        split.addWidget(detail)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)
        layout.addWidget(split, 1)
        self._update_triage_buttons()
        return page

    def _triage_picked(self) -> None:
        index = _selected(self.triage_table)
        item = None if index is None else self.triage.row(index)
        if item is not None and self._triaged is not None and item.id == self._triaged.id:
            self._update_triage_buttons()
            return  # the same message after a reload: keep the chosen response
        self._triaged = item
        self._responses = []
        self.response_choice.clear()
        self.response_text.setPlainText("")
        # The status line keeps what the last action did ("Marked answered with ..."): the row it concerned leaves
        # the queue with that very action, and clearing the line here wiped the confirmation at once.
        if item is None:
            self.triage_text.setPlainText("")
            self._update_triage_buttons()
            return
        self.triage_text.setPlainText(
            f"{item.author or 'someone'} · {when.full(item.at)} · {item.source}\n"
            f"Group: {item.stakeholder or '-'} · sentiment: {mood_text(item.sentiment) or '-'} · "
            f"priority: {item.priority or '-'} · status: {item.status or 'new'}\n\n{item.text or item.title}"
        )
        actor, item_id = self.session.actor, item.id
        self.session.tasks.run(
            lambda app: app.feeds().show(actor, str(item_id))[1],
            lambda found: self._show_responses(item_id, found),
            owner=self,
        )
        self._update_triage_buttons()

    def _show_responses(self, item_id: int, responses: list[Response]) -> None:
        if self._triaged is None or self._triaged.id != item_id:
            return
        self._responses = [r for r in responses if r.text is not None]
        self.response_choice.clear()
        if not self._responses:
            self.response_choice.addItem("No response templates: the message concerns no open incident", None)
            self.response_text.setPlainText("")
        for n, r in enumerate(self._responses):
            self.response_choice.addItem(f"{r.name} ({r.lang})", n)
        self._update_triage_buttons()

    def _chosen_response(self) -> Response | None:
        n = self.response_choice.currentData()
        return self._responses[n] if isinstance(n, int) and n < len(self._responses) else None

    def _response_picked(self) -> None:
        response = self._chosen_response()
        self.response_text.setPlainText(response.text or "" if response else "")
        self._update_triage_buttons()

    def _update_triage_buttons(self) -> None:
        picked = self._triaged is not None
        self.copy_button.setEnabled(self._chosen_response() is not None)
        self.acknowledge_button.setEnabled(picked)
        self.answered_button.setEnabled(picked)
        self.ignore_button.setEnabled(picked and self.ignore_reason.currentData() is not None)

    def copy_response(self) -> None:
        response = self._chosen_response()
        if response is None or response.text is None:
            return
        QGuiApplication.clipboard().setText(response.text)
        self.triage_status.setText(f"Copied the {response.name!r} response ({response.lang}); paste it in your reply.")

    def _triage(self, status: str) -> None:
        item = self._triaged
        if item is None:
            return
        response = self._chosen_response()
        template = response.name if status == "answered" and response else None
        actor = self.session.actor
        self.session.tasks.run(
            lambda app: app.feeds().set_triage(actor, str(item.id), status=status, template=template),
            lambda _: self._triage_done(f"Marked {status}" + (f" with {template!r}" if template else "") + "."),
            lambda e: self.triage_status.setText(f"Not changed: {e}"),
            owner=self,
        )

    def ignore(self) -> None:
        """Ignore the selected message for the reason picked from the acceptable-use policy (and the note)."""
        item, reason = self._triaged, self.ignore_reason.currentData()
        if item is None or reason is None:
            return
        actor, note = self.session.actor, self.ignore_note.text().strip() or None
        self.session.tasks.run(
            lambda app: app.feeds().ignore(actor, str(item.id), reason, note=note),
            lambda _: self._triage_done(f"Ignored: {reason}."),
            lambda e: self.triage_status.setText(f"Not changed: {e}"),
            owner=self,
        )

    def _triage_done(self, said: str) -> None:
        self.ignore_reason.setCurrentIndex(0)
        self.ignore_note.clear()
        self.reload()  # at once, not at the watcher's next look
        self.triage_status.setText(said)

    # -- the chart ------------------------------------------------------------------------------------------

    def _chart_tab(self) -> QWidget:
        page = QWidget()
        self.chart_layout = QVBoxLayout(page)
        bar = QHBoxLayout()
        bar.addWidget(_plain("Public messages about the open incidents, per hour"), 1)
        self.chart_by = self._combo("Count the messages by", [("By sentiment", "mood"), ("By group", "group")])
        self.chart_by.currentIndexChanged.connect(lambda _: self._reload_chart())
        bar.addWidget(self.chart_by)
        self.chart_layout.addLayout(bar)
        self.chart_summary = _plain("", "The chart in words")
        self.chart_layout.addWidget(self.chart_summary)
        return page

    def _tab_changed(self, index: int) -> None:
        if self.tabs.widget(index) is self.chart_layout.parentWidget():
            self.show_chart()

    def show_chart(self) -> MoodChart:
        """Build the chart (the first time: QtCharts loads now) and read its counts."""
        if self.chart is None:
            from crisisdesk.ui.views.monitor_chart import MoodChart

            self.chart = MoodChart()
            self.chart_layout.insertWidget(1, self.chart, 1)
            self._reload_chart()
        return self.chart

    def _reload_chart(self) -> None:
        if self.chart is None:
            return
        actor, by = self.session.actor, str(self.chart_by.currentData())
        self.session.tasks.run(
            lambda app: app.feeds().mood_counts(actor),
            lambda counts: self._show_chart(counts, by),
            owner=self,
        )

    def _show_chart(self, counts: list[MoodCount], by: str) -> None:
        if self.chart is None or by != self.chart_by.currentData():
            return
        self.chart.show_counts(counts, by)
        self.chart_summary.setText(self.chart.summary())

    def changeEvent(self, event: QEvent) -> None:
        # a palette switched while the view is open: the chart's and the health line's colours follow it
        if event.type() == QEvent.Type.PaletteChange and self.isVisible():
            self.reload()
        super().changeEvent(event)

    # -- reading ----------------------------------------------------------------------------------------------

    def reload(self) -> None:
        actor = self.session.actor

        def fetch(app: App) -> Found:
            feeds = app.feeds()
            open_ones = app.incidents().list_all(actor, include_closed=False)
            alerts = feeds.alerts(actor, limit=ALERTS_SHOWN)
            waiting = feeds.count_alerts(actor) if len(alerts) == ALERTS_SHOWN else len(alerts)
            return feeds.sources(actor), alerts, waiting, feeds.triage(actor), open_ones

        self.session.tasks.run(fetch, self._show, self._not_loaded, owner=self)
        self._reload_chart()

    def _show(self, found: Found) -> None:
        sources, alerts, waiting, triage, incidents = found
        self.alerts_note.setVisible(waiting > len(alerts))
        self.alerts_note.setText(
            f"The newest {len(alerts):,} of {waiting:,} alerts not yet handled: acknowledge or dismiss old ones, or "
            "find an item under Search items."
        )
        self.health.setText(describe_sources(sources))
        state: palette.State = "bad" if any(s.health == "unhealthy" for s in sources) else "ok"
        self.health.setStyleSheet(palette.text_style(state))
        self.sources.set_rows(by_health(sources))
        self.alerts.zones = {i.id: z for i in incidents if (z := _zone(i.timezone)) is not None}
        self.alerts.set_rows(alerts)
        self.triage.set_rows(triage)
        self._keep_choices(self.source_filter, "Any source", [(s.name, s.name) for s in sources])
        self._keep_choices(
            self.incident_filter,
            "Any incident",
            [(f"{i.title} ({i.mode.value.upper()}, {when.short_id(i.id, 12)})", i.id) for i in incidents],
        )
        if self._triaged is not None:
            # the message being triaged stays selected if it is still in the queue (a reload resets the table)
            row = next((n for n, i in enumerate(triage) if i.id == self._triaged.id), None)
            if row is None:
                self.triage_table.clearSelection()
                self._triage_picked()
            elif _selected(self.triage_table) != row:
                self.triage_table.selectRow(row)

    @staticmethod
    def _keep_choices(combo: QComboBox, anything: str, choices: list[tuple[str, str]]) -> None:
        """Fill a filter's choices again, keeping what was chosen."""
        wanted = [(anything, None), *choices]
        if [(combo.itemText(i), combo.itemData(i)) for i in range(combo.count())] == wanted:
            return
        chosen = combo.currentData()
        combo.blockSignals(True)
        combo.clear()
        for text, value in wanted:
            combo.addItem(text, value)
        combo.setCurrentIndex(max(0, combo.findData(chosen)) if chosen is not None else 0)
        combo.blockSignals(False)

    def _not_loaded(self, error: CrisisdeskError) -> None:
        self.health.setText(f"The feeds could not be read: {error}")
        self.health.setStyleSheet(palette.text_style("bad"))


class OpenIncidentDialog(QDialog):
    """Open an incident from an alert: the playbook (or let the item's words choose it) and LIVE or EXERCISE,
    chosen on purpose (never a default). ``opened(incident_id)`` once the service opened it."""

    opened = Signal(str)

    def __init__(self, session: Session, alert: Alert, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.alert = alert
        self.mode: Mode | None = None
        self.incident: Incident | None = None
        self.notes: list[str] = []
        self.setWindowTitle("Open incident from this alert")
        self.setAccessibleName("Open incident from this alert")
        self.resize(640, 420)
        layout = QVBoxLayout(self)
        about = _plain(
            f"The alert: {alert.title}\nWhy: {'; '.join(alert.reasons)}\n"
            f"From {alert.source}, raised {when.moment_text(alert.raised_at)}"
            + (f"; it concerns {alert.incident_id}" if alert.incident_id else ""),
            "The alert",
        )
        layout.addWidget(about)
        layout.addWidget(_plain("1. Which playbook?"))
        self.playbook = QComboBox()
        self.playbook.setAccessibleName("Playbook for the new incident")
        self.playbook.addItem("Let crisisdesk choose from the item's words", None)
        layout.addWidget(self.playbook)
        layout.addWidget(_plain("2. LIVE or EXERCISE? Choose one; it cannot be changed later."))
        modes = ModeChoice(self, self._mode_chosen)
        self.mode_group, self.mode_buttons = modes.group, modes.buttons
        layout.addLayout(modes)
        self.answer = _plain("", "What happened")
        layout.addWidget(self.answer, 1)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.cancel_button = _button("Cancel", "Cancel")
        self.cancel_button.setAutoDefault(False)
        self.cancel_button.clicked.connect(self.reject)
        self.ok_button = _button("Choose LIVE or EXERCISE first", "Open the incident")
        self.ok_button.setEnabled(False)
        self.ok_button.clicked.connect(self.open_incident)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.ok_button)
        layout.addLayout(buttons)
        actor = session.actor
        session.tasks.run(lambda app: app.board().playbooks(actor), self._show_playbooks, self._refused, owner=self)

    def _show_playbooks(self, playbooks: list[Playbook]) -> None:
        for p in playbooks:
            self.playbook.addItem(f"{p.title.get('en') or p.id} ({p.id})", p.id)

    def choose(self, playbook_id: str | None, mode: Mode) -> None:
        """Pick the playbook and the mode (as a person would with the controls)."""
        self.playbook.setCurrentIndex(max(0, self.playbook.findData(playbook_id)) if playbook_id else 0)
        self.mode_buttons[mode].setChecked(True)

    def _mode_chosen(self, mode: Mode) -> None:
        self.mode = mode
        self.ok_button.setEnabled(True)
        self.ok_button.setText(f"Open {mode.value.upper()} incident")
        self.ok_button.setAccessibleName(f"Open a {mode.value.upper()} incident")
        self.answer.setStyleSheet(palette.text_style("live" if mode is Mode.LIVE else "exercise"))
        self.answer.setText(
            "LIVE: a real incident; approved messages reach the public."
            if mode is Mode.LIVE
            else "EXERCISE: a drill; messages go to exercise channels only and say EXERCISE."
        )

    def open_incident(self) -> None:
        mode = self.mode
        if mode is None:
            return
        actor, alert_id, playbook_id = self.session.actor, self.alert.id, self.playbook.currentData()
        self.ok_button.setEnabled(False)
        self.session.tasks.run(
            lambda app: app.feeds().open_incident(actor, alert_id, playbook_id=playbook_id, mode=mode),
            self._opened,
            self._refused,
            on_done=lambda: self.ok_button.setEnabled(self.incident is None),
            owner=self,
        )

    def _opened(self, result: tuple[Incident, list[str]]) -> None:
        self.incident, self.notes = result
        self.opened.emit(self.incident.id)
        self.accept()

    def _refused(self, error: CrisisdeskError) -> None:
        self.answer.setStyleSheet(palette.text_style("bad"))
        hint = " Choose the playbook above." if self.playbook.currentData() is None else ""
        self.answer.setText(f"Not opened: {error}.{hint}".replace("..", "."))
