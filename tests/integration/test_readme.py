"""README's walkthrough, run as written: the code block is taken from README.md itself and run with bash, in a
scratch home folder, with the virtual environment's crisisdesk on PATH; then its effects are checked."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
SECTION = "## A whole incident from the command line"

# The venv's crisisdesk, and after each outbox pass a copy of the public page as it stood then: the block's
# last pass takes the alert off the page again (the cancel retracts it), so the first copy shows it arrived.
WRAPPER = """#!/bin/sh
"$CRISISDESK_REAL" "$@"
code=$?
if [ "$1" = outbox ] && [ "$2" = run ] && [ -f "$PUBLIC_PAGE" ]; then
    cp "$PUBLIC_PAGE" "$PAGE_COPIES/page-$(ls "$PAGE_COPIES" | wc -l).html"
fi
exit $code
"""


def walkthrough() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert SECTION in readme, f"README.md has no section {SECTION!r}"
    found = re.search(r"^```sh\n(.*?)^```$", readme[readme.index(SECTION) :], re.S | re.M)
    assert found, f"no ```sh block under {SECTION!r} in README.md"
    return found.group(1)


def test_the_block_has_no_placeholders_and_no_fixed_dates() -> None:
    block = walkthrough()
    assert not re.search(r"(inc|msg)-\.\.\.|<hash>|\b20\d\d-\d\d-\d\d", block), block


@pytest.mark.slow
def test_the_readme_walkthrough_runs_as_written(tmp_path: Path, isolated_user_folders: Path) -> None:
    real = Path(sys.prefix) / "bin" / "crisisdesk"
    assert real.is_file(), f"{real}: run 'uv sync' first"
    bin_dir, copies, work = tmp_path / "bin", tmp_path / "pages", tmp_path / "work"
    for folder in (bin_dir, copies, work):
        folder.mkdir()
    (bin_dir / "crisisdesk").write_text(WRAPPER)
    (bin_dir / "crisisdesk").chmod(0o755)
    page = Path(os.environ["XDG_DATA_HOME"]) / "crisisdesk" / "channels" / "public-page" / "index.html"
    script = tmp_path / "walkthrough.sh"
    script.write_text(walkthrough())
    env = {
        **os.environ,  # the scratch HOME and XDG folders and the test keyring, from isolated_user_folders
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(REPO),  # the test keyring backend lives in tests/support
        "CRISISDESK_REAL": str(real),
        "PUBLIC_PAGE": str(page),
        "PAGE_COPIES": str(copies),
    }
    # -e and pipefail: every command in the block must succeed, not only the last one.
    done = subprocess.run(
        ["bash", "-e", "-u", "-o", "pipefail", str(script)],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, f"exit {done.returncode}\n--- stdout\n{done.stdout[-4000:]}\n--- stderr\n{done.stderr}"
    intact, head, tables, signed = done.stdout.rstrip().splitlines()[-4:]  # audit verify --deep, the last line
    assert intact.startswith("audit log intact"), done.stdout[-2000:]
    assert head.startswith("log head kept: ") and tables.startswith("current-state tables agree with the log")
    assert signed.startswith("signatures good: ")

    def crisisdesk(*args: str) -> Any:
        """Look, as ivan, at what the walkthrough left behind."""
        db = str(isolated_user_folders / "drill.sqlite3")
        run_env = {**env, "CRISISDESK_DB": db, "CRISISDESK_PASSWORD": "ivan password"}
        out = subprocess.run(
            [str(real), *args, "--json"], env=run_env, capture_output=True, text=True, timeout=60, check=False
        )
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    # Every row sent, each with its receipt: the alert, then the cancel and the correction.
    rows = crisisdesk("outbox", "list", "--as", "ivan")
    assert len(rows) == 3, rows
    assert all(r["state"] == "sent" and r["receipt"]["id"] and r["receipt"]["url"] for r in rows), rows
    messages = {r["message"]: crisisdesk("message", "show", r["message"], "--as", "ivan") for r in rows}
    by_type = {m["type"]: m for m in messages.values()}
    assert set(by_type) == {"alert", "cancel", "correction"}
    alert = by_type["alert"]
    assert alert["version"] == 2 and alert["author"] == "carla"  # returned, edited, submitted again
    assert [a["approver"] for a in alert["approvals"]] == ["ivan"]
    for fix in (by_type["cancel"], by_type["correction"]):
        assert fix["references"] == [alert["id"]] and fix["state"] == "published"
        assert [a["approver"] for a in fix["approvals"]] == ["ivan"]
    (alert_row,) = (r for r in rows if r["message"] == alert["id"])
    assert alert_row["retraction"] == {"state": "retracted", "reason": None}

    # The public page: the edited alert as the first outbox pass left it; at the end the cancel and the
    # correction, and the alert taken off.
    first, *_, last = sorted(copies.iterdir(), key=lambda p: int(p.stem.split("-")[1]))
    assert "NOW: go to higher ground" in first.read_text(encoding="utf-8")
    final = page.read_text(encoding="utf-8")
    assert last.read_text(encoding="utf-8") == final
    assert "CANCELED: Flash Flood Warning for Mill Creek valley" in final
    assert "the alert was sent in error" in final
    assert "NOW: go to higher ground" not in final

    report = crisisdesk("audit", "verify")
    assert report["ok"] is True and report["checked"] > 20
