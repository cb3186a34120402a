"""Replaying the log into a scratch database and naming every current-state row that disagrees with it.

The projections are for reading and listing; the log is the truth. This check builds the tables the log
implies in a temporary file (the program's own schema, every event applied by the same projections a write
uses) and compares them, table by table and row by row, with the database's. The database is attached
read-only to the scratch connection, and everything is read in one transaction, so the events and the tables
compared come from the same moment even while a worker writes, and the real file is never written.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from crisisdesk.domain.events import from_body
from crisisdesk.store.migrations import LATEST_VERSION, LOCAL_COLUMNS, MIGRATIONS, PROJECTION_TABLES
from crisisdesk.store.projections import apply

# How many disagreements are kept to be shown; all of them are counted.
KEEP = 1000

Kind = Literal["missing", "extra", "differs", "table"]


@dataclass(frozen=True, slots=True)
class Disagreement:
    """One row (or a whole table) that is not what the log says.

    ``missing``: the log implies the row and the table lacks it; ``extra``: the table has a row the log does not
    imply; ``differs``: both have it and ``columns`` names each column as (name, the log's value, the table's);
    ``table``: the table itself is missing or has other columns (``note`` says which).
    """

    table: str
    kind: Kind
    key: tuple[tuple[str, object], ...] = ()
    columns: tuple[tuple[str, object, object], ...] = ()
    note: str = ""


@dataclass(frozen=True, slots=True)
class ProjectionReport:
    replayed: int  # entries applied to the scratch copy
    tables: int  # tables compared
    disagreements: list[Disagreement] = field(default_factory=list)  # the first KEEP
    total: int = 0  # all of them
    failure: str | None = None  # why the comparison could not be made at all

    @property
    def ok(self) -> bool:
        return self.failure is None and self.total == 0


def _columns(conn: sqlite3.Connection, schema: str, table: str) -> list[tuple[str, int]]:
    """(name, position in the primary key, 0 if none) of each column of ``schema.table``, in table order."""
    return [(row[1], row[5]) for row in conn.execute(f"PRAGMA {schema}.table_info({table})")]


def _scratch_schema(conn: sqlite3.Connection) -> None:
    for migration in MIGRATIONS:
        for statement in migration.statements:
            conn.execute(statement)


def _replay(conn: sqlite3.Connection, progress: Callable[[int, int], None] | None = None) -> tuple[int, str | None]:
    """Apply every entry of ``live.events`` to the scratch tables; (entries applied, why it stopped early).

    ``progress(applied, total)`` after each batch; an exception it raises stops the replay."""
    n = 0
    total = int(conn.execute("SELECT count(*) FROM live.events").fetchone()[0]) if progress is not None else 0
    # In the merge order (domain/merge.py), as the tables were folded.
    cursor = conn.execute("SELECT position, hash, body FROM live.events ORDER BY at, workstation_id, seq")
    while rows := cursor.fetchmany(5000):
        for position, stored_hash, body in rows:
            try:
                event = from_body(body, stored_hash)
                apply(conn, event)
            except (sqlite3.IntegrityError, ValueError, KeyError, TypeError) as exc:  # the entry, not the disk
                return n, f"entry #{position} cannot be replayed ({type(exc).__name__}: {exc})"
            n += 1
        if progress is not None:
            progress(n, total)
    return n, None


def _same_key(a: str, b: str, key: list[str]) -> str:
    return " AND ".join(f'{a}."{k}" = {b}."{k}"' for k in key)


def _compare(conn: sqlite3.Connection, table: str, local: Sequence[str] = ()) -> Iterator[Disagreement]:
    log_columns = _columns(conn, "main", table)
    table_columns = _columns(conn, "live", table)
    if not table_columns:
        yield Disagreement(table, "table", note="the table is missing")
        return
    present = {name for name, _ in table_columns}
    known = {name for name, _ in log_columns}
    for name in sorted(known - present):
        yield Disagreement(table, "table", note=f"column {name} is missing")
    for name in sorted(present - known):
        yield Disagreement(table, "table", note=f"column {name} is not one the log fills")
    key = [name for name, _ in sorted((c for c in log_columns if c[1]), key=lambda c: c[1])] or ["rowid"]
    if not set(key) <= present | {"rowid"}:
        return  # named above; rows cannot be matched without their key
    compared = [name for name, _ in log_columns if name in present and name not in local]
    keys = ", ".join(f'x."{k}"' for k in key)
    for kind, here, there in (("missing", "main", "live"), ("extra", "live", "main")):
        rows = conn.execute(
            f"SELECT {keys} FROM {here}.{table} AS x WHERE NOT EXISTS "  # noqa: S608 - fixed names
            f"(SELECT 1 FROM {there}.{table} AS y WHERE {_same_key('y', 'x', key)}) ORDER BY {keys}"
        )
        for row in rows:
            yield Disagreement(table, kind, tuple(zip(key, row, strict=True)))  # type: ignore[arg-type]
    # Rows are matched by primary key in the key's own collation (a person's name ignores case, as the table
    # does); then every compared column, the key included, must be the same value of the same type, byte for
    # byte.
    pairs = ", ".join(f'x."{c}", y."{c}"' for c in compared)
    differs = " OR ".join(f'x."{c}" IS NOT y."{c}" COLLATE BINARY' for c in compared)
    rows = conn.execute(
        f"SELECT {keys}, {pairs} FROM main.{table} AS x JOIN live.{table} AS y "  # noqa: S608 - fixed names
        f"ON {_same_key('y', 'x', key)} WHERE {differs} ORDER BY {keys}"
    )
    for row in rows:
        values = row[len(key) :]
        columns = tuple(
            (name, values[2 * i], values[2 * i + 1])
            for i, name in enumerate(compared)
            if values[2 * i] != values[2 * i + 1]
        )
        yield Disagreement(table, "differs", tuple(zip(key, row[: len(key)], strict=True)), columns)


def compare_with_log(
    path: Path,
    *,
    scratch_dir: Path | None = None,
    keep: int = KEEP,
    local_columns: Mapping[str, Sequence[str]] = LOCAL_COLUMNS,
    progress: Callable[[int, int], None] | None = None,
) -> ProjectionReport:
    """Replay the log of the database at ``path`` into a scratch copy and compare every projection table,
    leaving out ``local_columns`` (local observations the log does not fill). ``progress(applied, total)`` follows
    the replay; an exception it raises stops the check (the scratch copy is removed)."""
    with tempfile.TemporaryDirectory(prefix="crisisdesk-verify-", dir=scratch_dir) as folder:
        scratch = Path(folder) / "replayed.sqlite3"
        conn = sqlite3.connect(scratch.as_uri(), uri=True, isolation_level=None)
        try:
            # A throwaway file: nothing to protect against a crash, so no journal and no syncing.
            conn.execute("PRAGMA journal_mode = OFF")
            conn.execute("PRAGMA synchronous = OFF")
            conn.execute("PRAGMA cache_size = -65536")
            _scratch_schema(conn)
            # The projections read the log itself for who founded the team (store/projections.py): let those names
            # find the live database's log, not the scratch copy's empty one.
            conn.execute("DROP TABLE events")
            conn.execute("ATTACH DATABASE ? AS live", (Path(path).resolve().as_uri() + "?mode=ro",))
            conn.execute("BEGIN")  # one read transaction over the log and the tables: the same moment
            try:
                version = int(conn.execute("PRAGMA live.user_version").fetchone()[0])
                if version != LATEST_VERSION:
                    return ProjectionReport(
                        0,
                        0,
                        failure=f"the database has schema {version} and this program compares schema "
                        f"{LATEST_VERSION}: open it once with this crisisdesk to upgrade it, then check again",
                    )
                replayed, failure = _replay(conn, progress)
                if failure is not None:
                    return ProjectionReport(replayed, 0, failure=failure)
                kept: list[Disagreement] = []
                total = 0
                for table in PROJECTION_TABLES:
                    for disagreement in _compare(conn, table, local_columns.get(table, ())):
                        total += 1
                        if len(kept) < keep:
                            kept.append(disagreement)
                return ProjectionReport(replayed, len(PROJECTION_TABLES), kept, total)
            finally:
                conn.execute("COMMIT")
        finally:
            conn.close()
