"""The Monitor's tables: source health (unhealthy first), alerts, found items (a page at a time), the triage queue,
and the counts its chart draws. Rows are immutable, cells plain text (never rich text), times through ``when``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QBrush

from crisisdesk.domain.triage_policy import MOODS, mood
from crisisdesk.ui import palette, when
from crisisdesk.ui.models.rows import RowsModel, plain_tip
from crisisdesk.ui.palette import Tint

if TYPE_CHECKING:  # services.feeds brings httpx and pydantic: not imported before the Monitor is used
    from crisisdesk.services.feeds import Alert, ItemView, MoodCount, Source

AnyIndex = QModelIndex | QPersistentModelIndex

PRIORITY_TINTS: dict[str, Tint] = {"urgent": "bad", "high": "warning", "low": "quiet"}

# -- source health ----------------------------------------------------------------------------------------

HEALTH_ORDER = {"unhealthy": 0, "problems": 1, "not polled yet": 2, "ok": 3}
HEALTH_WORDS = {"unhealthy": "UNHEALTHY", "problems": "Problems", "not polled yet": "Not polled yet", "ok": "OK"}
HEALTH_TINTS: dict[str, Tint] = {"unhealthy": "bad", "problems": "warning", "not polled yet": "quiet"}


def by_health(sources: Sequence[Source]) -> list[Source]:
    """Unhealthy first (the most failures first), then those with problems, never polled, and healthy; by name."""
    return sorted(sources, key=lambda s: (HEALTH_ORDER.get(s.health, 9), -s.failures, s.name.casefold()))


class SourcesModel(RowsModel["Source"]):
    columns = ("Health", "Source", "Kind", "Reason", "Last success", "Next try", "Items")

    def cells(self, s: Source) -> tuple[str, ...]:
        reason = s.last_error if s.health in ("unhealthy", "problems") and s.last_error else ""
        if s.failures > 1:
            reason = f"{reason} ({s.failures} failures in a row)"
        return (
            HEALTH_WORDS.get(s.health, s.health),
            s.name,
            s.kind.value,
            reason,
            when.moment_text(s.last_success) or "never",
            when.moment_text(s.next_poll_at) or "at the next round",
            f"{s.items_seen:,}",
        )

    def colour(self, s: Source) -> Tint | None:
        return HEALTH_TINTS.get(s.health)

    def tooltip(self, s: Source, column: int) -> str | None:
        if column == 4:
            return when.full(s.last_success) or "never polled successfully"
        if column == 5:
            return when.full(s.next_poll_at) or None
        if column == 1:
            return s.url
        return self.cells(s)[column]


# -- alerts -----------------------------------------------------------------------------------------------


class AlertsModel(RowsModel["Alert"]):
    """Times in the zone of the incident an alert concerns (``zones``, by incident id), else the workstation's."""

    columns = ("Raised", "Incident", "Item", "Why", "Source")

    def __init__(self, parent: object = None) -> None:
        super().__init__(None, parent)
        self.zones: dict[str, tzinfo] = {}

    def zone(self, a: Alert) -> tzinfo | None:
        return self.zones.get(a.incident_id or "")

    def cells(self, a: Alert) -> tuple[str, ...]:
        return (
            when.moment_text(a.raised_at, self.zone(a)),
            when.short_id(a.incident_id, 12) if a.incident_id else "none (a threshold)",
            a.title,
            "; ".join(a.reasons),
            a.source,
        )

    def colour(self, a: Alert) -> Tint | None:
        return "warning" if a.incident_id else None

    def tooltip(self, a: Alert, column: int) -> str | None:
        if column == 0:
            return when.full(a.raised_at, self.zone(a))
        if column == 1:
            return a.incident_id or "No incident: the item crossed a severity threshold or named a rules keyword"
        return self.cells(a)[column]


# -- found items, a page at a time ------------------------------------------------------------------------

# (before, deliver, fail): start reading the page of items older than ``before`` (None: the newest); call
# ``deliver(page)`` or ``fail(message)`` on the GUI thread when it is read.
PageLoader = Callable[[int | None, Callable[[list["ItemView"]], None], Callable[[str], None]], None]


class ItemsModel(QAbstractTableModel):
    """Items found by a search, newest first. The first page is read when a search starts, the next when the view
    scrolls to the end (``canFetchMore``/``fetchMore``); each page is read by the loader (a task), never here."""

    PAGE = 100
    columns = ("Time", "Source", "Kind", "Item", "From")
    loaded = Signal()  # a page arrived (or the search found nothing)
    failed = Signal(str)

    def __init__(self, parent: object = None) -> None:
        super().__init__(parent)  # type: ignore[arg-type]
        self.rows: list[ItemView] = []
        self._loader: PageLoader | None = None
        self._more = False
        self._loading = False
        self._search = 0  # which search the pages in flight belong to

    @property
    def loading(self) -> bool:
        return self._loading

    @property
    def complete(self) -> bool:
        """Every item the search finds is in the table."""
        return not self._more and not self._loading

    def start(self, loader: PageLoader) -> None:
        """A new search: the table empties and its first page is read."""
        self._search += 1
        self.beginResetModel()
        self.rows = []
        self._loader, self._more, self._loading = loader, True, False
        self.endResetModel()
        self.fetchMore()

    def canFetchMore(self, parent: AnyIndex = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and self._more and not self._loading

    def fetchMore(self, parent: AnyIndex = QModelIndex()) -> None:  # noqa: B008
        if parent.isValid() or not self._more or self._loading or self._loader is None:
            return
        self._loading = True
        search = self._search
        before = self.rows[-1].id if self.rows else None
        self._loader(before, lambda page: self._arrived(search, page), lambda why: self._failed(search, why))

    def _arrived(self, search: int, page: list[ItemView]) -> None:
        if search != self._search:
            return  # an earlier search's page, come late
        self._loading = False
        self._more = len(page) >= self.PAGE
        if page:
            first = len(self.rows)
            self.beginInsertRows(QModelIndex(), first, first + len(page) - 1)
            self.rows.extend(page)
            self.endInsertRows()
        self.loaded.emit()

    def _failed(self, search: int, why: str) -> None:
        if search != self._search:
            return
        self._loading, self._more = False, False
        self.failed.emit(why)

    def row(self, index: int) -> ItemView:
        return self.rows[index]

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    @staticmethod
    def cells(i: ItemView) -> tuple[str, ...]:
        words = i.title if i.title.strip() else i.text
        return (when.moment_text(i.at), i.source, i.kind, " ".join(words.split())[:300], i.author or "")

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or index.row() >= len(self.rows):
            return None
        item = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self.cells(item)[index.column()]
        if role == Qt.ItemDataRole.ToolTipRole:
            return when.full(item.at) if index.column() == 0 else plain_tip(self.cells(item)[index.column()])
        if role == Qt.ItemDataRole.BackgroundRole and (tint := PRIORITY_TINTS.get(item.priority or "")):
            return QBrush(palette.row_tint(tint))
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.columns[section]
        return None


# -- the triage queue -------------------------------------------------------------------------------------


def mood_text(score: float | None) -> str:
    if score is None:
        return ""
    return f"{mood(score)} ({score:+.2f})"


class TriageModel(RowsModel["ItemView"]):
    columns = ("Priority", "Status", "Message", "From", "Group", "Sentiment", "Time", "Source")

    def cells(self, i: ItemView) -> tuple[str, ...]:
        return (
            (i.priority or "").upper(),
            i.status or "",
            " ".join((i.text or i.title).split())[:300],
            i.author or "",
            i.stakeholder or "",
            mood_text(i.sentiment),
            when.moment_text(i.at),
            i.source,
        )

    def colour(self, i: ItemView) -> Tint | None:
        return PRIORITY_TINTS.get(i.priority or "")

    def tooltip(self, i: ItemView, column: int) -> str | None:
        return when.full(i.at) if column == 6 else self.cells(i)[column]


# -- counts for the chart ---------------------------------------------------------------------------------

MAX_HOURS = 48  # the chart's span at most: the latest two days that have messages


def hourly(counts: Sequence[MoodCount], by: str) -> tuple[list[str], dict[str, list[int]]]:
    """(the hours, oldest first, as ISO; {mood or group: a count per hour}) for a stacked bar chart. Hours with
    nothing between the first and the last are there as zeros, so the axis is time; at most ``MAX_HOURS``."""
    if not counts:
        return [], {}
    hours_seen = sorted({c.hour for c in counts})
    last = datetime.fromisoformat(hours_seen[-1])
    first = max(datetime.fromisoformat(hours_seen[0]), last - timedelta(hours=MAX_HOURS - 1))
    hours = []
    moment = first
    while moment <= last:
        hours.append(moment.isoformat())
        moment += timedelta(hours=1)
    position = {h: n for n, h in enumerate(hours)}
    keys = list(MOODS) if by == "mood" else sorted({c.group for c in counts})
    sets = {k: [0] * len(hours) for k in keys}
    for c in counts:
        n = position.get(datetime.fromisoformat(c.hour).isoformat())
        if n is not None:
            sets[c.mood if by == "mood" else c.group][n] += c.count
    return hours, sets
