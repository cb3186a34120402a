"""README's command synopsis for drills names only commands that exist, with the options it shows (the walkthrough
in scenarios/README.md is run as written by tests/cli/test_scenarios_readme.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from crisisdesk.cli.main import build_parser

REPO = Path(__file__).resolve().parents[2]


def synopsis() -> list[str]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    return [line.split("#")[0] for line in readme.splitlines() if line.startswith("crisisdesk drill ")]


def named(lines: list[str]) -> list[tuple[str, list[str]]]:
    """(command, its --options) for every 'drill X' in the lines, after '|' too."""
    out = []
    for line in lines:
        for part in line.removeprefix("crisisdesk drill ").split("|"):
            words = part.split()
            if words and re.fullmatch(r"[a-z-]+", words[0]) and words[0] not in ("S", "M", "U"):
                out.append((words[0], [w.strip("[]") for w in words if w.strip("[]").startswith("--")]))
    return out


def test_the_synopsis_lists_the_drill_commands() -> None:
    commands = {name for name, _ in named(synopsis())}
    assert {"validate", "load", "start", "jump", "inject", "run", "evaluate", "rate", "report"} <= commands


@pytest.mark.parametrize(("name", "options"), named(synopsis()))
def test_each_drill_command_in_the_synopsis_exists_with_its_options(
    name: str, options: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    parser = build_parser()
    with pytest.raises(SystemExit) as exited:
        parser.parse_args(["drill", name, "--help"])
    assert exited.value.code == 0
    shown = capsys.readouterr().out
    assert shown.startswith(f"usage: crisisdesk drill {name} "), shown[:200]
    for option in options:
        assert option in shown, f"README shows 'drill {name} {option}', which its --help does not know"
