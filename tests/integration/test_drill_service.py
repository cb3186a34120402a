"""Exercise control on a real SQLite file: load, start, the clock's injects, pause, resume, compression, jump, inject
by hand, end; every control action an event, the drill's state rebuilt from the log alone."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

import pytest

from crisisdesk.app import App
from crisisdesk.domain.clock import FixedClock
from crisisdesk.domain.errors import PermissionDenied, UserError
from crisisdesk.domain.events import Kind
from crisisdesk.domain.feeds import SourceKind
from crisisdesk.domain.incidents import Mode
from crisisdesk.domain.roles import Actor, Role
from crisisdesk.services.drills import DrillStatus, InjectStatus
from tests.conftest import person
from tests.integration.drill_helpers import advance, controller, scenario_text, write_scenario


def drill_events(core: App, drill_id: str) -> list[tuple[str, str, dict]]:
    return [
        (e.kind, e.actor, dict(e.payload))
        for e in core.log.events()
        if e.kind.startswith("drill.") and e.payload.get("drill") == drill_id
    ]


@pytest.fixture
def eve(core: App, admin: Actor) -> Actor:
    return controller(core, admin)


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    return write_scenario(tmp_path / "scenarios")


def test_loading_records_the_scenario_text_and_its_cap_files_in_the_event(
    core: App, eve: Actor, scenario: Path
) -> None:
    drill = core.drills().load(eve, scenario)
    assert drill.id.startswith("drl-") and drill.status is DrillStatus.LOADED
    assert drill.name == "Test flash flood" and drill.source == "test-flood.yaml"
    assert [i.status for i in drill.injects] == [InjectStatus.PENDING] * 7
    [(kind, actor, payload)] = drill_events(core, drill.id)
    assert (kind, actor) == (Kind.DRILL_LOADED, "eve")
    assert payload["text"] == scenario.read_text(encoding="utf-8")
    assert payload["scenario"] == "test-flood" and payload["source"] == "test-flood.yaml"
    assert "Flash Flood Warning" in payload["files"]["warning.xml"]
    assert len(payload["sha256"]) == 64


def test_a_scenario_with_mistakes_is_refused_with_file_line_and_column(core: App, eve: Actor, tmp_path: Path) -> None:
    broken = scenario_text(outage_account="public-page").replace("playbook: flash-flood", "playbook: no-such-book")
    path = write_scenario(tmp_path / "bad", broken)
    scenario, problems = core.drills().validate(path)
    assert scenario is None
    shown = [str(p) for p in problems]
    assert any(s.startswith(f"{path}:8:15: ") and "no-such-book" in s for s in shown), shown
    assert any("'public-page' is a LIVE account" in s for s in shown), shown
    with pytest.raises(UserError, match=r":8:15: .*no-such-book.*and 1 more"):
        core.drills().load(eve, path)
    missing_cap = write_scenario(tmp_path / "nocap", scenario_text())
    (missing_cap.parent / "warning.xml").unlink()
    _, problems = core.drills().validate(missing_cap)
    assert [p.message for p in problems] == [f"warning.xml: {missing_cap.parent / 'warning.xml'}: no such file"]
    schema = write_scenario(tmp_path / "schema", scenario_text().replace("at: T+5m", "at: five minutes"))
    _, problems = core.drills().validate(schema)
    assert problems and problems[0].line > 1
    assert not [e for e in core.log.events() if e.kind == Kind.DRILL_LOADED]


def test_only_an_exercise_controller_runs_a_drill_read_from_the_log_each_time(
    core: App, admin: Actor, eve: Actor, scenario: Path
) -> None:
    carla = person(core, admin, "carla", Role.COMMUNICATOR)
    with pytest.raises(PermissionDenied, match="run exercises"):
        core.drills().load(carla, scenario)
    drill = core.drills().load(eve, scenario)
    core.people.revoke(admin, "eve", Role.EXERCISE_CONTROLLER)
    with pytest.raises(PermissionDenied):
        core.drills().start(eve, drill.id)  # the session's actor still says controller; the log does not
    refusals = [e for e in core.log.events() if e.kind == Kind.ACCESS_DENIED]
    assert [e.payload["action"] for e in refusals] == ["load a drill", f"start drill {drill.id}"]
    assert core.drills().get(carla, drill.id).status is DrillStatus.LOADED  # reading needs only READ


def test_starting_opens_an_exercise_incident_and_a_drill_source_and_fires_what_is_due_at_t0(
    core: App, eve: Actor, scenario: Path
) -> None:
    drill = core.drills().load(eve, scenario)
    drill = core.drills().start(eve, drill.id, compression=60)
    assert drill.status is DrillStatus.RUNNING and drill.compression == 60
    incident = core.incidents().get(eve, drill.incidents["flood"])
    assert (incident.mode, incident.title, incident.opened_by) == (Mode.EXERCISE, "Mill Creek flash flood", "eve")
    assert incident.facts["phone"] == "211"
    feeds = core.feeds()
    source = feeds.by_id(drill.feed_source or "")
    assert source is not None and source.kind is SourceKind.DRILL
    assert source.name == "drill: Test flash flood" and source.url == f"drill:{drill.id}"
    assert source.id not in {s.id for s in feeds.pollable()}  # the scheduler never polls it
    with pytest.raises(UserError, match="drill's source"):
        feeds.poll([source.name])
    first = drill.injects[0]
    assert (first.id, first.status, first.by_hand) == ("first-report", InjectStatus.FIRED, False)
    assert first.fired_at is not None and first.fired_at.total_seconds() == 0
    # Through the real storage: full-text search finds it, and the rules raised an alert on the drill's incident.
    [found] = feeds.search(eve, "bridge")
    assert found.source == "drill: Test flash flood" and found.fingerprint == first.item
    assert found.title == "EXERCISE: Creek rising at the Mill Creek bridge" and found.kind == "drill"
    [alert] = feeds.alerts(eve, incident=incident.id)
    assert alert.item_id == found.id and "keyword" in alert.rules
    started = [p for k, _, p in drill_events(core, drill.id) if k == Kind.DRILL_STARTED]
    assert started == [
        {"drill": drill.id, "compression": "60", "incidents": {"flood": incident.id}, "feed_source": source.id}
    ]
    fired = [(a, p) for k, a, p in drill_events(core, drill.id) if k == Kind.DRILL_INJECT_FIRED]
    assert fired[0][0] == "system"
    assert {k: fired[0][1][k] for k in ("inject", "kind", "incident", "scheduled_seconds", "drill_seconds")} == {
        "inject": "first-report",
        "kind": "feed-item",
        "incident": incident.id,
        "scheduled_seconds": 0,
        "drill_seconds": "0.000",
    }
    with pytest.raises(UserError, match="starts once"):
        core.drills().start(eve, drill.id)


def test_the_clock_fires_each_inject_kind_on_time_through_the_real_paths(
    core: App, eve: Actor, scenario: Path, clock: FixedClock
) -> None:
    drills = core.drills()
    drill = drills.start(eve, drills.load(eve, scenario).id, compression=10)
    incident = drill.incidents["flood"]
    assert drills.next_due() is not None and drills.next_due().total_seconds() == pytest.approx(30)  # T+5m at 10x
    advance(clock, 4.9, 10)
    assert drills.tick() == []
    advance(clock, 0.1, 10)
    [cap] = drills.tick()
    assert (cap.id, cap.fired_at.total_seconds() if cap.fired_at else None) == ("nws-warning", 300)
    cap_item = core.feeds().item(cap.item or "")
    assert cap_item.title == "EXERCISE: Flash Flood Warning for the Mill Creek valley" and cap_item.severity == "Severe"
    assert (
        cap_item.extra["cap"]["identifier"] == "NWS-DRILL-FLASH-FLOOD-1"
        and cap_item.extra["drill"]["drill"] == drill.id
    )
    assert core.feeds().alerts(eve, incident=incident)
    advance(clock, 5, 10)
    [comment] = drills.tick()
    queue = core.feeds().triage(eve)
    assert [(q.fingerprint, q.priority, q.stakeholder, q.status) for q in queue] == [
        (comment.item, "urgent", "residents", "new")
    ]
    assert core.feeds().item(comment.item or "").extra["drill"]["urgent"] is True
    assert queue[0].title == "EXERCISE: ¿Dónde está el refugio? Estamos atrapados en la calle Oak"
    assert queue[0].text == "¿Dónde está el refugio? Estamos atrapados en la calle Oak"  # the script's words
    advance(clock, 2, 10)
    [_note] = drills.tick()
    drill = drills.get(eve, drill.id)
    assert [(n.inject_id, n.to, n.source, n.fired_at.total_seconds()) for n in drill.notes] == [
        ("ic-call", Role.COMMUNICATOR, "a phone call from the incident commander", 720)
    ]
    advance(clock, 3, 10)
    [outage] = drills.tick()
    page = core.channels().get("exercise-page")
    assert outage.detail == "'exercise-page' failing until T+35m"
    assert drills.outage(page.id) == "drill: channel outage injected until T+35m"
    assert drills.outage(core.channels().get("public-page").id) is None  # the live page: never
    advance(clock, 20, 10)
    assert drills.outage(page.id) is None  # over at T+35m
    advance(clock, 5, 10)
    [loss] = drills.tick()
    assert loss.id == "blackout" and drills.outage(page.id) == "drill: network loss injected until T+50m"
    lost = [p for k, _, p in drill_events(core, drill.id) if k == Kind.DRILL_INJECT_FIRED and p["inject"] == "blackout"]
    assert lost[0]["accounts"] == [page.id] and lost[0]["until_seconds"] == "3000.000"


def test_pause_resume_compression_jump_inject_and_end_are_each_an_event(
    core: App, eve: Actor, scenario: Path, clock: FixedClock
) -> None:
    drills = core.drills()
    drill = drills.start(eve, drills.load(eve, scenario).id)
    advance(clock, 2)
    drill = drills.pause(eve, drill.id)
    assert drill.status is DrillStatus.PAUSED and drill.drill_time.total_seconds() == 120
    advance(clock, 30)
    assert drills.get(eve, drill.id).drill_time.total_seconds() == 120  # frozen
    assert drills.tick() == [] and drills.next_due() is None
    with pytest.raises(UserError, match="cannot pause now"):
        drills.pause(eve, drill.id)
    drill = drills.resume(eve, drill.id)
    with pytest.raises(UserError, match="out of range"):
        drills.set_compression(eve, drill.id, 61)
    with pytest.raises(UserError, match="out of range"):
        drills.set_compression(eve, drill.id, 0.5)
    with pytest.raises(UserError, match="out of range"):
        drills.set_compression(eve, drill.id, float("nan"))
    drill = drills.set_compression(eve, drill.id, 30)
    advance(clock, 1, 30)  # 2 s of wall time at 30x
    assert drills.get(eve, drill.id).drill_time.total_seconds() == 180
    drill = drills.inject(eve, drill.id, "ic-call")  # by hand, early
    ic_call = next(i for i in drill.injects if i.id == "ic-call")
    assert ic_call.by_hand and ic_call.fired_at and ic_call.fired_at.total_seconds() == 180
    with pytest.raises(UserError, match="already fired"):
        drills.inject(eve, drill.id, "ic-call")
    with pytest.raises(UserError, match="no inject 'nope'"):
        drills.jump(eve, drill.id, "nope")
    drill = drills.jump(eve, drill.id, "page-down")  # T+15m: the CAP alert and the comment are skipped
    states = {i.id: i.status for i in drill.injects}
    assert states["nws-warning"] is states["shelter-question"] is InjectStatus.SKIPPED
    assert states["page-down"] is InjectStatus.FIRED and drill.drill_time.total_seconds() == 900
    with pytest.raises(UserError, match="already fired"):
        drills.jump(eve, drill.id, "first-report")
    with pytest.raises(UserError, match="already skipped"):
        drills.jump(eve, drill.id, "nws-warning")
    drill = drills.end(eve, drill.id)
    assert drill.status is DrillStatus.ENDED and drill.outages == []
    assert core.feeds().by_id(drill.feed_source or "") is None  # its source is removed with it
    with pytest.raises(UserError, match="only a started drill ends"):
        drills.end(eve, drill.id)
    with pytest.raises(UserError, match="inject once it is started"):
        drills.inject(eve, drill.id, "blackout")
    kinds = [(k, a) for k, a, _ in drill_events(core, drill.id)]
    assert kinds == [
        (Kind.DRILL_LOADED, "eve"),
        (Kind.DRILL_STARTED, "eve"),
        (Kind.DRILL_INJECT_FIRED, "system"),  # T+0
        (Kind.DRILL_PAUSED, "eve"),
        (Kind.DRILL_RESUMED, "eve"),
        (Kind.DRILL_COMPRESSION_SET, "eve"),
        (Kind.DRILL_INJECT_FIRED, "eve"),  # by hand
        (Kind.DRILL_JUMPED, "eve"),
        (Kind.DRILL_INJECT_SKIPPED, "eve"),
        (Kind.DRILL_INJECT_SKIPPED, "eve"),
        (Kind.DRILL_INJECT_FIRED, "eve"),  # the inject jumped to
        (Kind.DRILL_ENDED, "eve"),
    ]
    jumped = next(p for k, _, p in drill_events(core, drill.id) if k == Kind.DRILL_JUMPED)
    assert jumped == {"drill": drill.id, "inject": "page-down", "from_seconds": "180.000", "to_seconds": "900.000"}


def test_a_jump_backwards_is_refused(core: App, eve: Actor, tmp_path: Path, clock: FixedClock) -> None:
    text = scenario_text(extra_inject="  - id: early\n    at: T+1m\n    kind: note\n    text: the sheriff calls\n")
    drills = core.drills()
    drill = drills.start(eve, drills.load(eve, write_scenario(tmp_path / "s", text)).id)
    advance(clock, 2)  # no clock ran: 'early' (T+1m) is still pending, behind the drill time (T+2m)
    with pytest.raises(UserError, match=r"inject early is at T\+1m, before the drill time now \(T\+2m\)"):
        drills.jump(eve, drill.id, "early")
    assert not [k for k, _, _ in drill_events(core, drill.id) if k == Kind.DRILL_JUMPED]
    drill = drills.inject(eve, drill.id, "early")  # by hand it can still go
    assert next(i for i in drill.injects if i.id == "early").status is InjectStatus.FIRED


def test_the_state_is_rebuilt_from_the_log_alone(
    core: App, eve: Actor, scenario: Path, clock: FixedClock, db_path: Path
) -> None:
    drills = core.drills()
    drill = drills.start(eve, drills.load(eve, scenario).id, compression=20)
    advance(clock, 13, 20)
    drills.tick()
    drills.pause(eve, drill.id)
    before = drills.get(eve, drill.id)
    scenario.unlink()  # the file is not needed any more: the log holds its text and its CAP file
    (scenario.parent / "warning.xml").unlink()
    core.log.replay()  # the tables rebuilt from the events
    other = App.open(db_path, clock=clock)
    try:
        after = other.drills().get(eve, drill.id)
    finally:
        other.close()
    assert after == before
    assert [i.status for i in after.injects].count(InjectStatus.FIRED) == 4


def test_two_clocks_never_fire_an_inject_twice(
    core: App, eve: Actor, scenario: Path, clock: FixedClock, db_path: Path
) -> None:
    drills = core.drills()
    drill = drills.start(eve, drills.load(eve, scenario).id, compression=60)
    advance(clock, 60, 60)
    apps = [App.open(db_path, clock=clock, any_thread=True) for _ in range(2)]
    results: list[list] = [[], []]
    barrier = threading.Barrier(2)

    def run(n: int) -> None:
        barrier.wait()
        results[n] = apps[n].drills().tick()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for app in apps:
        app.close()
    assert sorted(i.id for r in results for i in r) == sorted(
        ["nws-warning", "shelter-question", "ic-call", "page-down", "blackout", "late-report"]
    )
    fired = Counter(p["inject"] for k, _, p in drill_events(core, drill.id) if k == Kind.DRILL_INJECT_FIRED)
    assert set(fired.values()) == {1} and len(fired) == 7


def test_an_inject_that_cannot_arrive_is_recorded_with_why_and_the_clock_moves_on(
    core: App, admin: Actor, eve: Actor, scenario: Path, clock: FixedClock
) -> None:
    drills = core.drills()
    drill = drills.start(eve, drills.load(eve, scenario).id)
    source = core.feeds().by_id(drill.feed_source or "")
    assert source is not None
    with pytest.raises(UserError, match="is a drill's source: it goes when its drill ends"):
        core.feeds().remove(admin, source.name)
    with core.db.write() as conn:  # as an older program or another workstation might: the source is gone
        core.feeds().remove_drill_source(conn, "alice", source.id, drill.id)
    advance(clock, 5)
    [cap] = drills.tick()
    assert cap.id == "nws-warning" and cap.status is InjectStatus.FIRED
    assert cap.detail == f"not delivered: drill {drill.id}'s feed source is gone; its feed injects cannot arrive"
    assert cap.item is None
    assert drills.next_due() is not None and drills.next_due().total_seconds() == 300  # on to T+10m
