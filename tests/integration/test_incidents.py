"""Incidents: mode fixed for life, typed facts, status, checklist and cadence against a frozen clock, timeline."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta

import pytest

from crisisdesk.app import App
from crisisdesk.domain.clock import FixedClock
from crisisdesk.domain.errors import NotFound, PermissionDenied, UserError
from crisisdesk.domain.events import Kind
from crisisdesk.domain.incidents import Mode, Status
from crisisdesk.domain.roles import Actor, Role
from tests.integration.test_event_log import snapshot

FLOOD_FACTS = {
    "area": "Mill Creek valley | geocode: SAME=006067",
    "expires": "2026-11-22T21:30",
    "info_url": "https://ready.millcounty.gov/flood",
    "phone": "211",
}


@pytest.fixture
def team(core: App, admin: Actor) -> dict[str, Actor]:
    people = {
        "carla": [Role.COMMUNICATOR],
        "ivan": [Role.APPROVER],
        "eve": [Role.EXERCISE_CONTROLLER],
        "vic": [Role.VIEWER],
    }
    for name, roles in people.items():
        core.people.add(admin, name, roles, f"{name} password")
    return {name: core.people.actor(name) for name in people}


def test_a_communicator_opens_a_live_incident_with_typed_facts(core: App, team: dict[str, Actor]) -> None:
    incident = core.incidents().open(team["carla"], "flash-flood", Mode.LIVE, facts=FLOOD_FACTS)
    assert incident.id.startswith("inc-")
    assert (incident.mode, incident.status, incident.playbook_version) == (Mode.LIVE, Status.ACTIVE, "1.2")
    assert incident.title == "Flash flood warning"
    assert incident.facts == FLOOD_FACTS
    assert incident.timezone == "America/Los_Angeles"
    [listed] = core.incidents().list_all(team["vic"])
    assert listed == incident


def test_a_mistyped_fact_is_refused_and_nothing_is_recorded(core: App, team: dict[str, Actor]) -> None:
    before = core.log.count()
    with pytest.raises(UserError, match="fact expires: 'tonight' is not a date and time"):
        core.incidents().open(team["carla"], "flash-flood", Mode.LIVE, facts={"expires": "tonight"})
    with pytest.raises(UserError, match="has no fact 'depth'"):
        core.incidents().open(team["carla"], "flash-flood", Mode.LIVE, facts={"depth": "3 ft"})
    with pytest.raises(NotFound, match="no playbook 'volcano'"):
        core.incidents().open(team["carla"], "volcano", Mode.LIVE)
    assert core.log.count() == before


def test_who_may_open_what_and_refusals_are_recorded(core: App, team: dict[str, Actor]) -> None:
    exercise = core.incidents().open(team["eve"], "tornado", Mode.EXERCISE)
    assert exercise.mode is Mode.EXERCISE
    for who in ("eve", "ivan", "vic"):
        with pytest.raises(PermissionDenied, match=f"{who} may not draft and edit messages"):
            core.incidents().open(team[who], "tornado", Mode.LIVE)
    with pytest.raises(PermissionDenied):
        core.incidents().open(team["vic"], "tornado", Mode.EXERCISE)
    refusals = [e for e in core.log.events() if e.kind == Kind.ACCESS_DENIED]
    assert [e.actor for e in refusals] == ["eve", "ivan", "vic", "vic"]
    assert refusals[0].payload["action"] == "open a live incident"
    # The exercise controller runs the exercise; a viewer may only read it.
    core.incidents().set_fact(team["eve"], exercise.id, "moving", "toward Oak Hill")
    with pytest.raises(PermissionDenied):
        core.incidents().set_fact(team["vic"], exercise.id, "moving", "north")


def test_facts_change_status_moves_and_a_closed_incident_stays_closed(core: App, team: dict[str, Actor]) -> None:
    carla = team["carla"]
    incidents = core.incidents()
    inc = incidents.open(carla, "flash-flood", Mode.LIVE, facts=FLOOD_FACTS)
    inc = incidents.set_fact(carla, inc.id, "expires", "2026-11-22T23:00")
    assert inc.facts["expires"] == "2026-11-22T23:00"
    with pytest.raises(UserError, match="not a web address"):
        incidents.set_fact(carla, inc.id, "info_url", "ready.millcounty.gov")
    assert incidents.set_status(carla, inc.id, Status.MONITORING).status is Status.MONITORING
    closed = incidents.close(carla, inc.id)
    assert closed.status is Status.CLOSED and closed.closed_at
    with pytest.raises(UserError, match="is closed"):
        incidents.set_fact(carla, inc.id, "phone", "311")
    assert incidents.list_all(carla, include_closed=False) == []


def test_checklist_and_cadence_are_due_against_the_clock(core: App, team: dict[str, Actor], clock: FixedClock) -> None:
    incidents = core.incidents()
    inc = incidents.open(team["carla"], "flash-flood", Mode.LIVE, facts=FLOOD_FACTS)
    # flash-flood: steps at T+0, T+5m, T+10m, T+30m; updates every 30 minutes.
    states = lambda: [(d.kind, d.step, d.state) for d in incidents.show(team["vic"], inc.id).due]  # noqa: E731
    assert states() == [
        ("step", 1, "due"),
        ("step", 2, "due"),
        ("step", 3, "due"),
        ("step", 4, "upcoming"),
        ("update", None, "upcoming"),
    ]
    clock.advance(timedelta(minutes=7))
    incidents.step_done(team["carla"], inc.id, 1)
    assert states()[:3] == [("step", 1, "done"), ("step", 2, "overdue"), ("step", 3, "due")]
    clock.advance(timedelta(minutes=30))
    assert states()[-2:] == [("step", 4, "overdue"), ("update", None, "overdue")]
    with pytest.raises(UserError, match="steps 1 to 4"):
        incidents.step_done(team["carla"], inc.id, 9)
    incidents.close(team["carla"], inc.id)
    assert all(kind == "step" for kind, _, _ in states())  # no updates are due on a closed incident


def test_the_timeline_tells_what_happened(core: App, team: dict[str, Actor], clock: FixedClock) -> None:
    incidents = core.incidents()
    inc = incidents.open(team["carla"], "flash-flood", Mode.LIVE, facts=FLOOD_FACTS)
    clock.advance(timedelta(minutes=3))
    incidents.set_fact(team["carla"], inc.id, "route", "Highway 16 east")
    incidents.step_done(team["carla"], inc.id, 1)
    other = incidents.open(team["carla"], "tornado", Mode.LIVE)
    timeline = incidents.show(team["ivan"], inc.id).timeline
    assert [t.what for t in timeline] == ["Incident opened", "Fact set", "Checklist step done"]
    assert timeline[1].summary == "name=route value=Highway 16 east"
    assert timeline[1].at == "2026-11-22T09:33:00.000000+00:00"
    assert incidents.show(team["ivan"], other.id).timeline[0].what == "Incident opened"


def test_replay_rebuilds_incidents_exactly(core: App, team: dict[str, Actor]) -> None:
    incidents = core.incidents()
    inc = incidents.open(team["carla"], "flash-flood", Mode.LIVE, facts=FLOOD_FACTS)
    incidents.set_fact(team["carla"], inc.id, "phone", "311")
    incidents.step_done(team["carla"], inc.id, 2)
    incidents.close(team["carla"], inc.id)
    incidents.open(team["eve"], "tornado", Mode.EXERCISE, title="Spring drill")
    before = snapshot(core.db.conn)
    assert before["incidents"] and before["incident_facts"] and before["incident_steps_done"]
    core.log.replay()
    assert snapshot(core.db.conn) == before
    assert core.log.verify().ok


def test_the_mode_cannot_be_changed_afterwards(core: App, team: dict[str, Actor]) -> None:
    inc = core.incidents().open(team["eve"], "tornado", Mode.EXERCISE)
    with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"):
        core.db.conn.execute("UPDATE incidents SET mode = 'sideways' WHERE id = ?", (inc.id,))
    # There is no event or service call that changes a mode; the projection only writes it at opening.
    assert not [name for name in dir(core.incidents()) if "mode" in name]


def test_the_cli_opens_shows_and_closes(core: App, team: dict[str, Actor], cli_as, clock) -> None:  # type: ignore[no-untyped-def]
    def run(*args: str) -> tuple[int, str, str]:
        return cli_as("carla", *args)

    facts = [f"--fact={k}={v}" for k, v in FLOOD_FACTS.items()]
    code, out, err = run("incident", "open", "flash-flood", "--mode", "live", *facts, "--json")
    assert code == 0, err
    incident_id = json.loads(out)["id"]
    clock.advance(timedelta(minutes=6))
    code, out, _ = run("incident", "show", incident_id, "--json")
    shown = json.loads(out)
    assert (shown["mode"], shown["status"]) == ("live", "active")
    assert [d["state"] for d in shown["due"]][:3] == ["overdue", "overdue", "due"]
    code, out, _ = run("incident", "show", incident_id)
    assert out.startswith(f"{incident_id}  [LIVE]  Flash flood warning")
    assert run("incident", "set-fact", incident_id, "expires=2026-11-22T23:00")[0] == 0
    code, _, err = run("incident", "set-fact", incident_id, "expires=soon")
    assert code == 2 and "not a date and time" in err
    assert run("incident", "close", incident_id)[1].strip() == f"{incident_id}: closed"
    code, out, _ = run("incident", "list")
    assert "LIVE" in out and "closed" in out
    code, _, err = run("incident", "show", "inc-nope")
    assert code == 2 and "no incident 'inc-nope'" in err
