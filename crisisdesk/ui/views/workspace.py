"""One incident's workspace: its facts (each change recorded), the checklist and update cadence against the clock,
its messages with their states, and the timeline, newest first in the incident's zone. From here a person drafts a
message of any type the playbook has, changes the status, closes the incident, and raises a False alarm.

The composer, the publish and false-alarm dialogs and the deliveries view are built elsewhere and imported when
first asked for, so this view works before they exist (it says what is missing instead)."""

from __future__ import annotations

import importlib
import logging
from datetime import datetime
from typing import Any

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from crisisdesk.domain.errors import CrisisdeskError
from crisisdesk.domain.facts import zone
from crisisdesk.domain.incidents import Status
from crisisdesk.services.board import MessageRow, Workspace
from crisisdesk.services.messages import MessageView
from crisisdesk.ui import palette
from crisisdesk.ui.dialogs import shortcuts
from crisisdesk.ui.models.incidents import (
    MessagesModel,
    StepsModel,
    TimelineModel,
    countdown,
    drill_countdown,
    mode_text,
)
from crisisdesk.ui.session import Session
from crisisdesk.ui.views.chrome import PlaceholderPage
from crisisdesk.ui.views.fact_form import FactForm
from crisisdesk.ui.views.siblings import conflict_reason
from crisisdesk.ui.views.tables import row_table
from crisisdesk.ui.when import moment_text

log = logging.getLogger(__name__)

COMPOSER = ("crisisdesk.ui.views.composer", "Composer")
DELIVERIES = ("crisisdesk.ui.views.deliveries", "DeliveriesView")
PUBLISH = ("crisisdesk.ui.dialogs.publish", "PublishDialog")
FALSE_ALARM = ("crisisdesk.ui.dialogs.false_alarm", "FalseAlarmDialog")
EDITABLE = ("draft", "returned", "submitted", "conflict")  # in conflict: the composer shows the siblings


def lazy_class(module: str, name: str) -> Any:
    """A view or dialog another part of the console provides, or None while it does not exist yet."""
    try:
        return getattr(importlib.import_module(module), name)
    except ImportError as exc:
        log.info("%s.%s is not available: %s", module, name, exc)
        return None
    except AttributeError:
        log.info("%s has no %s yet", module, name)
        return None


class IncidentWorkspace(QWidget):
    """``back_requested``: the person wants the board again. ``mode_shown(mode, title)``: the incident's mode, for
    the window's band and title."""

    back_requested = Signal()
    mode_shown = Signal(str, str)

    def __init__(self, session: Session, incident_id: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.incident_id = incident_id
        self.space: Workspace | None = None
        self.form: FactForm | None = None
        self.hosted: QWidget | None = None
        self.dialog: QDialog | None = None
        self.confirm_box: QMessageBox | None = None
        self.setAccessibleName(f"Incident {incident_id}")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.pages = QStackedWidget()
        outer.addWidget(self.pages)
        self.pages.addWidget(self._main_page())
        self.pages.addWidget(self._hosted_page())
        session.watcher.changed.connect(self.reload)
        session.watcher.tick.connect(self.reload)
        self.reload()

    # -- building -----------------------------------------------------------------------------------------

    def _main_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 8, 4)
        top = QHBoxLayout()
        self.back_button = QPushButton("← Board")
        self.back_button.setAccessibleName("Back to the incident board")
        self.back_button.setToolTip(f"All incidents ({shortcuts.COMMANDS['back'].text()})")
        self.back_button.setShortcut(shortcuts.keys("back"))
        self.back_button.clicked.connect(self.back_requested)
        top.addWidget(self.back_button)
        self.mode_label = QLabel()
        self.mode_label.setTextFormat(Qt.TextFormat.PlainText)
        self.mode_label.setAccessibleName("Incident mode")
        self.mode_label.setFrameShape(QFrame.Shape.Box)
        self.mode_label.setMargin(4)
        top.addWidget(self.mode_label)
        self.title = QLabel("Loading…")
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.title.setAccessibleName("Incident title")
        font = self.title.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.3)
        self.title.setFont(font)
        top.addWidget(self.title, 1)
        self.false_alarm_button = QPushButton("⚠  False alarm…")
        self.false_alarm_button.setAccessibleName("False alarm")
        self.false_alarm_button.setToolTip(
            "Something went out that should not have: send the pre-approved cancel and a public correction "
            f"({shortcuts.COMMANDS['false_alarm'].text()})"
        )
        background, foreground = palette.band_colours("live")
        self.false_alarm_button.setStyleSheet(
            f"QPushButton:enabled {{ background: {background.name()}; color: {foreground.name()};"
            " font-weight: bold; padding: 6px 14px; }"
        )
        self.false_alarm_button.clicked.connect(self.false_alarm)
        top.addWidget(self.false_alarm_button)
        layout.addLayout(top)
        self._actions(layout)
        layout.addWidget(self._body(), 1)
        self._message_buttons()
        # Keys while the incident itself is shown (not the composer it hosts); a disabled button ignores its click.
        shortcuts.bind(page, "draft", self.draft_button.click)
        shortcuts.bind(page, "publish", self.publish_button.click)
        shortcuts.bind(page, "false_alarm", self.false_alarm_button.click)
        return page

    def _actions(self, layout: QVBoxLayout) -> None:
        self.about = QLabel()
        self.about.setTextFormat(Qt.TextFormat.PlainText)
        self.about.setWordWrap(True)
        self.about.setAccessibleName("About this incident")
        layout.addWidget(self.about)

        actions = QHBoxLayout()
        self.draft_type = QComboBox()
        self.draft_type.setAccessibleName("Type of message to draft")
        self.draft_button = QPushButton("Draft message")
        self.draft_button.setAccessibleName("Draft a message of the chosen type")
        self.draft_button.setToolTip(
            "Render the playbook's templates with the facts, for every channel and language "
            f"({shortcuts.COMMANDS['draft'].text()})"
        )
        self.draft_button.clicked.connect(self.draft)
        actions.addWidget(self.draft_type)
        actions.addWidget(self.draft_button)
        actions.addSpacing(24)
        status_label = QLabel("Status")
        actions.addWidget(status_label)
        self.status = QComboBox()
        self.status.setAccessibleName("Incident status")
        for status in (Status.ACTIVE, Status.MONITORING):
            self.status.addItem(status.value, status.value)
        status_label.setBuddy(self.status)
        self.status.activated.connect(self._status_chosen)
        actions.addWidget(self.status)
        self.close_button = QPushButton("Close incident…")
        self.close_button.setAccessibleName("Close the incident")
        self.close_button.clicked.connect(self.ask_close)
        actions.addWidget(self.close_button)
        actions.addStretch(1)
        layout.addLayout(actions)

        self.refusal = QLabel()
        self.refusal.setTextFormat(Qt.TextFormat.PlainText)
        self.refusal.setWordWrap(True)
        self.refusal.setAccessibleName("Not done")
        self.refusal.setStyleSheet(palette.text_style("bad"))
        self.refusal.hide()
        layout.addWidget(self.refusal)

    def _body(self) -> QSplitter:
        split = QSplitter(Qt.Orientation.Horizontal)
        facts_box = QGroupBox("Facts")
        facts_layout = QVBoxLayout(facts_box)
        facts_layout.setContentsMargins(4, 4, 4, 4)
        self.facts_scroll = QScrollArea()
        self.facts_scroll.setWidgetResizable(True)
        self.facts_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.facts_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.facts_scroll.setAccessibleName("Facts")
        facts_layout.addWidget(self.facts_scroll)
        split.addWidget(facts_box)

        right = QSplitter(Qt.Orientation.Vertical)
        steps_box = QGroupBox("Checklist and next update")
        steps_layout = QVBoxLayout(steps_box)
        steps_layout.setContentsMargins(4, 4, 4, 4)
        self.steps = StepsModel()
        self.steps.tick_requested.connect(self.tick)
        self.steps_table = row_table(self.steps, (46, 150, 0, 105, 90), 2)
        self.steps_table.setAccessibleName("Checklist")
        steps_layout.addWidget(self.steps_table)
        right.addWidget(steps_box)

        messages_box = QGroupBox("Messages")
        messages_layout = QVBoxLayout(messages_box)
        messages_layout.setContentsMargins(4, 4, 4, 4)
        bar = QHBoxLayout()
        self.compose_button = QPushButton("Open in composer")
        self.compose_button.setAccessibleName("Open the selected message in the composer")
        self.compose_button.clicked.connect(lambda: self._with_selected(self.open_composer))
        self.publish_button = QPushButton("Publish…")
        self.publish_button.setAccessibleName("Publish the selected message")
        self.publish_button.setToolTip(f"An approved message, to its channels ({shortcuts.COMMANDS['publish'].text()})")
        self.publish_button.clicked.connect(lambda: self._with_selected(self.open_publish))
        self.deliveries_button = QPushButton("Deliveries…")
        self.deliveries_button.setAccessibleName("Deliveries of the selected message")
        self.deliveries_button.clicked.connect(lambda: self._with_selected(self.open_deliveries))
        for button in (self.compose_button, self.publish_button, self.deliveries_button):
            bar.addWidget(button)
        bar.addStretch(1)
        messages_layout.addLayout(bar)
        self.messages = MessagesModel()
        self.messages_table = row_table(self.messages, (110, 90, 0, 140, 150), 2)
        self.messages_table.setAccessibleName("Messages")
        self.messages_table.selectionModel().selectionChanged.connect(lambda *_: self._message_buttons())
        self.messages_table.doubleClicked.connect(self._message_double_clicked)
        messages_layout.addWidget(self.messages_table)
        right.addWidget(messages_box)

        timeline_box = QGroupBox("Timeline (newest first)")
        timeline_layout = QVBoxLayout(timeline_box)
        timeline_layout.setContentsMargins(4, 4, 4, 4)
        self.timeline = TimelineModel()
        self.timeline_table = row_table(self.timeline, (150, 80, 170, 0), 3)
        self.timeline_table.setAccessibleName("Timeline")
        timeline_layout.addWidget(self.timeline_table)
        right.addWidget(timeline_box)
        right.setSizes([190, 170, 170])
        split.addWidget(right)
        split.setSizes([380, 620])
        split.setStretchFactor(1, 1)
        return split

    def _hosted_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 8, 4)
        bar = QHBoxLayout()
        self.hosted_back = QPushButton("← Back to the incident")
        self.hosted_back.setAccessibleName("Back to the incident")
        self.hosted_back.setToolTip(f"The incident's facts, checklist, messages ({shortcuts.COMMANDS['back'].text()})")
        self.hosted_back.setShortcut(shortcuts.keys("back"))
        self.hosted_back.clicked.connect(self.show_main)
        bar.addWidget(self.hosted_back)
        self.hosted_title = QLabel()
        self.hosted_title.setTextFormat(Qt.TextFormat.PlainText)
        self.hosted_title.setAccessibleName("What is shown")
        self.hosted_title.setStyleSheet("font-weight: bold;")
        bar.addWidget(self.hosted_title, 1)
        layout.addLayout(bar)
        self.hosted_area = QVBoxLayout()
        layout.addLayout(self.hosted_area, 1)
        return page

    # -- reading ------------------------------------------------------------------------------------------

    def reload(self) -> None:
        actor, incident_id = self.session.actor, self.incident_id
        self.session.tasks.run(lambda app: app.board().workspace(actor, incident_id), self.show_workspace,
                               self._not_loaded, owner=self)  # fmt: skip

    def show_workspace(self, space: Workspace) -> None:
        first = self.space is None
        self.space = space
        incident = space.incident
        mode = incident.mode.value
        self.title.setText(incident.title)
        self.mode_label.setText(f" {mode_text(mode)} ")
        self.mode_label.setStyleSheet(palette.text_style(mode))  # type: ignore[arg-type]
        here, now = zone(incident.timezone), datetime.fromisoformat(space.now)
        self.steps.zone = self.timeline.zone = here
        self.steps.now = self.timeline.now = now
        update = next((d for d in space.due if d.kind == "update"), None)
        playbook = space.playbook.title.get("en") or space.playbook.id
        if space.drill is not None:
            # A drill's incident: reminders and times in drill time, what its evaluation measures.
            drill = space.drill
            next_update = drill_countdown(update.drill_at if update else None, drill, update.state if update else "")
            pace = f"at {drill.compression:g}x" if drill.status == "running" else f"({drill.status})"
            self.about.setText(
                f"{playbook} · drill time {drill.text} {pace} · opened by {incident.opened_by} · status: "
                f"{incident.status.value} · an update every {space.cadence} of drill time, next: {next_update[0]} · "
                "times are drill times"
            )
        else:
            next_update = countdown(update.due_at if update else None, space.now, update.state if update else "")
            self.about.setText(
                f"{playbook} · opened {moment_text(incident.opened_at, here, now=now)} by "
                f"{incident.opened_by} · status: {incident.status.value} · updates every {space.cadence}, "
                f"next {next_update[0]} · times in {incident.timezone}"
            )
        self.about.setToolTip(f"Incident {incident.id}")  # to quote it, or to find it with the commands
        if first:
            self.form = FactForm(
                space.playbook,
                incident.timezone,
                self.session.core.clock.now(),
                recorded={f.name: f.value for f in space.facts if f.value is not None},
                set_buttons=True,
                labels_above=True,
            )
            self.form.set_requested.connect(self.set_fact)
            self.facts_scroll.setWidget(self.form)
            self.draft_type.clear()
            for t in space.message_types:
                self.draft_type.addItem(t, t)
            self.mode_shown.emit(mode, incident.title)
        elif self.form is not None:
            self.form.show_recorded({f.name: f.value for f in space.facts if f.value is not None})
        if self.form is not None:
            self.form.setEnabled(space.may_work)
        self.status.setCurrentIndex(max(self.status.findData(incident.status.value), 0))
        closed = incident.status is Status.CLOSED
        for control in (self.draft_type, self.draft_button, self.status, self.close_button):
            control.setEnabled(space.may_work)
        self.status.setToolTip("closed: open a new incident for new events" if closed else "")
        self.false_alarm_button.setEnabled(space.may_work and space.published)
        self.steps.editable = space.may_work
        self.steps.set_rows(space.due)
        self.messages.set_rows(space.messages)
        self.timeline.set_rows(space.timeline)
        self._message_buttons()

    # -- doing --------------------------------------------------------------------------------------------

    def _run(self, call: Any, on_result: Any = None) -> None:
        """A change through the services; the refusal (in its own words) shown at the top of the workspace."""
        self.refusal.hide()

        def done(value: object) -> None:
            if on_result is not None:
                on_result(value)
            self.reload()  # at once, not at the watcher's next look

        self.session.tasks.run(call, done, self.show_refusal, owner=self)

    def _not_loaded(self, error: CrisisdeskError) -> None:
        """The incident cannot be read (roles gone, say): nothing here may be acted on."""
        self.show_refusal(error)
        for control in (self.draft_button, self.status, self.close_button, self.false_alarm_button):
            control.setEnabled(False)
        if self.form is not None:
            self.form.setEnabled(False)
        self.steps.editable = False
        self.publish_button.setEnabled(False)

    def show_refusal(self, error: CrisisdeskError) -> None:
        self.refusal.setText(f"Not done: {error}")
        self.refusal.show()

    def set_fact(self, name: str, value: str) -> None:
        actor, incident_id = self.session.actor, self.incident_id
        self._run(lambda app: app.incidents().set_fact(actor, incident_id, name, value))

    def tick(self, step: int) -> None:
        actor, incident_id = self.session.actor, self.incident_id
        self._run(lambda app: app.incidents().step_done(actor, incident_id, step))

    def draft(self) -> None:
        message_type = self.draft_type.currentData()
        if not message_type:
            return
        actor, incident_id = self.session.actor, self.incident_id

        def drafted(view: MessageView) -> None:
            self.open_composer(view.id)

        self._run(lambda app: app.messages().draft(actor, incident_id, message_type), drafted)

    def _status_chosen(self, index: int) -> None:
        status = Status(self.status.itemData(index))
        if self.space is not None and self.space.incident.status is status:
            return
        actor, incident_id = self.session.actor, self.incident_id
        self._run(lambda app: app.incidents().set_status(actor, incident_id, status))

    def ask_close(self) -> None:
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Close the incident",
            f"Close {self.title.text()}? Nothing more can be drafted or published on it; the checklist and cadence "
            "stop. Open a new incident if it flares up again.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            self,
        )
        box.setDefaultButton(QMessageBox.StandardButton.No)  # the safe answer is the default
        box.button(QMessageBox.StandardButton.Yes).setText("Close incident")
        box.setAccessibleName("Close the incident")
        box.finished.connect(self._close_answered)
        self.confirm_box = box
        box.open()

    def _close_answered(self, result: int) -> None:
        if result != QMessageBox.StandardButton.Yes:
            return
        actor, incident_id = self.session.actor, self.incident_id
        self._run(lambda app: app.incidents().close(actor, incident_id))

    # -- other parts of the console -----------------------------------------------------------------------

    def _selected_message(self) -> MessageRow | None:
        rows = self.messages_table.selectionModel().selectedRows()
        return self.messages.message_row(rows[0].row()) if rows else None

    def _with_selected(self, action: Any) -> None:
        row = self._selected_message()
        if row is not None:
            action(row.id)

    def _message_buttons(self) -> None:
        row = self._selected_message()
        may = self.space is not None and self.space.may_work
        self.compose_button.setEnabled(row is not None and row.state in EDITABLE)
        self.publish_button.setEnabled(row is not None and may and row.state == "approved")
        self.publish_button.setToolTip(
            conflict_reason("published")
            if row is not None and row.state == "conflict"
            else f"An approved message, to its channels ({shortcuts.COMMANDS['publish'].text()})"
        )
        self.deliveries_button.setEnabled(row is not None and row.state == "published")

    def _message_double_clicked(self, index: QModelIndex) -> None:
        row = self.messages.message_row(index.row())
        if row.state == "published":
            self.open_deliveries(row.id)
        elif row.state == "approved" and self.publish_button.isEnabled():
            self.open_publish(row.id)
        else:
            self.open_composer(row.id)

    def host(self, widget: QWidget, title: str) -> None:
        """Show ``widget`` in place of the workspace, with a way back."""
        if self.hosted is not None:
            self.hosted_area.removeWidget(self.hosted)
            self.hosted.deleteLater()
        self.hosted = widget
        self.hosted_area.addWidget(widget, 1)
        self.hosted_title.setText(title)
        self.pages.setCurrentIndex(1)

    def show_main(self) -> None:
        self.pages.setCurrentIndex(0)
        self.reload()

    def open_composer(self, message_id: str) -> None:
        composer = lazy_class(*COMPOSER)
        title = f"{self.title.text()}: {message_id}"
        if composer is None:
            self.host(
                PlaceholderPage(
                    "Composer",
                    f"The composer for {message_id} comes here: each channel's and language's text with its length "
                    "and lint, a preview, the targets, and Submit.\n\nUntil then: 'crisisdesk message show "
                    f"{message_id}', 'crisisdesk message edit' and 'crisisdesk message submit'.",
                ),
                title,
            )
            return
        widget = composer(self.session, message_id)
        if hasattr(widget, "submitted"):
            widget.submitted.connect(lambda _id: self.show_main())
        self.host(widget, title)

    def open_deliveries(self, message_id: str) -> None:
        view = lazy_class(*DELIVERIES)
        title = f"{self.title.text()}: deliveries of {message_id}"
        if view is None:
            self.host(
                PlaceholderPage(
                    "Deliveries",
                    f"The deliveries of {message_id} come here, per channel: state, tries, next try, receipt and "
                    "reason, with Retry and Retract.\n\nUntil then: the Outbox place (Ctrl+4).",
                ),
                title,
            )
            return
        self.host(view(self.session, message_id), title)

    def open_publish(self, message_id: str) -> None:
        self._open_dialog(PUBLISH, message_id, f"Publishing {message_id} from the window comes with the publish "
                          f"dialog. Until then: 'crisisdesk message publish {message_id}'.")  # fmt: skip

    def false_alarm(self) -> None:
        self._open_dialog(FALSE_ALARM, self.incident_id, "The False alarm dialog is not built yet. Until then: "
                          f"'crisisdesk message false-alarm {self.incident_id} --correction …'.")  # fmt: skip

    def _open_dialog(self, which: tuple[str, str], about: str, missing: str) -> None:
        dialog_class = lazy_class(*which)
        if dialog_class is None:
            box = QMessageBox(QMessageBox.Icon.Information, "Not in the window yet", missing, parent=self)
            box.setAccessibleName("Not in the window yet")
            self.dialog = box
            box.open()
            return
        dialog = dialog_class(self.session, about)
        dialog.setParent(self, dialog.windowFlags())
        dialog.finished.connect(lambda _: self.reload())
        self.dialog = dialog
        dialog.open()
