"""Verifying one stretch of the event log in a separate process.

Kept tiny (sqlite3 and the domain only) so that a spawned worker starts in a fraction of a second.
The worker opens the file read-only: verifying never writes.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from crisisdesk.domain.events import Segment, verify_segment


def rows_query(low: int | None, high: int | None) -> tuple[str, tuple[int, ...]]:
    where, args = [], []
    if low is not None:
        where.append("position >= ?")
        args.append(low)
    if high is not None:
        where.append("position < ?")
        args.append(high)
    sql = "SELECT position, hash, body FROM events"
    if where:
        sql += " WHERE " + " AND ".join(where)
    return sql + " ORDER BY position", tuple(args)


def verify_range(path: str, low: int | None, high: int | None) -> Segment:
    conn = sqlite3.connect(Path(path).resolve().as_uri() + "?mode=ro", uri=True)
    try:
        sql, args = rows_query(low, high)
        return verify_segment(conn.execute(sql, args))
    finally:
        conn.close()
