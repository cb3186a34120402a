"""Publishing once across a real team: the founding workstation and one that joined through the hub (sync service,
merge rules and claims together), a real PostgreSQL and a webhook receiver on 127.0.0.1 counting deliveries.

The approval is given on the commander's workstation and reaches the backup site through the hub; both then
publish the same version at once, and the public gets it once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from crisisdesk.app import App
from crisisdesk.domain.clock import FixedClock
from crisisdesk.domain.events import Kind
from crisisdesk.domain.incidents import Mode
from tests.integration.outbox_helpers import PEOPLE
from tests.integration.test_incidents import FLOOD_FACTS
from tests.integration.test_publishing_once import (
    HOOK,
    approved,
    claims_table,
    events_of,
    open_app,
    publication,
    publish,
    row_of,
    ws,
)
from tests.support.http_servers import ReceiverState, webhook_receiver
from tests.support.postgres import HubDatabase


@pytest.fixture
def hook() -> Iterator[tuple[str, ReceiverState]]:
    with webhook_receiver() as served:
        yield served


def commander(path: Path, clock: FixedClock, hook_url: str, hub: HubDatabase) -> App:
    app = open_app(path, clock)
    app.initialise("alice", "correct horse", workstation_name="commander")
    admin = app.people.actor("alice")
    for name, roles in PEOPLE.items():
        app.people.add(admin, name, roles, f"{name} password")
    app.channels().add(admin, "webhook", HOOK, settings=[f"url={hook_url}"], secret="hook key")
    app.incidents().open(app.people.actor("carla"), "flash-flood", Mode.LIVE, facts=FLOOD_FACTS)
    app.sync().found(admin, hub.url_with_password)
    return app


def test_an_approval_given_on_one_workstation_and_a_publish_on_two_goes_out_once(
    tmp_path: Path, clock: FixedClock, hub_db: HubDatabase, hook: tuple[str, ReceiverState]
) -> None:
    url, received = hook
    a = commander(tmp_path / "commander.sqlite3", clock, url, hub_db)
    b = open_app(tmp_path / "backup.sqlite3", clock)
    try:
        b.sync().join(hub_db.url_with_password, "backup site")
        message = approved(a)  # drafted by carla and approved by ivan, on the commander's workstation
        a.sync().sync_once()
        b.sync().sync_once()
        seen = b.messages().show(b.people.actor("carla"), message.id)
        assert seen.content_hash == message.content_hash and seen.verdict.ok  # the approval, held on b too
        for app in (a, b):
            publish(app, message.id)
            assert "offline" not in publication(app, message.id)
        start = threading.Barrier(2)

        def run(app: App) -> None:
            start.wait()
            app.outbox().run_once()

        threads = [threading.Thread(target=run, args=(app,)) for app in (a, b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert len(received.posts()) == 1
        ((row, holder, _),) = claims_table(hub_db)
        winner, loser = (a, b) if holder == ws(a) else (b, a)
        assert row_of(winner, message.id)["state"] == "sent"
        assert row_of(loser, message.id)["state"] == "elsewhere"
        assert events_of(loser, Kind.OUTBOX_CLAIMED_ELSEWHERE) == [{"row": row, "workstation": holder}]
        # The team converges: each learns the other's events, and nothing more is sent.
        for _ in range(2):
            a.sync().sync_once()
            b.sync().sync_once()
        clock.advance(timedelta(hours=1))
        for app in (a, b):
            app.outbox().run_once()
        assert len(received.posts()) == 1
        assert row_of(a, message.id)["state"] == row_of(b, message.id)["state"] == "sent"
        assert a.audit.verify().ok and b.audit.verify().ok
    finally:
        b.close()
        a.close()
