"""What the Drills place says as a drill changes state, seen in a walkthrough: the chooser's line follows a pause
and an end at once (it read RUNNING after both until the next re-read), and after the end the injects that never
fired say so and the controls that steer a drill are gone."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from crisisdesk.app import App
from crisisdesk.domain.roles import Actor
from crisisdesk.services.drills import DrillStatus
from tests.ui.test_drill_view import msel_state, open_drills, scenario_file, team  # noqa: F401 - fixtures


def test_the_chooser_and_the_msel_follow_a_pause_and_an_end(
    qtbot: QtBot,
    core: App,
    team: dict[str, Actor],  # noqa: F811 - the fixture
    scenario_file: Path,  # noqa: F811 - the fixture
) -> None:
    _window, view = open_drills(qtbot, core, team["eve"])
    picker = view.open_picker()
    picker.choose_file = lambda: str(scenario_file)
    picker.file_button.click()
    view.speed.setValue(10)
    view.start_button.click()
    assert "running" in view.choice.currentText().lower()

    view.pause_button.click()
    assert view.drill is not None and view.drill.status is DrillStatus.PAUSED
    assert "paused" in view.choice.currentText().lower()  # not the RUNNING of the last read

    view.end_button.click()
    assert view.confirm_box is not None
    next(b for b in view.confirm_box.buttons() if b.text() == "End the drill").click()
    assert view.drill is not None and view.drill.status is DrillStatus.ENDED
    assert "ended" in view.choice.currentText().lower()
    assert msel_state(view, "question") == "never fired (the drill ended)"
    assert not msel_state(view, "question").startswith("NEXT")
    for control in (view.jump_button, view.inject_button, view.speed, view.speed_button, view.end_button):
        assert not control.isVisibleTo(view), control.accessibleName()


def test_when_every_inject_is_done_the_view_says_to_end_the_drill(
    qtbot: QtBot,
    core: App,
    team: dict[str, Actor],  # noqa: F811 - the fixture
    scenario_file: Path,  # noqa: F811 - the fixture
) -> None:
    _window, view = open_drills(qtbot, core, team["eve"])
    picker = view.open_picker()
    picker.choose_file = lambda: str(scenario_file)
    picker.file_button.click()
    view.start_button.click()
    view.select_inject("later-note")
    view.jump_button.click()
    assert view.drill is not None and view.drill.next_inject is None
    line = view.next_line.text()
    assert "planned length is 30m" in line and "End the drill when the players are done" in line
