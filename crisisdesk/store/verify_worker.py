"""Verifying stretches of the event log in separate processes.

Kept tiny (sqlite3 and the domain only) so that a worker starts in a fraction of a second. A worker opens the
file read-only: verifying never writes.

``store/workers.py`` starts this module as ``python -m crisisdesk.store.verify_worker``: about 0.1 s, against
0.25-0.5 s for a ``multiprocessing`` spawn, which imports the caller's main module again (the command line, or the
console and Qt). The parent writes one pickled list of tasks to its standard input; the worker writes each
task's outcome to its standard output, pickled, as soon as it has it, in order, then exits.
"""

from __future__ import annotations

import pickle
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from crisisdesk.domain.events import Segment, verify_segment
from crisisdesk.domain.signing import KEY_KINDS, KeyEvent, SignatureReport, SignedRow, check_signatures
from crisisdesk.store.ledger import held_admin_revocations


def rows_query(low: int | None, high: int | None, columns: str = "position, hash, body") -> tuple[str, tuple[int, ...]]:
    where, args = [], []
    if low is not None:
        where.append("position >= ?")
        args.append(low)
    if high is not None:
        where.append("position < ?")
        args.append(high)
    sql = f"SELECT {columns} FROM events"  # noqa: S608 - the columns are this module's own constants
    if where:
        sql += " WHERE " + " AND ".join(where)
    return sql + " ORDER BY position", tuple(args)


def read_only(path: str) -> sqlite3.Connection:
    return sqlite3.connect(Path(path).resolve().as_uri() + "?mode=ro", uri=True)


def verify_range(path: str, low: int | None, high: int | None) -> Segment:
    conn = read_only(path)
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


def signatures_of(conn: sqlite3.Connection, low: int | None = None, high: int | None = None) -> SignatureReport:
    """Every entry's signature (or those at positions from ``low`` up to ``high``) checked against the keys the
    whole log declares. The key events are read first (few, through the kind index): a revocation written after an
    entry still decides whether its signature counts."""
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
    sql, args = rows_query(low, high, "position, workstation_id, seq, at, hash, signature")
    rows = (
        SignedRow(position, str(ws), int(seq or 0), str(at), str(h), sig if isinstance(sig, str) else None)
        for position, ws, seq, at, h, sig in conn.execute(sql, args)
    )
    return check_signatures(rows, key_events, revokers=held_admin_revocations(conn))


def signatures_range(path: str, low: int | None, high: int | None) -> SignatureReport:
    conn = read_only(path)
    try:
        return signatures_of(conn, low, high)
    finally:
        conn.close()


# What a worker started by store/workers.py may be asked to run, by name.
TASKS: dict[str, Callable[..., Any]] = {"verify_range": verify_range, "signatures_range": signatures_range}


def main() -> None:
    """Run the tasks read from standard input; write each outcome, ("ok", result) or ("error", exception), as it
    comes. An error ends the worker: the parent stops at the first one anyway."""
    tasks: list[tuple[str, tuple[Any, ...]]] = pickle.load(sys.stdin.buffer)  # noqa: S301 - from the parent process
    out = sys.stdout.buffer
    for name, args in tasks:
        try:
            outcome: tuple[str, Any] = ("ok", TASKS[name](*args))
        except Exception as exc:
            outcome = ("error", exc)
        try:
            data = pickle.dumps(outcome)
        except Exception as exc:
            data = pickle.dumps(("error", RuntimeError(f"{type(exc).__name__}: {exc}")))
        try:
            out.write(data)
            out.flush()
        except BrokenPipeError:
            return  # the parent stopped listening (a check cancelled): nothing more to do
        if outcome[0] == "error":
            return


if __name__ == "__main__":
    main()
