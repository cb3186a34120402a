"""The Drill place's tables: drills, scenario files, the MSEL with each inject's state, the players' notes, the drill's
incidents, the objectives with their measurements, and the improvement plan (the one editable table).

Drill times are offsets from the drill's start as controllers write them (``offset_text``: T+5m, T+1h05m02s), never
wall times: a drill runs compressed, and the MSEL is written in drill time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush

from crisisdesk.domain.drill import offset_text
from crisisdesk.domain.errors import UserError
from crisisdesk.services.after_action import Measurement, ObjectiveResult, PlanRow, parse_day
from crisisdesk.services.drills import Drill, DrillStatus, InjectState, InjectStatus, PlayerNote, ScenarioFile
from crisisdesk.ui import palette
from crisisdesk.ui.models.rows import RowsModel, plain_tip

AnyIndex = QModelIndex | QPersistentModelIndex

STATUS_WORDS = {
    DrillStatus.LOADED: "loaded, not started",
    DrillStatus.RUNNING: "RUNNING",
    DrillStatus.PAUSED: "PAUSED",
    DrillStatus.ENDED: "ended",
}
KIND_WORDS = {
    "feed-item": "Feed item",
    "cap-alert": "CAP alert",
    "comment": "Public comment",
    "note": "Note for players",
    "channel-outage": "Channel outage",
    "network-loss": "Network loss",
}


def clock_text(seconds: float) -> str:
    """The drill clock as a controller reads it at a glance: T+05:32, T+1:05:32."""
    total = max(int(seconds), 0)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"T+{hours}:{minutes:02d}:{secs:02d}" if hours else f"T+{minutes:02d}:{secs:02d}"


def span_text(value: timedelta | None) -> str:
    """A length of time (a measurement, a target): 12m30s, 1h05m, 45s; "never" when it did not happen."""
    if value is None:
        return "never"
    if value <= timedelta(0):
        return "0s"
    return offset_text(value).removeprefix("T+")


def inject_state_text(inject: InjectState, *, ended: bool = False) -> str:
    if inject.status is InjectStatus.FIRED:
        at = offset_text(inject.fired_at) if inject.fired_at is not None else "?"
        return f"fired at {at}" + (", by hand" if inject.by_hand else "")
    if inject.status is InjectStatus.SKIPPED:
        return "skipped (jumped past)"
    return "never fired (the drill ended)" if ended else "pending"


class DrillsModel(RowsModel[Drill]):
    columns = ("Scenario", "Status", "Drill time", "Loaded by", "Drill")

    def cells(self, row: Drill) -> tuple[str, ...]:
        return (row.scenario.name, STATUS_WORDS[row.status], offset_text(row.drill_time), row.loaded_by, row.id)

    def colour(self, row: Drill) -> palette.Tint | None:
        tints: dict[DrillStatus, palette.Tint] = {
            DrillStatus.RUNNING: "busy",
            DrillStatus.PAUSED: "warning",
            DrillStatus.ENDED: "quiet",
        }
        return tints.get(row.status)


class ScenariosModel(RowsModel[ScenarioFile]):
    columns = ("Scenario", "File", "State")

    def cells(self, row: ScenarioFile) -> tuple[str, ...]:
        name = row.scenario.name if row.scenario is not None else f"{row.path.stem} (has problems)"
        n = len(row.problems)
        state = "ready" if not n else f"{n} problem" + ("s" if n > 1 else "") + ": cannot be loaded"
        return (name, row.path.name, state)

    def colour(self, row: ScenarioFile) -> palette.Tint | None:
        return "bad" if row.problems else None

    def tooltip(self, row: ScenarioFile, column: int) -> str | None:
        if row.problems:
            return "\n".join(str(p) for p in row.problems)
        return str(row.path) if column == 1 else self.cells(row)[column]


class MselModel(RowsModel[InjectState]):
    """The Master Scenario Events List, in schedule order, each inject with what became of it. ``incidents`` names
    the drill's incidents (incident id -> the scenario's key and title) for the Incident column."""

    columns = ("At", "Kind", "Incident", "Inject", "State")

    def __init__(self, parent: object = None) -> None:
        super().__init__(None, parent)
        self.incidents: dict[str, str] = {}
        self.next_id: str | None = None
        self.ended = False  # the drill is over: a pending inject never fired, and never will

    def update(self, rows: list[InjectState], next_id: str | None, *, ended: bool = False) -> None:
        """Show the injects as read now. The same injects in the same order (the usual case: one changed state)
        change in place, keeping the selection and the scroll position; anything else is a reset."""
        if [r.id for r in rows] != [r.id for r in self.rows]:
            self.next_id, self.ended = next_id, ended
            self.set_rows(rows)
            return
        if rows == self.rows and next_id == self.next_id and ended == self.ended:
            return
        self.rows, self.next_id, self.ended = list(rows), next_id, ended
        if rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(rows) - 1, len(self.columns) - 1))

    def cells(self, row: InjectState) -> tuple[str, ...]:
        incident = self.incidents.get(row.incident_id or "", row.incident_id or "")
        summary = row.summary + (f" — {row.detail}" if row.detail else "")
        state = inject_state_text(row, ended=self.ended)
        if row.id == self.next_id:
            state = "NEXT · " + state
        return (offset_text(row.scheduled), KIND_WORDS.get(row.kind.value, row.kind.value), incident, summary, state)

    def colour(self, row: InjectState) -> palette.Tint | None:
        if row.id == self.next_id:
            return "busy"
        tints: dict[InjectStatus, palette.Tint] = {InjectStatus.FIRED: "ok", InjectStatus.SKIPPED: "quiet"}
        if self.ended and row.status is InjectStatus.PENDING:
            return "quiet"
        return tints.get(row.status)

    def tooltip(self, row: InjectState, column: int) -> str | None:
        return f"{row.id}: {self.cells(row)[column]}"


def note_text(note: PlayerNote) -> str:
    """A note as the players were given it: when, for whom, from whom, then its words."""
    return f"{offset_text(note.fired_at)} · for the {note.to.value} · {note.source}:\n{note.text}"


@dataclass(frozen=True, slots=True)
class DrillIncidentRow:
    key: str
    title: str
    playbook: str
    incident_id: str | None  # None until the drill starts


class DrillIncidentsModel(RowsModel[DrillIncidentRow]):
    columns = ("Incident", "Id")

    def cells(self, row: DrillIncidentRow) -> tuple[str, ...]:
        return (row.title, row.incident_id or "opens at Start")

    def tooltip(self, row: DrillIncidentRow, column: int) -> str | None:
        opened = f"incident {row.incident_id}" if row.incident_id else "not opened yet: the drill opens it at Start"
        return f"{row.title}: EXERCISE, from the playbook {row.playbook}, {opened}"


def drill_incident_rows(drill: Drill) -> list[DrillIncidentRow]:
    return [
        DrillIncidentRow(i.key, i.title or i.key, i.playbook, drill.incidents.get(i.key))
        for i in drill.scenario.incidents
    ]


def measured_text(result: ObjectiveResult) -> str:
    """The objective's measurements in one cell: 'first message: 12m30s of 15m, met; ...'."""
    parts = []
    for m in result.measurements:
        target = f" (target {m.target_text})" if m.target is not None or m.share_target is not None else ""
        verdict = {True: "met", False: "MISSED", None: ""}[m.met]
        parts.append(f"{m.value_text}{target}" + (f", {verdict}" if verdict else ""))
    return "; ".join(parts) or "nothing measured"


class ObjectivesModel(RowsModel[ObjectiveResult]):
    columns = ("Objective", "Measured against target", "Suggested", "Rating")

    def cells(self, row: ObjectiveResult) -> tuple[str, ...]:
        changed = " (changed)" if row.rating != row.suggested else ""
        return (row.title, measured_text(row), row.suggested.value, row.rating.value + changed)

    def colour(self, row: ObjectiveResult) -> palette.Tint | None:
        tints: dict[str, palette.Tint] = {"P": "ok", "M": "warning", "U": "bad"}
        return tints.get(row.rating.value)

    def tooltip(self, row: ObjectiveResult, column: int) -> str | None:
        if column == 3 and row.rating_note:
            return f"{row.rating.value}: {row.rating_note}"
        return self.cells(row)[column]


class MeasurementsModel(RowsModel[Measurement]):
    columns = ("Measure", "Measured", "Target", "Met", "Evidence")

    def cells(self, row: Measurement) -> tuple[str, ...]:
        met = {True: "met", False: "MISSED", None: "—"}[row.met]
        return (row.label, row.value_text, row.target_text, met, row.evidence)

    def colour(self, row: Measurement) -> palette.Tint | None:
        if row.met is None:
            return None
        return "ok" if row.met else "bad"


PLAN_COLUMNS = ("Issue", "Corrective action", "Capability", "Responsible", "Start", "Completion")
DATE_HINT = "a date as 2026-12-01, or empty"


class BadPlan(ValueError):
    """A row of the plan a person typed that cannot be saved (a date that is not one)."""


def _date(text: str, row: int, column: str) -> date | None:
    try:
        return parse_day(text, f"row {row + 1}, {column}:")
    except UserError as exc:
        raise BadPlan(str(exc)) from None


class PlanModel(QAbstractTableModel):
    """The improvement plan, edited in place: one row per issue, every cell plain text (dates as 2026-12-01, checked
    when saved). ``plan()`` gives the rows to save; ``set_plan`` shows saved rows (dropping unsaved edits)."""

    def __init__(self, parent: object = None) -> None:
        super().__init__(parent)  # type: ignore[arg-type]
        self.cells: list[list[str]] = []
        self.editable = True
        self.edited = False

    def set_plan(self, rows: list[PlanRow]) -> None:
        self.beginResetModel()
        self.cells = [
            [r.issue, r.corrective_action, r.capability, r.responsible,
             r.start.isoformat() if r.start else "", r.completion.isoformat() if r.completion else ""]
            for r in rows
        ]  # fmt: skip
        self.edited = False
        self.endResetModel()

    def plan(self) -> list[PlanRow]:
        """The rows as typed (blank rows left out); ``BadPlan`` names a cell that cannot be saved."""
        rows = []
        for n, c in enumerate(self.cells):
            if not any(v.strip() for v in c):
                continue
            if not c[0].strip():
                raise BadPlan(f"row {n + 1}: say what the issue is")
            rows.append(
                PlanRow(
                    issue=c[0].strip(),
                    corrective_action=c[1].strip(),
                    capability=c[2].strip(),
                    responsible=c[3].strip(),
                    start=_date(c[4], n, "Start"),
                    completion=_date(c[5], n, "Completion"),
                )
            )
        return rows

    def add_row(self, capability: str = "") -> int:
        at = len(self.cells)
        self.beginInsertRows(QModelIndex(), at, at)
        self.cells.append(["", "", capability, "", "", ""])
        self.endInsertRows()
        self.edited = True
        return at

    def remove_row(self, at: int) -> None:
        if 0 <= at < len(self.cells):
            self.beginRemoveRows(QModelIndex(), at, at)
            del self.cells[at]
            self.endRemoveRows()
            self.edited = True

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.cells)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(PLAN_COLUMNS)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or index.row() >= len(self.cells):
            return None
        value = self.cells[index.row()][index.column()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return value
        if role == Qt.ItemDataRole.ToolTipRole:
            return DATE_HINT if index.column() >= 4 else plain_tip(value or PLAN_COLUMNS[index.column()])
        if role == Qt.ItemDataRole.BackgroundRole and index.column() >= 4 and value.strip():
            try:
                date.fromisoformat(value.strip())
            except ValueError:
                return QBrush(palette.row_tint("bad"))
        return None

    def setData(self, index: AnyIndex, value: object, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if not index.isValid() or role != Qt.ItemDataRole.EditRole or not self.editable:
            return False
        text = str(value)
        if self.cells[index.row()][index.column()] == text:
            return False
        self.cells[index.row()][index.column()] = text
        self.edited = True
        self.dataChanged.emit(index, index, [Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole])
        return True

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        return base | Qt.ItemFlag.ItemIsEditable if self.editable else base

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return PLAN_COLUMNS[section]
        return None
