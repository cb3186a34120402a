"""Three workstation processes (``crisisdesk sync``, as a workstation runs it) and a real PostgreSQL hub: they
converge, a commit on one is applied on another within a second (LISTEN/NOTIFY), and while the hub is stopped
every workstation keeps working and catches up when it is back."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crisisdesk.app import App
from crisisdesk.domain.clock import FixedClock
from crisisdesk.services.passwords import Argon2Hasher
from tests.integration.sync_helpers import PASSWORD, note, notes
from tests.support.postgres import HubDatabase
from tests.support.wait import wait_until

REPO = Path(__file__).resolve().parents[2]
CRISISDESK = Path(sys.prefix) / "bin" / "crisisdesk"


def hashes(path: Path) -> frozenset[str]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        return frozenset(str(h) for (h,) in conn.execute("SELECT hash FROM events"))
    finally:
        conn.close()


def holds(path: Path, entry_hash: str) -> bool:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        return conn.execute("SELECT 1 FROM events WHERE hash = ?", (entry_hash,)).fetchone() is not None
    finally:
        conn.close()


def open_app(path: Path) -> App:
    return App.open(path, clock=FixedClock(datetime.now(UTC)), hasher=Argon2Hasher(time_cost=1, memory_cost=1024))


@pytest.fixture
def team(tmp_path: Path, hub_db: HubDatabase) -> list[Path]:
    """Three workstations' files: the founder and two that joined, all synced once."""
    paths = [tmp_path / f"ws{i}.sqlite3" for i in range(3)]
    a = App.open(paths[0], create=True, hasher=Argon2Hasher(time_cost=1, memory_cost=1024))
    a.initialise("alice", PASSWORD, workstation_name="EOC desk 1")
    a.sync().found(a.people.actor("alice"), hub_db.url_with_password)
    a.close()
    for i, path in enumerate(paths[1:], 2):
        app = App.open(path, create=True)
        app.sync().join(hub_db.url, f"EOC desk {i}", password=hub_db.password)
        app.close()
    return paths


@pytest.fixture
def syncing(team: list[Path], tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    """A ``crisisdesk sync`` process per workstation, each writing its lines to a log file."""
    assert CRISISDESK.is_file(), f"{CRISISDESK}: run 'uv sync' first"
    env = {**os.environ, "PYTHONPATH": str(REPO)}  # the test keyring backend lives in tests/support
    procs = []
    for path in team:
        with (tmp_path / f"{path.stem}.log").open("wb") as out:
            procs.append(
                subprocess.Popen(
                    [str(CRISISDESK), "sync", "--db", str(path)],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    env=env,
                    start_new_session=True,
                )
            )
    yield procs
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def converged(paths: list[Path]) -> bool:
    sets = [hashes(p) for p in paths]
    return all(s == sets[0] for s in sets)


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_three_processes_converge_and_ride_out_a_hub_outage(
    team: list[Path], syncing: list[subprocess.Popen[bytes]], hub_db: HubDatabase, tmp_path: Path
) -> None:
    for i, path in enumerate(team):
        app = open_app(path)
        notes(app, 40, prefix=f"ws{i}")
        app.close()
    wait_until(lambda: converged(team), 30, "the three workstations to hold the same entries")
    total = len(hashes(team[0]))

    # Live: a commit on one is applied on another within a second (the hub notifies; nothing polls it).
    latencies = []
    for round_ in range(5):
        writer, reader = team[round_ % 3], team[(round_ + 1) % 3]
        app = open_app(writer)
        started = time.monotonic()
        entry = note(app, f"live {round_}")
        app.close()
        wait_until(lambda r=reader, h=entry.hash: holds(r, h), 10, f"entry {entry.hash[:12]} on {reader.name}")
        latencies.append(time.monotonic() - started)
    assert sorted(latencies)[len(latencies) // 2] < 1.0, latencies

    # The hub goes down: every workstation keeps working, alone.
    hub_db.server.stop()
    for i, path in enumerate(team):
        app = open_app(path)
        notes(app, 15, prefix=f"offline ws{i}")
        app.close()
    logs = [tmp_path / f"{p.stem}.log" for p in team]
    wait_until(lambda: all(b"is not reachable" in log.read_bytes() for log in logs), 30, "every sync process to say so")
    assert all(proc.poll() is None for proc in syncing), [log.read_text() for log in logs]
    hub_db.server.start()
    wait_until(lambda: converged(team), 60, "the workstations to converge after the hub came back")
    assert len(hashes(team[0])) == total + 5 + 3 * 15
    for path in team:
        app = open_app(path)
        assert app.audit.verify().ok
        app.close()
    # No traceback in any process's output: one line a batch, one line an outage.
    for log in logs:
        text = log.read_text()
        assert "Traceback" not in text and "internal error" not in text, text
        assert "applied" in text
