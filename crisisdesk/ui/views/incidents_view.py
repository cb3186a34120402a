"""The Incidents place: the board of incidents (closed ones behind a filter), New incident…, and each incident's
workspace in place, with a way back to the board.

While a workspace is shown, the window's band and title say LIVE or EXERCISE (``MainWindow.show_mode``)."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from crisisdesk.domain.errors import CrisisdeskError
from crisisdesk.services import board as board_service
from crisisdesk.services.board import Board, BoardRow
from crisisdesk.ui import palette
from crisisdesk.ui.dialogs import shortcuts
from crisisdesk.ui.dialogs.new_incident import NewIncidentDialog
from crisisdesk.ui.models.incidents import BoardModel, SearchProxy
from crisisdesk.ui.session import Session
from crisisdesk.ui.views.tables import row_table
from crisisdesk.ui.views.workspace import IncidentWorkspace


class IncidentsView(QWidget):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.workspace: IncidentWorkspace | None = None
        self.counted = ""  # what the board says about its incidents, under a search's own words
        self.dialog: NewIncidentDialog | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.pages = QStackedWidget()
        layout.addWidget(self.pages)
        self.pages.addWidget(self._board_page())
        session.watcher.changed.connect(self.reload)
        session.watcher.tick.connect(self.reload)  # countdowns move with time alone
        self.reload()

    def _board_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 8, 4)
        bar = QHBoxLayout()
        self.new_button = QPushButton("New incident…")
        self.new_button.setAccessibleName("New incident")
        self.new_button.setToolTip(
            f"Open an incident from a playbook, LIVE or EXERCISE ({shortcuts.COMMANDS['new_incident'].text()})"
        )
        font = self.new_button.font()
        font.setBold(True)
        self.new_button.setFont(font)
        self.new_button.clicked.connect(self.new_incident)
        self.open_button = QPushButton("Open")
        self.open_button.setAccessibleName("Open the selected incident")
        self.open_button.setToolTip(
            f"The incident's workspace (Enter or {shortcuts.COMMANDS['open_incident'].text()}, or double-click the row)"
        )
        self.open_button.clicked.connect(self._open_selected)
        self.closed_filter = QCheckBox("Show closed incidents")
        self.closed_filter.setAccessibleName("Show closed incidents")
        self.closed_filter.toggled.connect(lambda _: self.reload())
        bar.addWidget(self.new_button)
        bar.addWidget(self.open_button)
        bar.addSpacing(16)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search incidents")
        self.search.setAccessibleName("Search incidents")
        self.search.setToolTip(f"Rows with these words in any column ({shortcuts.COMMANDS['find'].text()})")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._search)
        self.search.setMinimumWidth(self.search.fontMetrics().averageCharWidth() * 32)  # font-relative
        bar.addWidget(self.search)
        bar.addStretch(1)
        bar.addWidget(self.closed_filter)
        layout.addLayout(bar)
        self.model = BoardModel(load_closed=self._more_closed)
        self.proxy = SearchProxy(self.model, self)
        self.table = row_table(self.proxy, (110, 190, 170, 70, 70, 125, 105, 0), 7)
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() * 2)  # easy to hit
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # the service's order until someone sorts
        self.table.setAccessibleName("Incidents")
        # Activation is a double-click (or a single click, where the platform says so) and Enter; a double-click
        # also emits doubleClicked, which would build the workspace twice.
        self.table.activated.connect(self._open_index)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._buttons())
        layout.addWidget(self.table, 1)
        self.empty = QLabel()
        self.empty.setTextFormat(Qt.TextFormat.PlainText)
        self.empty.setWordWrap(True)
        self.empty.setAccessibleName("Board status")
        layout.addWidget(self.empty)
        shortcuts.bind(page, "open_incident", self._open_selected)  # while the board is shown
        self._buttons()
        return page

    # -- the board ----------------------------------------------------------------------------------------

    def reload(self) -> None:
        actor, closed = self.session.actor, self.closed_filter.isChecked()
        # as many closed incidents as are shown now (a page at least): the board reads again at every tick
        limit = max(board_service.CLOSED_PAGE, self.model.closed_count())
        self.session.tasks.run(
            lambda app: app.board().board(actor, include_closed=closed, closed_limit=limit),
            self.show_board,
            self._not_loaded,
            owner=self,
        )

    def _more_closed(self, after: BoardRow) -> None:
        actor = self.session.actor
        self.session.tasks.run(
            lambda app: app.board().closed_page(actor, after),
            lambda page: self.model.add_closed(after.id, page),
            self._closed_not_loaded,
            owner=self,
        )

    def _closed_not_loaded(self, error: CrisisdeskError) -> None:
        self.model.page_failed()
        self._not_loaded(error)

    def show_board(self, board: Board) -> None:
        self.model.set_board(board)
        active = sum(1 for r in board.rows if r.status != "closed")
        if not board.rows:
            self.empty.setText("No incidents. New incident… opens one from a playbook, LIVE or EXERCISE.")
        else:
            live = sum(1 for r in board.rows if r.mode == "live" and r.status != "closed")
            self.empty.setText(f"{active} active ({live} LIVE, {active - live} EXERCISE).")
        self.empty.setStyleSheet(palette.text_style("muted", bold=False))
        self.counted = self.empty.text()
        self._search(self.search.text())

    def _not_loaded(self, error: CrisisdeskError) -> None:
        self.empty.setText(f"The incidents could not be read: {error}")
        self.empty.setStyleSheet(palette.text_style("bad"))

    def _search(self, text: str) -> None:
        words = text.strip()
        self.proxy.setFilterFixedString(words)
        if words:  # a search that hides every row says so, rather than leave an empty board unexplained
            shown, total = self.proxy.rowCount(), self.model.rowCount()
            self.empty.setText(f"{shown} of {total} incidents match “{words}”." if shown else
                               f"No incident matches “{words}”: clear the search to see all {total}.")  # fmt: skip
        elif self.counted:
            self.empty.setText(self.counted)
        self._buttons()

    def _buttons(self) -> None:
        self.open_button.setEnabled(bool(self.table.selectionModel().selectedRows()))

    def _open_selected(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows:
            self._open_index(rows[0])

    def _open_index(self, index: QModelIndex) -> None:
        source = self.proxy.mapToSource(index)
        self.open_incident(self.model.board_row(source.row()).id)

    # -- opening ------------------------------------------------------------------------------------------

    def new_incident(self) -> None:
        dialog = NewIncidentDialog(self.session, self)
        dialog.opened.connect(self.open_incident)
        dialog.finished.connect(lambda _: dialog.deleteLater())
        self.dialog = dialog
        dialog.open()

    def open_incident(self, incident_id: str) -> None:
        """Show the incident's workspace in place of the board."""
        self.close_incident()
        workspace = IncidentWorkspace(self.session, incident_id)
        workspace.back_requested.connect(self.show_board_page)
        workspace.mode_shown.connect(self._mode_shown)
        self.workspace = workspace
        self.pages.addWidget(workspace)
        self.pages.setCurrentWidget(workspace)
        if workspace.space is not None:  # loaded at once (synchronous tasks): tell the window now
            self._mode_shown(workspace.space.incident.mode.value, workspace.space.incident.title)

    def show_board_page(self) -> None:
        self.close_incident()
        self.pages.setCurrentIndex(0)
        self.reload()
        self.table.setFocus()

    def close_incident(self) -> None:
        if self.workspace is not None:
            self.pages.removeWidget(self.workspace)
            self.workspace.deleteLater()
            self.workspace = None
        self._tell_window(None, "")

    def _mode_shown(self, mode: str, title: str) -> None:
        self._tell_window(mode, title)

    def _tell_window(self, mode: str | None, title: str) -> None:
        window = self.window()
        show_mode = getattr(window, "show_mode", None)  # the main window; not when this view stands alone
        if callable(show_mode):
            show_mode(mode, title)
