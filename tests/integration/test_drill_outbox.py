"""A drill's channel outage and network loss through the real outbox and real channels (the local folder and a webhook
on a local HTTP receiver): the sends fail with the drill's reason and their usual backoff, the outbox holds, and
delivers once the outage is over in drill time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from crisisdesk.app import App
from crisisdesk.domain.clock import FixedClock
from crisisdesk.domain.events import Kind
from crisisdesk.domain.incidents import Mode
from crisisdesk.domain.roles import Actor
from tests.integration.drill_helpers import scenario_text, write_scenario
from tests.integration.outbox_helpers import add_team, open_incident, publish
from tests.support.http_servers import webhook_receiver

HOOK_KEY = "exercise hook signing key"


@pytest.fixture
def team(core: App, admin: Actor) -> dict[str, Actor]:
    return add_team(core, admin)


@pytest.fixture
def hook(core: App, admin: Actor) -> Iterator[Any]:
    with webhook_receiver() as (url, state):
        core.channels().add(admin, "webhook", "exercise-hook", exercise=True, settings=[f"url={url}"], secret=HOOK_KEY)
        yield state


def outbox_failures(core: App, row: str) -> list[dict[str, Any]]:
    return [dict(e.payload) for e in core.log.events() if e.kind == Kind.OUTBOX_FAILED and e.payload["row"] == row]


def row_of(core: App, team: dict[str, Actor], message: str, channel: str) -> Any:
    return next(r for r in core.outbox().rows(team["vic"], message_id=message) if r.account == channel)


def run_until(core: App, clock: FixedClock, until: datetime, step: timedelta) -> None:
    """The worker's passes, every ``step`` of wall time, up to ``until``."""
    while clock.now() < until:
        core.outbox().run_once()
        clock.advance(min(step, until - clock.now()))


def test_a_channel_outage_fails_sends_with_its_reason_and_delivers_after(
    core: App, team: dict[str, Actor], hook: Any, clock: FixedClock, tmp_path: Path
) -> None:
    eve = team["eve"]
    drills = core.drills()
    drill = drills.load(eve, write_scenario(tmp_path / "s", scenario_text(outage_account="exercise-hook")))
    drill = drills.start(eve, drill.id, compression=10)
    drill = drills.jump(eve, drill.id, "page-down")  # T+15m: 'exercise-hook' fails until T+35m
    outage_ends = clock.now() + timedelta(minutes=20) / 10  # two minutes of wall time at 10x
    msg = publish(core, team, drill.incidents["flood"], ["exercise-hook", "exercise-page"], mode=Mode.EXERCISE)
    live = publish(core, team, open_incident(core, team), ["public-page"])  # a live incident meanwhile
    report = core.outbox().run_once()
    assert report.sent == 2 and report.failed == 1
    held = row_of(core, team, msg.id, "exercise-hook")
    assert (held.state, held.reason) == ("failed", "drill: channel outage injected until T+35m")
    assert held.next_try_at is not None and datetime.fromisoformat(held.next_try_at) <= outage_ends
    assert row_of(core, team, msg.id, "exercise-page").state == "sent"  # only the named account fails
    assert row_of(core, team, live.id, "public-page").state == "sent"
    assert hook.posts() == []  # nothing reached the channel
    run_until(core, clock, outage_ends - timedelta(seconds=1), timedelta(seconds=5))
    failures = outbox_failures(core, held.id)
    assert len(failures) >= 3  # tried again on its backoff, failing each time while the outage lasts
    assert {f["reason"] for f in failures} == {"drill: channel outage injected until T+35m"}
    assert all(not f["dead"] for f in failures) and hook.posts() == []
    assert drills.get(eve, drill.id).outages == [
        "'exercise-hook' failing until T+35m (channel outage, inject page-down)"
    ]
    clock.advance(timedelta(seconds=2))  # T+35m passed in drill time
    run_until(core, clock, clock.now() + timedelta(seconds=30), timedelta(seconds=1))
    sent = row_of(core, team, msg.id, "exercise-hook")
    assert sent.state == "sent" and sent.remote_id
    assert len(hook.posts()) == 1  # delivered once, after
    assert drills.get(eve, drill.id).outages == []


def test_a_network_loss_holds_every_exercise_account_while_live_ones_send(
    core: App, team: dict[str, Actor], hook: Any, clock: FixedClock, tmp_path: Path
) -> None:
    eve = team["eve"]
    drills = core.drills()
    drill = drills.start(eve, drills.load(eve, write_scenario(tmp_path / "s")).id, compression=60)
    drill = drills.jump(eve, drill.id, "blackout")  # T+40m: every exercise account unreachable until T+50m
    ends = clock.now() + timedelta(minutes=10) / 60
    first = publish(core, team, drill.incidents["flood"], ["exercise-hook", "exercise-page"], mode=Mode.EXERCISE)
    live = publish(core, team, open_incident(core, team), ["public-page"])
    report = core.outbox().run_once()
    assert (report.sent, report.failed) == (1, 2)  # the live page only
    for channel in ("exercise-hook", "exercise-page"):
        row = row_of(core, team, first.id, channel)
        assert (row.state, row.reason) == ("failed", "drill: network loss injected until T+50m")
        assert row.next_try_at is not None and datetime.fromisoformat(row.next_try_at) <= ends
    assert row_of(core, team, live.id, "public-page").state == "sent"
    page = Path(core.channels().get("exercise-page").settings["path"])
    assert not (page / "index.html").exists() and hook.posts() == []
    # A correction-like second message queues behind the first on each account: order is kept while held.
    second = publish(core, team, drill.incidents["flood"], ["exercise-hook", "exercise-page"], mode=Mode.EXERCISE)
    run_until(core, clock, ends, timedelta(seconds=1))
    assert {row_of(core, team, second.id, c).state for c in ("exercise-hook", "exercise-page")} == {"queued"}
    run_until(core, clock, clock.now() + timedelta(seconds=10), timedelta(seconds=1))
    for message in (first, second):
        assert {row_of(core, team, message.id, c).state for c in ("exercise-hook", "exercise-page")} == {"sent"}
    assert [p.headers["Idempotency-Key"] for p in hook.posts()] == [
        row_of(core, team, first.id, "exercise-hook").idem_key,
        row_of(core, team, second.id, "exercise-hook").idem_key,
    ]
    assert (page / "index.html").exists()


def test_a_pause_holds_the_outage_and_the_end_lifts_it(
    core: App, team: dict[str, Actor], hook: Any, clock: FixedClock, tmp_path: Path
) -> None:
    eve = team["eve"]
    drills = core.drills()
    drill = drills.start(eve, drills.load(eve, write_scenario(tmp_path / "s")).id, compression=60)
    drill = drills.jump(eve, drill.id, "blackout")
    drills.pause(eve, drill.id)
    msg = publish(core, team, drill.incidents["flood"], ["exercise-hook"], mode=Mode.EXERCISE)
    run_until(core, clock, clock.now() + timedelta(minutes=5), timedelta(seconds=10))  # paused: T+40m for 5 min
    assert row_of(core, team, msg.id, "exercise-hook").state == "failed" and hook.posts() == []
    drills.end(eve, drill.id)  # the drill's end ends its outages
    run_until(core, clock, clock.now() + timedelta(minutes=16), timedelta(seconds=30))  # the backoff's cap: 15 min
    assert row_of(core, team, msg.id, "exercise-hook").state == "sent" and len(hook.posts()) == 1
