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
from crisisdesk.services.drills import DrillStatus, InjectStatus
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


@pytest.mark.parametrize(
    ("kind", "payload"),
    [
        (Kind.DRILL_INJECT_FIRED, {"inject": "page-down", "kind": "channel-outage", "until_seconds": "soon"}),
        (Kind.DRILL_INJECT_FIRED, {"kind": "note"}),
        (Kind.DRILL_INJECT_FIRED, {"inject": "ic-call", "kind": "note", "drill_seconds": "later"}),
        (Kind.DRILL_INJECT_FIRED, {"inject": "blackout", "kind": "network-loss", "until_seconds": "nan"}),
        (Kind.DRILL_INJECT_SKIPPED, {}),
        (Kind.DRILL_COMPRESSION_SET, {"factor": "fast"}),
        (Kind.DRILL_COMPRESSION_SET, {"factor": "-60"}),
        (Kind.DRILL_COMPRESSION_SET, {"factor": "nan"}),
        (Kind.DRILL_JUMPED, {"inject": "late-report"}),
        (Kind.DRILL_JUMPED, {"inject": "late-report", "to_seconds": "inf"}),
        (Kind.DRILL_STARTED, {"compression": "1e9", "incidents": {}}),
    ],
)
def test_a_malformed_drill_event_is_passed_over_not_a_crash(
    core: App, eve: Actor, tmp_path: Path, clock: FixedClock, cli_as: CliRun, kind: str, payload: dict[str, Any]
) -> None:
    drills = core.drills()
    path = write_scenario(tmp_path / "s")
    drill = drills.load(eve, path)
    if kind != Kind.DRILL_STARTED:
        drills.start(eve, drill.id)
    record(core, kind, {"drill": drill.id, **payload})
    advance(clock, 1)
    drills = core.drills()  # a fresh fold, as another process has
    for service in (drills, core.drills()):
        seen = service.get(eve, drill.id)
        assert seen.status in (DrillStatus.RUNNING, DrillStatus.LOADED)
        assert 0 <= seen.drill_time.total_seconds() < 3600  # the clock is not thrown off by the bad event
        assert seen.compression == 1.0
        assert all(i.status is not InjectStatus.SKIPPED for i in seen.injects)
        service.tick()
        service.outage("any-account")
        service.drills(eve)
    core.after_action().evaluate(eve, drill.id)
    code, _out, err = cli_as("eve", "drill", "status", drill.id)
    assert code == 0, err


def test_drill_events_of_a_drill_never_loaded_are_not_a_drill(
    core: App, eve: Actor, tmp_path: Path, cli_as: CliRun
) -> None:
    record(core, Kind.DRILL_STARTED, {"drill": "drl-ffffffffff", "compression": "60", "incidents": {}})
    record(
        core,
        Kind.DRILL_INJECT_FIRED,
        {
            "drill": "drl-ffffffffff",
            "inject": "x",
            "kind": "network-loss",
            "accounts": ["acct-x"],
            "until_seconds": "99999",
        },
    )
    drills = core.drills()
    assert drills.drills(eve) == []
    assert drills.running_ids() == frozenset()
    code, _, err = cli_as("eve", "drill", "status", "drl-ffffffffff")
    one_line(code, err)
    code, _, err = cli_as("eve", "drill", "evaluate", "drl-ffffffffff")
    one_line(code, err)
    code, _, err = cli_as("eve", "drill", "end", "drl-ffffffffff")
    one_line(code, err)


@pytest.mark.parametrize(
    ("kind", "payload"),
    [
        (Kind.DRILL_RATED, {"objective": "first-alert", "rating": "Z", "note": "x"}),
        (Kind.DRILL_RATED, {"rating": "P"}),
        (Kind.DRILL_RATED, {"objective": "first-alert", "rating": None, "note": None}),
        (Kind.DRILL_REPORT_EDITED, {"objective": "first-alert", "strengths": "not a list", "areas": 7}),
        (Kind.DRILL_REPORT_EDITED, {"objective": "first-alert"}),
        (Kind.DRILL_REPORT_EDITED, {"objective": None, "plan": [{"issue": 1, "start": "not a day"}]}),
        (Kind.DRILL_REPORT_EDITED, {"objective": None, "plan": "not rows"}),
        (
            Kind.DRILL_REPORT_EDITED,
            {"objective": None, "plan": [{"issue": "x", "start": "2026-12-05", "completion": "2026-12-01"}, 5]},
        ),
    ],
)
def test_a_malformed_rating_or_report_edit_in_the_log_is_passed_over(
    core: App, eve: Actor, tmp_path: Path, cli_as: CliRun, kind: str, payload: dict[str, Any]
) -> None:
    drills = core.drills()
    drill = drills.load(eve, write_scenario(tmp_path / "s")).id
    drills.start(eve, drill)
    drills.end(eve, drill)
    record(core, kind, {"drill": drill, **payload})
    evaluation = core.after_action().evaluate(eve, drill)
    assert [o.objective_id for o in evaluation.objectives] == ["first-alert"]
    for args in (("drill", "evaluate", drill), ("drill", "report", drill, "--out", str(tmp_path / "r"), "--no-pdf")):
        code, _out, err = cli_as("eve", *args)
        assert code == 0, err
