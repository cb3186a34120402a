"""A read-only Qt table over immutable rows: the base of every table in the console."""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar, overload

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush
from PySide6.QtGui import Qt as GuiQt

from crisisdesk.ui import palette

AnyIndex = QModelIndex | QPersistentModelIndex
Row = TypeVar("Row")


@overload
def plain_tip(text: str) -> str: ...
@overload
def plain_tip(text: None) -> None: ...
def plain_tip(text: str | None) -> str | None:
    """A tooltip of people's or scenarios' words, shown as the words they are. Qt takes a tooltip that looks like HTML
    for rich text, and rich text loads the images it names: '<img src="/dev/zero">' in a feed item's title, a
    scenario's summary or a plan cell froze the console at the first hover. Such text is escaped; plain text stays."""
    if text is None or not GuiQt.mightBeRichText(text):
        return text
    return "<p>" + html.escape(text, quote=False).replace("\n", "<br>") + "</p>"


class RowsModel(QAbstractTableModel, Generic[Row]):
    """A read-only table over rows fetched on demand; reloading keeps the selection when nothing changed."""

    columns: tuple[str, ...] = ()

    def __init__(self, fetch: Callable[[], Sequence[Row]] | None = None, parent: object = None) -> None:
        super().__init__(parent)  # type: ignore[arg-type]
        self.fetch = fetch
        self.rows: list[Row] = []

    def reload(self) -> None:
        """Fetch on this thread (a model given ``fetch``); views fetch through their tasks and call ``set_rows``."""
        if self.fetch is not None:
            self.set_rows(self.fetch())

    def set_rows(self, fetched: Sequence[Row]) -> None:
        """Show ``fetched``; nothing happens (the selection stays) when they are the rows already shown."""
        rows = list(fetched)
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

    def colour(self, row: Row) -> palette.Tint | None:
        """The row's background by meaning (see ``palette.TINTS``); its words must say the same."""
        return None

    def tooltip(self, row: Row, column: int) -> str | None:
        return self.cells(row)[column]  # the whole text of a cell the column cuts short

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or index.row() >= len(self.rows):
            return None
        r = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self.cells(r)[index.column()]
        if role == Qt.ItemDataRole.ToolTipRole:
            return plain_tip(self.tooltip(r, index.column()))
        if role == Qt.ItemDataRole.BackgroundRole and (colour := self.colour(r)):
            return QBrush(palette.row_tint(colour))
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.columns[section]
        return None
