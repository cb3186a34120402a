"""README's hub block, run as written against a real PostgreSQL: its sh block is taken from README.md, the HUB line
pointed at the test's hub, and run with bash in a scratch folder; then its effects are checked."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.postgres import HubDatabase

REPO = Path(__file__).resolve().parents[2]
SECTION = "## A team across workstations: the hub"


def block() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert SECTION in text, f"README.md has no section {SECTION!r}"
    found = re.search(r"^```sh\n(.*?)^```$", text[text.index(SECTION) :], re.S | re.M)
    assert found, f"no ```sh block under {SECTION!r}"
    return found.group(1)


def hashes(path: Path) -> set[str]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {str(h) for (h,) in conn.execute("SELECT hash FROM events")}
    finally:
        conn.close()


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_readme_hub_block_runs_as_written(tmp_path: Path, hub_db: HubDatabase) -> None:
    real = Path(sys.prefix) / "bin" / "crisisdesk"
    assert real.is_file(), f"{real}: run 'uv sync' first"
    script, count = re.subn(r"^HUB='[^']*'$", f"HUB='{hub_db.url_with_password}'", block(), count=1, flags=re.M)
    assert count == 1, "the block sets HUB='...' on a line of its own"
    (tmp_path / "run.sh").write_text(script)
    env = {
        **os.environ,  # the scratch HOME and XDG folders and the test keyring, from isolated_user_folders
        "PATH": f"{real.parent}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(REPO),  # the test keyring backend lives in tests/support
    }
    done = subprocess.run(
        ["bash", "-e", "-u", "-o", "pipefail", str(tmp_path / "run.sh")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, f"exit {done.returncode}\n--- stdout\n{done.stdout[-4000:]}\n--- stderr\n{done.stderr}"
    assert hub_db.password not in done.stdout + done.stderr
    assert "connected: yes" in done.stdout and "waiting to push: 0" in done.stdout
    assert "audit log intact" in done.stdout
    desk1, desk2 = tmp_path / "desk1.sqlite3", tmp_path / "desk2.sqlite3"
    assert hashes(desk1) == hashes(desk2)
    for path in (desk1, desk2):
        assert hub_db.password.encode() not in path.read_bytes()
