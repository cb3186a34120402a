"""Hostile tests (issue 16): publishing once through the hub's claims, against a team member who writes into the
hub's PostgreSQL directly. Real PostgreSQL, a real webhook receiver on 127.0.0.1 counting what reaches the public."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from crisisdesk.domain.clock import FixedClock
from tests.integration.test_publishing_once import approved, first_workstation, hook, hub, join, publication, publish
from tests.support.http_servers import ReceiverState
from tests.support.postgres import HubDatabase

__all__ = ["hook", "hub"]  # fixtures


@pytest.mark.xfail(
    strict=True,
    reason="hole: services/outbox.py takes any hub_claims row as 'published by workstation X' and never sends; a "
    "row inserted by hand for a workstation that does not exist (or never publishes) silences a real alert for "
    "ever, with the console saying it went out (fix: a claim held by a workstation this log has never seen join, "
    "or whose holder's outbox.sent does not follow within a while, is an alarm, and the row is sent or waits for a "
    "person, never marked published)",
)
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
        assert len(received.posts()) == 1, "a claim by a workstation no one knows kept the alert from the public"
    finally:
        a.close()
