"""The audit log as a Qt table model: immutable rows, newest first, each page read in a task.

Qt asks for more rows as the table scrolls (``canFetchMore``/``fetchMore``); the page is read on a pool thread and
appended when it arrives. New entries (the watcher saw the database change) are read the same way and inserted at
the top. A filter or a jump to one entry starts again; an answer for an older request is dropped.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt

from crisisdesk.domain.events import kind_label
from crisisdesk.domain.roles import Actor
from crisisdesk.services.audit import AuditFilter, AuditRow
from crisisdesk.ui import palette
from crisisdesk.ui.models.rows import plain_tip
from crisisdesk.ui.tasks import Tasks
from crisisdesk.ui.when import full, moment_text, short_id, workstation_zone

AnyIndex = QModelIndex | QPersistentModelIndex

COLUMNS = ("Seq", "Time", "Person", "Event", "Incident", "Details", "Hash")
SEQ, TIME, PERSON, EVENT, INCIDENT, DETAILS, HASH = range(len(COLUMNS))


@lru_cache(maxsize=64)
def _zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


class AuditLogModel(QAbstractTableModel):
    """Newest first. ``on_loaded()`` after each answer (a page, new entries, a fresh start); ``anchored`` is the
    position the top was started from when the model shows an older stretch of the log (``show_from``), else None.

    ``on_loaded`` is a plain callback, not a Qt signal: in PySide6 6.12.0 every ``Signal.emit`` made from Python
    loses a reference to ``True`` (see bench/README.md, Audit), so the model emits none of its own.
    """

    PAGE = 500

    def __init__(self, tasks: Tasks, actor: Actor, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tasks = tasks
        self._actor = actor
        self._rows: list[AuditRow] = []
        self._keys: list[int] = []  # -position of each row: ascending, for bisect
        self._more = False
        self._loading = False
        self._generation = 0
        self._filter = AuditFilter()
        self.anchored: int | None = None
        self.marked: int | None = None  # the position of an entry the chain check found bad
        self.workstation_zone = workstation_zone()
        self.on_loaded: Callable[[], None] = lambda: None

    # -- loading ---------------------------------------------------------------------------------

    @property
    def filter(self) -> AuditFilter:
        return self._filter

    @property
    def loading(self) -> bool:
        return self._loading

    def set_filter(self, where: AuditFilter | str) -> None:
        self._filter = AuditFilter(text=where.strip()) if isinstance(where, str) else where
        self.anchored = None
        self.reload()

    def reload(self) -> None:
        """Start again from the newest entry (or from ``anchored``)."""
        self._read(before=self.anchored, after=None, then=self._started)

    def show_from(self, position: int, where: AuditFilter | None = None, above: int = 20) -> None:
        """Start from a little above ``position``: an older stretch of the log, with ``position`` in view (read
        with ``where`` when given, else the filter in force)."""
        if where is not None:
            self._filter = where
        self.anchored = position + min(above, self.PAGE // 2) + 1
        self.reload()

    def show_newest(self) -> None:
        self.anchored = None
        self.reload()

    def refresh_newest(self) -> None:
        """Read the entries that arrived since the top row and put them on top (nothing when showing an older
        stretch, or while a page is on its way: the next look gets them)."""
        if self.anchored is not None or self._loading:
            return
        if not self._rows:
            self.reload()
            return
        self._read(before=None, after=self._rows[0].position, then=self._arrived)

    def canFetchMore(self, parent: AnyIndex = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and self._more and not self._loading and bool(self._rows)

    def fetchMore(self, parent: AnyIndex = QModelIndex()) -> None:  # noqa: B008
        if parent.isValid() or not self._rows or self._loading:
            return
        self._read(before=self._rows[-1].position, after=None, then=self._appended)

    def _read(self, *, before: int | None, after: int | None, then: Callable[[list[AuditRow]], None]) -> None:
        self._generation += 1
        generation, actor, where, limit = self._generation, self._actor, self._filter, self.PAGE
        self._loading = True

        def arrived(rows: list[AuditRow]) -> None:
            if generation != self._generation:
                return  # a newer request (another filter) went out meanwhile
            try:
                then(rows)
            finally:
                self._loading = False  # only now: a view asking for more while rows go in must wait for them
            self.on_loaded()

        def failed(_error: object) -> None:
            if generation == self._generation:
                self._loading = False

        self._tasks.run(
            lambda app: app.audit.page(actor, before=before, after=after, limit=limit, where=where),
            arrived,
            failed,
            owner=self,
        )

    def _started(self, rows: list[AuditRow]) -> None:
        self.beginResetModel()
        self._rows = rows
        self._keys = [-r.position for r in rows]
        self._more = len(rows) == self.PAGE
        self.endResetModel()

    def _appended(self, page: list[AuditRow]) -> None:
        self._more = len(page) == self.PAGE
        if page:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(page) - 1)
            self._rows.extend(page)
            self._keys.extend(-r.position for r in page)
            self.endInsertRows()

    def _arrived(self, new: list[AuditRow]) -> None:
        if len(new) >= self.PAGE:  # more arrived than a page: start again rather than leave a gap
            self._started(new)
            return
        if new:
            self.beginInsertRows(QModelIndex(), 0, len(new) - 1)
            self._rows[:0] = new
            self._keys[:0] = [-r.position for r in new]
            self.endInsertRows()

    def row_of(self, position: int) -> int | None:
        """The row showing entry ``position``, if it is loaded."""
        i = bisect.bisect_left(self._keys, -position)
        return i if i < len(self._keys) and self._keys[i] == -position else None

    def mark(self, position: int | None) -> None:
        """Tint the entry the chain check found bad (and untint the one before)."""
        old, self.marked = self.marked, position
        for changed in {old, position} - {None}:
            row = self.row_of(changed)  # type: ignore[arg-type]
            if row is not None:
                self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    # -- the model ------------------------------------------------------------------------------

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def row(self, index: int) -> AuditRow:
        return self._rows[index]

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        row = self._rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == SEQ:
                return str(row.seq)
            if col == TIME:
                # One zone down the whole column, this workstation's: an outbox entry (no incident) in UTC above an
                # incident's entry in its own zone read as time running backwards. The incident's time is in the
                # tooltip.
                return moment_text(row.at, self.workstation_zone)
            if col == PERSON:
                return row.actor
            if col == EVENT:
                return kind_label(row.kind)
            if col == INCIDENT:
                return row.incident_title or short_id(row.incident)
            if col == DETAILS:
                return row.summary
            if col == HASH:
                return short_id(row.hash, 12)
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == TIME:
                here = full(row.at, self.workstation_zone)
                zone = _zone(row.zone)
                there = full(row.at, zone) if zone is not None else ""
                return here if not there or there == here else f"{here}\n{there} (the incident's zone)"
            if col == EVENT:
                return row.kind
            if col == INCIDENT:
                return plain_tip(row.incident)
            if col == DETAILS:
                return plain_tip(row.summary)
            if col == HASH:
                return row.hash
            if col == SEQ:
                return f"entry #{row.position}"
            return None
        if role == Qt.ItemDataRole.BackgroundRole and self.marked is not None and row.position == self.marked:
            return palette.row_tint("bad")
        if role == Qt.ItemDataRole.TextAlignmentRole and col == SEQ:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if (
            role == Qt.ItemDataRole.DisplayRole
            and orientation == Qt.Orientation.Horizontal
            and 0 <= section < len(COLUMNS)
        ):
            return COLUMNS[section]
        if role == Qt.ItemDataRole.ToolTipRole and orientation == Qt.Orientation.Horizontal and section == TIME:
            return f"Times in this workstation's zone ({self.workstation_zone})"
        return None
