"""The outbox as a table: one immutable row per (message version, channel), newest first."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from crisisdesk.services.outbox import OutboxRow

AnyIndex = QModelIndex | QPersistentModelIndex
COLUMNS = ("Row", "Message", "Channel", "Mode", "State", "Tries", "Receipt or reason", "Retraction")
STATE_COLOURS = {
    "sent": "#e8f5e9",
    "failed": "#fff8e1",
    "unknown": "#fff8e1",
    "dead": "#ffebee",
    "sending": "#e3f2fd",
    "queued": "#ffffff",
}


def detail(row: OutboxRow) -> str:
    if row.state == "sent":
        return f"{row.remote_url or row.remote_id} ({row.sent_at})"
    if row.state == "failed":
        return f"{row.reason}; next try {row.next_try_at or 'now'}"
    return row.reason or ""


class OutboxModel(QAbstractTableModel):
    def __init__(self, fetch: Callable[[], Sequence[OutboxRow]], parent: object = None) -> None:
        super().__init__(parent)  # type: ignore[arg-type]
        self.fetch = fetch
        self.rows: list[OutboxRow] = []

    def reload(self) -> None:
        rows = list(self.fetch())
        if rows == self.rows:
            return  # nothing changed: keep the selection and the scroll position
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def row(self, index: int) -> OutboxRow:
        return self.rows[index]

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or index.row() >= len(self.rows):
            return None
        r = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            retraction = (r.retract_state or "") + (f": {r.retract_reason}" if r.retract_reason else "")
            return (
                r.id,
                f"{r.message_id} v{r.version}",
                f"{r.account} ({r.kind})",
                r.mode.upper(),
                r.state,
                str(r.attempts),
                detail(r),
                retraction,
            )[index.column()]
        if role == Qt.ItemDataRole.BackgroundRole:
            return QBrush(QColor(STATE_COLOURS.get(r.state, "#ffffff")))
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == 6:
            return detail(r)
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None
