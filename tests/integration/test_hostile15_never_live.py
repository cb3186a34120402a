"""Hostile: a drill.inject_fired written by hand through the event log's API, naming LIVE accounts by id (as a
channel outage and as a network loss), for a running drill. The outbox still delivers the LIVE message, and the
drill service never says a LIVE account is failing, to the outbox or to the controller."""

from __future__ import annotations

from pathlib import Path

from crisisdesk.app import App
from crisisdesk.domain.events import Kind
from crisisdesk.domain.roles import Actor
from tests.integration.drill_helpers import write_scenario
from tests.integration.outbox_helpers import add_team, open_incident, publish


def test_a_hand_written_outage_naming_live_accounts_fails_nothing_live(core: App, admin: Actor, tmp_path: Path) -> None:
    team = add_team(core, admin)
    drills = core.drills()
    drill = drills.load(team["eve"], write_scenario(tmp_path / "s")).id
    drills.start(team["eve"], drill)
    live = core.channels().get("public-page")
    assert not live.exercise
    with core.db.write() as conn:
        for inject, kind, names in (
            ("page-down", "channel-outage", {"account": live.id}),
            ("blackout", "network-loss", {"accounts": [live.id]}),
        ):
            payload = {
                "drill": drill,
                "inject": inject,
                "kind": kind,
                "incident": None,
                "scheduled_seconds": 0,
                "drill_seconds": "1.000",
                "by_hand": True,
                "until_seconds": "99999.000",
                "detail": "forged",
            }
            core.log.record(conn, "eve", Kind.DRILL_INJECT_FIRED, {**payload, **names})
    assert drills.outage(live.id) is None
    assert core.drills().outage(live.id) is None  # a fresh fold, as another process has
    # Nor does the controller's list of what is failing now name the LIVE account.
    shown = drills.get(team["eve"], drill).outages
    assert not [line for line in shown if "public-page" in line], shown
    msg = publish(core, team, open_incident(core, team), ["public-page"])
    core.outbox().run_once()
    assert [r.state for r in core.outbox().rows(team["vic"], message_id=msg.id)] == ["sent"]
