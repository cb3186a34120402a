"""The approval queue: one immutable row per submitted version; a proxy shows only those the person may approve,
or every one (an author sees their own, with why it is not theirs to approve)."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt

from crisisdesk.services.review import QueueEntry
from crisisdesk.ui import palette
from crisisdesk.ui.models.rows import AnyIndex, RowsModel
from crisisdesk.ui.when import short_id

COLUMNS = ("Mode", "Incident", "Message", "Written by", "For you")


def mode_words(mode: str) -> str:
    """LIVE and EXERCISE in words and a shape: a filled dot, a hatched square."""
    return "▨ EXERCISE" if mode == "exercise" else "● LIVE"


class QueueModel(RowsModel[QueueEntry]):
    columns = COLUMNS

    def cells(self, r: QueueEntry) -> tuple[str, ...]:
        return (
            mode_words(r.mode),
            r.incident_title,
            f"{r.type} v{r.version} · {short_id(r.message_id)}",  # the whole id in the tooltip
            ", ".join(r.authors),
            "to approve" if r.may_approve else "not yours to approve",
        )

    def tooltip(self, r: QueueEntry, column: int) -> str | None:
        if column == 4 and not r.may_approve:
            return r.why_not
        if column == 2:
            return f"{r.message_id} v{r.version}, hash {r.content_hash}"
        return self.cells(r)[column]

    def colour(self, r: QueueEntry) -> palette.Tint | None:
        return None if r.may_approve else "quiet"

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if index.isValid() and index.row() < len(self.rows) and index.column() == 0:
            r = self.rows[index.row()]
            if role == Qt.ItemDataRole.ForegroundRole:
                return palette.state_colour("exercise" if r.mode == "exercise" else "live")
        return super().data(index, role)


class ApprovableFilter(QSortFilterProxyModel):
    """Only the versions the person may approve (the badge's count), unless ``show_every`` is on."""

    def __init__(self, source: QueueModel) -> None:
        super().__init__()
        self.queue = source
        self.show_every = False
        self.setSourceModel(source)

    def set_show_every(self, on: bool) -> None:
        self.beginFilterChange()
        self.show_every = on
        self.endFilterChange()

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex | QPersistentModelIndex) -> bool:
        if source_parent.isValid() or source_row >= len(self.queue.rows):
            return False
        return self.show_every or self.queue.rows[source_row].may_approve

    def entry(self, proxy_row: int) -> QueueEntry:
        return self.queue.row(self.mapToSource(self.index(proxy_row, 0)).row())
