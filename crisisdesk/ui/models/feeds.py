"""Feed tables: alerts and the triage queue, one immutable row each, as plain text (never rich text)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from crisisdesk.services.feeds import Alert, ItemView

AnyIndex = QModelIndex | QPersistentModelIndex
Row = TypeVar("Row")

PRIORITY_COLOURS = {"urgent": "#ffebee", "high": "#fff8e1", "normal": "#ffffff", "low": "#f5f5f5"}


class RowsModel(QAbstractTableModel, Generic[Row]):
    """A read-only table over rows fetched on demand; reloading keeps the selection when nothing changed."""

    columns: tuple[str, ...] = ()

    def __init__(self, fetch: Callable[[], Sequence[Row]], parent: object = None) -> None:
        super().__init__(parent)  # type: ignore[arg-type]
        self.fetch = fetch
        self.rows: list[Row] = []

    def reload(self) -> None:
        rows = list(self.fetch())
        if rows == self.rows:
            return
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def row(self, index: int) -> Row:
        return self.rows[index]

    def cells(self, row: Row) -> tuple[str, ...]:
        raise NotImplementedError

    def colour(self, row: Row) -> str | None:
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or index.row() >= len(self.rows):
            return None
        r = self.rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return self.cells(r)[index.column()]
        if role == Qt.ItemDataRole.BackgroundRole and (colour := self.colour(r)):
            return QBrush(QColor(colour))
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.columns[section]
        return None


class AlertsModel(RowsModel[Alert]):
    columns = ("Raised", "Incident", "Item", "Why", "Source")

    def cells(self, a: Alert) -> tuple[str, ...]:
        return (a.raised_at[:16].replace("T", " "), a.incident_id or "none", a.title, "; ".join(a.reasons), a.source)

    def colour(self, a: Alert) -> str | None:
        return "#fff8e1" if a.incident_id else None


class TriageModel(RowsModel[ItemView]):
    columns = ("Priority", "Status", "Group", "Sentiment", "From", "Message", "Source")

    def cells(self, i: ItemView) -> tuple[str, ...]:
        mood = "" if i.sentiment is None else f"{i.sentiment:+.2f}"
        return (
            (i.priority or "").upper(),
            i.status or "",
            i.stakeholder or "",
            mood,
            i.author or "",
            i.title,
            i.source,
        )

    def colour(self, i: ItemView) -> str | None:
        return PRIORITY_COLOURS.get(i.priority or "")
