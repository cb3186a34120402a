"""Workstations for the sync tests: real SQLite files, each with its own identity and signing key in the test
keyring, and entries handed over as the hub or a bundle hands them (rows of the events table)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from crisisdesk.app import App
from crisisdesk.domain.clock import FixedClock
from crisisdesk.domain.events import Event
from crisisdesk.services.passwords import Argon2Hasher
from crisisdesk.services.receive import Incoming

PASSWORD = "correct horse"


def workstation(path: Path, admin: str, name: str, clock: FixedClock) -> App:
    """A workstation set up with an admin and its key declared (not the default channels, whose names every
    workstation shares: merging those is the merge rules' part)."""
    app = App.open(path, create=True, clock=clock, hasher=Argon2Hasher(time_cost=1, memory_cost=1024))
    app.people.initialise(admin, PASSWORD, workstation_name=name)
    app.workstation_keys().join(app.people.actor(admin))
    return app


def ws_of(app: App) -> str:
    ws = app.log.workstation_id()
    assert ws is not None
    return ws


def note(app: App, text: str, actor: str = "system") -> Event:
    with app.db.write() as conn:
        return app.log.record(conn, actor, "note.added", {"note": text})


def notes(app: App, n: int, prefix: str = "note") -> None:
    with app.db.write() as conn:
        app.log.record_many(conn, [("system", "note.added", {"note": f"{prefix} {i}"}) for i in range(n)])


def entries(app: App, ws: str | None = None, after: int = 0) -> list[Incoming]:
    """The entries of one workstation (default: the app's own) after seq ``after``, as another site sends them."""
    rows = app.db.conn.execute(
        "SELECT hash, body, signature FROM events WHERE workstation_id = ? AND seq > ? ORDER BY seq",
        (ws or ws_of(app), after),
    ).fetchall()
    return [Incoming(str(h), bytes(b), s) for h, b, s in rows]


def count(app: App) -> int:
    return app.log.count()


def copy_file(app: App, target: Path) -> Path:
    """A copy of the workstation's file as it stands (what a backup or an attacker's snapshot holds)."""
    app.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copyfile(app.db.path, target)
    return target


def rewrite_chain(path: Path, ws: str, from_seq: int, change: dict[str, str]) -> None:
    """What an attacker holding the file (but not the key) does: drop the append-only triggers, change the payload
    of ``ws``'s entry ``from_seq`` and re-hash the chain from there, re-linking every later entry, so the chain
    verifies again. The signatures are left as they were (the attacker cannot make new ones)."""
    import hashlib

    import orjson

    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("DROP TRIGGER IF EXISTS events_no_update")
        rows = conn.execute(
            "SELECT position, body FROM events WHERE workstation_id = ? AND seq >= ? ORDER BY seq", (ws, from_seq)
        ).fetchall()
        prev: str | None = None
        conn.execute("BEGIN")
        for position, body in rows:
            data = orjson.loads(body)
            if prev is None:
                data["payload"] = {**data["payload"], **change}
            else:
                data["prev"] = prev
            new_body = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
            prev = hashlib.sha256(new_body).hexdigest()
            conn.execute("UPDATE events SET body = ?, hash = ? WHERE position = ?", (new_body, prev, position))
        conn.execute("COMMIT")
        conn.execute(
            """CREATE TRIGGER events_no_update BEFORE UPDATE ON events
               BEGIN SELECT RAISE(ABORT, 'the event log is append-only: events cannot be changed'); END"""
        )
    finally:
        conn.close()
