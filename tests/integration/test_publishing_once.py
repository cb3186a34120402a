"""Publishing once across a team (issue 16 item 4): a real PostgreSQL hub (tests/support/postgres.py), real SQLite
workstations, and a real local channel (a webhook receiver on 127.0.0.1) that counts what reaches the public.

Two workstations hold the same message and approvals. Until the Ledger trusts another workstation's signed
entries (the merge rules' part), a workstation decides only on its own chain, so the second workstation is given
the first one's history by recording the same events in its own chain (``mirror``); once the merge rules are in,
handing the entries over with ``EventLog.append_received`` gives the same state.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from crisisdesk.app import App
from crisisdesk.domain.clock import FixedClock
from crisisdesk.domain.errors import PermissionDenied
from crisisdesk.domain.events import Kind
from crisisdesk.domain.incidents import Mode
from crisisdesk.domain.roles import Actor, Role
from crisisdesk.services.messages import MessageView
from crisisdesk.services.passwords import Argon2Hasher
from crisisdesk.services.receive import Incoming, Receiver
from crisisdesk.store.db import Database
from crisisdesk.store.hub import Hub, HubUnreachable, parse_hub_url
from crisisdesk.store.hub_claims import HubClaims
from crisisdesk.store.migrations import LATEST_VERSION, MIGRATIONS, OUTBOX_ELSEWHERE_VERSION
from tests.integration.outbox_helpers import PEOPLE
from tests.integration.test_event_log import snapshot
from tests.integration.test_incidents import FLOOD_FACTS
from tests.support.http_servers import ReceiverState, webhook_receiver
from tests.support.postgres import HubDatabase
from tests.support.servers import free_port

HOOK = "county-hook"


@pytest.fixture
def hub(hub_db: HubDatabase) -> HubDatabase:
    """A hub database with the crisisdesk schema, as 'crisisdesk hub init' leaves it."""
    address, _ = parse_hub_url(hub_db.url)
    with Hub.connect(address, hub_db.password) as h:
        h.init_schema("founding-workstation")
    return hub_db


@pytest.fixture
def hook() -> Iterator[tuple[str, ReceiverState]]:
    with webhook_receiver() as served:
        yield served


def claims_table(hub: HubDatabase) -> list[tuple[str, str, bool]]:
    with psycopg.connect(hub.url, password=hub.password, connect_timeout=5) as conn:
        rows = conn.execute("SELECT outbox_row, workstation_id, offline FROM hub_claims ORDER BY claimed_at").fetchall()
    return [(str(r), str(w), bool(o)) for r, w, o in rows]


def join(app: App, hub: HubDatabase) -> None:
    """Configure the hub as 'crisisdesk hub join' does: its URL (no password) in the settings, the password in
    the keyring."""
    address, _ = parse_hub_url(hub.url)
    app.secrets.set_hub_password(address.secret_key, hub.password)
    with app.db.write() as conn:
        conn.execute("INSERT OR REPLACE INTO local_settings (key, value) VALUES ('hub_url', ?)", (hub.url,))


def open_app(path: Path, clock: FixedClock) -> App:
    return App.open(path, create=True, clock=clock, hasher=Argon2Hasher(time_cost=1, memory_cost=1024), any_thread=True)


def first_workstation(path: Path, clock: FixedClock, hook_url: str) -> App:
    """A workstation with a team, a webhook channel and a flood incident."""
    app = open_app(path, clock)
    app.initialise("alice", "correct horse", workstation_name="commander")
    admin = app.people.actor("alice")
    for name, roles in PEOPLE.items():
        app.people.add(admin, name, roles, f"{name} password")
    app.channels().add(admin, "webhook", HOOK, settings=[f"url={hook_url}"], secret="hook key")
    app.incidents().open(app.people.actor("carla"), "flash-flood", Mode.LIVE, facts=FLOOD_FACTS)
    return app


def approved(app: App, channels: list[str] = [HOOK]) -> MessageView:  # noqa: B006 - read only
    """An alert drafted by carla, aimed at ``channels``, submitted and approved by ivan: ready to publish."""
    carla, ivan = app.people.actor("carla"), app.people.actor("ivan")
    incident = app.db.conn.execute("SELECT id FROM incidents ORDER BY rowid DESC LIMIT 1").fetchone()[0]
    messages = app.messages()
    view = messages.draft(carla, incident, "alert")
    view = messages.set_targets(carla, view.id, channels)
    messages.submit(carla, view.id)
    return messages.approve(ivan, view.id, view.content_hash)


def mirror(source: App, target: App) -> None:
    """Record ``source``'s events in ``target``'s own chain (its identity and keys excepted): the same people,
    channels, incident, message and approvals."""
    with target.db.write() as conn:
        for event in list(source.log.events()):
            if not event.kind.startswith(("workstation.", "hub.")):
                target.log.record(conn, event.actor, event.kind, event.payload)


def second_workstation(path: Path, clock: FixedClock, first: App) -> App:
    app = open_app(path, clock)
    app.people.initialise("zed", "correct horse", workstation_name="backup site")
    app.workstation_keys().join(app.people.actor("zed"))
    mirror(first, app)
    # Each holds the other's join (as a sync would bring it): a claim at the hub by a workstation never seen to
    # join is not "published elsewhere" but an alarm.
    for source, target in ((first, app), (app, first)):
        Receiver(target).receive(joined_prefix(source), source="test")
    return app


def joined_prefix(app: App) -> list[Incoming]:
    """A workstation's entries up to and including its ``workstation.joined``."""
    ws = app.log.workstation_id()
    (upto,) = app.db.conn.execute(
        "SELECT seq FROM events WHERE workstation_id = ? AND kind = ? ORDER BY seq LIMIT 1",
        (ws, Kind.WORKSTATION_JOINED),
    ).fetchone()
    rows = app.db.conn.execute(
        "SELECT hash, body, signature FROM events WHERE workstation_id = ? AND seq <= ? ORDER BY seq", (ws, upto)
    ).fetchall()
    return [Incoming(str(h), bytes(b), s) for h, b, s in rows]


def publish(app: App, message_id: str, *, break_glass: bool = False) -> MessageView:
    who = app.people.actor("ivan" if break_glass else "carla")
    return app.messages().publish(
        who, message_id, confirm=f"PUBLISH LIVE {message_id}", break_glass=break_glass, reason="cannot wait"
    )


def publication(app: App, message_id: str) -> dict[str, object]:
    found = [e for e in app.log.events() if e.kind == Kind.MESSAGE_PUBLISHED and e.payload["message"] == message_id]
    assert len(found) == 1
    return dict(found[0].payload)


def row_of(app: App, message_id: str) -> dict[str, object]:
    (row,) = app.outbox().rows(app.people.actor("vic"), message_id=message_id)
    return {"id": row.id, "state": row.state, "reason": row.reason}


def events_of(app: App, kind: str) -> list[dict[str, object]]:
    return [dict(e.payload) for e in app.log.events() if e.kind == kind]


def ws(app: App) -> str:
    found = app.log.workstation_id()
    assert found is not None
    return found


# -- the claims table -------------------------------------------------------------------------------------------


@pytest.fixture
def board(hub: HubDatabase) -> Iterator[HubClaims]:
    address, _ = parse_hub_url(hub.url)
    claims = HubClaims(address, hub.password)
    yield claims
    claims.close()


def test_the_first_claim_wins_and_the_holder_claiming_again_keeps_it(hub: HubDatabase, board: HubClaims) -> None:
    assert board.reachable()
    first = board.claim("m-1", "h" * 64, "acc-1", "ws-a", "ob-1")
    assert (first.workstation_id, first.outbox_row, first.offline) == ("ws-a", "ob-1", False)
    second = board.claim("m-1", "h" * 64, "acc-1", "ws-b", "ob-1", offline=True)
    assert (second.workstation_id, second.offline) == ("ws-a", False)  # the first claim stands, unchanged
    assert board.claim("m-1", "h" * 64, "acc-1", "ws-a", "ob-1").workstation_id == "ws-a"
    # Another account, or another version of the same message, is another claim.
    assert board.claim("m-1", "h" * 64, "acc-2", "ws-b", "ob-2").workstation_id == "ws-b"
    assert board.claim("m-1", "g" * 64, "acc-1", "ws-b", "ob-3").workstation_id == "ws-b"
    held = board.holder("m-1", "h" * 64, "acc-1")
    assert held is not None and held.workstation_id == "ws-a"
    assert board.holder("m-9", "h" * 64, "acc-1") is None
    assert len(claims_table(hub)) == 3


def test_workstations_claiming_at_the_same_moment_get_one_holder(hub: HubDatabase) -> None:
    address, _ = parse_hub_url(hub.url)
    names = [f"ws-{i}" for i in range(8)]
    boards = {name: HubClaims(address, hub.password) for name in names}  # each its own connection
    for board in boards.values():
        assert board.reachable()
    start = threading.Barrier(len(names))
    holders: dict[str, str] = {}

    def claim(name: str) -> None:
        board = boards[name]
        board.holder("m-0", "h" * 64, "acc-1")  # connected before the start, so the claims meet at the hub
        start.wait()
        try:
            holders[name] = board.claim("m-1", "h" * 64, "acc-1", name, "ob-1").workstation_id
        finally:
            board.close()

    threads = [threading.Thread(target=claim, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(holders) == len(names)
    (winner,) = set(holders.values())
    assert winner in names
    assert claims_table(hub) == [("ob-1", winner, False)]


def test_a_hub_that_does_not_answer_is_said_at_once(hub: HubDatabase) -> None:
    address, _ = parse_hub_url(hub.url)
    nobody = parse_hub_url(f"postgresql://hub@127.0.0.1:{free_port()}/{hub.name}")[0]
    for board in (HubClaims(nobody, hub.password), HubClaims(address, "not the password")):
        assert not board.reachable()
        started = time.monotonic()
        with pytest.raises(HubUnreachable, match="not reachable"):
            board.claim("m-1", "h" * 64, "acc-1", "ws-a", "ob-1")
        assert time.monotonic() - started < 2
        board.close()
    assert claims_table(hub) == []


# -- two workstations, one hub ------------------------------------------------------------------------------------


def test_two_workstations_publishing_the_same_version_at_once_send_it_once(
    tmp_path: Path, clock: FixedClock, hub: HubDatabase, hook: tuple[str, ReceiverState]
) -> None:
    url, received = hook
    a = first_workstation(tmp_path / "commander.sqlite3", clock, url)
    try:
        message = approved(a)
        b = second_workstation(tmp_path / "backup.sqlite3", clock, a)
        try:
            for app in (a, b):
                join(app, hub)
            assert publish(a, message.id).content_hash == publish(b, message.id).content_hash
            for app in (a, b):
                assert "offline" not in publication(app, message.id)  # the hub answered at publish
            start = threading.Barrier(2)

            def run(app: App) -> None:
                start.wait()
                app.outbox().run_once()

            threads = [threading.Thread(target=run, args=(app,)) for app in (a, b)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            assert len(received.posts()) == 1  # the public got it once
            ((row, holder, offline),) = claims_table(hub)
            assert offline is False and holder in (ws(a), ws(b))
            winner, loser = (a, b) if holder == ws(a) else (b, a)
            assert row_of(winner, message.id) == {"id": row, "state": "sent", "reason": None}
            assert row_of(loser, message.id) == {
                "id": row,
                "state": "elsewhere",
                "reason": f"published by workstation {'commander' if winner is a else 'backup site'}",
            }
            assert events_of(loser, Kind.OUTBOX_CLAIMED_ELSEWHERE) == [{"row": row, "workstation": holder}]
            assert events_of(loser, Kind.OUTBOX_CLAIMED) == []  # never 'sending' on the loser: not a failure
            (sent,) = events_of(winner, Kind.OUTBOX_SENT)
            assert sent["claim"] == "hub"
            # Nothing is ever retried: more passes on both send nothing more.
            clock.advance(timedelta(hours=1))
            for app in (a, b):
                report = app.outbox().run_once()
                assert not report.busy()
            assert len(received.posts()) == 1
            assert a.audit.verify().ok and b.audit.verify().ok
            for app in (a, b):  # the tables are what the events say
                before = snapshot(app.db.conn)
                app.log.replay()
                assert snapshot(app.db.conn) == before
        finally:
            b.close()
    finally:
        a.close()


def test_the_hub_down_a_workstation_holding_the_approvals_publishes_alone_and_claims_later(
    tmp_path: Path, clock: FixedClock, hub: HubDatabase, hook: tuple[str, ReceiverState]
) -> None:
    url, received = hook
    a = first_workstation(tmp_path / "commander.sqlite3", clock, url)
    try:
        join(a, hub)
        message = approved(a)
        hub.server.stop()
        publish(a, message.id)
        assert publication(a, message.id)["offline"] is True
        report = a.outbox().run_once()
        assert report.sent == 1 and len(received.posts()) == 1
        (sent,) = events_of(a, Kind.OUTBOX_SENT)
        assert sent["claim"] == "none" and "the hub was unreachable" in str(sent["without_claim"])
        row = str(sent["row"])
        assert a.outbox().late_claims() == [row]
        # Still away: nothing registered, and it says why.
        late = a.outbox().register_late_claims()
        assert late.registered == [] and late.waiting
        hub.server.start()
        clock.advance(timedelta(minutes=1))  # past the pause after the hub failed to answer
        # The worker's next pass claims it by itself (the sync loop may call register_late_claims too).
        report = a.outbox().run_once()
        assert report.notes == ["1 send(s) made without the hub are now claimed there"]
        assert claims_table(hub) == [(row, ws(a), True)]
        assert events_of(a, Kind.OUTBOX_CLAIM_REGISTERED) == [{"row": row}]
        assert a.outbox().late_claims() == []
        assert a.outbox().register_late_claims().registered == []
    finally:
        a.close()


def test_the_hub_down_a_row_whose_approvals_are_not_held_waits_for_the_hub(
    tmp_path: Path, clock: FixedClock, hub: HubDatabase, hook: tuple[str, ReceiverState]
) -> None:
    url, received = hook
    a = first_workstation(tmp_path / "commander.sqlite3", clock, url)
    try:
        join(a, hub)
        admin = a.people.actor("alice")
        message = approved(a)
        publish(a, message.id)
        # After the publish, the approver loses the role: the approvals held here no longer satisfy the policy.
        a.people.revoke(admin, "ivan", Role.APPROVER)
        hub.server.stop()
        report = a.outbox().run_once()
        assert report.sent == 0 and received.posts() == []
        state = row_of(a, message.id)
        assert state["state"] == "failed"
        assert "waiting for the hub" in str(state["reason"]) and "needs 1 more approval" in str(state["reason"])
        hub.server.start()
        clock.advance(timedelta(minutes=2))  # past the wait for the hub
        report = a.outbox().run_once()
        # With the hub back, the claim is taken and the row goes as published (the publish checked the policy).
        assert report.sent == 1 and len(received.posts()) == 1
        (sent,) = events_of(a, Kind.OUTBOX_SENT)
        assert sent["claim"] == "hub"
    finally:
        a.close()


def test_break_glass_goes_alone_only_on_a_workstation_without_a_hub(
    tmp_path: Path, clock: FixedClock, hub: HubDatabase, hook: tuple[str, ReceiverState]
) -> None:
    url, received = hook
    a = first_workstation(tmp_path / "commander.sqlite3", clock, url)
    try:
        carla = a.people.actor("carla")
        view = a.messages().draft(carla, approved(a).incident_id, "update")
        view = a.messages().set_targets(carla, view.id, [HOOK])
        a.messages().submit(carla, view.id)
        join(a, hub)
        hub.server.stop()
        publish(a, view.id, break_glass=True)
        assert publication(a, view.id)["offline"] is True
        a.outbox().run_once()
        state = row_of(a, view.id)
        assert state["state"] == "failed" and "published with break glass, without approvals" in str(state["reason"])
        assert received.posts() == []
        # The same workstation on its own (no hub configured): break glass goes, as it always did.
        with a.db.write() as conn:
            conn.execute("DELETE FROM local_settings WHERE key = 'hub_url'")
        clock.advance(timedelta(minutes=2))
        assert a.outbox().run_once().sent == 1 and len(received.posts()) == 1
        (sent,) = events_of(a, Kind.OUTBOX_SENT)
        assert sent["claim"] == "none" and sent["without_claim"] == "no hub is configured"
    finally:
        hub.server.start()
        a.close()


def test_two_workstations_publishing_offline_raise_the_published_twice_alarm(
    tmp_path: Path, clock: FixedClock, hub: HubDatabase, hook: tuple[str, ReceiverState]
) -> None:
    url, received = hook
    a = first_workstation(tmp_path / "commander.sqlite3", clock, url)
    try:
        message = approved(a)
        b = second_workstation(tmp_path / "backup.sqlite3", clock, a)
        try:
            for app in (a, b):
                join(app, hub)
            hub.server.stop()
            for app in (a, b):
                publish(app, message.id)
                assert publication(app, message.id)["offline"] is True
                assert app.outbox().run_once().sent == 1
            assert len(received.posts()) == 2  # what the claim exists to prevent: both went while the hub was away
            hub.server.start()
            clock.advance(timedelta(minutes=1))
            first = a.outbox().register_late_claims()
            second = b.outbox().register_late_claims()
            row = row_of(a, message.id)["id"]
            assert first.registered == [row] and first.twice == []
            assert second.registered == [] and second.twice == [(row, ws(a))]
            assert events_of(b, Kind.OUTBOX_PUBLISHED_TWICE) == [{"row": row, "workstation": ws(a)}]
            assert row_of(b, message.id) == {
                "id": row,
                "state": "sent",
                "reason": "PUBLISHED TWICE: sent by workstation commander and by workstation backup site",
            }
            assert claims_table(hub) == [(row, ws(a), True)]
            assert b.outbox().late_claims() == []  # the alarm is raised once
            before = snapshot(b.db.conn)
            b.log.replay()
            assert snapshot(b.db.conn) == before
        finally:
            b.close()
    finally:
        a.close()


def test_with_a_hub_one_broken_account_never_stops_the_others_and_its_claim_is_kept_for_the_retry(
    tmp_path: Path, clock: FixedClock, hub: HubDatabase, hook: tuple[str, ReceiverState]
) -> None:
    url, received = hook
    a = first_workstation(tmp_path / "commander.sqlite3", clock, url)
    try:
        join(a, hub)
        admin: Actor = a.people.actor("alice")
        a.channels().add(admin, "webhook", "down-hook", settings=["url=http://127.0.0.1:9/hook"], secret="k")
        message = approved(a, [HOOK, "down-hook"])
        publish(a, message.id)
        report = a.outbox().run_once()
        assert report.sent == 1 and report.failed == 1 and len(received.posts()) == 1
        assert {holder for _, holder, _ in claims_table(hub)} == {ws(a)}
        assert len(claims_table(hub)) == 2  # the failed row's claim is held: no other workstation sends it
        clock.advance(timedelta(hours=2))
        report = a.outbox().run_once()
        assert report.failed == 1 and report.elsewhere == 0  # retried under its own claim, still down
    finally:
        a.close()


def test_a_kept_connection_gone_stale_is_replaced_at_once(hub: HubDatabase, board: HubClaims) -> None:
    """The hub restarted between two claims: the first claim after it takes a new connection, not the offline
    rule."""
    assert board.claim("m-1", "h" * 64, "acc-1", "ws-a", "ob-1").workstation_id == "ws-a"
    hub.server.stop()
    with pytest.raises(HubUnreachable):
        board.claim("m-2", "h" * 64, "acc-1", "ws-a", "ob-2")
    hub.server.start()
    assert board.claim("m-1", "h" * 64, "acc-1", "ws-b", "ob-1").workstation_id == "ws-a"
    hub.server.stop()
    hub.server.start()  # the connection kept from the last claim is now stale
    assert board.claim("m-3", "h" * 64, "acc-1", "ws-b", "ob-3").workstation_id == "ws-b"
    assert len(claims_table(hub)) == 2


def hand_over(source: App, target: App) -> None:
    """``source``'s own entries that ``target`` lacks, appended as sync hands them over (with their signatures)."""
    remote = ws(source)
    rows = source.db.conn.execute(
        "SELECT hash, body, signature FROM events WHERE workstation_id = ? AND seq > ? ORDER BY seq",
        (remote, target.log.last_seq(remote)),
    ).fetchall()
    with target.db.write() as conn:
        target.log.append_received(
            conn, [(h, bytes(b)) for h, b, _ in rows], signatures={h: s for h, _, s in rows if s}
        )


def test_a_worker_leaves_another_workstation_s_publication_to_it(
    tmp_path: Path, clock: FixedClock, hook: tuple[str, ReceiverState]
) -> None:
    """Another workstation's publication, once received, is that workstation's to send (even with no hub, even
    offline): this workstation's worker neither sends its rows nor marks them dead; the publisher's own sending
    events, when they arrive, show the row as sent here too."""
    url, received = hook
    a = first_workstation(tmp_path / "commander.sqlite3", clock, url)
    try:
        message = approved(a)
        publish(a, message.id)
        b = open_app(tmp_path / "backup.sqlite3", clock)
        try:
            b.people.initialise("zed", "correct horse", workstation_name="backup site")
            hand_over(a, b)
            (row,) = b.db.conn.execute("SELECT id, state FROM outbox").fetchall()
            assert row[1] == "queued"
            before = b.log.count()
            report = b.outbox().run_once()
            assert not report.busy() and b.log.count() == before  # nothing sent, nothing recorded
            assert received.posts() == []
            assert a.outbox().run_once().sent == 1
            hand_over(a, b)
            assert b.db.conn.execute("SELECT id, state FROM outbox").fetchall() == [(row[0], "sent")]
            assert not b.outbox().run_once().busy()
            assert len(received.posts()) == 1
        finally:
            b.close()
    finally:
        a.close()


OUTBOX_14 = """CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    pos INTEGER NOT NULL UNIQUE,
    message_id TEXT NOT NULL REFERENCES messages (id),
    version INTEGER NOT NULL,
    content_hash TEXT NOT NULL,
    account_id TEXT NOT NULL REFERENCES channel_accounts (id),
    idem_key TEXT NOT NULL UNIQUE,
    mode TEXT NOT NULL CHECK (mode IN ('live', 'exercise')),
    state TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'failed', 'dead', 'unknown')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_try_at TEXT,
    reason TEXT,
    remote_id TEXT,
    remote_url TEXT,
    sent_at TEXT,
    retract_state TEXT CHECK (retract_state IN ('requested', 'retracted', 'impossible', 'failed')),
    retract_reason TEXT,
    queued_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    first_try_at TEXT)"""


def test_an_outbox_from_before_teams_is_migrated_whole_and_takes_rows_published_elsewhere(
    tmp_path: Path, clock: FixedClock, hook: tuple[str, ReceiverState]
) -> None:
    url, _ = hook
    path = tmp_path / "commander.sqlite3"
    a = first_workstation(path, clock, url)
    message = approved(a, [HOOK, "public-page"])
    publish(a, message.id)
    assert a.outbox().run_once().sent == 2
    rows = a.db.conn.execute("SELECT rowid, * FROM outbox ORDER BY rowid").fetchall()
    a.close()
    # The file as schema 14 left it: the outbox table with its old CHECK.
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute("BEGIN")
    conn.execute("ALTER TABLE outbox RENAME TO outbox_15")
    conn.execute(OUTBOX_14)
    conn.execute("INSERT INTO outbox SELECT * FROM outbox_15")
    conn.execute("DROP TABLE outbox_15")
    for sql in ("outbox_account_pos ON outbox (account_id, pos)", "outbox_state ON outbox (state)",
                "outbox_message ON outbox (message_id)"):  # fmt: skip
        conn.execute(f"CREATE INDEX {sql}")
    conn.execute(f"PRAGMA user_version = {OUTBOX_ELSEWHERE_VERSION - 1}")
    conn.execute("COMMIT")
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        conn.execute("UPDATE outbox SET state = 'elsewhere'")
    conn.close()
    # The migration runs as it does on a workstation's file; the file already has what any later migration adds.
    upto = next(i for i, m in enumerate(MIGRATIONS) if m.version == OUTBOX_ELSEWHERE_VERSION)
    Database.open(path, migrations=MIGRATIONS[: upto + 1]).close()
    conn = sqlite3.connect(path, isolation_level=None)
    assert conn.execute("PRAGMA user_version").fetchone() == (OUTBOX_ELSEWHERE_VERSION,)
    conn.execute(f"PRAGMA user_version = {LATEST_VERSION}")
    conn.close()
    a = open_app(path, clock)
    try:
        assert a.db.conn.execute("SELECT rowid, * FROM outbox ORDER BY rowid").fetchall() == rows
        assert {r[1] for r in a.db.conn.execute("PRAGMA index_list(outbox)")} >= {
            "outbox_account_pos",
            "outbox_state",
            "outbox_message",
        }
        with a.db.write() as conn:
            conn.execute("UPDATE outbox SET state = 'elsewhere' WHERE rowid = ?", (rows[0][0],))
            conn.execute("UPDATE outbox SET state = 'sent' WHERE rowid = ?", (rows[0][0],))
        assert a.audit.verify().ok
    finally:
        a.close()


def test_without_the_approvals_held_nothing_goes_alone(
    tmp_path: Path, clock: FixedClock, hub: HubDatabase, hook: tuple[str, ReceiverState]
) -> None:
    """The hub down: a version not approved here cannot be published at all; and on a workstation with no hub, a
    published row whose approvals no longer satisfy the policy (the approver lost the role) is refused for a
    person rather than sent."""
    url, received = hook
    a = first_workstation(tmp_path / "commander.sqlite3", clock, url)
    try:
        carla = a.people.actor("carla")
        incident = approved(a).incident_id
        draft = a.messages().draft(carla, incident, "update")
        draft = a.messages().set_targets(carla, draft.id, [HOOK])
        a.messages().submit(carla, draft.id)
        join(a, hub)
        hub.server.stop()
        with pytest.raises(PermissionDenied, match="cannot be published: needs 1 more approval"):
            publish(a, draft.id)
        assert a.db.conn.execute("SELECT count(*) FROM outbox").fetchone() == (0,)
        hub.server.start()
        with a.db.write() as conn:
            conn.execute("DELETE FROM local_settings WHERE key = 'hub_url'")
        message = approved(a)
        publish(a, message.id)
        assert "offline" not in publication(a, message.id)  # no hub: nothing to be offline from
        a.people.revoke(a.people.actor("alice"), "ivan", Role.APPROVER)
        report = a.outbox().run_once()
        assert report.dead == 1 and report.sent == 0 and received.posts() == []
        state = row_of(a, message.id)
        assert state["state"] == "dead"
        assert str(state["reason"]).startswith("refused: it cannot go without the hub's claim: needs 1 more approval")
    finally:
        a.close()
