"""Settings → Playbook library: every playbook file (shipped with crisisdesk and in the library folder), each with
its check (problems at ``file:line:column``, as 'crisisdesk playbooks validate' prints them), its facts, checklist
and templates, and a preview of every message type in each of its languages, LIVE and EXERCISE, rendered with
its example facts. A file that does not validate is listed with its problems; it never stops the page.

Reading the library validates every playbook (it renders every template) and a preview renders twenty messages:
both run in tasks.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from crisisdesk.app import App
from crisisdesk.domain.errors import CrisisdeskError
from crisisdesk.domain.message_types import MESSAGE_TYPES, MODES
from crisisdesk.ui import palette
from crisisdesk.ui.models.settings import ChecklistModel, FactsModel, PlaybookFilesModel, ProblemsModel
from crisisdesk.ui.session import Session
from crisisdesk.ui.views.chrome import ModeBand
from crisisdesk.ui.views.settings_feeds import page_heading
from crisisdesk.ui.views.tables import row_table

if TYPE_CHECKING:  # types only: the playbook service (lxml, Jinja2, pydantic) is imported by the tasks that use it
    from crisisdesk.domain.playbook import Playbook
    from crisisdesk.services.playbooks import PlaybookFile, Preview

TITLE = "Playbook library"
ABOUT = (
    "Each playbook with its check (problems at file:line:column), facts, checklist and templates, and a preview of "
    "every message in each language, LIVE and EXERCISE, with its example facts."
)
Library = tuple[list[Path], list["PlaybookFile"]]
TYPE_NAMES = {
    "alert": "Alert",
    "update": "Update",
    "correction": "Correction",
    "cancel": "Cancel",
    "all-clear": "All clear",
}
LANGUAGE_NAMES = {"en": "English", "es": "Spanish"}


def language_name(lang: str) -> str:
    return f"{LANGUAGE_NAMES.get(lang, lang)} ({lang})"


class PlaybooksPage(QWidget):
    def __init__(self, session: Session, parent: QWidget | None = None, *, heading: bool = True) -> None:
        """``heading``: the page's title and what it is for at its top (the Settings place shows its own)."""
        super().__init__(parent)
        self.session = session
        self.files: list[PlaybookFile] | None = None  # None until read (the screenshots wait on it)
        self.previews: dict[str, list[Preview]] = {}  # by file path: rendered once per reading of the library
        self.shown: Preview | None = None
        layout = QVBoxLayout(self)

        if heading:
            page_heading(layout, TITLE, ABOUT)
        self.folders = QLabel("Reading the playbook library…")
        self.folders.setTextFormat(Qt.TextFormat.PlainText)
        self.folders.setWordWrap(True)
        self.folders.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.folders)
        bar = QHBoxLayout()
        self.summary = QLabel()
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.summary.setAccessibleName("The library's check")
        bar.addWidget(self.summary, 1)
        self.check_button = QPushButton("Check again")
        self.check_button.setAccessibleName("Read and check every playbook file again")
        self.check_button.clicked.connect(self.reload)
        bar.addWidget(self.check_button)
        layout.addLayout(bar)

        split = QSplitter(Qt.Orientation.Horizontal)
        self.model = PlaybookFilesModel()
        self.table = row_table(self.model, (170, 0, 140), 1)
        self.table.setAccessibleName("Playbook files")
        self.table.selectionModel().selectionChanged.connect(self._chosen)
        split.addWidget(self.table)
        split.addWidget(self._build_detail())
        split.setSizes([470, 730])
        layout.addWidget(split, 1)
        self.reload()

    def _build_detail(self) -> QWidget:
        from crisisdesk.ui.views.exact_text import ExactText  # brings the composer's services: when the page is built

        self.tabs = QTabWidget()
        self.tabs.setAccessibleName("The selected playbook")
        self.tabs.tabBar().setAccessibleName("Parts of the selected playbook")
        self.problems = ProblemsModel()
        check = QWidget()
        check_layout = QVBoxLayout(check)
        self.verdict = QLabel("Select a playbook file.")
        self.verdict.setTextFormat(Qt.TextFormat.PlainText)
        self.verdict.setWordWrap(True)
        self.verdict.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.verdict.setAccessibleName("The selected file's check")
        check_layout.addWidget(self.verdict)
        self.problems_table = row_table(self.problems, (220, 0), 1)
        self.problems_table.setAccessibleName("Problems in the selected playbook file, with file, line and column")
        self.problems_table.setWordWrap(True)
        check_layout.addWidget(self.problems_table, 1)
        self.tabs.addTab(check, "Check")

        self.facts = FactsModel()
        self.facts_table = row_table(self.facts, (120, 70, 70, 160, 160, 0), 5)
        self.facts_table.setAccessibleName("The playbook's facts")
        self.tabs.addTab(self.facts_table, "Facts")
        self.checklist = ChecklistModel()
        self.checklist_table = row_table(self.checklist, (70, 120, 0), 2)
        self.checklist_table.setAccessibleName("The playbook's checklist")
        self.tabs.addTab(self.checklist_table, "Checklist")
        self.templates = ExactText("The playbook's message templates")
        self.tabs.addTab(self.templates, "Templates")
        self.tabs.addTab(self._build_preview(), "Preview")
        return self.tabs

    def _build_preview(self) -> QWidget:
        from crisisdesk.ui.views.exact_text import ExactText

        box = QWidget()
        column = QVBoxLayout(box)
        bar = QHBoxLayout()
        self.type_choice = QComboBox()
        self.type_choice.setAccessibleName("Message type to preview")
        for message_type in MESSAGE_TYPES:
            self.type_choice.addItem(TYPE_NAMES.get(message_type, message_type), message_type)
        self.lang_choice = QComboBox()
        self.lang_choice.setAccessibleName("Language to preview")
        self.mode_choice = QComboBox()
        self.mode_choice.setAccessibleName("Mode to preview: live or exercise")
        for mode in MODES:
            self.mode_choice.addItem(mode.upper(), mode)
        for label, choice in (
            ("Message", self.type_choice),
            ("Language", self.lang_choice),
            ("Mode", self.mode_choice),
        ):
            bar.addWidget(QLabel(label))
            bar.addWidget(choice)
            choice.currentIndexChanged.connect(self._show_preview)
        bar.addStretch(1)
        column.addLayout(bar)
        self.preview_summary = QLabel()
        self.preview_summary.setTextFormat(Qt.TextFormat.PlainText)
        self.preview_summary.setWordWrap(True)
        self.preview_summary.setAccessibleName("The previews' check")
        column.addWidget(self.preview_summary)
        self.band = ModeBand()
        column.addWidget(self.band)
        self.preview_text = ExactText("Each channel's text for the chosen message, language and mode")
        column.addWidget(self.preview_text, 1)
        return box

    # -- reading --------------------------------------------------------------------------------------------

    def reload(self) -> None:
        self.check_button.setEnabled(False)

        def fetch(app: App) -> Library:
            service = app.incidents().playbooks
            return list(service.folders), service.files()

        self.session.tasks.run(
            fetch, self._show_library, self._refused, on_done=lambda: self.check_button.setEnabled(True), owner=self
        )

    def _refused(self, error: CrisisdeskError) -> None:
        self.summary.setText(f"The library could not be read: {error}")
        self.summary.setStyleSheet(palette.text_style("bad"))

    def _show_library(self, found: Library) -> None:
        folders, files = found
        chosen = self.selected()
        self.files = files
        self.previews.clear()
        self.folders.setText("Read from: " + "; ".join(str(f) + ("" if f.exists() else " (none yet)") for f in folders))
        bad = [f for f in files if f.problems]
        valid = len(files) - len(bad)
        if bad:
            self.summary.setText(
                f"{valid} playbook{'s' if valid != 1 else ''} valid; {len(bad)} file{'s' if len(bad) != 1 else ''} "
                "with problems, not loaded (select one to see where)"
            )
            self.summary.setStyleSheet(palette.text_style("bad"))
        else:
            self.summary.setText(f"All {valid} playbooks valid")
            self.summary.setStyleSheet(palette.text_style("ok"))
        self.model.set_rows(sorted(files, key=lambda f: (not f.problems, f.path.name)))
        row = next((i for i, f in enumerate(self.model.rows) if chosen and f.path == chosen.path), 0)
        if self.model.rows:
            self.table.selectRow(row)
            self._chosen()

    def selected(self) -> PlaybookFile | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.row(rows[0].row()) if rows else None

    def _chosen(self) -> None:
        file = self.selected()
        if file is None:
            return
        pb = file.playbook
        self.problems.set_rows(file.problems)
        if file.problems:
            n = len(file.problems)
            self.verdict.setText(
                f"{file.path}: {n} problem{'s' if n > 1 else ''}; the playbook is not loaded until they are fixed."
            )
            self.verdict.setStyleSheet(palette.text_style("bad"))
        elif pb is not None:
            self.verdict.setText(f"{file.path}: valid. {pb.id} v{pb.version}, {pb.hazard}: {pb.summary}")
            self.verdict.setStyleSheet(palette.text_style("ok"))
        self.problems_table.setVisible(bool(file.problems))
        for tab in range(1, self.tabs.count()):
            self.tabs.setTabEnabled(tab, pb is not None)
        if pb is None:
            self.tabs.setCurrentIndex(0)
            self.facts.set_rows([])
            self.checklist.set_rows([])
            self.templates.clear()
            self.preview_text.clear()
            return
        self.facts.set_rows(list(pb.facts.items()))
        self.checklist.set_rows(pb.checklist)
        self._show_templates(pb)
        self.lang_choice.blockSignals(True)
        wanted = self.lang_choice.currentData()
        self.lang_choice.clear()
        for lang in pb.languages:
            self.lang_choice.addItem(language_name(lang), lang)
        self.lang_choice.setCurrentIndex(max(0, pb.languages.index(wanted) if wanted in pb.languages else 0))
        self.lang_choice.blockSignals(False)
        key = str(file.path)
        if key in self.previews:
            self._show_preview()
            return
        self.preview_text.clear()
        self.preview_summary.setText("Rendering every message with the example facts…")
        self.preview_summary.setStyleSheet("")
        self.session.tasks.run(
            lambda app: app.incidents().playbooks.preview(pb),
            lambda previews: self._rendered(key, previews),
            self._refused,
            owner=self,
        )

    def _show_templates(self, pb: Playbook) -> None:
        from crisisdesk.ui.views.exact_text import heading_format, state_format

        text = self.templates
        text.clear()
        for message_type, by_lang in pb.messages.items():
            for lang, templates in by_lang.items():
                text.add_line(f"{TYPE_NAMES.get(message_type, message_type)} · {language_name(lang)}", heading_format())
                for key, source in templates.items():
                    text.add_line(f"{key}:", state_format("muted", bold=True))
                    text.add_exact(source)
                text.add_line("")
        if pb.responses:
            text.add_line("Responses to public messages", heading_format())
            for name, answers in pb.responses.items():
                for lang, answer in answers.items():
                    text.add_line(f"{name} · {language_name(lang)}:", state_format("muted", bold=True))
                    text.add_exact(answer)
        text.moveCursor(text.textCursor().MoveOperation.Start)

    def _rendered(self, key: str, previews: list[Preview]) -> None:
        self.previews[key] = previews
        file = self.selected()
        if file is not None and str(file.path) == key:
            self._show_preview()

    # -- the preview ----------------------------------------------------------------------------------------

    def _show_preview(self) -> None:
        from crisisdesk.ui.views.exact_text import heading_format, state_format
        from crisisdesk.ui.views.previews import channel_name

        file = self.selected()
        previews = self.previews.get(str(file.path)) if file is not None else None
        if previews is None:
            return
        broken = [p for p in previews if p.problem]
        with_errors = [p for p in previews if any(v.has_errors for v in p.variants)]
        if broken or with_errors:
            self.preview_summary.setText(
                f"{len(previews)} renders (each message type, language and mode): {len(broken)} did not render, "
                f"{len(with_errors)} with errors in some channel's text"
            )
            self.preview_summary.setStyleSheet(palette.text_style("bad"))
        else:
            self.preview_summary.setText(
                f"All {len(previews)} renders (each message type, language and mode) fine, with the example facts"
            )
            self.preview_summary.setStyleSheet(palette.text_style("ok"))
        wanted = (self.type_choice.currentData(), self.lang_choice.currentData(), self.mode_choice.currentData())
        shown = next((p for p in previews if (p.message_type, p.lang, p.mode) == wanted), None)
        self.shown = shown
        mode = self.mode_choice.currentData()
        self.band.show_mode("exercise" if mode == "exercise" else "live", "a preview")
        text = self.preview_text
        text.clear()
        if shown is None:
            text.add_line("This playbook has no such message.", state_format("muted"))
            return
        if shown.problem:
            text.add_line(f"Did not render: {shown.problem}", state_format("bad", bold=True))
            return
        for v in shown.variants:
            m = v.measure
            parts = f", {m.segments} parts" if m.segments > 1 else ""
            text.add_line(f"{channel_name(v.channel)} · {m.length}/{m.limit} {m.unit}{parts}", heading_format())
            text.add_exact(v.text)
            text.show_findings(v.findings)
            text.add_line("")
        text.moveCursor(text.textCursor().MoveOperation.Start)

    def preview_of(self, message_type: str, lang: str, mode: str) -> str:
        """The text shown for one message, language and mode (for tests and the screenshots)."""
        for choice, value in ((self.type_choice, message_type), (self.lang_choice, lang), (self.mode_choice, mode)):
            choice.setCurrentIndex(choice.findData(value))
        return self.preview_text.toPlainText()


Page = PlaybooksPage
