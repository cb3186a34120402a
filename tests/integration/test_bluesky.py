"""The Bluesky channel against a real local PDS (@atproto/dev-env): record key, lookup before retry, delete."""

from __future__ import annotations

import dataclasses
import uuid

import pytest

from crisisdesk.app import App
from crisisdesk.channels.bluesky import facets
from crisisdesk.channels.registry import make_adapter
from crisisdesk.domain.events import Kind
from crisisdesk.domain.roles import Actor
from tests.integration.outbox_helpers import add_team, open_incident, publish
from tests.support.servers import Pds


@pytest.fixture
def team(core: App, admin: Actor) -> dict[str, Actor]:
    return add_team(core, admin)


@pytest.fixture
def account(pds: Pds, core: App, admin: Actor) -> str:
    handle = f"mill{uuid.uuid4().hex[:8]}.test"
    did = pds.create_account(handle, "app password 1")
    core.channels().add(
        admin, "bluesky", "county-sky", settings=[f"base_url={pds.url}", f"handle={handle}"], secret="app password 1"
    )
    return did


def test_a_post_reaches_the_pds_once_with_facets_and_is_deleted_on_retraction(core: App, team, pds, account) -> None:  # type: ignore[no-untyped-def]
    assert "signed in as" in core.channels().test(team["vic"], "county-sky")
    msg = publish(core, team, open_incident(core, team), ["county-sky"])
    report = core.outbox().run_once()
    assert report.sent == 1, [r.reason for r in core.outbox().rows(team["vic"], message_id=msg.id)]
    (record,) = pds.records(account)
    (row,) = core.outbox().rows(team["vic"], message_id=msg.id)
    assert record["uri"] == row.remote_id
    value = record["value"]
    assert "Mill Creek valley" in value["text"] and value["langs"] == ["en"]
    links = [f["features"][0]["uri"] for f in value.get("facets", []) if "uri" in f["features"][0]]
    assert links == ["https://ready.millcounty.gov/flood"]
    text = value["text"].encode()
    for f in value["facets"]:
        start, end = f["index"]["byteStart"], f["index"]["byteEnd"]
        assert text[start:end].decode() == f["features"][0].get("uri") or text[start:end].startswith(b"#")
    core.outbox().request_retract(team["ivan"], msg.id)
    assert core.outbox().run_once().retracted == 1
    assert pds.records(account) == []


def test_a_post_made_before_a_crash_is_found_not_posted_again(
    core: App, team, pds, account, db_path, clock, hasher
) -> None:  # type: ignore[no-untyped-def]
    msg = publish(core, team, open_incident(core, team), ["county-sky"])
    (row,) = core.outbox().rows(team["vic"], message_id=msg.id)
    with core.db.write() as conn:
        core.log.record(conn, "outbox", Kind.OUTBOX_CLAIMED, {"rows": [row.id]})
    adapter = make_adapter(core.channels().get("county-sky"), "app password 1")
    first = adapter.deliver(core.outbox().post_for(core.outbox().get(row.id)))  # posted; the receipt is lost
    restarted = App.open(db_path, clock=clock, hasher=hasher)
    try:
        assert restarted.outbox().run_once().reconciled == 1
        (after,) = restarted.outbox().rows(team["vic"], message_id=msg.id)
        assert after.state == "sent" and after.remote_id == first.remote_id
        # Even a blind second send finds the record by its key instead of posting again.
        assert adapter.deliver(core.outbox().post_for(core.outbox().get(row.id))).remote_id == first.remote_id
        assert len(pds.records(account)) == 1
    finally:
        adapter.close()
        restarted.close()


def test_a_wrong_app_password_is_dead_with_the_reason(core: App, team, admin, pds) -> None:  # type: ignore[no-untyped-def]
    handle = f"wrong{uuid.uuid4().hex[:8]}.test"
    pds.create_account(handle, "the right one")
    core.channels().add(
        admin, "bluesky", "wrong-sky", settings=[f"base_url={pds.url}", f"handle={handle}"], secret="not it"
    )
    msg = publish(core, team, open_incident(core, team), ["wrong-sky"])
    core.outbox().run_once()
    (row,) = core.outbox().rows(team["vic"], message_id=msg.id)
    assert row.state == "dead" and "refused" in (row.reason or ""), row.reason


def test_facets_count_bytes_not_characters() -> None:
    text = "Évacuez #MillFlood: https://ready.millcounty.gov/flood."
    found = facets(text)
    raw = text.encode()
    spans = [raw[f.index.byte_start : f.index.byte_end].decode() for f in found]
    assert spans == ["https://ready.millcounty.gov/flood", "#MillFlood"]


PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d4944415478da63f8cfc0f01f0005000201ff2a1c8d7e0000000049454e44ae426082"
)


def test_an_image_goes_with_its_alt_text(core: App, team, pds, account, tmp_path) -> None:  # type: ignore[no-untyped-def]
    image = tmp_path / "map.png"
    image.write_bytes(PNG)
    msg = publish(core, team, open_incident(core, team), ["county-sky"])
    (row,) = core.outbox().rows(team["vic"], message_id=msg.id)
    post = dataclasses.replace(
        core.outbox().post_for(core.outbox().get(row.id)),
        media=({"path": str(image), "alt": "Map of the Mill Creek valley flood zone", "mime": "image/png"},),
    )
    adapter = make_adapter(core.channels().get("county-sky"), "app password 1")
    try:
        adapter.deliver(post)
    finally:
        adapter.close()
    (record,) = pds.records(account)
    (shown,) = record["value"]["embed"]["images"]
    assert shown["alt"] == "Map of the Mill Creek valley flood zone"
    assert shown["image"]["mimeType"] == "image/png" and shown["image"]["size"] == len(PNG)
