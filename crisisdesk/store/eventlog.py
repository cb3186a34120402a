"""Append events and apply them to the current-state tables in the same transaction.

Services never write a current-state table themselves: they record an event, and the projection for its
kind updates the tables. Replaying every event through the same projections rebuilds the state exactly.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping
from typing import Any

from crisisdesk.domain.clock import Clock, utc_iso
from crisisdesk.domain.events import GENESIS, ChainReport, Event, from_body, seal, verify_chain
from crisisdesk.store.db import Database
from crisisdesk.store.migrations import EVENTS_TABLE, PROJECTION_TABLES
from crisisdesk.store.projections import apply

WORKSTATION_KEY = "workstation_id"


class EventLog:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def workstation_id(self) -> str | None:
        return self.db.get_setting(WORKSTATION_KEY)

    def record(
        self, conn: sqlite3.Connection, actor: str, kind: str, payload: Mapping[str, Any], *, workstation_id: str = ""
    ) -> Event:
        """Append one event and apply it. Call inside ``Database.write()``."""
        ws = workstation_id or self.workstation_id()
        if not ws:
            raise RuntimeError("no workstation identity: the database was not initialised")
        row = conn.execute(
            "SELECT seq, hash FROM events WHERE workstation_id = ? ORDER BY seq DESC LIMIT 1", (ws,)
        ).fetchone()
        seq, prev = (row[0] + 1, row[1]) if row else (1, GENESIS)
        event = seal(
            workstation_id=ws,
            seq=seq,
            at=utc_iso(self.clock.now()),
            actor=actor,
            kind=kind,
            payload=payload,
            prev_hash=prev,
        )
        conn.execute("INSERT INTO events (hash, body) VALUES (?, ?)", (event.hash, event.body))
        apply(conn, event)
        return event

    def count(self) -> int:
        return int(self.db.conn.execute("SELECT count(*) FROM events").fetchone()[0])

    def events(self, *, batch: int = 5000) -> Iterator[Event]:
        """Every event in storage order."""
        for _, stored_hash, body in self.raw_rows(batch=batch):
            yield from_body(body, stored_hash)

    def raw_rows(self, *, batch: int = 5000) -> Iterator[tuple[int, str, bytes]]:
        cursor = self.db.conn.execute("SELECT position, hash, body FROM events ORDER BY position")
        while rows := cursor.fetchmany(batch):
            yield from rows

    def verify(self) -> ChainReport:
        """Recompute the chain over the stored bytes; also check the table itself was not swapped."""
        row = self.db.conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'events'").fetchone()
        if row is None or " ".join(row[0].split()) != " ".join(EVENTS_TABLE.split()):
            return ChainReport(
                ok=False,
                checked=0,
                head={},
                bad_position=0,
                reason="the events table was replaced by one of a different shape",
            )
        return verify_chain(self.raw_rows())

    def replay(self) -> int:
        """Rebuild every current-state table from the events. Returns how many events were applied."""
        with self.db.write() as conn:
            for table in reversed(PROJECTION_TABLES):
                conn.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
            n = 0
            for event in self.events():
                apply(conn, event)
                n += 1
        return n
