"""The deliveries service: one message's channels, what a retraction would do, dead-delivery news, and the false
alarm as the console runs it (preview, declaration with the click time, the time to correction from the log)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from crisisdesk.app import App
from crisisdesk.domain.clock import FixedClock
from crisisdesk.domain.errors import UserError
from crisisdesk.domain.events import Kind
from crisisdesk.domain.incidents import Mode
from crisisdesk.domain.roles import Actor
from crisisdesk.services.deliveries import CORRECTION_PLACEHOLDER
from tests.integration.outbox_helpers import add_team, open_incident, publish
from tests.support.http_servers import sms_gateway, webhook_receiver


@pytest.fixture
def team(core: App, admin: Actor) -> dict[str, Actor]:
    return add_team(core, admin)


def test_a_messages_deliveries_and_what_a_retraction_would_do(core: App, admin: Actor, team) -> None:  # type: ignore[no-untyped-def]
    with webhook_receiver() as (url, hook), sms_gateway() as (sms_url, gateway):
        core.channels().add(admin, "webhook", "county-hook", settings=[f"url={url}"], secret="k1")
        core.channels().add(
            admin,
            "sms",
            "county-sms",
            settings=[f"base_url={sms_url}", f"account_sid={gateway.sid}", "from=+15550100", "to=+15550111"],
            secret=gateway.token,
        )
        inc = open_incident(core, team)
        hook.script.queue.append((401, {}, b'{"error": "bad signature"}'))
        msg = publish(core, team, inc, ["public-page", "county-hook", "county-sms"])
        found = core.deliveries().for_message(team["vic"], msg.id)
        assert found.state == "published" and found.mode == "live" and found.published_by == "carla"
        assert {d.row.state for d in found.deliveries} == {"queued"}
        assert not any(d.retryable for d in found.deliveries)
        core.outbox().run_once()
    found = core.deliveries().for_message(team["vic"], msg.id)
    by = {d.row.account: d for d in found.deliveries}
    assert by["public-page"].row.state == "sent" and by["public-page"].row.remote_url.startswith("file://")
    assert by["county-sms"].row.state == "sent" and by["county-sms"].cannot_retract
    assert by["county-hook"].row.state == "dead" and by["county-hook"].retryable
    assert "401" in (by["county-hook"].row.reason or "")
    plan = found.retract_plan()
    assert plan.take_back == ("public-page (folder)",)
    assert plan.cannot == (("county-sms (sms)", "a text message cannot be recalled once delivered"),)
    assert plan.untouched == ("county-hook (webhook)",) and plan.stop == ()
    assert found.retract_plan("county-sms").channels == ("county-sms (sms)",)
    # What the plan says is what the service does: the dead row is left alone, the others are asked.
    asked = core.outbox().request_retract(team["ivan"], msg.id)
    assert sorted(r.account for r in asked) == ["county-sms", "public-page"]


def test_dead_news_names_rows_that_went_dead_since_the_bookmark_and_not_withdrawn_ones(
    core: App, admin: Actor, team
) -> None:  # type: ignore[no-untyped-def]
    deliveries = core.deliveries()
    first = deliveries.dead_since(team["vic"], None)
    assert first.deliveries == ()
    with webhook_receiver() as (url, hook):
        core.channels().add(admin, "webhook", "county-hook", settings=[f"url={url}"], secret="k1")
        inc = open_incident(core, team)
        hook.script.queue.append((403, {}, b"{}"))
        msg = publish(core, team, inc, ["county-hook"])
        core.outbox().run_once()
    news = deliveries.dead_since(team["vic"], first.cursor)
    (dead,) = news.deliveries
    assert (dead.message_id, dead.account, dead.kind, dead.mode) == (msg.id, "county-hook", "webhook", "live")
    assert "403" in dead.reason
    assert deliveries.dead_since(team["vic"], news.cursor).deliveries == ()  # said once
    # A row a person withdrew before it went is dead on purpose: no alarm.
    core.channels().add(admin, "webhook", "gone-hook", settings=["url=http://127.0.0.1:9/hook"], secret="k")
    second = publish(core, team, inc, ["gone-hook"], message_type="update")
    core.outbox().run_once()
    core.outbox().request_retract(team["ivan"], second.id)
    core.outbox().run_once()
    assert core.outbox().rows(team["vic"], message_id=second.id)[0].state == "dead"
    assert deliveries.dead_since(team["vic"], news.cursor).deliveries == ()


def test_the_false_alarm_preview_renders_both_texts_without_recording_anything(core: App, team) -> None:  # type: ignore[no-untyped-def]
    inc = core.incidents().open(team["eve"], "flash-flood", Mode.EXERCISE, facts=_facts()).id
    alert = publish(core, team, inc, ["exercise-page"], mode=Mode.EXERCISE)
    before = core.log.count()
    preview = core.deliveries().false_alarm_preview(team["eve"], inc)
    assert core.log.count() == before
    assert preview.mode == "exercise" and preview.single_approver and preview.approvers_needed == 1
    assert [r.message_id for r in preview.references] == [alert.id]
    assert preview.channels == ("exercise-page (folder)",)
    assert set(preview.cancel.texts) == set(preview.correction.texts) == {"en", "es"}
    web = dict(preview.correction.texts["en"])["web"]
    assert CORRECTION_PLACEHOLDER in web and "EXERCISE" in web
    # The preview is the false alarm's own texts: sent in error, no danger, in both languages.
    for drafted in (preview.cancel, preview.correction):
        assert (
            "sent in error" in dict(drafted.texts["en"])["web"]
            and "no flood danger" in dict(drafted.texts["en"])["web"]
        )
        assert "se envió por error" in dict(drafted.texts["es"])["web"]
    assert {c for c, _ in preview.cancel.texts["en"]} <= {
        "web",
        "email-subject",
        "cap-headline",
        "cap-description",
        "cap-instruction",
    }
    said = core.deliveries().false_alarm_preview(team["eve"], inc, "the warning was for Elm Creek, not Mill Creek")
    assert "the warning was for Elm Creek, not Mill Creek" in dict(said.correction.texts["es"])["web"]
    assert core.log.count() == before


def test_the_time_to_correction_runs_from_the_click_to_the_last_receipt_and_is_recorded_once(
    core: App, team, clock: FixedClock
) -> None:  # type: ignore[no-untyped-def]
    inc = core.incidents().open(team["eve"], "flash-flood", Mode.EXERCISE, facts=_facts()).id
    publish(core, team, inc, ["exercise-page"], mode=Mode.EXERCISE)
    core.outbox().run_once()
    clock.advance(timedelta(minutes=7))
    clicked = clock.now()
    deliveries = core.deliveries()
    assert deliveries.false_alarm_progress(team["eve"], inc) is None
    with pytest.raises(UserError, match="after now"):
        deliveries.declare_false_alarm(team["eve"], inc, "x", clicked_at=clicked + timedelta(minutes=5))
    with pytest.raises(UserError, match="before the message it cancels went out"):
        deliveries.declare_false_alarm(team["eve"], inc, "x", clicked_at=clicked - timedelta(hours=1))
    clock.advance(timedelta(seconds=40))
    progress = deliveries.declare_false_alarm(
        team["eve"], inc, "the warning was for Elm Creek, not Mill Creek", clicked_at=clicked
    )
    assert progress.clicked_at == clicked and progress.confirmed_at is None and not progress.recorded
    assert progress.cancel.state == progress.correction.state == "submitted"
    assert "waiting for approval" in progress.correction.approval
    messages = core.messages()
    for step in (progress.cancel, progress.correction):
        view = messages.show(team["ivan"], step.message_id)
        messages.approve(team["ivan"], view.id, view.content_hash)
        clock.advance(timedelta(seconds=30))
        messages.publish(team["eve"], view.id, confirm=f"SEND EXERCISE {view.id}")
    waiting = deliveries.record_false_alarm_time(team["eve"], inc)
    assert waiting is not None and waiting.confirmed_at is None and not waiting.recorded
    assert {r.state for r in waiting.deliveries} == {"queued"}
    clock.advance(timedelta(seconds=20))
    core.outbox().run_once()
    done = deliveries.record_false_alarm_time(team["eve"], inc)
    assert done is not None and done.recorded
    assert done.elapsed == timedelta(seconds=40 + 30 + 30 + 20)
    again = deliveries.record_false_alarm_time(team["ivan"], inc)
    assert again is not None and again.elapsed == done.elapsed
    timed = [e for e in core.log.events() if e.kind == Kind.FALSE_ALARM_CORRECTED]
    assert len(timed) == 1 and timed[0].payload["elapsed_ms"] == 120_000
    page = (Path(core.channels().get("exercise-page").settings["path"]) / "index.html").read_text()
    assert "the warning was for Elm Creek, not Mill Creek" in page
    # The timeline of the incident says so in words.
    labels = [t.what for t in core.incidents().timeline(inc)]
    assert "False alarm declared" in labels and "False alarm corrected on every channel" in labels


def _facts() -> dict[str, str]:
    from tests.integration.test_incidents import FLOOD_FACTS

    return dict(FLOOD_FACTS)
