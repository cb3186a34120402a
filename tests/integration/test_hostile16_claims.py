"""Hostile tests (issue 16): publishing once through the hub's claims, against a team member who writes into the
hub's PostgreSQL directly. Real PostgreSQL, a real webhook receiver on 127.0.0.1 counting what reaches the public."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import psycopg

from crisisdesk.domain.clock import FixedClock
from crisisdesk.domain.events import Kind
from tests.integration.test_publishing_once import (
    approved,
    events_of,
    first_workstation,
    hook,
    hub,
    join,
    publication,
    publish,
    row_of,
)
from tests.support.http_servers import ReceiverState
from tests.support.postgres import HubDatabase

__all__ = ["hook", "hub"]  # fixtures


def test_a_claim_put_in_the_hub_by_hand_for_a_workstation_that_does_not_exist_does_not_silence_an_alert(
    tmp_path: Path, clock: FixedClock, hub: HubDatabase, hook: tuple[str, ReceiverState]
) -> None:
    url, received = hook
    a = first_workstation(tmp_path / "commander.sqlite3", clock, url)
    try:
        join(a, hub)
        message = approved(a)
        account = a.db.conn.execute("SELECT id FROM channel_accounts WHERE name = 'county-hook'").fetchone()[0]
        with psycopg.connect(hub.url, password=hub.password, connect_timeout=5, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO hub_claims (message_id, content_hash, account_id, workstation_id, outbox_row) "
                "VALUES (%s, %s, %s, 'ghost-workstation', 'ghost-row')",
                (message.id, message.content_hash, account),
            )
        publish(a, message.id)
        assert not publication(a, message.id).get("offline")  # the hub answered
        a.outbox().run_once()
        # Not "published elsewhere": the row waits for a person, saying who holds the claim and what to do.
        assert received.posts() == []
        row = row_of(a, message.id)
        assert row["state"] == "failed" and "ghost-workstation" in str(row["reason"]), row
        assert "never joined" in str(row["reason"]) and "admin" in str(row["reason"])
        alarm = [{"row": row["id"], "workstation": "ghost-workstation"}]
        assert events_of(a, Kind.OUTBOX_CLAIM_UNKNOWN_HOLDER) == alarm
        clock.advance(timedelta(hours=1))
        a.outbox().run_once()
        assert received.posts() == [] and events_of(a, Kind.OUTBOX_CLAIM_UNKNOWN_HOLDER) == alarm  # alarmed once
        # The admin deletes the made-up claim: the next try claims it here and the alert reaches the public.
        with psycopg.connect(hub.url, password=hub.password, connect_timeout=5, autocommit=True) as conn:
            conn.execute("DELETE FROM hub_claims WHERE workstation_id = 'ghost-workstation'")
        clock.advance(timedelta(hours=1))
        a.outbox().run_once()
        assert len(received.posts()) == 1, "a claim by a workstation no one knows kept the alert from the public"
        assert row_of(a, message.id)["state"] == "sent"
    finally:
        a.close()
