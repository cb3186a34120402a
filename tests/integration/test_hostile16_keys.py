"""Hostile tests (issue 16): a team member holding a valid workstation key of their own forges key events and
entries in another workstation's name. Real SQLite files, real keys in the test keyring, the Receiver as the hub's
pull and a bundle's import use it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from crisisdesk.app import App
from crisisdesk.domain.clock import FixedClock, utc_iso
from crisisdesk.domain.events import Kind, seal
from crisisdesk.domain.signing import Signer, new_private_key, private_key_text
from crisisdesk.services.receive import Incoming, Receiver
from tests.integration.sync_helpers import entries, note, workstation, ws_of


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 22, 9, 30, tzinfo=UTC))


@pytest.fixture
def sites(tmp_path: Path, clock: FixedClock) -> Iterator[tuple[App, App, App]]:
    """The victim (the commander's workstation), the malicious one (a communicator's), the receiving one."""
    apps = (
        workstation(tmp_path / "commander.sqlite3", "alice", "commander", clock),
        workstation(tmp_path / "mallory.sqlite3", "mallory", "mallory", clock),
        workstation(tmp_path / "backup.sqlite3", "bob", "backup", clock),
    )
    yield apps
    for app in apps:
        app.close()


def head(app: App, ws: str) -> tuple[int, str, str]:
    row = app.db.conn.execute(
        "SELECT seq, hash, body FROM events WHERE workstation_id = ? ORDER BY seq DESC LIMIT 1", (ws,)
    ).fetchone()
    return int(row[0]), str(row[1]), str(orjson.loads(row[2])["at"])


def own_key_id(app: App) -> str:
    row = app.db.conn.execute(
        "SELECT signature FROM events WHERE workstation_id = ? AND signature IS NOT NULL ORDER BY seq DESC LIMIT 1",
        (ws_of(app),),
    ).fetchone()
    return str(row[0]).partition(".")[0]


def test_a_workstation_cannot_rotate_another_workstation_s_key_and_then_write_in_its_chain(
    sites: tuple[App, App, App], clock: FixedClock
) -> None:
    """Mallory writes, on her own chain and signed by her own key, a `workstation.key_rotated` for the commander's
    workstation whose `previous` is her own key id (so "signed by the key it replaces" holds), then appends an
    entry to the commander's chain signed by the key she declared. The receiving site must not take the forged
    entry as the commander's."""
    commander, mallory, backup = sites
    victim = ws_of(commander)
    note(commander, "evacuate zone A")
    forged_key = Signer(private_key_text(new_private_key()))
    clock.advance(timedelta(minutes=1))
    with mallory.db.write() as conn:
        mallory.log.record(
            conn,
            "mallory",
            Kind.WORKSTATION_KEY_ROTATED,
            {
                "workstation": victim,
                "key": forged_key.key_id,
                "public_key": forged_key.public,
                "previous": own_key_id(mallory),
            },
        )
    seq, prev, at = head(commander, victim)
    forged = seal(
        workstation_id=victim,
        seq=seq + 1,
        at=utc_iso(datetime.fromisoformat(at) + timedelta(minutes=2)),
        actor="alice",
        kind="note.added",
        payload={"note": "all clear, return home"},
        prev_hash=prev,
    )
    offered = [*entries(commander), *entries(mallory), Incoming(forged.hash, forged.body, forged_key.sign(forged.hash))]
    report = Receiver(backup).receive(offered, source="hub")
    held = backup.db.conn.execute("SELECT count(*) FROM events WHERE hash = ?", (forged.hash,)).fetchone()[0]
    assert held == 0, f"the forged entry in the commander's chain was applied: {report.lines()}"
    assert victim in report.refused or ws_of(mallory) in report.refused


def test_an_entry_dated_far_in_the_future_does_not_drag_the_receiving_workstation_s_time(
    sites: tuple[App, App, App], clock: FixedClock
) -> None:
    """Mallory sets her clock to 2099 and writes one entry. Every entry the commander writes afterwards is dated
    after everything it holds (merge order): taken in, it would date the commander's whole future 2099, and a
    revocation given now would sort after everything mallory writes until then."""
    commander, mallory, _ = sites
    mallory_clock = FixedClock(datetime(2099, 1, 1, tzinfo=UTC))
    mallory.clock = mallory_clock
    mallory.log.clock = mallory_clock
    note(mallory, "from the future")
    report = Receiver(commander).receive(entries(mallory), source="hub")
    written = note(commander, "road closed")
    assert datetime.fromisoformat(written.at) < clock.now() + timedelta(days=1), (written.at, report.lines())
    assert ws_of(mallory) in report.refused
    assert "future" in report.refused[ws_of(mallory)]
