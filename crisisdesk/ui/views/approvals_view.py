"""The Approvals place: the submitted versions this person may approve, and for the one chosen everything an
approver must read before naming its hash: each variant's exact text (hidden characters escaped and marked), the
hash, the authors, the lint findings, the CAP summary, the channels with their modes, the area and audience, and
the change from what was last published. Approve (names the exact hash shown) or Return with a comment.

The service decides (``ReviewService`` says who may and why not, in ``approve``'s own words; ``approve`` decides
again from the log); this view only enables the buttons to match and shows what the service says.
"""

from __future__ import annotations

from PySide6.QtCore import QItemSelection, Qt, Signal
from PySide6.QtGui import QGuiApplication, QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from crisisdesk.domain.errors import CrisisdeskError
from crisisdesk.domain.roles import Permission
from crisisdesk.services.messages import MessageView
from crisisdesk.services.review import QueueEntry, Review
from crisisdesk.ui import palette
from crisisdesk.ui.dialogs import shortcuts
from crisisdesk.ui.models.approvals import ApprovableFilter, QueueModel
from crisisdesk.ui.session import Session
from crisisdesk.ui.views.chrome import ModeBand
from crisisdesk.ui.views.exact_text import ExactText, senders
from crisisdesk.ui.views.previews import cap_moment
from crisisdesk.ui.views.siblings import SiblingVersions, conflict_reason
from crisisdesk.ui.views.tables import row_table

SHORT_HASH = 12


def plain_label(name: str, text: str = "", *, wrap: bool = True) -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(wrap)
    label.setAccessibleName(name)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class ApprovalsView(QWidget):
    """``approved(message_id)`` and ``returned(message_id)`` after the service recorded it."""

    approved = Signal(str)
    returned = Signal(str)

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.review: Review | None = None
        self.message_id: str | None = None  # the version shown (whether or not the queue lists it)
        self._choose_first = True  # a person arriving here gets the oldest waiting version; after acting, not
        # After acting: the versions that were waiting then (content hashes). One that arrives later is opened for
        # the person who stays here (an update submitted while they wait); those already waiting are theirs to pick.
        self._waiting_when_acted: set[str] | None = None
        self._busy = False
        self.dialog: QWidget | None = None

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 8, 4)
        bar = QHBoxLayout()
        self.count = plain_label("Versions waiting", wrap=False)
        self.show_every = QCheckBox("Show every submitted version (your own too)")
        self.show_every.setAccessibleName("Show every submitted version")
        self.show_every.setToolTip("Versions you may not approve are listed greyed, with the reason")
        bar.addWidget(self.count)
        bar.addStretch(1)
        bar.addWidget(self.show_every)
        layout.addLayout(bar)

        self.model = QueueModel()
        self.proxy = ApprovableFilter(self.model)
        self.table = row_table(self.proxy, (110, 0, 230, 120, 0), 1)
        self.table.setAccessibleName("Versions waiting for approval")
        rows = self.table.verticalHeader().defaultSectionSize()
        self.table.setMaximumHeight(self.table.horizontalHeader().sizeHint().height() + 4 * rows + 4)
        self.table.setMinimumHeight(self.table.horizontalHeader().sizeHint().height() + 2 * rows + 4)
        self.table.hideColumn(4)
        self.show_every.toggled.connect(self._show_every)
        self.table.selectionModel().selectionChanged.connect(self._selected)
        layout.addWidget(self.table)

        self.band = ModeBand()
        self.band.label.setAccessibleName("Mode of the version's incident")
        layout.addWidget(self.band)
        self.heading = plain_label("Version")
        font = self.heading.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self.heading.setFont(font)
        layout.addWidget(self.heading)

        # A version in conflict (sibling versions from several workstations): shown side by side, with Merge….
        self.siblings = SiblingVersions(session)
        self.siblings.merged.connect(lambda _view: self.reload())
        layout.addWidget(self.siblings)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.setChildrenCollapsible(False)
        split.addWidget(self._build_summary())
        self.tabs = QTabWidget()
        self.tabs.setAccessibleName("Texts and changes")
        self.texts = ExactText("Exact texts of every variant")
        self.changes = ExactText("Changes from the last published version")
        self.tabs.addTab(self.texts, "Exact texts")
        self.tabs.addTab(self.changes, "Changes since published")
        self.tabs.currentChanged.connect(lambda _: self._fill_changes())
        self._changes_shown = False
        split.addWidget(self.tabs)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        split.setSizes([400, 600])
        layout.addWidget(split, 1)
        layout.addWidget(self._build_actions())

        self._show_nothing()
        session.watcher.changed.connect(self.reload)
        self.reload()

    # -- building ---------------------------------------------------------------------------------------------

    def _build_summary(self) -> QWidget:
        box = QWidget()
        form = QVBoxLayout(box)
        form.setContentsMargins(0, 4, 0, 0)
        hash_row = QHBoxLayout()
        self.hash_label = plain_label("Content hash, short", wrap=False)
        self.full_hash_button = QPushButton("Full hash")
        self.full_hash_button.setAccessibleName("Show the full content hash")
        self.full_hash_button.setCheckable(True)
        self.full_hash_button.setAutoDefault(False)
        self.copy_hash_button = QPushButton("Copy hash")
        self.copy_hash_button.setAccessibleName("Copy the full content hash")
        self.copy_hash_button.setAutoDefault(False)
        self.copy_hash_button.clicked.connect(self.copy_hash)
        hash_row.addWidget(self.hash_label)
        hash_row.addStretch(1)
        hash_row.addWidget(self.full_hash_button)
        hash_row.addWidget(self.copy_hash_button)
        form.addLayout(hash_row)
        self.full_hash = QLineEdit()
        self.full_hash.setReadOnly(True)
        self.full_hash.setAccessibleName("Full content hash")
        self.full_hash.hide()
        self.full_hash_button.toggled.connect(self.full_hash.setVisible)
        form.addWidget(self.full_hash)

        self.authors = plain_label("Written by")
        self.verdict = plain_label("Whether you may approve it")
        self.changed_notice = plain_label("Changed while open")
        self.changed_notice.setStyleSheet(palette.text_style("warning"))
        self.changed_notice.hide()
        form.addWidget(self.authors)
        form.addWidget(self.verdict)
        form.addWidget(self.changed_notice)

        cap = QGroupBox("CAP alert it makes")
        cap_form = QFormLayout(cap)
        cap_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.cap_fields: dict[str, QLabel] = {}
        for key, label in (
            ("event", "Event"),
            ("kind", "Status, type"),
            ("urgency", "Urgency"),
            ("severity", "Severity"),
            ("certainty", "Certainty"),
            ("area", "Area"),
            ("expires", "Expires"),
        ):
            field = plain_label(f"CAP {label.lower()}")
            self.cap_fields[key] = field
            cap_form.addRow(label, field)
        form.addWidget(cap)

        where = QGroupBox("Where it goes")
        where_form = QFormLayout(where)
        self.channels = plain_label("Channels and their modes")
        self.area = plain_label("Area")
        self.audience = plain_label("Audience")
        where_form.addRow("Channels", self.channels)
        where_form.addRow("Area", self.area)
        where_form.addRow("Audience", self.audience)
        form.addWidget(where)
        form.addStretch(1)

        scroll = QScrollArea()
        scroll.setWidget(box)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setAccessibleName("About the chosen version")
        return scroll

    def _build_actions(self) -> QWidget:
        box = QFrame()
        box.setFrameShape(QFrame.Shape.StyledPanel)
        outer = QVBoxLayout(box)
        outer.setContentsMargins(8, 6, 8, 6)
        row = QHBoxLayout()
        self.comment = QLineEdit()
        self.comment.setPlaceholderText("Comment: required to return it; optional with an approval")
        self.comment.setAccessibleName("Comment")
        self.comment.textChanged.connect(self._enable)
        self.approve_button = QPushButton("Approve")
        self.approve_button.setAccessibleName("Approve this exact version")
        self.approve_button.setAutoDefault(False)
        self.approve_button.clicked.connect(self.approve)
        self.return_button = QPushButton("Return with comment")
        self.return_button.setAccessibleName("Return it to the authors with the comment")
        self.return_button.setAutoDefault(False)
        self.return_button.clicked.connect(self.return_)
        self.approve_button.setToolTip(f"Approve the version shown ({shortcuts.COMMANDS['approve'].text()})")
        self.return_button.setToolTip(f"Back to the authors with the comment ({shortcuts.COMMANDS['return'].text()})")
        shortcuts.bind(self, "approve", self.approve_button.click)  # a disabled button ignores the click
        shortcuts.bind(self, "return", self.return_button.click)
        self.break_glass_button = QPushButton("⚠ Break glass…")
        self.break_glass_button.setAccessibleName("Break glass: publish without a second approval")
        self.break_glass_button.setToolTip(
            "Publish alone, without the two-person rule, with a typed reason; recorded and shown in the audit"
        )
        self.break_glass_button.setStyleSheet(
            palette.text_style("warning") + f" border: 2px dashed {palette.state_colour('warning').name()};"
            " padding: 4px 10px;"
        )
        self.break_glass_button.setAutoDefault(False)
        self.break_glass_button.clicked.connect(self.break_glass)
        row.addWidget(self.comment, 1)
        row.addWidget(self.approve_button)
        row.addWidget(self.return_button)
        row.addSpacing(24)
        row.addWidget(self.break_glass_button)
        outer.addLayout(row)
        self.result = plain_label("Result")
        self.result.hide()
        outer.addWidget(self.result)
        return box

    # -- the queue ----------------------------------------------------------------------------------------------

    def reload(self) -> None:
        actor = self.session.actor
        self.session.tasks.run(lambda app: app.review().queue(actor), self._show_queue, self._not_loaded, owner=self)
        if self.message_id is not None:
            self.open_message(self.message_id)

    def _show_queue(self, entries: list[QueueEntry]) -> None:
        self.model.set_rows(entries)
        mine = sum(1 for e in entries if e.may_approve)
        self.count.setText(
            "Nothing waits for your approval."
            if mine == 0
            else f"{mine} version{'s' if mine != 1 else ''} wait{'s' if mine == 1 else ''} for your approval "
            "(oldest first)."
        )
        self._select_shown()

    def _select_shown(self) -> None:
        """Keep the table's selection on the version shown; a person arriving gets the oldest one."""
        rows = self.proxy.rowCount()
        wanted = self.message_id
        if wanted is None and self._choose_first and rows:
            wanted = self.proxy.entry(0).message_id
        elif wanted is None and self._waiting_when_acted is not None:
            arrived = [
                e
                for e in (self.proxy.entry(r) for r in range(rows))
                if e.may_approve and e.content_hash not in self._waiting_when_acted
            ]
            if arrived:
                wanted = arrived[0].message_id
                self._waiting_when_acted = None
        for r in range(rows):
            if self.proxy.entry(r).message_id == wanted:
                if self.table.currentIndex().row() != r or not self.table.selectionModel().hasSelection():
                    self.table.selectRow(r)
                return

    def _not_loaded(self, error: CrisisdeskError) -> None:
        self.count.setText(f"The approval queue could not be read: {error}")

    def _show_every(self, on: bool) -> None:
        self.proxy.set_show_every(on)
        self.table.setColumnHidden(4, not on)
        self._select_shown()

    def _selected(self, selected: QItemSelection, _deselected: QItemSelection) -> None:
        rows = {i.row() for i in selected.indexes()}
        if not rows:
            return
        entry = self.proxy.entry(min(rows))
        if entry.message_id != self.message_id:
            self.result.hide()
            self.open_message(entry.message_id)

    def showEvent(self, event: QShowEvent) -> None:
        # Coming (back) to the place: the oldest waiting version is chosen if none is.
        self._choose_first = True
        self._waiting_when_acted = None
        self._select_shown()
        super().showEvent(event)

    # -- one version ----------------------------------------------------------------------------------------------

    def open_message(self, message_id: str) -> None:
        """Show ``message_id``'s current version (an author opening their own sees why it is not approvable)."""
        actor = self.session.actor
        self.message_id = message_id
        self.session.tasks.run(
            lambda app: app.review().review(actor, message_id), self._show_review, self._review_failed, owner=self
        )

    def _review_failed(self, error: CrisisdeskError) -> None:
        self._show_nothing()
        self.show_result(str(error), "bad")

    def _show_review(self, review: Review) -> None:
        if review.message.id != self.message_id:
            return  # another version was chosen meanwhile
        before = self.review
        if review == before:
            return
        view = review.message
        if before is not None and before.message.id == view.id and before.message.content_hash != view.content_hash:
            self.changed_notice.setText(
                f"⚠ Changed while you had it open: now v{view.version} (was v{before.message.version}). "
                "Read the texts again before you approve."
            )
            self.changed_notice.show()
        elif before is None or before.message.id != view.id:
            self.changed_notice.hide()
        self.review = review
        self.siblings.show_siblings(view)
        self.band.show_mode("exercise" if view.mode == "exercise" else "live", review.incident_title)
        self.heading.setText(f"{view.id} v{view.version} · {view.type} · {review.incident_title} · {view.state}")
        self.heading.setToolTip(f"Incident {view.incident_id}")
        short = view.content_hash[:SHORT_HASH]
        self.hash_label.setText(f"Hash {short}…")
        self.hash_label.setToolTip(view.content_hash)
        self.full_hash.setText(view.content_hash)
        self.full_hash.setCursorPosition(0)
        self.authors.setText(
            "Written by " + (", ".join(view.authors) or view.author) + " (since it was last published)"
        )
        if review.may_approve:
            self.verdict.setText(f"You may approve it: {view.verdict.reason}.")
            self.verdict.setStyleSheet(palette.text_style("ok", bold=False))
        else:
            self.verdict.setText(f"Not yours to approve: {review.why_not}")
            self.verdict.setStyleSheet(palette.text_style("bad"))
        cap = review.cap
        values = {
            "event": cap.event,
            "kind": f"{cap.status}, {cap.msg_type}",
            "urgency": cap.urgency,
            "severity": cap.severity,
            "certainty": cap.certainty,
            "area": cap.area,
            "expires": cap.expires,
        }
        values["expires"], written = cap_moment(cap.expires)
        for key, value in values.items():
            self.cap_fields[key].setText(value)
        self.cap_fields["expires"].setToolTip(written)
        self.channels.setText(describe_channels(view))
        self.area.setText(review.area)
        self.audience.setText(review.audience)
        self.texts.show_variants(view.variants, senders(view.accounts))
        self._changes_shown = False  # filled when its tab is opened: half the work of showing a version
        self.changes.clear()
        if self.tabs.currentWidget() is self.changes:
            self._fill_changes()
        errors = sum(1 for v in view.variants for f in v.findings if f.severity == "error")
        hidden = self.texts.marks
        self.tabs.setTabText(
            0,
            f"Exact texts ({len(view.variants)})"
            + (f" · {hidden} hidden char." if hidden else "")
            + (f" · {errors} error(s)" if errors else ""),
        )
        changed = sum(1 for c in review.changes if c.changed)
        self.tabs.setTabText(
            1, "Changes: all new" if review.base is None else f"Changes since {review.base} ({changed})"
        )
        self.approve_button.setText(f"Approve v{view.version} · {short}")
        self.approve_button.setToolTip(
            f"Approve exactly {view.id} v{view.version}, hash {view.content_hash}"
            f" ({shortcuts.COMMANDS['approve'].text()})"
        )
        self._enable()

    def _fill_changes(self) -> None:
        if self.review is not None and not self._changes_shown and self.tabs.currentWidget() is self.changes:
            self._changes_shown = True
            self.changes.show_changes(self.review.base, self.review.changes)

    def _show_nothing(self) -> None:
        self.review = None
        self.siblings.show_siblings(None)
        self.band.show_mode(None)
        self.heading.setText("Choose a version in the list to read it.")
        for label in (self.hash_label, self.authors, self.verdict, self.channels, self.area, self.audience):
            label.setText("")
        for label in self.cap_fields.values():
            label.setText("")
        self.full_hash.clear()
        self.texts.clear()
        self.changes.clear()
        self.approve_button.setText("Approve")
        self._enable()

    def _enable(self) -> None:
        review = self.review
        ready = review is not None and not self._busy
        submitted = ready and review is not None and review.message.state == "submitted"
        may_approve = self.session.actor.may(Permission.APPROVE)
        self.approve_button.setEnabled(bool(ready and review is not None and review.may_approve))
        self.return_button.setEnabled(bool(submitted and may_approve and self.comment.text().strip()))
        self.break_glass_button.setVisible(may_approve)
        published = review is not None and bool(review.message.published)
        conflict = review is not None and review.message.state == "conflict"
        self.break_glass_button.setEnabled(bool(ready and not published and not conflict))
        self.break_glass_button.setToolTip(
            conflict_reason("published")
            if conflict
            else "Publish alone, without the two-person rule, with a typed reason; recorded and shown in the audit"
        )
        if conflict and review is not None:
            self.approve_button.setToolTip(conflict_reason("approved"))
        self.full_hash_button.setEnabled(review is not None)
        self.copy_hash_button.setEnabled(review is not None)

    def copy_hash(self) -> None:
        if self.review is not None:
            QGuiApplication.clipboard().setText(self.review.message.content_hash)
            self.show_result(f"Copied the full hash {self.review.message.content_hash}", "muted")

    def show_result(self, text: str, state: palette.State) -> None:
        self.result.setText(text)
        self.result.setStyleSheet(palette.text_style(state, bold=state == "bad"))
        self.result.show()

    # -- acting -------------------------------------------------------------------------------------------------

    def approve(self) -> None:
        if self.review is None:
            return
        view = self.review.message
        actor, message_id, named = self.session.actor, view.id, view.content_hash  # the hash on the screen
        comment = self.comment.text().strip() or None
        self._start()
        self.session.tasks.run(
            lambda app: app.messages().approve(actor, message_id, named, comment),
            self._approved,
            self._refused,
            on_done=self._finish,
            owner=self,
        )

    def return_(self) -> None:
        if self.review is None:
            return
        comment = self.comment.text().strip()
        if not comment:
            self.show_result("Say what to change: a return needs a comment.", "bad")
            return
        actor, message_id = self.session.actor, self.review.message.id
        self._start()
        self.session.tasks.run(
            lambda app: app.messages().return_(actor, message_id, comment),
            self._returned,
            self._refused,
            on_done=self._finish,
            owner=self,
        )

    def break_glass(self) -> None:
        if self.review is None:
            return
        from crisisdesk.ui.dialogs.publish import PublishDialog

        dialog = PublishDialog(self.session, self.review.message.id, break_glass=True, parent=self)
        dialog.finished.connect(lambda _: self.reload())
        self.dialog = dialog
        dialog.open()

    def _start(self) -> None:
        self._busy = True
        self.result.hide()
        self._enable()

    def _finish(self) -> None:
        self._busy = False
        self._enable()

    def _approved(self, view: MessageView) -> None:
        self._acted(view)
        self.show_result(
            f"✔ Approved {view.id} v{view.version} (hash {view.content_hash[:SHORT_HASH]}…). "
            + ("It is ready for a communicator to publish." if view.verdict.ok else f"It still {view.verdict.reason}."),
            "ok",
        )
        self.approved.emit(view.id)

    def _returned(self, view: MessageView) -> None:
        self._acted(view)
        self.show_result(f"↩ Returned {view.id} v{view.version} to {', '.join(view.authors)} with your comment.", "ok")
        self.returned.emit(view.id)

    def _acted(self, view: MessageView) -> None:
        # What was acted on leaves the queue; the next one is not chosen for the person (no double approval), but
        # a version submitted after this is.
        self._choose_first = False
        self._waiting_when_acted = {self.model.row(r).content_hash for r in range(self.model.rowCount())}
        self.message_id = None
        self.comment.clear()
        self._show_nothing()
        self.table.clearSelection()
        self.reload()

    def _refused(self, error: CrisisdeskError) -> None:
        self.show_result(f"✖ Not done: {error}", "bad")
        self.reload()  # a stale hash: show the version as it is now


def describe_channels(view: MessageView) -> str:
    if not view.accounts:
        return "none chosen"
    return "\n".join(f"{a.name} ({a.kind.value}, {a.mode.upper()})" for a in view.accounts)
