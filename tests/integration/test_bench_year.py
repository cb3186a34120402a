"""bench/year.py, run as written (a process of its own) at a thousandth of the year: it exits 0, and the database it
leaves holds what it says, made through the services (a chain that verifies, every delivery sent, the items
searchable); bad arguments get one line and exit 2."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from crisisdesk.app import App
from crisisdesk.credentials import MemorySecrets

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "bench" / "year.py"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        cwd=cwd,  # not the checkout: the script finds its own way
        env=dict(os.environ),  # the user folders are this test's (tests/conftest.py)
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.slow
def test_a_thousandth_of_the_year_is_built_through_the_services(tmp_path: Path) -> None:
    out = tmp_path / "year.sqlite3"
    done = run("--out", str(out), "--scale", "0.001", "--quiet", cwd=tmp_path)
    assert done.returncode == 0, f"exit {done.returncode}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
    summary = re.search(
        r"(\d+) incidents, ([\d,]+) messages, ([\d,]+) deliveries, ([\d,]+) items, ([\d,]+) alerts, ([\d,]+) events",
        done.stdout,
    )
    assert summary, done.stdout
    incidents, messages, deliveries, items, alerts, events = (int(g.replace(",", "")) for g in summary.groups())
    # 2 incidents (at least two at any scale) of 20 messages, each to every page of its mode (3 live, 2 exercise)
    assert (incidents, messages, items) == (2, 40, 1000)
    assert deliveries in (80, 100, 120)

    core = App.open(out, secrets=MemorySecrets())
    try:
        alice = core.people.actor("alice")
        listed = core.incidents().list_all(alice)
        assert len(listed) == 2 and {i.status.value for i in listed} == {"closed"}
        board = core.board().board(alice, include_closed=True)
        assert [r.overdue_steps for r in board.rows] == [0, 0]  # each checklist was ticked as the team worked
        rows = core.outbox().rows(alice, limit=1000)
        assert len(rows) == deliveries and {r.state for r in rows} == {"sent"}
        assert core.feeds().count() == items
        assert len(core.feeds().alerts(alice, include_handled=True)) == alerts
        assert core.feeds().search(alice, "budget", limit=5)  # the neutral words are searchable
        report = core.audit.verify()
        assert report.chain is not None and report.chain.ok and report.chain.checked == events, report
        # the clock walked the year: the first and the last entries are about a year apart
        logged = list(core.log.events())
        assert len(logged) == events
        assert str(logged[0].at)[:7] == "2025-11" and str(logged[-1].at)[:7] in ("2026-11", "2026-10")
    finally:
        core.close()
    assert (tmp_path / "year.sqlite3.channels" / "county-page").is_dir()


def test_bad_arguments_get_one_line_and_exit_2(tmp_path: Path) -> None:
    taken = tmp_path / "taken.sqlite3"
    taken.write_bytes(b"")
    for args, said in (
        (["--out", str(taken)], "exists"),
        (["--out", str(tmp_path / "x.sqlite3"), "--scale", "0"], "out of range"),
        (["--out", str(tmp_path / "none" / "x.sqlite3")], "is not a folder"),
        (["--out", str(tmp_path / "y.sqlite3"), "--build-in", str(tmp_path / "nowhere")], "is not a folder"),
    ):
        done = run(*args, cwd=tmp_path)
        assert done.returncode == 2, (args, done.stderr)
        assert said in done.stderr and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert taken.read_bytes() == b""
