"""Odd inputs a person, a file or a damaged disk can give the command line: each is a one-line error or works;
never exit 70, never a hang, never a traceback on the terminal (issue 11, the hostile tester's findings)."""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import pytest

from crisisdesk.app import App
from crisisdesk.cli import main
from crisisdesk.domain.clock import FixedClock
from crisisdesk.services.passwords import Argon2Hasher
from tests.conftest import ADMIN, ADMIN_PASSWORD


def run(*argv: str, stdin: str = "", capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    out = io.StringIO()
    code = main(list(argv), stdin=io.StringIO(stdin), stdout=out)
    return code, out.getvalue(), capsys.readouterr().err


def one_line(text: str) -> str:
    assert text.count("\n") == 1 and "Traceback" not in text, text
    return text


@pytest.fixture
def closed_db(tmp_path: Path) -> Path:
    """A set-up workstation (alice, admin), closed so everything is in the main file."""
    path = tmp_path / "crisisdesk.sqlite3"
    app = App.open(path, create=True, clock=FixedClock(), hasher=Argon2Hasher(time_cost=1, memory_cost=1024))
    app.initialise(ADMIN, ADMIN_PASSWORD, workstation_name="EOC desk 1")
    app.close()
    return path


# -- a damaged database ----------------------------------------------------------------------------------


def test_the_damage_line_gives_its_advice_once(closed_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    truncated = closed_db.with_name("truncated.sqlite3")
    shutil.copy(closed_db, truncated)
    os.truncate(truncated, 8192)  # two pages: the schema points at pages that are gone
    code, out, err = run("audit", "verify", "--db", str(truncated), capsys=capsys)
    assert code == 1, (out, err)
    assert one_line(out).startswith("database file damaged:")
    assert out.count("restore it from a backup") == 1, out
