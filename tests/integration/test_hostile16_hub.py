"""Hostile tests (issue 16): a team member with the hub's password writes into PostgreSQL directly (rows by hand,
a hub restored from an older backup). Real PostgreSQL (tests/support/postgres.py), real workstation files."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import orjson
import pytest

from crisisdesk.app import App
from crisisdesk.domain.events import seal
from tests.integration.sync_helpers import note, ws_of
from tests.integration.test_hub_sync import founder, hashes, joiner
from tests.support.postgres import HubDatabase


def hub_sql(hub: HubDatabase, sql: str) -> None:
    hub.server.admin(sql, hub.name)


def hub_equivocations(hub: HubDatabase) -> int:
    import psycopg

    with psycopg.connect(hub.server.admin_url(hub.name), autocommit=True, connect_timeout=5) as conn:
        row = conn.execute("SELECT count(*) FROM hub_equivocations").fetchone()
    return int(row[0]) if row else -1


def last_entry(app: App) -> tuple[int, str, str]:
    row = app.db.conn.execute(
        "SELECT seq, hash, body FROM events WHERE workstation_id = ? ORDER BY seq DESC LIMIT 1", (ws_of(app),)
    ).fetchone()
    return int(row[0]), str(row[1]), str(orjson.loads(row[2])["at"])


def test_an_unsigned_row_in_this_workstation_s_name_at_the_hub_does_not_fail_its_audit(
    tmp_path: Path, hub_db: HubDatabase
) -> None:
    """Someone inserts into hub_events an entry that continues workstation A's chain, unsigned. A must not take it
    as proof that its own log lost its tail (its audit would fail for ever), and the others must not apply it."""
    a = founder(tmp_path / "a.sqlite3", hub_db)
    b = joiner(tmp_path / "b.sqlite3", hub_db, "EOC desk 2", 1)
    try:
        a.sync().sync_once()
        seq, prev, at = last_entry(a)
        fake = seal(
            workstation_id=ws_of(a),
            seq=seq + 1,
            at=at,
            actor="alice",
            kind="note.added",
            payload={"note": "I never wrote this"},
            prev_hash=prev,
        )
        body = fake.body.hex()
        hub_sql(
            hub_db,
            "INSERT INTO hub_events (workstation_id, seq, hash, body, signature, pushed_by) "
            f"VALUES ('{ws_of(a)}', {seq + 1}, '{fake.hash}', '\\x{body}'::bytea, NULL, 'mallory')",
        )
        a.sync().sync_once()
        b.sync().sync_once()
        assert fake.hash not in hashes(b)
        verified = a.audit.verify()
        assert verified.ok, verified.describe()
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize(
    ("row", "what"),
    [
        ("'{ws}', {seq}, repeat('0', 64), '\\x00ff'::bytea, NULL", "garbage body"),
        ("'{ws}', {seq}, '{hash}', '\\x{body}'::bytea, 'nokey.AAAA'", "a signature by no key"),
        ("'someone-else', {seq}, '{hash}', '\\x{body}'::bytea, NULL", "row names another workstation than its body"),
        ("'{ws}', 999999999999, '{hash}', '\\x{body}'::bytea, NULL", "row's seq is not its body's"),
    ],
    ids=["garbage", "no-key", "wrong-ws", "wrong-seq"],
)
def test_a_bad_row_by_hand_is_one_line_and_the_other_workstations_entries_still_apply(
    tmp_path: Path, hub_db: HubDatabase, row: str, what: str
) -> None:
    a = founder(tmp_path / "a.sqlite3", hub_db)
    b = joiner(tmp_path / "b.sqlite3", hub_db, "EOC desk 2", 1)
    c = joiner(tmp_path / "c.sqlite3", hub_db, "EOC desk 3", 2)
    try:
        b.sync().sync_once()
        seq, prev, at = last_entry(b)
        fake = seal(
            workstation_id=ws_of(b),
            seq=seq + 1,
            at=at,
            actor="system",
            kind="note.added",
            payload={"note": what},
            prev_hash=prev,
        )
        values = row.format(ws=ws_of(b), seq=seq + 1, hash=fake.hash, body=fake.body.hex())
        hub_sql(
            hub_db,
            f"INSERT INTO hub_events (workstation_id, seq, hash, body, signature, pushed_by) VALUES ({values}, 'x')",
        )
        c.clock.advance(timedelta(minutes=5))  # type: ignore[attr-defined]
        wanted = note(c, "shelter at the school is open")
        c.sync().sync_once()
        report = a.sync().sync_once()  # no exception at all: the bad row is one workstation's refusal
        assert all("\n" not in why for why in report.refused.values()), report.refused
        assert wanted.hash in hashes(a), what
        assert fake.hash not in hashes(a)
        assert a.audit.verify().ok
    finally:
        for app in (a, b, c):
            app.close()


def test_a_hub_restored_from_an_older_backup_still_delivers_new_entries(tmp_path: Path, hub_db: HubDatabase) -> None:
    a = founder(tmp_path / "a.sqlite3", hub_db)
    b = joiner(tmp_path / "b.sqlite3", hub_db, "EOC desk 2", 1)
    c = joiner(tmp_path / "c.sqlite3", hub_db, "EOC desk 3", 2)
    try:
        for app in (a, b, c):
            app.sync().sync_once()
        b.clock.advance(timedelta(minutes=5))  # type: ignore[attr-defined]
        for i in range(30):
            note(b, f"b's note {i}")
        b.sync().sync_once()
        a.sync().sync_once()  # a's cursor is past b's 30 notes
        # The hub is restored from a backup taken before b's notes: their rows are gone, hub_seq starts lower.
        hub_sql(
            hub_db,
            "DO $$ DECLARE top bigint; BEGIN PERFORM set_config('session_replication_role', 'replica', true); "
            f"DELETE FROM hub_events WHERE workstation_id = '{ws_of(b)}' AND seq > 2; "
            "SELECT coalesce(max(hub_seq), 0) + 1 INTO top FROM hub_events; "
            "EXECUTE format('ALTER TABLE hub_events ALTER COLUMN hub_seq RESTART WITH %s', top); END $$",
        )
        c.clock.advance(timedelta(minutes=10))  # type: ignore[attr-defined]
        wanted = note(c, "evacuate the valley")
        c.sync().sync_once()
        report = a.sync().sync_once()
        assert wanted.hash in hashes(a)
        went_back = [n for n in report.notices if "the hub went back" in n]
        assert len(went_back) == 1 and "\n" not in went_back[0], report.notices
        assert a.sync().status(reach=False).last_error == went_back[0]
        again = a.sync().sync_once()  # the cursor now fits the hub: said once, not at every sync
        assert not again.notices and a.sync().status(reach=False).last_error is None
    finally:
        for app in (a, b, c):
            app.close()


def test_a_row_squatting_a_workstation_s_next_seq_does_not_cut_it_off_from_the_team(
    tmp_path: Path, hub_db: HubDatabase
) -> None:
    a = founder(tmp_path / "a.sqlite3", hub_db)
    b = joiner(tmp_path / "b.sqlite3", hub_db, "EOC desk 2", 1)
    try:
        a.sync().sync_once()
        b.sync().sync_once()
        seq, _prev, _at = last_entry(a)
        hub_sql(
            hub_db,
            "INSERT INTO hub_events (workstation_id, seq, hash, body, signature, pushed_by) "
            f"VALUES ('{ws_of(a)}', {seq + 1}, repeat('0', 64), '\\x00'::bytea, NULL, 'mallory')",
        )
        a.clock.advance(timedelta(minutes=5))  # type: ignore[attr-defined]
        wanted = note(a, "evacuate the valley")
        report = a.sync().sync_once()
        # Not A's equivocation: the hub's forgery, said in one line with what the hub admin must do.
        assert report.equivocations == 0, report.line()
        assert len(report.notices) == 1 and "\n" not in report.notices[0], report.notices
        notice = report.notices[0]
        assert "FORGED HUB ROW" in notice and f"seq {seq + 1}" in notice and "hub admin must delete" in notice
        assert "cannot go in" in notice
        assert notice in report.line()
        assert a.sync().status(reach=False).last_error == notice
        assert hub_equivocations(hub_db) == 0
        b.sync().sync_once()
        assert wanted.hash not in hashes(b)  # the forged row holds A's place: nothing of A's can go in
        # The hub admin deletes the forged row (past the append-only trigger): A's entries then reach the team.
        hub_sql(
            hub_db,
            "DO $$ BEGIN PERFORM set_config('session_replication_role', 'replica', true); "
            f"DELETE FROM hub_events WHERE workstation_id = '{ws_of(a)}' AND seq = {seq + 1}; END $$",
        )
        a.sync().sync_once()
        b.sync().sync_once()
        assert wanted.hash in hashes(b)
        assert a.audit.verify().ok and b.audit.verify().ok
    finally:
        a.close()
        b.close()


def test_a_hub_whose_id_changed_is_pulled_again_from_the_start(tmp_path: Path, hub_db: HubDatabase) -> None:
    """A hub put back with another hub_id (restored, or made anew at the same address): hub_seq counts anew there,
    so the cursor is dropped and the hub read from the start, said once in one line."""
    a = founder(tmp_path / "a.sqlite3", hub_db)
    b = joiner(tmp_path / "b.sqlite3", hub_db, "EOC desk 2", 1)
    try:
        a.sync().sync_once()
        b.sync().sync_once()
        held = hashes(b)
        hub_sql(hub_db, "UPDATE hub_meta SET value = 'another-hub' WHERE key = 'hub_id'")
        report = b.sync().sync_once()
        assert len(report.notices) == 1 and "hub id" in report.notices[0] and "another-hub" in report.notices[0]
        assert "\n" not in report.notices[0] and report.applied == 0 and hashes(b) == held
        assert b.sync().status(reach=False).last_error == report.notices[0]
        assert not b.sync().sync_once().notices
    finally:
        a.close()
        b.close()
