"""The drills' clock as a real thread on the real clock: it sleeps until each inject is due and fires it on time at
60x, notices a drill started, paused or resumed from another connection, and stops cleanly."""

from __future__ import annotations

from pathlib import Path

from crisisdesk.app import App
from crisisdesk.domain.events import Kind
from crisisdesk.domain.roles import Role
from crisisdesk.services.drill_runner import DrillRunner
from crisisdesk.services.passwords import Argon2Hasher
from tests.conftest import ADMIN, person
from tests.integration.drill_helpers import CAP_WARNING
from tests.integration.outbox_helpers import open_live
from tests.support.wait import wait_until

SCENARIO = """id: quick
name: Quick drill
summary: Four injects two minutes apart, for the clock's test.
duration: 10m
incidents:
  - key: flood
    playbook: flash-flood
    facts: {area: "Mill Creek valley | geocode: SAME=006067", expires: "2026-11-22T21:30",
            info_url: "https://ready.millcounty.gov/flood", phone: "211"}
objectives:
  - id: alert
    title: Alert fast
    expect: {measure: first-message, after: one, within: 10m}
injects:
  - {id: one, at: T+2m, kind: feed-item, headline: Creek rising at the bridge}
  - {id: two, at: T+4m, kind: cap-alert, file: warning.xml}
  - {id: three, at: T+6m, kind: comment, text: "Are we trapped?", urgent: true}
  - {id: four, at: T+8m, kind: note, text: The sheriff calls}
"""


def fired(app: App, drill: str) -> dict[str, tuple[int, float]]:
    """inject -> (scheduled, fired) drill seconds, from the log."""
    return {
        str(e.payload["inject"]): (int(e.payload["scheduled_seconds"]), float(e.payload["drill_seconds"]))
        for e in app.log.events()
        if e.kind == Kind.DRILL_INJECT_FIRED and e.payload["drill"] == drill
    }


def test_the_clock_fires_each_inject_within_a_drill_second_at_60x(
    db_path: Path, hasher: Argon2Hasher, tmp_path: Path
) -> None:
    app = open_live(db_path, hasher)  # the real clock, shared with the runner's own connection
    admin = app.people.actor(ADMIN)
    eve = person(app, admin, "eve", Role.EXERCISE_CONTROLLER)
    folder = tmp_path / "scenario"
    folder.mkdir()
    (folder / "warning.xml").write_text(CAP_WARNING, encoding="utf-8")
    (folder / "quick.yaml").write_text(SCENARIO, encoding="utf-8")
    runner = DrillRunner(lambda: App.open(db_path, hasher=hasher).drills())
    runner.start()
    try:
        drill = app.drills().load(eve, folder / "quick.yaml")
        wait_until(lambda: runner.ticks > 0, 10, "the clock's first tick")
        app.drills().start(eve, drill.id, compression=60)  # another connection: the runner notices the change
        wait_until(lambda: "two" in fired(app, drill.id), 20, "the second inject")
        app.drills().pause(eve, drill.id)
        paused_at = app.drills().get(eve, drill.id).drill_time
        ticks = runner.ticks
        wait_until(lambda: runner.ticks > ticks + 1, 10, "the clock to see the pause")  # it woke on the change...
        assert "three" not in fired(app, drill.id)  # ...and fires nothing while paused
        app.drills().resume(eve, drill.id)
        wait_until(lambda: len(fired(app, drill.id)) == 4, 20, "every inject")
    finally:
        runner.stop()
    assert runner.error is None
    times = fired(app, drill.id)
    late = {inject: round(at - scheduled, 3) for inject, (scheduled, at) in times.items()}
    assert all(0 <= seconds <= 1.0 for seconds in late.values()), late  # within one drill second (17 ms of wall)
    assert paused_at.total_seconds() < 360
    assert all(e.actor == "system" for e in app.log.events() if e.kind == Kind.DRILL_INJECT_FIRED)
    app.close()


def test_the_feed_scheduler_never_polls_a_drills_source(db_path: Path, hasher: Argon2Hasher, tmp_path: Path) -> None:
    from crisisdesk.services.feed_scheduler import PREFIX, FeedScheduler

    app = open_live(db_path, hasher)
    admin = app.people.actor(ADMIN)
    eve = person(app, admin, "eve", Role.EXERCISE_CONTROLLER)
    (tmp_path / "watched").mkdir()
    app.feeds().add(admin, "dropbox", str(tmp_path / "watched"), "folder", interval=60)
    (tmp_path / "warning.xml").write_text(CAP_WARNING, encoding="utf-8")
    (tmp_path / "quick.yaml").write_text(SCENARIO, encoding="utf-8")
    drill = app.drills().start(eve, app.drills().load(eve, tmp_path / "quick.yaml").id)
    scheduler = FeedScheduler(lambda: App.open(db_path).feeds(), first_within=60)
    scheduler.start()
    try:
        jobs = {j.name for j in scheduler.scheduler.get_jobs() if j.id.startswith(PREFIX)}
    finally:
        scheduler.stop()
    assert jobs == {"dropbox"}  # not 'drill: Quick drill'
    source = app.feeds().by_id(drill.feed_source or "")
    assert source is not None and source.name == "drill: Quick drill"
    assert app.feeds().poll_one(source.id) is None  # asked directly, it polls nothing either
    app.close()


def test_crisisdesk_worker_runs_the_drills_clock(db_path: Path, hasher: Argon2Hasher, tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys

    from tests.conftest import ADMIN_PASSWORD

    app = open_live(db_path, hasher)
    eve = person(app, app.people.actor(ADMIN), "eve", Role.EXERCISE_CONTROLLER)
    (tmp_path / "warning.xml").write_text(CAP_WARNING, encoding="utf-8")
    (tmp_path / "quick.yaml").write_text(SCENARIO, encoding="utf-8")
    drill = app.drills().load(eve, tmp_path / "quick.yaml")
    env = {**os.environ, "CRISISDESK_PASSWORD": ADMIN_PASSWORD}
    proc = subprocess.Popen(
        [sys.executable, "-m", "crisisdesk", "worker", "--db", str(db_path), "--as", ADMIN],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        app.drills().start(eve, drill.id, compression=60)  # T+2m is two seconds away
        wait_until(lambda: "one" in fired(app, drill.id) or proc.poll() is not None, 30, "the worker's clock firing")
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    scheduled, at = fired(app, drill.id)["one"]
    assert at >= scheduled  # fired by the clock at its time (how close: the test above, in one process)
    app.close()


def test_the_clock_wakes_when_told_and_not_before(db_path: Path, hasher: Argon2Hasher) -> None:
    app = open_live(db_path, hasher)
    # Nothing running, no change looked for: only wake() brings the next tick before the hour is up.
    runner = DrillRunner(lambda: App.open(db_path, hasher=hasher).drills(), cap=3600, poll=3600)
    runner.start()
    try:
        wait_until(lambda: runner.ticks == 1, 10, "the first tick")
        runner.wake()
        wait_until(lambda: runner.ticks == 2, 10, "the tick wake() asked for")
        assert runner.ticks == 2
    finally:
        runner.stop()
    assert runner.error is None and not runner.is_alive()
    app.close()
