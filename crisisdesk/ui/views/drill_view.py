"""The Drills place, for exercise controllers: load a scenario, run it (start, pause, resume, speed, jump, inject by
hand, end) with its clock and its Master Scenario Events List, see the notes the players were given, the outages in
force and the drill's EXERCISE incidents; then evaluate it and export the after-action report (``drill_report``).

Everything here is EXERCISE and says so: the striped EXERCISE band heads the place whatever is selected.

The clock: the drill's time is read with the drill (``Drill.drill_time``, at the moment the service read it) and
re-read whenever the watcher sees the database change (an inject fired, someone pressed Pause on another
workstation). Between reads the GUI thread advances it by itself from that reading, the compression and the status,
a few times a second: a smooth clock without asking the database every 100 ms.

Controllers (``Permission.RUN_EXERCISES``) act; everyone else sees the same place read-only, with a line saying why.
The services decide in the end (they re-read roles from the log at every action).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFont, QFontDatabase, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from crisisdesk.app import App
from crisisdesk.domain.drill import offset_text
from crisisdesk.domain.errors import CrisisdeskError
from crisisdesk.domain.roles import Actor, Permission
from crisisdesk.services.drills import (
    MAX_COMPRESSION,
    MIN_COMPRESSION,
    Drill,
    DrillService,
    DrillStatus,
    InjectState,
    InjectStatus,
)
from crisisdesk.ui import palette
from crisisdesk.ui.models.rows import plain_tip
from crisisdesk.ui.session import Session
from crisisdesk.ui.views.chrome import ModeBand, roles_text
from crisisdesk.ui.views.drill_models import (
    STATUS_WORDS,
    DrillIncidentsModel,
    MselModel,
    clock_text,
    drill_incident_rows,
    note_text,
)
from crisisdesk.ui.views.drill_picker import DrillPicker, drill_service
from crisisdesk.ui.views.drill_report import EvaluationPanel, ExportPanel, PlanPanel
from crisisdesk.ui.views.settings_common import StatusLine, ask, plain_label
from crisisdesk.ui.views.tables import row_table

NOTHING_FAILING = "Nothing failing: every exercise channel reachable."
PLAYERS_LINE = "Injects arrive as the drill goes: the list below shows those that have come so far."
CLOCK_MS = 200  # the clock's redraw while running: smooth seconds at 60x too
STATUS_STATES: dict[DrillStatus, palette.State] = {
    DrillStatus.LOADED: "muted",
    DrillStatus.RUNNING: "ok",
    DrillStatus.PAUSED: "warning",
    DrillStatus.ENDED: "muted",
}


def _button(text: str, name: str, tip: str, slot: Callable[[], object]) -> QPushButton:
    button = QPushButton(text)
    button.setAccessibleName(name)
    button.setToolTip(tip)
    button.clicked.connect(slot)
    return button


def _group(title: str, name: str) -> tuple[QGroupBox, QVBoxLayout]:
    box = QGroupBox(title)
    box.setAccessibleName(name)
    layout = QVBoxLayout(box)
    layout.setContentsMargins(6, 6, 6, 6)
    return box, layout


def _wrapped_list(name: str) -> QListWidget:
    """A short list of lines read whole (notes, outages): wrapped, never scrolled sideways."""
    shown = QListWidget()
    shown.setAccessibleName(name)
    shown.setWordWrap(True)
    shown.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    shown.setSpacing(2)
    return shown


def _show_lines(shown: QListWidget, lines: list[str], state: palette.State | None = None) -> None:
    """Put ``lines`` in the list, unless it holds them already: a re-read every few seconds must not flicker it or
    drop what the person selected."""
    if [shown.item(i).text() for i in range(shown.count())] == lines:
        return
    shown.clear()
    shown.addItems(lines)
    if state is not None:
        for i in range(shown.count()):
            shown.item(i).setForeground(palette.state_colour(state))


class DrillView(QWidget):
    """``incident_opened(incident id)``: the person wants that drill incident's workspace (the window shows it)."""

    incident_opened = Signal(str)

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.may_act = session.actor.may(Permission.RUN_EXERCISES)
        self.drills: list[Drill] | None = None  # the last read (None until the first arrives)
        self.drill: Drill | None = None  # the one shown
        self.chosen: str | None = None  # its id, kept across reads
        self.picker: DrillPicker | None = None
        self.confirm_box: object = None
        self.monotonic: Callable[[], float] = time.monotonic  # a test may hold the clock still
        self._read_at = 0.0  # monotonic moment of the last read
        self._speed_shown: tuple[str, float] | None = None  # the drill and speed the speed box was last set from
        self.clock = QTimer(self)
        self.clock.setInterval(CLOCK_MS)
        self.clock.timeout.connect(self._show_clock)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 8, 4)
        self.band = ModeBand()
        self.band.show_mode("exercise", "Drills")
        layout.addWidget(self.band)
        self.read_only = None
        if not self.may_act:
            self.read_only = plain_label(
                "Read-only: only an exercise controller runs drills, rates objectives and edits the report. "
                f"You are signed in as {session.actor.name} ({roles_text(session.actor)}). Players play in the "
                "drill's EXERCISE incidents (open them below).",
                name="Why this place is read-only",
                state="muted",
            )
            layout.addWidget(self.read_only)
        layout.addLayout(self._chooser())
        self.tabs = QTabWidget()
        self.tabs.setAccessibleName("Drill sections")
        self.tabs.addTab(self._control_tab(), "Control")
        self.evaluation = EvaluationPanel(session, self.may_act)
        self.plan = PlanPanel(session, self.may_act)
        self.export = ExportPanel(session, self.may_act)
        self.tabs.addTab(self.evaluation, "Evaluation")
        self.tabs.addTab(self.plan, "Improvement plan")
        self.tabs.addTab(self.export, "Report")
        self.tabs.currentChanged.connect(lambda _: self._tab_shown())
        layout.addWidget(self.tabs, 1)
        self.status = StatusLine("What the last drill action did")
        layout.addWidget(self.status)
        self._show_drill()
        session.watcher.changed.connect(self.reload)
        session.watcher.tick.connect(self.reload)
        self.reload()

    # -- building ------------------------------------------------------------------------------------------------

    def _chooser(self) -> QHBoxLayout:
        bar = QHBoxLayout()
        label = QLabel("&Drill:")
        self.choice = QComboBox()
        self.choice.setAccessibleName("Drill shown")
        self.choice.setToolTip("Drills loaded, running, paused and ended, newest first")
        self.choice.setMinimumContentsLength(40)
        self.choice.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.choice.activated.connect(lambda _: self._chose())
        label.setBuddy(self.choice)
        self.load_button = _button(
            "Load a scenario…",
            "Load a drill scenario",
            "Choose a shipped or your own scenario file (its problems are shown if it has any) to make a new drill",
            self.open_picker,
        )
        self.load_button.setEnabled(self.may_act)
        bar.addWidget(label)
        bar.addWidget(self.choice, 1)
        bar.addWidget(self.load_button)
        return bar

    def _control_tab(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self._head())
        layout.addLayout(self._control_buttons())
        split = QSplitter(Qt.Orientation.Vertical)
        self.msel = MselModel(self)
        self.msel_table = row_table(self.msel, (70, 120, 140, 0, 190), 3)
        self.msel_table.setAccessibleName("Master Scenario Events List: injects with their time, kind and state")
        self.msel_table.selectionModel().selectionChanged.connect(lambda *_: self._buttons())
        split.addWidget(self.msel_table)
        split.addWidget(self._lower())
        split.setSizes([290, 210])
        layout.addWidget(split, 1)
        return page

    def _head(self) -> QFrame:
        head = QFrame()
        head.setFrameShape(QFrame.Shape.StyledPanel)
        row = QHBoxLayout(head)
        names = QVBoxLayout()
        self.name = QLabel()
        self.name.setTextFormat(Qt.TextFormat.PlainText)
        self.name.setAccessibleName("Scenario")
        font = self.name.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.25)
        self.name.setFont(font)
        self.state = QLabel()
        self.state.setTextFormat(Qt.TextFormat.PlainText)
        self.state.setAccessibleName("Drill status")
        big = self.state.font()
        big.setBold(True)
        big.setPointSizeF(big.pointSizeF() * 1.25)
        self.state.setFont(big)
        self.next_line = QLabel()
        self.next_line.setTextFormat(Qt.TextFormat.PlainText)
        self.next_line.setAccessibleName("Next inject")
        for label in (self.name, self.state, self.next_line):
            # A long scenario name or inject summary is cut at the edge (whole in the tooltip), never widening the
            # window past the screen.
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            label.setMinimumWidth(label.fontMetrics().averageCharWidth() * 30)
            names.addWidget(label)
        row.addLayout(names, 1)
        self.clock_label = QLabel(clock_text(0))
        self.clock_label.setTextFormat(Qt.TextFormat.PlainText)
        self.clock_label.setAccessibleName("Drill clock")
        self.clock_label.setToolTip("Drill time since the start (hours:minutes:seconds), compressed by the speed")
        clock_font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        clock_font.setPointSizeF(self.font().pointSizeF() * 2.6)
        clock_font.setWeight(QFont.Weight.Bold)
        self.clock_label.setFont(clock_font)
        self.clock_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        row.addWidget(self.clock_label)
        speed = QVBoxLayout()
        self.speed_label = speed_label = QLabel("S&peed (drill minutes per minute):")
        self.speed = QSpinBox()
        self.speed.setRange(int(MIN_COMPRESSION), int(MAX_COMPRESSION))
        self.speed.setSuffix("x")
        self.speed.setAccessibleName("Time compression, 1 to 60 times")
        self.speed.setToolTip("1x is real time; 60x runs an hour of the scenario in a minute")
        speed_label.setBuddy(self.speed)
        self.speed_button = _button(
            "Set speed", "Set the time compression", "Apply this speed now (the clock keeps its time)", self.set_speed
        )
        speed_row = QHBoxLayout()
        speed_row.addWidget(self.speed)
        speed_row.addWidget(self.speed_button)
        speed.addWidget(speed_label)
        speed.addLayout(speed_row)
        row.addSpacing(12)
        row.addLayout(speed)
        return head

    def _control_buttons(self) -> QHBoxLayout:
        buttons = QHBoxLayout()
        self.start_button = _button(
            "▶ Start", "Start the drill", "Open the drill's EXERCISE incidents and start the clock", self.start
        )
        self.pause_button = _button("❚❚ Pause", "Pause the drill", "Stop the clock; no inject fires", self.pause)
        self.resume_button = _button("▶ Resume", "Resume the drill", "Start the clock again", self.resume)
        self.end_button = _button("■ End drill…", "End the drill", "End it for good (asks first)", self.ask_end)
        for button in (self.start_button, self.pause_button, self.resume_button, self.end_button):
            f = button.font()
            f.setBold(True)
            button.setFont(f)
            button.setMinimumHeight(button.fontMetrics().height() * 2)
            buttons.addWidget(button)
        buttons.addSpacing(24)
        self.jump_button = _button(
            "Jump to this inject",
            "Jump the clock to the selected inject",
            "Move drill time forward to the selected inject, which fires; pending injects before it are skipped",
            self.jump,
        )
        self.inject_button = _button(
            "Inject now",
            "Fire the selected inject now, by hand",
            "Fire the selected pending inject at once; the clock does not move",
            self.inject_now,
        )
        buttons.addWidget(self.jump_button)
        buttons.addWidget(self.inject_button)
        buttons.addStretch(1)
        return buttons

    def _lower(self) -> QSplitter:
        lower = QSplitter(Qt.Orientation.Horizontal)
        notes_box, notes_layout = _group("Notes for the players", "Notes given to the players")
        self.notes = _wrapped_list("Notes given to the players, newest first")
        notes_layout.addWidget(self.notes)
        lower.addWidget(notes_box)
        outage_box, outage_layout = _group("Failing now", "Outages in force")
        self.outages = _wrapped_list("Outages and network loss in force now")
        outage_layout.addWidget(self.outages)
        lower.addWidget(outage_box)
        incidents_box, incidents_layout = _group("The drill's incidents (EXERCISE)", "The drill's incidents")
        self.incidents = DrillIncidentsModel()
        self.incidents_table = row_table(self.incidents, (0, 110), 0)
        self.incidents_table.setAccessibleName("The drill's EXERCISE incidents")
        self.incidents_table.activated.connect(lambda _: self.open_incident())
        self.incidents_table.selectionModel().selectionChanged.connect(lambda *_: self._buttons())
        incidents_layout.addWidget(self.incidents_table)
        self.open_button = _button(
            "Open incident", "Open the selected drill incident", "Its workspace, where players draft and publish",
            self.open_incident,
        )  # fmt: skip
        incidents_layout.addWidget(self.open_button)
        lower.addWidget(incidents_box)
        lower.setSizes([420, 220, 330])
        return lower

    # -- reading -------------------------------------------------------------------------------------------------

    def reload(self) -> None:
        actor, monotonic = self.session.actor, self.monotonic

        def read(app: App) -> tuple[list[Drill], float]:
            # The moment the service reads its clock, not the moment the answer reaches this thread: at 60x a
            # task's 50 ms on the way would put the clock 3 s behind.
            at = monotonic()
            return drill_service(app).drills(actor), at

        self.session.tasks.run(read, lambda found: self.show_drills(*found), self._not_read, owner=self)

    def show_drills(self, drills: list[Drill], read_at: float | None = None) -> None:
        """Show the drills as read at the monotonic moment ``read_at`` (now if not given)."""
        self._read_at = self.monotonic() if read_at is None else read_at
        self.drills = drills
        ids = [d.id for d in drills]
        if self.chosen not in ids:
            # The drill that needs the controller: one running or paused, else the newest.
            live = [d for d in drills if d.status in (DrillStatus.RUNNING, DrillStatus.PAUSED)]
            pick = live or drills[:1]
            self.chosen = pick[0].id if pick else None
        texts = [f"{d.scenario.name} · {STATUS_WORDS[d.status]} · {offset_text(d.drill_time)}" for d in drills]
        self.choice.blockSignals(True)
        try:
            if [self.choice.itemData(i) for i in range(self.choice.count())] == ids:
                for i, text in enumerate(texts):  # in place: an open list stays open
                    if self.choice.itemText(i) != text:
                        self.choice.setItemText(i, text)
            else:
                self.choice.clear()
                for text, drill_id in zip(texts, ids, strict=True):
                    self.choice.addItem(text, drill_id)
            self.choice.setCurrentIndex(ids.index(self.chosen) if self.chosen in ids else -1)
        finally:
            self.choice.blockSignals(False)
        self.drill = next((d for d in drills if d.id == self.chosen), None)
        self._show_drill()

    def _not_read(self, error: CrisisdeskError) -> None:
        self.status.say(f"The drills could not be read: {error}", "bad")

    def _chose(self) -> None:
        self.chosen = self.choice.currentData()
        self.drill = next((d for d in self.drills or [] if d.id == self.chosen), None)
        self._show_drill()

    def show_drill_id(self, drill_id: str) -> None:
        """Show this drill (one just loaded) and read again."""
        self.chosen = drill_id
        self.reload()

    def _taken(self, drill: Drill, read_at: float | None = None) -> None:
        """A control action's answer: the drill as it is now, shown at once (the watcher's read follows)."""
        self._read_at = self.monotonic() if read_at is None else read_at
        self.drill = drill
        self.chosen = drill.id
        if self.drills is not None:
            # Through show_drills: the chooser's line (status, drill time) changes with the drill, not a read later.
            self.show_drills([drill if d.id == drill.id else d for d in self.drills], self._read_at)
            return
        self._show_drill()

    # -- showing -------------------------------------------------------------------------------------------------

    def _show_drill(self) -> None:
        d = self.drill
        self.band.show_mode("exercise", f"Drill: {d.scenario.name}" if d else "Drills")
        if d is None:
            self.name.setText("No drill yet" if not self.drills else "No drill chosen")
            self.state.setText("Load a scenario… to begin." if self.may_act else "No drill to follow yet.")
            self.state.setStyleSheet(palette.text_style("muted", bold=False))
            self.next_line.setText("")
            self.msel.set_rows([])
            _show_lines(self.notes, [])
            self.incidents.set_rows([])
            _show_lines(self.outages, [])
        else:
            self.name.setText(f"{d.scenario.name} · scenario {d.scenario.id} v{d.scenario.version} · {d.source}")
            self.name.setToolTip(plain_tip(d.scenario.summary))
            speed = f" at {d.compression:g}x" if d.status is DrillStatus.RUNNING else ""
            self.state.setText(f"{STATUS_WORDS[d.status]}{speed} · planned length {d.scenario.duration}")
            self.state.setStyleSheet(palette.text_style(STATUS_STATES[d.status]))
            upcoming = d.next_inject
            if d.status is DrillStatus.ENDED:
                self.next_line.setText("The drill has ended: evaluate it and export the report in the other tabs.")
            elif upcoming is None:
                self.next_line.setText(
                    f"Every inject is done; the planned length is {d.scenario.duration}. "
                    "End the drill when the players are done."
                )
            # else: the clock writes it, with the drill time left before it
            if (d.id, d.compression) != self._speed_shown:  # a speed being chosen stays until Set or a change
                self._speed_shown = (d.id, d.compression)
                self.speed.setValue(round(d.compression))
            self.msel.incidents = {iid: key for key, iid in d.incidents.items()}
            self.msel_table.setColumnHidden(2, len(d.scenario.incidents) < 2)  # one incident: the column says nothing
            selected = self._selected_inject()
            following = upcoming.id if upcoming and d.status is not DrillStatus.ENDED else None
            injects = sorted(d.injects, key=lambda i: i.scheduled)
            if not self.may_act:
                # The MSEL ahead is the controllers' script: players who read it have no drill left to play.
                injects, following = [i for i in injects if i.status is not InjectStatus.PENDING], None
            self.msel.update(injects, following, ended=d.status is DrillStatus.ENDED)
            if selected is not None and self._selected_inject() != selected:
                self._select_inject(selected)
            _show_lines(self.notes, [note_text(n) for n in sorted(d.notes, key=lambda n: n.fired_at, reverse=True)])
            self.incidents.set_rows(drill_incident_rows(d))
            # what fails now is what the controller watches: in the bad colour
            _show_lines(self.outages, d.outages or [NOTHING_FAILING], "bad" if d.outages else None)
        self._show_clock()
        if d is not None and d.status is DrillStatus.RUNNING and self.isVisible():
            self.clock.start()
        else:
            self.clock.stop()
        self._buttons()
        for panel in (self.evaluation, self.plan, self.export):
            panel.set_drill(d)
        self._tab_shown()

    def clock_seconds(self) -> float:
        """Drill time now, as the GUI thread reckons it from the last read."""
        d = self.drill
        if d is None:
            return 0.0
        seconds = d.drill_time.total_seconds()
        if d.status is DrillStatus.RUNNING:
            seconds += max(0.0, self.monotonic() - self._read_at) * d.compression
        return seconds

    def _show_clock(self) -> None:
        now = self.clock_seconds()
        text = clock_text(now)
        if self.clock_label.text() != text:
            self.clock_label.setText(text)
        d = self.drill
        upcoming = d.next_inject if d is not None and d.status is not DrillStatus.ENDED else None
        if upcoming is not None and not self.may_act:
            if self.next_line.text() != PLAYERS_LINE:
                self.next_line.setText(PLAYERS_LINE)
        elif upcoming is not None:
            left = upcoming.scheduled.total_seconds() - now
            due = f"in {clock_text(left).removeprefix('T+')} drill time" if left > 0 else "due now"
            if left > 0 and d is not None and d.status is DrillStatus.RUNNING and d.compression > 1:
                due += f", {clock_text(left / d.compression).removeprefix('T+')} real"
            elif left > 0 and d is not None and d.status is DrillStatus.PAUSED:
                due += ", paused"
            line = f"Next inject: {offset_text(upcoming.scheduled)} ({due}) · {upcoming.summary}"
            if self.next_line.text() != line:
                self.next_line.setText(line)
                self.next_line.setToolTip(plain_tip(line))
        state: palette.State = STATUS_STATES[d.status] if d else "muted"
        style = palette.text_style(state)
        if self.clock_label.styleSheet() != style:
            self.clock_label.setStyleSheet(style)

    def _buttons(self) -> None:
        d = self.drill
        status = d.status if d else None
        act = self.may_act and d is not None
        # One of Start, Pause, Resume at a time: the one that applies now, in the same place (no hunting).
        self.start_button.setVisible(status in (None, DrillStatus.LOADED))
        self.pause_button.setVisible(status is DrillStatus.RUNNING)
        self.resume_button.setVisible(status is DrillStatus.PAUSED)
        self.start_button.setEnabled(act and status is DrillStatus.LOADED)
        self.pause_button.setEnabled(act and status is DrillStatus.RUNNING)
        self.resume_button.setEnabled(act and status is DrillStatus.PAUSED)
        self.end_button.setEnabled(act and status in (DrillStatus.RUNNING, DrillStatus.PAUSED, DrillStatus.LOADED))
        self.end_button.setVisible(status is not DrillStatus.ENDED)  # an ended drill has nothing left to press
        self.speed.setEnabled(act and status is not DrillStatus.ENDED)
        self.speed_button.setEnabled(act and status in (DrillStatus.RUNNING, DrillStatus.PAUSED))
        inject = self._selected_inject_state()
        started = status in (DrillStatus.RUNNING, DrillStatus.PAUSED)
        pending = inject is not None and inject.status is InjectStatus.PENDING
        self.jump_button.setEnabled(act and started and pending)
        self.inject_button.setEnabled(act and started and pending)
        over = status is DrillStatus.ENDED  # nothing left to steer: the controls go, the record stays
        for control in (self.jump_button, self.inject_button, self.speed, self.speed_button, self.speed_label):
            control.setVisible(not over)
        rows = self.incidents_table.selectionModel().selectedRows()
        self.open_button.setEnabled(bool(rows) and self.incidents.row(rows[0].row()).incident_id is not None)
        if not self.may_act:
            # Players follow the drill; its controls are not theirs to look for (the read-only line says why).
            for control in (self.start_button, self.pause_button, self.resume_button, self.end_button,
                            self.jump_button, self.inject_button, self.speed, self.speed_button, self.speed_label,
                            self.load_button):  # fmt: skip
                control.setVisible(False)

    def _selected_inject(self) -> str | None:
        inject = self._selected_inject_state()
        return inject.id if inject else None

    def _selected_inject_state(self) -> InjectState | None:
        rows = self.msel_table.selectionModel().selectedRows()
        return self.msel.row(rows[0].row()) if rows else None

    def _select_inject(self, inject_id: str) -> None:
        for i, inject in enumerate(self.msel.rows):
            if inject.id == inject_id:
                self.msel_table.selectRow(i)
                return

    def select_inject(self, inject_id: str) -> None:
        self._select_inject(inject_id)
        self._buttons()

    def _tab_shown(self) -> None:
        current = self.tabs.currentWidget()
        for panel in (self.evaluation, self.plan, self.export):
            if current is panel:
                panel.shown()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self.drill is not None and self.drill.status is DrillStatus.RUNNING:
            self.clock.start()

    def hideEvent(self, event: object) -> None:  # the clock is nobody's business while hidden
        self.clock.stop()
        super().hideEvent(event)  # type: ignore[arg-type]

    # -- acting --------------------------------------------------------------------------------------------------

    def _act(self, what: str, call: Callable[[DrillService, Actor, str], Drill]) -> None:
        d = self.drill
        if d is None:
            return
        actor, drill_id, monotonic = self.session.actor, d.id, self.monotonic

        def run(app: App) -> tuple[Drill, float]:
            drill = call(drill_service(app), actor, drill_id)
            return drill, monotonic()  # the service read its clock last, for the drill it returns

        self.session.tasks.run(
            run,
            lambda done: self._done(what, *done),
            lambda e: self.status.say(f"Not done ({what}): {e}", "bad"),
            owner=self,
        )

    def _done(self, what: str, drill: Drill, read_at: float) -> None:
        self._taken(drill, read_at)
        self.status.say(f"{what} at {offset_text(drill.drill_time)}.", "ok")

    def start(self) -> None:
        factor = float(self.speed.value())
        self._act("Started", lambda s, a, i: s.start(a, i, compression=factor))

    def pause(self) -> None:
        self._act("Paused", lambda s, a, i: s.pause(a, i))

    def resume(self) -> None:
        self._act("Resumed", lambda s, a, i: s.resume(a, i))

    def set_speed(self) -> None:
        factor = float(self.speed.value())
        self._act(f"Speed set to {factor:g}x", lambda s, a, i: s.set_compression(a, i, factor))

    def jump(self) -> None:
        inject = self._selected_inject()
        if inject is not None:
            self._act(f"Jumped to {inject}", lambda s, a, i: s.jump(a, i, inject))

    def inject_now(self) -> None:
        inject = self._selected_inject()
        if inject is not None:
            self._act(f"Injected {inject} by hand", lambda s, a, i: s.inject(a, i, inject))

    def ask_end(self) -> None:
        d = self.drill
        if d is None:
            return
        pending = sum(1 for i in d.injects if i.status is InjectStatus.PENDING)
        left = f" {pending} inject(s) have not fired and never will." if pending else ""
        self.confirm_box = ask(
            self,
            "End the drill",
            f"End the drill “{d.scenario.name}” at {clock_text(self.clock_seconds())}? The clock stops for good.{left}"
            " The drill's incidents stay open for the players to close.",
            "End the drill",
            self.end,
        )

    def end(self) -> None:
        self._act("Ended", lambda s, a, i: s.end(a, i))

    def open_picker(self) -> DrillPicker:
        picker = DrillPicker(self.session, self)
        picker.loaded.connect(self._loaded)
        picker.finished.connect(lambda _: picker.deleteLater())
        self.picker = picker
        picker.open()
        return picker

    def _loaded(self, drill_id: str) -> None:
        self.status.say("Scenario loaded: check the MSEL, set the speed, then Start.", "ok")
        self.tabs.setCurrentIndex(0)
        self.show_drill_id(drill_id)

    def open_incident(self) -> None:
        rows = self.incidents_table.selectionModel().selectedRows()
        if rows:
            incident_id = self.incidents.row(rows[0].row()).incident_id
            if incident_id is not None:
                self.incident_opened.emit(incident_id)
