"""One SQLite file per workstation.

WAL, synchronous=FULL, foreign keys on, a busy timeout, and ``BEGIN IMMEDIATE`` for every write so two
writers queue instead of failing half-way. A database from a newer crisisdesk is refused before SQLite
opens it, so not one byte of it changes.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlite_utils

from crisisdesk.domain.clock import Clock
from crisisdesk.domain.errors import DatabaseDamaged, DatabaseTooNew, ExternalError, NotADatabase, NotFound, UserError
from crisisdesk.store.migrations import LATEST_VERSION, MIGRATIONS, Migration

BUSY_TIMEOUT_MS = 5000
CACHE_KIB = 64 * 1024
_HEADER = b"SQLite format 3\x00"

log = logging.getLogger(__name__)


def _refuse_unless_regular(path: Path) -> None:
    """A database is a regular file: reading the header of a named pipe waits forever, of a device never ends."""
    if path.is_dir():
        raise UserError(f"{path} is a folder; --db needs a file path")
    if not path.is_file():
        raise UserError(f"{path} is not a regular file (a device, a pipe or a socket); --db needs a database file")


def _read_header_version(path: Path) -> int | None:
    """``user_version`` straight from the file header (offset 60), without letting SQLite touch the file."""
    with path.open("rb") as f:
        header = f.read(100)
    if len(header) == 0:
        return None  # an empty file: SQLite treats it as a new database
    if len(header) < 100 or not header.startswith(_HEADER):
        raise NotADatabase(f"{path} is not a crisisdesk database (not an SQLite file); give another path with --db")
    return int.from_bytes(header[60:64], "big")


def _wal_version(path: Path, busy_timeout_ms: int) -> int | None:
    """``user_version`` as SQLite sees it with the WAL, which may hold a newer header than the file.

    Read through a read-only connection: SQLite checkpoints the WAL into the file when the last connection
    closes, but a read-only one never does, so a WAL from a newer program stays as it was (only the -shm index
    may be rebuilt). None when there is no WAL to look at.
    """
    wal = path.with_name(path.name + "-wal")
    if not wal.exists() or wal.stat().st_size == 0:
        return None
    conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True, timeout=busy_timeout_ms / 1000)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


# Opening reads the schema: text in it that is not UTF-8 (a damaged page) makes SQLite's own error undecodable.
_OPEN_ERRORS = (sqlite3.Error, UnicodeDecodeError)


def _explain(exc: sqlite3.Error | UnicodeDecodeError, path: Path) -> Exception:
    if isinstance(exc, UnicodeDecodeError):
        return DatabaseDamaged(
            f"{path} is damaged or not a crisisdesk database (its schema holds text that is not UTF-8)",
            "restore it from a backup",
        )
    text = str(exc)
    if "locked" in text or "busy" in text:
        return ExternalError(f"the database {path} is busy (another crisisdesk is writing); try again in a moment")
    if "not a database" in text or "malformed" in text:
        return DatabaseDamaged(f"{path} is damaged or not a crisisdesk database ({text})", "restore it from a backup")
    if "readonly" in text or "unable to open" in text:
        return UserError(f"cannot write to {path} ({text}); check the file's permissions")
    if "disk" in text and "full" in text:
        return ExternalError(f"the disk holding {path} is full; free space and try again (nothing was saved)")
    if "disk I/O error" in text:
        return ExternalError(
            f"the database {path} could not be written (disk I/O error): the disk may be full or failing; "
            "nothing was saved; free space or check the disk, then try again"
        )
    return exc


class Database:
    """An open crisisdesk database. Writes go through :meth:`write`."""

    def __init__(self, conn: sqlite3.Connection, path: Path, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> None:
        self.conn = conn
        self.path = path
        self.busy_timeout_ms = busy_timeout_ms
        # Counts write transactions, so caches that are only valid while the write lock is held
        # (the event log's chain head) know when they went stale.
        self.transaction_id = 0
        self._after_commit: list[Callable[[], None]] = []
        # sqlite-utils for reading rows as dicts and introspecting tables; told to leave pragmas and plugins alone.
        self.utils = sqlite_utils.Database(conn, recursive_triggers=False, execute_plugins=False)

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        create: bool = False,
        clock: Clock | None = None,
        migrations: Sequence[Migration] = MIGRATIONS,
        busy_timeout_ms: int = BUSY_TIMEOUT_MS,
        any_thread: bool = False,
    ) -> Database:
        """Open (or with ``create``, make and migrate) a database.

        ``any_thread``: the connection may be used from a thread other than the one that opened it, one thread
        at a time (the console's task pool lends one App to one task at a time); the caller keeps it so."""
        path = Path(path)
        latest = migrations[-1].version if migrations else 0
        if path.exists():
            _refuse_unless_regular(path)
            found = _read_header_version(path)
            if found is not None:
                try:
                    found = max(found, _wal_version(path, busy_timeout_ms) or 0)
                except _OPEN_ERRORS as exc:
                    raise _explain(exc, path) from exc
            if found is not None and found > latest:
                raise DatabaseTooNew(
                    f"{path} was written by a newer crisisdesk (schema {found}, this program knows up to {latest}); "
                    "it was left untouched: upgrade crisisdesk to open it"
                )
        elif not create:
            raise NotFound(
                f"no database at {path}: run 'crisisdesk init --admin NAME --password-stdin' first, or give --db PATH"
            )
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(
                path, isolation_level=None, timeout=busy_timeout_ms / 1000, check_same_thread=not any_thread
            )
        except _OPEN_ERRORS as exc:
            raise _explain(exc, path) from exc
        db = cls(conn, path, busy_timeout_ms)
        try:
            db._configure()
            db._migrate(migrations, latest, clock)
        except BaseException:
            conn.close()
            raise
        return db

    @classmethod
    def open_readonly(cls, path: Path, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> Database:
        """Open for checking only (``audit verify``): nothing is created, migrated or written.

        An empty file, a file that is not SQLite and an SQLite file with no audit log are refused: SQLite
        would make a database of the first, and migrating would make crisisdesk databases of the others.
        """
        path = Path(path)
        if not path.exists():
            raise NotFound(f"no database at {path}: give the workstation's database with --db (nothing was created)")
        _refuse_unless_regular(path)
        if _read_header_version(path) is None:
            raise NotADatabase(f"{path} is empty (0 bytes), not a crisisdesk database; nothing was created")
        try:
            conn = sqlite3.connect(
                path.resolve().as_uri() + "?mode=ro", uri=True, isolation_level=None, timeout=busy_timeout_ms / 1000
            )
        except _OPEN_ERRORS as exc:
            raise _explain(exc, path) from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if version > LATEST_VERSION:
                raise DatabaseTooNew(
                    f"{path} was written by a newer crisisdesk (schema {version}, this program knows up to "
                    f"{LATEST_VERSION}); it was left untouched: upgrade crisisdesk to check it"
                )
            has_log = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events'").fetchone()
            if version == 0 or has_log is None:
                raise NotADatabase(f"{path} is an SQLite file but not a crisisdesk database (it holds no audit log)")
        except _OPEN_ERRORS as exc:
            conn.close()
            raise _explain(exc, path) from exc
        except BaseException:
            conn.close()
            raise
        return cls(conn, path, busy_timeout_ms)

    def on_commit(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` after each committed write, in the thread that wrote.

        What it does cannot undo the write: its errors are logged, never raised to the writer.
        """
        self._after_commit.append(callback)

    def _configure(self) -> None:
        try:
            self.conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
            version = self.user_version()  # again, now through SQLite (a WAL may hold a newer header)
            if version > LATEST_VERSION:
                raise DatabaseTooNew(
                    f"{self.path} was written by a newer crisisdesk (schema {version}); it was left untouched"
                )
            mode = self.conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode != "wal":
                raise ExternalError(f"could not switch {self.path} to WAL mode (got {mode}); is it on a network drive?")
            self.conn.execute("PRAGMA synchronous = FULL")
            self.conn.execute("PRAGMA foreign_keys = ON")
            # 64 MB of page cache: the event hash index takes random inserts, which slow to a crawl once it
            # outgrows SQLite's default 2 MB (measured in bench/event_log.py).
            self.conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        except _OPEN_ERRORS as exc:
            raise _explain(exc, self.path) from exc

    def quick_check(self, limit: int = 100, *, full: bool = False) -> str | None:
        """SQLite's ``PRAGMA quick_check`` in one line: None when the file's structure is sound, else its first
        finding and how many more there are (up to ``limit``).

        ``full`` runs ``integrity_check`` instead, which also compares every index with its table: an index
        rebuilt to leave entries out (so that a query through it misses, say, a role's revocation) is found
        only so. It reads every index, so it is for the deep check."""
        pragma = "integrity_check" if full else "quick_check"
        try:
            rows = [str(row[0]) for row in self.conn.execute(f"PRAGMA {pragma}({int(limit)})")]
        except sqlite3.DatabaseError as exc:
            return str(exc)
        if rows == ["ok"]:
            return None
        # A row may hold several findings, one a line, under a "*** in database main ***" heading.
        findings = [
            " ".join(line.split()) for row in rows for line in row.splitlines() if line.strip() and "***" not in line
        ] or [f"{pragma} found a problem"]
        more = len(findings) - 1
        suffix = "" if more == 0 else f" (and {more}{'+' if len(findings) >= limit else ''} more)"
        return findings[0] + suffix

    def data_version(self) -> tuple[int, int]:
        """A value that changes whenever the database may have changed: SQLite's ``data_version`` (which moves
        when another connection commits, never for this one's own commits) with this connection's count of write
        transactions (which covers those). Cheap: no table is read."""
        return int(self.conn.execute("PRAGMA data_version").fetchone()[0]), self.transaction_id

    def user_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self, migrations: Sequence[Migration], latest: int, clock: Clock | None) -> None:
        current = self.user_version()
        if current > latest:
            raise DatabaseTooNew(
                f"{self.path} has schema {current}, newer than this program's {latest}; left untouched"
            )
        pending = [m for m in migrations if m.version > current]
        if not pending:
            return
        if current > 0:
            self.backup(self._backup_path(current, clock))
        for migration in pending:
            with self.write() as conn:
                for statement in migration.statements:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {migration.version}")

    def _backup_path(self, version: int, clock: Clock | None) -> Path:
        stamp = clock.now().strftime("%Y%m%dT%H%M%SZ") if clock else "backup"
        candidate = self.path.with_name(f"{self.path.name}.schema{version}-{stamp}.bak")
        n = 1
        while candidate.exists():
            n += 1
            candidate = self.path.with_name(f"{self.path.name}.schema{version}-{stamp}-{n}.bak")
        return candidate

    def backup(self, target: Path) -> Path:
        """Copy the whole database with SQLite's online backup API."""
        dest = sqlite3.connect(target)
        try:
            self.conn.backup(dest)
        finally:
            dest.close()
        return target

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken with ``BEGIN IMMEDIATE``; rolled back on any error."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise _explain(exc, self.path) from exc
        self.transaction_id += 1
        try:
            yield self.conn
        except sqlite3.Error as exc:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise _explain(exc, self.path) from exc
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        try:
            self.conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise _explain(exc, self.path) from exc
        for callback in self._after_commit:
            try:
                callback()
            except Exception:
                log.exception("after-commit callback %r failed (the write itself was committed)", callback)

    def close(self) -> None:
        self.conn.close()

    def rows(self, table: str, *, order_by: str | None = None) -> list[dict[str, Any]]:
        """Every row of a table as a dict (small tables: people, roles, settings)."""
        return list(self.utils.table(table).rows_where(order_by=order_by))

    def select(
        self, table: str, where: str | None = None, params: list[Any] | None = None, *, order_by: str | None = None
    ) -> list[dict[str, Any]]:
        """Rows of a table matching ``where`` (with ``?`` parameters) as dicts."""
        return list(self.utils.table(table).rows_where(where, params or [], order_by=order_by))

    def get_setting(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM local_settings WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])
