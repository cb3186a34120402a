"""The Drill place's evaluation and report tabs: each objective measured from the log against its target with the
suggested HSEEP rating, the controller's rating (a note required to set it), strengths and areas for improvement;
the improvement plan, edited in place; and the export of the AAR/IP (HTML, PDF) with the drill's audit export.

Everything comes from ``AfterActionService`` (the evaluation is rebuilt from the log at every read, in a task), and
every change is an event through it. What a person is typing is never overwritten by a re-read: the editors keep
their text until it is saved or the objective changes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from crisisdesk.app import App
from crisisdesk.domain.errors import CrisisdeskError
from crisisdesk.services.after_action import AfterActionService, Evaluation, ObjectiveResult, PlanRow, Rating
from crisisdesk.services.drills import Drill, DrillStatus
from crisisdesk.ui.session import Session
from crisisdesk.ui.views.drill_models import (
    BadPlan,
    MeasurementsModel,
    ObjectivesModel,
    PlanModel,
)
from crisisdesk.ui.views.settings_common import StatusLine, plain_label
from crisisdesk.ui.views.tables import row_table

RATING_WORDS = {rating: f"{rating.value} — {rating.words}" for rating in Rating}
NOT_STARTED = "The evaluation begins once the drill has started: every measure comes from what happens in it."


def after_action(app: App) -> AfterActionService:
    """The after-action service of a task's App."""
    return app.after_action()


def _lines(edit: QPlainTextEdit) -> list[str]:
    return [line.strip().lstrip("•-").strip() for line in edit.toPlainText().splitlines() if line.strip()]


def _button(text: str, name: str, tip: str, slot: Callable[[], object]) -> QPushButton:
    button = QPushButton(text)
    button.setAccessibleName(name)
    button.setToolTip(tip)
    button.clicked.connect(slot)
    return button


class _Panel(QWidget):
    """A tab that follows the drill shown: ``set_drill`` at every read; ``shown`` when its tab is in front (it reads
    the evaluation then, if the drill changed since it last did)."""

    def __init__(self, session: Session, may_act: bool) -> None:
        super().__init__()
        self.session = session
        self.may_act = may_act
        self.drill: Drill | None = None
        self.evaluation: Evaluation | None = None
        self._stale = True

    def set_drill(self, drill: Drill | None) -> None:
        if drill is None or self.drill is None or drill.id != self.drill.id:
            self.evaluation = None
            self.cleared()
        self.drill = drill
        self._stale = True

    def cleared(self) -> None:
        """The drill shown changed: forget the last one's evaluation."""

    def shown(self) -> None:
        if self._stale:
            self._stale = False
            self.read()

    def read(self) -> None:
        d = self.drill
        if d is None or d.status is DrillStatus.LOADED:
            self.show_evaluation(None)
            return
        actor, drill_id = self.session.actor, d.id
        self.session.tasks.run(
            lambda app: after_action(app).evaluate(actor, drill_id), self.show_evaluation, self.not_read, owner=self
        )

    def show_evaluation(self, evaluation: Evaluation | None) -> None:
        raise NotImplementedError

    def not_read(self, error: CrisisdeskError) -> None:
        raise NotImplementedError

    def changed(self, evaluation: Evaluation) -> None:
        """A change went through: the service's answer is the evaluation as it is now."""
        self._stale = False
        self.show_evaluation(evaluation)


class EvaluationPanel(_Panel):
    def __init__(self, session: Session, may_act: bool) -> None:
        super().__init__(session, may_act)
        self.showing: str | None = None  # the objective whose rating and texts the editors hold
        self.prefer: str | None = None  # the objective to select when the next evaluation arrives
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        top = QHBoxLayout()
        self.summary = plain_label(name="Evaluation summary")
        self.again_button = _button(
            "Evaluate again", "Measure the drill again from the log", "Re-read the log now", self.read
        )
        top.addWidget(self.summary, 1)
        top.addWidget(self.again_button)
        layout.addLayout(top)

        split = QSplitter(Qt.Orientation.Vertical)
        self.objectives = ObjectivesModel()
        self.objectives_table = row_table(self.objectives, (360, 0, 80, 110), 1)
        self.objectives_table.setAccessibleName("Objectives with their measured times against targets and ratings")
        self.objectives_table.selectionModel().selectionChanged.connect(lambda *_: self._objective_chosen())
        split.addWidget(self.objectives_table)

        lower = QSplitter(Qt.Orientation.Horizontal)
        self.measurements = MeasurementsModel()
        self.measurements_table = row_table(self.measurements, (0, 80, 110, 70, 0), 0)
        self.measurements_table.setColumnHidden(4, True)  # the evidence is read whole, below
        self.measurements_table.setAccessibleName("The selected objective's measurements against their targets")
        measured = QWidget()
        measured_layout = QVBoxLayout(measured)
        measured_layout.setContentsMargins(0, 0, 0, 0)
        measured_layout.addWidget(self.measurements_table, 1)
        self.evidence = plain_label(name="The evidence from the log for each measurement")
        measured_layout.addWidget(self.evidence)
        lower.addWidget(measured)
        editors = QWidget()
        form = QFormLayout(editors)
        form.setContentsMargins(6, 0, 0, 0)
        self.suggested = plain_label(name="Suggested rating", state="muted")
        form.addRow("Suggested:", self.suggested)
        self.rating = QComboBox()
        self.rating.setAccessibleName("The controller's rating of this objective")
        for value, words in RATING_WORDS.items():
            self.rating.addItem(words, value.value)
        self.rating.currentIndexChanged.connect(lambda _: self._rating_buttons())
        form.addRow("&Rating:", self.rating)
        self.note = QLineEdit()
        self.note.setAccessibleName("Why this rating (required to set it)")
        self.note.setPlaceholderText("Required: why this rating, in a sentence")
        self.note.textChanged.connect(lambda _: self._rating_buttons())
        form.addRow("&Note:", self.note)
        self.rate_button = _button(
            "Save rating", "Save the rating with its note", "Recorded in the log with your note", self.save_rating
        )
        form.addRow("", self.rate_button)
        self.strengths = QPlainTextEdit()
        self.strengths.setAccessibleName("Strengths for this objective, one per line")
        self.strengths.setPlaceholderText("One strength per line")
        self.areas = QPlainTextEdit()
        self.areas.setAccessibleName("Areas for improvement for this objective, one per line")
        self.areas.setPlaceholderText("One area for improvement per line, with its evidence")
        for edit in (self.strengths, self.areas):
            edit.setTabChangesFocus(True)
            edit.setMaximumHeight(edit.fontMetrics().height() * 5)
            edit.modificationChanged.connect(lambda _: self._rating_buttons())
        form.addRow("&Strengths:", self.strengths)
        form.addRow("&Areas:", self.areas)
        self.texts_button = _button(
            "Save strengths and areas",
            "Save the strengths and areas for improvement",
            "They go into the after-action report under this objective",
            self.save_texts,
        )
        form.addRow("", self.texts_button)
        lower.addWidget(editors)
        lower.setSizes([520, 420])
        split.addWidget(lower)
        split.setSizes([140, 290])
        layout.addWidget(split, 1)
        self.others = plain_label(name="Other measures")
        layout.addWidget(self.others)
        self.status = StatusLine("What the last evaluation change did")
        layout.addWidget(self.status)
        for widget in (self.rating, self.note, self.strengths, self.areas):
            widget.setEnabled(may_act)
        self._rating_buttons()

    def cleared(self) -> None:
        self.showing = None
        self.objectives.set_rows([])
        self.measurements.set_rows([])
        self.evidence.setText("")

    def show_evaluation(self, evaluation: Evaluation | None) -> None:
        self.evaluation = evaluation
        if evaluation is None:
            self.summary.setText(NOT_STARTED if self.drill is not None else "No drill chosen.")
            self.cleared()
            self.others.setText("")
            self._rating_buttons()
            return
        chosen, self.prefer = self.prefer or self.showing, None
        self.objectives.set_rows(evaluation.objectives)
        counts = {r: sum(1 for o in evaluation.objectives if o.rating is r) for r in Rating}
        ratings = ", ".join(f"{n} {r.value}" for r, n in counts.items() if n)
        ended = "" if self.drill is not None and self.drill.status is DrillStatus.ENDED else " (drill still going)"
        self.summary.setText(f"{len(evaluation.objectives)} objectives: {ratings or 'none rated'}{ended}.")
        self.others.setText(self._others_text(evaluation))
        ids = [o.objective_id for o in evaluation.objectives]
        if ids:
            self.objectives_table.selectRow(ids.index(chosen) if chosen in ids else 0)
        self._objective_chosen()

    @staticmethod
    def _others_text(e: Evaluation) -> str:
        latencies = ", ".join(m.value_text for m in e.approval_latencies) or "none"
        lines = [f"Approval latency (submitted to approved): {latencies}."]
        for title, items in (
            ("Lint findings that went out", e.lint_findings_sent),
            ("Break-glass publications", e.break_glass),
            ("Outbox failures", e.outbox_failures),
        ):
            lines.append(f"{title}: " + ("; ".join(items) if items else "none") + ".")
        return "\n".join(lines)

    def not_read(self, error: CrisisdeskError) -> None:
        self.summary.setText(f"The drill could not be evaluated: {error}")

    def selected(self) -> ObjectiveResult | None:
        rows = self.objectives_table.selectionModel().selectedRows()
        return self.objectives.row(rows[0].row()) if rows else None

    def select(self, objective_id: str) -> None:
        for i, o in enumerate(self.objectives.rows):
            if o.objective_id == objective_id:
                self.objectives_table.selectRow(i)

    def _objective_chosen(self) -> None:
        o = self.selected()
        if o is None:
            self.measurements.set_rows([])
            self.evidence.setText("")
            self.suggested.setText("")
            self._rating_buttons()
            return
        self.measurements.set_rows(o.measurements)
        self.evidence.setText("\n".join(f"{m.label}: {m.evidence or 'no evidence'}." for m in o.measurements))
        self.suggested.setText(f"{RATING_WORDS[o.suggested]} (from the measures)")
        same = o.objective_id == self.showing
        if not same or not self.note.isModified():
            self.rating.blockSignals(True)
            self.rating.setCurrentIndex(self.rating.findData(o.rating.value))
            self.rating.blockSignals(False)
            self.note.setText(o.rating_note or "")
            self.note.setModified(False)
        for edit, lines in ((self.strengths, o.strengths), (self.areas, o.areas)):
            if not same or not edit.document().isModified():
                edit.setPlainText("\n".join(lines))
                edit.document().setModified(False)
        self.showing = o.objective_id
        self._rating_buttons()

    def _rating_buttons(self) -> None:
        o = self.selected()
        act = self.may_act and o is not None
        note = self.note.text().strip()
        changed = o is not None and (self.rating.currentData() != o.rating.value or note != (o.rating_note or ""))
        self.rate_button.setEnabled(act and bool(note) and changed)
        if act and changed and not note:
            self.rate_button.setToolTip("Write why in the note first: a rating is saved with its reason")
        else:
            self.rate_button.setToolTip("Recorded in the log with your note")
        edited = self.strengths.document().isModified() or self.areas.document().isModified()
        self.texts_button.setEnabled(act and edited)
        self.again_button.setEnabled(self.drill is not None)

    def save_rating(self) -> None:
        o, d = self.selected(), self.drill
        note = self.note.text().strip()
        if o is None or d is None or not note:
            return
        actor, drill_id, objective, rating = self.session.actor, d.id, o.objective_id, str(self.rating.currentData())
        self.session.tasks.run(
            lambda app: after_action(app).rate(actor, drill_id, objective, rating, note),
            lambda e: self._saved(e, f"Rated {objective} {rating}."),
            lambda e: self.status.say(f"Not rated: {e}", "bad"),
            owner=self,
        )

    def save_texts(self) -> None:
        o, d = self.selected(), self.drill
        if o is None or d is None:
            return
        actor, drill_id, objective = self.session.actor, d.id, o.objective_id
        strengths, areas = _lines(self.strengths), _lines(self.areas)
        self.session.tasks.run(
            lambda app: after_action(app).edit_objective(actor, drill_id, objective, strengths=strengths, areas=areas),
            lambda e: self._saved(e, f"Saved {len(strengths)} strength(s) and {len(areas)} area(s) for {objective}."),
            lambda e: self.status.say(f"Not saved: {e}", "bad"),
            owner=self,
        )

    def _saved(self, evaluation: Evaluation, said: str) -> None:
        self.note.setModified(False)
        self.strengths.document().setModified(False)
        self.areas.document().setModified(False)
        kept = self.selected()
        self.showing = None  # the editors take the saved values...
        self.prefer = kept.objective_id if kept is not None else None  # ...of the objective still selected
        self.changed(evaluation)
        self.status.say(said, "ok")


class PlanPanel(_Panel):
    """The improvement plan table, edited in place and saved whole (``drill.report_edited`` with the plan)."""

    def __init__(self, session: Session, may_act: bool) -> None:
        super().__init__(session, may_act)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(
            plain_label(
                "The improvement plan of the after-action report: one row per issue, with its corrective action, the "
                "capability, who is responsible, and the start and completion dates (as 2026-12-01). Double-click a "
                "cell to edit it; Save plan records the whole table.",
                name="About the improvement plan",
                state="muted",
            )
        )
        self.model = PlanModel(self)
        self.model.editable = may_act
        self.table = row_table(self.model, (230, 260, 170, 120, 95, 0), 1)
        self.table.setAccessibleName("Improvement plan: issue, corrective action, capability, responsible, dates")
        self.table.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.AnyKeyPressed
        )
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.model.dataChanged.connect(lambda *_: self._buttons())
        self.model.rowsInserted.connect(lambda *_: self._buttons())
        self.model.rowsRemoved.connect(lambda *_: self._buttons())
        layout.addWidget(self.table, 1)
        bar = QHBoxLayout()
        self.add_button = _button(
            "Add row", "Add a row to the improvement plan", "A new issue at the end", self.add_row
        )
        self.remove_button = _button(
            "Remove row", "Remove the selected row from the plan", "Takes it out when you save", self.remove_row
        )
        self.undo_button = _button(
            "Undo changes", "Drop the unsaved changes to the plan", "Show the plan as last saved", self.read
        )
        self.save_button = _button(
            "Save plan", "Save the improvement plan", "Record the whole table in the log", self.save
        )
        for b in (self.add_button, self.remove_button, self.undo_button):
            bar.addWidget(b)
        bar.addStretch(1)
        bar.addWidget(self.save_button)
        layout.addLayout(bar)
        self.status = StatusLine("What the last plan change did")
        layout.addWidget(self.status)
        self._buttons()

    def cleared(self) -> None:
        self.model.set_plan([])

    def shown(self) -> None:
        if not self.model.edited:  # a re-read never drops what is being typed
            super().shown()

    def show_evaluation(self, evaluation: Evaluation | None) -> None:
        self.evaluation = evaluation
        self.model.set_plan(evaluation.plan if evaluation else [])
        if evaluation is None:
            self.status.say(NOT_STARTED if self.drill is not None else "No drill chosen.", "muted")
        self._buttons()

    def not_read(self, error: CrisisdeskError) -> None:
        self.status.say(f"The plan could not be read: {error}", "bad")

    def _buttons(self) -> None:
        act = self.may_act and self.evaluation is not None
        self.add_button.setEnabled(act)
        self.remove_button.setEnabled(act and self.model.rowCount() > 0)
        self.undo_button.setEnabled(act and self.model.edited)
        self.save_button.setEnabled(act and self.model.edited)

    def add_row(self) -> None:
        capability = ""
        if self.evaluation is not None and self.evaluation.objectives:
            capability = self.evaluation.objectives[0].capability
        row = self.model.add_row(capability)
        self.table.setCurrentIndex(self.model.index(row, 0))
        self.table.edit(self.model.index(row, 0))

    def remove_row(self) -> None:
        index = self.table.currentIndex()
        if index.isValid():
            self.model.remove_row(index.row())

    def rows(self) -> list[PlanRow]:
        return self.model.plan()

    def save(self) -> None:
        d = self.drill
        if d is None:
            return
        try:
            rows = self.model.plan()
        except BadPlan as exc:
            self.status.say(f"Not saved: {exc}", "bad")
            return
        actor, drill_id = self.session.actor, d.id
        self.session.tasks.run(
            lambda app: after_action(app).set_plan(actor, drill_id, rows),
            lambda e: self._saved(e, len(rows)),
            lambda e: self.status.say(f"Not saved: {e}", "bad"),
            owner=self,
        )

    def _saved(self, evaluation: Evaluation, n: int) -> None:
        self.changed(evaluation)
        self.status.say(f"Saved the improvement plan ({n} row{'s' if n != 1 else ''}).", "ok")


class ExportPanel(_Panel):
    """The AAR/IP as HTML and PDF, and the drill's audit export, into a folder the person chooses."""

    def __init__(self, session: Session, may_act: bool) -> None:
        super().__init__(session, may_act)
        self.written: list[Path] | None = None
        self.choose_folder: Callable[[], str] = self._ask_for_folder  # a test answers instead of the dialog
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(
            plain_label(
                "The after-action report and improvement plan (HSEEP AAR/IP): the exercise overview, each objective's "
                "analysis with its rating, strengths and areas for improvement, the improvement plan, a timeline of "
                "injects and actions and a chart of measured times against targets; with the drill's audit export. "
                "Every timing comes from the log. Edit ratings, strengths and the plan in the other tabs first.",
                name="About the report",
                state="muted",
            )
        )
        formats = QHBoxLayout()
        self.html = QCheckBox("HTML")
        self.html.setAccessibleName("Write the report as HTML")
        self.pdf = QCheckBox("PDF")
        self.pdf.setAccessibleName("Write the report as PDF")
        self.audit = QCheckBox("Audit export of the drill")
        self.audit.setAccessibleName("Write the drill's audit export")
        for box in (self.html, self.pdf, self.audit):
            box.setChecked(True)
            box.toggled.connect(lambda _: self._buttons())
            formats.addWidget(box)
        formats.addStretch(1)
        layout.addLayout(formats)
        self.export_button = _button(
            "Export to a folder…",
            "Export the after-action report to a folder",
            "Choose a folder; the files are written there and listed below",
            self.export_dialog,
        )
        row = QHBoxLayout()
        row.addWidget(self.export_button)
        row.addStretch(1)
        layout.addLayout(row)
        self.files = QListWidget()
        self.files.setAccessibleName("Files written by the last export")
        layout.addWidget(self.files, 1)
        self.status = StatusLine("What the last export did")
        layout.addWidget(self.status)
        self._buttons()

    def cleared(self) -> None:
        self.written = None
        self.files.clear()

    def read(self) -> None:  # nothing to read: the export reads the log when it runs
        self._buttons()

    def show_evaluation(self, evaluation: Evaluation | None) -> None:
        self._buttons()

    def not_read(self, error: CrisisdeskError) -> None:
        self.status.say(str(error), "bad")

    def _buttons(self) -> None:
        d = self.drill
        started = d is not None and d.status is not DrillStatus.LOADED
        chosen = self.html.isChecked() or self.pdf.isChecked() or self.audit.isChecked()
        self.export_button.setEnabled(started and chosen)  # a report is read, not changed: anyone may write it out
        if d is not None and not started:
            self.status.say(NOT_STARTED, "muted")
        elif d is not None and d.status is not DrillStatus.ENDED and self.written is None:
            self.status.say("The drill is still going: an export now reports it as it stands.", "warning")

    def _ask_for_folder(self) -> str:
        return QFileDialog.getExistingDirectory(self, "Export the after-action report into this folder")

    def export_dialog(self) -> None:
        folder = self.choose_folder()
        if folder:
            self.export_to(Path(folder))

    def export_to(self, folder: Path) -> None:
        d = self.drill
        if d is None:
            return
        actor, drill_id = self.session.actor, d.id
        html, pdf, audit = self.html.isChecked(), self.pdf.isChecked(), self.audit.isChecked()
        self.export_button.setEnabled(False)
        self.status.say(f"Writing the report into {folder}…", "muted")
        self.session.tasks.run(
            lambda app: after_action(app).export(actor, drill_id, folder, html=html, pdf=pdf, audit=audit),
            lambda files: self._exported(folder, files),
            lambda e: self.status.say(f"Not exported: {e}", "bad"),
            on_done=self._buttons,
            owner=self,
        )

    def _exported(self, folder: Path, files: list[Path]) -> None:
        self.written = files
        self.files.clear()
        self.files.addItems([str(f) for f in files])
        self.status.say(f"Wrote {len(files)} file(s) into {folder}.", "ok")
