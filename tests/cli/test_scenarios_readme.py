"""scenarios/README.md's command-line run, as written: its sh block is taken from the README and run with bash in a
scratch home folder (with the repository's scenarios beside it, as from a checkout), then its effects are checked;
and every drill command the README lists is one the CLI has."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from html import unescape
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
README = REPO / "scenarios" / "README.md"
SECTION = "## Running a shipped scenario from the command line"


def block() -> str:
    text = README.read_text(encoding="utf-8")
    assert SECTION in text, f"scenarios/README.md has no section {SECTION!r}"
    found = re.search(r"^```sh\n(.*?)^```$", text[text.index(SECTION) :], re.S | re.M)
    assert found, f"no ```sh block under {SECTION!r}"
    return found.group(1)


def test_every_command_the_readme_lists_is_in_the_cli() -> None:
    text = README.read_text(encoding="utf-8")
    listed = set(re.findall(r"^crisisdesk drill ([a-z|]+)", text, re.M))
    names = {n for entry in listed for n in entry.split("|")}
    assert names >= {"validate", "scenarios", "load", "start", "pause", "resume", "end", "compression", "jump",
                     "inject", "status", "run", "evaluate", "rate", "report"}  # fmt: skip
    real = Path(sys.prefix) / "bin" / "crisisdesk"
    done = subprocess.run([str(real), "drill", "--help"], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    commands = set(re.findall(r"^    ([a-z]+)\b", done.stdout, re.M))
    assert names <= commands, names - commands


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_readme_run_works_as_written(tmp_path: Path, isolated_user_folders: Path) -> None:
    real = Path(sys.prefix) / "bin" / "crisisdesk"
    assert real.is_file(), f"{real}: run 'uv sync' first"
    work = tmp_path / "work"
    work.mkdir()
    (work / "scenarios").symlink_to(REPO / "scenarios")
    script = tmp_path / "run.sh"
    script.write_text(block())
    env = {
        **os.environ,
        "PATH": f"{real.parent}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(REPO),  # the test keyring backend lives in tests/support
    }
    done = subprocess.run(
        ["bash", "-e", "-u", "-o", "pipefail", str(script)],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, f"exit {done.returncode}\n--- stdout\n{done.stdout[-4000:]}\n--- stderr\n{done.stderr}"

    def crisisdesk(*args: str) -> Any:
        run_env = {
            **env,
            "CRISISDESK_DB": str(isolated_user_folders / "drills.sqlite3"),
            "CRISISDESK_PASSWORD": "eve password",
        }
        out = subprocess.run(
            [str(real), *args, "--json", "--as", "eve"],
            env=run_env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    [drill] = crisisdesk("drill", "status")
    assert (drill["scenario"], drill["status"], drill["compression"]) == ("flash-flood", "ended", 60.0), drill
    assert drill["drill_seconds"] >= 80 * 60  # run to its planned length
    states = {i["id"]: i for i in drill["injects"]}
    assert states["sheriff-call"]["by_hand"] and states["water-falling"]["status"] == "fired"
    assert [i for i, s in states.items() if s["status"] == "skipped"] == [
        "creek-lane", "refugio", "school-question", "shelter-open", "nws-extension", "trapped-neighbor", "rumor"
    ]  # fmt: skip
    evaluation = crisisdesk("drill", "evaluate", drill["drill"])
    assert "first-alert" in json.dumps(evaluation) and "nobody played" in json.dumps(evaluation)
    report = sorted(p.name for p in (work / "aar").iterdir())
    assert any(n.endswith(".html") for n in report) and not any(n.endswith(".pdf") for n in report), report
    page = unescape(next((work / "aar").glob("*.html")).read_text(encoding="utf-8"))
    for words in (
        "the warning reached the desk at T+0",
        "no players were seated",
        "Seat a communicator and an approver",
    ):
        assert words in page, words
