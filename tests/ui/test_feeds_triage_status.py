"""The triage status line keeps its confirmation when the queue re-reads: in the console the re-read's rows arrive
after the line is set (a task), and choosing the next row cleared "Marked answered with ..." at once (a walkthrough
saw it in some runs and not in others). Here the late selection change is made by hand, as the re-read makes it."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from crisisdesk.app import App
from tests.ui.test_feeds_view import World, monitor, world  # noqa: F401 - the fixture


def test_the_confirmation_stays_when_the_next_row_is_chosen_by_the_reread(
    qtbot: QtBot,
    core: App,
    world: World,  # noqa: F811 - the fixture
) -> None:
    window, view = monitor(core, world.cam)
    qtbot.addWidget(window)
    view.tabs.setCurrentIndex(2)
    row = next(r for r in range(view.triage.rowCount()) if view.triage.row(r).text.startswith("Water over the road"))
    view.triage_table.selectRow(row)
    qtbot.mouseClick(view.answered_button, Qt.MouseButton.LeftButton)
    assert view.triage_status.text().startswith("Marked answered")
    view.triage_table.clearSelection()  # what the re-read's rows do when they arrive after the line was set
    view.triage_table.selectRow(0)
    assert view.triage_status.text().startswith("Marked answered")
