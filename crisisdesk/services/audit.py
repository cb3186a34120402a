"""Verifying, exporting and browsing the audit log (which is the event log)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import orjson

from crisisdesk.domain.events import ChainReport, Event, Kind, from_body
from crisisdesk.domain.roles import Actor, Permission
from crisisdesk.store.db import Database
from crisisdesk.store.eventlog import EventLog

EXPORT_FORMATS = ("jsonl", "csv")
EXPORT_COLUMNS = ("position", "workstation_id", "seq", "at", "actor", "kind", "payload", "prev_hash", "hash", "body")


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One line of the audit view: immutable, cheap to hold by the thousand."""

    position: int
    seq: int
    at: str
    actor: str
    kind: str
    summary: str
    hash: str


def summarise(payload: dict[str, Any], limit: int = 200) -> str:
    """One line for a glance: short fields first (ids, names, hashes), long ones (texts, contents) last."""
    parts = []
    for key in sorted(payload):
        value = payload[key]
        text = ",".join(map(str, value)) if isinstance(value, list) else str(value)
        parts.append((len(text) > 40, f"{key}={text}"))
    summary = " ".join(part for _, part in sorted(parts, key=lambda p: p[0]))
    return summary if len(summary) <= limit else summary[: limit - 1] + "…"


class AuditService:
    def __init__(self, db: Database, log: EventLog) -> None:
        self.db = db
        self.log = log

    def verify(self) -> ChainReport:
        """Anyone holding the file may check it, so this needs no sign-in."""
        return self.log.verify()

    def export(self, actor: Actor, fmt: str, out: IO[str]) -> int:
        """Write every entry; the export itself is then recorded (who took the log out, and its head then)."""
        actor.require(Permission.READ)
        if fmt not in EXPORT_FORMATS:
            raise ValueError(f"unknown export format {fmt!r}")
        n = 0
        last: dict[str, Any] | None = None
        if fmt == "jsonl":
            for record in self._records():
                out.write(orjson.dumps(record).decode() + "\n")
                n += 1
                last = record
        else:
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(EXPORT_COLUMNS)
            for record in self._records():
                row = dict(record)
                row["payload"] = orjson.dumps(row["payload"], option=orjson.OPT_SORT_KEYS).decode()
                writer.writerow([row[c] for c in EXPORT_COLUMNS])
                n += 1
                last = record
        with self.db.write() as conn:
            self.log.record(
                conn,
                actor.name,
                Kind.AUDIT_EXPORTED,
                {"format": fmt, "entries": n, "last_hash": last["hash"] if last else None},
            )
        return n

    def _records(self) -> Iterator[dict[str, Any]]:
        for position, event in self._positioned():
            yield {
                "position": position,
                "workstation_id": event.workstation_id,
                "seq": event.seq,
                "at": event.at,
                "actor": event.actor,
                "kind": event.kind,
                "payload": event.payload,
                "prev_hash": event.prev_hash,
                "hash": event.hash,
                # The exact bytes that were hashed, so an export can be checked without crisisdesk.
                "body": event.body.decode("utf-8"),
            }

    def _positioned(self) -> Iterator[tuple[int, Event]]:
        for position, stored_hash, body in self.log.raw_rows():
            yield position, from_body(body, stored_hash)

    def page(self, actor: Actor, *, before: int | None = None, limit: int = 500, text: str = "") -> list[AuditRow]:
        """Newest first, ``limit`` rows older than position ``before``, optionally filtered."""
        actor.require(Permission.READ)
        where: list[str] = []
        args: list[object] = []
        if before is not None:
            where.append("position < ?")
            args.append(before)
        if text:
            where.append(
                "(kind LIKE ? ESCAPE '\\' OR actor LIKE ? ESCAPE '\\' OR CAST(body AS TEXT) LIKE ? ESCAPE '\\')"
            )
            pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            args += [pattern, pattern, pattern]
        sql = "SELECT position, hash, body FROM events"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY position DESC LIMIT ?"
        args.append(limit)
        rows = []
        for position, stored_hash, body in self.db.conn.execute(sql, args):
            e = from_body(body, stored_hash)
            rows.append(AuditRow(position, e.seq, e.at, e.actor, e.kind, summarise(dict(e.payload)), e.hash))
        return rows
