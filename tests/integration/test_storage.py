"""The database file: pragmas, write transactions, migrations with backups, refusing newer files."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from crisisdesk.domain.clock import FixedClock
from crisisdesk.domain.errors import DatabaseTooNew, ExternalError, NotFound, UserError
from crisisdesk.store.db import Database
from crisisdesk.store.migrations import LATEST_VERSION, MIGRATIONS


def test_a_new_database_is_created_with_wal_full_sync_foreign_keys_and_a_busy_timeout(db_path: Path) -> None:
    db = Database.open(db_path, create=True)
    pragma = lambda name: db.conn.execute(f"PRAGMA {name}").fetchone()[0]  # noqa: E731
    assert pragma("journal_mode") == "wal"
    assert pragma("synchronous") == 2  # FULL
    assert pragma("foreign_keys") == 1
    assert pragma("busy_timeout") == 5000
    assert pragma("user_version") == LATEST_VERSION
    db.close()


def test_a_missing_database_is_not_created_unless_asked(db_path: Path) -> None:
    with pytest.raises(NotFound, match="crisisdesk init"):
        Database.open(db_path)
    assert not db_path.exists()


def test_a_file_that_is_not_sqlite_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("shopping list\n" * 20)
    before = path.read_bytes()
    with pytest.raises(UserError, match="not a crisisdesk database"):
        Database.open(path)
    assert path.read_bytes() == before


def test_writes_take_the_lock_up_front_and_a_busy_database_says_so(db_path: Path) -> None:
    db = Database.open(db_path, create=True, busy_timeout_ms=100)
    other = sqlite3.connect(db_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    with pytest.raises(ExternalError, match="busy"), db.write():
        pass
    other.execute("ROLLBACK")
    with db.write() as conn:  # free again
        conn.execute("INSERT INTO local_settings VALUES ('k', 'v')")
    assert db.get_setting("k") == "v"
    other.close()
    db.close()


def test_a_failed_write_leaves_nothing_behind(db_path: Path) -> None:
    db = Database.open(db_path, create=True)
    with pytest.raises(RuntimeError), db.write() as conn:
        conn.execute("INSERT INTO local_settings VALUES ('half', 'done')")
        raise RuntimeError("interrupted")
    assert db.get_setting("half") is None
    db.close()


def test_migrating_an_older_database_backs_it_up_first(db_path: Path) -> None:
    old = Database.open(db_path, create=True, migrations=MIGRATIONS[:1])
    with old.write() as conn:
        conn.execute("INSERT INTO local_settings VALUES ('marker', 'from schema 1')")
    old.close()

    db = Database.open(db_path, clock=FixedClock())
    assert db.user_version() == LATEST_VERSION
    backups = sorted(db_path.parent.glob(f"{db_path.name}.schema1-*.bak"))
    assert len(backups) == 1
    copy = sqlite3.connect(backups[0])
    assert copy.execute("PRAGMA user_version").fetchone()[0] == 1
    assert copy.execute("SELECT value FROM local_settings WHERE key = 'marker'").fetchone()[0] == "from schema 1"
    assert copy.execute("SELECT count(*) FROM sqlite_master WHERE name = 'users'").fetchone()[0] == 0
    copy.close()
    db.close()


def test_an_up_to_date_database_is_not_backed_up_again(db_path: Path) -> None:
    Database.open(db_path, create=True).close()
    Database.open(db_path).close()
    assert list(db_path.parent.glob("*.bak")) == []


def test_a_database_from_a_newer_crisisdesk_is_refused_and_left_byte_for_byte_untouched(db_path: Path) -> None:
    db = Database.open(db_path, create=True)
    db.conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 7}")
    db.close()
    before = hashlib.sha256(db_path.read_bytes()).hexdigest()
    mtime = db_path.stat().st_mtime_ns
    neighbours = sorted(p.name for p in db_path.parent.iterdir())

    with pytest.raises(DatabaseTooNew, match=r"newer crisisdesk .* left untouched"):
        Database.open(db_path)

    assert hashlib.sha256(db_path.read_bytes()).hexdigest() == before
    assert db_path.stat().st_mtime_ns == mtime
    assert sorted(p.name for p in db_path.parent.iterdir()) == neighbours  # no -wal, -shm or backup created


def test_a_folder_given_as_the_database_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="is a folder"):
        Database.open(tmp_path)


def test_a_damaged_database_gives_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "damaged.sqlite3"
    path.write_bytes(b"SQLite format 3\x00" + bytes(84) + b"\xff" * 4000)
    with pytest.raises(UserError, match="damaged or not a crisisdesk database"):
        Database.open(path)


def _hashes(*paths: Path) -> list[str | None]:
    return [hashlib.sha256(p.read_bytes()).hexdigest() if p.exists() else None for p in paths]


def test_a_newer_schema_found_only_in_the_wal_is_refused_without_checkpointing_it(db_path: Path) -> None:
    Database.open(db_path, create=True).close()
    # A newer crisisdesk that was killed: its schema bump is only in the WAL, not yet in the file.
    script = (
        "import os, sqlite3, sys\n"
        "conn = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "conn.execute('PRAGMA wal_autocheckpoint = 0')\n"
        f"conn.execute('PRAGMA user_version = {LATEST_VERSION + 1}')\n"
        "os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", script, str(db_path)], check=True, timeout=60)
    wal = db_path.with_name(db_path.name + "-wal")
    assert wal.stat().st_size > 0
    before = _hashes(db_path, wal)
    header_version = int.from_bytes(db_path.read_bytes()[60:64], "big")
    assert header_version == LATEST_VERSION  # the file alone looks current

    with pytest.raises(DatabaseTooNew, match="newer crisisdesk"):
        Database.open(db_path)

    assert _hashes(db_path, wal) == before  # neither the file nor the WAL was touched
