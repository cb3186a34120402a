"""The Matrix channel against a real Synapse on 127.0.0.1: exactly once by transaction id, redaction to retract."""

from __future__ import annotations

import uuid

import pytest

from crisisdesk.app import App
from crisisdesk.channels.registry import make_adapter
from crisisdesk.domain.events import Kind
from crisisdesk.domain.roles import Actor
from tests.integration.outbox_helpers import add_team, open_incident, publish
from tests.support.servers import Synapse


@pytest.fixture
def team(core: App, admin: Actor) -> dict[str, Actor]:
    return add_team(core, admin)


@pytest.fixture
def room(synapse: Synapse, core: App, admin: Actor):  # type: ignore[no-untyped-def]
    bot = f"crisisbot{uuid.uuid4().hex[:8]}"
    token = synapse.register(bot, "bot password 1")
    with synapse.client(token) as client:
        room_id = client.post("/_matrix/client/v3/createRoom", json={"name": "Mill County alerts"}).json()["room_id"]
        core.channels().add(
            admin, "matrix", "county-room", settings=[f"base_url={synapse.url}", f"room={room_id}"], secret=token
        )
        yield client, room_id


def messages_in(client, room_id: str) -> list[dict]:  # type: ignore[no-untyped-def]
    answer = client.get(f"/_matrix/client/v3/rooms/{room_id}/messages", params={"dir": "b", "limit": 100})
    return [e for e in answer.json()["chunk"] if e["type"] == "m.room.message"]


def test_a_message_reaches_the_room_once_and_a_retraction_redacts_it(core: App, team, room) -> None:  # type: ignore[no-untyped-def]
    client, room_id = room
    assert "a member of" in core.channels().test(team["vic"], "county-room")
    inc = open_incident(core, team)
    msg = publish(core, team, inc, ["county-room"])
    assert core.outbox().run_once().sent == 1
    (event,) = messages_in(client, room_id)
    (row,) = core.outbox().rows(team["vic"], message_id=msg.id)
    assert event["event_id"] == row.remote_id and "Mill Creek valley" in event["content"]["body"]
    assert event["content"]["org.crisisdesk.key"] == row.idem_key
    # Sent again with the same key (as after a crash), the server gives back the same event: no second message.
    adapter = make_adapter(core.channels().get("county-room"), core.secrets.get(row.account_id))
    again = adapter.deliver(core.outbox().post_for(core.outbox().get(row.id)))
    adapter.close()
    assert again.remote_id == row.remote_id and len(messages_in(client, room_id)) == 1
    core.outbox().request_retract(team["ivan"], msg.id)
    assert core.outbox().run_once().retracted == 1
    (redacted,) = messages_in(client, room_id)
    assert redacted["content"] == {} and "redacted_because" in redacted.get("unsigned", {})


def test_a_send_cut_off_mid_way_is_not_doubled_after_a_restart(core: App, team, room, db_path, clock, hasher) -> None:  # type: ignore[no-untyped-def]
    client, room_id = room
    inc = open_incident(core, team)
    msg = publish(core, team, inc, ["county-room"])
    (row,) = core.outbox().rows(team["vic"], message_id=msg.id)
    with core.db.write() as conn:
        core.log.record(conn, "outbox", Kind.OUTBOX_CLAIMED, {"rows": [row.id]})
    adapter = make_adapter(core.channels().get("county-room"), core.secrets.get(row.account_id))
    first = adapter.deliver(core.outbox().post_for(core.outbox().get(row.id)))  # reached the room; no receipt
    adapter.close()
    restarted = App.open(db_path, clock=clock, hasher=hasher)
    try:
        report = restarted.outbox().run_once()
        assert report.reconciled == 1
        restarted.outbox().run_once()
        (after,) = restarted.outbox().rows(team["vic"], message_id=msg.id)
        assert after.state == "sent" and after.remote_id == first.remote_id
        assert len(messages_in(client, room_id)) == 1
    finally:
        restarted.close()


def test_a_bad_token_is_dead_with_the_reason(core: App, team, admin, synapse) -> None:  # type: ignore[no-untyped-def]
    core.channels().add(
        admin, "matrix", "bad-room", settings=[f"base_url={synapse.url}", "room=!nowhere"], secret="not-a-token"
    )
    msg = publish(core, team, open_incident(core, team), ["bad-room"])
    core.outbox().run_once()
    (row,) = core.outbox().rows(team["vic"], message_id=msg.id)
    assert row.state == "dead" and "refused the credentials (HTTP 401)" in (row.reason or "")
