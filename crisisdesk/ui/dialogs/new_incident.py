"""New incident: a playbook (searchable, with its hazard and summary), LIVE or EXERCISE chosen on purpose (never a
default), then the playbook's facts as a form checked as it is typed. The incident opens through
``IncidentService.open``; its refusal, if any, is shown here in its own words."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QItemSelection, Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from crisisdesk.app import App
from crisisdesk.domain.errors import CrisisdeskError
from crisisdesk.domain.incidents import Mode
from crisisdesk.domain.playbook import Playbook
from crisisdesk.services.incidents import Incident
from crisisdesk.ui import palette
from crisisdesk.ui.models.incidents import PlaybooksModel, SearchProxy, mode_text
from crisisdesk.ui.session import Session
from crisisdesk.ui.views.chrome import ModeBand
from crisisdesk.ui.views.fact_form import FactForm
from crisisdesk.ui.views.tables import row_table

MODE_CHOICES = {
    Mode.LIVE: ("●  LIVE", "A real incident: approved messages reach the public on live channels."),
    Mode.EXERCISE: ("▨  EXERCISE", "A drill: messages go to exercise channels only and say EXERCISE."),
}


class ModeButton(QPushButton):
    """One of the two mode choices: a tall button that says what the mode means; filled with the mode's band
    colour once chosen (the words and the shape say it too)."""

    def __init__(self, mode: Mode) -> None:
        title, meaning = MODE_CHOICES[mode]
        super().__init__(f"{title}\n{meaning}")
        self.mode = mode
        self.setCheckable(True)
        self.setAutoDefault(False)
        self.setMinimumHeight(64)
        self.setAccessibleName(f"{mode.value.upper()} incident")
        self.setAccessibleDescription(meaning)
        background, foreground = palette.band_colours(mode.value)
        edge = "solid" if mode is Mode.LIVE else "dashed"
        self.setStyleSheet(
            f"QPushButton {{ text-align: left; padding: 6px 12px; border: 2px {edge} {background.name()}; }}"
            f"QPushButton:checked {{ background: {background.name()}; color: {foreground.name()};"
            f" border: 3px {edge} {foreground.name()}; }}"
        )


class ModeChoice(QHBoxLayout):
    """The two mode buttons side by side, EXERCISE first, neither chosen: ``chosen(mode)`` is called when one is."""

    def __init__(self, owner: QWidget, chosen: Callable[[Mode], object]) -> None:
        super().__init__()
        self.group = QButtonGroup(owner)
        self.group.setExclusive(True)
        self.buttons: dict[Mode, ModeButton] = {}
        for mode in (Mode.EXERCISE, Mode.LIVE):
            button = ModeButton(mode)
            self.group.addButton(button)
            self.buttons[mode] = button
            self.addWidget(button, 1)
            button.toggled.connect(lambda on, m=mode: chosen(m) if on else None)


class NewIncidentDialog(QDialog):
    """Two steps: playbook and mode, then facts. ``opened(incident_id)`` after the service opened it."""

    opened = Signal(str)

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setWindowTitle("New incident")
        self.setAccessibleName("New incident")
        self.resize(820, 640)
        self.playbook: Playbook | None = None
        self.mode: Mode | None = None
        self.form: FactForm | None = None
        self.incident: Incident | None = None
        layout = QVBoxLayout(self)
        self.pages = QStackedWidget()
        layout.addWidget(self.pages, 1)
        self.pages.addWidget(self._choose_page())
        self.pages.addWidget(self._facts_page())

        self.refusal = QLabel()
        self.refusal.setTextFormat(Qt.TextFormat.PlainText)
        self.refusal.setWordWrap(True)
        self.refusal.setAccessibleName("Why the incident was not opened")
        self.refusal.setStyleSheet(palette.text_style("bad"))
        self.refusal.hide()
        layout.addWidget(self.refusal)

        buttons = QHBoxLayout()
        self.back_button = QPushButton("← Back")
        self.back_button.setAccessibleName("Back to playbook and mode")
        self.back_button.setAutoDefault(False)
        self.back_button.clicked.connect(lambda: self._go(0))
        self.next_button = QPushButton("Next: facts →")
        self.next_button.setAccessibleName("Next: facts")
        self.next_button.clicked.connect(lambda: self._go(1))
        self.ok_button = QPushButton("Open incident")
        self.ok_button.setAccessibleName("Open the incident")
        self.ok_button.clicked.connect(self._open)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setAccessibleName("Cancel")
        self.cancel_button.setAutoDefault(False)
        self.cancel_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # a stray space never cancels
        self.cancel_button.clicked.connect(self.reject)
        buttons.addWidget(self.back_button)
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.next_button)
        buttons.addWidget(self.ok_button)
        layout.addLayout(buttons)
        self._go(0)

        actor = self.session.actor
        self.session.tasks.run(
            lambda app: app.board().playbooks(actor), self._show_playbooks, self._refused, owner=self
        )

    # -- step 1: playbook and mode ------------------------------------------------------------------------

    def _choose_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        heading = QLabel("1. Which playbook?")
        heading.setStyleSheet("font-weight: bold;")
        layout.addWidget(heading)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search playbooks: flood, fire, heat, water…")
        self.search.setAccessibleName("Search playbooks")
        self.search.setClearButtonEnabled(True)
        layout.addWidget(self.search)
        self.playbooks = PlaybooksModel()
        self.proxy = SearchProxy(self.playbooks, self)
        self.search.textChanged.connect(self._search)
        self.table = row_table(self.proxy, (200, 110, 0), 2)
        self.table.setAccessibleName("Playbooks")
        self.table.selectionModel().selectionChanged.connect(self._picked)
        self.table.doubleClicked.connect(lambda _: self._go(1) if self.next_button.isEnabled() else None)
        layout.addWidget(self.table, 1)
        self.summary = QLabel("Loading playbooks…")
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.summary.setWordWrap(True)
        self.summary.setAccessibleName("Playbook summary")
        self.summary.setMinimumHeight(self.summary.fontMetrics().lineSpacing() * 3 + 6)
        layout.addWidget(self.summary)
        heading = QLabel("2. LIVE or EXERCISE? Choose one; it cannot be changed later.")
        heading.setStyleSheet("font-weight: bold;")
        layout.addWidget(heading)
        modes = ModeChoice(page, self._mode_chosen)
        self.mode_group, self.mode_buttons = modes.group, modes.buttons
        layout.addLayout(modes)
        return page

    def _show_playbooks(self, found: list[Playbook]) -> None:
        self.playbooks.set_rows(found)
        self.summary.setText(f"{len(found)} playbooks. Pick one to see what it is for.")
        self.table.setFocus()

    def _search(self, text: str) -> None:
        self.proxy.setFilterFixedString(text.strip())
        if self.proxy.rowCount() == 1:
            self.table.selectRow(0)  # one match: it is the one

    def _picked(self, selected: QItemSelection, _deselected: QItemSelection) -> None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            self.playbook = None
        else:
            self.playbook = self.playbooks.row(self.proxy.mapToSource(rows[0]).row())
            p = self.playbook
            self.summary.setText(
                f"{p.title.get('en') or p.id} (hazard: {p.hazard}; languages: {', '.join(p.languages)}; "
                f"updates every {p.cadence.update_every}; times in {p.timezone})\n{p.summary}"
            )
        self._update_buttons()

    def choose_playbook(self, playbook_id: str) -> None:
        """Select the playbook with this id (for a caller that knows it, such as an alert)."""
        for row in range(self.proxy.rowCount()):
            if self.playbooks.row(self.proxy.mapToSource(self.proxy.index(row, 0)).row()).id == playbook_id:
                self.table.selectRow(row)
                return

    def _mode_chosen(self, mode: Mode) -> None:
        if self.mode is not mode and self.form is not None and self.pages.currentIndex() == 0:
            self.form = None  # built again for the new mode's band
        self.mode = mode
        self._update_buttons()

    # -- step 2: facts --------------------------------------------------------------------------------------

    def _facts_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        self.band = ModeBand()
        layout.addWidget(self.band)
        title_row = QHBoxLayout()
        title_label = QLabel("Title")
        title_row.addWidget(title_label)
        self.title = QLineEdit()
        self.title.setAccessibleName("Incident title")
        self.title.setPlaceholderText("What the team calls it: Mill Creek flooding")
        title_label.setBuddy(self.title)
        self.title.textEdited.connect(lambda _: self.title.setProperty("from_playbook", False))
        title_row.addWidget(self.title, 1)
        layout.addLayout(title_row)
        self.facts_heading = QLabel()
        self.facts_heading.setTextFormat(Qt.TextFormat.PlainText)
        self.facts_heading.setWordWrap(True)
        self.facts_heading.setStyleSheet("font-weight: bold;")
        layout.addWidget(self.facts_heading)
        self.facts_scroll = QScrollArea()
        self.facts_scroll.setWidgetResizable(True)
        self.facts_scroll.setAccessibleName("Facts")
        layout.addWidget(self.facts_scroll, 1)
        self.form_state = QLabel()
        self.form_state.setTextFormat(Qt.TextFormat.PlainText)
        self.form_state.setWordWrap(True)
        self.form_state.setAccessibleName("Facts to check")
        layout.addWidget(self.form_state)
        return page

    def _build_form(self) -> None:
        assert self.playbook is not None
        assert self.mode is not None
        p = self.playbook
        keep = self.form.values() if self.form is not None and self.form.playbook.id == p.id else {}
        self.form = FactForm(p, p.timezone, self.session.core.clock.now(), recorded=keep)
        self.form.checked.connect(self._update_buttons)
        self.facts_scroll.setWidget(self.form)
        if not self.title.text() or self.title.property("from_playbook"):
            self.title.setText(p.title.get("en") or p.id)
            self.title.setProperty("from_playbook", True)
        self.band.show_mode(self.mode.value, p.title.get("en") or p.id)
        self.facts_heading.setText(
            f"3. Facts for {p.title.get('en') or p.id}, as far as you know them now (times in {p.timezone}). "
            "You can change them later in the incident."
        )

    def _go(self, page: int) -> None:
        if page == 1:
            if self.playbook is None or self.mode is None:
                return
            if self.form is None or self.form.playbook.id != self.playbook.id or self.band.mode != self.mode.value:
                self._build_form()
        self.pages.setCurrentIndex(page)
        self.back_button.setVisible(page == 1)
        self.next_button.setVisible(page == 0)
        self.ok_button.setVisible(page == 1)
        self.refusal.hide()
        self._update_buttons()
        if page == 1 and self.form is not None:
            first = next(iter(self.form.editors.values()), None)
            if first is not None:
                first.focus_widget().setFocus()

    def _update_buttons(self) -> None:
        self.next_button.setEnabled(self.playbook is not None and self.mode is not None)
        self.next_button.setDefault(self.pages.currentIndex() == 0)
        self.ok_button.setDefault(self.pages.currentIndex() == 1)
        if self.mode is not None:
            self.ok_button.setText(f"Open {self.mode.value.upper()} incident")
            self.ok_button.setAccessibleName(f"Open the {self.mode.value.upper()} incident")
        if self.form is None or self.mode is None:
            self.ok_button.setEnabled(False)
            return
        problems = self.form.problems()
        missing = self.form.missing()
        if problems:
            self.form_state.setText(f"Fix {len(problems)} fact(s) marked ⚠ before opening.")
            self.form_state.setStyleSheet(palette.text_style("bad"))
        elif missing:
            self.form_state.setText(
                f"{len(missing)} required fact(s) still empty ({', '.join(missing)}): you can open now and fill "
                "them in the incident; drafts need them."
            )
            self.form_state.setStyleSheet(palette.text_style("warning"))
        else:
            self.form_state.setText(f"Ready: this opens a {mode_text(self.mode.value)} incident.")
            self.form_state.setStyleSheet(palette.text_style(self.mode.value))
        self.ok_button.setEnabled(not problems)

    # -- opening --------------------------------------------------------------------------------------------

    def _open(self) -> None:
        if self.form is None or self.playbook is None or self.mode is None or self.form.problems():
            return
        actor, playbook_id, mode = self.session.actor, self.playbook.id, self.mode
        title, facts = self.title.text().strip() or None, self.form.values()
        self.ok_button.setEnabled(False)
        self.refusal.hide()

        def open_it(app: App) -> Incident:
            return app.incidents().open(actor, playbook_id, mode, title=title, facts=facts)

        self.session.tasks.run(open_it, self._opened, self._refused, on_done=self._update_buttons, owner=self)

    def _opened(self, incident: Incident) -> None:
        self.incident = incident
        self.opened.emit(incident.id)
        self.accept()

    def _refused(self, error: CrisisdeskError) -> None:
        self.refusal.setText(f"Not opened: {error}")
        self.refusal.show()
