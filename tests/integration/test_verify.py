"""`audit verify` on files that are not what they should be: empty, foreign, or damaged on disk.

verify must never create, migrate or repair anything, and must say what is wrong in one line: a damaged
file is a failed check (exit 1), a file that is not a crisisdesk database is a mistake in the path (exit 2).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail

from crisisdesk.app import App
from crisisdesk.cli import main
from crisisdesk.credentials import KeyringSecrets, MemorySecrets
from crisisdesk.domain.clock import FixedClock
from crisisdesk.domain.events import LogHead, from_body, seal
from crisisdesk.domain.roles import Actor, Role
from crisisdesk.services.audit import SHOW, HeadKeeper, database_key, describe_disagreement
from crisisdesk.services.passwords import Argon2Hasher
from crisisdesk.store.db import Database
from crisisdesk.store.deep_check import compare_with_log
from crisisdesk.store.migrations import LATEST_VERSION, MIGRATIONS, PROJECTION_TABLES
from tests.conftest import ADMIN, ADMIN_PASSWORD
from tests.integration.outbox_helpers import add_team, open_incident, publish

REPO = Path(__file__).resolve().parents[2]


def verify(db: Path, *extra: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    out = io.StringIO()
    code = main(["audit", "verify", *extra, "--db", str(db)], stdin=io.StringIO(), stdout=out)
    return code, out.getvalue(), capsys.readouterr().err


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def one_line(text: str) -> str:
    assert text.count("\n") == 1 and "Traceback" not in text, text
    return text


def test_an_empty_file_is_refused_and_stays_empty(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "empty.sqlite3"
    path.touch()
    code, out, err = verify(path, capsys=capsys)
    assert code == 2, (out, err)
    assert "empty" in one_line(err) and "not a crisisdesk database" in err
    assert path.stat().st_size == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.sqlite3"]  # no -wal, -shm or backup either


def test_a_foreign_sqlite_file_is_refused_and_left_alone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "recipes.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE recipes (name TEXT, steps TEXT)")
    conn.execute("INSERT INTO recipes VALUES ('bread', 'knead')")
    conn.commit()
    conn.close()
    before = digest(path)
    code, out, err = verify(path, "--json", capsys=capsys)
    assert code == 2, (out, err)
    assert "not a crisisdesk database" in one_line(err)
    assert digest(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["recipes.sqlite3"]


def test_an_older_database_is_verified_without_being_migrated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "old.sqlite3"
    Database.open(path, create=True, migrations=MIGRATIONS[:3]).close()
    before = digest(path)
    code, out, err = verify(path, capsys=capsys)
    assert code == 0, (out, err)
    assert out.startswith("audit log intact: 0 entries verified")
    code, out, err = verify(path, "--deep", capsys=capsys)
    assert code == 1, (out, err)
    assert out.splitlines()[-1] == (
        f"current-state tables not compared: the database has schema 3 and this program compares schema "
        f"{LATEST_VERSION}: open it once with this crisisdesk to upgrade it, then check again"
    )
    assert digest(path) == before and not list(tmp_path.glob("*.bak"))


@pytest.fixture
def closed_db(tmp_path: Path) -> Path:
    """A workstation with enough entries that the events table and its indexes span many pages, closed
    (so everything is in the main file, which the tests then damage)."""
    path = tmp_path / "crisisdesk.sqlite3"
    app = App.open(path, create=True, clock=FixedClock(), hasher=Argon2Hasher(time_cost=1, memory_cost=1024))
    app.initialise("alice", "correct horse", workstation_name="EOC desk 1")
    with app.db.write() as conn:
        for i in range(3000):
            app.log.record(conn, "alice", "note.added", {"note": f"checked the shelter list, round {i}"})
    app.close()
    return path


def page_of(path: Path, name: str) -> tuple[int, int]:
    """(root page number, page size) of a table or index, read without opening the file for writing."""
    conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
    try:
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (name,)).fetchone()[0]
        size = conn.execute("PRAGMA page_size").fetchone()[0]
    finally:
        conn.close()
    return int(root), int(size)


def overwrite(path: Path, offset: int, data: bytes) -> None:
    with path.open("r+b") as f:
        f.seek(offset)
        f.write(data)


def test_junk_in_an_index_page_is_reported_as_damage(closed_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root, size = page_of(closed_db, "events_kind")
    overwrite(closed_db, (root - 1) * size, bytes([0x5A]) * size)
    before = digest(closed_db)
    code, out, err = verify(closed_db, capsys=capsys)
    assert code == 1, (out, err)
    assert out.startswith("database file damaged:"), out
    assert "restore it from a backup" in one_line(out)
    assert digest(closed_db) == before


def test_a_damaged_events_page_is_a_failed_check_not_a_crash(
    closed_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, size = page_of(closed_db, "events")
    page = closed_db.read_bytes()[(root - 1) * size : root * size]
    assert page[0] == 0x05  # an interior page: its right-most child is a leaf full of entries
    leaf = int.from_bytes(page[8:12], "big")
    overwrite(closed_db, (leaf - 1) * size + 8, b"\xff" * 64)  # its cell pointers now point off the page
    code, out, err = verify(closed_db, capsys=capsys)
    assert code == 1, (out, err)
    assert out.startswith("database file damaged:"), out
    one_line(out)
    code, out, err = verify(closed_db, "--json", capsys=capsys)
    assert code == 1, (out, err)
    assert '"damage"' in out and '"ok": false' in out


# -- --deep: every current-state row checked against a replay of the log ---------------------------------------


@pytest.fixture
def published(core: App, admin: Actor) -> dict[str, str]:
    """A live alert approved by ivan, published to the public page and sent; what the edits below aim at."""
    team = add_team(core, admin)
    incident = open_incident(core, team)
    core.incidents().step_done(team["carla"], incident, 1)
    view = publish(core, team, incident, ["public-page"])
    report = core.outbox().run_once()
    assert report.sent == 1
    row = core.db.conn.execute("SELECT id, state, version FROM outbox WHERE message_id = ?", (view.id,)).fetchone()
    assert row[1] == "sent"
    return {"incident": incident, "message": view.id, "version": row[2], "row": row[0]}


def edit(core: App, sql: str, *params: object) -> None:
    """Change a table behind crisisdesk's back, as anyone holding the file could (no event is written)."""
    conn = sqlite3.connect(core.db.path, isolation_level=None)
    try:
        conn.execute(sql, params)
    finally:
        conn.close()


def deep(core: App) -> list[str]:
    report = core.audit.verify(deep=True)
    assert report.chain is not None and report.chain.ok  # the log itself is untouched by every edit below
    assert report.projections is not None
    assert report.ok is (report.projections.total == 0)
    return [describe_disagreement(d) for d in report.projections.disagreements]


def test_a_busy_workstation_agrees_with_its_log(core: App, published: dict[str, str]) -> None:
    report = core.audit.verify(deep=True)
    assert report.ok, report.describe()
    assert report.projections is not None and report.projections.tables == len(PROJECTION_TABLES)
    assert report.projections.replayed == core.log.count()
    assert "current-state tables agree with the log" in report.describe()


def test_an_approval_with_no_event_is_named(core: App, published: dict[str, str]) -> None:
    forged_hash = "f" * 64
    edit(
        core,
        "INSERT INTO approvals (message_id, content_hash, approver, roles, at) VALUES (?, ?, 'ivan', 'approver', ?)",
        published["message"],
        forged_hash,
        "2026-11-22T09:31:00.000000+00:00",
    )
    (line,) = deep(core)
    assert line.startswith(f"approvals (message_id={published['message']!r}, content_hash='ffffffff")
    assert "approver='ivan')" in line and line.endswith("a row the log does not have")


def test_text_changed_after_publishing_is_named_with_both_values(core: App, published: dict[str, str]) -> None:
    message, version = published["message"], published["version"]
    content = core.db.conn.execute(
        "SELECT content FROM message_versions WHERE message_id = ? AND version = ?", (message, version)
    ).fetchone()[0]
    assert "Flash" in content
    edit(
        core,
        "UPDATE message_versions SET content = replace(content, 'Flash', 'Fake') WHERE message_id = ? AND version = ?",
        message,
        version,
    )
    (line,) = deep(core)
    # A version is keyed by its hash too (sibling versions from two workstations share a number).
    assert line.startswith(f"message_versions (message_id={message!r}, version={version}, content_hash=")
    assert "): content is " in line
    assert "Fake" in line.split("the log says")[0] and "Flash" in line.split("the log says")[1]


def test_a_live_account_flipped_to_exercise_is_named(core: App, published: dict[str, str]) -> None:
    edit(core, "UPDATE channel_accounts SET exercise = 1 WHERE name = 'public-page'")
    (line,) = deep(core)
    assert line.startswith("channel_accounts (id=") and line.endswith(": exercise is 1, the log says 0")


def test_a_role_granted_behind_the_logs_back_is_named(core: App, published: dict[str, str]) -> None:
    edit(core, "INSERT INTO user_roles VALUES ('vic', 'admin', '2026-11-22T09:31:00.000000+00:00', 'alice')")
    assert deep(core) == ["user_roles (user_name='vic', role='admin'): a row the log does not have"]


def test_an_outbox_state_edited_is_named(core: App, published: dict[str, str]) -> None:
    edit(core, "UPDATE outbox SET state = 'queued', sent_at = NULL WHERE id = ?", published["row"])
    (line,) = deep(core)
    assert line.startswith(f"outbox (id={published['row'][:24]!r}")
    assert "state is 'queued', the log says 'sent'" in line and "sent_at is NULL, the log says '2026-11-22" in line


def test_a_row_deleted_and_a_column_dropped_are_named(core: App, published: dict[str, str]) -> None:
    edit(core, "DELETE FROM publications WHERE message_id = ?", published["message"])
    edit(core, "ALTER TABLE triage_decisions DROP COLUMN note")
    lines = deep(core)
    message, version = published["message"], published["version"]
    assert f"publications (message_id={message!r}, version={version}): missing, though the log has it" in lines
    assert "triage_decisions: column note is missing" in lines


def test_a_local_column_is_left_out_of_the_comparison(core: App, published: dict[str, str]) -> None:
    edit(core, "UPDATE outbox SET reason = 'noted by this desk' WHERE id = ?", published["row"])
    compared = compare_with_log(core.db.path)
    assert [(d.table, d.columns) for d in compared.disagreements] == [
        ("outbox", (("reason", None, "noted by this desk"),))
    ]
    assert compare_with_log(core.db.path, local_columns={"outbox": ("reason",)}).ok


def test_an_entry_the_projections_cannot_apply_is_named(core: App, published: dict[str, str]) -> None:
    # Appended with a correct hash and link (so the chain holds), but not an approval crisisdesk could write.
    ws = core.log.workstation_id() or ""
    last = core.log.last_seq(ws)
    entry = core.log.head_entry(ws, last)
    assert entry is not None
    forged = seal(
        workstation_id=ws,
        seq=last + 1,
        at="2026-11-22T09:31:00.000000+00:00",
        actor="ivan",
        kind="message.approved",
        payload={"message": published["message"]},
        prev_hash=entry[0],
    )
    edit(core, "INSERT INTO events (hash, body) VALUES (?, ?)", forged.hash, forged.body)
    report = core.audit.verify(deep=True)
    assert report.chain is not None and report.chain.ok
    assert not report.ok
    assert report.lines()[-1] == (
        f"current-state tables not compared: entry #{core.log.count()} cannot be replayed (KeyError: 'hash')"
    )


def test_the_command_names_each_row_caps_the_list_and_writes_nothing(
    core: App, published: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    for step in range(100, 160):
        edit(
            core,
            "INSERT INTO incident_steps_done VALUES (?, ?, '2026-11-22T09:40:00.000000+00:00', 'carla')",
            published["incident"],
            step,
        )
    edit(core, "UPDATE channel_accounts SET exercise = 1 WHERE name = 'public-page'")
    wal = core.db.path.with_name(core.db.path.name + "-wal")
    before = [digest(core.db.path), digest(wal)]

    code, out, err = verify(core.db.path, "--deep", capsys=capsys)
    assert code == 1, err
    lines = out.splitlines()
    assert lines[0] == (
        "audit check FAILED: the entries chain correctly, but 61 current-state table row(s) disagree with the log"
    )
    assert lines[1].startswith("audit log intact: ")
    assert lines[2].startswith("log head kept: ")
    assert lines[3] == "current-state tables disagree with the log in 61 places:"
    assert len(lines) == 4 + SHOW + 1 + 1  # and last: the signatures are good
    assert lines[4].startswith("  incident_steps_done (incident_id=")
    assert lines[-2] == f"  … and {61 - SHOW} more (--json lists up to 61)"
    assert lines[-1].startswith("signatures good: ")

    code, out, err = verify(core.db.path, "--deep", "--json", capsys=capsys)
    assert code == 1
    data = json.loads(out)
    assert data["ok"] is False and data["projections"]["total"] == 61
    flipped = [d for d in data["projections"]["disagreements"] if d["table"] == "channel_accounts"]
    assert flipped[0]["columns"] == [{"column": "exercise", "log": 0, "table": 1}]
    assert [digest(core.db.path), digest(wal)] == before  # the real file and its WAL were only read

    code, out, err = verify(core.db.path, capsys=capsys)
    assert code == 0 and "current-state" not in out  # without --deep the tables are not compared


# -- the log's head, kept in the keyring ------------------------------------------------------------------------


def recorded_head(db: Path) -> LogHead | None:
    return KeyringSecrets().log_head(database_key(db))


def drop_entries(db: Path, where: str) -> None:
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("DROP TRIGGER events_no_delete")
        conn.execute(f"DELETE FROM events WHERE {where}")
    finally:
        conn.close()


def test_each_commit_keeps_the_head_in_the_keyring(core: App, admin: Actor) -> None:
    core.people.add(admin, "bob", [Role.VIEWER], "bob password")
    core.close()  # the head of a burst of writes is written at the latest when the database is closed
    conn = sqlite3.connect(core.db.path)
    ws, seq, head_hash = conn.execute(
        "SELECT workstation_id, seq, hash FROM events ORDER BY position DESC LIMIT 1"
    ).fetchone()
    conn.close()
    assert recorded_head(core.db.path) == LogHead(ws, seq, head_hash)


def test_a_log_that_lost_its_tail_is_reported(core: App, admin: Actor, capsys: pytest.CaptureFixture[str]) -> None:
    core.people.add(admin, "bob", [Role.VIEWER], "bob password")
    core.people.grant(admin, "bob", Role.COMMUNICATOR)
    core.close()
    head = recorded_head(core.db.path)
    assert head is not None
    drop_entries(core.db.path, f"seq > {head.seq - 2}")
    code, out, err = verify(core.db.path, capsys=capsys)
    assert code == 1, (out, err)
    lines = out.splitlines()
    assert lines[0] == (
        f"audit log incomplete: the log lost its tail: the keyring records workstation {head.workstation_id} up to "
        f"seq {head.seq} (hash {head.hash[:16]}…), the log ends at seq {head.seq - 2}: "
        f"seq {head.seq - 1}-{head.seq} missing"
    )
    assert lines[1] == f"the {head.seq - 2} entries left are chained correctly"
    data = json.loads(verify(core.db.path, "--json", capsys=capsys)[1])
    assert data["ok"] is False and data["log_head"]["state"] == "lost"
    assert data["log_head"]["recorded"] == {"workstation": head.workstation_id, "seq": head.seq, "hash": head.hash}


def test_a_log_emptied_of_every_entry_is_reported(core: App, capsys: pytest.CaptureFixture[str]) -> None:
    core.close()
    drop_entries(core.db.path, "1")
    code, out, err = verify(core.db.path, capsys=capsys)
    assert code == 1, (out, err)
    assert out.startswith("audit log incomplete: the log was emptied: the keyring records workstation ")
    assert "intact" not in out


def test_a_database_file_emptied_or_replaced_is_reported_when_the_keyring_knows_it(
    core: App, capsys: pytest.CaptureFixture[str]
) -> None:
    core.close()
    for name in ("-wal", "-shm"):
        core.db.path.with_name(core.db.path.name + name).unlink(missing_ok=True)
    core.db.path.write_bytes(b"")
    code, out, err = verify(core.db.path, capsys=capsys)
    assert code == 1, (out, err)
    assert out.startswith("audit log lost: ") and "is empty (0 bytes)" in out and "yet the keyring records" in out
    assert core.db.path.stat().st_size == 0


def test_a_rewritten_head_entry_is_reported(core: App, capsys: pytest.CaptureFixture[str]) -> None:
    core.close()
    head = recorded_head(core.db.path)
    assert head is not None
    # Someone rewrote the last entry and re-hashed it: the chain is consistent again, but not with the keyring.
    conn = sqlite3.connect(core.db.path, isolation_level=None)
    position, body = conn.execute("SELECT position, body FROM events ORDER BY position DESC LIMIT 1").fetchone()
    conn.close()
    drop_entries(core.db.path, f"position = {position}")
    event = from_body(body, head.hash)
    forged = seal(
        workstation_id=event.workstation_id,
        seq=event.seq,
        at=event.at,
        actor="mallory",
        kind=event.kind,
        payload=event.payload,
        prev_hash=event.prev_hash,
    )
    conn = sqlite3.connect(core.db.path, isolation_level=None)
    conn.execute("INSERT INTO events (hash, body) VALUES (?, ?)", (forged.hash, forged.body))
    conn.close()
    code, out, err = verify(core.db.path, capsys=capsys)
    assert code == 1, (out, err)
    assert f"entry seq {head.seq} is not the one recorded in the keyring" in out.splitlines()[0]


def test_an_older_head_left_by_another_process_is_not_an_alarm(
    core: App, admin: Actor, capsys: pytest.CaptureFixture[str]
) -> None:
    # The console holds a head it has not written yet (a burst of writes) while another process appends more
    # entries and records its own, newer head; the console then closes and records its older one last.
    keeper = core._head_keeper
    assert keeper is not None
    keeper.close()  # what initialising wrote is recorded; from here the console's writes wait
    keeper.every = 3600.0
    core.people.add(admin, "ola", [Role.VIEWER], "ola password")
    ws = core.log.workstation_id()
    assert ws is not None
    console_seq = core.log.last_seq(ws)
    command = ["users", "grant", "ola", "--role", "approver", "--db", str(core.db.path), "--as", ADMIN]
    other = subprocess.run(
        [sys.executable, "-m", "crisisdesk", *command],
        env={**os.environ, "PYTHONPATH": str(REPO), "CRISISDESK_PASSWORD": ADMIN_PASSWORD},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert other.returncode == 0, other.stderr
    newer = recorded_head(core.db.path)
    assert newer is not None and newer.seq > console_seq
    core.close()
    older = recorded_head(core.db.path)
    assert older is not None and older.seq == console_seq  # the keyring now holds the older head

    code, out, err = verify(core.db.path, capsys=capsys)
    assert code == 0, (out, err)
    assert out.splitlines()[1] == (
        f"log head kept: workstation {ws}'s entry seq {console_seq} (hash {older.hash[:16]}…), recorded outside "
        f"the database, is in the log, {newer.seq - console_seq} entries after it"
    )


def test_without_a_keyring_writes_go_on_and_verify_says_what_it_could_not_check(
    core: App, admin: Actor, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    keeper = core._head_keeper
    assert keeper is not None
    keeper.close()
    keyring.set_keyring(fail.Keyring())  # as on a machine with no session bus (the fixture restores it)
    keeper.every = 0.0
    with caplog.at_level(logging.INFO, logger="crisisdesk.services.audit"):
        core.people.add(admin, "bob", [Role.VIEWER], "bob password")
        keeper.close()
        core.people.grant(admin, "bob", Role.COMMUNICATOR)
        keeper.close()
    assert [r.getMessage() for r in caplog.records] == [
        "the log head could not be kept in the keyring: the keyring refused the log head (no OS keyring is available)"
    ]  # said once, not at every commit
    assert "bob" in [p.name for p in core.people.list_people(admin)]
    code, out, err = verify(core.db.path, capsys=capsys)
    assert code == 0, (out, err)
    assert out.splitlines()[1] == "log head not checked: the keyring could not be read (no OS keyring is available)"


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


def test_the_keeper_writes_at_once_then_at_most_once_per_interval_and_on_close() -> None:
    now = [100.0]
    secrets = MemorySecrets()
    keeper = HeadKeeper(secrets, "/db", every=60.0, monotonic=lambda: now[0])
    heads = [LogHead("ws", seq, f"{seq:064x}") for seq in range(1, 4)]
    keeper.committed(heads[0])
    wait_until(lambda: secrets.log_head("/db") == heads[0], "the first head is written at once")
    now[0] += 1
    keeper.committed(heads[1])
    keeper.committed(heads[2])
    assert secrets.log_head("/db") == heads[0]  # the burst waits out the minute (its timer is 59 s away)
    keeper.close()
    assert secrets.log_head("/db") == heads[2]  # closing writes the newest head, not each one


class SlowKeyring(MemorySecrets):
    """A keyring that takes as long as the test wants (an OS keyring takes tens of milliseconds)."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.entered = threading.Event()

    def set_log_head(self, database: str, head: LogHead) -> None:
        self.entered.set()
        assert self.gate.wait(30)
        super().set_log_head(database, head)


def test_a_commit_never_waits_for_the_keyring(core: App, admin: Actor) -> None:
    keeper = core._head_keeper
    assert keeper is not None
    keeper.close()
    slow = SlowKeyring()
    keeper.secrets = slow
    keeper.every = 0.0
    core.people.add(admin, "bob", [Role.VIEWER], "bob password")
    assert slow.entered.wait(10)  # the keyring is busy with the head...
    core.people.grant(admin, "bob", Role.COMMUNICATOR)  # ...and writes go on regardless
    core.people.grant(admin, "bob", Role.APPROVER)
    slow.gate.set()
    keeper.close()
    ws = core.log.workstation_id() or ""
    last = core.log.last_seq(ws)
    entry = core.log.head_entry(ws, last)
    assert entry is not None
    assert slow.log_head(database_key(core.db.path)) == LogHead(ws, last, entry[0])  # the last write's head


def test_the_keepers_timer_writes_a_burst_s_last_head(core: App, admin: Actor) -> None:
    keeper = core._head_keeper
    assert keeper is not None
    keeper.every = 0.2
    core.people.add(admin, "bob", [Role.VIEWER], "bob password")
    core.people.grant(admin, "bob", Role.COMMUNICATOR)
    ws = core.log.workstation_id() or ""
    last = core.log.last_seq(ws)
    deadline = time.monotonic() + 10
    while (head := recorded_head(core.db.path)) is None or head.seq != last:
        assert time.monotonic() < deadline, f"the head stayed at {head}"
        time.sleep(0.02)


def test_a_scratch_folder_that_is_full_is_said_in_one_line(core: App, published: dict[str, str]) -> None:
    def small_files() -> None:  # in the child only: no file may grow past 64 KiB, as on a full disk
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))

    before = digest(core.db.path)
    run = subprocess.run(
        [sys.executable, "-m", "crisisdesk", "audit", "verify", "--deep", "--db", str(core.db.path)],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        preexec_fn=small_files,
    )
    assert run.returncode == 3, (run.stdout, run.stderr)
    assert "could not write its scratch copy in the temporary folder" in one_line(run.stderr)
    assert digest(core.db.path) == before
