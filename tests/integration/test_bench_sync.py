"""bench/sync.py, run as written (a process of its own) on a small team against the test's hub: it exits 0, every
workstation ends in the same state, and the figures the README quotes are printed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.postgres import HubDatabase

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "bench" / "sync.py"


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_sync_bench_converges_a_small_team(tmp_path: Path, hub_db: HubDatabase) -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--workstations", "4", "--events", "30", "--samples", "4",
         "--url", hub_db.url_with_password],
        cwd=tmp_path,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"exit {done.returncode}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
    out = done.stdout
    assert re.search(r"^reconnect and converge: [\d.]+ s for 4 workstations .*same state everywhere: yes$", out, re.M)
    assert re.search(r"^live, commit on one to applied on another \(4 samples\): median \d+ ms", out, re.M)
    assert hub_db.password not in out + done.stderr
