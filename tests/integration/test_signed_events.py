"""Signed events (issue 16 item 1): every entry a workstation writes carries its Ed25519 signature over the
entry's hash; keys are declared, replaced and revoked by events; verify names each workstation's first bad entry.

Real SQLite files and the test keyring (a file in the test's folder); tampering edits the file directly.
"""

from __future__ import annotations

import sqlite3
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import keyring
import pytest

from crisisdesk.app import App
from crisisdesk.domain.clock import FixedClock
from crisisdesk.domain.errors import ExternalError, UserError
from crisisdesk.domain.events import Kind
from crisisdesk.domain.roles import Actor, Role
from crisisdesk.domain.signing import Signer, new_private_key, private_key_text, signature_good
from crisisdesk.services.passwords import Argon2Hasher
from crisisdesk.store import eventlog
from crisisdesk.store.migrations import MIGRATIONS
from crisisdesk.store.verify_worker import signatures_of
from tests.conftest import person


def signatures(app: App) -> list[tuple[int, int, str | None, str]]:
    return [
        (int(p), int(s), sig, str(h))
        for p, s, sig, h in app.db.conn.execute("SELECT position, seq, signature, hash FROM events ORDER BY position")
    ]


def tamper(path: Path, sql: str, *params: object) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("DROP TRIGGER IF EXISTS events_no_update")
    conn.execute(sql, params)
    conn.close()


def note(app: App, text: str) -> int:
    with app.db.write() as conn:
        event = app.log.record(conn, "alice", "note.added", {"note": text})
    return event.seq


def test_every_entry_the_workstation_writes_is_signed_and_the_key_stays_in_the_keyring(
    core: App, admin: Actor, db_path: Path
) -> None:
    person(core, admin, "bob", Role.COMMUNICATOR)
    note(core, "shelter at the school is open")
    ws = core.log.workstation_id()
    assert ws is not None
    kinds = [e.kind for e in core.log.events()]
    assert kinds[:2] == [Kind.WORKSTATION_CREATED, Kind.WORKSTATION_JOINED]
    joined = next(e for e in core.log.events() if e.kind == Kind.WORKSTATION_JOINED)
    public = joined.payload["public_key"]
    rows = signatures(core)
    assert rows[0][2] is None  # its creation, written before the key in the same transaction
    for _, _, sig, event_hash in rows[1:]:
        assert sig is not None and sig.startswith(joined.payload["key"] + ".")
        assert signature_good(public, event_hash, sig)
    private = keyring.get_password("crisisdesk", f"workstation-key:{ws}")
    assert private is not None and Signer(private).public == public
    core.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert private.encode() not in db_path.read_bytes()  # the private key never enters the database
    report = core.audit.verify()
    assert report.ok and report.signatures is not None and report.signatures.signed == len(rows) - 1


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ("missing", "the entry is not signed"),
        ("other entry's", "does not match the entry's hash"),
        ("undeclared key", "which is not a key of workstation"),
        ("forged with the key id", "does not match the entry's hash"),
    ],
)
def test_verify_names_the_first_entry_whose_signature_is_bad(
    core: App, admin: Actor, db_path: Path, change: str, reason: str
) -> None:
    for i in range(5):
        note(core, f"round {i}")
    rows = signatures(core)
    position, seq, good, _ = rows[4]
    assert good is not None
    kid = good.split(".")[0]
    stranger = Signer(private_key_text(new_private_key()))
    forged: str | None
    if change == "missing":
        forged = None
    elif change == "other entry's":
        forged = rows[5][2]
    elif change == "undeclared key":
        forged = stranger.sign(rows[4][3])
    else:  # a signature by another key, labelled with the declared key's id
        forged = kid + "." + stranger.sign(rows[4][3]).split(".")[1]
    tamper(db_path, "UPDATE events SET signature = ? WHERE position = ?", forged, position)
    report = core.audit.verify()
    assert not report.ok
    assert report.chain is not None and report.chain.ok  # the hashes are untouched: only the signature tells
    sig = report.signatures
    assert sig is not None
    first = sig.first_bad()
    assert first is not None
    ws, bad = first
    assert ws == core.log.workstation_id() and bad.position == position and bad.seq == seq
    assert reason in bad.reason
    text = report.describe()
    assert text.splitlines()[0].startswith("audit check FAILED") and f"signature bad at entry #{position} " in text


def test_an_entry_written_while_the_keyring_lost_the_key_is_named(core: App, db_path: Path, clock: FixedClock) -> None:
    ws = core.log.workstation_id()
    assert ws is not None
    keyring.delete_password("crisisdesk", f"workstation-key:{ws}")
    other = App.open(db_path, clock=clock, hasher=Argon2Hasher(time_cost=1, memory_cost=1024))
    try:
        seq = note(other, "written with no key at hand")
        report = other.audit.verify()
        assert not report.ok and report.signatures is not None
        bad = report.signatures.bad[ws]
        assert bad.seq == seq and bad.reason == "the entry is not signed"
    finally:
        other.close()


def test_a_replaced_key_signs_nothing_dated_after_the_replacement(
    core: App, admin: Actor, db_path: Path, clock: FixedClock
) -> None:
    ws = core.log.workstation_id()
    assert ws is not None
    old = Signer(str(keyring.get_password("crisisdesk", f"workstation-key:{ws}")))
    note(core, "before")
    clock.advance(timedelta(minutes=5))
    new_key = core.workstation_keys().rotate(admin)
    assert new_key != old.key_id
    clock.advance(timedelta(minutes=5))
    note(core, "after")
    rows = signatures(core)
    assert rows[-1][2] is not None and rows[-1][2].startswith(new_key + ".")  # the new key signs from now on
    assert rows[-2][2] is not None and rows[-2][2].startswith(old.key_id + ".")  # the replacement, by the old key
    assert core.audit.verify().ok
    stored = keyring.get_password("crisisdesk", f"workstation-key:{ws}")
    assert stored is not None and Signer(stored).key_id == new_key
    # Someone holding the old key signs an entry dated after the replacement.
    position, seq, _, event_hash = rows[-1]
    tamper(db_path, "UPDATE events SET signature = ? WHERE position = ?", old.sign(event_hash), position)
    report = core.audit.verify()
    assert report.signatures is not None and not report.ok
    bad = report.signatures.bad[ws]
    assert bad.position == position and bad.seq == seq
    assert f"signed by key {old.key_id} after it was replaced at " in bad.reason
    listed = {k.key: k for k in core.workstation_keys().declared()}
    assert listed[old.key_id].ended is not None and listed[old.key_id].ended.startswith("replaced")
    assert listed[new_key].ended is None


def test_only_an_admin_replaces_or_revokes_a_key_and_not_the_one_in_use(core: App, admin: Actor) -> None:
    bob = person(core, admin, "bob", Role.COMMUNICATOR)
    keys = core.workstation_keys()
    with pytest.raises(UserError):
        keys.rotate(bob)
    current = keys.current()
    assert current is not None
    with pytest.raises(UserError):
        keys.revoke(bob, current.workstation, current.key, "stolen")
    with pytest.raises(UserError, match="replace it first"):
        keys.revoke(admin, current.workstation, current.key, "stolen")
    with pytest.raises(UserError, match="no key"):
        keys.revoke(admin, current.workstation, "0000000000000000", "stolen")
    assert keys.join(admin) == (current.key, False)  # joined already: nothing new
    assert core.audit.verify().ok


def test_a_revoked_workstation_s_signatures_after_the_revocation_are_bad(tmp_path: Path) -> None:
    """Two workstations: the commander's receives the communicator's entries (as sync will hand them over, with
    their signatures), an admin there revokes the communicator's key, and what it signs afterwards is bad."""
    hasher = Argon2Hasher(time_cost=1, memory_cost=1024)
    clock = FixedClock(datetime(2026, 11, 22, 9, 30, tzinfo=UTC))
    commander = App.open(tmp_path / "commander.sqlite3", create=True, clock=clock, hasher=hasher)
    communicator = App.open(tmp_path / "communicator.sqlite3", create=True, clock=clock, hasher=hasher)
    try:
        commander.initialise("alice", "correct horse", workstation_name="commander")
        # Without the default channels, whose names the commander's already has (merging them is item 3).
        communicator.people.initialise("carla", "correct horse", workstation_name="communicator")
        communicator.workstation_keys().join(communicator.people.actor("carla"))
        remote = communicator.log.workstation_id()
        assert remote is not None

        def hand_over() -> None:
            seen = commander.log.last_seq(remote)
            rows = communicator.db.conn.execute(
                "SELECT hash, body, signature FROM events WHERE workstation_id = ? AND seq > ? ORDER BY seq",
                (remote, seen),
            ).fetchall()
            with commander.db.write() as conn:
                commander.log.append_received(
                    conn, [(h, bytes(b)) for h, b, _ in rows], signatures={h: s for h, _, s in rows if s}
                )

        hand_over()
        report = commander.audit.verify()
        assert report.signatures is not None and report.signatures.ok  # both workstations' signatures hold
        # Unsigned: the commander's creation, and the communicator's three entries from before it joined.
        assert report.signatures.signed == commander.log.count() - 4
        clock.advance(timedelta(hours=1))
        key = next(k.key for k in commander.workstation_keys().declared() if k.workstation == remote)
        commander.workstation_keys().revoke(commander.people.actor("alice"), remote, key, "laptop stolen")
        clock.advance(timedelta(minutes=1))
        with communicator.db.write() as conn:
            late = communicator.log.record(conn, "carla", "note.added", {"note": "signed after the revocation"})
        hand_over()
        report = commander.audit.verify()
        assert report.signatures is not None and not report.signatures.ok
        bad = report.signatures.bad[remote]
        assert bad.seq == late.seq and f"signed by key {key} after it was revoked at " in bad.reason
        assert set(report.signatures.bad) == {remote}  # the commander's own entries are still good
        assert communicator.audit.verify().ok  # the communicator has not heard of the revocation
    finally:
        commander.close()
        communicator.close()


def test_a_database_from_before_signing_is_migrated_and_joins_on_command(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    hasher = Argon2Hasher(time_cost=1, memory_cost=1024)
    from crisisdesk.store.db import Database

    before_signing = [m for m in MIGRATIONS if m.version < 14]
    old = Database.open(path, create=True, migrations=tuple(before_signing))
    old.close()
    app = App.open(path, clock=FixedClock(), hasher=hasher)  # migrated to the signature column
    try:
        # Set up as an older crisisdesk would have: no key declared.
        app.people.initialise("alice", "correct horse", workstation_name="old desk")
        note(app, "an entry from before signing")
        report = app.audit.verify()
        assert report.ok and report.signatures is not None and report.signatures.signed == 0
        ws = app.log.workstation_id()
        assert report.signatures.unsigned_workstations == (ws,)
        key, made = app.workstation_keys().join(app.people.actor("alice"))
        assert made
        seq = note(app, "an entry after joining")
        report = app.audit.verify()
        assert report.ok and report.signatures is not None and report.signatures.signed == 2  # joined, and it
        row = app.db.conn.execute("SELECT signature FROM events WHERE seq = ?", (seq,)).fetchone()
        assert str(row[0]).startswith(key + ".")
    finally:
        app.close()


def test_another_app_on_the_same_file_signs_with_the_new_key_after_a_rotation(
    core: App, admin: Actor, clock: FixedClock
) -> None:
    """The console's pooled Apps and the outbox worker each cache the signer: a rotation made by one is seen by
    the others at their next write, not after a restart."""
    other = core.sibling()
    try:
        note(other, "the other App signs once, with the first key")
        clock.advance(timedelta(minutes=1))
        new_key = core.workstation_keys().rotate(admin)
        clock.advance(timedelta(minutes=1))
        note(other, "and after the rotation, with the new one")
        last = other.db.conn.execute("SELECT signature FROM events ORDER BY position DESC LIMIT 1").fetchone()[0]
        assert str(last).startswith(new_key + ".")
        assert core.audit.verify().ok
    finally:
        other.close()


@pytest.mark.parametrize("bad_positions", [(), (7,), (31,), (12, 33), (33, 12)])
def test_the_signature_check_split_across_worker_processes_agrees_with_one_process(
    core: App, db_path: Path, monkeypatch: pytest.MonkeyPatch, bad_positions: tuple[int, ...]
) -> None:
    """A log from SPLIT_SIGNATURES_FROM entries is checked in one worker process a core (here four stretches, each
    against the whole log's keys): the joined report names the same first bad entry, the same counts and the same
    unsigned workstations as the check in one pass."""
    for i in range(40):
        note(core, f"round {i}")
    stranger = Signer(private_key_text(new_private_key()))
    for position in bad_positions:
        (event_hash,) = core.db.conn.execute("SELECT hash FROM events WHERE position = ?", (position,)).fetchone()
        tamper(db_path, "UPDATE events SET signature = ? WHERE position = ?", stranger.sign(event_hash), position)
    one_pass = signatures_of(core.db.conn)
    monkeypatch.setattr(eventlog, "WATCHED_IN_WORKERS_FROM", 10)
    monkeypatch.setattr(eventlog, "SPLIT_SIGNATURES_FROM", 10)
    monkeypatch.setattr(eventlog.os, "cpu_count", lambda: 4)
    seen: list[tuple[int, int]] = []
    split = core.log.verify_signatures(progress=lambda done, total: seen.append((done, total)))
    assert split is not None
    assert (split.checked, split.bad, split.unsigned_workstations) == (
        one_pass.checked,
        one_pass.bad,
        one_pass.unsigned_workstations,
    )
    assert split.checked == core.log.count() and seen[-1] == (split.checked, split.checked)
    assert split.ok == (not bad_positions)
    if bad_positions:
        first = split.first_bad()
        assert first is not None and first[1].position == min(bad_positions)
    else:  # (a broken workstation's count stops at its first bad entry in one pass: it is shown only when all hold)
        assert split.signed == one_pass.signed == split.checked - 1  # all but the creation, written before its key


def test_a_worker_that_cannot_start_is_one_line_not_a_traceback(
    core: App, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for i in range(12):
        note(core, f"round {i}")
    monkeypatch.setattr(eventlog, "WATCHED_IN_WORKERS_FROM", 10)
    broken = tmp_path / "python"
    broken.write_text("#!/bin/sh\necho 'no interpreter here' >&2\nexit 3\n")
    broken.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(broken))
    with pytest.raises(
        ExternalError, match=r"^the signatures could not be checked: .*no interpreter here; check again$"
    ):
        core.log.verify_signatures()
    with pytest.raises(
        ExternalError, match=r"^the audit log could not be checked: .*no interpreter here; check again$"
    ):
        core.log.verify(workers=2)


def test_a_workstation_whose_key_left_the_keyring_says_so_before_the_team_refuses_its_entries(
    core: App, admin: Actor
) -> None:
    """A keyring reset or another keyring: the log declares this workstation's key but the keyring no longer holds
    it, so what it writes goes unsigned and the other workstations refuse it. The sync status (the console's
    status bar, ``crisisdesk hub status``) says so, first, with the remedy; and says nothing when all is well."""
    ws = core.log.workstation_id()
    current = core.workstation_keys().current()
    assert ws is not None and current is not None
    assert core.sync().status(reach=False).cannot_sign is None
    keyring.delete_password("crisisdesk", f"workstation-key:{ws}")
    status = core.sync().status(reach=False)
    assert status.cannot_sign is not None
    assert status.cannot_sign.startswith("THIS WORKSTATION CANNOT SIGN: its key " + current.key)
    assert "crisisdesk workstation rotate-key" in status.cannot_sign and "\n" not in status.cannot_sign
    assert status.lines()[0] == status.cannot_sign
    assert status.as_dict()["cannot_sign"] == status.cannot_sign
    # A program started now (the command line, the console after a restart) writes unsigned entries, as it says;
    # writing is not refused: the desk keeps working.
    later = App.open(core.db.path, clock=core.clock, hasher=Argon2Hasher(time_cost=1, memory_cost=1024))
    try:
        note(later, "written while the key is away")
        assert signatures(later)[-1][2] is None
        assert later.sync().status(reach=False).cannot_sign == status.cannot_sign
    finally:
        later.close()
