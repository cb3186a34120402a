"""Hostile tests of issue 15's drills against what the log may hold: drill events hand-written through the event
log's own API (or arriving from another workstation), and a drill whose scenario text no longer reads. One bad drill
must not take the others, the clock, the status command or the outbox down with it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from crisisdesk.app import App
from crisisdesk.domain.clock import FixedClock
from crisisdesk.domain.errors import UserError
from crisisdesk.domain.events import Kind
from crisisdesk.domain.roles import Actor
from tests.conftest import CliRun
from tests.integration.drill_helpers import advance, controller, write_scenario

OLD = "drl-00000000aa"


def record(core: App, kind: str, payload: dict[str, Any], actor: str = "eve") -> None:
    with core.db.write() as conn:
        core.log.record(conn, actor, kind, payload)


def one_line(code: int, err: str) -> None:
    assert code == 2, err
    assert err.startswith("crisisdesk: error: ") and err.count("\n") == 1 and "Traceback" not in err, err


@pytest.fixture
def eve(core: App, admin: Actor) -> Actor:
    return controller(core, admin)


def old_drill(core: App) -> None:
    """A drill loaded and started with a scenario format this version no longer reads."""
    text = "id: old\nname: Old format drill\nformat: 0\nsteps: []\n"
    loaded = {
        "drill": OLD,
        "scenario": "old",
        "name": "Old format drill",
        "version": "0",
        "source": "old.yaml",
        "sha256": "0" * 64,
        "text": text,
    }
    record(core, Kind.DRILL_LOADED, loaded)
    record(core, Kind.DRILL_STARTED, {"drill": OLD, "compression": "1", "incidents": {}, "feed_source": "feed-x"})


def test_a_drill_whose_scenario_no_longer_reads_does_not_stop_the_others(
    core: App, eve: Actor, tmp_path: Path, clock: FixedClock, cli_as: CliRun
) -> None:
    drills = core.drills()
    good = drills.load(eve, write_scenario(tmp_path / "s"))
    drills.start(eve, good.id)
    old_drill(core)
    # The clock goes on for the drill that reads: its T+5m inject fires.
    advance(clock, 6)
    fired = drills.tick()
    assert [i.id for i in fired] == ["nws-warning"]
    assert drills.next_due() is not None
    drills.warm()
    # The list shows the drills that read; the one that does not is a one-line error when asked for by name.
    assert [d.id for d in drills.drills(eve)] == [good.id]
    with pytest.raises(UserError, match="no longer reads"):
        drills.get(eve, OLD)
    code, out, err = cli_as("eve", "drill", "status")
    assert code == 0, err
    assert good.id in out and OLD not in out
    code, out, err = cli_as("eve", "drill", "status", OLD)
    one_line(code, err)
    code, out, err = cli_as("eve", "drill", "scenarios")
    assert code == 0, err
