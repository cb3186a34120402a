"""Verifying one stretch of the event log in a separate process.

Kept tiny (sqlite3 and the domain only) so that a spawned worker starts in a fraction of a second.
The worker opens the file read-only: verifying never writes.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

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


# The deep check in a worker process (the replay applies each entry in Python, holding the GIL): its count goes to
# the parent through shared integers, and a shared flag stops it.
_shared: dict[str, Any] = {}


class ReplayStopped(Exception):
    """The parent asked the replay to stop."""


def share(done: Any, total: Any, stop: Any) -> None:
    """The worker's initializer: keep the shared values for ``replay_and_compare``."""
    _shared.update(done=done, total=total, stop=stop)


def replay_and_compare(path: str, scratch_dir: str | None) -> Any:
    from crisisdesk.store.deep_check import compare_with_log  # imported in the worker only, when the check runs

    def progress(done: int, total: int) -> None:
        if _shared["stop"].value:
            raise ReplayStopped()
        _shared["total"].value = total
        _shared["done"].value = done

    return compare_with_log(Path(path), scratch_dir=Path(scratch_dir) if scratch_dir else None, progress=progress)
