"""The incident views' tables: the board, the playbooks to open from, and an incident's checklist, messages and
timeline. Every row that belongs to an incident says LIVE or EXERCISE in words with a shape (● solid for LIVE, ▨
hatched for EXERCISE), never by colour alone."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, tzinfo

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QBrush, QFont

from crisisdesk.domain.drill import offset_text
from crisisdesk.domain.playbook import Playbook
from crisisdesk.services.board import Board, BoardRow, DrillTime, MessageRow, StepRow, TimelineRow
from crisisdesk.ui import palette
from crisisdesk.ui.models.rows import AnyIndex, RowsModel
from crisisdesk.ui.when import full, moment_text

SORT_ROLE = Qt.ItemDataRole.UserRole + 10
MODE_MARKERS = {"live": "●", "exercise": "▨"}


def mode_text(mode: str) -> str:
    """LIVE or EXERCISE with its shape: "● LIVE", "▨ EXERCISE"."""
    return f"{MODE_MARKERS.get(mode, '?')} {mode.upper()}"


def mode_state(mode: str) -> palette.State:
    return "exercise" if mode == "exercise" else "live"


def span(seconds: float) -> str:
    """A length of time for a glance: "under a minute", "25 min", "2 h 05 min", "3 d 4 h"."""
    minutes = int(abs(seconds) // 60)
    if minutes < 1:
        return "under a minute"
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {rest:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def countdown(due_at: str | None, now: str, state: str) -> tuple[str, palette.State | None]:
    """The next update as a countdown, in words and a state colour: calm, amber within ten minutes, red when
    overdue (the words say so too)."""
    if due_at is None or not state:
        return "none (closed)", "muted"
    left = (datetime.fromisoformat(due_at) - datetime.fromisoformat(now)).total_seconds()
    if state == "overdue":
        return f"OVERDUE by {span(left)}", "bad"
    if state == "due":
        return f"due in {span(left)}", "warning"
    return f"in {span(left)}", None


def drill_countdown(due: float | None, drill: DrillTime, state: str) -> tuple[str, palette.State | None]:
    """The next update of a drill's incident, counted in drill time as the evaluation measures it, the countdown
    first as on any incident: "in 25 min drill time (T+1h00m)"; while the drill is paused, "paused (due T+1h00m)":
    nothing falls due."""
    if due is None or not state:
        return "none (closed)", "muted"
    left, at = due - drill.seconds, offset_text(due)
    if state == "overdue":
        return f"OVERDUE by {span(left)} drill time ({at})", "bad"
    if drill.status != "running":
        return f"{'paused' if drill.status == 'paused' else 'drill ended'} (due {at})", (
            "warning" if state == "due" else "muted"
        )
    return f"in {span(left)} drill time ({at})", "warning" if state == "due" else None


def update_countdown(row: BoardRow, now: str) -> tuple[str, palette.State | None]:
    """A board row's next update: in drill time for a drill's incident, otherwise against the clock."""
    if row.drill is not None:
        return drill_countdown(row.next_update_drill, row.drill, row.update_state)
    return countdown(row.next_update_at, now, row.update_state)


def age(opened_at: str, now: str) -> str:
    return span((datetime.fromisoformat(now) - datetime.fromisoformat(opened_at)).total_seconds())


class _IncidentRows(RowsModel[object]):
    """Shared: a mode column drawn bold in the mode's colour."""

    mode_column = 0

    def mode_of(self, row: object) -> str:
        raise NotImplementedError

    def foreground(self, row: object, column: int) -> palette.State | None:
        return mode_state(self.mode_of(row)) if column == self.mode_column else None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or index.row() >= len(self.rows):
            return None
        if role == Qt.ItemDataRole.ForegroundRole:
            state = self.foreground(self.rows[index.row()], index.column())
            return QBrush(palette.state_colour(state)) if state else None
        if role == Qt.ItemDataRole.FontRole and (
            index.column() == self.mode_column
            or self.foreground(self.rows[index.row()], index.column()) in ("bad", "warning")
        ):
            font = QFont()
            font.setBold(True)
            return font
        if role == SORT_ROLE:
            return self.sort_key(self.rows[index.row()], index.column())
        return super().data(index, role)

    def sort_key(self, row: object, column: int) -> object:
        return self.cells(row)[column]


BOARD_COLUMNS = ("Mode", "Incident", "Playbook", "Status", "Age", "Next update", "Overdue steps", "Latest message")


class BoardModel(_IncidentRows):
    """The incident board: one row per incident; countdowns count from the board's ``now``.

    Active incidents come whole; closed ones (behind the view's filter) a page at a time: when the table reaches
    the end, ``fetchMore`` asks ``load_closed`` (the view reads the page in a task) for those after the last row,
    and the page comes back through ``add_closed``."""

    columns = BOARD_COLUMNS

    def __init__(self, parent: object = None, load_closed: Callable[[BoardRow], None] | None = None) -> None:
        super().__init__(parent=parent)
        self.now = ""
        self.load_closed = load_closed
        self.more_closed = False
        self.loading = False
        self._changing = False

    def set_board(self, board: Board) -> None:
        self.more_closed = board.more_closed
        if board.now != self.now and self.rows:
            self.now = board.now
            self.beginResetModel()  # the same rows, an older clock: every countdown moves
            self.rows = list(board.rows)
            self.endResetModel()
            return
        self.now = board.now
        self.set_rows(board.rows)

    def closed_count(self) -> int:
        return sum(1 for r in self.rows if isinstance(r, BoardRow) and r.status == "closed")

    def canFetchMore(self, parent: AnyIndex = QModelIndex()) -> bool:  # noqa: B008
        return (
            not parent.isValid()
            and self.more_closed
            and bool(self.rows)
            and not self.loading
            and not self._changing
            and self.load_closed is not None
        )

    def fetchMore(self, parent: AnyIndex = QModelIndex()) -> None:  # noqa: B008
        if not self.canFetchMore(parent) or self.load_closed is None:
            return
        self.loading = True
        self.load_closed(self.board_row(len(self.rows) - 1))

    def add_closed(self, after: str, page: Board) -> None:
        """The closed incidents after the one with id ``after``, at the end; dropped if the board changed meanwhile
        (its last row is another one now)."""
        self.loading = False
        if not self.rows or self.board_row(len(self.rows) - 1).id != after:
            return
        self.more_closed = page.more_closed
        known = {self.board_row(i).id for i in range(len(self.rows))}
        fresh = [r for r in page.rows if r.id not in known]
        if fresh:
            self._changing = True
            try:
                self.beginInsertRows(QModelIndex(), len(self.rows), len(self.rows) + len(fresh) - 1)
                self.rows.extend(fresh)
                self.endInsertRows()
            finally:
                self._changing = False

    def page_failed(self) -> None:
        self.loading = False

    def board_row(self, index: int) -> BoardRow:
        row = self.rows[index]
        assert isinstance(row, BoardRow)
        return row

    def mode_of(self, row: object) -> str:
        assert isinstance(row, BoardRow)
        return row.mode

    def cells(self, row: object) -> tuple[str, ...]:
        assert isinstance(row, BoardRow)
        latest = "none yet" if row.latest is None else f"{row.latest.type} v{row.latest.version}: "
        latest += row.latest.describe() if row.latest else ""
        overdue = f"{row.overdue_steps} OVERDUE" if row.overdue_steps else "none"
        return (
            mode_text(row.mode),
            row.title,
            f"{row.playbook_title} ({row.hazard})",
            row.status,
            age(row.opened_at, self.now),
            update_countdown(row, self.now)[0],
            overdue,
            latest,
        )

    def foreground(self, row: object, column: int) -> palette.State | None:
        assert isinstance(row, BoardRow)
        if column == 5:
            return update_countdown(row, self.now)[1]
        if column == 6 and row.overdue_steps:
            return "bad"
        if column == 7 and row.latest is not None and row.latest.state == "returned":
            return "warning"
        return super().foreground(row, column)

    def colour(self, row: object) -> palette.Tint | None:
        assert isinstance(row, BoardRow)
        return "quiet" if row.status == "closed" else None

    def sort_key(self, row: object, column: int) -> object:
        assert isinstance(row, BoardRow)
        if column == 4:
            return -datetime.fromisoformat(row.opened_at).timestamp()  # by age: older is more
        if column == 5:
            return row.next_update_at or "~"  # a drill's: when it falls due at the drill's pace ("~": paused)
        if column == 6:
            return row.overdue_steps
        return super().sort_key(row, column)


class PlaybooksModel(RowsModel[Playbook]):
    columns = ("Playbook", "Hazard", "Summary")

    def cells(self, row: Playbook) -> tuple[str, ...]:
        return (row.title.get("en") or row.id, row.hazard, row.summary)


class StepsModel(_IncidentRows):
    """The checklist against the clock, and the next update. A step not yet done can be ticked: the tick is a
    request (``tick_requested``); the row changes when the service has recorded it and the view reloads."""

    columns = ("Done", "Due", "What", "Owner", "State")
    mode_column = -1
    tick_requested = Signal(int)
    editable = True  # the person may tick steps (the service decides again)
    zone: tzinfo = UTC  # the incident's, where its times are read
    now: datetime | None = None  # the services' clock, for "today"

    def step_row(self, index: int) -> StepRow:
        row = self.rows[index]
        assert isinstance(row, StepRow)
        return row

    def mode_of(self, row: object) -> str:
        return ""

    def cells(self, row: object) -> tuple[str, ...]:
        assert isinstance(row, StepRow)
        state = {"done": "✓ done", "overdue": "OVERDUE", "due": "due soon", "upcoming": "upcoming"}[row.state]
        what = row.what if row.kind == "step" else f"{row.what} (the update cadence)"
        # A drill's incident: due at a drill time, as the evaluation measures it (the wall moment is the tooltip's).
        when = (
            offset_text(row.drill_at) if row.drill_at is not None else moment_text(row.due_at, self.zone, now=self.now)
        )
        return ("", when, what, row.owner, state)

    def tooltip(self, row: object, column: int) -> str | None:
        assert isinstance(row, StepRow)
        if column == 1 and row.drill_at is not None:
            if row.due_at is None:
                return f"due at drill time {offset_text(row.drill_at)}; the drill is not running, so nothing falls due"
            return f"due at drill time {offset_text(row.drill_at)}: {full(row.due_at, self.zone)} at the drill's pace"
        return full(row.due_at, self.zone) if column == 1 else super().tooltip(row, column)

    def foreground(self, row: object, column: int) -> palette.State | None:
        assert isinstance(row, StepRow)
        if column == 4:
            return {"done": "ok", "overdue": "bad", "due": "warning"}.get(row.state)  # type: ignore[return-value]
        return None

    def colour(self, row: object) -> palette.Tint | None:
        assert isinstance(row, StepRow)
        return {"overdue": "bad", "due": "warning"}.get(row.state)  # type: ignore[return-value]

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        base = super().flags(index)
        if index.isValid() and index.column() == 0:
            row = self.step_row(index.row())
            if row.kind == "step" and self.editable and row.state != "done":
                base |= Qt.ItemFlag.ItemIsUserCheckable
        return base

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if role == Qt.ItemDataRole.CheckStateRole and index.isValid() and index.column() == 0:
            row = self.step_row(index.row())
            if row.kind != "step":
                return None
            return Qt.CheckState.Checked if row.state == "done" else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.AccessibleTextRole and index.isValid() and index.column() == 0:
            row = self.step_row(index.row())
            return f"step {row.step}: {'done' if row.state == 'done' else 'not done'}" if row.step else "update"
        return super().data(index, role)

    def setData(self, index: AnyIndex, value: object, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.CheckStateRole or not index.isValid() or index.column() != 0:
            return False
        row = self.step_row(index.row())
        checked = value in (Qt.CheckState.Checked, Qt.CheckState.Checked.value)
        if row.step is not None and row.state != "done" and checked:
            self.tick_requested.emit(row.step)
        return False  # the row is the service's to change


MESSAGE_COLUMNS = ("Mode", "Message", "State", "Approval", "Deliveries")


class MessagesModel(_IncidentRows):
    columns = MESSAGE_COLUMNS

    def message_row(self, index: int) -> MessageRow:
        row = self.rows[index]
        assert isinstance(row, MessageRow)
        return row

    def mode_of(self, row: object) -> str:
        assert isinstance(row, MessageRow)
        return row.mode

    def cells(self, row: object) -> tuple[str, ...]:
        assert isinstance(row, MessageRow)
        deliveries = (
            "; ".join(f"{d.account}: {d.state}" for d in row.deliveries)
            if row.deliveries
            else ("queued" if row.state == "published" else "")
        )
        state = row.describe() if row.state != "published" else "published"
        return (mode_text(row.mode), f"{row.type} v{row.version}", state, row.approval, deliveries)

    def foreground(self, row: object, column: int) -> palette.State | None:
        assert isinstance(row, MessageRow)
        if column == 2:
            return {"returned": "warning", "approved": "ok", "published": "ok"}.get(row.state)  # type: ignore[return-value]
        if column == 4 and any(d.state == "dead" for d in row.deliveries):
            return "bad"
        if column == 4 and any(d.state in ("failed", "unknown") for d in row.deliveries):
            return "warning"
        return super().foreground(row, column)

    def tooltip(self, row: object, column: int) -> str | None:
        assert isinstance(row, MessageRow)
        if column == 4 and row.deliveries:
            return "\n".join(f"{d.account} ({d.kind}): {d.state} {d.detail}".rstrip() for d in row.deliveries)
        if column == 2 and row.comment:
            return f"Returned with: {row.comment}"
        if column == 1:
            return f"{row.id}, version {row.version} by {row.author}, hash {row.content_hash[:12]}…"
        return super().tooltip(row, column)


class TimelineModel(RowsModel[TimelineRow]):
    columns = ("When", "Who", "What", "Details")
    zone: tzinfo = UTC  # the incident's
    now: datetime | None = None

    def cells(self, row: TimelineRow) -> tuple[str, ...]:
        # A drill's incident: when in drill time; at 60x a whole hour of it happens inside one wall minute.
        when = offset_text(row.drill_at) if row.drill_at is not None else moment_text(row.at, self.zone, now=self.now)
        return (when, row.actor, row.what, row.summary)

    def tooltip(self, row: TimelineRow, column: int) -> str | None:
        if column == 0 and row.drill_at is not None:
            return f"drill time {offset_text(row.drill_at)}, {full(row.at, self.zone)}"
        return full(row.at, self.zone) if column == 0 else super().tooltip(row, column)


class SearchProxy(QSortFilterProxyModel):
    """Sorting by each column's own key and a case-insensitive search over every column."""

    def __init__(self, source: RowsModel[object] | RowsModel[Playbook], parent: object = None) -> None:
        super().__init__(parent)  # type: ignore[arg-type]
        self.setSourceModel(source)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setFilterKeyColumn(-1)
        if isinstance(source, _IncidentRows):
            self.setSortRole(SORT_ROLE)

    def source_rows(self, proxy_rows: Sequence[QModelIndex | QPersistentModelIndex]) -> list[int]:
        return [self.mapToSource(self.index(i.row(), 0)).row() for i in proxy_rows]
