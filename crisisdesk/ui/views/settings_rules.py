"""Settings → Rules: the monitoring rules (keywords, areas, severity and magnitude thresholds, urgent words,
stakeholder groups) as their text, checked as it is typed with each problem named by its line and column, saved
only when valid, and previewed on recent items (which would raise an alert, be urgent or fall in a group, and why)
without saving.

People who may manage feeds (admins, communicators) edit; everyone else reads and previews.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFontDatabase, QTextCursor, QTextFormat
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from crisisdesk.app import App
from crisisdesk.domain.errors import CrisisdeskError
from crisisdesk.domain.roles import Permission
from crisisdesk.ui import palette
from crisisdesk.ui.models.settings import RuleHitsModel
from crisisdesk.ui.session import Session
from crisisdesk.ui.views.settings_feeds import page_heading
from crisisdesk.ui.views.tables import row_table

if TYPE_CHECKING:  # types only: the feed service is imported by the tasks that use it, not at sign-in
    from crisisdesk.domain.playbook import Problem
    from crisisdesk.services.feeds import RulesPreview

TITLE = "Monitoring rules"
ABOUT = (
    "What raises an alert (keywords, the area this workstation answers for, severity and magnitude thresholds) and "
    "how public messages are grouped and flagged urgent. Each open incident also watches its playbook's keywords."
)
EDITED = "the edited rules"  # how a problem's place is named while the text is checked
SAVED_FROM = "edited in the console"
PREVIEW_ITEMS = 1000
CHECK_AFTER_MS = 300  # after the last key press: a check per pause, not per key


def where(problem: Problem) -> str:
    return f"Line {problem.line}, column {problem.column}: {problem.message}"


class RulesPage(QWidget):
    def __init__(self, session: Session, parent: QWidget | None = None, *, heading: bool = True) -> None:
        """``heading``: the page's title and what it is for at its top (the Settings place shows its own)."""
        super().__init__(parent)
        self.session = session
        self.may_manage = session.actor.may(Permission.MANAGE_FEEDS)
        self.saved: str | None = None  # the text in force; None until read (the screenshots wait on it)
        self.problems: list[Problem] | None = None  # of the text last checked; None: not checked yet
        self._checked: str | None = None  # the text those problems belong to
        self.preview: RulesPreview | None = None
        layout = QVBoxLayout(self)

        if heading:
            page_heading(layout, TITLE, ABOUT)
        self.origin = QLabel()
        self.origin.setTextFormat(Qt.TextFormat.PlainText)
        self.origin.setStyleSheet(palette.text_style("muted", bold=False))
        layout.addWidget(self.origin)
        if not self.may_manage:
            note = QLabel("Read-only: changing the rules needs the admin or communicator role. You may preview them.")
            note.setWordWrap(True)
            note.setStyleSheet(palette.text_style("muted"))
            layout.addWidget(note)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self._build_editor())
        split.addWidget(self._build_preview())
        split.setSizes([430, 770])
        layout.addWidget(split, 1)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(CHECK_AFTER_MS)
        self._timer.timeout.connect(self.check_now)
        self.editor.textChanged.connect(self._edited)
        session.watcher.changed.connect(self.reload)
        self.reload()

    def _build_editor(self) -> QWidget:
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        self.editor = QPlainTextEdit()
        self.editor.setAccessibleName("The monitoring rules, as YAML text")
        self.editor.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.editor.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.editor.setReadOnly(not self.may_manage)
        column.addWidget(self.editor, 1)
        self.check = QLabel("Reading the rules…")
        self.check.setTextFormat(Qt.TextFormat.PlainText)
        self.check.setWordWrap(True)
        self.check.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.check.setAccessibleName("Problems in the rules text")
        column.addWidget(self.check)
        bar = QHBoxLayout()
        self.save_button = QPushButton("Save rules")
        self.save_button.setAccessibleName("Save the edited rules; they are in force at once")
        self.save_button.clicked.connect(self.save)
        self.revert_button = QPushButton("Undo edits")
        self.revert_button.setAccessibleName("Put back the rules in force, dropping the edits")
        self.revert_button.clicked.connect(self.revert)
        self.status = QLabel()
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setWordWrap(True)
        self.status.setAccessibleName("What the last action did")
        bar.addWidget(self.save_button)
        bar.addWidget(self.revert_button)
        bar.addWidget(self.status, 1)
        if not self.may_manage:
            self.save_button.hide()
            self.revert_button.hide()
        column.addLayout(bar)
        return box

    def _build_preview(self) -> QWidget:
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        bar = QHBoxLayout()
        self.preview_button = QPushButton(f"Preview on the last {PREVIEW_ITEMS:,} items")
        self.preview_button.setAccessibleName(
            f"Preview what the edited rules would do to the last {PREVIEW_ITEMS:,} items, without saving"
        )
        self.preview_button.clicked.connect(self.run_preview)
        bar.addWidget(self.preview_button)
        bar.addStretch(1)
        column.addLayout(bar)
        self.summary = QLabel(
            "The preview shows which recent items these rules would act on, and why. Nothing is saved."
        )
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.summary.setWordWrap(True)
        self.summary.setAccessibleName("What the edited rules would do")
        self.summary.setMinimumHeight(self.summary.fontMetrics().lineSpacing() * 3)  # a splitter gives it one line
        column.addWidget(self.summary)
        self.hits = RuleHitsModel()
        self.hits_table = row_table(self.hits, (115, 80, 160, 110, 85, 65, 0), 6)
        self.hits_table.setAccessibleName("Recent items the edited rules would act on")
        column.addWidget(self.hits_table, 1)
        self.hits_table.selectionModel().selectionChanged.connect(self._hit_chosen)
        self.why = QLabel("Select an item to read all of why.")
        self.why.setTextFormat(Qt.TextFormat.PlainText)
        self.why.setWordWrap(True)
        self.why.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.why.setMinimumHeight(self.why.fontMetrics().lineSpacing() * 3)
        self.why.setAccessibleName("Why the rules would act on the selected item")
        column.addWidget(self.why)
        return box

    def _hit_chosen(self) -> None:
        rows = self.hits_table.selectionModel().selectedRows()
        if not rows:
            self.why.setText("Select an item to read all of why.")
            return
        hit = self.hits.row(rows[0].row())
        self.why.setText(f"{hit.title}\n" + "\n".join(f"• {reason}" for reason in hit.reasons))

    # -- reading --------------------------------------------------------------------------------------------

    @property
    def text(self) -> str:
        return self.editor.toPlainText()

    def reload(self) -> None:
        self.session.tasks.run(lambda app: app.feeds().rules_source(), self._show_source, self._refused, owner=self)

    def _show_source(self, found: tuple[str, str]) -> None:
        origin, text = found
        edited = self.saved is not None and self.text != self.saved
        self.origin.setText(f"In force: {origin}")
        if self.saved == text:
            return
        if edited:
            self._say("The rules in force were changed meanwhile; your edits are kept. Undo them to see those.")
            self.saved = text
            self._update_buttons()
            return
        self.saved = text
        self.editor.setPlainText(text)  # checked by _edited, as if typed
        self.check_now()

    # -- checking -------------------------------------------------------------------------------------------

    def _edited(self) -> None:
        self.problems, self._checked = None, None
        self._update_buttons()
        self._timer.start()

    def check_now(self) -> None:
        self._timer.stop()
        text = self.text

        def check(_app: App) -> list[Problem]:
            from crisisdesk.services.feeds import check_rules

            return check_rules(text, EDITED)[1]

        self.session.tasks.run(check, lambda problems: self._checked_as(text, problems), owner=self)

    def _checked_as(self, text: str, problems: list[Problem]) -> None:
        if text != self.text:
            return  # typed on since: the next check is on its way
        self.problems, self._checked = problems, text
        if problems:
            shown = [where(p) for p in problems[:6]]
            more = len(problems) - len(shown)
            self.check.setText("\n".join(shown) + (f"\n…and {more} more" if more > 0 else ""))
            self.check.setStyleSheet(palette.text_style("bad"))
        else:
            self.check.setText("The rules are valid.")
            self.check.setStyleSheet(palette.text_style("ok"))
        self._mark(problems)
        self._update_buttons()

    def _mark(self, problems: list[Problem]) -> None:
        """Tint the lines with a problem, as the check below the editor names them."""
        marks = []
        for problem in problems:
            block = self.editor.document().findBlockByNumber(problem.line - 1)
            if not block.isValid():
                continue
            mark = QTextEdit.ExtraSelection()
            mark.cursor = QTextCursor(block)
            mark.format.setBackground(palette.row_tint("bad"))
            mark.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
            mark.format.setToolTip(where(problem))
            marks.append(mark)
        self.editor.setExtraSelections(marks)

    @property
    def valid(self) -> bool:
        return self._checked == self.text and self.problems == []

    def _update_buttons(self) -> None:
        changed = self.saved is not None and self.text != self.saved
        self.save_button.setEnabled(self.may_manage and changed and self.valid)
        self.revert_button.setEnabled(self.may_manage and changed)
        self.preview_button.setEnabled(self.valid)

    # -- acting ---------------------------------------------------------------------------------------------

    def _say(self, text: str, state: palette.State | None = None) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(palette.text_style(state) if state else "")

    def _refused(self, error: CrisisdeskError) -> None:
        self._say(str(error), "bad")

    def save(self) -> None:
        if not (self.may_manage and self.valid):
            return
        actor, text = self.session.actor, self.text
        self.save_button.setEnabled(False)

        def saved(_: object) -> None:
            self.saved = text
            self.origin.setText(f"In force: {SAVED_FROM}")
            self._say("Saved: these rules are in force from the next poll.", "ok")
            self._update_buttons()

        self.session.tasks.run(
            lambda app: app.feeds().set_rules(actor, text, SAVED_FROM),
            saved,
            self._refused,
            on_done=self._update_buttons,
            owner=self,
        )

    def revert(self) -> None:
        if self.saved is not None:
            self.editor.setPlainText(self.saved)
            self._say("The edits were dropped.")
            self.check_now()

    def run_preview(self) -> None:
        if not self.valid:
            return
        actor, text = self.session.actor, self.text
        self.preview_button.setEnabled(False)
        self.summary.setText(f"Reading the last {PREVIEW_ITEMS:,} items…")

        def fetch(app: App) -> RulesPreview:
            return app.feeds().preview_rules(actor, text, limit=PREVIEW_ITEMS)

        self.session.tasks.run(fetch, self._show_preview, self._refused, on_done=self._update_buttons, owner=self)

    def _show_preview(self, preview: RulesPreview) -> None:
        self.preview = preview
        self.hits.set_rows(preview.hits)
        alerts = sum(1 for h in preview.hits if h.alerts)
        urgent = sum(1 for h in preview.hits if h.urgent)
        grouped = sum(1 for h in preview.hits if h.group and not h.alerts and not h.urgent)
        if not preview.scanned:
            self.summary.setText("No items yet: add feed sources and poll them, then preview again.")
            return
        said = [f"raise an alert for {alerts}", f"flag {urgent} public message{'s' if urgent != 1 else ''} urgent"]
        if grouped:
            said.append(f"put {grouped} more in a stakeholder group")
        self.summary.setText(
            f"Of the last {preview.scanned:,} items, these rules would {', '.join(said[:-1])} and {said[-1]}. "
            "Nothing was saved."
        )


Page = RulesPage
