"""A player may read a running drill's evaluation and export its report (the Drills place lets anyone who may read
the drill do so), but the injects still ahead are the controllers' script: read by a player mid-drill, neither the
evaluation nor the exported report names them. Once the drill ends, or for a controller, the whole MSEL is there."""

from __future__ import annotations

from pathlib import Path

import pytest

from crisisdesk.app import App
from crisisdesk.domain.roles import Actor
from tests.conftest import CliRun
from tests.integration.drill_helpers import write_scenario
from tests.integration.outbox_helpers import add_team

AHEAD = ["Road flooded on Oak Street near the school", "Flooding on Oak Street", "late-report"]


@pytest.fixture
def running(core: App, admin: Actor, tmp_path: Path) -> tuple[str, dict[str, Actor]]:
    team = add_team(core, admin)  # eve runs exercises, carla communicates
    drills = core.drills()
    drill = drills.load(team["eve"], write_scenario(tmp_path / "s")).id
    drills.start(team["eve"], drill, compression=60)
    drills.jump(team["eve"], drill, "blackout")  # T+40m: late-report (T+55m) is still ahead
    return drill, team


def test_a_player_reading_a_running_drill_never_sees_the_injects_ahead(
    core: App, running: tuple[str, dict[str, Actor]], tmp_path: Path
) -> None:
    drill, team = running
    aar = core.after_action()
    evaluation = aar.evaluate(team["carla"], drill)
    assert evaluation.overview is not None
    shown = [i.id for i in evaluation.overview.injects]
    assert "late-report" not in shown and "blackout" in shown
    page = aar.html(team["carla"], drill)
    out = tmp_path / "carla"
    files = aar.export(team["carla"], drill, out, pdf=False, audit=False)
    exported = files[0].read_text(encoding="utf-8")
    for text in AHEAD:
        assert text not in page and text not in exported, text
    # The controller sees the whole script; and once the drill has ended, so does everyone.
    assert "Flooding on Oak Street" in aar.html(team["eve"], drill)
    core.drills().end(team["eve"], drill)
    assert "Flooding on Oak Street" in aar.html(team["carla"], drill)


def test_drill_status_for_a_player_shows_what_came_not_what_is_ahead(
    core: App, running: tuple[str, dict[str, Actor]], cli_as: CliRun
) -> None:
    drill, _team = running
    for args in (("drill", "status", drill), ("drill", "status", drill, "--json"), ("drill", "status", "--json")):
        code, out, err = cli_as("carla", *args)
        assert code == 0, err
        assert "blackout" in out, out
        for text in AHEAD:
            assert text not in out, (args, text)
    code, out, err = cli_as("eve", "drill", "status", drill)
    assert code == 0 and "late-report" in out, err
