"""The outbox as a table: one immutable row per (message version, channel), newest first, a page at a time.

A year's outbox holds tens of thousands of rows: the model holds the pages read so far and asks for the next one
(``canFetchMore``/``fetchMore``) only when the table scrolls near its end. The page is read by whoever the model
was given (the view reads it in a task) and comes back through ``add_page``. When the database changes, the view
reads the newest page again and ``merge_newest`` puts new rows on top and changed ones in place, so the selection
and the scroll position stay where they were.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from PySide6.QtCore import QModelIndex

from crisisdesk.services.outbox import OutboxRow
from crisisdesk.ui.models.deliveries import STATE_TINTS, mode_words
from crisisdesk.ui.models.rows import AnyIndex, RowsModel
from crisisdesk.ui.palette import Tint
from crisisdesk.ui.when import full, moment_text, workstation_zone

COLUMNS = ("Row", "Message", "Channel", "Mode", "State", "Tries", "Receipt or reason", "Retraction")
PAGE = 500  # rows a page: a few screens, read in a few milliseconds


def _zone(row: OutboxRow) -> ZoneInfo | None:
    if row.timezone:
        try:
            return ZoneInfo(row.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            return None
    return None


def detail(row: OutboxRow) -> str:
    zone = _zone(row) or workstation_zone()
    if row.state == "sent":
        return f"{row.remote_url or row.remote_id} ({moment_text(row.sent_at, zone)})"
    if row.state == "failed":
        return f"{row.reason}; next try {moment_text(row.next_try_at, zone) if row.next_try_at else 'now'}"
    return row.reason or ""


def detail_tooltip(row: OutboxRow) -> str:
    """The whole receipt or reason, with the full moment and its zone."""
    zone = _zone(row) or workstation_zone()
    if row.state == "sent":
        return f"{row.remote_url or row.remote_id}\nsent {full(row.sent_at, zone)}"
    if row.state == "failed":
        return f"{row.reason}\nnext try {full(row.next_try_at, zone) if row.next_try_at else 'now'}"
    return row.reason or ""


class OutboxModel(RowsModel[OutboxRow]):
    columns = COLUMNS

    def __init__(self, load_page: Callable[[int], None] | None = None, parent: object = None) -> None:
        """``load_page(before)``: read the page of rows older than pos ``before`` and hand it to ``add_page``."""
        super().__init__(None, parent)
        self.load_page = load_page
        self.more = False  # the last page read was full: older rows may follow
        self.loading = False  # a page was asked for and has not come back
        self._changing = False  # rows are being inserted: no page is asked for meanwhile (views ask in their slots)
        # The cells of rows drawn lately: a paint asks for each cell in several roles, and a row's texts (its times
        # in its zone) cost more than a lookup. Keyed by pos, held with the row they were made from.
        self._drawn: dict[int, tuple[OutboxRow, tuple[str, ...]]] = {}

    # -- paging ---------------------------------------------------------------------------------------------

    def canFetchMore(self, parent: AnyIndex = QModelIndex()) -> bool:  # noqa: B008
        return (
            not parent.isValid()
            and self.more
            and not self.loading
            and not self._changing
            and self.load_page is not None
        )

    def fetchMore(self, parent: AnyIndex = QModelIndex()) -> None:  # noqa: B008
        if not self.canFetchMore(parent) or not self.rows or self.load_page is None:
            return
        self.loading = True
        self.load_page(self.rows[-1].pos)

    def _insert(self, at: int, rows: list[OutboxRow]) -> None:
        self._changing = True
        try:
            self.beginInsertRows(QModelIndex(), at, at + len(rows) - 1)
            self.rows[at:at] = rows
            self.endInsertRows()
        finally:
            self._changing = False

    def add_page(self, before: int, page: Sequence[OutboxRow]) -> None:
        """The page of rows older than ``before``, at the end; a page that no longer follows the last row shown
        (the rows were replaced meanwhile) is dropped."""
        self.loading = False
        if not self.rows or self.rows[-1].pos != before:
            return
        fresh = [r for r in page if r.pos < before]
        self.more = len(page) >= PAGE
        if fresh:
            self._insert(len(self.rows), fresh)

    def page_failed(self) -> None:
        """The page could not be read: scrolling to the end asks again."""
        self.loading = False

    def merge_newest(self, page: Sequence[OutboxRow]) -> None:
        """The newest page read again: rows newer than those shown go on top, rows shown are updated in place."""
        fresh = list(page)
        if not self.rows:
            self.more = len(fresh) >= PAGE
            if fresh:
                self._insert(0, fresh)
            return
        if not fresh:  # the outbox is empty now (a different database): start again
            self.set_rows([])
            self.more = False
            return
        top = self.rows[0].pos
        newer = [r for r in fresh if r.pos > top]
        rest = [r for r in fresh if r.pos <= top]
        window = self.rows[: len(rest)]
        if [r.pos for r in window] != [r.pos for r in rest]:
            # Not the rows shown (rows went away): show the newest page and read on from there.
            self.set_rows(fresh)
            self.more = len(fresh) >= PAGE
            return
        if newer:
            self._insert(0, newer)
        offset = len(newer)
        changed = [i for i, r in enumerate(rest) if window[i] != r]
        for i in changed:
            self.rows[offset + i] = rest[i]
        if changed:
            first, last = offset + changed[0], offset + changed[-1]
            self.dataChanged.emit(self.index(first, 0), self.index(last, len(self.columns) - 1))

    def replace_row(self, row: OutboxRow) -> None:
        """One row read again (after a retry), wherever it is shown."""
        for i, shown in enumerate(self.rows):
            if shown.id == row.id:
                if shown != row:
                    self.rows[i] = row
                    self.dataChanged.emit(self.index(i, 0), self.index(i, len(self.columns) - 1))
                return

    # -- cells ----------------------------------------------------------------------------------------------

    def cells(self, r: OutboxRow) -> tuple[str, ...]:
        kept = self._drawn.get(r.pos)
        if kept is not None and kept[0] is r:
            return kept[1]
        if len(self._drawn) > 2000:  # a few screens' worth is all a paint needs
            self._drawn.clear()
        made = self._cells(r)
        self._drawn[r.pos] = (r, made)
        return made

    def _cells(self, r: OutboxRow) -> tuple[str, ...]:
        retraction = (r.retract_state or "") + (f": {r.retract_reason}" if r.retract_reason else "")
        return (
            r.id,
            f"{r.message_id} v{r.version}",
            f"{r.account} ({r.kind})",
            mode_words(r.mode),  # in words and a shape, as every other table says it
            r.state,
            str(r.attempts),
            detail(r),
            retraction,
        )

    def colour(self, r: OutboxRow) -> Tint | None:
        return STATE_TINTS.get(r.state)

    def tooltip(self, r: OutboxRow, column: int) -> str | None:
        return detail_tooltip(r) if column == 6 else None
