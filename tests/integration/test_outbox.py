"""The outbox against the local folder channel and local HTTP servers: exactly once, in order, offline-first."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from pathlib import Path

import orjson
import pytest

from crisisdesk.app import App
from crisisdesk.channels.base import ChannelError
from crisisdesk.channels.registry import make_adapter
from crisisdesk.domain.clock import FixedClock
from crisisdesk.domain.errors import PermissionDenied, UserError
from crisisdesk.domain.events import Kind
from crisisdesk.domain.incidents import Mode
from crisisdesk.domain.outbox import idempotency_key, plan
from crisisdesk.domain.roles import Actor
from tests.integration.outbox_helpers import add_team, open_incident, publish
from tests.integration.test_event_log import snapshot
from tests.support.http_servers import webhook_receiver

HOOK_KEY = "hook signing key 1"


@pytest.fixture
def team(core: App, admin: Actor) -> dict[str, Actor]:
    return add_team(core, admin)


@pytest.fixture
def hook(core: App, admin: Actor):  # type: ignore[no-untyped-def]
    with webhook_receiver() as (url, state):
        core.channels().add(admin, "webhook", "county-hook", settings=[f"url={url}"], secret=HOOK_KEY)
        yield state


def rows(core: App, message: str) -> list[dict[str, object]]:
    return [r.as_dict() for r in core.outbox().rows(core.people.actor("vic"), message_id=message)]


def test_publishing_queues_one_row_per_account_in_the_same_transaction(core: App, team, hook) -> None:  # type: ignore[no-untyped-def]
    inc = open_incident(core, team)
    msg = publish(core, team, inc, ["public-page", "county-hook"])
    queued = rows(core, msg.id)
    assert {r["channel"] for r in queued} == {"public-page", "county-hook"}
    assert {r["state"] for r in queued} == {"queued"}
    for r in queued:  # the key is SHA-256(content hash, account id)
        account = core.channels().get(str(r["channel"]))
        assert r["key"] == idempotency_key(msg.content_hash, account.id)
    event = next(e for e in core.log.events() if e.kind == Kind.MESSAGE_PUBLISHED)
    assert sorted(r["row"] for r in event.payload["outbox"]) == sorted(str(r["row"]) for r in queued)
    # Replay rebuilds the outbox exactly from the log.
    before = snapshot(core.db.conn)
    core.log.replay()
    assert snapshot(core.db.conn) == before


def test_a_message_reaches_the_folder_and_the_webhook_once_with_receipts(core: App, team, hook, admin) -> None:  # type: ignore[no-untyped-def]
    inc = open_incident(core, team)
    msg = publish(core, team, inc, ["public-page", "county-hook"])
    report = core.outbox().run_once()
    assert report.sent == 2 and not report.failed
    for r in rows(core, msg.id):
        assert r["state"] == "sent" and r["receipt"]["id"], r
    assert core.outbox().run_once().sent == 0  # nothing goes twice
    # The webhook got signed JSON with the idempotency key.
    (post,) = hook.posts()
    body, headers = post.body, post.headers
    expected = hmac.new(HOOK_KEY.encode(), headers["X-Crisisdesk-Timestamp"].encode() + b"." + body, hashlib.sha256)
    assert headers["X-Crisisdesk-Signature"] == "sha256=" + expected.hexdigest()
    data = orjson.loads(body)
    assert headers["Idempotency-Key"] == data["key"] and data["hash"] == msg.content_hash
    assert set(data["texts"]) == {"en", "es"} and "Mill Creek valley" in data["texts"]["en"]["web"]
    # The folder: a public page, an Atom feed, a CAP file valid against the schema, an index of active alerts.
    folder = Path(core.channels().get("public-page").settings["path"])
    page = (folder / "index.html").read_text()
    assert "Current alerts" in page and "Mill Creek valley" in page and 'lang="es"' in page
    cap = folder / "cap" / f"{msg.id}-v{msg.version}.xml"
    assert core.incidents().playbooks.check_cap(cap.read_bytes()) == []
    assert f"{msg.id}-v{msg.version}.xml" in (folder / "cap" / "index.atom").read_text()
    assert msg.id in (folder / "atom.xml").read_text()


def test_a_channel_down_for_a_while_gets_everything_once_and_in_order(core: App, team, hook, clock) -> None:  # type: ignore[no-untyped-def]
    inc = open_incident(core, team)
    hook.script.down = True
    alert = publish(core, team, inc, ["county-hook"])
    core.incidents().set_fact(team["carla"], inc, "expires", "2026-11-22T23:00")
    update = publish(core, team, inc, ["county-hook"], message_type="update")
    outbox = core.outbox()
    report = outbox.run_once()
    assert report.failed == 1 and report.sent == 0
    (first,) = rows(core, alert.id)
    (second,) = rows(core, update.id)
    assert first["state"] == "failed" and "cannot be reached" in first["reason"] and first["next_try"]
    # Never overtakes the alert, and was never attempted: it stays queued (a crash now could not put it in doubt).
    assert second["state"] == "queued" and second["attempts"] == 0 and second["reason"] is None
    for _ in range(5):  # still down: it keeps trying, backing off, and never skips ahead
        clock.advance(timedelta(minutes=20))
        outbox.run_once()
    assert hook.posts() == []
    hook.script.down = False
    clock.advance(timedelta(minutes=20))
    outbox.run_once()
    sent = [p.json() for p in hook.posts()]
    assert [p["message"] for p in sent] == [alert.id, update.id]  # once each, in order
    assert [r["state"] for r in rows(core, alert.id) + rows(core, update.id)] == ["sent", "sent"]


def test_429_waits_exactly_as_long_as_retry_after_says(core: App, team, hook, clock: FixedClock) -> None:  # type: ignore[no-untyped-def]
    inc = open_incident(core, team)
    hook.script.queue.append((429, {"Retry-After": "120"}, b'{"error": "slow down"}'))
    msg = publish(core, team, inc, ["county-hook"])
    core.outbox().run_once()
    (row,) = rows(core, msg.id)
    assert row["state"] == "failed" and "429" in row["reason"]
    assert row["next_try"] == (clock.now() + timedelta(seconds=120)).isoformat(timespec="microseconds")
    clock.advance(timedelta(seconds=119))
    assert core.outbox().run_once().sent == 0
    clock.advance(timedelta(seconds=1))
    assert core.outbox().run_once().sent == 1 and len(hook.posts()) == 1


def test_a_permanent_401_goes_dead_with_the_reason_and_a_person_can_retry(core: App, team, hook) -> None:  # type: ignore[no-untyped-def]
    inc = open_incident(core, team)
    hook.script.queue.append((401, {}, b'{"error": "bad signature"}'))
    msg = publish(core, team, inc, ["county-hook"])
    report = core.outbox().run_once()
    (row,) = rows(core, msg.id)
    assert report.dead == 1 and row["state"] == "dead" and "refused the credentials (HTTP 401)" in row["reason"]
    assert core.outbox().run_once().sent == 0  # dead is not retried by itself
    with pytest.raises(PermissionDenied):
        core.outbox().retry(team["vic"], str(row["row"]))
    core.outbox().retry(team["carla"], str(row["row"]))
    assert core.outbox().run_once().sent == 1 and len(hook.posts()) == 1


def test_rows_cut_off_mid_send_are_looked_up_before_any_retry(core: App, team, db_path, clock, hasher) -> None:  # type: ignore[no-untyped-def]
    inc = open_incident(core, team)
    msg = publish(core, team, inc, ["public-page"])
    (row,) = rows(core, msg.id)
    outbox = core.outbox()
    # The claim is committed, the file is written, and the process dies before the receipt is committed.
    post = outbox.post_for(outbox.get(str(row["row"])))
    with core.db.write() as conn:
        core.log.record(conn, "outbox", Kind.OUTBOX_CLAIMED, {"rows": [row["row"]]})
    make_adapter(core.channels().get("public-page"), None).send(post)
    restarted = App.open(db_path, clock=clock, hasher=hasher)
    try:
        report = restarted.outbox().run_once()
        assert report.reconciled == 1 and report.sent == 0
        (after,) = [r.as_dict() for r in restarted.outbox().rows(team["vic"], message_id=msg.id)]
        assert after["state"] == "sent" and after["attempts"] == 1
        kinds = [e.kind for e in restarted.log.events() if e.payload.get("rows") == [row["row"]]]
        assert Kind.OUTBOX_UNKNOWN in kinds
        sent = [e for e in restarted.log.events() if e.kind == Kind.OUTBOX_SENT]
        assert sent[-1].payload["via"] == "lookup"
        folder = Path(restarted.channels().get("public-page").settings["path"])
        assert len(list((folder / "entries").glob("*.json"))) == 1
    finally:
        restarted.close()


def test_a_row_cut_off_before_the_channel_saw_it_is_sent_after_the_lookup(
    core: App, team, db_path, clock, hasher
) -> None:  # type: ignore[no-untyped-def]
    inc = open_incident(core, team)
    msg = publish(core, team, inc, ["public-page"])
    (row,) = rows(core, msg.id)
    with core.db.write() as conn:
        core.log.record(conn, "outbox", Kind.OUTBOX_CLAIMED, {"rows": [row["row"]]})
    restarted = App.open(db_path, clock=clock, hasher=hasher)
    try:
        first = restarted.outbox().run_once()
        assert first.reconciled == 1  # not found on the channel: queued to go again
        restarted.outbox().run_once()
        (after,) = [r.as_dict() for r in restarted.outbox().rows(team["vic"], message_id=msg.id)]
        assert after["state"] == "sent" and after["attempts"] == 2
    finally:
        restarted.close()


def test_exercise_never_reaches_a_live_channel_on_any_path(core: App, team, admin, hook) -> None:  # type: ignore[no-untyped-def]
    live_hook = core.channels().get("county-hook")
    exercise = open_incident(core, team, Mode.EXERCISE)
    # 1. A draft targets only accounts of its mode.
    view = core.messages().draft(team["eve"], exercise, "alert")
    assert [a.name for a in view.accounts] == ["exercise-page"]
    # 2. Choosing a live channel is refused, and the refusal is recorded.
    with pytest.raises(PermissionDenied, match="county-hook is a LIVE channel"):
        core.messages().set_targets(team["eve"], view.id, ["exercise-page", "county-hook"])
    assert any(e.kind == Kind.ACCESS_DENIED and "LIVE channel" in e.payload["reason"] for e in core.log.events())
    # 3. The outbox refuses to queue a mismatch (a version whose target was somehow live).
    with pytest.raises(PermissionDenied, match="the outbox refuses to queue"):
        plan(view.content_hash, "exercise", [(live_hook.id, live_hook)])
    # 4. The channel layer refuses to send a mismatch, whatever reached it.
    post = core.outbox().post_for  # build a real exercise post to hand straight to the live adapter
    msg = publish(core, team, exercise, ["exercise-page"], mode=Mode.EXERCISE)
    (row,) = core.outbox().rows(team["vic"], message_id=msg.id)
    adapter = make_adapter(live_hook, HOOK_KEY)
    with pytest.raises(ChannelError, match="refused by the channel layer") as refused:
        adapter.deliver(post(row))
    assert refused.value.permanent and hook.posts() == []
    # And the other way: a live incident cannot use the exercise page.
    live = open_incident(core, team)
    draft = core.messages().draft(team["carla"], live, "alert")
    assert "exercise-page" not in [a.name for a in draft.accounts]
    with pytest.raises(PermissionDenied, match="exercise-page is an EXERCISE channel"):
        core.messages().set_targets(team["carla"], draft.id, ["exercise-page"])


def test_publishing_with_no_channel_or_a_removed_one_is_refused_clearly(core: App, team, admin, hook) -> None:  # type: ignore[no-untyped-def]
    inc = open_incident(core, team)
    messages = core.messages()
    view = messages.set_targets(team["carla"], messages.draft(team["carla"], inc, "alert").id, ["county-hook"])
    messages.submit(team["carla"], view.id)
    messages.approve(team["ivan"], view.id, view.content_hash)
    core.channels().remove(admin, "county-hook")
    with pytest.raises(UserError, match="was removed after this version was drafted"):
        messages.publish(team["carla"], view.id, confirm=f"PUBLISH LIVE {view.id}")


def test_a_channel_with_unsent_messages_cannot_be_removed(core: App, team, admin, hook) -> None:  # type: ignore[no-untyped-def]
    inc = open_incident(core, team)
    publish(core, team, inc, ["county-hook"])
    with pytest.raises(UserError, match="1 message"):
        core.channels().remove(admin, "county-hook")
    core.outbox().run_once()
    core.channels().remove(admin, "county-hook")


def test_retraction_takes_the_folder_post_down_and_stops_what_has_not_gone(core: App, team, hook) -> None:  # type: ignore[no-untyped-def]
    inc = open_incident(core, team)
    msg = publish(core, team, inc, ["public-page", "county-hook"])
    core.outbox().run_once()
    folder = Path(core.channels().get("public-page").settings["path"])
    assert msg.id in (folder / "index.html").read_text()
    with pytest.raises(PermissionDenied):
        core.outbox().request_retract(team["carla"], msg.id)  # approvers take messages back
    core.outbox().request_retract(team["ivan"], msg.id)
    report = core.outbox().run_once()
    assert report.retracted == 2
    assert msg.id not in (folder / "index.html").read_text()
    assert not (folder / "cap" / f"{msg.id}-v{msg.version}.xml").exists()
    assert hook.posts()[-1].json()["event"] == "retract"
    assert {r["retraction"]["state"] for r in rows(core, msg.id)} == {"retracted"}
    # A message withdrawn before its channel was reachable never goes at all.
    hook.script.down = True
    second = publish(core, team, inc, ["county-hook"], message_type="update")
    core.outbox().run_once()
    core.outbox().request_retract(team["ivan"], second.id)
    hook.script.down = False
    core.outbox().run_once()
    (row,) = rows(core, second.id)
    assert row["state"] == "dead" and row["retraction"]["state"] == "retracted"
    assert all(p.json()["message"] != second.id for p in hook.posts())


def test_a_false_alarm_retracts_where_the_channel_allows_and_publishes_the_correction(core: App, team, hook) -> None:  # type: ignore[no-untyped-def]
    inc = open_incident(core, team)
    alert = publish(core, team, inc, ["public-page", "county-hook"])
    core.outbox().run_once()
    cancel, correction = core.messages().false_alarm(
        team["carla"], inc, correction="The flood warning was sent in error."
    )
    assert cancel.references == [alert.id]
    for drafted in (cancel, correction):
        view = core.messages().set_targets(team["carla"], drafted.id, ["public-page", "county-hook"])
        core.messages().submit(team["carla"], view.id)
        core.messages().approve(team["ivan"], view.id, view.content_hash)
        core.messages().publish(team["carla"], view.id, confirm=f"PUBLISH LIVE {view.id}")
    report = core.outbox().run_once()
    assert report.retracted == 2 and report.sent == 4
    assert {r["retraction"]["state"] for r in rows(core, alert.id)} == {"retracted"}
    folder = Path(core.channels().get("public-page").settings["path"])
    page = (folder / "index.html").read_text()
    assert f'id="{alert.id}-' not in page and "sent in error" in page
    current = page.split("<h2>Current alerts")[1].split("<h2>Earlier messages")[0]
    assert f'id="{correction.id}-' in current and f'id="{cancel.id}-' not in current  # the public sees the fix first
    events = [p.json() for p in hook.posts()]
    assert [e["event"] for e in events] == ["message", "retract", "message", "message"]
