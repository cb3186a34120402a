"""Load a scenario: the shipped and the user's scenario files, each checked (a broken one with its problems as
``file:line:column``, which cannot be loaded), or any file chosen by hand. Loading makes a drill (``drill.loaded``);
it starts from the Drill place."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from crisisdesk.app import App
from crisisdesk.domain.errors import CrisisdeskError
from crisisdesk.services.drills import Drill, DrillService, ScenarioFile
from crisisdesk.ui import palette
from crisisdesk.ui.session import Session
from crisisdesk.ui.views.drill_models import ScenariosModel
from crisisdesk.ui.views.settings_common import StatusLine, plain_label
from crisisdesk.ui.views.tables import row_table


def drill_service(app: App) -> DrillService:
    """The drill service of a task's App."""
    return app.drills()


class DrillPicker(QDialog):
    """``loaded(drill id)`` once a scenario became a drill."""

    loaded = Signal(str)

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.files: list[ScenarioFile] | None = None
        self.drill: Drill | None = None
        self.choose_file: Callable[[], str] = self._ask_for_file  # a test answers instead of the file dialog
        self.setWindowTitle("Load a drill scenario · EXERCISE")
        self.setAccessibleName("Load a drill scenario")
        self.resize(860, 480)
        layout = QVBoxLayout(self)
        layout.addWidget(
            plain_label(
                "Scenarios shipped with crisisdesk and those in your scenarios folder. A scenario with problems "
                "cannot be loaded until each is mended, in its file or on this workstation (a channel account it "
                "needs, say); each problem names the file, line and column and says what to do.",
                name="About loading a scenario",
                state="muted",
            )
        )
        self.model = ScenariosModel()
        self.table = row_table(self.model, (260, 220, 0), 2)
        self.table.setAccessibleName("Scenario files")
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._selected())
        self.table.activated.connect(lambda _: self.load_selected())
        layout.addWidget(self.table, 1)
        self.about = plain_label(name="The selected scenario")
        layout.addWidget(self.about)
        self.status = StatusLine("What loading did")
        layout.addWidget(self.status)
        bar = QHBoxLayout()
        self.load_button = QPushButton("Load this scenario")
        self.load_button.setAccessibleName("Load the selected scenario as a new drill")
        self.load_button.clicked.connect(self.load_selected)
        self.file_button = QPushButton("Load a file…")
        self.file_button.setAccessibleName("Choose a scenario file to load")
        self.file_button.setToolTip("A scenario YAML file anywhere on this computer; it is checked before it loads")
        self.file_button.clicked.connect(self.load_chosen_file)
        self.close_button = QPushButton("Close")
        self.close_button.setAccessibleName("Close without loading")
        self.close_button.clicked.connect(self.reject)
        bar.addWidget(self.load_button)
        bar.addWidget(self.file_button)
        bar.addStretch(1)
        bar.addWidget(self.close_button)
        layout.addLayout(bar)
        self._selected()
        self.reload()

    def reload(self) -> None:
        self.session.tasks.run(lambda app: drill_service(app).scenarios(), self._show, self._not_read, owner=self)

    def _show(self, files: list[ScenarioFile]) -> None:
        self.files = files
        self.model.set_rows(files)
        if files and not self.table.selectionModel().selectedRows():
            ready = [i for i, f in enumerate(files) if not f.problems]
            self.table.selectRow(ready[0] if ready else 0)
        if not files:
            self.about.setText("No scenario files found: use Load a file… to choose one.")

    def _not_read(self, error: CrisisdeskError) -> None:
        self.files = []
        self.status.say(f"The scenarios could not be read: {error}", "bad")

    def selected(self) -> ScenarioFile | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.row(rows[0].row()) if rows else None

    def select(self, file_name: str) -> bool:
        for i, f in enumerate(self.model.rows):
            if file_name in (f.path.name, f.path.stem):
                self.table.selectRow(i)
                return True
        return False

    def _selected(self) -> None:
        chosen = self.selected()
        self.load_button.setEnabled(chosen is not None and not chosen.problems)
        if chosen is None:
            self.about.setText("")
            return
        if chosen.problems:
            self.about.setText("\n".join(str(p) for p in chosen.problems))
            self.about.setStyleSheet(palette.text_style("bad", bold=False))
            return
        s = chosen.scenario
        assert s is not None
        self.about.setStyleSheet("")
        self.about.setText(
            f"{s.name} (version {s.version}, {s.duration}, {len(s.injects)} injects, {len(s.objectives)} objectives)"
            f"\n{s.summary.strip()}"
        )

    def load_selected(self) -> None:
        chosen = self.selected()
        if chosen is not None and not chosen.problems:
            self.load(chosen.path)

    def _ask_for_file(self) -> str:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a scenario file", "", "Scenario files (*.yaml *.yml)")
        return path

    def load_chosen_file(self) -> None:
        path = self.choose_file()
        if path:
            self.load(Path(path))

    def load(self, path: Path) -> None:
        actor = self.session.actor
        self.load_button.setEnabled(False)
        self.status.say(f"Loading {path.name}…", "muted")
        self.session.tasks.run(
            lambda app: drill_service(app).load(actor, path),
            self._loaded,
            lambda e: self.status.say(f"Not loaded: {e}", "bad"),
            on_done=self._selected,
            owner=self,
        )

    def _loaded(self, drill: Drill) -> None:
        self.drill = drill
        self.loaded.emit(drill.id)
        self.accept()
