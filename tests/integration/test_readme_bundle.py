"""README's bundle commands exist with the options it shows, and its words for a refusal are the program's (the
commands themselves run, as written, in tests/integration/test_bundles.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from crisisdesk.cli.main import build_parser

REPO = Path(__file__).resolve().parents[2]


def synopsis() -> list[tuple[str, list[str]]]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    out = []
    for line in readme.splitlines():
        if line.startswith("crisisdesk bundle "):
            words = line.split("#")[0].removeprefix("crisisdesk bundle ").split()
            out.append((words[0], [w.strip("[]") for w in words if w.strip("[]").startswith("--")]))
    return out


def test_the_synopsis_lists_the_bundle_commands() -> None:
    assert {name for name, _ in synopsis()} == {"cursor", "export", "import", "join"}


@pytest.mark.parametrize(("name", "options"), synopsis())
def test_each_bundle_command_in_the_synopsis_exists_with_its_options(
    name: str, options: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["bundle", name, "--help"])
    assert exited.value.code == 0
    shown = capsys.readouterr().out
    assert shown.startswith(f"usage: crisisdesk bundle {name} "), shown[:200]
    for option in options:
        assert option in shown, f"README shows 'bundle {name} {option}', which its --help does not know"
