"""Sync through a real PostgreSQL hub, in one process: three workstations' SQLite files found, join, push, pull,
converge; the password's place; a hub that is down, not set up, or newer; equivocation raised everywhere."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import keyring
import psycopg
import pytest

from crisisdesk.app import App
from crisisdesk.domain.clock import FixedClock
from crisisdesk.domain.errors import UserError
from crisisdesk.domain.events import Kind
from crisisdesk.services.passwords import Argon2Hasher
from crisisdesk.store.hub import HubNotReady, HubUnreachable, parse_hub_url
from crisisdesk.store.hub_schema import HUB_SCHEMA_VERSION
from tests.integration.sync_helpers import PASSWORD, copy_file, note, notes, ws_of
from tests.support.postgres import HubDatabase

ADMIN = "alice"


def clock(minutes: int = 0) -> FixedClock:
    return FixedClock(datetime(2026, 11, 22, 9, 0, tzinfo=UTC) + timedelta(minutes=minutes))


def hasher() -> Argon2Hasher:
    return Argon2Hasher(time_cost=1, memory_cost=1024)


def founder(path: Path, hub: HubDatabase) -> App:
    app = App.open(path, create=True, clock=clock(), hasher=hasher())
    app.initialise(ADMIN, PASSWORD, workstation_name="EOC desk 1")
    app.sync().found(app.people.actor(ADMIN), hub.url_with_password)
    return app


def joiner(path: Path, hub: HubDatabase, name: str, minutes: int) -> App:
    app = App.open(path, create=True, clock=clock(minutes), hasher=hasher())
    app.sync().join(hub.url, name, password=hub.password)
    return app


def hashes(app: App) -> set[str]:
    return {str(h) for (h,) in app.db.conn.execute("SELECT hash FROM events")}


def test_three_workstations_converge_through_the_hub(tmp_path: Path, hub_db: HubDatabase) -> None:
    a = founder(tmp_path / "a.sqlite3", hub_db)
    b = joiner(tmp_path / "b.sqlite3", hub_db, "EOC desk 2", 1)
    c = joiner(tmp_path / "c.sqlite3", hub_db, "Backup site", 2)
    # A joined workstation holds the founder's log (its admin, its channels), and no admin or channel of its own.
    assert hashes(a) <= hashes(b)
    assert [r["name"] for r in b.db.rows("users")] == [ADMIN]
    own_b = b.db.conn.execute("SELECT kind FROM events WHERE workstation_id = ? ORDER BY seq", (ws_of(b),)).fetchall()
    assert [k for (k,) in own_b] == [Kind.WORKSTATION_CREATED, Kind.WORKSTATION_JOINED]

    for i, app in enumerate((a, b, c)):
        app.clock.advance(timedelta(minutes=10))  # type: ignore[attr-defined]
        notes(app, 25, prefix=f"ws{i}")
    reports = [app.sync().sync_once() for app in (a, b, c)]
    assert [r.pushed for r in reports] == [25, 25, 25]
    for app in (a, b, c):
        app.sync().sync_once()
    assert hashes(a) == hashes(b) == hashes(c)
    assert len(hashes(a)) == a.log.count() == b.log.count() == c.log.count()
    # The same state, whatever order each workstation received the entries in.
    tables = ("users", "workstations", "channel_accounts")
    for table in tables:
        assert (
            sorted(map(str, a.db.rows(table)))
            == sorted(map(str, b.db.rows(table)))
            == sorted(map(str, c.db.rows(table)))
        )
    for app in (a, b, c):
        status = app.sync().status()
        assert status.connected and status.to_push == 0 and status.to_apply == 0, status
        assert status.equivocations == 0 and status.last_error is None
        verified = app.audit.verify()
        assert verified.ok, verified.lines()
        app.close()


def test_the_password_is_in_the_keyring_never_in_sqlite(tmp_path: Path, hub_db: HubDatabase) -> None:
    a = founder(tmp_path / "a.sqlite3", hub_db)
    address, _ = parse_hub_url(hub_db.url)
    assert keyring.get_password("crisisdesk", f"hub-password:{address.secret_key}") == hub_db.password
    assert a.db.get_setting("hub_url") == hub_db.url
    a.close()
    for name in ("a.sqlite3", "a.sqlite3-wal"):
        file = tmp_path / name
        if file.exists():
            assert hub_db.password.encode() not in file.read_bytes()
    # A later sync finds the password in the keyring alone.
    again = App.open(tmp_path / "a.sqlite3", clock=clock(5), hasher=hasher())
    note(again, "after a restart")
    assert again.sync().sync_once().pushed == 1
    again.close()


def test_a_wrong_password_a_bad_url_and_a_missing_schema_are_one_line_errors(
    tmp_path: Path, hub_db: HubDatabase
) -> None:
    app = App.open(tmp_path / "a.sqlite3", create=True, clock=clock(), hasher=hasher())
    app.initialise(ADMIN, PASSWORD, workstation_name="EOC desk 1")
    alice = app.people.actor(ADMIN)
    with pytest.raises(HubUnreachable, match="password authentication failed") as wrong:
        app.sync().found(alice, hub_db.server.url(hub_db.name, password="not it"))
    assert "not it" not in str(wrong.value)
    for url, why in (
        ("http://hub/x", "must start with postgresql://"),
        ("postgresql://hub@/x", "names no host"),
        ("postgresql://127.0.0.1/x", "names no user"),
        ("postgresql://u@h:99999/x", "not valid"),
        ("postgresql://u@h/", "names no database"),
        ("postgresql://u@h/x?password=secret", "not as \\?password="),
    ):
        with pytest.raises(UserError, match=why):
            app.sync().found(alice, url)
    assert app.db.get_setting("hub_url") is None
    # Joining a database nobody founded: the hub answers, but holds no team.
    fresh = App.open(tmp_path / "b.sqlite3", create=True, clock=clock(), hasher=hasher())
    with pytest.raises(HubNotReady, match="not set up: run 'crisisdesk hub init"):
        fresh.sync().join(hub_db.url_with_password, "EOC desk 2")
    assert fresh.log.workstation_id() is None  # nothing was created
    fresh.close()
    app.close()


def test_a_hub_from_a_newer_crisisdesk_is_refused(tmp_path: Path, hub_db: HubDatabase) -> None:
    a = founder(tmp_path / "a.sqlite3", hub_db)
    with psycopg.connect(hub_db.url, password=hub_db.password, autocommit=True) as conn:
        conn.execute("UPDATE hub_meta SET value = %s WHERE key = 'schema_version'", (str(HUB_SCHEMA_VERSION + 1),))
    with pytest.raises(HubNotReady, match="newer crisisdesk"):
        a.sync().sync_once()
    a.close()


def test_a_second_founder_is_told_to_join(tmp_path: Path, hub_db: HubDatabase) -> None:
    founder(tmp_path / "a.sqlite3", hub_db).close()
    other = App.open(tmp_path / "b.sqlite3", create=True, clock=clock(), hasher=hasher())
    other.initialise("bob", PASSWORD, workstation_name="Elsewhere")
    with pytest.raises(HubNotReady, match="already holds the team founded by workstation"):
        other.sync().found(other.people.actor("bob"), hub_db.url_with_password)
    other.close()


def test_work_goes_on_while_the_hub_is_down(tmp_path: Path, hub_db: HubDatabase) -> None:
    a = founder(tmp_path / "a.sqlite3", hub_db)
    b = joiner(tmp_path / "b.sqlite3", hub_db, "EOC desk 2", 1)
    hub_db.server.stop()
    notes(a, 10, prefix="offline a")
    notes(b, 7, prefix="offline b")
    with pytest.raises(HubUnreachable, match="not reachable"):
        a.sync().sync_once()
    status = a.sync().status()
    assert not status.connected and status.to_push == 10
    assert status.last_error and "not reachable" in status.last_error
    hub_db.server.start()
    assert a.sync().sync_once().pushed == 10
    assert b.sync().sync_once().applied == 10
    a.sync().sync_once()
    assert hashes(a) == hashes(b)
    assert a.sync().status().last_error is None
    a.close()
    b.close()


def fork(path: Path, ws: str, seq: int) -> None:
    """What someone holding a copy of a workstation's file does to make a second version of entry ``seq``: drop
    the append-only triggers and write a different last entry, sealed and signed like the real one would be, but
    for a different payload (the workstation's key is in the keyring the test shares)."""
    from crisisdesk.credentials import KeyringSecrets
    from crisisdesk.domain.events import seal
    from crisisdesk.services.workstation_keys import find_signer

    conn = sqlite3.connect(path, isolation_level=None)
    try:
        for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'events'"
        ).fetchall():
            conn.execute(f"DROP TRIGGER {name}")
        import orjson

        (body,) = conn.execute("SELECT body FROM events WHERE workstation_id = ? AND seq = ?", (ws, seq)).fetchone()
        data = orjson.loads(body)
        event = seal(
            workstation_id=ws,
            seq=seq,
            at=data["at"],
            actor=data["actor"],
            kind=data["kind"],
            payload={**data["payload"], "note": "the other version"},
            prev_hash=data["prev"],
        )
        signer = find_signer(KeyringSecrets(), ws)
        assert signer is not None
        conn.execute(
            "UPDATE events SET body = ?, hash = ?, signature = ? WHERE workstation_id = ? AND seq = ?",
            (event.body, event.hash, signer.sign(event.hash), ws, seq),
        )
    finally:
        conn.close()


def test_equivocation_is_raised_on_every_workstation_and_never_merged(tmp_path: Path, hub_db: HubDatabase) -> None:
    a = founder(tmp_path / "a.sqlite3", hub_db)
    b = joiner(tmp_path / "b.sqlite3", hub_db, "EOC desk 2", 1)
    c = joiner(tmp_path / "c.sqlite3", hub_db, "Backup site", 2)
    ws_b = ws_of(b)
    note(b, "the real version")
    seq = b.log.last_seq(ws_b)
    real_hash = b.log.head_entry(ws_b, seq)
    assert real_hash is not None
    # A copy of b's file, taken now, gets a second version of that entry: two b's exist from here on.
    twin_path = copy_file(b, tmp_path / "b-twin.sqlite3")
    fork(twin_path, ws_b, seq)
    b.sync().sync_once()  # the real one reaches the hub first
    twin = App.open(twin_path, clock=clock(3), hasher=hasher())
    got = twin.sync().sync_once()
    assert got.equivocations >= 1, got
    for app in (a, b, c, twin):
        app.sync().sync_once()
    for app in (a, b, c, twin):
        alarms = app.db.conn.execute(
            "SELECT json_extract(body, '$.payload.workstation'), json_extract(body, '$.payload.seq') FROM events "
            "WHERE kind = ?",
            (Kind.SYNC_EQUIVOCATION,),
        ).fetchall()
        assert (ws_b, seq) in alarms, (app.db.path, alarms)
        assert app.sync().status().equivocations >= 1
    # Never merged: the hub keeps the first version; a and c hold it, not the other.
    with psycopg.connect(hub_db.url, password=hub_db.password) as conn:
        held = conn.execute(
            "SELECT hash FROM hub_events WHERE workstation_id = %s AND seq = %s", (ws_b, seq)
        ).fetchall()
        offered = conn.execute("SELECT offered_hash FROM hub_equivocations").fetchall()
    assert held == [(real_hash[0],)]
    assert len(offered) == 1 and offered[0][0] != real_hash[0]
    for app in (a, c):
        assert app.log.head_entry(ws_b, seq) == real_hash
    for app in (a, b, c, twin):
        app.close()


def test_audit_verify_holds_the_log_against_the_hub(tmp_path: Path, hub_db: HubDatabase) -> None:
    a = founder(tmp_path / "a.sqlite3", hub_db)
    notes(a, 5, prefix="kept")
    a.sync().sync_once()
    # A backup taken now, then more work that reaches the hub: the backup restored has lost its tail.
    backup = copy_file(a, tmp_path / "restored.sqlite3")
    notes(a, 3, prefix="lost")
    a.sync().sync_once()
    a.close()
    restored = App.open(backup, clock=clock(30), hasher=hasher())
    report = restored.audit.verify()
    assert not report.ok
    lost = [f for f in report.peers if f.kind == "lost_tail"]
    assert lost and lost[0].source == f"hub {hub_db.url}", report.lines()
    assert any("this log lost its tail" in line and hub_db.url in line for line in report.lines())
    # The restored log must not push over what the hub holds, nor take its own lost entries back.
    got = restored.sync().sync_once()
    assert got.pushed == 0 and got.applied == 0
    restored.close()

    # The hub down: verify says so in one line and goes on with the local evidence (peer_heads).
    hub_db.server.stop()
    restored = App.open(backup, clock=clock(31), hasher=hasher())
    report = restored.audit.verify()
    unreachable = [line for line in report.lines() if line.startswith("hub not reachable: ")]
    assert len(unreachable) == 1 and unreachable[0].endswith("(checked against the local evidence only)")
    assert hub_db.password not in "\n".join(report.lines())
    assert any(f.kind == "lost_tail" for f in report.peers), report.lines()  # from what the hub showed before
    restored.close()


def test_a_revoked_workstation_is_refused_while_the_others_go_on(tmp_path: Path, hub_db: HubDatabase) -> None:
    a = founder(tmp_path / "a.sqlite3", hub_db)
    b = joiner(tmp_path / "b.sqlite3", hub_db, "Stolen laptop", 1)
    c = joiner(tmp_path / "c.sqlite3", hub_db, "Backup site", 2)
    for app in (a, b, c):
        app.sync().sync_once()
    ws_b = ws_of(b)
    (key,) = [k.key for k in a.workstation_keys().declared() if k.workstation == ws_b]
    a.clock.advance(timedelta(hours=1))  # type: ignore[attr-defined]
    a.workstation_keys().revoke(a.people.actor(ADMIN), ws_b, key, "laptop stolen")
    a.sync().sync_once()
    # The laptop goes on writing with its revoked key, hours later; the backup site writes too.
    b.clock.advance(timedelta(hours=3))  # type: ignore[attr-defined]
    stolen = note(b, "written with a revoked key")
    c.clock.advance(timedelta(hours=3))  # type: ignore[attr-defined]
    fine = note(c, "the backup site's work")
    b.sync().sync_once()
    c.sync().sync_once()
    got = a.sync().sync_once()
    assert ws_b in got.refused and "revoked" in got.refused[ws_b], got
    assert a.log.head_entry(ws_b, stolen.seq) is None  # never applied
    assert a.log.head_entry(ws_of(c), fine.seq) == (fine.hash, fine.body)  # the others' entries still apply
    # The cursor stays before the refused entry: it is read again, and refused again, at every sync.
    cursor = int(a.db.get_setting("hub_cursor") or 0)
    again = a.sync().sync_once()
    assert ws_b in again.refused and int(a.db.get_setting("hub_cursor") or 0) == cursor
    assert a.audit.verify().ok
    for app in (a, b, c):
        app.close()


def test_entries_carried_by_a_bundle_are_relayed_through_the_hub(tmp_path: Path, hub_db: HubDatabase) -> None:
    """A field site that joined the team goes off the network; its work reaches the hub in a bundle imported by
    a connected workstation, which pushes it on; when the site is back, the hub already has its entries."""
    from crisisdesk.services.bundles import BundleService

    a = founder(tmp_path / "a.sqlite3", hub_db)
    b = joiner(tmp_path / "b.sqlite3", hub_db, "EOC desk 2", 1)
    field = joiner(tmp_path / "field.sqlite3", hub_db, "Field site", 2)
    field.clock.advance(timedelta(hours=2))  # type: ignore[attr-defined]
    notes(field, 12, prefix="field")
    bundle = tmp_path / "field.bundle"
    with bundle.open("wb") as out:
        BundleService(field).export(out, BundleService(b).cursor())
    BundleService(b).import_bytes(bundle.read_bytes())
    # Relayed: the field site's 12 entries, pushed by b, with b's own record of the import.
    assert b.sync().sync_once().pushed == 12 + 1
    a.sync().sync_once()
    ws_field = ws_of(field)
    assert a.log.last_seq(ws_field) == field.log.last_seq(ws_field)
    with psycopg.connect(hub_db.url, password=hub_db.password) as conn:
        relayed = conn.execute(
            "SELECT DISTINCT pushed_by FROM hub_events WHERE workstation_id = %s AND seq > 2", (ws_field,)
        ).fetchall()
    assert relayed == [(ws_of(b),)]
    got = field.sync().sync_once()  # back on the network: nothing of its own left to push
    assert got.pushed == 0
    for app in (a, b):
        app.sync().sync_once()
    assert hashes(a) == hashes(b) == hashes(field)
    for app in (a, b, field):
        assert app.audit.verify().ok
        app.close()


def test_the_background_worker_syncs_a_commit_at_once_and_stops(tmp_path: Path, hub_db: HubDatabase) -> None:
    """SyncWorker, as the console runs it: its own connection in its own thread, woken by the hub's notification
    for the others' work and by this workstation's commits (EventLog.on_head) for its own."""
    from crisisdesk.domain.errors import CrisisdeskError
    from crisisdesk.services.sync import SyncReport, SyncWorker
    from tests.support.wait import wait_until

    a = founder(tmp_path / "a.sqlite3", hub_db)
    b = joiner(tmp_path / "b.sqlite3", hub_db, "EOC desk 2", 1)
    reports: list[SyncReport | CrisisdeskError] = []
    worker = SyncWorker(lambda: App.open(b.db.path, hasher=hasher()).sync(), reports.append)
    worker.start()
    try:
        wait_until(lambda: reports, 10, "the worker's first sync")
        entry = note(a, "from desk 1")
        a.sync().sync_once()  # a pushes; the hub notifies b's worker
        wait_until(lambda: b.log.head_entry(ws_of(a), entry.seq), 10, "the entry applied on desk 2")
        mine = note(b, "from desk 2")  # another connection to b's file: the worker notices the commit
        wait_until(lambda: a.sync().sync_once().applied or a.log.head_entry(ws_of(b), mine.seq), 10, "desk 2's push")
        assert a.log.head_entry(ws_of(b), mine.seq) == (mine.hash, mine.body)
    finally:
        worker.stop()
    assert worker.error is None
    assert not any(isinstance(r, CrisisdeskError) for r in reports), reports
    a.close()
    b.close()
