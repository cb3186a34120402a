"""What a player sees of a drill, offscreen: the workspace of a drill's incident counts its reminders in drill time
and reads its times as drill times (T+5m), a paused drill says so; a note for the player's role raises the Drills
badge until they look there, and an urgent comment waiting for triage raises the Monitor badge."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from crisisdesk.app import App
from crisisdesk.domain.clock import FixedClock
from crisisdesk.domain.roles import Actor
from crisisdesk.ui.views.main_window import DRILLS, INCIDENTS, MONITOR
from tests.integration.drill_helpers import write_scenario
from tests.integration.outbox_helpers import add_team
from tests.ui.test_incidents_view import open_window, picture, styled  # noqa: F401 - the fixture, used by name
from tests.ui.test_window import unnamed_controls


@pytest.fixture
def team(core: App, admin: Actor) -> dict[str, Actor]:
    return add_team(core, admin)


@pytest.mark.usefixtures("styled")
def test_a_drill_incident_at_60x_shows_its_reminders_and_times_in_drill_time(
    qtbot: QtBot, core: App, team: dict[str, Actor], clock: FixedClock, tmp_path: Path
) -> None:
    eve = team["eve"]
    drills = core.drills()
    drill = drills.start(eve, drills.load(eve, write_scenario(tmp_path / "scenarios")).id, compression=60)
    clock.advance(timedelta(seconds=30))  # T+30m of drill time: the playbook's 30m cadence asks for an update
    window = open_window(qtbot, core, team["carla"])
    view = window.incidents
    view.table.selectRow(0)
    assert view.proxy.index(0, 5).data() == "in under a minute drill time (T+30m)"
    qtbot.keyClick(view.table, Qt.Key.Key_Return)
    workspace = view.workspace
    assert workspace is not None and workspace.space is not None
    assert workspace.space.incident.id == drill.incidents["flood"]
    about = workspace.about.text()
    assert "drill time T+30m at 60x" in about
    assert "an update every 30m of drill time, next: in under a minute drill time (T+30m)" in about
    assert "times are drill times" in about
    steps = [
        (workspace.steps.index(r, 1).data(), workspace.steps.index(r, 4).data())
        for r in range(workspace.steps.rowCount())
    ]
    assert steps == [
        ("T+0", "OVERDUE"),
        ("T+5m", "OVERDUE"),
        ("T+10m", "OVERDUE"),
        ("T+30m", "due soon"),
        ("T+30m", "due soon"),
    ]
    when = [workspace.timeline.index(r, 0).data() for r in range(workspace.timeline.rowCount())]
    assert when[-1] == "T+0" and all(w.startswith("T+") for w in when)
    assert "drill time T+0" in workspace.timeline.index(workspace.timeline.rowCount() - 1, 0).data(
        Qt.ItemDataRole.ToolTipRole
    )
    for model in (workspace.steps, workspace.timeline):
        ModelTester(None).check(model)  # type: ignore[arg-type]
    picture(window, "drill-time-workspace")
    # The badge counts in drill time too: three steps past their drill time.
    assert window.badge(INCIDENTS) == (3, True)

    clock.advance(timedelta(seconds=2))  # T+32m
    drills.pause(eve, drill.id)
    clock.advance(timedelta(minutes=20))  # twenty wall minutes paused: nothing more falls due
    assert window.session.watcher.check()
    about = workspace.about.text()
    assert "drill time T+32m (paused)" in about and "next: OVERDUE by 2 min drill time (T+30m)" in about
    assert window.badge(INCIDENTS) == (5, True)
    drills.resume(eve, drill.id)
    core.incidents().step_done(team["carla"], drill.incidents["flood"], 4)  # T+30m step, so one row is still ahead
    assert window.session.watcher.check()
    drills.pause(eve, drill.id)
    assert window.session.watcher.check()
    assert "next: OVERDUE" in workspace.about.text()  # the update is overdue, paused or not
    tip = workspace.steps.index(3, 1).data(Qt.ItemDataRole.ToolTipRole)
    assert tip.startswith("due at drill time T+30m")
    assert unnamed_controls(window) == []


def test_a_paused_drill_says_paused_for_what_is_still_ahead(
    qtbot: QtBot, core: App, team: dict[str, Actor], clock: FixedClock, tmp_path: Path
) -> None:
    eve = team["eve"]
    drills = core.drills()
    drill = drills.start(eve, drills.load(eve, write_scenario(tmp_path / "scenarios")).id, compression=60)
    clock.advance(timedelta(seconds=12))  # T+12m
    drills.pause(eve, drill.id)
    window = open_window(qtbot, core, team["carla"])
    view = window.incidents
    assert view.proxy.index(0, 5).data() == "paused (due T+30m)"
    view.table.selectRow(0)
    qtbot.keyClick(view.table, Qt.Key.Key_Return)
    workspace = view.workspace
    assert workspace is not None and workspace.space is not None
    assert "drill time T+12m (paused)" in workspace.about.text()
    assert "next: paused (due T+30m)" in workspace.about.text()
    last = workspace.steps.rowCount() - 1
    assert workspace.steps.index(last, 1).data() == "T+30m"
    assert "the drill is not running, so nothing falls due" in workspace.steps.index(last, 1).data(
        Qt.ItemDataRole.ToolTipRole
    )


@pytest.mark.usefixtures("styled")
def test_a_note_raises_the_drills_badge_for_its_role_until_seen_and_an_urgent_comment_the_monitors(
    qtbot: QtBot, core: App, team: dict[str, Actor], clock: FixedClock, tmp_path: Path
) -> None:
    eve = team["eve"]
    carla = open_window(qtbot, core, team["carla"])  # communicator: the note is for her role
    ivan = open_window(qtbot, core, team["ivan"])  # approver: not his
    drills = core.drills()
    drill = drills.start(eve, drills.load(eve, write_scenario(tmp_path / "scenarios")).id, compression=60)
    assert carla.session.watcher.check()
    assert carla.badge(DRILLS) == (0, False) and carla.badge(MONITOR) == (0, False)
    clock.advance(timedelta(seconds=12))  # T+12m: the urgent comment (T+10m) and the commander's call (T+12m)
    fired = {s.id for s in drills.tick()}
    assert {"shelter-question", "ic-call"} <= fired
    assert carla.session.watcher.check() and ivan.session.watcher.check()
    assert carla.badge(DRILLS) == (1, True) and ivan.badge(DRILLS) == (0, False)
    assert carla.badge(MONITOR) == (1, True) and ivan.badge(MONITOR) == (1, True)
    item = carla.nav.item(carla.places.index(DRILLS))
    assert item.data(Qt.ItemDataRole.AccessibleTextRole) == "Drills, 1 waiting, urgent"
    picture(carla, "drill-time-badges")
    # Looking at the Drills place is seeing the note: the badge goes, and stays gone when the window looks again.
    carla.show_place(DRILLS)
    assert carla.badge(DRILLS) == (0, False)
    carla.show_place(INCIDENTS)
    carla.session.watcher.tick.emit()  # the window looks again, nothing having changed
    assert carla.badge(DRILLS) == (0, False) and carla.badge(MONITOR) == (1, True)
    # Triage takes the comment off the Monitor's badge.
    [comment] = [s for s in drills.view(drill.id).injects if s.id == "shelter-question"]
    assert comment.item is not None
    core.feeds().set_triage(team["carla"], comment.item, status="acknowledged")
    assert carla.session.watcher.check() and carla.badge(MONITOR) == (0, False)
    # The drill's end ends its notes' claim on the badge.
    drills.end(eve, drill.id)
    assert ivan.session.watcher.check() and ivan.badge(DRILLS) == (0, False)
