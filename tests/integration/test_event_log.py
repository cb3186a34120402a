"""The event log on a real SQLite file: append-only, one transaction with the state, and replay."""

from __future__ import annotations

import itertools
import shutil
import sqlite3
from pathlib import Path

import pytest
import sqlite_utils

from crisisdesk.app import App
from crisisdesk.domain.events import GENESIS, Kind
from crisisdesk.domain.roles import Actor, Role
from crisisdesk.store.migrations import PROJECTION_TABLES


def snapshot(conn: sqlite3.Connection) -> dict[str, list[dict[str, object]]]:
    """Every row of every current-state table, whatever columns later issues add."""
    db = sqlite_utils.Database(conn, recursive_triggers=False, execute_plugins=False)
    assert set(PROJECTION_TABLES) <= set(db.table_names())
    return {t: list(db.table(t).rows_where(order_by="rowid")) for t in PROJECTION_TABLES}


def busy_day(core: App, admin: Actor) -> None:
    core.people.add(admin, "bob", [Role.COMMUNICATOR], "bob password")
    core.people.add(admin, "carol", [Role.APPROVER, Role.VIEWER], "carol password", display_name="Carol (IC)")
    core.people.grant(admin, "bob", Role.EXERCISE_CONTROLLER)
    core.people.revoke(admin, "carol", Role.VIEWER)
    core.people.grant(admin, "carol", Role.ADMIN)
    core.people.revoke(admin, "alice", Role.ADMIN)
    # alice is no admin any more from this moment (roles are re-read at every action): carol grants.
    core.people.grant(core.people.actor("carol"), "alice", Role.VIEWER)


def test_events_carry_workstation_sequence_time_actor_kind_payload_and_links(core: App, admin: Actor) -> None:
    core.people.add(admin, "bob", [Role.VIEWER], "bob password")
    events = list(core.log.events())
    ws = core.log.workstation_id()
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert {e.workstation_id for e in events} == {ws}
    assert events[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(events))
    added = next(e for e in events if e.kind == Kind.USER_ADDED and e.payload["name"] == "bob")
    assert added.actor == "alice"
    assert added.at == "2026-11-22T09:30:00.000000+00:00"
    assert added.payload == {"name": "bob", "display_name": "bob", "roles": ["viewer"]}


def test_the_log_refuses_update_and_delete(core: App) -> None:
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        core.db.conn.execute("UPDATE events SET body = body WHERE position = 1")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        core.db.conn.execute("DELETE FROM events WHERE position = 1")
    with pytest.raises(sqlite3.OperationalError, match="generated column"):
        core.db.conn.execute("UPDATE events SET actor = 'mallory'")


def test_a_change_and_its_event_commit_together_or_not_at_all(core: App, admin: Actor) -> None:
    before_events, before_state = core.log.count(), snapshot(core.db.conn)
    with pytest.raises(RuntimeError), core.db.write() as conn:
        core.log.record(conn, admin.name, Kind.ROLE_GRANTED, {"name": "alice", "role": "viewer"})
        raise RuntimeError("power cut")
    assert core.log.count() == before_events
    assert snapshot(core.db.conn) == before_state


def test_replaying_the_log_rebuilds_the_current_state_exactly(core: App, admin: Actor) -> None:
    busy_day(core, admin)
    before = snapshot(core.db.conn)
    assert before["users"] and before["user_roles"]
    applied = core.log.replay()
    assert applied == core.log.count()
    assert snapshot(core.db.conn) == before


def test_replaying_into_a_fresh_file_gives_the_same_state(
    core: App, admin: Actor, tmp_path: Path, clock, hasher
) -> None:  # type: ignore[no-untyped-def]
    busy_day(core, admin)
    expected = snapshot(core.db.conn)
    fresh_path = tmp_path / "fresh.sqlite3"
    fresh = App.open(fresh_path, create=True, clock=clock, hasher=hasher)
    with fresh.db.write() as conn:
        for event in core.log.events():
            conn.execute("INSERT INTO events (hash, body) VALUES (?, ?)", (event.hash, event.body))
    fresh.log.replay()
    assert snapshot(fresh.db.conn) == expected
    assert fresh.log.verify().ok
    fresh.close()


def test_a_copied_file_keeps_its_chain(core: App, admin: Actor, tmp_path: Path) -> None:
    busy_day(core, admin)
    core.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    copy = tmp_path / "copy.sqlite3"
    shutil.copy(core.db.path, copy)
    other = App.open(copy)
    assert other.log.verify().ok
    other.close()


@pytest.mark.parametrize("tampered_position", [None, 5, 20, 21, 22, 40])
def test_parallel_verification_agrees_with_one_process(core: App, admin: Actor, tampered_position: int | None) -> None:
    for _ in range(20):
        core.people.grant(admin, "alice", Role.VIEWER)
        core.people.revoke(admin, "alice", Role.VIEWER)
    assert core.log.count() == 46
    if tampered_position is not None:
        conn = sqlite3.connect(core.db.path, isolation_level=None)
        conn.execute("DROP TRIGGER events_no_delete")
        conn.execute("DELETE FROM events WHERE position = ?", (tampered_position,))
        conn.close()
    one = core.log.verify(workers=1)
    two = core.log.verify(workers=2)
    three = core.log.verify(workers=3)
    assert (one.ok, one.bad_position, one.checked) == (two.ok, two.bad_position, two.checked)
    assert (one.ok, one.bad_position, one.checked) == (three.ok, three.bad_position, three.checked)
    assert one.ok == (tampered_position is None)
    if tampered_position is not None:
        assert one.bad_position == tampered_position + 1


def test_record_many_appends_and_applies_as_record_does_one_by_one(
    core: App, admin: Actor, tmp_path: Path, clock, hasher
) -> None:  # type: ignore[no-untyped-def]
    other = App.open(tmp_path / "other.sqlite3", create=True, clock=clock, hasher=hasher)
    other.initialise("alice", "alice password", workstation_name="EOC desk 1")
    entries = [
        (admin.name, Kind.USER_ADDED, {"name": "bob", "display_name": "Bob", "roles": ["viewer"]}),
        (admin.name, Kind.ROLE_GRANTED, {"name": "bob", "role": "approver"}),
        (admin.name, Kind.ROLE_REVOKED, {"name": "bob", "role": "viewer"}),
        (admin.name, Kind.ROLE_GRANTED, {"name": "alice", "role": "viewer"}),
    ]
    with core.db.write() as conn:
        one_by_one = [core.log.record(conn, actor, kind, payload) for actor, kind, payload in entries]
    other_ws = other.log.workstation_id()
    with other.db.write() as conn:
        start = [e for e in other.log.events() if e.workstation_id == other_ws][-1]
        many = other.log.record_many(conn, entries)
        assert other.log.record_many(conn, []) == []
        # A record after a record_many in the same write follows it in the chain.
        after = other.log.record(conn, admin.name, Kind.ROLE_REVOKED, {"name": "alice", "role": "viewer"})
    assert [e.seq for e in many] == list(range(start.seq + 1, start.seq + 1 + len(entries)))
    assert many[0].prev_hash == start.hash
    assert [b.prev_hash for b in many[1:]] == [a.hash for a in many[:-1]]
    assert after.prev_hash == many[-1].hash and after.seq == many[-1].seq + 1
    assert [(e.kind, e.payload, e.actor, e.at) for e in many] == [
        (e.kind, e.payload, e.actor, e.at) for e in one_by_one
    ]
    assert [e.body for e in other.log.events()][-len(entries) - 1 : -1] == [e.body for e in many]
    with core.db.write() as conn:
        core.log.record(conn, admin.name, Kind.ROLE_REVOKED, {"name": "alice", "role": "viewer"})
    assert snapshot(other.db.conn)["user_roles"] == snapshot(core.db.conn)["user_roles"]
    assert other.log.verify().ok and core.log.verify().ok
    other.close()


def test_record_many_that_fails_half_way_leaves_nothing(core: App, admin: Actor) -> None:
    before_events, before_state = core.log.count(), snapshot(core.db.conn)
    entries = [
        (admin.name, Kind.ROLE_GRANTED, {"name": "alice", "role": "viewer"}),
        # A workstation already there (adding a person twice no longer fails: the first in the merge order stands).
        (admin.name, Kind.WORKSTATION_CREATED, {"id": core.log.workstation_id(), "name": "again"}),
    ]
    with pytest.raises(sqlite3.IntegrityError), core.db.write() as conn:
        core.log.record_many(conn, entries)
    assert core.log.count() == before_events
    assert snapshot(core.db.conn) == before_state
    with core.db.write() as conn:  # and the chain goes on from the head the failed write never committed
        core.log.record(conn, admin.name, Kind.ROLE_GRANTED, {"name": "alice", "role": "viewer"})
    assert core.log.verify().ok


def received_copy(tmp_path: Path, clock, hasher) -> App:  # type: ignore[no-untyped-def]
    """A database with no entries of its own, as a workstation that only receives."""
    return App.open(tmp_path / "received.sqlite3", create=True, clock=clock, hasher=hasher)


def test_entries_received_from_another_workstation_are_appended_verbatim_and_applied(
    core: App, admin: Actor, tmp_path: Path, clock, hasher
) -> None:  # type: ignore[no-untyped-def]
    busy_day(core, admin)
    sent = [(e.hash, e.body) for e in core.log.events()]
    other = received_copy(tmp_path, clock, hasher)
    with other.db.write() as conn:
        first = other.log.append_received(conn, sent[:5])
        rest = other.log.append_received(conn, sent[5:])
        assert other.log.append_received(conn, []) == []
    assert [(e.hash, e.body) for e in first + rest] == sent
    assert [(e.hash, e.body) for e in other.log.events()] == sent
    assert snapshot(other.db.conn) == snapshot(core.db.conn)
    assert other.log.verify().ok
    other.close()


def forged(body: bytes) -> tuple[str, bytes]:
    import hashlib

    return hashlib.sha256(body).hexdigest(), body


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        ("edited", "does not match its hash"),
        ("not json", "not a crisisdesk event"),
        ("no kind", "not a crisisdesk event"),
        ("key written twice", "not in canonical form"),
        ("whitespace", "not in canonical form"),
        ("gap", "entry seq 7 is missing"),
        ("replayed", "sequence 3 comes after 6"),
        ("relinked", "link to the previous entry does not match"),
    ],
)
def test_received_entries_that_verify_would_call_bad_are_refused_and_nothing_is_appended(
    core: App, admin: Actor, tmp_path: Path, clock, hasher, tamper: str, reason: str
) -> None:  # type: ignore[no-untyped-def]
    busy_day(core, admin)
    sent = [(e.hash, e.body) for e in core.log.events()]
    other = received_copy(tmp_path, clock, hasher)
    with other.db.write() as conn:
        other.log.append_received(conn, sent[:5])
    batch = list(sent[5:9])
    stored_hash, body = batch[1]
    if tamper == "edited":
        batch[1] = (stored_hash, body.replace(b'"actor":"alice"', b'"actor":"malice"'))
    elif tamper == "not json":
        batch[1] = forged(body[:-1])
    elif tamper == "no kind":
        import orjson

        data = orjson.loads(body)
        del data["kind"]
        batch[1] = forged(orjson.dumps(data, option=orjson.OPT_SORT_KEYS))
    elif tamper == "key written twice":
        batch[1] = forged(body.replace(b'"v":1', b'"v":1,"v":1'))
    elif tamper == "whitespace":
        batch[1] = forged(body.replace(b'"v":1', b'"v": 1'))
    elif tamper == "gap":
        batch = [batch[0], *batch[2:]]
    elif tamper == "replayed":
        batch = [batch[0], *sent[2:4]]
    elif tamper == "relinked":
        import orjson

        data = orjson.loads(body)
        data["prev"] = "f" * 64
        batch[1] = forged(orjson.dumps(data, option=orjson.OPT_SORT_KEYS))
    before = snapshot(other.db.conn)
    with pytest.raises(ValueError, match=reason), other.db.write() as conn:
        other.log.append_received(conn, batch)
    assert other.log.count() == 5
    assert snapshot(other.db.conn) == before
    assert other.log.verify().ok
    other.close()
