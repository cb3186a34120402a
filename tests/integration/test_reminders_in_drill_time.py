"""A drill's incident is due in drill time, as its evaluation measures it: at 60x the checklist and the update
cadence fall due sixty times faster than a wall clock says, nothing falls due while the drill is paused, and the
times read as drill times. An incident outside a drill keeps the wall clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from crisisdesk.app import App
from crisisdesk.domain.clock import FixedClock
from crisisdesk.domain.incidents import Mode
from crisisdesk.domain.roles import Actor
from crisisdesk.services.board import BoardRow
from tests.conftest import CliRun
from tests.integration.drill_helpers import write_scenario
from tests.integration.outbox_helpers import add_team, open_incident, publish

STATES = {"OVERDUE", "DUE", "UPCOMING", "DONE"}


@pytest.fixture
def team(core: App, admin: Actor) -> dict[str, Actor]:
    return add_team(core, admin)


def board_row(core: App, who: Actor, incident: str) -> BoardRow:
    return next(r for r in core.board().board(who).rows if r.id == incident)


def test_a_drill_incident_at_60x_is_due_in_drill_time_and_a_pause_holds_it(
    core: App, team: dict[str, Actor], clock: FixedClock, tmp_path: Path
) -> None:
    eve, carla = team["eve"], team["carla"]
    drills = core.drills()
    drill = drills.start(eve, drills.load(eve, write_scenario(tmp_path / "scenarios")).id, compression=60)
    ours = drill.incidents["flood"]
    other = open_incident(core, team, Mode.EXERCISE)  # an exercise outside the drill, opened at the same moment
    start = clock.now()
    space = core.board().workspace(carla, ours)
    assert space.drill is not None and (space.drill.status, space.drill.compression) == ("running", 60)
    steps = [d for d in space.due if d.kind == "step"]
    update = next(d for d in space.due if d.kind == "update")
    assert [s.drill_at for s in steps] == [0, 300, 600, 1800]
    assert update.drill_at == 1800  # the playbook's cadence, 30m of drill time
    # At 60x, T+30m comes 30 wall seconds after the start.
    assert update.due_at is not None and datetime.fromisoformat(update.due_at) == start + timedelta(seconds=30)
    assert core.board().workspace(carla, other).drill is None
    assert all(d.drill_at is None for d in core.board().workspace(carla, other).due)

    clock.advance(timedelta(seconds=20))  # T+20m
    attention = core.attention()
    # The drill's T+0, T+5m and T+10m steps are overdue; the other incident's T+0 only (20 wall seconds old).
    assert attention.for_person(carla).overdue == 3 + 1
    drills.pause(eve, drill.id)
    clock.advance(timedelta(minutes=10))
    space = core.board().workspace(carla, ours)
    assert space.drill is not None and space.drill.status == "paused" and space.drill.seconds == 1200
    held = [d for d in space.due if d.drill_at == 1800]
    assert len(held) == 2 and all(d.due_at is None and d.due_local == "paused" for d in held)
    row = board_row(core, carla, ours)
    assert row.next_update_at is None and row.next_update_drill == 1800 and row.update_state == "due"
    # Ten wall minutes paused change nothing in the drill; the other incident's T+5m and T+10m fell due.
    assert attention.for_person(carla).overdue == 3 + 3

    drills.resume(eve, drill.id)
    clock.advance(timedelta(seconds=10))  # T+30m: the update is due now
    update = next(d for d in core.board().workspace(carla, ours).due if d.kind == "update")
    assert update.state == "due" and update.due_at == clock.now().isoformat()
    clock.advance(timedelta(seconds=1))  # T+31m
    assert board_row(core, carla, ours).update_state == "overdue"
    assert attention.for_person(carla).overdue == 5 + 3  # the drill's four steps and its update
    # Publishing an update restarts the cadence in drill time: due at T+1h01m, 30 wall seconds on.
    publish(core, team, ours, ["exercise-page"], mode=Mode.EXERCISE)
    update = next(d for d in core.board().workspace(carla, ours).due if d.kind == "update")
    assert update.drill_at == pytest.approx(3660) and update.state == "upcoming"
    assert update.due_at is not None
    assert datetime.fromisoformat(update.due_at) == clock.now() + timedelta(seconds=30)
    # The timeline's rows carry their drill time; the other incident's carry none.
    timeline = core.board().workspace(carla, ours).timeline
    assert timeline[-1].drill_at == 0 and timeline[0].drill_at == pytest.approx(1860)
    assert all(r.drill_at is None for r in core.board().workspace(carla, other).timeline)
    # The command line says the same.
    shown = core.incidents().show(carla, ours).as_dict()
    assert [d["drill_at"] for d in shown["due"]] == ["T+0", "T+5m", "T+10m", "T+30m", "T+1h01m"]


def test_an_ended_drill_holds_its_incident_in_drill_time(
    core: App, team: dict[str, Actor], clock: FixedClock, tmp_path: Path, cli_as: CliRun
) -> None:
    eve, carla = team["eve"], team["carla"]
    drills = core.drills()
    drill = drills.start(eve, drills.load(eve, write_scenario(tmp_path / "scenarios")).id, compression=60)
    clock.advance(timedelta(seconds=7))  # T+7m
    drills.end(eve, drill.id)
    clock.advance(timedelta(hours=2))
    space = core.board().workspace(carla, drill.incidents["flood"])
    assert space.drill is not None and space.drill.status == "ended" and space.drill.seconds == 420
    assert [d.state for d in space.due] == ["overdue", "overdue", "due", "upcoming", "upcoming"]
    code, out, _ = cli_as("carla", "incident", "show", drill.incidents["flood"])
    assert code == 0
    due = [line.split() for line in out.splitlines() if line.startswith("  ") and line.split()[0] in STATES]
    assert [(d[0], d[1]) for d in due] == [
        ("OVERDUE", "T+0"),
        ("OVERDUE", "T+5m"),
        ("DUE", "T+10m"),
        ("UPCOMING", "T+30m"),
        ("UPCOMING", "T+30m"),
    ]
