"""The audit log as a Qt table model: immutable rows, loaded a page at a time, newest first."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from crisisdesk.domain.events import kind_label
from crisisdesk.services.audit import AuditRow

FetchPage = Callable[[int | None, int, str], list[AuditRow]]
AnyIndex = QModelIndex | QPersistentModelIndex

COLUMNS = ("Seq", "Time (UTC)", "Actor", "Event", "Details", "Hash")


def _time(iso: str) -> str:
    # "2026-11-22T01:00:42.570694+00:00" -> "2026-11-22 01:00:42"
    return iso[:19].replace("T", " ")


class AuditLogModel(QAbstractTableModel):
    PAGE = 500

    def __init__(self, fetch_page: FetchPage, parent: object = None) -> None:
        super().__init__(parent)  # type: ignore[arg-type]
        self._fetch_page = fetch_page
        self._rows: list[AuditRow] = []
        self._more = True
        self._filter = ""

    # -- loading ---------------------------------------------------------------------------------

    def reload(self) -> None:
        self.beginResetModel()
        self._rows = self._fetch_page(None, self.PAGE, self._filter)
        self._more = len(self._rows) == self.PAGE
        self.endResetModel()

    def set_filter(self, text: str) -> None:
        self._filter = text.strip()
        self.reload()

    def canFetchMore(self, parent: AnyIndex = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and self._more and bool(self._rows)

    def fetchMore(self, parent: AnyIndex = QModelIndex()) -> None:  # noqa: B008
        if parent.isValid() or not self._rows:
            return
        page = self._fetch_page(self._rows[-1].position, self.PAGE, self._filter)
        self._more = len(page) == self.PAGE
        if page:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(page) - 1)
            self._rows.extend(page)
            self.endInsertRows()

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
            return (str(row.seq), _time(row.at), row.actor, kind_label(row.kind), row.summary, row.hash[:12])[col]
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == 5:
                return row.hash
            if col == 1:
                return row.at
            if col == 3:
                return row.kind
            if col == 4:
                return row.summary
        if role == Qt.ItemDataRole.TextAlignmentRole and col == 0:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if (
            role == Qt.ItemDataRole.DisplayRole
            and orientation == Qt.Orientation.Horizontal
            and 0 <= section < len(COLUMNS)
        ):
            return COLUMNS[section]
        return None
