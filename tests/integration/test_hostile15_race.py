"""Hostile races on one database file, each controller on their own connection (as separate processes are): the
log decides, at the moment of the action, and a controller whose action did not happen is told so."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from crisisdesk.app import App
from crisisdesk.domain.clock import FixedClock
from crisisdesk.domain.errors import UserError
from crisisdesk.domain.events import Kind
from crisisdesk.domain.roles import Actor
from crisisdesk.services.passwords import Argon2Hasher
from tests.integration.drill_helpers import controller, write_scenario

WORKERS = 4


def race(path: Path, clock: FixedClock, hasher: Argon2Hasher, action: Callable[[App], Any]) -> list[str]:
    """``action`` on ``WORKERS`` connections at once: 'ok' or the one-line refusal of each."""
    barrier = threading.Barrier(WORKERS)
    results: list[str] = []

    def run() -> None:
        app = App.open(path, clock=clock, hasher=hasher)
        try:
            app.drills().running_ids()  # the fold read before the race, as a console that shows the drill has
            barrier.wait()
            action(app)
            results.append("ok")
        except UserError as exc:
            results.append(str(exc))
        finally:
            app.close()

    threads = [threading.Thread(target=run) for _ in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == WORKERS, results
    return results


def test_an_inject_by_hand_from_four_controllers_at_once_fires_once_and_three_are_told(
    core: App, admin: Actor, tmp_path: Path, clock: FixedClock, hasher: Argon2Hasher
) -> None:
    eve = controller(core, admin)
    drill = core.drills().load(eve, write_scenario(tmp_path / "s")).id
    core.drills().start(eve, drill)
    results = race(
        core.db.path, clock, hasher, lambda app: app.drills().inject(app.people.actor("eve"), drill, "late-report")
    )
    fired = [e for e in core.log.events() if e.kind == Kind.DRILL_INJECT_FIRED and e.payload["inject"] == "late-report"]
    assert len(fired) == 1
    assert results.count("ok") == 1, results
    assert all("late-report" in r and "already fired" in r for r in results if r != "ok"), results


def test_an_inject_by_hand_into_a_drill_ended_meanwhile_is_refused_not_reported_done(
    core: App, admin: Actor, tmp_path: Path, clock: FixedClock, hasher: Argon2Hasher
) -> None:
    eve = controller(core, admin)
    drill = core.drills().load(eve, write_scenario(tmp_path / "s")).id
    core.drills().start(eve, drill)
    other = App.open(core.db.path, clock=clock, hasher=hasher)
    try:
        drills = other.drills()
        drills.get(other.people.actor("eve"), drill)  # this console saw it running...
        core.drills().end(eve, drill)  # ...and another ended it before the click reached the log
        try:
            drills.inject(other.people.actor("eve"), drill, "late-report")
            told = "ok"
        except UserError as exc:
            told = str(exc)
    finally:
        other.close()
    assert not [
        e for e in core.log.events() if e.kind == Kind.DRILL_INJECT_FIRED and e.payload["inject"] == "late-report"
    ]
    assert "ended" in told, told


def test_four_controllers_starting_one_drill_at_once_leave_only_its_own_incident_open(
    core: App, admin: Actor, tmp_path: Path, clock: FixedClock, hasher: Argon2Hasher
) -> None:
    eve = controller(core, admin)
    drill = core.drills().load(eve, write_scenario(tmp_path / "s")).id
    results = race(core.db.path, clock, hasher, lambda app: app.drills().start(app.people.actor("eve"), drill))
    assert results.count("ok") == 1, results
    assert all("started meanwhile" in r for r in results if r != "ok"), results
    own = set(core.drills().get(eve, drill).incidents.values())
    still_open = {i.id for i in core.incidents().list_all(eve, include_closed=False)}
    # The losers opened theirs before the race was decided; none is left open for players to work in by mistake.
    assert still_open == own, (still_open, own)


def test_a_start_that_fails_half_way_leaves_no_incident_open(core: App, admin: Actor, tmp_path: Path) -> None:
    from crisisdesk.app import shipped_playbooks_dir, user_playbooks_dir

    eve = controller(core, admin)
    folder = user_playbooks_dir()
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / "flood-copy.yaml"
    text = (shipped_playbooks_dir() / "flash-flood.yaml").read_text(encoding="utf-8")
    copy.write_text(text.replace("id: flash-flood", "id: flood-copy", 1), encoding="utf-8")
    scenario = write_scenario(tmp_path / "s")
    body = scenario.read_text(encoding="utf-8")
    second = body.split("incidents:\n", 1)[1].split("participants:", 1)[0]
    second = second.replace("key: flood", "key: creek").replace("playbook: flash-flood", "playbook: flood-copy")
    body = body.replace("participants:", second + "participants:", 1).replace(
        "within: 10m", "within: 10m\n      incident: flood"
    )
    for kind in ("feed-item", "cap-alert", "comment"):
        body = body.replace(f"    kind: {kind}\n", f"    kind: {kind}\n    incident: flood\n")
    scenario.write_text(body, encoding="utf-8")
    _, problems = core.drills().validate(scenario)
    assert problems == [], problems
    drill = core.drills().load(eve, scenario).id
    copy.unlink()  # the second incident's playbook is gone by the time the drill starts
    try:
        core.drills().start(eve, drill)
        started = True
    except UserError:
        started = False
    assert not started
    assert core.incidents().list_all(eve, include_closed=False) == []
