"""A published message's deliveries in place: per channel its state, tries, next try, receipt and reason; Retry and
Retract, with a confirm that names the channels, the mode and what cannot be taken back."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from crisisdesk.domain.errors import CrisisdeskError
from crisisdesk.domain.facts import zone
from crisisdesk.domain.incidents import Mode, working_permissions
from crisisdesk.domain.roles import Permission
from crisisdesk.services.deliveries import Delivery, MessageDeliveries, RetractPlan
from crisisdesk.ui import palette
from crisisdesk.ui.models.deliveries import RECEIPT, DeliveriesModel, mode_words
from crisisdesk.ui.session import Session
from crisisdesk.ui.views.chrome import ModeBand
from crisisdesk.ui.views.tables import row_table
from crisisdesk.ui.when import moment_text


def retract_words(plan: RetractPlan, *, one_channel: bool) -> tuple[str, str]:
    """The confirm's question and its details: the channels, the mode, and what stays with people."""
    where = f"on {plan.channels[0]}" if one_channel and plan.channels else "on every channel"
    live = "the public" if plan.mode == "live" else "exercise channels only"
    question = f"Retract {plan.message_id} {where}?  [{mode_words(plan.mode)}: {live}]"
    lines = []
    if plan.take_back:
        lines.append("Taken back (the channel deletes it): " + ", ".join(plan.take_back))
    if plan.stop:
        lines.append("Stopped before it is sent: " + ", ".join(plan.stop))
    if plan.cannot:
        lines.append("CANNOT be retracted; people already have it:")
        lines += [f"  • {name}: {why}" for name, why in plan.cannot]
        lines.append("  Publish a correction to reach them.")
    if plan.untouched:
        lines.append("Left as they are (withdrawn already or given up): " + ", ".join(plan.untouched))
    if not plan.channels:
        lines.append("Nothing is left to retract.")
    return question, "\n".join(lines)


class DeliveriesView(QWidget):
    """``DeliveriesView(session, message_id)``: refreshes when the database changes and every half minute (the
    next-try countdown)."""

    def __init__(self, session: Session, message_id: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.message_id = message_id
        self.found: MessageDeliveries | None = None
        self.confirm: QMessageBox | None = None
        self.setAccessibleName(f"Deliveries of {message_id}")
        layout = QVBoxLayout(self)
        self.band = ModeBand()
        layout.addWidget(self.band)
        self.heading = QLabel(f"Deliveries of {message_id}")
        self.heading.setTextFormat(Qt.TextFormat.PlainText)
        self.heading.setAccessibleName("Message")
        self.heading.setWordWrap(True)
        font = self.heading.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self.heading.setFont(font)
        layout.addWidget(self.heading)
        self.summary = QLabel()
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.summary.setAccessibleName("Delivery summary")
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)

        bar = QHBoxLayout()
        self.retry_button = QPushButton("Retry")
        self.retry_button.setAccessibleName("Retry the selected delivery")
        self.retry_button.clicked.connect(self.retry_selected)
        self.open_button = QPushButton("Open receipt")
        self.open_button.setAccessibleName("Open the selected delivery's receipt")
        self.open_button.clicked.connect(self.open_selected)
        self.retract_channel_button = QPushButton("Retract on this channel…")
        self.retract_channel_button.setAccessibleName("Retract the message on the selected channel")
        self.retract_channel_button.clicked.connect(lambda: self.ask_retract(one_channel=True))
        self.retract_button = QPushButton("Retract everywhere…")
        self.retract_button.setAccessibleName("Retract the message on every channel")
        self.retract_button.clicked.connect(lambda: self.ask_retract(one_channel=False))
        for b in (self.retry_button, self.open_button, self.retract_channel_button, self.retract_button):
            b.setAutoDefault(False)
        bar.addWidget(self.retry_button)
        bar.addWidget(self.open_button)
        bar.addStretch(1)
        bar.addWidget(self.retract_channel_button)
        bar.addWidget(self.retract_button)
        layout.addLayout(bar)

        self.model = DeliveriesModel(self)
        self.table = row_table(self.model, (170, 95, 175, 45, 140, 230, 0, 130), 6)
        # The reason is what a person acts on: on two lines rather than cut off (a message has a few channels).
        self.table.setWordWrap(True)
        self.table.verticalHeader().setDefaultSectionSize(2 * self.table.fontMetrics().height() + 8)
        self.table.setAccessibleName(f"Deliveries of {message_id} by channel")
        self.table.clicked.connect(self._clicked)
        self.table.activated.connect(self._activated)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._enable())
        layout.addWidget(self.table, 1)
        self.outcome = QLabel()
        self.outcome.setTextFormat(Qt.TextFormat.PlainText)
        self.outcome.setAccessibleName("Outcome")
        self.outcome.setWordWrap(True)
        layout.addWidget(self.outcome)

        session.watcher.changed.connect(self.reload)
        session.watcher.tick.connect(self.reload)
        self._enable()
        self.reload()

    # -- reading ----------------------------------------------------------------------------------------------

    def reload(self) -> None:
        actor, message_id = self.session.actor, self.message_id
        self.session.tasks.run(
            lambda app: app.deliveries().for_message(actor, message_id), self._show, self._not_loaded, owner=self
        )

    def _show(self, found: MessageDeliveries) -> None:
        selected = self.selected()
        self.found = found
        tz = zone(found.timezone)
        self.band.show_mode("exercise" if found.mode == "exercise" else "live", found.incident_title)
        published = (
            f"published {moment_text(found.published_at, tz, now=found.now)} by {found.published_by}"
            if found.published_at
            else f"not published ({found.state})"
        )
        self.heading.setText(
            f"{mode_words(found.mode)}  ·  {found.message_id}: {found.type} v{found.version}, {published}"
        )
        counts: dict[str, int] = {}
        for d in found.deliveries:
            counts[d.row.state] = counts.get(d.row.state, 0) + 1
        order = ("sent", "queued", "sending", "failed", "unknown", "dead")
        said = ", ".join(f"{counts[s]} {s}" for s in order if s in counts)
        self.summary.setText(
            f"{len(found.deliveries)} channel(s): {said}" if found.deliveries else "Nothing was handed to the outbox."
        )
        dead = counts.get("dead", 0)
        self.summary.setStyleSheet(palette.text_style("bad") if dead else "")
        self.model.show(found.deliveries, tz, found.now)
        if selected is not None:
            row = next((i for i, d in enumerate(found.deliveries) if d.row.id == selected.row.id), None)
            if row is not None:
                self.table.selectRow(row)
        self._enable()

    def _not_loaded(self, error: CrisisdeskError) -> None:
        self.summary.setText(f"The deliveries could not be read: {error}")

    def selected(self) -> Delivery | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.row(rows[0].row()) if rows and rows[0].row() < self.model.rowCount() else None

    def _enable(self) -> None:
        """Mirror what the services allow (they decide again, and their refusal is what the person reads)."""
        d = self.selected()
        actor = self.session.actor
        found = self.found
        approver = actor.may(Permission.APPROVE)
        mode = Mode(found.mode) if found else Mode.LIVE
        worker = approver or any(actor.may(p) for p in working_permissions(mode))
        self.retry_button.setEnabled(bool(d and d.retryable and worker))
        self.retry_button.setToolTip(
            "Send a failed, dead or unknown delivery again now"
            if worker
            else "Only communicators and approvers send a delivery again"
        )
        self.open_button.setEnabled(bool(d and d.row.remote_url))
        anything = bool(found and any(x.retractable for x in found.deliveries))
        self.retract_button.setEnabled(anything and approver)
        self.retract_channel_button.setEnabled(bool(d and d.retractable and approver))
        why = "Take the message back where the channel allows; stop what is not sent"
        for b in (self.retract_button, self.retract_channel_button):
            b.setToolTip(why if approver else "Only approvers take a message back")

    # -- receipts ---------------------------------------------------------------------------------------------

    def _clicked(self, index: QModelIndex) -> None:
        if index.column() == RECEIPT:
            self._open(self.model.row(index.row()))

    def _activated(self, index: QModelIndex) -> None:
        self._open(self.model.row(index.row()))

    def open_selected(self) -> None:
        d = self.selected()
        if d is not None:
            self._open(d)

    def _open(self, d: Delivery) -> None:
        url = d.row.remote_url
        if not url:
            return
        if not QDesktopServices.openUrl(QUrl(url)):
            self.outcome.setText(f"Could not open {url}: no program on this computer opens it")

    # -- retry and retract ------------------------------------------------------------------------------------

    def retry_selected(self) -> None:
        d = self.selected()
        if d is None:
            return
        actor, row_id, name = self.session.actor, d.row.id, d.row.account
        self.outcome.setText("")
        self.session.tasks.run(
            lambda app: app.outbox().retry(actor, row_id),
            lambda _: self._done(f"{name}: sent again as soon as the outbox runs"),
            self._refused,
            owner=self,
        )

    def ask_retract(self, *, one_channel: bool) -> None:
        found = self.found
        d = self.selected()
        if found is None or (one_channel and d is None):
            return
        account = d.row.account if one_channel and d is not None else None
        plan = found.retract_plan(account)
        question, details = retract_words(plan, one_channel=one_channel)
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle(f"Retract {found.message_id}: {mode_words(found.mode)}")
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setText(question)
        box.setInformativeText(details)
        go = box.addButton(f"Retract on {len(plan.channels)} channel(s)", QMessageBox.ButtonRole.DestructiveRole)
        cancel = box.addButton(QMessageBox.StandardButton.Cancel)
        go.setAccessibleName("Retract")
        go.setAutoDefault(False)
        go.setEnabled(bool(plan.channels))
        cancel.setAccessibleName("Cancel the retraction")
        box.setDefaultButton(cancel)  # the safe answer: Enter and Space on open keep everything as it is
        box.setEscapeButton(cancel)
        box.setAccessibleName("Confirm the retraction")
        box.finished.connect(lambda _: self._answered(box, go, account))
        self.confirm = box
        box.open()

    def _answered(self, box: QMessageBox, go: QPushButton, account: str | None) -> None:
        if box.clickedButton() is not go:
            self.outcome.setText("Nothing was retracted.")
            return
        actor, message_id = self.session.actor, self.message_id
        self.session.tasks.run(
            lambda app: app.outbox().request_retract(actor, message_id, account),
            lambda rows: self._done(f"Retraction asked on {len(rows)} channel(s); the outbox carries it out."),
            self._refused,
            owner=self,
        )

    def _done(self, said: str) -> None:
        self.outcome.setText(said)
        self.outcome.setStyleSheet("")
        self.reload()  # at once, not at the watcher's next look

    def _refused(self, error: CrisisdeskError) -> None:
        self.outcome.setText(str(error))
        self.outcome.setStyleSheet(palette.text_style("bad"))
