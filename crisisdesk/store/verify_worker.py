"""Verifying one stretch of the event log in a separate process.

Kept tiny (sqlite3 and the domain only) so that a spawned worker starts in a fraction of a second.
The worker opens the file read-only: verifying never writes.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import orjson

from crisisdesk.domain.events import Segment, verify_segment
from crisisdesk.domain.signing import KEY_KINDS, KeyEvent, SignatureReport, SignedRow, check_signatures
from crisisdesk.store.ledger import held_admin_revocations


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


def signatures_of(conn: sqlite3.Connection) -> SignatureReport:
    """Every entry's signature checked against the keys the log declares. The key events are read first (few,
    through the kind index): a revocation written after an entry still decides whether its signature counts."""
    marks = ",".join("?" * len(KEY_KINDS))
    key_events = []
    for position, ws, seq, at, kind, body in conn.execute(
        f"SELECT position, workstation_id, seq, at, kind, body FROM events WHERE kind IN ({marks}) "  # noqa: S608
        "ORDER BY position",
        KEY_KINDS,
    ):
        try:
            p = orjson.loads(body)["payload"]
            if not isinstance(p, dict):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            continue  # a damaged entry: the chain check names it
        key_events.append(
            KeyEvent(
                position,
                str(ws),
                int(seq),
                str(at),
                str(kind),
                str(p.get("workstation", "")),
                str(p.get("key", "")),
                str(p.get("public_key", "")),
                str(p.get("previous", "")),
            )
        )
    rows = (
        SignedRow(position, str(ws), int(seq or 0), str(at), str(h), sig if isinstance(sig, str) else None)
        for position, ws, seq, at, h, sig in conn.execute(
            "SELECT position, workstation_id, seq, at, hash, signature FROM events ORDER BY position"
        )
    )
    return check_signatures(rows, key_events, revokers=held_admin_revocations(conn))


def verify_signatures_file(path: str) -> SignatureReport:
    conn = sqlite3.connect(Path(path).resolve().as_uri() + "?mode=ro", uri=True)
    try:
        return signatures_of(conn)
    finally:
        conn.close()
