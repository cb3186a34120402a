"""bench/event_log.py, run as written (a process of its own) on a few thousand events: it exits 0, the plain loops
and the log wrote the same bytes, and every ratio the README quotes is printed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "bench" / "event_log.py"


def test_the_event_log_bench_prints_each_path_against_the_plain_loops(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--events", "3000", "--batch", "500"],
        cwd=tmp_path,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"exit {done.returncode}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
    out = done.stdout
    assert "round-robin; same bodies: yes" in out
    append = dict(re.findall(r"^  (\S.*?)\s+[\d,]+ events/s\s+([\d.]+) of the bare loop", out, re.MULTILINE))
    assert set(append) == {
        "plain loop, bare table",
        "plain loop, events table",
        "EventLog.record",
        "EventLog.record_many",
        "EventLog.append_received",
        "EventLog.record, triage.set",
        "EventLog.record, signed",
    }
    assert float(append["plain loop, bare table"]) == 1.0
    assert all(float(ratio) > 0 for ratio in append.values())
    verify = dict(
        re.findall(r"^  (\S.*?)\s+[\d.]+ s =\s+[\d,]+ events/s\s+([\d.]+) of the plain loop", out, re.MULTILINE)
    )
    assert set(verify) == {
        "plain re-hash loop",
        "EventLog.verify, one process",
        "EventLog.verify, two processes",
        "EventLog.verify as shipped",
    }
    assert re.search(r"projection share of record for triage\.set: -?\d+% of its time", out)
    assert re.search(r"signing's share of record: -?\d+% of its time", out)
    assert re.search(r"signatures verified: [\d,]+ entries/s \(3,001 signed\)", out)  # and the joined entry
    assert "audit verify: " in out and "(ok)" in out
