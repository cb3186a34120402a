"""The scripted players play an EXERCISE incident through the real services: facts, draft, a second person's
approval of the exact hash, publish after reading the summary, delivery by the outbox to a real folder channel, and
the false alarm's cancel and correction; they refuse to confirm anything that is not EXERCISE."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from crisisdesk.app import App
from crisisdesk.domain.clock import FixedClock
from crisisdesk.domain.incidents import Mode
from crisisdesk.domain.roles import Actor
from tests.support.players import NotExercise, Players, Team, exercise_accounts, local_time, seat_team

FLOOD = {
    "area": "Mill Creek valley | geocode: SAME=006067",
    "area@es": "Valle de Mill Creek",
    "info_url": "https://ready.millcounty.gov/flood",
    "phone": "211",
}


@pytest.fixture
def team(core: App, admin: Actor) -> Team:
    return seat_team(core, admin)


def test_the_players_send_an_alert_and_an_update_that_the_outbox_delivers(
    core: App, admin: Actor, team: Team, clock: FixedClock
) -> None:
    [page] = exercise_accounts(core, admin, ["exercise-page"])
    incident = core.incidents().open(team.controller, "flash-flood", Mode.EXERCISE, facts=FLOOD).id
    players = Players(core, team)
    alert = players.send(incident, "alert", facts={"expires": local_time(core, incident, timedelta(hours=2))})
    assert alert.published and alert.mode == "exercise"
    assert [a.name for a in alert.accounts] == ["exercise-page"]
    # Drafted and published by the communicator, approved by the other person: the log says so.
    assert alert.author == team.communicator.name
    assert [a["approver"] for a in alert.approvals] == [team.approver.name]
    assert not players.delivered(alert.id)  # handed to the outbox, not yet taken
    report = players.deliver()
    assert report.sent == 1 and players.delivered(alert.id)
    page_dir = Path(page.settings["path"])
    assert any("EXERCISE" in p.read_text(encoding="utf-8") for p in page_dir.rglob("*.html"))

    clock.advance(timedelta(minutes=30))
    update = players.send(incident, "update", facts={"shelter": "Mill County Fairgrounds, 900 Fair Way"})
    assert update.references == [alert.id]
    assert players.deliver().sent == 1 and players.delivered(update.id)
    assert players.undelivered() == []
    assert core.incidents().get(team.communicator, incident).facts["shelter"] == "Mill County Fairgrounds, 900 Fair Way"


def test_the_false_alarm_path_cancels_and_corrects_on_every_channel(
    core: App, admin: Actor, team: Team, clock: FixedClock
) -> None:
    exercise_accounts(core, admin, ["exercise-page", "exercise-social"])
    facts = {"area": "Mill County | geocode: SAME=006067", "area@es": "Condado de Mill",
             "info_url": "https://ready.millcounty.gov/storm", "phone": "211"}  # fmt: skip
    incident = core.incidents().open(team.controller, "tornado", Mode.EXERCISE, facts=facts).id
    players = Players(core, team)
    wrong = players.send(incident, "alert", facts={"expires": local_time(core, incident, timedelta(minutes=45))})
    assert sorted(a.name for a in wrong.accounts) == ["exercise-page", "exercise-social"]
    players.deliver()
    clock.advance(timedelta(minutes=4))
    cancel, correction = players.false_alarm(
        incident,
        correction="there is no tornado: the warning was sent in error",
        translations={"es": "no hay tornado: el aviso se envió por error"},
    )
    assert (cancel.type, correction.type) == ("cancel", "correction")
    assert cancel.references == [wrong.id] and correction.references == [wrong.id]
    clock.advance(timedelta(minutes=2))
    waiting = players.confirm_false_alarm(incident)
    assert waiting is not None and waiting.confirmed_at is None and not waiting.recorded  # not on any channel yet
    players.deliver()
    assert all(players.delivered(m.id) for m in (wrong, cancel, correction))
    progress = players.confirm_false_alarm(incident)
    assert progress is not None and progress.recorded
    assert progress.elapsed == timedelta(minutes=2)  # from the click to the correction's last receipt
    texts = " ".join(v.text for v in correction.variants if v.lang == "en")
    assert "sent in error" in texts


def test_a_player_does_not_confirm_a_live_publish(core: App, admin: Actor, team: Team) -> None:
    live = core.incidents().open(team.communicator, "flash-flood", Mode.LIVE, facts=FLOOD).id
    players = Players(core, team)
    with pytest.raises(NotExercise, match="LIVE: this goes to the public"):
        players.send(live, "alert", facts={"expires": local_time(core, live, timedelta(hours=2))})
    assert players.published == []
