"""Hostile tests of the Drills place: the drill changed by another process (its own connection to the file) while
the view is open: the buttons follow the log, and the clock stands still while paused and after the end."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from crisisdesk.app import App
from crisisdesk.domain.clock import FixedClock
from crisisdesk.domain.roles import Actor
from crisisdesk.services.drills import DrillStatus
from crisisdesk.services.passwords import Argon2Hasher
from tests.ui.test_drill_view import open_drills, scenario_file, team

__all__ = ["scenario_file", "team"]


def test_the_view_follows_a_pause_and_an_end_made_by_another_process(
    qtbot: QtBot,
    core: App,
    team: dict[str, Actor],
    scenario_file: Path,
    clock: FixedClock,
    hasher: Argon2Hasher,
) -> None:
    drills = core.drills()
    drill = drills.load(team["eve"], scenario_file).id
    drills.start(team["eve"], drill, compression=10)
    _window, view = open_drills(qtbot, core, team["eve"])
    qtbot.waitUntil(lambda: view.drill is not None and view.drill.status is DrillStatus.RUNNING, timeout=10_000)
    moment = [1000.0]
    view.monotonic = lambda: moment[0]
    other = App.open(core.db.path, clock=clock, hasher=hasher)  # another process's connection
    try:
        other.drills().pause(other.people.actor("eve"), drill)
        qtbot.waitUntil(lambda: view.drill is not None and view.drill.status is DrillStatus.PAUSED, timeout=10_000)
        assert view.resume_button.isVisibleTo(view) and view.resume_button.isEnabled()
        assert not view.pause_button.isVisibleTo(view) and not view.pause_button.isEnabled()
        assert not view.clock.isActive()
        frozen = view.clock_seconds()
        moment[0] += 60.0  # a wall minute: ten drill minutes, were the clock running
        view.clock.timeout.emit()
        assert view.clock_seconds() == frozen
        other.drills().resume(other.people.actor("eve"), drill)
        qtbot.waitUntil(lambda: view.drill is not None and view.drill.status is DrillStatus.RUNNING, timeout=10_000)
        assert view.pause_button.isEnabled() and not view.resume_button.isVisibleTo(view)
        other.drills().end(other.people.actor("eve"), drill)
        qtbot.waitUntil(lambda: view.drill is not None and view.drill.status is DrillStatus.ENDED, timeout=10_000)
    finally:
        other.close()
    assert not view.clock.isActive()
    ended = view.clock_seconds()
    moment[0] += 600.0
    view.clock.timeout.emit()
    assert view.clock_seconds() == ended
    pressable = (view.start_button, view.pause_button, view.resume_button, view.end_button, view.speed_button,
                 view.jump_button, view.inject_button)  # fmt: skip
    assert [b.accessibleName() for b in pressable if b.isEnabled() and b.isVisibleTo(view)] == []
