"""Nothing in a drill reaches a LIVE account or a live incident: every drill action tried with a LIVE account
configured (the folder page and a webhook on a local receiver) and a live incident open whose rules match the drill's
items; after each action the outbox runs, and no row, delivery or alert touches the live side."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from crisisdesk.app import App
from crisisdesk.domain.clock import FixedClock
from crisisdesk.domain.errors import UserError
from crisisdesk.domain.events import Kind
from crisisdesk.domain.incidents import Mode
from crisisdesk.domain.roles import Actor
from crisisdesk.services.drills import InjectStatus
from crisisdesk.services.outbox import OutboxService
from tests.integration.drill_helpers import scenario_text, write_scenario
from tests.integration.outbox_helpers import add_team, open_incident, publish
from tests.support.http_servers import webhook_receiver

EXTRA = """  - id: by-hand-report
    at: T+58m
    kind: feed-item
    headline: Flash flood at the creek
    text: Flash flooding, creek rising, road flooded.
  - id: severe-elsewhere
    at: T+59m
    kind: cap-alert
    file: warning.xml
"""


@pytest.fixture
def live_hook(core: App, admin: Actor) -> Iterator[Any]:
    with webhook_receiver() as (url, state):
        core.channels().add(admin, "webhook", "county-hook", settings=[f"url={url}"], secret="live key")
        yield state


@pytest.fixture
def exercise_hook(core: App, admin: Actor) -> Iterator[Any]:
    with webhook_receiver() as (url, state):
        core.channels().add(admin, "webhook", "exercise-hook", exercise=True, settings=[f"url={url}"], secret="ex key")
        yield state


def test_no_drill_action_reaches_a_live_account_or_a_live_incident(
    core: App, admin: Actor, live_hook: Any, exercise_hook: Any, clock: FixedClock, tmp_path: Path
) -> None:
    team = add_team(core, admin)
    eve = team["eve"]
    live_incident = open_incident(core, team)  # flash-flood, LIVE: its keywords and area match every drill item
    live_ids = {core.channels().get(n).id for n in ("public-page", "county-hook")}
    live_page = Path(core.channels().get("public-page").settings["path"])
    drills = core.drills()
    text = scenario_text(outage_account="exercise-hook", extra_inject=EXTRA)
    path = write_scenario(tmp_path / "s", text)

    def nothing_live(after: str) -> None:
        core.outbox().run_once()
        rows = core.outbox().rows(eve, limit=10_000)
        assert not [r for r in rows if r.account_id in live_ids or r.mode == Mode.LIVE.value], after
        assert live_hook.posts() == [], after
        assert not live_page.exists() or not any(live_page.iterdir()), after
        alerts = core.feeds().alerts(eve, include_handled=True)
        assert not [a for a in alerts if a.incident_id == live_incident], after
        assert not [a for a in alerts if a.incident_id is None], after  # never one that could be opened as LIVE
        for account in live_ids:
            assert drills.outage(account) is None, after
            assert core.outbox().outage is not None and core.outbox().outage(account, clock.now()) is None, after

    actions: list[tuple[str, Callable[[], Any]]] = []
    state: dict[str, Any] = {}

    def load() -> None:
        state["drill"] = drills.load(eve, path).id

    def start() -> None:
        state["incident"] = drills.start(eve, state["drill"], compression=60).incidents["flood"]

    def exercise_message() -> None:  # the players publish on every exercise account, so held rows exist
        publish(core, team, state["incident"], ["exercise-hook", "exercise-page"], mode=Mode.EXERCISE)

    def tick_to(minutes: float) -> Callable[[], None]:
        def run() -> None:
            drill = drills.get(eve, state["drill"])
            clock.advance((timedelta(minutes=minutes) - drill.drill_time) / drill.compression)
            drills.tick()

        return run

    actions += [
        ("load", load),
        ("start (and T+0's feed item)", start),
        ("players publish", exercise_message),
        ("the CAP alert", tick_to(5)),
        ("the urgent comment", tick_to(10)),
        ("the note", tick_to(12)),
        ("the channel outage", tick_to(15)),
        ("players publish during the outage", exercise_message),
        ("pause", lambda: drills.pause(eve, state["drill"])),
        ("resume", lambda: drills.resume(eve, state["drill"])),
        ("compression", lambda: drills.set_compression(eve, state["drill"], 30)),
        ("jump to the network loss", lambda: drills.jump(eve, state["drill"], "blackout")),
        ("players publish during the network loss", exercise_message),
        ("a feed item by hand", lambda: drills.inject(eve, state["drill"], "by-hand-report")),
        ("a CAP alert by hand", lambda: drills.inject(eve, state["drill"], "severe-elsewhere")),
        ("the last feed item", tick_to(56)),
        ("end", lambda: drills.end(eve, state["drill"])),
    ]
    for name, action in actions:
        action()
        nothing_live(name)
    drill = drills.get(eve, state["drill"])
    assert {i.status for i in drill.injects} == {InjectStatus.FIRED}
    # The drill's items did raise alerts, on its own EXERCISE incident only.
    own = core.feeds().alerts(eve, include_handled=True, incident=state["incident"])
    assert len(own) >= 4
    # The exercise side did go out (the guard is not just everything refused).
    assert exercise_hook.posts()
    # And a person cannot turn a drill's alert into a LIVE incident; as an exercise, they may.
    with pytest.raises(UserError, match=r"comes from drl-\w+'s injects, an exercise script"):
        core.feeds().open_incident(team["carla"], own[0].id, playbook_id="flash-flood", mode=Mode.LIVE)
    opened, _ = core.feeds().open_incident(eve, own[0].id, playbook_id="flash-flood", mode=Mode.EXERCISE)
    assert opened.mode is Mode.EXERCISE


def test_an_outage_aimed_at_an_account_that_became_live_is_not_applied(
    core: App, admin: Actor, exercise_hook: Any, tmp_path: Path
) -> None:
    team = add_team(core, admin)
    drills = core.drills()
    drill = drills.load(team["eve"], write_scenario(tmp_path / "s", scenario_text(outage_account="exercise-hook")))
    drills.start(team["eve"], drill.id)
    # After the scenario was checked, the exercise account is removed and a LIVE one takes its name.
    core.channels().remove(admin, "exercise-hook")
    with webhook_receiver() as (url, live_state):
        live = core.channels().add(admin, "webhook", "exercise-hook", settings=[f"url={url}"], secret="live")
        fired = drills.jump(team["eve"], drill.id, "page-down")
        page_down = next(i for i in fired.injects if i.id == "page-down")
        assert page_down.detail.startswith("not applied: 'exercise-hook': it is a LIVE account")
        assert drills.outage(live.id) is None and fired.outages == []
        event = next(
            e for e in core.log.events() if e.kind == Kind.DRILL_INJECT_FIRED and e.payload["inject"] == "page-down"
        )
        assert event.payload["account"] is None
        msg = publish(core, team, open_incident(core, team), ["exercise-hook"])  # a live message to it goes out
        core.outbox().run_once()
        assert [r.state for r in core.outbox().rows(team["vic"], message_id=msg.id)] == ["sent"]
        assert len(live_state.posts()) == 1


def test_the_outbox_itself_never_holds_a_live_row_whatever_the_drill_hook_says(
    core: App, admin: Actor, live_hook: Any
) -> None:
    team = add_team(core, admin)
    outbox = core.outbox()
    lying = OutboxService(
        core.db, core.log, core.clock, core.channels(), core.secrets, outage=lambda account, now: ("drill: down", None)
    )
    msg = publish(core, team, open_incident(core, team), ["county-hook", "public-page"])
    report = lying.run_once()
    lying.close()
    assert (report.sent, report.failed) == (2, 0)
    assert {r.state for r in outbox.rows(team["vic"], message_id=msg.id)} == {"sent"}
