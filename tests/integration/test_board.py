"""The incident views' read-models: the board's rows, an incident's workspace and messages with their states, and a
fact checked as opening an incident would check it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from crisisdesk.app import App
from crisisdesk.domain.clock import FixedClock
from crisisdesk.domain.errors import PermissionDenied, UserError
from crisisdesk.domain.events import Kind
from crisisdesk.domain.incidents import Mode
from crisisdesk.domain.roles import Actor, Role
from tests.integration.outbox_helpers import add_team, open_incident, publish
from tests.integration.test_incidents import FLOOD_FACTS


@pytest.fixture
def team(core: App, admin: Actor) -> dict[str, Actor]:
    return add_team(core, admin)


def test_the_board_shows_mode_countdown_overdue_steps_and_the_latest_message(
    core: App, team: dict[str, Actor], clock: FixedClock
) -> None:
    live = open_incident(core, team, Mode.LIVE)
    clock.advance(timedelta(minutes=1))
    drill = open_incident(core, team, Mode.EXERCISE)
    publish(core, team, live, ["public-page"])
    core.outbox().run_once()
    waiting = core.messages().draft(team["eve"], drill, "alert")
    core.messages().submit(team["eve"], waiting.id)
    board = core.board().board(team["ivan"])
    assert [r.id for r in board.rows] == [drill, live]  # newest first
    rows = {r.id: r for r in board.rows}
    assert (rows[live].mode, rows[drill].mode) == ("live", "exercise")
    assert rows[live].playbook_title == "Flash flood warning" and rows[live].hazard == "flood"
    assert rows[live].latest is not None and rows[live].latest.describe() == "published: delivered 1 of 1"
    assert rows[drill].latest is not None and rows[drill].latest.state == "submitted"
    assert rows[live].overdue_steps == 1 and rows[drill].overdue_steps == 0  # T+0 passed a minute ago
    assert rows[live].update_state == "upcoming"
    # The published alert restarts the cadence: 30 minutes from the publish.
    assert rows[live].next_update_at == (clock.now() + timedelta(minutes=30)).isoformat()
    core.messages().approve(team["ivan"], waiting.id, waiting.content_hash)
    assert core.board().board(team["ivan"]).rows[0].latest.state == "approved"  # type: ignore[union-attr]
    clock.advance(timedelta(minutes=6))
    rows = {r.id: r for r in core.board().board(team["ivan"]).rows}
    assert rows[drill].overdue_steps == 2  # T+0 and T+5m, nobody ticked them
    clock.advance(timedelta(minutes=25))
    rows = {r.id: r for r in core.board().board(team["ivan"]).rows}
    assert rows[live].update_state == "overdue" and rows[drill].update_state == "overdue"
    # Closed incidents stay behind the filter.
    core.incidents().close(team["carla"], live)
    assert [r.id for r in core.board().board(team["ivan"]).rows] == [drill]
    everything = core.board().board(team["ivan"], include_closed=True).rows
    found = [(r.id, r.status, r.update_state) for r in everything]
    assert found == [(drill, "active", "overdue"), (live, "closed", "")]


def test_the_workspace_has_facts_checklist_timeline_and_message_states(
    core: App, team: dict[str, Actor], clock: FixedClock
) -> None:
    inc = open_incident(core, team, Mode.LIVE)
    carla, ivan = team["carla"], team["ivan"]
    messages = core.messages()
    returned = messages.draft(carla, inc, "alert")
    messages.submit(carla, returned.id)
    messages.return_(ivan, returned.id, "say which road is closed")
    clock.advance(timedelta(minutes=2))
    alert = publish(core, team, inc, ["public-page"])
    core.outbox().run_once()
    clock.advance(timedelta(minutes=1))
    core.incidents().step_done(carla, inc, 1)
    space = core.board().workspace(ivan, inc)
    assert space.incident.mode is Mode.LIVE and space.cadence == "30m"
    # Each fact, and a translated fact's value in the other language right after it.
    assert [f.name for f in space.facts] == [
        "area",
        "area@es",
        "expires",
        "route",
        "route@es",
        "shelter",
        "info_url",
        "phone",
        "correction",
        "correction@es",
        "false_alarm",  # one value for every language: a choice
    ]
    assert {f.name: f.value for f in space.facts}["route"] is None
    assert {f.name: f.value for f in space.facts}["phone"] == "211"
    states = {m.id: (m.state, m.comment) for m in space.messages}
    assert states[returned.id] == ("returned", "say which road is closed")
    assert states[alert.id] == ("published", None)
    published = next(m for m in space.messages if m.id == alert.id)
    assert [(d.account, d.state) for d in published.deliveries] == [("public-page", "sent")]
    assert published.deliveries[0].detail  # the receipt
    assert space.published and not space.may_work and space.may_approve  # ivan approves, does not draft
    assert space.message_types == ("alert", "update", "correction", "cancel", "all-clear")
    steps = [(s.kind, s.step, s.state) for s in space.due]
    assert steps[0] == ("step", 1, "done") and ("update", None, "upcoming") in steps
    # Due times and the timeline in the incident's zone (Los Angeles: 09:30 UTC is 01:30 PST).
    assert space.due[0].due_local == "Sun 22 Nov 01:30 PST"
    timeline = space.timeline
    assert [t.at for t in timeline] == sorted((t.at for t in timeline), reverse=True)  # newest first
    assert timeline[0].what == "Checklist step done"
    assert any(t.what == "Delivered on public-page" and alert.id in t.summary for t in timeline)
    assert timeline[-1].what == "Incident opened" and timeline[-1].local == "Sun 22 Nov 01:30 PST"
    assert core.board().workspace(carla, inc).may_work
    assert core.board().incident_messages(carla, inc) == list(space.messages)


def test_a_fact_is_checked_in_the_words_opening_would_refuse_it_with(core: App, team: dict[str, Actor]) -> None:
    board = core.board()
    assert board.check_fact("flash-flood", "info_url", "https://ready.millcounty.gov") is None
    assert board.check_fact("flash-flood", "info_url", "") is None  # empty: the form says whether it may be
    said = board.check_fact("flash-flood", "info_url", "ready.millcounty.gov")
    assert said == "fact info_url: 'ready.millcounty.gov' is not a web address: start it with https://"
    with pytest.raises(UserError) as refused:
        core.incidents().open(team["carla"], "flash-flood", Mode.LIVE, facts={"info_url": "ready.millcounty.gov"})
    assert str(refused.value) == said
    assert board.check_fact("flash-flood", "area", "Mill Creek | circle: 38.5,-121.4") == (
        "fact area: circle '38.5,-121.4': write 'circle: LAT,LON RADIUS_KM'"
    )
    assert board.check_fact("wildfire-evacuation", "level", "go") is None
    assert "is not one of: ready, set, go" in (board.check_fact("wildfire-evacuation", "level", "run") or "")
    assert board.check_fact("flash-flood", "expires", "2026-11-22 21:30") is None
    assert "not a date and time" in (board.check_fact("flash-flood", "expires", "tonight") or "")
    titles = [p.title["en"] for p in board.playbooks(team["carla"])]
    assert titles == sorted(titles, key=str.casefold) and "Flash flood warning" in titles


def test_someone_who_may_not_read_is_refused_without_a_record_each_look(core: App, admin: Actor) -> None:
    core.people.add(admin, "nora", [Role.VIEWER], "nora password")
    core.people.revoke(admin, "nora", Role.VIEWER)
    nora = core.people.actor("nora")
    before = core.db.conn.execute("SELECT count(*) FROM events WHERE kind = ?", (Kind.ACCESS_DENIED,)).fetchone()
    for _ in range(3):
        with pytest.raises(PermissionDenied):
            core.board().board(nora)
    after = core.db.conn.execute("SELECT count(*) FROM events WHERE kind = ?", (Kind.ACCESS_DENIED,)).fetchone()
    assert after == before


def test_facts_open_as_typed(core: App, team: dict[str, Actor]) -> None:
    inc = open_incident(core, team, Mode.EXERCISE)
    space = core.board().workspace(team["eve"], inc)
    assert {f.name: f.value for f in space.facts if f.value} == FLOOD_FACTS
    assert space.incident.mode is Mode.EXERCISE and space.may_work and not space.published
